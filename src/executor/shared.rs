//! The work the builds of one command share: the platforms of a
//! multi-platform build read one build context (its ignore files parsed
//! once) and write a layer that comes out the same for several of them
//! only once.

use super::BuildError;
use crate::cache::{self, Inputs, SourceSum, StatCache};
use crate::context::{BuildContext, ContextEntry, ContextError};
use crate::digest::Digest;
use crate::image::Layer;
use crate::layer::{LayerDesc, LayerOptions, Source};
use crate::oci::Descriptor;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

/// What the builds of one command share. [`super::build`] makes a fresh one;
/// [`super::build_shared`] takes one that lives across builds.
#[derive(Debug, Default)]
pub struct SharedWork {
    context: RefCell<Option<Rc<ScannedContext>>>,
    layers: RefCell<HashMap<Digest, (Layer, LayerDesc)>>,
    /// The [`layer_head`]s of `layers`.
    heads: RefCell<std::collections::HashSet<Digest>>,
    reused: std::cell::Cell<usize>,
    /// Digests of the files keyed so far (for builds without a store,
    /// whose cache would have computed them).
    stat: RefCell<StatCache>,
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
    pub(crate) fn layer(&self, key: &Digest) -> Option<(Layer, LayerDesc)> {
        let found = self.layers.borrow().get(key).cloned();
        if found.is_some() {
            self.reused.set(self.reused.get() + 1);
        }
        found
    }

    /// Whether a layer an earlier build wrote may be taken for a layer
    /// whose [`layer_head`] is `head`: one was written to the same places
    /// over the same layers (only then do the sources' digests decide).
    pub(crate) fn may_share(&self, head: &Digest) -> bool {
        self.heads.borrow().contains(head)
    }

    /// Remembers the layer written for `key`, whose head is `head`.
    pub(crate) fn remember(&self, key: Digest, head: Digest, layer: (Layer, LayerDesc)) {
        self.heads.borrow_mut().insert(head);
        self.layers.borrow_mut().insert(key, layer);
    }

    /// What the content key sees of `sources` (each file read once per
    /// command).
    pub(crate) fn source_sums(&self, sources: &[Source]) -> std::io::Result<Vec<SourceSum>> {
        cache::source_sums(sources, &mut self.stat.borrow_mut())
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

/// What a layer's bytes depend on, as the build cache's content key
/// ([`Inputs`]) sees it: every source entry's path, type, size, mode,
/// owner, xattrs and content digest (not its mtime, nor where its bytes
/// are read from: a touched file still shares), how the layer is written,
/// and, when an archive is unpacked, the layers below (its entries are
/// placed through their symlinks as the layer is written; COPY entries
/// were placed when planned, so the same entries make the same layer over
/// any base). Not the instruction: the same entries make the same layer.
pub(crate) fn layer_key(
    parent: &[Descriptor],
    sources: &[Source],
    sums: Vec<SourceSum>,
    opts: &LayerOptions,
) -> Digest {
    Inputs {
        parent: parent_part(parent, sources),
        instruction: String::new(),
        args: Default::default(),
        layer_options: cache::layer_options_sum(opts),
        sources: sums,
    }
    .key()
}

/// What the layer below changes in a layer of `sources`: an archive's
/// entries are resolved through its symlinks, other entries are not.
fn parent_part(parent: &[Descriptor], sources: &[Source]) -> String {
    let archive = sources.iter().any(|s| matches!(s, Source::Archive { .. }));
    if archive {
        cache::parent_sum(parent)
    } else {
        "any".to_string()
    }
}

/// The part of [`layer_key`] known before any source is read: the layers
/// below (as the key sees them), the options and where each source goes.
/// Layers with the same key have the same head.
pub(crate) fn layer_head(parent: &[Descriptor], sources: &[Source], opts: &LayerOptions) -> Digest {
    let places: Vec<&str> = sources
        .iter()
        .map(|s| match s {
            Source::Entry(e, _) => e.path.as_str(),
            Source::Archive { dest_dir, .. } => dest_dir.as_str(),
        })
        .collect();
    let head = serde_json::json!([
        parent_part(parent, sources),
        cache::layer_options_sum(opts),
        places
    ]);
    crate::digest::sha256(head.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{Data, Entry, EntryKind, FileRef};

    fn key(parent: &[Descriptor], sources: &[Source]) -> Digest {
        let sums = cache::source_sums(sources, &mut StatCache::default()).unwrap();
        layer_key(parent, sources, sums, &LayerOptions::default())
    }

    fn file(mode: u32, mtime: i64, data: Data) -> Source {
        let entry = Entry {
            path: "a".into(),
            kind: EntryKind::File { size: 1 },
            mode,
            uid: 0,
            gid: 0,
            mtime,
            xattrs: Vec::new(),
        };
        Source::Entry(entry, data)
    }

    #[test]
    fn only_archives_key_their_layer_by_the_layers_below() {
        let below = |s: &[u8]| vec![Descriptor::new("x", crate::digest::sha256(s), 1)];
        let copy = [file(0o644, 0, Data::Bytes(b"a".to_vec()))];
        assert_eq!(key(&below(b"1"), &copy), key(&below(b"2"), &copy));
        let dir = tempfile::tempdir().unwrap();
        let tar = dir.path().join("a.tar");
        std::fs::write(&tar, b"not read as a tar here").unwrap();
        let archive = [Source::Archive {
            file: FileRef::Path(tar),
            dest_dir: "/".into(),
            chown: None,
            lower: Default::default(),
        }];
        assert_ne!(key(&below(b"1"), &archive), key(&below(b"2"), &archive));
        let other = [file(0o600, 0, Data::Bytes(b"a".to_vec()))];
        assert_ne!(key(&[], &copy), key(&[], &other));
    }

    #[test]
    fn the_key_is_the_content_not_the_stamp_of_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let (one, two) = (dir.path().join("1"), dir.path().join("2"));
        std::fs::write(&one, b"a").unwrap();
        std::fs::write(&two, b"a").unwrap();
        // the same bytes elsewhere, touched: the same layer
        let first = [file(0o644, 5, Data::Path(one.clone()))];
        let touched = [file(0o644, 9, Data::Path(two.clone()))];
        assert_eq!(key(&[], &first), key(&[], &touched));
        std::fs::write(&two, b"b").unwrap();
        let changed = [file(0o644, 9, Data::Path(two))];
        assert_ne!(key(&[], &first), key(&[], &changed));
    }
}
