//! `minibuild build` (the default command): the flags, and the job run
//! with its progress reported.

use super::listing::{self, Format};
use super::report::ProgressArgs;
use super::{examples, pipeline, Failure};
use clap::Args;
use minibuild::dest::archive::STDOUT;
use minibuild::dest::{ImageName, Location, PushOptions};
use minibuild::events::{Event, Events};
use minibuild::executor::BuildOptions;
use minibuild::job::Job;
use minibuild::layer::Compression;
use minibuild::oci::Platform;
use std::path::{Path, PathBuf};

#[derive(Args, Debug, Default)]
#[command(after_help = examples::BUILD)]
pub(crate) struct BuildArgs {
    /// The Dockerfile (default: CONTEXT/Dockerfile).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<PathBuf>,
    /// Name the image NAME[:TAG] (repeatable).
    #[arg(short = 't', long = "tag", value_name = "NAME[:TAG]")]
    tags: Vec<String>,
    /// Set a build argument (repeatable).
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    build_args: Vec<String>,
    /// The platforms to build for, OS/ARCH[/VARIANT] comma-separated (default:
    /// the host). Several: one image each, under one image index.
    #[arg(
        long = "platform",
        value_name = "OS/ARCH[/VARIANT],...",
        value_delimiter = ','
    )]
    platforms: Vec<String>,
    /// Where the image goes (repeatable): oci:DIR[:REF], oci-archive:FILE[:REF],
    /// docker-archive:FILE[:REF], docker://HOST/REPO:TAG (FILE `-`: stdout,
    /// never a terminal). Default: the local store.
    #[arg(short = 'o', long = "output", value_name = "DEST")]
    outputs: Vec<String>,
    /// Build this stage (and what it needs) instead of the last one.
    #[arg(long)]
    target: Option<String>,
    /// Layer compression: gzip, zstd or none.
    #[arg(long, default_value = "gzip")]
    compression: String,
    /// Compression level (gzip 0-9, zstd 1-22).
    #[arg(long)]
    compression_level: Option<i32>,
    /// Verify TLS for registries (default: true, false for localhost);
    /// `--tls-verify` alone means true.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    tls_verify: Option<bool>,
    /// FROM names not in the store are fetched from their registry (and
    /// kept in the store); docker:// bases are fetched again.
    #[arg(long)]
    pull: bool,
    #[command(flatten)]
    pub(crate) progress: ProgressArgs,
    #[command(flatten)]
    cache: super::cache_flags::CacheArgs,
    /// Print, on stdout, what each Dockerfile line produced: the layer with
    /// the paths it took and where they landed, or the config fields it
    /// changed, before → after. The image is the same as without it.
    #[arg(long)]
    pub(crate) explain: bool,
    /// What stdout gets at the end: the digest (table), or json ({digest,
    /// layers, platform, tags, wrote, warnings}).
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// --label, --annotation, --iidfile, --metadata-file (boxed: the
    /// Command enum stays small).
    #[command(flatten)]
    ci: Box<pipeline::CiArgs>,
    /// The build context directory.
    #[arg(value_name = "CONTEXT", default_value = ".")]
    context: PathBuf,
}

fn parse_build_args(raw: &[String]) -> Result<Vec<(String, String)>, Failure> {
    raw.iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            // `--build-arg NAME` takes the value from the environment, as docker does
            _ if !kv.is_empty() && !kv.contains('=') => {
                Ok((kv.clone(), std::env::var(kv).unwrap_or_default()))
            }
            _ => Err(Failure::usage(format!(
                "invalid --build-arg {kv:?}: expected KEY=VALUE"
            ))),
        })
        .collect()
}

fn source_date_epoch(flag: Option<i64>) -> Result<Option<i64>, Failure> {
    if flag.is_some() {
        return Ok(flag);
    }
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => v.trim().parse::<i64>().map(Some).map_err(|_| {
            Failure::usage(format!(
                "SOURCE_DATE_EPOCH={v:?} is not a number of seconds"
            ))
        }),
        _ => Ok(None),
    }
}

/// The Dockerfile: `-f`, else `CONTEXT/Dockerfile`, else a lowercase
/// `dockerfile`, as docker build looks.
fn dockerfile_path(args: &BuildArgs) -> PathBuf {
    args.file.clone().unwrap_or_else(|| {
        let upper = args.context.join("Dockerfile");
        let lower = args.context.join("dockerfile");
        if !upper.exists() && lower.exists() {
            lower
        } else {
            upper
        }
    })
}

/// The archive written to stdout (`-o oci-archive:-`), if one is.
fn stdout_output(outputs: &[Location]) -> Option<&Location> {
    outputs.iter().find(|o| match o {
        Location::OciArchive { file, .. } | Location::DockerArchive { file, .. } => {
            file.as_os_str() == STDOUT
        }
        _ => false,
    })
}

