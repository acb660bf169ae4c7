//! The whole build job as the `minibuild` command runs it: where the blobs
//! are written (straight into the store, or the first `oci:` output, or a
//! scratch layout), the holds that keep `prune` off them until they are
//! named, and the naming or exporting of the result.

use crate::dest::{self, ImageName, Layout, Location};
use crate::events::Events;
use crate::executor::{self, BuildOptions, Built};
use crate::Error;
use std::path::PathBuf;

/// A build and where its image goes.
#[derive(Debug, Clone)]
pub struct Job {
    /// The Dockerfile's text.
    pub dockerfile: String,
    /// How to build.
    pub options: BuildOptions,
    /// Names for the image (`-t`), parsed.
    pub tags: Vec<ImageName>,
    /// Where the image goes (`-o`); none: the store.
    pub outputs: Vec<Location>,
    /// The local store (an OCI layout): the default output, and where base
    /// images from registries are kept.
    pub store: PathBuf,
}

/// What a job did.
#[derive(Debug, Clone)]
pub struct Done {
    /// The build's result.
    pub built: Built,
    /// One line per place the image went (`stored hello:scratch in DIR`,
    /// `wrote oci:out:hello`).
    pub wrote: Vec<String>,
    /// Warnings for the user.
    pub warnings: Vec<String>,
}

impl Job {
    /// Builds the image and stores or exports it. What it does is
    /// reported to `events` (steps, layers, blobs pulled and pushed).
    pub fn run(&self, events: &Events) -> Result<Done, Error> {
        let to_store = self.outputs.is_empty();
        let mut _scratch = None;
        let build_dir = if to_store {
            self.store.clone()
        } else if let Some(Location::Oci { dir, .. }) = self
            .outputs
            .iter()
            .find(|d| matches!(d, Location::Oci { .. }))
        {
            dir.clone()
        } else {
            let tmp = tempfile::Builder::new()
                .prefix("minibuild-out-")
                .tempdir()
                .map_err(Error::io("creating a temporary layout"))?;
            let path = tmp.path().to_path_buf();
            _scratch = Some(tmp);
            path
        };
        let layout = Layout::create(&build_dir)?;
        // the store also caches FROM images pulled from registries
        let store = if build_dir == self.store {
            None
        } else {
            Some(Layout::create(&self.store)?)
        };
        // until the image is named, `prune` must not take its blobs
        let _holds = (
            layout.hold()?,
            store.as_ref().map(Layout::hold).transpose()?,
        );
        let built = executor::build(
            &self.dockerfile,
            &self.options,
            &layout,
            store.as_ref().or(Some(&layout)),
            events,
        )?;
        let mut wrote = Vec::new();
        let names = &self.tags;
        if to_store {
            if names.is_empty() {
                layout.tag(&built.manifest, &ImageName::from(""))?;
            }
            for n in names {
                layout.tag(&built.manifest, n)?;
                wrote.push(format!("stored {n} in {}", self.store.display()));
            }
        } else {
            let registry = dest::RegistryOptions {
                events: events.clone(),
                ..self.options.registry.clone()
            };
            for d in &self.outputs {
                let done = dest::export(&layout, &built.manifest, names, d, &registry)?;
                wrote.push(format!("wrote {done}"));
            }
        }
        let mut warnings = built.warnings.clone();
        if to_store && names.is_empty() {
            warnings.push("no -t given: the image is kept in the store untagged".to_string());
        }
        Ok(Done {
            built,
            wrote,
            warnings,
        })
    }
}
