//! `minibuild index create`: one image index from images and indexes made
//! elsewhere (other machines' single-platform builds), stored or exported.

use crate::dest::index::{create_index, IndexSpec};
use crate::dest::{self, ImageName, Layout, Location, RegistryOptions};
use crate::oci::Descriptor;
use crate::Error;
use std::path::PathBuf;

/// An `index create` and where its index goes.
#[derive(Debug, Clone)]
pub struct IndexJob {
    /// The sources, `--replace` and the annotations.
    pub spec: IndexSpec,
    /// Names for the index (`-t`).
    pub tags: Vec<ImageName>,
    /// Where it goes (`-o`); none: the store.
    pub outputs: Vec<Location>,
    /// The local store: store names are read from it, and the index goes
    /// there without `-o`.
    pub store: PathBuf,
    /// How to reach registries (sources and outputs).
    pub registry: RegistryOptions,
}

/// What an [`IndexJob`] did.
#[derive(Debug, Clone)]
pub struct IndexDone {
    /// The index written.
    pub index: Descriptor,
    /// One line per place it went.
    pub wrote: Vec<String>,
}

impl IndexJob {
    /// Brings every source together, writes the index and names or exports it.
    pub fn run(&self) -> Result<IndexDone, Error> {
        let store = Layout::create(&self.store)?;
        let _store_hold = store.hold()?;
        let mut wrote = Vec::new();
        if self.outputs.is_empty() {
            let index = create_index(&self.spec, &store, &store, &self.registry)?;
            for name in &self.tags {
                store.tag(&index, name)?;
                wrote.push(format!("stored {name} in {}", self.store.display()));
            }
            return Ok(IndexDone { index, wrote });
        }
        // swept by the next build or prune when this one is killed
        let (_scratch, dir) = dest::scratch_layout_dir()?;
        let into = Layout::create(&dir)?;
        let index = create_index(&self.spec, &store, &into, &self.registry)?;
        for d in &self.outputs {
            let done = dest::export(&into, &index, &self.tags, d, &self.registry)?;
            wrote.push(format!("wrote {done}"));
        }
        Ok(IndexDone { index, wrote })
    }
}
