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
    },
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
        Some(Command::Save { name, destination }) => export_stored(
            &store,
            &name,
            &destination,
            PushOptions::default(),
            &mut out,
        ),
        Some(Command::Push {
            name,
            destination,
            tls_verify,
        }) => {
            let opts = PushOptions {
                tls_verify,
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
    let mut dests = Vec::new();
    for o in &args.outputs {
        dests.push(Location::parse(o).map_err(|e| Failure::usage(e.to_string()))?);
    }
    // parsed once: the store, every -o and the log use these
    let mut tags = Vec::new();
    for t in &args.tags {
        tags.push(
            ImageName::reference_name(t)
                .map_err(|e| Failure::usage(format!("invalid tag {t:?}: {e}")))?,
        );
    }
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
        platform: Platform::host(),
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
    let _ = writeln!(
        log,
        "image {} ({} layers, {})",
        built.manifest.digest,
        built.image.layers.len(),
        built.image.platform().architecture
    );
    for line in &done.wrote {
        let _ = writeln!(log, "{line}");
    }
    // a closed stdout ends quietly
    let _ = writeln!(std::io::stdout(), "{}", built.manifest.digest);
    Ok(())
}
