//! The `minibuild` command: clap → library → error rendering → exit code.

#![forbid(unsafe_code)]

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use minibuild::dest::{self, ImageName, Layout, Location, PushOptions};
use minibuild::executor::BuildOptions;
use minibuild::job::Job;
use minibuild::layer::Compression;
use minibuild::oci::Platform;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Build OCI container images from Dockerfiles, without a daemon and without root.
#[derive(Parser, Debug)]
#[command(name = "minibuild", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    build: BuildArgs,
    /// The local image store (an OCI layout). Default: $MINIBUILD_STORE,
    /// else $XDG_DATA_HOME/minibuild, else ~/.local/share/minibuild.
    #[arg(long, global = true, value_name = "DIR")]
    store: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Build an image from a Dockerfile (the default command).
    Build(BuildArgs),
    /// List the images in the local store.
    Images,
    /// Show how an image is made: index → manifest → config → layers, and
    /// its history; with --layers each layer's files, with --tree the layout.
    Inspect(InspectArgs),
    /// Each layer's files, bottom first (`inspect --layers`).
    Layers(InspectArgs),
    /// Check every blob's size and sha256, every layer's diff_id and every
    /// reference; exit 1 when anything is wrong.
    Verify(InspectArgs),
    /// Remove a tag from the store (blobs stay until `prune`).
    Rm {
        /// NAME[:TAG] in the store.
        name: String,
    },
    /// Remove blobs that no tag in the store reaches.
    Prune,
    /// Write a stored image to a destination (oci:, oci-archive:, docker-archive:).
    Save {
        /// NAME[:TAG] in the store.
        name: String,
        /// Location, e.g. oci-archive:hello.tar.
        destination: String,
        /// Of an index, write only the image for OS/ARCH[/VARIANT].
        #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
        platform: Option<String>,
    },
    /// Image indexes: `index create` merges images into one.
    #[command(subcommand)]
    Index(IndexCommand),
    /// Push a stored image to a registry (docker://HOST/REPO:TAG) or any destination.
    Push {
        /// NAME[:TAG] in the store.
        name: String,
        /// Location, e.g. docker://127.0.0.1:5000/hello:latest.
        /// Default: docker://NAME (the registry the name says, as docker push does).
        destination: Option<String>,
        /// Verify TLS (default: true, false for localhost); `--tls-verify` alone means true.
        #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
        tls_verify: Option<bool>,
        /// Of an index, push only the image for OS/ARCH[/VARIANT].
        #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
        platform: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum IndexCommand {
    /// Make one image index from images and indexes (store names, oci:DIR[:REF], docker://...).
    Create {
        /// The index's name in the store (or with -o, at the destination).
        #[arg(short = 't', long = "tag", value_name = "NAME[:TAG]", required = true)]
        tags: Vec<String>,
        /// The images and indexes to list.
        #[arg(value_name = "SRC", required = true)]
        sources: Vec<String>,
        /// A later source's image for a platform replaces an earlier one's.
        #[arg(long)]
        replace: bool,
        /// index:KEY=VALUE, or manifest[OS/ARCH]:KEY=VALUE on that image's entry.
        #[arg(long = "annotation", value_name = "TYPE:KEY=VALUE")]
        annotations: Vec<String>,
        /// Where the index goes (oci:, oci-archive:, docker://); default: the store.
        #[arg(short = 'o', long = "output", value_name = "DEST")]
        outputs: Vec<String>,
        /// Verify TLS for registries; `--tls-verify` alone means true.
        #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
        tls_verify: Option<bool>,
    },
}

#[derive(Args, Debug)]
struct InspectArgs {
    /// The image: NAME[:TAG] in the store, oci:DIR[:REF], oci-archive:FILE[:REF],
    /// docker-archive:FILE[:REF] or docker://HOST/REPO:TAG.
    source: String,
    /// The image of an index to show (os/arch[/variant]; default: the only one, else the host's).
    #[arg(long)]
    platform: Option<String>,
    /// text or json (the keys are listed in the README).
    #[arg(long, default_value = "text")]
    format: String,
    /// Each layer's entries, marked added, modified or removed.
    #[arg(long)]
    layers: bool,
    /// With --layers: entries drawn as a tree (the default); alone: the layout's files and references.
    #[arg(long, conflicts_with = "flat")]
    tree: bool,
    /// With --layers: one full path a line.
    #[arg(long)]
    flat: bool,
    /// With --layers: list only paths this glob matches (a directory brings what is below it).
    #[arg(long, value_name = "GLOB")]
    path: Option<String>,
    /// Also write a self-contained HTML page of the image to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Verify TLS for registries (default: true, false for localhost).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    tls_verify: Option<bool>,
}

#[derive(Args, Debug, Default)]
struct BuildArgs {
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
    /// docker-archive:FILE[:REF], docker://HOST/REPO:TAG. Default: the local store.
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
    /// Print only the image digest.
    #[arg(short, long)]
    quiet: bool,
    /// The build context directory.
    #[arg(value_name = "CONTEXT", default_value = ".")]
    context: PathBuf,
}

/// A failure and the exit code it gives.
struct Failure {
    code: u8,
    text: String,
}

impl Failure {
    fn usage(text: impl Into<String>) -> Self {
        Failure {
            code: 2,
            text: format!("error: {}\n", text.into()),
        }
    }
    /// Exit 1, the reason already printed.
    fn build_quiet() -> Self {
        Failure {
            code: 1,
            text: String::new(),
        }
    }
    fn build(text: impl Into<String>) -> Self {
        Failure {
            code: 1,
            text: format!("error: {}\n", text.into()),
        }
    }
}

impl From<minibuild::Error> for Failure {
    /// The error with its causes; a closed stdout (the reader went away,
    /// as `minibuild images | head -1`) ends quietly.
    fn from(e: minibuild::Error) -> Self {
        if e.is_broken_pipe() {
            return Failure {
                code: 0,
                text: String::new(),
            };
        }
        Failure {
            code: e.exit_code(),
            text: e.render("", ""),
        }
    }
}

impl From<dest::DestError> for Failure {
    fn from(e: dest::DestError) -> Self {
        minibuild::Error::from(e).into()
    }
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli =
        match build_flags_before(&matches).map_or_else(|| Cli::from_arg_matches(&matches), Err) {
            Ok(cli) => cli,
            Err(e) => e.exit(),
        };
    // temporaries (an archive being written, scratch layouts) go with the process
    if let Err(e) = minibuild::dest::scratch::clean_up_on_signals() {
        let _ = writeln!(std::io::stderr(), "warning: cannot handle signals: {e}");
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) if f.code == 0 => ExitCode::SUCCESS,
        Err(f) => {
            let _ = std::io::stderr().write_all(f.text.as_bytes());
            ExitCode::from(f.code)
        }
    }
}

