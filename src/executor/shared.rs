//! The work the builds of one command share: the platforms of a
//! multi-platform build read one build context (its ignore files parsed
//! once) and write a layer that comes out the same for several of them
//! only once.

use super::BuildError;
use crate::context::{BuildContext, ContextEntry, ContextError};
use crate::image::Layer;
use crate::layer::{Data, FileRef, LayerDesc, LayerOptions, Source};
use crate::oci::Descriptor;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::rc::Rc;

/// What the builds of one command share. [`super::build`] makes a fresh one;
/// [`super::build_shared`] takes one that lives across builds.
#[derive(Debug, Default)]
pub struct SharedWork {
    context: RefCell<Option<Rc<ScannedContext>>>,
    layers: RefCell<HashMap<String, (Layer, LayerDesc)>>,
    reused: std::cell::Cell<usize>,
}

impl SharedWork {
    /// An empty share.
    pub fn new() -> SharedWork {
        SharedWork::default()
    }

    /// The build context at `root`, opened by the first build that asks.
    pub(crate) fn context(
        &self,
        root: &Path,
        dockerfile: Option<&Path>,
    ) -> Result<Rc<ScannedContext>, BuildError> {
        if let Some(ctx) = self.context.borrow().as_ref() {
            if ctx.context.root() == root.canonicalize().unwrap_or_default() {
                return Ok(ctx.clone());
            }
        }
        let ctx = BuildContext::open(root, dockerfile)
            .map_err(|e| BuildError::other("reading the build context").caused(e))?;
        let ctx = Rc::new(ScannedContext {
            context: ctx,
            sources: RefCell::default(),
            walks: RefCell::default(),
        });
        *self.context.borrow_mut() = Some(ctx.clone());
        Ok(ctx)
    }

    /// The layer an earlier build wrote from the same sources over the same
    /// layers, if any.
    pub(crate) fn layer(&self, key: &str) -> Option<(Layer, LayerDesc)> {
        let found = self.layers.borrow().get(key).cloned();
        if found.is_some() {
            self.reused.set(self.reused.get() + 1);
        }
        found
    }

    /// Remembers the layer written for `key`.
    pub(crate) fn remember(&self, key: String, layer: (Layer, LayerDesc)) {
        self.layers.borrow_mut().insert(key, layer);
    }

    /// How many layers were taken from an earlier build instead of written.
    pub fn layers_reused(&self) -> usize {
        self.reused.get()
    }
}

/// The build context, each source path resolved and each directory walked
/// once per command: a second platform's `COPY . /app` reads no directory
/// again.
#[derive(Debug)]
pub struct ScannedContext {
    context: BuildContext,
    sources: RefCell<HashMap<String, Vec<ContextEntry>>>,
    walks: RefCell<HashMap<String, Vec<ContextEntry>>>,
}

impl ScannedContext {
    /// [`BuildContext::resolve_source`], remembered.
    pub fn resolve_source(&self, source: &str) -> Result<Vec<ContextEntry>, ContextError> {
        if let Some(found) = self.sources.borrow().get(source) {
            return Ok(found.clone());
        }
        let found = self.context.resolve_source(source)?;
        self.sources
            .borrow_mut()
            .insert(source.to_string(), found.clone());
        Ok(found)
    }

    /// [`BuildContext::walk`], remembered.
    pub fn walk(&self, dir: &ContextEntry) -> Result<Vec<ContextEntry>, ContextError> {
        // the entry whole: the same path with other metadata is walked again
        let key = format!("{dir:?}");
        if let Some(found) = self.walks.borrow().get(&key) {
            return Ok(found.clone());
        }
        let found = self.context.walk(dir)?;
        self.walks.borrow_mut().insert(key, found.clone());
        Ok(found)
    }
}

/// What a layer's bytes depend on: every source entry with its metadata
/// and the identity of its data, how the layer is written, and, when an
/// archive is unpacked, the layers below (its entries are placed through
/// their symlinks as the layer is written; COPY entries were placed when
/// planned, so the same entries make the same layer over any base).
pub(crate) fn layer_key(parent: &[Descriptor], sources: &[Source], opts: &LayerOptions) -> String {
    let mut key = format!("{:?} {:?}\n", opts.compression, opts.clamp_mtime);
    if sources.iter().any(|s| matches!(s, Source::Archive { .. })) {
        for layer in parent {
            let _ = writeln!(key, "below {}", layer.digest);
        }
    }
    for source in sources {
        match source {
            Source::Entry(entry, data) => {
                let data = match data {
                    Data::None => "none".to_string(),
                    Data::Path(p) => format!("file {p:?} {}", file_stamp(p)),
                    Data::Context(c) => format!("context {:?} {:?}", c.real(), c.identity()),
                    Data::Bytes(b) => format!("bytes {}", crate::digest::sha256(b)),
                };
                let _ = writeln!(key, "entry {entry:?} {data}");
            }
            Source::Archive {
                file,
                dest_dir,
                chown,
                ..
            } => {
                let stamp = match file {
                    FileRef::Path(path) => format!("file {path:?} {}", file_stamp(path)),
                    FileRef::Context(c) => format!("context {:?} {:?}", c.real(), c.identity()),
                };
                let _ = writeln!(key, "archive {stamp} {dest_dir:?} {chown:?}");
            }
        }
    }
    key
}

/// A file's size and modification time: a file changed between two builds
/// of the command gives another key.
fn file_stamp(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(m) => {
            use std::os::unix::fs::MetadataExt;
            format!("{} {}.{} {}", m.len(), m.mtime(), m.mtime_nsec(), m.ino())
        }
        Err(_) => "missing".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{Entry, EntryKind};

    #[test]
    fn only_archives_key_their_layer_by_the_layers_below() {
        let opts = LayerOptions::default();
        let below = |s: &[u8]| vec![Descriptor::new("x", crate::digest::sha256(s), 1)];
        let entry = Source::Entry(
            Entry {
                path: "a".into(),
                kind: EntryKind::File { size: 1 },
                mode: 0o644,
                uid: 0,
                gid: 0,
                mtime: 0,
                xattrs: Vec::new(),
            },
            Data::Bytes(b"a".to_vec()),
        );
        let copy = [entry.clone()];
        assert_eq!(
            layer_key(&below(b"1"), &copy, &opts),
            layer_key(&below(b"2"), &copy, &opts)
        );
        let archive = [Source::Archive {
            file: FileRef::Path("/nonexistent.tar".into()),
            dest_dir: "/".into(),
            chown: None,
            lower: Default::default(),
        }];
        assert_ne!(
            layer_key(&below(b"1"), &archive, &opts),
            layer_key(&below(b"2"), &archive, &opts)
        );
        let other = [Source::Entry(
            Entry {
                mode: 0o600,
                ..match entry {
                    Source::Entry(e, _) => e,
                    _ => unreachable!(),
                }
            },
            Data::Bytes(b"a".to_vec()),
        )];
        assert_ne!(layer_key(&[], &copy, &opts), layer_key(&[], &other, &opts));
    }
}