/// Stdout takes one archive, never a terminal's, and nothing else then.
fn check_stdout(args: &BuildArgs, outputs: &[Location]) -> Result<(), Failure> {
    if stdout_output(outputs).is_none() {
        return Ok(());
    }
    let to_stdout = |o: &&Location| stdout_output(std::slice::from_ref(*o)).is_some();
    if outputs.iter().filter(to_stdout).count() > 1 {
        return Err(Failure::usage("only one -o can write to stdout (-)"));
    }
    if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return Err(Failure::usage(
            "refusing to write an archive to a terminal: redirect stdout (-o oci-archive:- > FILE, or | podman load)",
        ));
    }
    if args.explain {
        return Err(Failure::usage(
            "--explain prints on stdout, where -o ...:- writes the archive: use one of them",
        ));
    }
    Ok(())
}

/// The job the flags describe (parsed once: the store, every -o and the
/// progress use these).
fn job(args: &BuildArgs, store_dir: &Path) -> Result<Job, Failure> {
    let dockerfile = dockerfile_path(args);
    let compression = Compression::parse(&args.compression, args.compression_level)
        .map_err(|e| Failure::usage(e.to_string()))?;
    let mut outputs = Vec::new();
    for o in &args.outputs {
        outputs.push(Location::parse(o).map_err(|e| Failure::usage(e.to_string()))?);
    }
    check_stdout(args, &outputs)?;
    let mut tags = Vec::new();
    for t in &args.tags {
        tags.push(
            ImageName::reference_name(t)
                .map_err(|e| Failure::usage(format!("invalid tag {t:?}: {e}")))?,
        );
    }
    let platforms = args
        .platforms
        .iter()
        .map(|p| p.parse::<Platform>().map_err(Failure::usage))
        .collect::<Result<Vec<_>, _>>()?;
    let build_args = parse_build_args(&args.build_args)?;
    let source_date_epoch = source_date_epoch(args.ci.source_date_epoch)?;
    let labels = pipeline::parse_labels(&args.ci.labels)?;
    let annotations = pipeline::parse_annotations(&args.ci.annotations, &platforms)?;
    let src =
        minibuild::syntax::read_dockerfile(&dockerfile).map_err(
            |e| match std::error::Error::source(&e) {
                Some(cause) => Failure::build(format!("{e}: {cause}")),
                None => Failure::build(e.to_string()),
            },
        )?;
    if !args.context.is_dir() {
        return Err(Failure::usage(format!(
            "build context {} is not a directory",
            args.context.display()
        )));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let options = BuildOptions {
        context: args.context.clone(),
        dockerfile: Some(dockerfile),
        build_args,
        target: args.target.clone(),
        source_date_epoch,
        now,
        compression,
        platform: platforms.first().cloned().unwrap_or_else(Platform::host),
        platform_chosen: !platforms.is_empty(),
        registry: PushOptions {
            tls_verify: args.tls_verify,
            ..PushOptions::default()
        },
        pull: args.pull,
        labels,
        annotations,
        cache: args.cache.options()?,
    };
    Ok(Job {
        dockerfile: src,
        options,
        tags,
        outputs,
        store: store_dir.to_path_buf(),
        platforms,
        attestations: args.ci.attestations()?,
    })
}

/// Runs the build; progress to `events`, the digest (or JSON) to stdout.
pub(crate) fn run(args: BuildArgs, store_dir: &Path, events: &Events) -> Result<(), Failure> {
    let job = job(&args, store_dir)?;
    let shown = dockerfile_path(&args).display().to_string();
    let done = job.run(events).map_err(|e| Failure {
        code: e.exit_code(),
        text: e.render(&shown, &job.dockerfile),
    })?;
    pipeline::write_files(
        args.ci.iidfile.as_deref(),
        args.ci.metadata_file.as_deref(),
        &job,
        &done,
    )?;
    for w in &done.warnings {
        events.warn(w.clone());
    }
    let built = &done.built;
    let platform = built.image.platform();
    let platform = format!("{}/{}", platform.os, platform.architecture);
    // each platform's image, then (a multi-platform build) the index
    for (p, manifest, image) in &built.platforms {
        events.emit(Event::ImageWritten {
            digest: manifest.digest.to_string(),
            layers: image.layers.len(),
            platform: p.to_string(),
        });
    }
    if built.platforms.is_empty() {
        events.emit(Event::ImageWritten {
            digest: built.manifest.digest.to_string(),
            layers: built.image.layers.len(),
            platform: platform.clone(),
        });
    }
    for line in &done.wrote {
        events.emit(Event::Output {
            message: line.clone(),
        });
    }
    events.finish();
    let json = serde_json::json!({
        "digest": built.manifest.digest.to_string(),
        "layers": built.image.layers.len(),
        "platform": platform,
        "platforms": built.platforms.iter().map(|(p, m, _)| serde_json::json!({
            "platform": p.to_string(),
            "digest": m.digest.to_string(),
        })).collect::<Vec<_>>(),
        "tags": job.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "wrote": done.wrote,
        "warnings": done.warnings,
    });
    if stdout_output(&job.outputs).is_some() {
        // stdout holds the archive
        return Ok(());
    }
    // a closed stdout ends quietly
    let _ = listing::print(args.format, &mut std::io::stdout(), &json, || {
        built.manifest.digest.to_string()
    });
    Ok(())
}