/// Global flags (`--store`) go anywhere; build flags given before another
/// subcommand (`minibuild -t x images`) would be ignored: refused instead.
fn build_flags_before(matches: &clap::ArgMatches) -> Option<clap::Error> {
    let sub = matches.subcommand_name()?;
    let flag = matches.ids().find(|id| {
        id.as_str() != "store"
            && matches.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine)
    })?;
    Some(Cli::command().error(
        clap::error::ErrorKind::ArgumentConflict,
        format!("build flag {flag} given before the subcommand {sub}: put it after `build`"),
    ))
}

fn store_path(cli_store: &Option<PathBuf>) -> Result<PathBuf, Failure> {
    match cli_store {
        Some(p) => Ok(p.clone()),
        None => dest::default_store_path().map_err(|e| Failure::usage(e.to_string())),
    }
}

fn open_store(path: &Path) -> Result<Layout, Failure> {
    Ok(Layout::open(path)?)
}

fn run(cli: Cli) -> Result<(), Failure> {
    let store = store_path(&cli.store)?;
    let mut out = std::io::stdout().lock();
    match cli.command {
        None => run_build(cli.build, &store),
        Some(Command::Build(args)) => run_build(args, &store),
        Some(Command::Images) => Ok(dest::commands::images(&open_store(&store)?, &mut out)?),
        Some(Command::Inspect(args)) => run_inspect(args, false, false, &store, &mut out),
        Some(Command::Layers(args)) => run_inspect(args, true, false, &store, &mut out),
        Some(Command::Verify(args)) => run_inspect(args, false, true, &store, &mut out),
        Some(Command::Rm { name }) => {
            dest::commands::remove(&open_store(&store)?, &name)?;
            let _ = writeln!(out, "untagged {name}");
            Ok(())
        }
        Some(Command::Prune) => Ok(dest::commands::prune(&open_store(&store)?, &mut out)?),
        Some(Command::Save {
            name,
            destination,
            platform,
        }) => {
            let opts = PushOptions {
                platform: parse_platform(platform)?,
                ..PushOptions::default()
            };
            export_stored(&store, &name, &destination, opts, &mut out)
        }
        Some(Command::Index(IndexCommand::Create {
            tags,
            sources,
            replace,
            annotations,
            outputs,
            tls_verify,
        })) => {
            let job = minibuild::job::IndexJob {
                spec: dest::index::IndexSpec {
                    sources,
                    replace,
                    annotations: parse_all(&annotations)?,
                },
                tags: parse_tags(&tags)?,
                outputs: parse_locations(&outputs)?,
                store: store.clone(),
                registry: PushOptions {
                    tls_verify,
                    ..PushOptions::default()
                },
            };
            let done = job.run()?;
            for line in &done.wrote {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
            let _ = writeln!(out, "{}", done.index.digest);
            Ok(())
        }
        Some(Command::Push {
            name,
            destination,
            tls_verify,
            platform,
        }) => {
            let opts = PushOptions {
                tls_verify,
                platform: parse_platform(platform)?,
                ..PushOptions::default()
            };
            let destination = destination.unwrap_or_else(|| format!("docker://{name}"));
            export_stored(&store, &name, &destination, opts, &mut out)
        }
    }
}

fn export_stored(
    store: &Path,
    name: &str,
    destination: &str,
    opts: PushOptions,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let layout = open_store(store)?;
    let name = ImageName::from(name);
    let manifest = layout.resolve(&name)?;
    let dest = Location::parse(destination).map_err(|e| Failure::usage(e.to_string()))?;
    let done = dest::export(
        &layout,
        &manifest,
        std::slice::from_ref(&name),
        &dest,
        &opts,
    )
    .map_err(|e| Failure::build(format!("writing {destination}: {e}")))?;
    let _ = writeln!(out, "{name} → {done}");
    Ok(())
}

fn parse_platform(raw: Option<String>) -> Result<Option<Platform>, Failure> {
    raw.map(|p| p.parse::<Platform>().map_err(Failure::usage))
        .transpose()
}

fn parse_all<T: std::str::FromStr>(raw: &[String]) -> Result<Vec<T>, Failure>
where
    T::Err: std::fmt::Display,
{
    raw.iter()
        .map(|s| s.parse::<T>().map_err(|e| Failure::usage(e.to_string())))
        .collect()
}

fn parse_locations(raw: &[String]) -> Result<Vec<Location>, Failure> {
    raw.iter()
        .map(|o| Location::parse(o).map_err(|e| Failure::usage(e.to_string())))
        .collect()
}

fn parse_tags(raw: &[String]) -> Result<Vec<ImageName>, Failure> {
    raw.iter()
        .map(|t| {
            ImageName::reference_name(t)
                .map_err(|e| Failure::usage(format!("invalid tag {t:?}: {e}")))
        })
        .collect()
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

fn source_date_epoch() -> Result<Option<i64>, Failure> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => v.trim().parse::<i64>().map(Some).map_err(|_| {
            Failure::usage(format!(
                "SOURCE_DATE_EPOCH={v:?} is not a number of seconds"
            ))
        }),
        _ => Ok(None),
    }
}

