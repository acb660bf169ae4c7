//! The build cache's hooks in the step loop: before a layer is written its
//! key is computed from its inputs and, on a hit whose blob verifies, the
//! stored blob is taken as it is; on a miss the first input that differs
//! from the last build of the same step is named; either way the entry is
//! kept for [`crate::cache::commit`], which writes it once the blobs are
//! stored.

use super::{BuildError, Builder, Stage};
use crate::cache::{self, Entry, Inputs, Prefetch, Record, RemoteEntry};
use crate::dest::PushOptions;
use crate::digest::{sha256, Digest};
use crate::events::CacheResult;
use crate::image::Layer;
use crate::layer::{LayerDesc, LayerOptions, Source};
use crate::oci::Descriptor;
use std::collections::BTreeMap;

/// The layer step being run, as the cache knows it.
pub(super) struct CacheStep {
    /// Which step of which build (context, Dockerfile, stage, position,
    /// platform): where its last key is kept.
    id: Digest,
    /// The instruction as written.
    instruction: String,
    /// The variables it names, with their values now.
    args: BTreeMap<String, String>,
}

/// A step that cannot hit (see [`crate::cache::Cache::may_hit`]): its key
/// is computed from `head` while its layer is written.
pub(super) struct KeyLater {
    head: Inputs,
    step: Digest,
    /// Its [`super::shared::layer_head`].
    shared_head: Digest,
}

/// A miss whose layer is being written: what its entry needs.
pub(super) struct Pending {
    key: Digest,
    step: Digest,
    inputs: Inputs,
}

