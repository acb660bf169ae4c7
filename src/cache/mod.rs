//! The build cache: a layer step whose inputs are unchanged reuses the
//! layer blob an earlier build stored, as it is (no re-tar, no
//! recompression).
//!
//! The cache lives in the store, beside the blobs it points at:
//! - `cache/entries/<key hex>.json`: one [`Entry`] per key (the layer's
//!   descriptor, diff_id, entry count and the [`Inputs`] the key covers);
//! - `cache/steps/<step hex>`: the key the last build of a step (same
//!   context, Dockerfile, stage and position, platform) had, so that a miss
//!   can be explained against it;
//! - `cache/stat.json`: the [`StatCache`];
//! - `cache/heads/<head hex>`: an empty file for each (parent, instruction,
//!   variables, layer options) some entry was made with, so that a step
//!   none was made like is known to miss before its sources are read (its
//!   key is then computed while its layer is written).
//!
//! Entries are written ([`commit`]) only once the image's blobs are in the
//! store, each through a temporary file and a rename: a killed build never
//! leaves an entry pointing at a missing blob, and concurrent builds only
//! ever see whole entries. `prune` keeps the blobs of entries used in the
//! last [`KEEP_DAYS`] days and removes older entries.

mod key;
mod remote;
mod stat;
pub mod toc;

pub use key::{referenced_names, Inputs, SourceSum};
pub use remote::{
    export, fetch, import, parse_location, Prefetch, RemoteEntry, ARTIFACT_TYPE_CACHE,
    MEDIA_TYPE_CACHE_CONFIG, MEDIA_TYPE_CACHE_CONFIG_V1,
};
pub use stat::StatCache;

use crate::dest::Layout;
use crate::digest::{sha256, Digest};
use crate::layer::{Data, EntryKind, FileRef, LayerOptions, Source};
use crate::oci::Descriptor;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How long `prune` keeps an entry (and its blob) after its last use.
pub const KEEP_DAYS: u64 = 7;

/// How a build uses the cache.
#[derive(Debug, Clone, Default)]
pub struct CacheOptions {
    /// `--no-cache`: never take a hit (entries are still written).
    pub no_cache: bool,
    /// `--explain-cache`: every layer step says why it hit or missed.
    pub explain: bool,
    /// `--cache-from`: caches read before the build.
    pub from: Vec<crate::dest::Location>,
    /// The entries of the `--cache-from` caches ([`import`]), their blobs
    /// fetched when a step hits them.
    pub imported: Vec<RemoteEntry>,
    /// `--cache-to`: where the build's cache entries go after it.
    pub to: Vec<crate::dest::Location>,
}

/// One cached layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The layer blob.
    pub layer: Descriptor,
    /// Its uncompressed digest.
    pub diff_id: Digest,
    /// Tar entries in it.
    pub entries: u64,
    /// What its key covers.
    pub inputs: Inputs,
}

/// An entry for [`commit`] to write once the build's blobs are stored.
#[derive(Debug, Clone)]
pub struct Record {
    /// The key.
    pub key: Digest,
    /// The step it was built for.
    pub step: Digest,
    /// The entry (already stored when the step was a hit).
    pub entry: Entry,
    /// The step hit: the entry is only marked as used.
    pub hit: bool,
}

/// What a build leaves for [`commit`] to write once its blobs are stored.
#[derive(Debug, Clone, Default)]
pub struct CacheWrites {
    /// The entries made or used, in step order.
    pub records: Vec<Record>,
    /// The stat cache, when it learned something.
    pub stat: Option<StatCache>,
}

impl CacheWrites {
    /// Adds another build's writes (a platform of a multi-platform build).
    pub fn extend(&mut self, other: CacheWrites) {
        self.records.extend(other.records);
        if other.stat.is_some() {
            self.stat = other.stat;
        }
    }
}

/// The cache of the store at `root`.
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    /// The stat cache, loaded at the first key.
    stat: Option<StatCache>,
    /// Entries of `--cache-from` caches, by key.
    remote: HashMap<Digest, RemoteEntry>,
}

