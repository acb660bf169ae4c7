//! Temporary directories minibuild makes (a layout's work directory, the
//! scratch layout of an archive-only build, the directory beside an archive
//! being written): each is held by an `flock` on the directory for as long
//! as its owner lives, so whoever finds one that nobody holds knows its
//! owner was killed and removes it at once ([`sweep`]). The owner removes
//! it when dropped and, after [`clean_up_on_signals`], on SIGINT, SIGTERM
//! and SIGHUP too.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};

/// How every scratch directory's name starts.
pub const SCRATCH_PREFIX: &str = ".tmp-minibuild-";

/// The file that marks a directory as a minibuild scratch directory (so a
/// sweep of a shared directory such as `$TMPDIR` touches nothing else).
const MARKER: &str = ".minibuild-scratch";

/// Scratch directories alive in this process: what a signal removes.
static LIVE: Mutex<BTreeMap<u64, Vec<PathBuf>>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A temporary directory held by this process until dropped (with the
/// parents made for it, while empty).
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
    id: u64,
    _lock: File,
}

impl ScratchDir {
    /// A new scratch directory in `parent`; with `make_parent`, `parent`
    /// (and its missing ancestors) is made first and removed again with
    /// the scratch directory when nothing else was put there.
    pub fn new_in(parent: &Path, make_parent: bool) -> io::Result<ScratchDir> {
        let mut made = Vec::new();
        let mut last = None;
        // a sweep may take a directory between its creation and its lock,
        // or an empty parent between its creation and the mkdir: try again
        for _ in 0..8 {
            if make_parent {
                let now = make_dirs(parent)?;
                if made.is_empty() {
                    made = now;
                }
            }
            match Self::try_new(parent, &made) {
                Ok(dir) => return Ok(dir),
                Err(e) if e.kind() == io::ErrorKind::NotFound => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("creating a scratch directory")))
    }

    fn try_new(parent: &Path, made: &[PathBuf]) -> io::Result<ScratchDir> {
        // registered before it exists, under the lock a signal takes, so a
        // signal never misses a directory this process made
        let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
        let path = tempfile::Builder::new()
            .prefix(SCRATCH_PREFIX)
            .tempdir_in(parent)?
            .keep();
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let mut paths = vec![path.clone()];
        paths.extend(made.iter().cloned());
        live.insert(id, paths);
        drop(live);
        match hold(&path) {
            Ok(lock) => Ok(ScratchDir {
                path,
                id,
                _lock: lock,
            }),
            Err(e) => {
                LIVE.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                if e.kind() != io::ErrorKind::NotFound {
                    let _ = fs::remove_dir_all(&path);
                }
                Err(e)
            }
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(paths) = live.remove(&self.id) {
            remove_all(&paths);
        }
    }
}

/// Locks the new directory `path`, checks that it is still the one made
/// (no sweep took it before the lock), and marks it.
fn hold(path: &Path) -> io::Result<File> {
    let lock = File::open(path)?;
    lock.lock()?;
    let (held, there) = (lock.metadata()?, fs::symlink_metadata(path)?);
    if (held.dev(), held.ino()) != (there.dev(), there.ino()) {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "swept before it was held",
        ));
    }
    File::create(path.join(MARKER))?;
    Ok(lock)
}

/// Makes `dir` and its missing ancestors; the ones it made, deepest first.
fn make_dirs(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        missing.push(d.to_path_buf());
        at = d.parent();
    }
    for d in missing.iter().rev() {
        match fs::create_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(missing)
}

/// Removes a scratch directory, then the parents made for it while empty.
fn remove_all(paths: &[PathBuf]) {
    if let Some((dir, made)) = paths.split_first() {
        let _ = fs::remove_dir_all(dir);
        for d in made {
            if fs::remove_dir(d).is_err() {
                break;
            }
        }
    }
}

/// What a [`sweep`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Entries removed.
    pub entries: u64,
    /// Bytes of the files in them.
    pub bytes: u64,
}

impl std::ops::AddAssign for Swept {
    fn add_assign(&mut self, other: Swept) {
        self.entries += other.entries;
        self.bytes += other.bytes;
    }
}