impl Builder<'_> {
    /// The cache's view of instruction number `position` of stage `index`
    /// whose text is `text` (none when the build has no store).
    pub(super) fn cache_step(
        &self,
        index: usize,
        position: usize,
        text: &str,
        stage: &Stage,
    ) -> Option<CacheStep> {
        self.cache.as_ref()?;
        let root = self.opts.context.canonicalize().unwrap_or_default();
        let id = format!(
            "{}\n{:?}\n{index}\n{position}\n{}",
            root.display(),
            self.opts.dockerfile,
            self.opts.platform
        );
        let args = cache::referenced_names(text)
            .into_iter()
            .filter_map(|n| stage.vars.get(&n).map(|v| (n, v.to_string())))
            .collect();
        Some(CacheStep {
            id: sha256(id.as_bytes()),
            instruction: text.to_string(),
            args,
        })
    }

    /// The layer the cache holds for the current step's inputs, verified;
    /// `None` (with the inputs kept for [`Builder::cache_written`]) on a
    /// miss, or when the step has no key.
    pub(super) fn cached_layer(
        &mut self,
        parent: &[Descriptor],
        sources: &[Source],
        options: &LayerOptions,
    ) -> Result<Option<(Layer, LayerDesc)>, BuildError> {
        self.pending = None;
        let Some(step) = self.cache_step.take().filter(|_| self.cache.is_some()) else {
            return Ok(None);
        };
        let head = cache::Cache::head(parent, &step.instruction, step.args, options);
        let certain =
            self.opts.cache.no_cache || !self.cache.as_ref().is_some_and(|c| c.may_hit(&head));
        let shared_head = certain.then(|| super::shared::layer_head(parent, sources, options));
        if let Some(shared_head) = shared_head.filter(|h| !self.shared.may_share(h)) {
            // its sources are read once, by the layer, while they are hashed
            self.key_later = Some(KeyLater {
                head,
                step: step.id,
                shared_head,
            });
            return Ok(None);
        }
        // the blob the step will likely hit downloads while its sources are hashed
        let prefetch = self.prefetch(&head);
        let Some(cache) = self.cache.as_mut() else {
            return Ok(None);
        };
        let inputs = cache
            .with_sources(head, sources)
            .map_err(|e| BuildError::other("computing the cache key").caused(e))?;
        let key = inputs.key();
        let found = match cache.lookup(&key) {
            Some(entry) => Some((entry, None)),
            None => cache
                .remote(&key)
                .map(|r| (r.entry.clone(), Some(r.clone()))),
        };
        let previous = || cache.previous(&step.id);
        let explain = self.opts.cache.explain;
        let miss = match found {
            Some(_) if self.opts.cache.no_cache => explain.then(|| "--no-cache".to_string()),
            Some((entry, remote)) => match self.verify_cached(&entry, remote.as_ref(), prefetch) {
                Ok(()) => {
                    return Ok(Some(self.take_hit(key, step.id, entry, sources)));
                }
                Err(why) => {
                    let warning = format!(
                        "cached layer {} {why}: the step is rebuilt",
                        entry.layer.digest
                    );
                    self.events.warn(warning);
                    Some("the cached blob was not usable".to_string())
                }
            },
            None => why_new(previous(), &inputs, explain),
        };
        self.note_miss(step.id, inputs, miss);
        Ok(None)
    }

    /// Keeps what a missed step's entry needs, and why it missed.
    fn note_miss(&mut self, step: Digest, inputs: Inputs, miss: Option<String>) {
        let key = inputs.key();
        self.cache_note = Some(CacheResult {
            hit: false,
            key: key.to_string(),
            miss,
        });
        self.pending = Some(Pending { key, step, inputs });
    }

    /// Writes the layer of a step that cannot hit while its key is
    /// computed on a thread beside it: the sources are hashed as the layer
    /// reads them (from the page cache), not in a pass of their own first.
    /// `cache` is the build's, taken out for the keying thread and put back.
    pub(super) fn write_keying(
        &mut self,
        later: KeyLater,
        mut cache: cache::Cache,
        parent: &[Descriptor],
        sources: &[Source],
        span: crate::span::Span,
        options: &LayerOptions,
    ) -> Result<(Layer, LayerDesc), BuildError> {
        let (done, inputs) = std::thread::scope(|scope| {
            let keyer = scope.spawn(|| cache.with_sources(later.head, sources));
            let done = self.write_new_layer(sources, span, options);
            let inputs = keyer
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the cache key thread panicked")));
            (done, inputs)
        });
        let previous = cache.previous(&later.step);
        let found = inputs.as_ref().is_ok_and(|i| {
            let key = i.key();
            cache.lookup(&key).is_some() || cache.remote(&key).is_some()
        });
        self.cache = Some(cache);
        let done = done?;
        let inputs = inputs.map_err(|e| BuildError::other("computing the cache key").caused(e))?;
        let explain = self.opts.cache.explain;
        let miss = match found {
            true if self.opts.cache.no_cache => explain.then(|| "--no-cache".to_string()),
            _ => why_new(previous, &inputs, explain),
        };
        let sums = inputs.sources.clone();
        let shared_key = super::shared::layer_key(parent, sources, sums, options);
        self.shared
            .remember(shared_key, later.shared_head, done.clone());
        self.note_miss(later.step, inputs, miss);
        self.cache_written(&done.0, &done.1);
        Ok(done)
    }

    /// What the key of the step being written saw of its sources.
    pub(super) fn pending_sources(&self) -> Option<Vec<crate::cache::SourceSum>> {
        self.pending.as_ref().map(|p| p.inputs.sources.clone())
    }

    /// Keeps the entry of the layer just written (or shared) for a miss.
    pub(super) fn cache_written(&mut self, layer: &Layer, desc: &LayerDesc) {
        let Some(p) = self.pending.take() else {
            return;
        };
        self.cache_records.push(Record {
            key: p.key,
            step: p.step,
            entry: Entry {
                layer: layer.descriptor.clone(),
                diff_id: layer.diff_id.clone(),
                entries: desc.entries,
                inputs: p.inputs,
            },
            hit: false,
        });
    }

    /// Takes `entry`'s layer for the step (its blob verified).
    fn take_hit(
        &mut self,
        key: Digest,
        step: Digest,
        entry: Entry,
        sources: &[Source],
    ) -> (Layer, LayerDesc) {
        let layer = Layer {
            descriptor: entry.layer.clone(),
            diff_id: entry.diff_id.clone(),
        };
        let desc = LayerDesc {
            digest: entry.layer.digest.clone(),
            diff_id: entry.diff_id.clone(),
            size: entry.layer.size,
            media_type: entry.layer.media_type.clone(),
            entries: entry.entries,
        };
        self.layer_reused(&desc, sources);
        self.cache_note = Some(CacheResult {
            hit: true,
            key: key.to_string(),
            miss: None,
        });
        self.cache_records.push(Record {
            key,
            step,
            entry,
            hit: true,
        });
        (layer, desc)
    }

    /// Starts fetching the blob of the `--cache-from` entry in a registry
    /// that a step whose inputs start with `head` is likely to hit (none
    /// with `--no-cache`, without a store, or when the store has it).
    fn prefetch(&self, head: &Inputs) -> Option<Prefetch> {
        if self.opts.cache.no_cache {
            return None;
        }
        let (store, cache) = (self.store?, self.cache.as_ref()?);
        let likely = cache.likely_remote(head)?;
        Prefetch::start(likely, store, &self.registry_options())
    }

    /// How registries are reached, transfers reported to the build's events.
    fn registry_options(&self) -> PushOptions {
        PushOptions {
            events: self.events.clone(),
            ..self.opts.registry.clone()
        }
    }

    /// Checks that the entry's blob is in the store with the bytes its
    /// digest names, and that the build layout has it (copied, verified, when
    /// the build writes elsewhere). A damaged stored blob is removed, so the
    /// rebuilt one takes its place when the image is published. The blob of
    /// a `remote` entry the store lacks is fetched, verified as it streams
    /// in, and not read again.
    /// `prefetch`: the blob fetched while the key was computed (taken when
    /// it is `remote`'s).
    fn verify_cached(
        &self,
        entry: &Entry,
        remote: Option<&RemoteEntry>,
        prefetch: Option<Prefetch>,
    ) -> Result<(), String> {
        let Some(store) = self.store else {
            return Err("no store".into());
        };
        let digest = &entry.layer.digest;
        match remote {
            Some(remote) if !store.has_blob(digest) => {
                let registry = self.registry_options();
                match prefetch.filter(|p| p.is_for(remote)) {
                    Some(fetching) => fetching.finish(&registry),
                    None => cache::fetch(remote, store, &registry),
                }
                .map_err(|e| format!("could not be fetched ({e})"))?;
            }
            _ => verify_stored(store, digest).map_err(|e| format!("is damaged ({e})"))?,
        }
        if store.root() != self.layout.root() {
            self.layout
                .copy_blob_from(store, digest)
                .map_err(|e| format!("is damaged ({e})"))?;
        }
        Ok(())
    }
}

/// Reads the blob `digest` of `store` whole, checking it against its
/// digest; removes it when it does not verify.
fn verify_stored(store: &crate::dest::Layout, digest: &Digest) -> Result<(), String> {
    if !store.has_blob(digest) {
        return Err("its blob is missing".into());
    }
    let read = store
        .open_blob(digest)
        .map_err(|e| e.to_string())
        .and_then(|mut r| {
            crate::digest::copy(&mut r, &mut std::io::sink()).map_err(|e| e.to_string())
        });
    if let Err(why) = read {
        let _ = std::fs::remove_file(store.blob_path(digest));
        return Err(why);
    }
    Ok(())
}

/// Why a step with `inputs` and no entry missed: the first input that
/// differs from the `previous` build of the step.
fn why_new(previous: Option<Entry>, inputs: &Inputs, explain: bool) -> Option<String> {
    match previous {
        Some(old) => inputs.first_difference(&old.inputs),
        None => explain.then(|| "no earlier build of this step".to_string()),
    }
}
