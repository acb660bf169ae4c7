//! Blobs on their way into a layout (written to a temporary file inside
//! it, then renamed to `blobs/sha256/<hex>` once their digest is known),
//! and out of it (hashed as they stream, checked at their end).

use super::{DestError, Layout};
use crate::digest::{Digest, HashingReader, HashingWriter};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;

/// A new blob being written and hashed; see [`Layout::new_blob`].
pub struct BlobWriter {
    inner: HashingWriter<TempBlob>,
}

impl BlobWriter {
    pub(super) fn new(inner: HashingWriter<TempBlob>) -> BlobWriter {
        BlobWriter { inner }
    }

    /// Checks that what was written hashes to `digest`, then renames it to
    /// `blobs/sha256/<hex>` (kept as is when that blob already exists).
    pub fn commit(self, digest: &Digest) -> Result<(), DestError> {
        let (blob, written, _) = self.inner.finish();
        if written != *digest {
            return Err(DestError::DigestMismatch {
                what: "committing a new blob".to_string(),
                expected: digest.clone(),
                actual: written,
            });
        }
        blob.commit(&written)
    }

    /// Commits under whatever digest was written; returns it and the size.
    pub fn commit_any(self) -> Result<(Digest, u64), DestError> {
        let (blob, digest, size) = self.inner.finish();
        blob.commit(&digest)?;
        Ok((digest, size))
    }
}

/// A blob's temporary file in a layout; see [`Layout::new_temp_blob`].
pub struct TempBlob {
    file: BufWriter<tempfile::NamedTempFile>,
    layout: Layout,
    /// Bytes written since the disk was last asked to catch up.
    unsynced: u64,
    /// Writes the file back to disk while it is still being written.
    syncer: Option<Syncer>,
}

/// How many bytes a blob's file gathers before a thread beside the writer
/// syncs what it holds, so the `fsync` at the commit waits for the last
/// few MB instead of the whole blob (a 421 MB layer's took 0.19 s).
const SYNC_EVERY: u64 = 8 << 20;

/// A thread that syncs a blob's file each time it is asked to.
struct Syncer {
    ask: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Syncer {
    fn start(file: std::fs::File) -> Syncer {
        let (ask, asked) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::spawn(move || {
            for () in asked {
                // only an early start: the commit's own sync reports errors
                let _ = file.sync_data();
            }
        });
        Syncer {
            ask: Some(ask),
            thread: Some(thread),
        }
    }

    /// Asks for a sync, unless one is still waiting to start.
    fn nudge(&self) {
        if let Some(ask) = &self.ask {
            let _ = ask.try_send(());
        }
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.ask = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl TempBlob {
    pub(super) fn new(file: BufWriter<tempfile::NamedTempFile>, layout: Layout) -> TempBlob {
        TempBlob {
            file,
            layout,
            unsynced: 0,
            syncer: None,
        }
    }

    /// Past every [`SYNC_EVERY`] bytes, has the syncer thread (started for
    /// the first such blob) write back what the file holds.
    fn sync_early(&mut self, n: usize) {
        self.unsynced += n as u64;
        if self.unsynced < SYNC_EVERY {
            return;
        }
        self.unsynced = 0;
        if self.syncer.is_none() {
            match self.file.get_ref().as_file().try_clone() {
                Ok(file) => self.syncer = Some(Syncer::start(file)),
                Err(_) => return,
            }
        }
        if let Some(syncer) = &self.syncer {
            syncer.nudge();
        }
    }

    /// Syncs the file and renames it to `blobs/sha256/<hex of digest>`
    /// (kept as is when that blob already exists). The caller vouches for
    /// `digest`: it hashed what it wrote.
    pub fn commit(self, digest: &Digest) -> Result<(), DestError> {
        let what = format!("writing a blob into {}", self.layout.root.display());
        let tmp = self
            .file
            .into_inner()
            .map_err(|e| DestError::io(what.clone())(e.into_error()))?;
        drop(self.syncer);
        tmp.as_file().sync_all().map_err(DestError::io(what))?;
        if self.layout.has_blob(digest) {
            return Ok(());
        }
        let path = self.layout.commit_path(digest)?;
        tmp.persist(&path).map(|_| ()).map_err(|e| DestError::Io {
            what: format!("renaming a new blob to {}", path.display()),
            source: e.error,
        })
    }
}

/// A stored blob being read (see [`Layout::open_blob`]): hashed as it is
/// read; its end is only reported when the bytes read are the blob its name
/// says, so a stream of it (an archive being written, an upload) fails
/// instead of carrying bytes that changed in the store.
pub struct BlobReader {
    inner: Option<HashingReader<Box<dyn Read + Send>>>,
    digest: Digest,
    /// Where it is read from, for errors (a file, an archive's member).
    place: String,
    /// What a mismatch means there.
    why: &'static str,
    len: u64,
    read: u64,
}

impl BlobReader {
    pub(super) fn new(file: File, digest: Digest, path: PathBuf) -> Result<BlobReader, DestError> {
        let len = file
            .metadata()
            .map_err(DestError::io(format!("opening blob {}", path.display())))?
            .len();
        let place = path.display().to_string();
        // a stored blob is read through whatever buffer its reader brings
        // (io::copy's is 8 KiB): one read(2) per MiB instead, for every
        // verify, save, push and FROM of it
        let file = io::BufReader::with_capacity(1 << 20, file);
        let mut reader = BlobReader::over(Box::new(file), len, digest, place);
        reader.why = "the file changed after it was stored";
        Ok(reader)
    }

    /// A blob of `len` bytes read from `inner` (`place` names where, for
    /// errors), checked against `digest` as [`Layout::open_blob`]'s is.
    pub fn over(
        inner: Box<dyn Read + Send>,
        len: u64,
        digest: Digest,
        place: String,
    ) -> BlobReader {
        BlobReader {
            inner: Some(HashingReader::new(inner)),
            digest,
            place,
            why: "it is not the blob its name says",
            len,
            read: 0,
        }
    }

    /// The blob's size as stored.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for an empty blob.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn corrupt(&self, why: String) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("blob {} ({}): {why}", self.digest, self.place),
        )
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(inner) = self.inner.as_mut() else {
            return Ok(0); // read whole and checked
        };
        let n = inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.len {
            return Err(self.corrupt(format!("grew past its {} bytes while read", self.len)));
        }
        // checked on the last byte (readers that stop at the size they were
        // told, as an upload or a tar entry does, never ask for the end),
        // or at an end that comes early
        if self.read == self.len || (n == 0 && !buf.is_empty()) {
            if let Some(inner) = self.inner.take() {
                let actual = inner.finish();
                if actual != self.digest || self.read != self.len {
                    return Err(self.corrupt(format!(
                        "content has digest {actual}, expected {} ({} bytes read): {}",
                        self.digest, self.read, self.why
                    )));
                }
            }
        }
        Ok(n)
    }
}

impl Write for TempBlob {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.sync_early(n);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::super::TEMP_PREFIX;
    use super::*;
    use crate::digest::sha256;
    use std::fs;

