//! The command line: the subcommands and their flags ([`Cli`]), how each
//! runs, and how results, progress and errors are shown.

mod build;
mod cache_flags;
mod examples;
mod failure;
mod index;
mod inspect;
mod listing;
mod pipeline;
mod report;

use build::BuildArgs;
use clap::{CommandFactory, Parser, Subcommand};
use failure::Failure;
use listing::Format;
use minibuild::dest::{self, ImageName, Layout, Location, PushOptions};
use minibuild::events::Events;
use report::{ColorChoice, ProgressArgs};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Build OCI container images from Dockerfiles, without a daemon and without root.
#[derive(Parser, Debug)]
#[command(
    name = "minibuild",
    version,
    after_help = examples::TOP
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    build: BuildArgs,
    /// The local image store (an OCI layout). Default: $MINIBUILD_STORE,
    /// else $XDG_DATA_HOME/minibuild, else ~/.local/share/minibuild.
    #[arg(long, global = true, value_name = "DIR")]
    store: Option<PathBuf>,
    /// Colour errors and warnings: auto (on a terminal, unless NO_COLOR is
    /// set), always, never.
    #[arg(long, global = true, value_enum, default_value_t, value_name = "WHEN")]
    color: ColorChoice,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Build an image from a Dockerfile (the default command).
    #[command(after_help = examples::BUILD)]
    Build(BuildArgs),
    /// List the images in the local store.
    #[command(after_help = examples::IMAGES)]
    Images {
        /// table, or json (an array of {name, digest, size, created}).
        #[arg(long, value_enum, default_value_t)]
        format: Format,
        /// Only images whose name matches: reference=PATTERN (`*`, `?`,
        /// `[...]`; a pattern without `:` matches the name before the tag).
        #[arg(long, value_name = "reference=PATTERN")]
        filter: Vec<String>,
    },
    /// Show how an image is made: index → manifest → config → layers, and
    /// its history; with --layers each layer's files, with --tree the layout.
    #[command(after_help = examples::INSPECT)]
    Inspect(inspect::InspectArgs),
    /// Each layer's files, bottom first (`inspect --layers`).
    #[command(after_help = examples::LAYERS)]
    Layers(inspect::InspectArgs),
    /// Check every blob's size and sha256, every layer's diff_id and every
    /// reference; exit 1 when anything is wrong.
    #[command(after_help = examples::VERIFY)]
    Verify(inspect::InspectArgs),
    /// Remove a tag from the store (blobs stay until `prune`).
    #[command(after_help = examples::RM)]
    Rm {
        /// NAME[:TAG] in the store.
        name: String,
        /// text, or json ({untagged}).
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Remove blobs that no tag in the store reaches.
    #[command(after_help = examples::PRUNE)]
    Prune {
        /// text, or json ({blobs, bytes}).
        #[arg(long, value_enum, default_value_t)]
        format: Format,
        /// Remove the whole build cache too (by default its entries used
        /// in the last 7 days, and their blobs, are kept).
        #[arg(long)]
        cache: bool,
    },
    /// Write a stored image to a destination (oci:, oci-archive:, docker-archive:).
    #[command(after_help = examples::SAVE)]
    Save {
        /// NAME[:TAG] in the store.
        name: String,
        /// Location, e.g. oci-archive:hello.tar.
        destination: String,
        /// Of an index, write only the image for OS/ARCH[/VARIANT].
        #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
        platform: Option<String>,
        #[command(flatten)]
        progress: ProgressArgs,
        /// text, or json ({name, destination, wrote}).
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Push a stored image to a registry (docker://HOST/REPO:TAG) or any destination.
    #[command(after_help = examples::PUSH)]
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
        #[command(flatten)]
        progress: ProgressArgs,
        /// text, or json ({name, destination, wrote}).
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Image indexes: `index create` merges images into one.
    #[command(subcommand, after_help = examples::INDEX)]
    Index(index::IndexCommand),
    /// Print a shell completion script (bash, zsh, fish, ...).
    #[command(after_help = examples::COMPLETIONS)]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), for `man -l -`.
    #[command(after_help = examples::MAN)]
    Man,
}

/// The progress flags of the command about to run, if it has any.
fn progress_args(cli: &Cli) -> Option<&ProgressArgs> {
    match &cli.command {
        None => Some(&cli.build.progress),
        Some(Command::Build(b)) => Some(&b.progress),
        Some(Command::Save { progress, .. } | Command::Push { progress, .. }) => Some(progress),
        Some(Command::Index(index)) => Some(index.progress()),
        _ => None,
    }
}

/// Parses the command line, runs it, and shows its failure (coloured on a
/// terminal; as a JSON `error` event with `--progress rawjson`).
pub(crate) fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // temporaries (an archive being written, scratch layouts) go with the process
    if let Err(e) = minibuild::dest::scratch::clean_up_on_signals() {
        let _ = writeln!(std::io::stderr(), "warning: cannot handle signals: {e}");
    }
    let color = cli.color.stderr();
    let progress = progress_args(&cli).cloned().unwrap_or_default();
    let events = progress.events(color, explain_of(&cli));
    let result = run(cli, &events);
    events.finish();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) if f.code == 0 => ExitCode::SUCCESS,
        Err(f) if f.text.is_empty() => ExitCode::from(f.code),
        Err(f) => {
            if progress.is_rawjson() {
                events.emit(minibuild::events::Event::Error {
                    message: f.text.trim_end().to_string(),
                });
            } else {
                let text = if color {
                    minibuild::error::paint(&f.text)
                } else {
                    f.text
                };
                let _ = std::io::stderr().write_all(text.as_bytes());
            }
            ExitCode::from(f.code)
        }
    }
}

