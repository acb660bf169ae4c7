//! `inspect`, `layers` and `verify`: any image source, shown as the
//! library's `inspect` module draws it.

use super::listing::Format;
use super::Failure;
use clap::Args;
use minibuild::dest::PushOptions;
use minibuild::oci::Platform;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub(crate) struct InspectArgs {
    /// The image: NAME[:TAG] in the store, oci:DIR[:REF], oci-archive:FILE[:REF],
    /// docker-archive:FILE[:REF] or docker://HOST/REPO:TAG.
    source: String,
    /// The image of an index to show (os/arch[/variant]; default: the only one, else the host's).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    platform: Option<String>,
    /// text, or json (the keys are listed in the README).
    #[arg(long, value_enum, default_value_t)]
    format: Format,
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

/// Which subcommand: `inspect`, `layers` or `verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    Inspect,
    Layers,
    Verify,
}

/// Runs `inspect`, `layers` or `verify`; `verify` finding a fault exits 1
/// (the report already printed).
pub(crate) fn run(
    args: InspectArgs,
    which: Which,
    store: &Path,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    use minibuild::inspect::{Request, Shape, View};
    let platform = match &args.platform {
        Some(p) => Some(p.parse::<Platform>().map_err(Failure::usage)?),
        None => None,
    };
    let view = match (which, which == Which::Layers || args.layers, args.tree) {
        (Which::Verify, _, _) => View::Verify,
        (_, true, _) => View::Layers {
            shape: if args.flat { Shape::Flat } else { Shape::Tree },
            path: args.path,
        },
        (_, false, true) => View::Tree,
        (_, false, false) => View::Summary,
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
        format: match args.format {
            Format::Table => minibuild::inspect::Format::Text,
            Format::Json => minibuild::inspect::Format::Json,
        },
        html: args.html,
    };
    match minibuild::inspect::run(&req, out)? {
        true => Ok(()),
        false => Err(Failure::build_quiet()),
    }
}