    #[test]
    fn blob_writer_commits_or_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let l = Layout::create(dir.path()).unwrap();
        let mut w = l.new_blob().unwrap();
        w.write_all(b"abc").unwrap();
        let err = w.commit(&sha256(b"abd")).unwrap_err();
        assert!(matches!(err, DestError::DigestMismatch { .. }), "{err}");
        let mut w = l.new_blob().unwrap();
        w.write_all(b"abc").unwrap();
        drop(w);
        let mut w = l.new_blob().unwrap();
        w.write_all(b"abc").unwrap();
        w.commit(&sha256(b"abc")).unwrap();
        assert_eq!(l.read_blob(&sha256(b"abc")).unwrap(), b"abc");
        // the handle's work directory goes with it
        drop(l);
        let temps = fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                let e = e.as_ref().unwrap();
                e.file_name().to_string_lossy().starts_with(TEMP_PREFIX)
            })
            .count();
        assert_eq!(temps, 0);
    }

    #[test]
    fn a_large_blob_synced_while_written_lands_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let l = Layout::create(dir.path()).unwrap();
        let data: Vec<u8> = (0..3 * SYNC_EVERY + 12345)
            .map(|i| (i % 253) as u8)
            .collect();
        for large in [false, true] {
            let mut w = if large {
                l.new_large_blob().unwrap()
            } else {
                l.new_blob().unwrap()
            };
            for piece in data.chunks(700_001) {
                w.write_all(piece).unwrap();
            }
            assert!(w.inner.get_mut().syncer.is_some(), "no syncer started");
            w.commit(&sha256(&data)).unwrap();
            assert_eq!(l.read_blob(&sha256(&data)).unwrap(), data);
            fs::remove_file(l.blob_path(&sha256(&data))).unwrap();
        }
        // dropped mid-way (its syncer busy or not): nothing is left behind
        let mut w = l.new_large_blob().unwrap();
        w.write_all(&data).unwrap();
        drop(w);
        assert!(!l.has_blob(&sha256(&data)));
    }
}