impl Cache {
    /// The cache of the store whose root is `store`.
    pub fn of(store: &Path) -> Cache {
        Cache {
            dir: store.join("cache"),
            stat: None,
            remote: HashMap::new(),
        }
    }

    /// This cache, also knowing the entries of `--cache-from` caches.
    pub fn with_remote(mut self, entries: &[RemoteEntry]) -> Cache {
        let by_key = entries.iter().map(|r| (r.key.clone(), r.clone()));
        self.remote.extend(by_key);
        self
    }

    /// The entry of a `--cache-from` cache for `key`, if any.
    pub fn remote(&self, key: &Digest) -> Option<&RemoteEntry> {
        self.remote.get(key)
    }

    /// The entry stored for `key`, if any (an unreadable one is none).
    pub fn lookup(&self, key: &Digest) -> Option<Entry> {
        let bytes = fs::read(self.entry_path(key)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Whether the step whose inputs start with `head` can hit: an entry of
    /// the store or of a `--cache-from` cache was made by the same
    /// instruction over the same parent, with the same variables and layer
    /// options. When not, no content of its sources can make its key one
    /// the cache holds. A store whose entries predate the heads index (or
    /// whose index cannot be read) can always hit.
    pub fn may_hit(&self, head: &Inputs) -> bool {
        if self
            .remote
            .values()
            .any(|r| same_head(&r.entry.inputs, head))
        {
            return true;
        }
        let heads = self.dir.join("heads");
        match fs::symlink_metadata(heads.join(head_id(head).hex())) {
            Ok(_) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                !heads.is_dir() && has_entries(&self.dir)
            }
            Err(_) => true,
        }
    }

    /// The entry the last build of `step` made or used.
    pub fn previous(&self, step: &Digest) -> Option<Entry> {
        let text = fs::read_to_string(self.dir.join("steps").join(step.hex())).ok()?;
        let key: Digest = text.trim().parse().ok()?;
        self.lookup(&key)
    }

    /// The inputs of a layer written over `parent` for the instruction
    /// `instruction` naming the variables `args`, its sources not yet
    /// summed ([`Cache::with_sources`] adds them): what is known before
    /// any source is read.
    pub fn head(
        parent: &[Descriptor],
        instruction: &str,
        args: BTreeMap<String, String>,
        options: &LayerOptions,
    ) -> Inputs {
        Inputs {
            parent: parent_sum(parent),
            instruction: instruction.to_string(),
            args,
            layer_options: layer_options_sum(options),
            sources: Vec::new(),
        }
    }

    /// `head` with the sums of `sources`: the whole inputs of the layer.
    pub fn with_sources(&mut self, head: Inputs, sources: &[Source]) -> io::Result<Inputs> {
        let stat = self.stat();
        Ok(Inputs {
            sources: source_sums(sources, stat)?,
            ..head
        })
    }

    /// The `--cache-from` entry in a registry a step whose inputs start
    /// with `head` is likely to hit: one made by the same instruction over
    /// the same parent (the sources decide; the entry with the smallest
    /// key when there are several).
    pub fn likely_remote(&self, head: &Inputs) -> Option<&RemoteEntry> {
        let same = |r: &&RemoteEntry| {
            same_head(&r.entry.inputs, head)
                && matches!(r.from, crate::dest::Location::Registry { .. })
        };
        self.remote.values().filter(same).min_by_key(|r| &r.key)
    }

    /// Names the files `extracted` (path in the image, file written) from
    /// the merged `layers` of an image or stage, so that their digests are
    /// kept by where they come from.
    pub fn name_extracted(
        &mut self,
        layers: &[Descriptor],
        extracted: impl Iterator<Item = (String, PathBuf)>,
    ) {
        let chain = parent_sum(layers);
        let stat = self.stat();
        for (path, file) in extracted {
            stat.name_extracted(file, format!("{chain} {path}"));
        }
    }

    /// Says that each file (to be extracted on a miss) will hold the
    /// content of the digest beside it.
    pub fn plan_extracted(&mut self, files: impl Iterator<Item = (PathBuf, Digest)>) {
        let stat = self.stat();
        for (file, digest) in files {
            stat.plan_extracted(file, digest);
        }
    }

    /// The store this cache is in.
    pub fn store(&self) -> &Path {
        self.dir.parent().unwrap_or(&self.dir)
    }

    /// The stat cache, loaded at its first use.
    fn stat(&mut self) -> &mut StatCache {
        self.stat
            .get_or_insert_with(|| StatCache::load(&self.dir.join("stat.json")))
    }

    /// Bytes read to compute keys (files the stat cache did not know).
    pub fn bytes_read(&self) -> u64 {
        self.stat.as_ref().map_or(0, |s| s.read_bytes)
    }

    /// The writes for [`commit`]: `records`, and the stat cache when it
    /// learned something.
    pub fn writes(&mut self, records: Vec<Record>) -> CacheWrites {
        CacheWrites {
            records,
            stat: self.stat.take().filter(StatCache::changed).map(|mut s| {
                s.bound();
                s
            }),
        }
    }

    fn entry_path(&self, key: &Digest) -> PathBuf {
        self.dir.join("entries").join(format!("{}.json", key.hex()))
    }
}

/// Whether two keys' first inputs (all but the sources) are the same.
fn same_head(a: &Inputs, b: &Inputs) -> bool {
    (&a.parent, &a.instruction, &a.args, &a.layer_options)
        == (&b.parent, &b.instruction, &b.args, &b.layer_options)
}

/// What names the first inputs of a key (those [`same_head`] compares) in
/// `cache/heads`.
fn head_id(i: &Inputs) -> Digest {
    let head = serde_json::json!([i.parent, i.instruction, i.args, i.layer_options]);
    sha256(head.to_string().as_bytes())
}

/// Whether the cache at `dir` holds any entry.
fn has_entries(dir: &Path) -> bool {
    fs::read_dir(dir.join("entries")).is_ok_and(|mut d| d.next().is_some())
}

/// Notes `inputs`' head in the heads index. Written before the entry and
/// not synced: a head lost in a crash only costs the next build of such a
/// step the overlap of its key with its layer.
fn write_head(cache_dir: &Path, inputs: &Inputs) -> io::Result<()> {
    let heads = cache_dir.join("heads");
    if !heads.is_dir() {
        index_heads(cache_dir)?;
    }
    fs::write(heads.join(head_id(inputs).hex()), b"")
}

/// Makes `cache/heads` from the entries already stored (a store written
/// before the index existed), whole or not at all.
fn index_heads(cache_dir: &Path) -> io::Result<()> {
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-heads-")
        .tempdir_in(cache_dir)?;
    for inputs in stored_inputs(cache_dir)? {
        fs::write(tmp.path().join(head_id(&inputs).hex()), b"")?;
    }
    let tmp = tmp.keep();
    match fs::rename(&tmp, cache_dir.join("heads")) {
        // another build made it first
        Err(_) if cache_dir.join("heads").is_dir() => fs::remove_dir_all(&tmp),
        other => other,
    }
}

/// The inputs of every readable entry in the cache at `cache_dir`.
fn stored_inputs(cache_dir: &Path) -> io::Result<Vec<Inputs>> {
    let entries = match fs::read_dir(cache_dir.join("entries")) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        other => other?,
    };
    let mut all = Vec::new();
    for entry in entries {
        let bytes = fs::read(entry?.path()).unwrap_or_default();
        if let Ok(e) = serde_json::from_slice::<Entry>(&bytes) {
            all.push(e.inputs);
        }
    }
    Ok(all)
}

