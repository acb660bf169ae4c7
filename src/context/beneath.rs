//! Opening paths of the build context from its root directory's file
//! descriptor, never through a symbolic link, so that a file or directory
//! swapped for a link while the build runs cannot lead out of the context.
//!
//! A path is opened with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`
//! where the kernel has it (Linux 5.6), else one component at a time with
//! `openat(O_NOFOLLOW)`. What is opened is then compared by identity
//! (device, inode, type) with what the walk saw: a mismatch means the
//! context changed during the build.

use rustix::fs::{self as rfs, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Cleared when `openat2` turns out to be missing (an old kernel, or a
/// seccomp filter that refuses it): the component walk is used from then on.
static HAVE_OPENAT2: AtomicBool = AtomicBool::new(true);

/// What a path of the context is, as the walk saw it: the opened file
/// must be the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// File type bits (`S_IFMT`).
    pub file_type: u32,
}

impl Identity {
    /// The identity of what `st` describes.
    // the fields' widths depend on the target
    #[allow(clippy::unnecessary_cast)]
    pub(crate) fn of(st: &rfs::Stat) -> Identity {
        Identity {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            file_type: FileType::from_raw_mode(st.st_mode as _).as_raw_mode() as u32,
        }
    }
}

/// The context's root directory, held open for the whole build.
#[derive(Debug, Clone)]
pub(crate) struct RootDir {
    fd: Arc<OwnedFd>,
}

impl RootDir {
    /// Opens the directory at `path` (links in `path` itself are followed:
    /// the user named it).
    pub(crate) fn open(path: &Path) -> io::Result<RootDir> {
        let fd = rfs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(RootDir { fd: Arc::new(fd) })
    }

    /// Opens directory `rel` (relative, `/`-separated, names not UTF-8
    /// carried as [`crate::layer::names`] says; empty for the root) for
    /// listing, no link followed at any component.
    pub(crate) fn open_dir(&self, rel: &str) -> io::Result<OwnedFd> {
        let rel = crate::layer::names::encode(rel);
        open_beneath(
            &self.fd,
            OsStr::from_bytes(&rel),
            OFlags::RDONLY | OFlags::DIRECTORY,
        )
    }

    /// Opens the regular file `rel` for reading, no link followed at any
    /// component; it must be `expected` (a fifo swapped in is not waited
    /// on: the open does not block).
    pub(crate) fn open_file(&self, rel: &str, expected: &Identity) -> io::Result<File> {
        let rel = crate::layer::names::encode(rel);
        let fd = open_beneath(
            &self.fd,
            OsStr::from_bytes(&rel),
            OFlags::RDONLY | OFlags::NONBLOCK,
        )?;
        check_identity(&fd, expected)?;
        // O_NONBLOCK stays: reads of a regular file never block anyway
        Ok(File::from(fd))
    }
}

/// The error for a path that is no longer what the walk saw.
pub(crate) fn changed() -> io::Error {
    io::Error::other(
        "it changed during the build (it is now a symbolic link, another file, or gone)",
    )
}

/// Whether an open failed because a component is now a link, not a
/// directory, outside the root, or gone: the context changed.
pub(crate) fn is_change(e: &io::Error) -> bool {
    met_a_link(e)
        || matches!(
            e.raw_os_error().map(Errno::from_raw_os_error),
            Some(Errno::NOTDIR | Errno::NOENT)
        )
}

/// Whether an open failed because a component is a link (or leads out of
/// the root): of a path the walk saw without links, one changed since.
pub(crate) fn met_a_link(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error().map(Errno::from_raw_os_error),
        Some(Errno::LOOP | Errno::XDEV)
    )
}

/// Fails unless `fd` is what `expected` says.
pub(crate) fn check_identity(fd: &impl AsFd, expected: &Identity) -> io::Result<()> {
    let st = rfs::fstat(fd)?;
    if Identity::of(&st) != *expected {
        return Err(changed());
    }
    Ok(())
}