/// The command line. Build flags before a subcommand are refused (they
/// would be ignored); global flags (`--store`, `--color`) go anywhere.
fn parse() -> Result<Cli, clap::Error> {
    use clap::parser::ValueSource;
    use clap::FromArgMatches;
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut command = Cli::command();
    if let Some(choice) = ColorChoice::in_args(&args) {
        command = command.color(choice.for_clap());
    }
    let matches = command.try_get_matches_from_mut(args)?;
    if let Some(sub) = matches.subcommand_name() {
        let misplaced = matches.ids().find(|id| {
            !matches!(id.as_str(), "store" | "color")
                && matches.value_source(id.as_str()) == Some(ValueSource::CommandLine)
        });
        if let Some(id) = misplaced {
            let flag = command
                .get_arguments()
                .find(|a| a.get_id() == id)
                .and_then(|a| a.get_long().map(|l| format!("--{l}")))
                .unwrap_or_else(|| id.to_string());
            return Err(command.error(
                clap::error::ErrorKind::ArgumentConflict,
                format!("the build flag {flag} goes after `minibuild build`, not before `{sub}`"),
            ));
        }
    }
    Cli::from_arg_matches(&matches)
}

fn explain_of(cli: &Cli) -> bool {
    match &cli.command {
        None => cli.build.explain,
        Some(Command::Build(b)) => b.explain,
        _ => false,
    }
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

fn run(cli: Cli, events: &Events) -> Result<(), Failure> {
    let store = store_path(&cli.store)?;
    let mut out = std::io::stdout().lock();
    match cli.command {
        None => build::run(cli.build, &store, events),
        Some(Command::Build(args)) => build::run(args, &store, events),
        Some(Command::Images { format, filter }) => {
            listing::images(&open_store(&store)?, format, &filter, &mut out)
        }
        Some(Command::Inspect(args)) => {
            inspect::run(args, inspect::Which::Inspect, &store, &mut out)
        }
        Some(Command::Layers(args)) => inspect::run(args, inspect::Which::Layers, &store, &mut out),
        Some(Command::Verify(args)) => inspect::run(args, inspect::Which::Verify, &store, &mut out),
        Some(Command::Index(command)) => index::run(command, &store, events, &mut out),
        Some(Command::Rm { name, format }) => {
            dest::commands::remove(&open_store(&store)?, &name)?;
            listing::print(
                format,
                &mut out,
                &serde_json::json!({ "untagged": name }),
                || format!("untagged {name}"),
            )
        }
        Some(Command::Prune { format, cache }) => {
            listing::prune(&open_store(&store)?, cache, format, &mut out)
        }
        Some(Command::Save {
            name,
            destination,
            platform,
            format,
            ..
        }) => {
            let opts = PushOptions {
                platform: parse_platform(platform)?,
                events: events.clone(),
                ..PushOptions::default()
            };
            export_stored(&store, &name, &destination, opts, format, &mut out)
        }
        Some(Command::Push {
            name,
            destination,
            tls_verify,
            platform,
            format,
            ..
        }) => {
            let opts = PushOptions {
                tls_verify,
                platform: parse_platform(platform)?,
                events: events.clone(),
                ..PushOptions::default()
            };
            let destination = destination.unwrap_or_else(|| format!("docker://{name}"));
            export_stored(&store, &name, &destination, opts, format, &mut out)
        }
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "minibuild", &mut out);
            Ok(())
        }
        Some(Command::Man) => clap_mangen::Man::new(Cli::command())
            .render(&mut out)
            .map_err(|e| Failure::build(format!("writing the manual page: {e}"))),
    }
}

fn export_stored(
    store: &Path,
    name: &str,
    destination: &str,
    opts: PushOptions,
    format: Format,
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
    let json = serde_json::json!({
        "name": name.as_str(),
        "destination": destination,
        "digest": manifest.digest.to_string(),
        "wrote": done,
    });
    listing::print(format, out, &json, || format!("{name} → {done}"))
}

fn parse_platform(raw: Option<String>) -> Result<Option<minibuild::oci::Platform>, Failure> {
    raw.map(|p| p.parse().map_err(Failure::usage)).transpose()
}

pub(crate) fn parse_locations(raw: &[String]) -> Result<Vec<Location>, Failure> {
    raw.iter()
        .map(|o| Location::parse(o).map_err(|e| Failure::usage(e.to_string())))
        .collect()
}

pub(crate) fn parse_tags(raw: &[String]) -> Result<Vec<ImageName>, Failure> {
    raw.iter()
        .map(|t| {
            ImageName::reference_name(t)
                .map_err(|e| Failure::usage(format!("invalid tag {t:?}: {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    /// The names a clap enum's values are written with.
    fn possible(values: &[impl ValueEnum]) -> Vec<String> {
        values
            .iter()
            .filter_map(|v| v.to_possible_value())
            .map(|p| p.get_name().to_string())
            .collect()
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn progress_modes_have_buildkits_names() {
        assert_eq!(
            possible(report::ProgressMode::value_variants()),
            ["auto", "tty", "plain", "quiet", "rawjson"]
        );
    }
}