/// What the key sees of the layers below: their digests hashed, or
/// `scratch`.
pub fn parent_sum(parent: &[Descriptor]) -> String {
    match parent {
        [] => "scratch".to_string(),
        layers => {
            let list: Vec<String> = layers.iter().map(|l| l.digest.to_string()).collect();
            sha256(list.join("\n").as_bytes()).to_string()
        }
    }
}

/// What the key sees of how the layer is written.
pub fn layer_options_sum(options: &LayerOptions) -> String {
    format!("{:?} clamp {:?}", options.compression, options.clamp_mtime)
}

/// What the key sees of each of `sources` (contents known by their stamp
/// in `stat` are not read again).
pub fn source_sums(sources: &[Source], stat: &mut StatCache) -> io::Result<Vec<SourceSum>> {
    let mut read = context_digests(sources, stat)?;
    let sums = sources.iter().enumerate();
    sums.map(|(i, s)| source_sum(s, stat, read.remove(&i)))
        .collect()
}

/// The content digests of the context files among `sources`, by index:
/// known by their stamp, or read on every core (a fresh store's 400 MB
/// context is hashed by both cores of a small CI machine, not one). Each
/// file is opened once: its stamp is taken from the open descriptor, and
/// the same descriptor is read when the stamp is unknown.
fn context_digests(sources: &[Source], stat: &mut StatCache) -> io::Result<HashMap<usize, Digest>> {
    let todo: Vec<_> = sources
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Source::Entry(_, Data::Context(c)) => Some((i, c)),
            _ => None,
        })
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let known: &StatCache = stat;
    let read_some = || -> io::Result<Vec<_>> {
        let mut done = Vec::new();
        loop {
            let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some((i, c)) = todo.get(n) else {
                return Ok(done);
            };
            let mut file = c.open()?;
            let m = file.metadata()?;
            let read = match known.lookup(&m) {
                Some(d) => (d, None),
                None => {
                    let (digest, len) = stat::read_digest(&mut file)?;
                    (digest, Some(len))
                }
            };
            done.push((*i, m, read));
        }
    };
    let results: Vec<io::Result<Vec<_>>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (1..threads.min(todo.len()))
            .map(|_| scope.spawn(read_some))
            .collect();
        let mut all = vec![read_some()];
        for w in workers {
            all.push(
                w.join()
                    .unwrap_or_else(|_| Err(io::Error::other("a hashing thread panicked"))),
            );
        }
        all
    });
    let mut found = HashMap::new();
    for result in results {
        for (i, m, (digest, read)) in result? {
            match read {
                Some(len) => stat.learn(&m, digest.clone(), len),
                None => stat.mark_used(&m),
            }
            found.insert(i, digest);
        }
    }
    Ok(found)
}