/// Opens `rel` below `root` with `flags` (plus `O_NOFOLLOW` and
/// `O_CLOEXEC`), following no symbolic link and never leaving `root`.
fn open_beneath(root: &OwnedFd, rel: &OsStr, flags: OFlags) -> io::Result<OwnedFd> {
    let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let parts: Vec<&[u8]> = rel
        .as_bytes()
        .split(|&b| b == b'/')
        .filter(|p| !p.is_empty() && *p != b".")
        .collect();
    if parts.contains(&&b".."[..]) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a context path with `..` in it",
        ));
    }
    if parts.is_empty() {
        return Ok(rfs::openat(root, c".", flags, Mode::empty())?);
    }
    if HAVE_OPENAT2.load(Ordering::Relaxed) {
        let resolve =
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
        let joined = OsStr::from_bytes(&parts.join(&b'/')).to_owned();
        // EAGAIN: a concurrent rename the kernel could not rule out; retry
        for _ in 0..8 {
            match rfs::openat2(root, &joined, flags, Mode::empty(), resolve) {
                Err(Errno::AGAIN) => continue,
                Err(Errno::NOSYS | Errno::PERM) => {
                    HAVE_OPENAT2.store(false, Ordering::Relaxed);
                    break;
                }
                other => return Ok(other?),
            }
        }
        if HAVE_OPENAT2.load(Ordering::Relaxed) {
            return Err(io::Error::from(Errno::AGAIN));
        }
    }
    open_by_components(root, &parts, flags)
}

/// The `openat2` fallback: each directory opened from the one before
/// with `O_NOFOLLOW | O_DIRECTORY`, the last component with `flags`.
fn open_by_components(root: &OwnedFd, parts: &[&[u8]], flags: OFlags) -> io::Result<OwnedFd> {
    let dir_flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let (last, dirs) = parts.split_last().ok_or_else(changed)?;
    let mut held: Option<OwnedFd> = None;
    for part in dirs {
        let at = held.as_ref().unwrap_or(root);
        held = Some(rfs::openat(
            at,
            OsStr::from_bytes(part),
            dir_flags,
            Mode::empty(),
        )?);
    }
    let at = held.as_ref().unwrap_or(root);
    Ok(rfs::openat(
        at,
        OsStr::from_bytes(last),
        flags,
        Mode::empty(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_are_never_followed_and_both_ways_agree() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("d/f"), "f").unwrap();
        symlink(outside.path(), dir.path().join("out")).unwrap();
        symlink("d", dir.path().join("inner")).unwrap();
        symlink(outside.path().join("secret"), dir.path().join("d/ln")).unwrap();
        let root = RootDir::open(dir.path()).unwrap();
        for use_openat2 in [true, false] {
            HAVE_OPENAT2.store(use_openat2, Ordering::Relaxed);
            let open = |p: &str| open_beneath(&root.fd, OsStr::new(p), OFlags::RDONLY);
            assert!(open("d/f").is_ok());
            assert!(open("./d//f").is_ok());
            for bad in ["out/secret", "inner/f", "d/ln", "d/../d/f"] {
                let e = open(bad).unwrap_err();
                assert!(
                    is_change(&e) || e.kind() == io::ErrorKind::InvalidInput,
                    "{bad}: {e}"
                );
            }
        }
        HAVE_OPENAT2.store(true, Ordering::Relaxed);
    }

    #[test]
    fn another_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "a").unwrap();
        std::fs::write(dir.path().join("b"), "b").unwrap();
        let root = RootDir::open(dir.path()).unwrap();
        let st = rfs::statat(&*root.fd, "a", rfs::AtFlags::SYMLINK_NOFOLLOW).unwrap();
        let id = Identity::of(&st);
        assert!(root.open_file("a", &id).is_ok());
        std::fs::rename(dir.path().join("b"), dir.path().join("a")).unwrap();
        let e = root.open_file("a", &id).unwrap_err();
        assert!(e.to_string().contains("changed during the build"), "{e}");
    }
}
