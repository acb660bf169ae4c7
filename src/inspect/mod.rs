//! Seeing how an image is made, for any image source `FROM` accepts:
//!
//! - [`source`] opens a store name, `oci:`, `oci-archive:`,
//!   `docker-archive:` ([`crate::dest::docker_archive`]) or `docker://`
//!   source as a layout;
//! - [`summary`] is the chain `inspect` prints: index → manifest → config
//!   → layers, and the history;
//! - [`layers`] reads every layer's entries, marked added / modified /
//!   removed, with wasted bytes and efficiency ([`listing`] prints them);
//! - [`tree`] draws the layout's files and references;
//! - [`verify`] checks every blob (through the layout checker, `fsck`);
//! - [`html`] writes the page; [`json`] holds every `--format json` shape.
//!
//! [`run`] is what the `inspect`, `layers` and `verify` commands call.

pub mod html;
pub mod json;
pub mod layers;
pub mod listing;
pub mod source;
pub mod summary;
pub mod tree;
pub mod verify;

pub use listing::Shape;
pub use source::{open, Opened, SourceKind};

use crate::dest::{DestError, RegistryOptions};
use crate::oci::Platform;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What to show.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum View {
    /// The chain: index, manifest, config, layers, history.
    Summary,
    /// Every layer's entries (`--layers`), drawn as `Shape`, limited to a glob.
    Layers {
        /// Tree or flat.
        shape: Shape,
        /// `--path GLOB`.
        path: Option<String>,
    },
    /// The layout's files and references (`--tree`).
    Tree,
    /// Every blob checked (`verify`).
    Verify,
}

/// Text or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// For people.
    #[default]
    Text,
    /// The documented shapes of [`json`].
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            other => Err(format!("unknown format {other:?}: expected text or json")),
        }
    }
}

/// One `inspect`/`verify` request.
#[derive(Debug, Clone)]
pub struct Request {
    /// The source, as `FROM` names images.
    pub source: String,
    /// The local store, for plain names.
    pub store: PathBuf,
    /// `--platform`: the image of an index to show.
    pub platform: Option<Platform>,
    /// How to reach registries.
    pub registry: RegistryOptions,
    /// What to show.
    pub view: View,
    /// How.
    pub format: Format,
    /// `--html FILE`: also write the page there.
    pub html: Option<PathBuf>,
}

/// Runs `req`, printing to `out`. Returns false when `verify` found a
/// problem (the command exits 1).
pub fn run(req: &Request, out: &mut dyn Write) -> Result<bool, DestError> {
    let mut registry = req.registry.clone();
    if req.platform.is_some() {
        registry.platform = req.platform.clone();
    }
    let opened = open(&req.source, &req.store, &registry)?;
    let platform = req.platform.as_ref();
    let json = |value: &dyn erased::Json, out: &mut dyn Write| value.print(out);
    let mut ok = true;
    match &req.view {
        View::Summary => {
            let s = summary::summarize(&opened, platform)?;
            match req.format {
                Format::Json => json(&s, out)?,
                Format::Text => {
                    summary::print_summary(&s, &opened.shown_root().display().to_string(), out)?
                }
            }
        }
        View::Layers { shape, path } => {
            let r = layers::analyze(&opened, platform, path.as_deref())?;
            match req.format {
                Format::Json => json(&r, out)?,
                Format::Text => listing::print_layers(&r, *shape, out)?,
            }
        }
        View::Tree => {
            let t = tree::layout_tree(&opened)?;
            match req.format {
                Format::Json => json(&t, out)?,
                Format::Text => tree::print_tree(&t, out)?,
            }
        }
        View::Verify => {
            let r = verify::verify(&opened, platform)?;
            ok = r.ok;
            match req.format {
                Format::Json => json(&r, out)?,
                Format::Text => verify::print_verify(&r, out)?,
            }
        }
    }
    if let Some(file) = &req.html {
        write_html(&opened, platform, file)?;
    }
    Ok(ok)
}

/// Writes the page for the image `opened` shows.
pub fn write_html(
    opened: &Opened,
    platform: Option<&Platform>,
    file: &Path,
) -> Result<(), DestError> {
    let s = summary::summarize(opened, platform)?;
    let l = layers::analyze(opened, platform, None)?;
    html::write_page(file, &html::page(&s, &l)?)
}

mod erased {
    //! Printing any of the JSON shapes.
    use crate::dest::DestError;
    use std::io::Write;

    pub trait Json {
        fn print(&self, out: &mut dyn Write) -> Result<(), DestError>;
    }

    impl<T: serde::Serialize> Json for T {
        fn print(&self, out: &mut dyn Write) -> Result<(), DestError> {
            let mut bytes = serde_json::to_vec_pretty(self)
                .map_err(DestError::json("serializing the report"))?;
            bytes.push(b'\n');
            out.write_all(&bytes).map_err(super::summary::out_err)
        }
    }
}
