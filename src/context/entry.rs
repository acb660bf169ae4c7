//! One entry of the build context, read from its parent directory's file
//! descriptor (`fstatat`, `readlinkat`, extended attributes through that
//! descriptor), and the pinned handle its content is read through later.

use super::beneath::{self, Identity, RootDir};
use super::ContextError;
use crate::layer::{names, EntryKind};
use rustix::fs::{self as rfs, AtFlags, FileType};
use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::OnceLock;

/// One file, directory or link of the context, with its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    /// Path relative to the context root, `/`-separated, no leading `/`
    /// (empty for the root itself).
    pub rel: String,
    /// Where it is in the context (links resolved), and what it was when
    /// it was read: its content is read through this.
    pub file: ContextFile,
    /// What it is.
    pub kind: ContextKind,
    /// Permission bits, setuid/setgid/sticky included.
    pub mode: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// (device, inode) of a regular file with more than one link, so
    /// that hard links among copied files stay hard links.
    pub inode: Option<(u64, u64)>,
    /// Extended attributes as fsutil reads them (`llistxattr`), without
    /// the ones that describe the host rather than the file.
    pub xattrs: Vec<(String, Vec<u8>)>,
}

/// The type of a context entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContextKind {
    /// A regular file of `size` bytes.
    File {
        /// Size in bytes.
        size: u64,
    },
    /// A directory.
    Dir,
    /// A symbolic link, with its target verbatim.
    Symlink {
        /// The link target.
        target: String,
    },
    /// A fifo or a device, as the layer entry it becomes
    /// ([`EntryKind::Fifo`], [`EntryKind::Char`] or [`EntryKind::Block`]):
    /// fsutil sends them as they are, and COPY copies them.
    Special(EntryKind),
    /// A Unix socket. fsutil clears the socket bit when it sends the
    /// context (stat.go: "archive/tar.FileInfoHeader does not handle it"),
    /// so BuildKit copies it as an empty regular file.
    Socket,
}

/// A path of the context as it was planned: opened later from the
/// context's root descriptor, never through a symbolic link, and only if
/// it is still the same file (device, inode and type).
#[derive(Debug, Clone)]
pub struct ContextFile {
    root: RootDir,
    real: String,
    identity: Identity,
}

impl PartialEq for ContextFile {
    fn eq(&self, other: &ContextFile) -> bool {
        self.real == other.real && self.identity == other.identity
    }
}

impl Eq for ContextFile {}

impl ContextFile {
    /// Its path relative to the context root, links resolved.
    pub fn real(&self) -> &str {
        &self.real
    }

    /// What it was when the context was read.
    pub fn identity(&self) -> Identity {
        self.identity
    }

    /// Opens it to read its content: the same regular file the walk saw,
    /// or an error saying it changed during the build.
    pub fn open(&self) -> io::Result<File> {
        self.root
            .open_file(&self.real, &self.identity)
            .map_err(|e| {
                if beneath::is_change(&e) {
                    beneath::changed()
                } else {
                    e
                }
            })
    }

    /// Opens it as a directory, to list it: the same directory the walk
    /// saw, or an error saying it changed.
    pub(crate) fn open_dir(&self) -> io::Result<OwnedFd> {
        let fd = self.root.open_dir(&self.real).map_err(|e| {
            if beneath::is_change(&e) {
                beneath::changed()
            } else {
                e
            }
        })?;
        beneath::check_identity(&fd, &self.identity)?;
        Ok(fd)
    }
}

/// Extended attributes that describe the host, not the file: those the
/// layer normalizer drops from every source, and macOS' metadata, which
/// fsutil's stat_unix.go skips too.
pub(super) fn host_specific_xattr(name: &str) -> bool {
    crate::layer::is_host_xattr(name) || name.starts_with("com.apple.")
}

/// Reads the entry `name` of the directory `dir` (links not followed),
/// which is `real` relative to the context root.
// the fields' widths depend on the target
#[allow(clippy::unnecessary_cast)]
pub(crate) fn stat_at(
    root: &RootDir,
    dir: &OwnedFd,
    name: &CStr,
    real: &str,
) -> Result<ContextEntry, ContextError> {
    let io_err = |what: &str| {
        let what = format!("{what} {}", if real.is_empty() { "." } else { real });
        move |e: rustix::io::Errno| ContextError::Io {
            what,
            source: e.into(),
        }
    };
    let st = rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
        .map_err(io_err("reading context file"))?;
    let file_type = FileType::from_raw_mode(st.st_mode as _);
    let (major, minor) = device_numbers(st.st_rdev as u64);
    let kind = match file_type {
        FileType::RegularFile => ContextKind::File {
            size: st.st_size as u64,
        },
        FileType::Directory => ContextKind::Dir,
        FileType::Symlink => {
            let target = rfs::readlinkat(dir, name, Vec::new()).map_err(|e| match e {
                // a link a moment ago, something else (or nothing) now
                rustix::io::Errno::INVAL | rustix::io::Errno::NOENT => ContextError::Io {
                    what: format!("reading link {real}"),
                    source: beneath::changed(),
                },
                e => io_err("reading link")(e),
            })?;
            let target = names::decode(target.as_bytes())
                .map_err(|reason| ContextError::BadName {
                    path: names::shown(real).into_owned(),
                    reason: format!("its link target {reason}"),
                })?
                .into_owned();
            ContextKind::Symlink { target }
        }
        FileType::Fifo => ContextKind::Special(EntryKind::Fifo),
        FileType::CharacterDevice => ContextKind::Special(EntryKind::Char { major, minor }),
        FileType::BlockDevice => ContextKind::Special(EntryKind::Block { major, minor }),
        _ => ContextKind::Socket,
    };
    let is_file = file_type == FileType::RegularFile;
    Ok(ContextEntry {
        rel: real.to_string(),
        file: ContextFile {
            root: root.clone(),
            real: real.to_string(),
            identity: Identity::of(&st),
        },
        mode: st.st_mode & 0o7777,
        mtime: st.st_mtime as i64,
        inode: (is_file && st.st_nlink > 1).then_some((st.st_dev as u64, st.st_ino as u64)),
        xattrs: read_xattrs(dir, name, &kind, real)?,
        kind,
    })
}

