//! The layout's locks: `flock`s on lock files inside it, so that other
//! minibuild processes (and threads) editing `index.json` or pruning wait
//! for each other.

use super::{DestError, Layout, LOCK_FILE, USERS_LOCK_FILE};
use std::fs::{self, File};
use std::io;

impl Layout {
    /// Marks the layout as in use by a writer until the guard drops:
    /// [`Layout::prune`] waits for it, so blobs written but not yet tagged
    /// are safe. Many writers may hold it at once; take it before tagging.
    ///
    /// A layout that is not there yet needs no hold (nothing of it can be
    /// pruned), and one this user cannot write (a read-only store a build
    /// reads its bases from) is held through a read-only lock file, or not
    /// at all when it has none: nothing here writes to it.
    pub fn hold(&self) -> Result<HoldGuard, DestError> {
        if self.state()? == super::State::Absent {
            return Ok(HoldGuard { _lock: None });
        }
        let lock = match self.flock(USERS_LOCK_FILE, LockMode::Shared) {
            Err(DestError::Io { source, .. }) if is_read_only(&source) => {
                let path = self.root.join(USERS_LOCK_FILE);
                match File::open(&path) {
                    Ok(file) => Some(take(file, &path, LockMode::Shared)?),
                    Err(_) => None,
                }
            }
            other => Some(other?),
        };
        Ok(HoldGuard { _lock: lock })
    }

    /// Takes the layout's exclusive lock (released when the guard drops),
    /// making the layout first: whoever locks it changes it.
    pub(super) fn lock(&self) -> Result<LockGuard, DestError> {
        self.ensure_created()?;
        self.flock(LOCK_FILE, LockMode::Exclusive)
    }

    /// The exclusive `flock` on `name` if nobody holds it now.
    pub(super) fn try_flock_exclusive(&self, name: &str) -> Option<LockGuard> {
        let file = fs::OpenOptions::new()
            .write(true)
            .open(self.root.join(name))
            .ok()?;
        file.try_lock().ok()?;
        Some(LockGuard { _file: file })
    }

    /// Takes a `flock` (shared or exclusive, blocking until granted) on the
    /// lock file `name` in the layout.
    pub(super) fn flock(&self, name: &str, mode: LockMode) -> Result<LockGuard, DestError> {
        let path = self.root.join(name);
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(DestError::io(format!(
                "opening lock file {}",
                path.display()
            )))?;
        take(file, &path, mode)
    }
}

/// An error that says the lock file cannot be made or written here.
fn is_read_only(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
    )
}

/// Takes the `flock` on `file` (the lock file at `path`), retrying when interrupted.
fn take(file: File, path: &std::path::Path, mode: LockMode) -> Result<LockGuard, DestError> {
    loop {
        // std's File::lock is flock(2) on Unix: the same lock other
        // minibuild processes (and older versions) take
        let taken = match mode {
            LockMode::Shared => file.lock_shared(),
            LockMode::Exclusive => file.lock(),
        };
        match taken {
            Ok(()) => return Ok(LockGuard { _file: file }),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(DestError::Io {
                    what: format!("locking {}", path.display()),
                    source,
                })
            }
        }
    }
}

/// How [`Layout::flock`] takes its lock.
#[derive(Debug, Clone, Copy)]
pub(super) enum LockMode {
    /// Many holders at once (writers holding the layout).
    Shared,
    /// One holder (editing `index.json`, pruning).
    Exclusive,
}

/// A writer's hold on a layout (see [`Layout::hold`]); dropping it lets
/// `prune` run.
#[derive(Debug)]
pub struct HoldGuard {
    _lock: Option<LockGuard>,
}

/// Holds a layout's lock; closing the file releases the `flock`.
#[derive(Debug)]
pub(super) struct LockGuard {
    _file: File,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dest::layout::Pruned;
    use crate::oci::Descriptor;
    use std::time::Duration;

    #[test]
    fn prune_waits_for_writers_holding_the_layout() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let l = Layout::create(dir.path()).unwrap();
        let hold = l.hold().unwrap();
        let second = l.hold().unwrap(); // shared: writers do not wait for each other
        let untagged = l.put_blob(b"written, not yet tagged").unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let pruner = {
            let (l, done) = (l.clone(), done.clone());
            std::thread::spawn(move || {
                let removed = l.prune().unwrap();
                done.store(true, Ordering::SeqCst);
                removed
            })
        };
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            !done.load(Ordering::SeqCst),
            "prune ran while a writer held the layout"
        );
        assert!(l.has_blob(&untagged));
        // the writer tags its blob and lets go
        l.tag(
            &Descriptor::new("application/octet-stream", untagged.clone(), 23),
            &"kept".into(),
        )
        .unwrap();
        drop(hold);
        drop(second);
        assert_eq!(pruner.join().unwrap(), Pruned::default());
        assert!(l.has_blob(&untagged));
    }
}