/// Removes from `dir` every entry named `prefix...` that no living process
/// holds: scratch directories nobody holds the lock of. With `everything`
/// (the caller knows no writer is using `dir`, as a prune holding a
/// layout's lock does), other entries with the prefix go too: files and
/// unmarked directories left by killed writes of older versions.
pub fn sweep(dir: &Path, prefix: &str, everything: bool) -> io::Result<Swept> {
    let mut swept = Swept::default();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(swept),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if !entry.file_name().to_string_lossy().starts_with(prefix) {
            continue;
        }
        let path = entry.path();
        let is_dir = entry.file_type()?.is_dir();
        if !is_dir {
            if everything {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                remove_quietly(fs::remove_file(&path))?;
                swept += Swept {
                    entries: 1,
                    bytes: size,
                };
            }
            continue;
        }
        if !everything && !path.join(MARKER).is_file() {
            continue;
        }
        let Ok(lock) = File::open(&path) else {
            continue;
        };
        if lock.try_lock().is_err() {
            continue; // its owner is alive
        }
        let bytes = tree_size(&path);
        remove_quietly(fs::remove_dir_all(&path))?;
        swept += Swept { entries: 1, bytes };
    }
    Ok(swept)
}

/// A removal that another sweep did first is no failure.
fn remove_quietly(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The bytes of the files under `dir`.
fn tree_size(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// From now on SIGINT, SIGTERM and SIGHUP first remove this process's
/// scratch directories, then end it as the signal would have (so a shell
/// sees 130 or 143). For the command, not for a library: it takes over
/// these signals for the whole process.
pub fn clean_up_on_signals() -> io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    static INSTALLED: Once = Once::new();
    let mut result = Ok(());
    INSTALLED.call_once(|| {
        let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
            Ok(s) => s,
            Err(e) => {
                result = Err(e);
                return;
            }
        };
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                // held to the end: no scratch directory is made after this
                let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
                for paths in std::mem::take(&mut *live).values() {
                    remove_all(paths);
                }
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::exit(128 + signal);
            }
        });
    });
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_directories_survive_a_sweep_and_orphans_do_not() {
        let top = tempfile::tempdir().unwrap();
        let held = ScratchDir::new_in(top.path(), false).unwrap();
        fs::write(held.path().join("data"), b"12345").unwrap();
        // an orphan: a marked directory nobody holds, and a foreign one
        let orphan = top.path().join(format!("{SCRATCH_PREFIX}dead"));
        fs::create_dir(&orphan).unwrap();
        fs::write(orphan.join(MARKER), b"").unwrap();
        fs::write(orphan.join("blob"), b"0123456789").unwrap();
        let foreign = top.path().join(format!("{SCRATCH_PREFIX}not-ours"));
        fs::create_dir(&foreign).unwrap();
        let swept = sweep(top.path(), SCRATCH_PREFIX, false).unwrap();
        assert_eq!(
            swept,
            Swept {
                entries: 1,
                bytes: 10
            }
        );
        assert!(held.path().join("data").is_file() && foreign.is_dir());
        assert!(!orphan.exists());
        let path = held.path().to_path_buf();
        drop(held);
        assert!(!path.exists());
        // everything: unmarked directories and files too
        fs::write(top.path().join(format!("{SCRATCH_PREFIX}file")), b"abc").unwrap();
        let swept = sweep(top.path(), SCRATCH_PREFIX, true).unwrap();
        assert_eq!(swept.entries, 2);
        assert_eq!(fs::read_dir(top.path()).unwrap().count(), 0);
    }

    #[test]
    fn parents_made_for_it_go_with_it_when_empty() {
        let top = tempfile::tempdir().unwrap();
        let deep = top.path().join("a/b");
        let dir = ScratchDir::new_in(&deep, true).unwrap();
        assert!(dir.path().starts_with(&deep));
        drop(dir);
        assert!(!top.path().join("a").exists());
        let kept = ScratchDir::new_in(&deep, true).unwrap();
        fs::write(deep.join("other"), b"").unwrap();
        drop(kept);
        assert!(deep.join("other").is_file());
    }
}