/// `inspect`, `layers` (`layers` set) and `verify` (`verify` set).
fn run_inspect(
    args: InspectArgs,
    layers: bool,
    verify: bool,
    store: &Path,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    use minibuild::inspect::{Request, Shape, View};
    let platform = match &args.platform {
        Some(p) => Some(p.parse::<Platform>().map_err(Failure::usage)?),
        None => None,
    };
    let view = match (verify, layers || args.layers, args.tree) {
        (true, _, _) => View::Verify,
        (false, true, _) => View::Layers {
            shape: if args.flat { Shape::Flat } else { Shape::Tree },
            path: args.path,
        },
        (false, false, true) => View::Tree,
        (false, false, false) => View::Summary,
    };
    let req = Request {
        source: args.source,
        store: store.to_path_buf(),
        platform,
        registry: PushOptions {
            tls_verify: args.tls_verify,
            ..PushOptions::default()
        },
        view,
        format: args.format.parse().map_err(Failure::usage)?,
        html: args.html,
    };
    match minibuild::inspect::run(&req, out)? {
        true => Ok(()),
        false => Err(Failure::build_quiet()),
    }
}

/// The image line(s) of the log: each platform's image, then the index.
fn report_built(log: &mut dyn Write, built: &minibuild::executor::Built) {
    for (platform, manifest, image) in &built.platforms {
        let layers = image.layers.len();
        let _ = writeln!(
            log,
            "image {} ({layers} layers, {platform})",
            manifest.digest
        );
    }
    if built.platforms.is_empty() {
        let _ = writeln!(
            log,
            "image {} ({} layers, {})",
            built.manifest.digest,
            built.image.layers.len(),
            built.image.platform().architecture
        );
    } else {
        let _ = writeln!(log, "index {}", built.manifest.digest);
    }
}