/// What the key sees of one source.
/// (`read`: the content's digest, when already known).
fn source_sum(
    source: &Source,
    stat: &mut StatCache,
    read: Option<Digest>,
) -> io::Result<SourceSum> {
    match source {
        Source::Entry(e, data) => {
            let (kind, size) = match &e.kind {
                EntryKind::File { size } => ("file".to_string(), *size),
                EntryKind::Dir => ("dir".to_string(), 0),
                EntryKind::Symlink { target } => (format!("symlink -> {target}"), 0),
                EntryKind::Hardlink { target } => (format!("hardlink -> {target}"), 0),
                other => (format!("{other:?}"), 0),
            };
            let content = match data {
                Data::None => String::new(),
                Data::Bytes(b) => sha256(b).to_string(),
                Data::Path(p) => stat.extracted_digest(p)?.to_string(),
                Data::Context(c) => match read {
                    Some(d) => d.to_string(),
                    None => stat.digest(&mut c.open()?)?.to_string(),
                },
            };
            Ok(SourceSum {
                path: e.path.clone(),
                kind,
                size,
                mode: e.mode,
                owner: format!("{}:{}", e.uid, e.gid),
                xattrs: xattrs_sum(&e.xattrs),
                content,
            })
        }
        Source::Archive {
            file,
            dest_dir,
            chown,
            ..
        } => {
            // an archive's key is its sha256: read once, then known by its stamp
            let content = match file {
                FileRef::Context(c) => stat.digest(&mut c.open()?)?,
                FileRef::Path(p) => plain_digest(p)?,
            };
            Ok(SourceSum {
                path: dest_dir.clone(),
                kind: "archive".into(),
                size: 0,
                mode: 0,
                owner: chown.map_or("as in the archive".into(), |(u, g)| format!("{u}:{g}")),
                xattrs: String::new(),
                content: content.to_string(),
            })
        }
    }
}

