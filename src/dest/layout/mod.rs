//! An OCI image layout on disk: `oci-layout`, `index.json`, `blobs/sha256/<hex>`.
//!
//! Every write goes to a temporary file inside the layout (same filesystem)
//! and is renamed into place, so a failed or killed write never damages what
//! is stored. `index.json` is only changed under an exclusive `flock` on a
//! lock file in the layout, re-read after the lock is taken.
//!
//! A writer whose blobs are not yet named in `index.json` holds
//! [`Layout::hold`] (a shared `flock` on a second lock file) until it has
//! tagged them; [`Layout::prune`] takes that lock exclusively first, so it
//! waits for such writers and never deletes their blobs.

mod blob;
mod lock;
mod names;

pub use blob::{BlobWriter, TempBlob};
pub use lock::HoldGuard;
pub use names::{ref_name, ImageName};

use super::error::DestError;
use super::graph::{self, children, image_blobs, BlobSource, Index};
use crate::digest::{sha256, Digest, HashingWriter};
use crate::oci::{canonical_json, Descriptor};
use lock::LockMode;
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

const TEMP_PREFIX: &str = ".tmp-";
const LOCK_FILE: &str = ".minibuild.lock";
const USERS_LOCK_FILE: &str = ".minibuild.users.lock";

/// An OCI image layout directory.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// Makes `root` a layout: creates `oci-layout`, an empty `index.json` and
    /// `blobs/sha256` where missing. An existing layout is kept as it is.
    pub fn create(root: &Path) -> Result<Layout, DestError> {
        let blobs = root.join("blobs").join("sha256");
        fs::create_dir_all(&blobs)
            .map_err(DestError::io(format!("creating {}", blobs.display())))?;
        let layout = Layout {
            root: root.to_path_buf(),
        };
        let marker = root.join("oci-layout");
        if !marker.exists() {
            layout.write_atomic(&marker, br#"{"imageLayoutVersion":"1.0.0"}"#, true)?;
        }
        let index = root.join("index.json");
        if !index.exists() {
            let bytes = canonical_json(&Index::empty())
                .map_err(DestError::json("serializing an empty index"))?;
            // Never clobber: another process may have tagged in between.
            layout.write_atomic(&index, &bytes, false)?;
        }
        Ok(layout)
    }

    /// Opens an existing layout.
    pub fn open(root: &Path) -> Result<Layout, DestError> {
        let not = |reason: &str| DestError::NotALayout {
            path: root.to_path_buf(),
            reason: reason.to_string(),
        };
        let marker = root.join("oci-layout");
        let text = fs::read(&marker).map_err(|e| not(&format!("reading oci-layout: {e}")))?;
        let value: serde_json::Value =
            serde_json::from_slice(&text).map_err(|e| not(&format!("parsing oci-layout: {e}")))?;
        if value.get("imageLayoutVersion").is_none() {
            return Err(not("oci-layout has no imageLayoutVersion"));
        }
        if !root.join("index.json").is_file() {
            return Err(not("index.json is missing"));
        }
        Ok(Layout {
            root: root.to_path_buf(),
        })
    }

    /// The layout's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob `digest` lives (whether or not it exists).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().name())
            .join(digest.hex())
    }

    /// True when the blob `digest` is stored.
    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// A writer for a new blob whose digest is not known yet or comes from
    /// elsewhere (a registry, another layout): it hashes what it is given
    /// and checks it at [`BlobWriter::commit`]. A temporary file inside the
    /// layout, removed on drop unless committed.
    pub fn new_blob(&self) -> Result<BlobWriter, DestError> {
        Ok(BlobWriter::new(HashingWriter::new(self.new_temp_blob()?)))
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
            let path = self.blob_path(&digest);
            self.write_atomic(&path, bytes, true)?;
        }
        Ok(digest)
    }

    /// Reads a (small) blob whole and checks it against its digest.
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, DestError> {
        let path = self.blob_path(digest);
        let bytes =
            fs::read(&path).map_err(DestError::io(format!("reading blob {}", path.display())))?;
        let actual = sha256(&bytes);
        if actual != *digest {
            return Err(DestError::DigestMismatch {
                what: format!("reading blob {}", path.display()),
                expected: digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Opens a blob for streaming (not verified: the reader should hash).
    pub fn open_blob(&self, digest: &Digest) -> Result<File, DestError> {
        let path = self.blob_path(digest);
        File::open(&path).map_err(DestError::io(format!("opening blob {}", path.display())))
    }

    /// Reads and parses a JSON blob (verified against its digest).
    pub fn read_json<T: DeserializeOwned>(&self, digest: &Digest) -> Result<T, DestError> {
        graph::read_json(self, digest)
    }

    /// Copies one blob from `other`: a hard link when both are on the same
    /// filesystem, else a verified copy. Skipped when already present.
    pub fn copy_blob_from(&self, other: &Layout, digest: &Digest) -> Result<(), DestError> {
        if self.has_blob(digest) {
            return Ok(());
        }
        let from = other.blob_path(digest);
        let what = || format!("copying blob {digest} from {}", other.root.display());
        // never follow a symlinked blob (it could name any file of the
        // host), and never hard-link: a later edit of the source layout
        // must not change this one. The copy is hashed on its way and
        // committed only if it is the blob its name says.
        let mut src = {
            use std::os::unix::fs::OpenOptionsExt;
            fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&from)
                .map_err(|e| DestError::Io {
                    what: what(),
                    source: match e.raw_os_error() {
                        Some(libc::ELOOP) => io::Error::new(
                            io::ErrorKind::InvalidData,
                            "the blob is a symbolic link",
                        ),
                        _ => e,
                    },
                })?
        };
        if !src.metadata().map_err(DestError::io(what()))?.is_file() {
            return Err(DestError::Io {
                what: what(),
                source: io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the blob is not a regular file",
                ),
            });
        }
        let mut writer = self.new_blob()?;
        io::copy(&mut src, &mut writer).map_err(DestError::io(what()))?;
        writer.commit(digest)
    }

    /// Copies an image (manifest, config, layers; for an index, every image
    /// it lists) from `other`. Referenced blobs are copied before the blob
    /// that references them, so a present manifest always has its blobs.
    pub fn copy_image_from(&self, other: &Layout, manifest: &Descriptor) -> Result<(), DestError> {
        for desc in image_blobs(other, manifest)? {
            self.copy_blob_from(other, &desc.digest)?;
        }
        Ok(())
    }

    /// Reads `index.json`.
    pub fn index(&self) -> Result<Index, DestError> {
        let path = self.root.join("index.json");
        let bytes =
            fs::read(&path).map_err(DestError::io(format!("reading {}", path.display())))?;
        serde_json::from_slice(&bytes)
            .map_err(DestError::json(format!("parsing {}", path.display())))
    }

    /// Under the lock, removes every blob no index entry reaches, and
    /// temporary files and directories older than an hour. Returns (blobs, bytes) removed.
    ///
    /// Blobs a writer has stored but not yet tagged are unreachable too, so
    /// prune first waits for every writer holding [`Layout::hold`].
    pub fn prune(&self) -> Result<(u64, u64), DestError> {
        // first the writers' lock (the order every writer takes them in)
        let _users = self.flock(USERS_LOCK_FILE, LockMode::Exclusive)?;
        let _lock = self.lock()?;
        let index = self.index()?;
        let mut keep = BTreeSet::new();
        for entry in &index.manifests {
            self.mark(entry, &mut keep)?;
        }
        let dir = self.root.join("blobs").join("sha256");
        let (mut count, mut bytes) = (0u64, 0u64);
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
            count += 1;
            bytes += size;
        }
        let hour = Duration::from_secs(3600);
        let entries = fs::read_dir(&self.root)
            .map_err(DestError::io(format!("listing {}", self.root.display())))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with(TEMP_PREFIX) {
                continue;
            }
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > hour);
            if old {
                // Files from killed blob writes, directories from killed archive reads.
                let path = entry.path();
                let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
                let removed = if is_dir {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
                removed.map_err(DestError::io(format!("removing {}", path.display())))?;
            }
        }
        Ok((count, bytes))
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

    fn temp_file(&self) -> Result<tempfile::NamedTempFile, DestError> {
        // 0666 less the umask, as for any file a tool writes: a layout
        // (index.json, blobs) must be readable by others that run it
        tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .permissions(file_permissions())
            .tempfile_in(&self.root)
            .map_err(DestError::io(format!(
                "creating a temporary file in {}",
                self.root.display()
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