fn run_build(args: BuildArgs, store_dir: &Path) -> Result<(), Failure> {
    let dockerfile = args.file.clone().unwrap_or_else(|| {
        // as docker build: `Dockerfile`, else a lowercase `dockerfile`
        let upper = args.context.join("Dockerfile");
        let lower = args.context.join("dockerfile");
        if !upper.exists() && lower.exists() {
            lower
        } else {
            upper
        }
    });
    let compression = Compression::parse(&args.compression, args.compression_level)
        .map_err(|e| Failure::usage(e.to_string()))?;
    let dests = parse_locations(&args.outputs)?;
    // parsed once: the store, every -o and the log use these
    let tags = parse_tags(&args.tags)?;
    let platforms: Vec<Platform> = parse_all(&args.platforms)?;
    let build_args = parse_build_args(&args.build_args)?;
    let source_date_epoch = source_date_epoch()?;
    let registry = PushOptions {
        tls_verify: args.tls_verify,
        ..PushOptions::default()
    };
    let shown = dockerfile.display().to_string();
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
    let opts = BuildOptions {
        context: args.context.clone(),
        dockerfile: Some(dockerfile.clone()),
        build_args,
        target: args.target.clone(),
        source_date_epoch,
        now,
        compression,
        platform: platforms.first().cloned().unwrap_or_else(Platform::host),
        platform_chosen: !platforms.is_empty(),
        progress: !args.quiet && std::io::stderr().is_terminal(),
        registry: registry.clone(),
        pull: args.pull,
    };

    let job = Job {
        dockerfile: src,
        options: opts,
        tags,
        outputs: dests,
        store: store_dir.to_path_buf(),
        platforms,
    };
    let mut log: Box<dyn Write> = if args.quiet {
        Box::new(std::io::sink())
    } else {
        Box::new(std::io::stderr())
    };
    let done = job.run(&mut *log).map_err(|e| Failure {
        code: e.exit_code(),
        text: e.render(&shown, &job.dockerfile),
    })?;
    for w in &done.warnings {
        let _ = writeln!(log, "warning: {w}");
    }
    let built = &done.built;
    report_built(&mut *log, built);
    for line in &done.wrote {
        let _ = writeln!(log, "{line}");
    }
    // a closed stdout ends quietly
    let _ = writeln!(std::io::stdout(), "{}", built.manifest.digest);
    Ok(())
}
