//! The stat cache: (device, inode, size, mtime, ctime) → content digest,
//! kept in the store, so the files of an unchanged context are not read
//! again to compute a key (git and BuildKit's fsutil do the same). Any
//! change to a file changes its ctime, so a stale digest is never used.

use crate::digest::{Digest, HashingWriter};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The most files the stat cache keeps across builds (a few MB of JSON).
pub const MAX_FILES: usize = 200_000;

/// What a file was when its digest was computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    digest: Digest,
}

/// The stat cache of one store (loaded at the first use, saved by
/// [`super::Cache::commit`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StatCache {
    /// By `device:inode`.
    files: HashMap<String, Stamp>,
    #[serde(skip)]
    changed: bool,
    /// The files asked about since it was loaded.
    #[serde(skip)]
    used: std::collections::HashSet<String>,
    #[serde(skip)]
    pub(super) read_bytes: u64,
    /// Files of images and stages, by the layers they come from and their
    /// path there (`<layers digest> <path>`): their content is fixed by
    /// those layers, so an unchanged `COPY --from` is not hashed again.
    #[serde(default)]
    layer_files: HashMap<String, Digest>,
    /// The files extracted this build, each with its `layer_files` name.
    #[serde(skip)]
    extracted: HashMap<PathBuf, String>,
    /// The files whose extraction waits for a miss, each with the content
    /// digest its layer's table of contents gives.
    #[serde(skip)]
    planned: HashMap<PathBuf, Digest>,
}

impl StatCache {
    /// The cache stored at `path` (empty when missing or unreadable: it
    /// only saves work).
    pub fn load(path: &Path) -> StatCache {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// True when a digest was added since it was loaded.
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// Bounds the cache before it is saved: past [`MAX_FILES`] files, only
    /// the ones this build asked about stay.
    pub fn bound(&mut self) {
        if self.files.len() > MAX_FILES {
            let used = &self.used;
            self.files.retain(|id, _| used.contains(id));
        }
        if self.layer_files.len() > MAX_FILES {
            let used = &self.used;
            self.layer_files.retain(|id, _| used.contains(id));
        }
    }

    /// Names the file extracted to `file` for `COPY --from`: `id` says
    /// which layers and which path in them it comes from.
    pub fn name_extracted(&mut self, file: PathBuf, id: String) {
        self.extracted.insert(file, id);
    }

    /// Says that `file` will hold content whose digest is `digest` (from a
    /// layer's table of contents) once it is extracted, on a miss.
    pub fn plan_extracted(&mut self, file: PathBuf, digest: Digest) {
        self.planned.insert(file, digest);
    }

    /// The digest of a file of minibuild's own at `path` (extracted from
    /// another stage or image): planned, or known by where it came from
    /// when it was named by [`StatCache::name_extracted`], else read whole.
    pub fn extracted_digest(&mut self, path: &Path) -> io::Result<Digest> {
        if let Some(planned) = self.planned.get(path) {
            return Ok(planned.clone());
        }
        let id = self.extracted.get(path).cloned();
        if let Some(known) = id.as_ref().and_then(|id| self.layer_files.get(id)) {
            let known = known.clone();
            self.used.extend(id);
            return Ok(known);
        }
        let (digest, n) = read_digest(&mut File::open(path)?)?;
        self.read_bytes += n;
        if let Some(id) = id {
            self.layer_files.insert(id.clone(), digest.clone());
            self.used.insert(id);
            self.changed = true;
        }
        Ok(digest)
    }

    /// The digest of the open file `file`: from the cache when its stamp
    /// is unchanged, else read whole (and remembered).
    pub fn digest(&mut self, file: &mut File) -> io::Result<Digest> {
        let m = file.metadata()?;
        if let Some(known) = self.known(&m) {
            return Ok(known);
        }
        let (digest, n) = read_digest(file)?;
        self.learn(&m, digest.clone(), n);
        Ok(digest)
    }

    /// The digest the cache holds for a file whose metadata is `m`, when
    /// its stamp is unchanged (and the file is counted as used).
    pub fn known(&mut self, m: &Metadata) -> Option<Digest> {
        let found = self.lookup(m);
        self.mark_used(m);
        found
    }

    /// The digest the cache holds for a file whose metadata is `m`, when
    /// its stamp is unchanged; the file is not counted as used (for
    /// threads that share the cache: [`StatCache::mark_used`] after).
    pub fn lookup(&self, m: &Metadata) -> Option<Digest> {
        let found = self.files.get(&file_id(m));
        let found = found.filter(|k| **k == stamp(m, k.digest.clone()));
        found.map(|k| k.digest.clone())
    }

    /// Counts the file whose metadata is `m` as asked about this build
    /// (kept by [`StatCache::bound`]).
    pub fn mark_used(&mut self, m: &Metadata) {
        self.used.insert(file_id(m));
    }

    /// Remembers `digest` (`n` bytes read) for the file whose metadata is `m`.
    pub fn learn(&mut self, m: &Metadata, digest: Digest, n: u64) {
        let id = file_id(m);
        self.read_bytes += n;
        self.files.insert(id.clone(), stamp(m, digest));
        self.used.insert(id);
        self.changed = true;
    }
}

fn file_id(m: &Metadata) -> String {
    format!("{}:{}", m.dev(), m.ino())
}

fn stamp(m: &Metadata, digest: Digest) -> Stamp {
    Stamp {
        size: m.len(),
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
        digest,
    }
}

/// Reads `file` to its end: its digest and length.
pub fn read_digest(file: &mut File) -> io::Result<(Digest, u64)> {
    let mut hasher = HashingWriter::new(io::sink());
    crate::digest::copy(file, &mut hasher)?;
    let (_, digest, n) = hasher.finish();
    Ok((digest, n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256;
    use std::io::Write;

    #[test]
    fn an_extracted_file_is_known_by_its_layers_and_path_across_builds() {
        let dir = tempfile::tempdir().unwrap();
        let (one, two) = (dir.path().join("1"), dir.path().join("2"));
        std::fs::write(&one, b"bin").unwrap();
        let mut first = StatCache::default();
        first.name_extracted(one.clone(), "L usr/bin/x".into());
        let digest = first.extracted_digest(&one).unwrap();
        assert_eq!((digest.clone(), first.read_bytes), (sha256(b"bin"), 3));
        // the next build extracts the same file to another temporary
        let saved = serde_json::to_vec(&first).unwrap();
        let mut next: StatCache = serde_json::from_slice(&saved).unwrap();
        std::fs::write(&two, b"bin").unwrap();
        next.name_extracted(two.clone(), "L usr/bin/x".into());
        assert_eq!(next.extracted_digest(&two).unwrap(), digest);
        assert_eq!(next.read_bytes, 0);
        // other layers: read
        next.name_extracted(two.clone(), "M usr/bin/x".into());
        next.extracted_digest(&two).unwrap();
        assert_eq!(next.read_bytes, 3);
        // an unnamed file is always read
        next.extracted_digest(&one).unwrap();
        assert_eq!(next.read_bytes, 6);
    }

    #[test]
    fn a_file_is_read_again_only_when_it_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"one").unwrap();
        let mut cache = StatCache::default();
        let first = cache.digest(&mut File::open(&path).unwrap()).unwrap();
        assert_eq!(first, sha256(b"one"));
        let again = cache.digest(&mut File::open(&path).unwrap()).unwrap();
        assert_eq!((again, cache.read_bytes), (first.clone(), 3));
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"!").unwrap();
        let changed = cache.digest(&mut File::open(&path).unwrap()).unwrap();
        assert_eq!(changed, sha256(b"one!"));
    }
}