/// The digest of a file of minibuild's own (extracted from another stage
/// or image: a fresh file each build, which the stat cache cannot know).
fn plain_digest(path: &Path) -> io::Result<Digest> {
    Ok(stat::read_digest(&mut fs::File::open(path)?)?.0)
}

fn xattrs_sum(xattrs: &[(String, Vec<u8>)]) -> String {
    if xattrs.is_empty() {
        return String::new();
    }
    let mut bytes = Vec::new();
    for (name, value) in xattrs {
        bytes.extend(name.as_bytes());
        bytes.push(0);
        bytes.extend(hex::encode(value).as_bytes());
        bytes.push(b'\n');
    }
    sha256(&bytes).to_string()
}

/// Writes the build's `records` into the cache of `store`, once their
/// blobs are there: a blob that is only in `layout` (an `oci:` output, a
/// scratch layout) is copied into the store first. Returns warnings (a
/// store that cannot be written keeps no cache; the build still stands).
pub fn commit(store: &Layout, layout: &Layout, writes: &CacheWrites) -> Vec<String> {
    // a build writing elsewhere makes no store just for its cache
    if store.root() != layout.root() && !store.root().join("oci-layout").is_file() {
        return Vec::new();
    }
    let cache = Cache::of(store.root());
    let mut warnings = Vec::new();
    // best effort: the stat cache only saves work
    if let Some(bytes) = writes
        .stat
        .as_ref()
        .and_then(|s| serde_json::to_vec(s).ok())
    {
        let _ = write_atomic(&cache.dir, "stat.json", &bytes);
    }
    for r in &writes.records {
        if let Err(e) = commit_one(&cache, store, layout, r) {
            warnings.push(format!("not caching layer {}: {e}", r.entry.layer.digest));
        }
    }
    warnings
}

fn commit_one(cache: &Cache, store: &Layout, layout: &Layout, r: &Record) -> io::Result<()> {
    let digest = &r.entry.layer.digest;
    let stored = if store.root() != layout.root() {
        store.copy_blob_from(layout, digest)
    } else {
        // a layer of a stage the image does not hold is still staged
        store.publish_blob(digest)
    };
    stored.map_err(|e| io::Error::other(e.to_string()))?;
    let path = cache.entry_path(&r.key);
    let touched = r.hit
        && fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(SystemTime::now()))
            .is_ok();
    if !touched {
        write_entry(cache, &r.key, &r.entry)?;
    }
    write_atomic(
        &cache.dir.join("steps"),
        r.step.hex(),
        r.key.to_string().as_bytes(),
    )
}

/// Writes the entry of `key` (its blob stored).
fn write_entry(cache: &Cache, key: &Digest, entry: &Entry) -> io::Result<()> {
    fs::create_dir_all(&cache.dir)?;
    write_head(&cache.dir, &entry.inputs)?;
    let bytes = serde_json::to_vec(entry).map_err(io::Error::other)?;
    let name = format!("{}.json", key.hex());
    write_atomic(&cache.dir.join("entries"), &name, &bytes)
}

/// Writes `dir/name` through a temporary file in `dir` and a rename.
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(dir.join(name)).map_err(|e| e.error)?;
    Ok(())
}