/// (major, minor) of a Linux `dev_t`, as glibc's `gnu_dev_major` and
/// `gnu_dev_minor` split it.
fn device_numbers(rdev: u64) -> (u32, u32) {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    (major as u32, minor as u32)
}

/// Whether `/proc/self/fd` can name open directories (it is not mounted
/// in every sandbox).
fn proc_fd_works() -> bool {
    static WORKS: OnceLock<bool> = OnceLock::new();
    *WORKS.get_or_init(|| std::fs::symlink_metadata("/proc/self/fd").is_ok_and(|m| m.is_dir()))
}

/// The extended attributes of the entry `name` of `dir` itself (links
/// not followed), as fsutil's stat_unix.go reads them: a filesystem
/// without them has none, and a value that cannot be read is skipped.
///
/// They are read through `/proc/self/fd/<dir>/<name>` with the `l*` calls:
/// the directory is the one held open, so no swapped component is
/// crossed. Without `/proc`, files and directories are opened (never
/// through a link) and read with `f*` calls; links and special files then
/// have none.
fn read_xattrs(
    dir: &OwnedFd,
    name: &CStr,
    kind: &ContextKind,
    real: &str,
) -> Result<Vec<(String, Vec<u8>)>, ContextError> {
    let name = OsStr::from_bytes(name.to_bytes());
    let listed = if proc_fd_works() {
        // `<dir>/.` for the directory itself: the magic link is crossed
        // (to the directory held open), not read as a link
        let mut path = PathBuf::from(format!("/proc/self/fd/{}", dir.as_fd().as_raw_fd()));
        path.push(name);
        xattrs_of(|| xattr::list(&path), |n| xattr::get(&path, n))
    } else if matches!(kind, ContextKind::File { .. } | ContextKind::Dir) {
        let flags = rfs::OFlags::RDONLY | rfs::OFlags::NOFOLLOW | rfs::OFlags::NONBLOCK;
        let file = match rfs::openat(dir, name, flags | rfs::OFlags::CLOEXEC, rfs::Mode::empty()) {
            Ok(fd) => File::from(fd),
            // unreadable: as if it had none (fsutil would fail to send it)
            Err(_) => return Ok(Vec::new()),
        };
        use xattr::FileExt;
        xattrs_of(|| file.list_xattr(), |n| file.get_xattr(n))
    } else {
        Ok(Vec::new())
    };
    listed.map_err(|source| ContextError::Io {
        what: format!("listing extended attributes of {real}"),
        source,
    })
}

/// The named attributes `list` gives, read with `get`, host ones left out,
/// sorted.
fn xattrs_of<L: Iterator<Item = OsString>>(
    list: impl FnOnce() -> io::Result<L>,
    get: impl Fn(&OsStr) -> io::Result<Option<Vec<u8>>>,
) -> io::Result<Vec<(String, Vec<u8>)>> {
    let names = match list() {
        Ok(names) => names,
        Err(e) if e.kind() == io::ErrorKind::Unsupported => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for name in names {
        let Some(text) = name.to_str() else { continue };
        if host_specific_xattr(text) {
            continue;
        }
        if let Ok(Some(value)) = get(&name) {
            out.push((text.to_string(), value));
        }
    }
    out.sort();
    Ok(out)
}

/// The names in the directory `dir` (`.` and `..` left out), sorted by
/// their bytes (as filepath.Walk visits them): each as the system calls
/// take it, and as minibuild carries it (see [`names`]).
pub(crate) fn list_names(
    dir: &OwnedFd,
    real: &str,
) -> Result<Vec<(CString, String)>, ContextError> {
    let what = || {
        let shown = if real.is_empty() { "." } else { real };
        format!("reading build context directory {}", names::shown(shown))
    };
    let entries = rfs::Dir::read_from(dir).map_err(|e| ContextError::Io {
        what: what(),
        source: e.into(),
    })?;
    let mut raw = Vec::new();
    for e in entries {
        let e = e.map_err(|e| ContextError::Io {
            what: what(),
            source: e.into(),
        })?;
        let name = e.file_name();
        if name != c"." && name != c".." {
            raw.push(name.to_owned());
        }
    }
    raw.sort();
    let mut out = Vec::with_capacity(raw.len());
    for name in raw {
        let carried = names::decode(name.to_bytes())
            .map_err(|reason| ContextError::BadName {
                path: names::shown(real).into_owned(),
                reason,
            })?
            .into_owned();
        out.push((name, carried));
    }
    Ok(out)
}
