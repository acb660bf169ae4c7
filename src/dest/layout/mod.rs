//! An OCI image layout on disk: `oci-layout`, `index.json`, `blobs/sha256/<hex>`.
//!
//! Every write goes to a temporary file in the handle's work directory
//! inside the layout (same filesystem, held by a lock while the handle
//! lives: see [`super::scratch`]) and is renamed into place, so a failed
//! or killed write never damages what is stored. `index.json` is only
//! changed under an exclusive `flock` on a lock file in the layout,
//! re-read after the lock is taken.
//!
//! A [staging](Layout::staging) handle keeps the blobs it writes in its
//! work directory until [`Layout::publish`]: a build that fails leaves
//! nothing in the layout, and a layout it would have created is not made.
//!
//! A writer whose blobs are not yet named in `index.json` holds
//! [`Layout::hold`] (a shared `flock` on a second lock file) until it has
//! tagged them; [`Layout::prune`] takes that lock exclusively first, so it
//! waits for such writers and never deletes their blobs.

mod blob;
mod files;
mod lock;
mod names;

pub use blob::{BlobReader, BlobWriter, TempBlob};
pub use lock::HoldGuard;
pub use names::{ref_name, resolve_in, ImageName};

/// From this size on a blob is hashed on a thread of its own as it is
/// written ([`Layout::new_blob_for`]).
pub const LARGE_BLOB: u64 = 4 << 20;

use super::error::DestError;
use super::graph::{self, children, image_blobs, BlobSource, Index};
use super::scratch::{self, ScratchDir, Swept};
use crate::digest::{sha256, Digest, HashingWriter};
use crate::oci::{canonical_json, Descriptor};
use files::{open_regular, read_regular, State, LAYOUT_VERSION};
use lock::LockMode;
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;
use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const TEMP_PREFIX: &str = ".tmp-";
const LOCK_FILE: &str = ".minibuild.lock";
const USERS_LOCK_FILE: &str = ".minibuild.users.lock";

/// An OCI image layout directory (or one to be made at the first write).
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
    /// New blobs stay in the work directory until [`Layout::publish`].
    staged: bool,
    shared: Arc<Shared>,
}

/// What the clones of one handle share.
#[derive(Debug, Default)]
struct Shared {
    /// Where this handle's temporary files (and staged blobs) go; made at
    /// the first write, removed when the last clone drops.
    work: Mutex<Option<Arc<ScratchDir>>>,
    /// The layout's files are known to be there.
    exists: AtomicBool,
}

/// What [`Layout::prune`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Blobs no name reaches.
    pub blobs: u64,
    /// Their bytes.
    pub blob_bytes: u64,
    /// Temporary files and directories of killed writers.
    pub temporaries: Swept,
}

impl Layout {
    /// A handle on the layout at `root`, which need not exist: nothing is
    /// read or written until asked, a missing layout reads as empty, and
    /// it is made at the first write.
    pub fn at(root: &Path) -> Layout {
        Layout {
            root: root.to_path_buf(),
            staged: false,
            shared: Arc::default(),
        }
    }

    /// Like [`Layout::at`], but the blobs written through this handle (and
    /// its clones) stay in its work directory, readable through it, until
    /// [`Layout::publish`] moves them in; dropped unpublished, they are
    /// gone, and so is a layout directory made only to hold them.
    pub fn staging(root: &Path) -> Layout {
        Layout {
            staged: true,
            ..Layout::at(root)
        }
    }

    /// Makes `root` a layout: creates `oci-layout`, an empty `index.json` and
    /// `blobs/sha256` where missing. An existing layout is kept as it is.
    pub fn create(root: &Path) -> Result<Layout, DestError> {
        let layout = Layout::at(root);
        layout.ensure_created()?;
        Ok(layout)
    }

    /// Opens an existing layout.
    pub fn open(root: &Path) -> Result<Layout, DestError> {
        let layout = Layout::at(root);
        match layout.state()? {
            State::Present => Ok(layout),
            State::Absent => Err(DestError::NotALayout {
                path: root.to_path_buf(),
                reason: format!("{} is missing", root.join("oci-layout").display()),
            }),
        }
    }