/// For `prune` (under the store's locks): removes the entries not used in
/// [`KEEP_DAYS`] days (all of them with `all`), and returns the blobs the
/// remaining ones need.
pub fn prune_entries(store: &Path, all: bool) -> io::Result<Vec<Digest>> {
    let dir = store.join("cache");
    if all {
        return match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(Vec::new()),
        };
    }
    let entries = match fs::read_dir(dir.join("entries")) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        other => other?,
    };
    let cutoff = SystemTime::now() - Duration::from_secs(KEEP_DAYS * 24 * 3600);
    let mut keep = Vec::new();
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let recent = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= cutoff);
        let parsed = fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Entry>(&b).ok());
        match parsed {
            Some(e) if recent => keep.push(e.layer.digest),
            _ => fs::remove_file(&path)?,
        }
    }
    // the heads of the removed entries go with them
    match fs::remove_dir_all(dir.join("heads")) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => index_heads(&dir)?,
    }
    Ok(keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(instruction: &str) -> Inputs {
        let mut i = Cache::head(&[], instruction, BTreeMap::new(), &LayerOptions::default());
        i.sources.push(SourceSum {
            path: "hello".into(),
            kind: "file".into(),
            size: 5,
            mode: 0o644,
            owner: "0:0".into(),
            xattrs: String::new(),
            content: sha256(b"hello").to_string(),
        });
        i
    }

    fn entry(inputs: Inputs) -> Entry {
        let digest = sha256(b"layer");
        Entry {
            layer: Descriptor::new("application/vnd.oci.image.layer.v1.tar", digest.clone(), 5),
            diff_id: digest,
            entries: 1,
            inputs,
        }
    }

    fn head(i: &Inputs) -> Inputs {
        Inputs {
            sources: Vec::new(),
            ..i.clone()
        }
    }

    #[test]
    fn a_step_may_hit_only_when_an_entry_has_its_head() {
        let store = tempfile::tempdir().unwrap();
        let cache = Cache::of(store.path());
        let copy = inputs("COPY hello /");
        assert!(!cache.may_hit(&head(&copy)), "an empty store holds nothing");
        write_entry(&cache, &copy.key(), &entry(copy.clone())).unwrap();
        assert!(cache.may_hit(&head(&copy)));
        // other content, same head: only the sources' digests can tell
        let mut changed = copy.clone();
        changed.sources[0].content = sha256(b"world").to_string();
        assert!(cache.may_hit(&head(&changed)));
        assert!(!cache.may_hit(&head(&inputs("COPY hello /srv/"))));
        let mut other_args = head(&copy);
        other_args.args.insert("V".into(), "1".into());
        assert!(!cache.may_hit(&other_args));
    }

    #[test]
    fn a_store_from_before_the_heads_index_may_always_hit_until_it_is_indexed() {
        let store = tempfile::tempdir().unwrap();
        let cache = Cache::of(store.path());
        let copy = inputs("COPY hello /");
        write_entry(&cache, &copy.key(), &entry(copy.clone())).unwrap();
        fs::remove_dir_all(store.path().join("cache/heads")).unwrap();
        let add = inputs("ADD hello /");
        assert!(cache.may_hit(&head(&add)), "an unindexed store cannot say");
        // the next entry written indexes the ones already there
        write_entry(&cache, &add.key(), &entry(add.clone())).unwrap();
        assert!(cache.may_hit(&head(&copy)));
        assert!(cache.may_hit(&head(&add)));
        assert!(!cache.may_hit(&head(&inputs("COPY other /"))));
    }

    #[test]
    fn pruning_an_entry_drops_its_head() {
        let store = tempfile::tempdir().unwrap();
        let cache = Cache::of(store.path());
        let (old, new) = (inputs("COPY old /"), inputs("COPY new /"));
        write_entry(&cache, &old.key(), &entry(old.clone())).unwrap();
        write_entry(&cache, &new.key(), &entry(new.clone())).unwrap();
        let path = cache.dir.join(format!("entries/{}.json", old.key().hex()));
        let long_ago = SystemTime::now() - Duration::from_secs((KEEP_DAYS + 1) * 24 * 3600);
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        prune_entries(store.path(), false).unwrap();
        assert!(!cache.may_hit(&head(&old)));
        assert!(cache.may_hit(&head(&new)));
    }

    #[test]
    fn a_cache_from_entry_with_the_head_may_hit() {
        let store = tempfile::tempdir().unwrap();
        let copy = inputs("COPY hello /");
        let remote = RemoteEntry {
            key: copy.key(),
            entry: entry(copy.clone()),
            from: crate::dest::Location::Oci {
                dir: store.path().join("elsewhere"),
                reference: None,
            },
        };
        let cache = Cache::of(store.path()).with_remote(&[remote]);
        assert!(cache.may_hit(&head(&copy)));
        assert!(!cache.may_hit(&head(&inputs("COPY hello /srv/"))));
    }
}
