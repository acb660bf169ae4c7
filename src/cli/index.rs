//! `minibuild index create`: one image index from images built elsewhere.

use super::listing::{self, Format};
use super::report::ProgressArgs;
use super::{parse_locations, parse_tags, Failure};
use clap::Subcommand;
use minibuild::dest::{self, PushOptions};
use minibuild::events::{Event, Events};
use std::io::Write;
use std::path::Path;

#[derive(Subcommand, Debug)]
pub(crate) enum IndexCommand {
    /// Make one image index from images and indexes (store names, oci:DIR[:REF], docker://...).
    #[command(after_help = super::examples::INDEX_CREATE)]
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
        #[command(flatten)]
        progress: ProgressArgs,
        /// What stdout gets: the index digest (table), or json ({digest, tags, wrote}).
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

impl IndexCommand {
    /// Its progress flags.
    pub(crate) fn progress(&self) -> &ProgressArgs {
        match self {
            IndexCommand::Create { progress, .. } => progress,
        }
    }
}

/// Runs `index create`: the index digest (or JSON) to stdout, what was
/// written to the events.
pub(crate) fn run(
    command: IndexCommand,
    store: &Path,
    events: &Events,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let IndexCommand::Create {
        tags,
        sources,
        replace,
        annotations,
        outputs,
        tls_verify,
        format,
        ..
    } = command;
    let annotations = annotations
        .iter()
        .map(|s| s.parse().map_err(|e| Failure::usage(format!("{e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let job = minibuild::job::IndexJob {
        spec: dest::index::IndexSpec {
            sources,
            replace,
            annotations,
        },
        tags: parse_tags(&tags)?,
        outputs: parse_locations(&outputs)?,
        store: store.to_path_buf(),
        registry: PushOptions {
            tls_verify,
            events: events.clone(),
            ..PushOptions::default()
        },
    };
    let done = job.run()?;
    for line in &done.wrote {
        events.emit(Event::Output {
            message: line.clone(),
        });
    }
    events.finish();
    let json = serde_json::json!({
        "digest": done.index.digest.to_string(),
        "tags": tags,
        "wrote": done.wrote,
    });
    listing::print(format, out, &json, || done.index.digest.to_string())
}