    /// Makes the layout's files where they are missing (refusing a
    /// directory that is another kind of layout).
    pub fn ensure_created(&self) -> Result<(), DestError> {
        if self.shared.exists.load(Ordering::Acquire) {
            return Ok(());
        }
        if self.state()? == State::Absent {
            let blobs = self.root.join("blobs").join("sha256");
            fs::create_dir_all(&blobs)
                .map_err(DestError::io(format!("creating {}", blobs.display())))?;
            let marker = format!(r#"{{"imageLayoutVersion":"{LAYOUT_VERSION}"}}"#);
            self.write_atomic(&self.root.join("oci-layout"), marker.as_bytes(), false)?;
            let index = self.root.join("index.json");
            let bytes = canonical_json(&Index::empty())
                .map_err(DestError::json("serializing an empty index"))?;
            // Never clobber: another process may have tagged in between.
            self.write_atomic(&index, &bytes, false)?;
        }
        let blobs = self.root.join("blobs").join("sha256");
        fs::create_dir_all(&blobs)
            .map_err(DestError::io(format!("creating {}", blobs.display())))?;
        self.shared.exists.store(true, Ordering::Release);
        Ok(())
    }

    /// The layout's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob `digest` is: among the staged blobs, else in
    /// `blobs/sha256` (whether or not it exists).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        if let Some(staged) = self.staged_path(digest) {
            if fs::symlink_metadata(&staged).is_ok() {
                return staged;
            }
        }
        self.stored_path(digest)
    }

    /// The blob's path in `blobs/`.
    fn stored_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().name())
            .join(digest.hex())
    }

    /// The blob's path among the staged blobs (a staging handle whose work
    /// directory exists).
    fn staged_path(&self, digest: &Digest) -> Option<PathBuf> {
        if !self.staged {
            return None;
        }
        let work = self.shared.work.lock().unwrap_or_else(|p| p.into_inner());
        work.as_ref()
            .map(|w| w.path().join("blobs").join(digest.hex()))
    }

    /// True when the blob `digest` is stored (as a regular file: a
    /// symbolic link is no blob).
    pub fn has_blob(&self, digest: &Digest) -> bool {
        fs::symlink_metadata(self.blob_path(digest)).is_ok_and(|m| m.is_file())
    }

    /// A writer for a new blob whose digest is not known yet or comes from
    /// elsewhere (a registry, another layout): it hashes what it is given
    /// and checks it at [`BlobWriter::commit`]. A temporary file inside the
    /// layout, removed on drop unless committed.
    pub fn new_blob(&self) -> Result<BlobWriter, DestError> {
        Ok(BlobWriter::new(HashingWriter::new(self.new_temp_blob()?)))
    }

    /// [`Layout::new_blob`] for a blob of many MB: hashed on a thread of
    /// its own, beside the one that writes it.
    pub fn new_large_blob(&self) -> Result<BlobWriter, DestError> {
        Ok(BlobWriter::new(HashingWriter::aside(self.new_temp_blob()?)))
    }

    /// A new blob for `size` bytes: [`Layout::new_large_blob`] from
    /// [`LARGE_BLOB`] bytes on (below, a hashing thread costs more than it
    /// saves), else [`Layout::new_blob`].
    pub fn new_blob_for(&self, size: u64) -> Result<BlobWriter, DestError> {
        if size >= LARGE_BLOB {
            self.new_large_blob()
        } else {
            self.new_blob()
        }
    }

    /// A plain temporary file for a blob whose writer hashes the bytes on
    /// their way in, as the layer writer does (so they are not hashed
    /// twice); removed on drop unless committed under that digest.
    pub fn new_temp_blob(&self) -> Result<TempBlob, DestError> {
        Ok(TempBlob::new(
            BufWriter::new(self.temp_file()?),
            self.clone(),
        ))
    }

    /// Stores `bytes` as a blob (skipped when already present); returns its digest.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<Digest, DestError> {
        let digest = sha256(bytes);
        if !self.has_blob(&digest) {
            let path = self.commit_path(&digest)?;
            self.write_atomic(&path, bytes, true)?;
        }
        Ok(digest)
    }

    /// Where a new blob is renamed to: the staged blobs of a staging
    /// handle, else `blobs/sha256` (the layout made first when missing).
    fn commit_path(&self, digest: &Digest) -> Result<PathBuf, DestError> {
        if !self.staged {
            self.ensure_created()?;
            return Ok(self.stored_path(digest));
        }
        let dir = self.work()?.path().join("blobs");
        fs::create_dir_all(&dir).map_err(DestError::io(format!("creating {}", dir.display())))?;
        Ok(dir.join(digest.hex()))
    }

    /// Moves the blob `digest` in from the staged blobs (when staged here),
    /// and checks that it is stored.
    pub fn publish_blob(&self, digest: &Digest) -> Result<(), DestError> {
        if let Some(staged) = self.staged_path(digest) {
            if fs::symlink_metadata(&staged).is_ok() {
                self.ensure_created()?;
                let to = self.stored_path(digest);
                fs::rename(&staged, &to).map_err(DestError::io(format!(
                    "moving a new blob to {}",
                    to.display()
                )))?;
            }
        }
        if fs::symlink_metadata(self.stored_path(digest)).is_ok_and(|m| m.is_file()) {
            Ok(())
        } else {
            Err(DestError::invalid(
                format!("storing blob {digest}"),
                "it is missing",
            ))
        }
    }

    /// Reads a (small) blob whole and checks it against its digest.
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, DestError> {
        let path = self.blob_path(digest);
        let what = || format!("reading blob {digest} ({})", path.display());
        let mut bytes = Vec::new();
        open_regular(&path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(DestError::io(what()))?;
        let actual = sha256(&bytes);
        if actual != *digest {
            return Err(DestError::DigestMismatch {
                what: what(),
                expected: digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Opens a blob for streaming: a regular file (never a symbolic link,
    /// a fifo or a device), hashed as it is read, whose reader fails, naming
    /// the blob, when its bytes turn out not to be the ones its name says.
    pub fn open_blob(&self, digest: &Digest) -> Result<BlobReader, DestError> {
        let path = self.blob_path(digest);
        let what = format!("opening blob {digest} ({})", path.display());
        let file = open_regular(&path).map_err(DestError::io(what))?;
        BlobReader::new(file, digest.clone(), path)
    }

    /// Reads and parses a JSON blob (verified against its digest).
    pub fn read_json<T: DeserializeOwned>(&self, digest: &Digest) -> Result<T, DestError> {
        graph::read_json(self, digest)
    }

    /// Copies one blob from `other`, verified on its way (never a hard link:
    /// a later edit of the source layout must not change this one, and
    /// never through a symbolic link). Skipped when already present.
    pub fn copy_blob_from(
        &self,
        other: &(impl BlobSource + ?Sized),
        digest: &Digest,
    ) -> Result<(), DestError> {
        if self.has_blob(digest) {
            return Ok(());
        }
        let what = || format!("copying blob {digest}");
        let mut src = other.open_blob(digest)?;
        // the reader checks the digest: the copy needs no second hash
        let mut blob = self.new_temp_blob()?;
        crate::digest::copy(&mut src, &mut blob).map_err(DestError::io(what()))?;
        blob.commit(digest)
    }

    /// Copies an image (manifest, config, layers; for an index, every image
    /// it lists) from `other`. Referenced blobs are copied before the blob
    /// that references them, so a present manifest always has its blobs.
    pub fn copy_image_from(
        &self,
        other: &(impl BlobSource + ?Sized),
        manifest: &Descriptor,
    ) -> Result<(), DestError> {
        for desc in image_blobs(other, manifest)? {
            self.copy_blob_from(other, &desc.digest)?;
        }
        Ok(())
    }

    /// Reads `index.json` (a layout not made yet has an empty one).
    pub fn index(&self) -> Result<Index, DestError> {
        if self.state()? == State::Absent {
            return Ok(Index::empty());
        }
        let path = self.root.join("index.json");
        let bytes = read_regular(&path)?;
        serde_json::from_slice(&bytes)
            .map_err(DestError::json(format!("parsing {}", path.display())))
    }

    /// Moves the staged blobs `manifest` reaches into `blobs/sha256` (the
    /// layout made first when missing; referenced blobs before the blob
    /// that references them), then checks that every one of them is there,
    /// so the caller can name it. Make the layout
    /// ([`Layout::ensure_created`]) and hold it ([`Layout::hold`]) before
    /// this, until the image is named. Other staged blobs stay staged.
    pub fn publish(&self, manifest: &Descriptor) -> Result<(), DestError> {
        self.ensure_created()?;
        let blobs = image_blobs(self, manifest)?;
        for desc in &blobs {
            let Some(staged) = self.staged_path(&desc.digest) else {
                break; // nothing is staged here
            };
            if fs::symlink_metadata(&staged).is_err() {
                continue;
            }
            let to = self.stored_path(&desc.digest);
            fs::rename(&staged, &to).map_err(DestError::io(format!(
                "moving a new blob to {}",
                to.display()
            )))?;
        }
        for desc in blobs {
            let path = self.stored_path(&desc.digest);
            if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
                return Err(DestError::invalid(
                    format!(
                        "publishing image {} in {}",
                        manifest.digest,
                        self.root.display()
                    ),
                    format!(
                        "blob {} is missing (pruned while the build ran?)",
                        desc.digest
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Under the lock, removes every blob no index entry reaches, and the
    /// temporary files and directories of writers that were killed (none
    /// that a living writer holds).
    ///
    /// Blobs a writer has stored but not yet tagged are unreachable too, so
    /// prune first waits for every writer holding [`Layout::hold`].
    pub fn prune(&self) -> Result<Pruned, DestError> {
        self.prune_with_cache(false)
    }

    /// [`Layout::prune`], which also keeps the blobs of the build cache's
    /// recent entries (removing the old ones), or, with `drop_cache`,
    /// removes the whole cache first.
    pub fn prune_with_cache(&self, drop_cache: bool) -> Result<Pruned, DestError> {
        // first the writers' lock (the order every writer takes them in)
        let _users = self.flock(USERS_LOCK_FILE, LockMode::Exclusive)?;
        let _lock = self.lock()?;
        let mut index = self.index()?;
        let mut keep = BTreeSet::new();
        let (artifacts, images): (Vec<_>, Vec<_>) = index
            .manifests
            .iter()
            .cloned()
            .partition(|d| d.artifact_type.is_some());
        for entry in &images {
            self.mark(entry, &mut keep)?;
        }
        // an SBOM or provenance stays while the image it is about stays
        let mut kept = images;
        for a in artifacts {
            match super::referrers::subject_of(self, &a).ok().flatten() {
                Some(subject) if !keep.contains(&subject) => {}
                _ => {
                    self.mark(&a, &mut keep)?;
                    kept.push(a);
                }
            }
        }
        if kept.len() != index.manifests.len() {
            index.manifests = kept;
            self.write_index(&index)?;
        }
        let cached = crate::cache::prune_entries(&self.root, drop_cache).map_err(DestError::io(
            format!("pruning the build cache in {}", self.root.display()),
        ))?;
        keep.extend(cached);
        let dir = self.root.join("blobs").join("sha256");
        let mut pruned = Pruned::default();
        let entries =
            fs::read_dir(&dir).map_err(DestError::io(format!("listing {}", dir.display())))?;
        for entry in entries {
            let entry = entry.map_err(DestError::io(format!("listing {}", dir.display())))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // a file whose name is no digest is no blob anything reaches
            let reached = format!("sha256:{name}")
                .parse::<Digest>()
                .is_ok_and(|d| keep.contains(&d));
            if reached {
                continue;
            }
            let path = entry.path();
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            fs::remove_file(&path)
                .map_err(DestError::io(format!("removing {}", path.display())))?;
            pruned.blobs += 1;
            pruned.blob_bytes += size;
        }
        crate::cache::toc::prune(&self.root, |d| self.has_blob(d)).map_err(DestError::io(
            format!(
                "pruning layer tables of contents in {}",
                self.root.display()
            ),
        ))?;
        // no writer holds the layout now: whatever temporary is not locked
        // by its owner was left by a killed one
        pruned.temporaries = scratch::sweep(&self.root, TEMP_PREFIX, true).map_err(
            DestError::io(format!("removing temporaries in {}", self.root.display())),
        )?;
        Ok(pruned)
    }

    /// Removes the temporaries of killed writers from the layout at once:
    /// work directories nobody holds, and, when no writer holds the layout
    /// at all, every other temporary. For a build to call before it starts;
    /// a layout that is not there or not writable is left alone.
    pub fn sweep_temporaries(&self) -> Swept {
        if self.state().ok() != Some(State::Present) {
            return Swept::default();
        }
        let alone = self.try_flock_exclusive(USERS_LOCK_FILE);
        scratch::sweep(&self.root, TEMP_PREFIX, alone.is_some()).unwrap_or_default()
    }

    /// Adds to `keep` every blob digest `desc` reaches (missing blobs are skipped).
    fn mark(&self, desc: &Descriptor, keep: &mut BTreeSet<Digest>) -> Result<(), DestError> {
        if !keep.insert(desc.digest.clone()) || !self.has_blob(&desc.digest) {
            return Ok(());
        }
        for child in children(self, desc)? {
            self.mark(&child, keep)?;
        }
        Ok(())
    }

    fn write_index(&self, index: &Index) -> Result<(), DestError> {
        let bytes = canonical_json(index).map_err(DestError::json("serializing index.json"))?;
        self.write_atomic(&self.root.join("index.json"), &bytes, true)
    }

    /// This handle's work directory (made at the first call; with the
    /// layout's directory when that is missing).
    fn work(&self) -> Result<Arc<ScratchDir>, DestError> {
        let mut work = self.shared.work.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = work.as_ref() {
            return Ok(w.clone());
        }
        let made = ScratchDir::new_in(&self.root, true).map_err(DestError::io(format!(
            "creating a work directory in {}",
            self.root.display()
        )))?;
        let made = Arc::new(made);
        *work = Some(made.clone());
        Ok(made)
    }

    fn temp_file(&self) -> Result<tempfile::NamedTempFile, DestError> {
        // 0666 less the umask, as for any file a tool writes: a layout
        // (index.json, blobs) must be readable by others that run it
        let work = self.work()?;
        tempfile::Builder::new()
            .prefix("tmp-")
            .permissions(file_permissions())
            .tempfile_in(work.path())
            .map_err(DestError::io(format!(
                "creating a temporary file in {}",
                work.path().display()
            )))
    }

    /// Writes `bytes` to `path` through a temporary file and a rename.
    fn write_atomic(&self, path: &Path, bytes: &[u8], clobber: bool) -> Result<(), DestError> {
        let what = format!("writing {}", path.display());
        let mut tmp = self.temp_file()?;
        tmp.write_all(bytes).map_err(DestError::io(what.clone()))?;
        tmp.as_file()
            .sync_all()
            .map_err(DestError::io(what.clone()))?;
        let result = if clobber {
            tmp.persist(path).map(|_| ())
        } else {
            tmp.persist_noclobber(path).map(|_| ())
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) if !clobber && e.error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(DestError::Io {
                what,
                source: e.error,
            }),
        }
    }
}

impl BlobSource for Layout {
    fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, DestError> {
        Layout::read_blob(self, digest)
    }

    fn open_blob(&self, digest: &Digest) -> Result<BlobReader, DestError> {
        Layout::open_blob(self, digest)
    }
}

/// The mode new layout files and archives are created with (`0666`, less
/// the umask, as `open(2)` applies it), instead of a temporary file's `0600`.
pub(crate) fn file_permissions() -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    fs::Permissions::from_mode(0o666)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_is_idempotent_and_open_checks() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Layout::open(dir.path()).is_err());
        let l = Layout::create(dir.path()).unwrap();
        let d = l.put_blob(b"hello").unwrap();
        l.tag(
            &Descriptor::new("application/octet-stream", d.clone(), 5),
            &"x".into(),
        )
        .unwrap();
        let l = Layout::create(dir.path()).unwrap();
        assert_eq!(l.index().unwrap().manifests.len(), 1);
        Layout::open(dir.path()).unwrap();
    }

    #[test]
    fn files_get_the_umask_mode_not_0600() {
        use std::os::unix::fs::PermissionsExt;
        let status = fs::read_to_string("/proc/self/status").unwrap();
        let umask = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .map(|v| u32::from_str_radix(v.trim(), 8).unwrap())
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let l = Layout::create(dir.path()).unwrap();
        let d = l.put_blob(b"shared").unwrap();
        let mut w = l.new_blob().unwrap();
        w.write_all(b"streamed").unwrap();
        let (streamed, _) = w.commit_any().unwrap();
        for p in [
            dir.path().join("index.json"),
            dir.path().join("oci-layout"),
            l.blob_path(&d),
            l.blob_path(&streamed),
        ] {
            let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o666 & !umask, "{}", p.display());
        }
    }

    #[test]
    fn an_index_naming_a_bad_digest_is_refused_when_read() {
        // the check that keeps blob paths inside blobs/sha256 is the parse
        let dir = tempfile::tempdir().unwrap();
        let l = Layout::create(dir.path()).unwrap();
        let entry = r#"{"mediaType":"application/octet-stream","digest":"sha256:../../etc/passwd","size":1}"#;
        let index = format!(r#"{{"schemaVersion":2,"manifests":[{entry}]}}"#);
        fs::write(dir.path().join("index.json"), index).unwrap();
        let err = l.index().unwrap_err();
        let text = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(
            text.contains("invalid digest \"sha256:../../etc/passwd\""),
            "{text}"
        );
    }
}
