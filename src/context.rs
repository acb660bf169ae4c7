//! The build context: the directory sources are read from, filtered by
//! `.dockerignore`. Nothing here writes to it, and no path ever resolves to
//! a place outside it (symbolic links are resolved as if the context were
//! the root of a filesystem).

use crate::ignore::{self, PatternMatcher};
use crate::layer::EntryKind;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Errors reading the context.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// An I/O failure, with what was being done.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The failure.
        source: std::io::Error,
    },
    /// A source that matched nothing.
    #[error("{0}: not found in the build context")]
    NotFound(String),
    /// A bad pattern in `.dockerignore` or a wildcard.
    #[error("{0}")]
    Pattern(#[from] ignore::PatternError),
    /// Too many levels of symbolic links.
    #[error("{0}: too many levels of symbolic links")]
    SymlinkLoop(String),
    /// A `.dockerignore` that is not something to read: a fifo, a device,
    /// a directory, or a symbolic link out of the context.
    #[error("refusing the ignore file {path}: {reason}")]
    IgnoreFile {
        /// The file.
        path: String,
        /// What it is instead of a regular file in the context.
        reason: String,
    },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ContextError {
    let what = what.into();
    move |source| ContextError::Io { what, source }
}

/// One file, directory or link of the context, with its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    /// Path relative to the context root, `/`-separated, no leading `/`
    /// (empty for the root itself).
    pub rel: String,
    /// The path on disk.
    pub path: PathBuf,
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

/// Extended attributes that describe the host, not the file: those the
/// layer normalizer drops from every source, and macOS' metadata, which
/// fsutil's stat_unix.go skips too.
fn host_specific_xattr(name: &str) -> bool {
    crate::layer::is_host_xattr(name) || name.starts_with("com.apple.")
}

/// A build context directory and its ignore rules.
#[derive(Debug)]
pub struct BuildContext {
    root: PathBuf,
    ignore: PatternMatcher,
}

impl BuildContext {
    /// Opens `root`, reading ignore rules from `<dockerfile>.dockerignore`
    /// beside the Dockerfile if present, else `.dockerignore` at the root.
    ///
    /// An ignore file must be a regular file: a fifo, a device or a
    /// directory is refused (never opened), and so is a symbolic link that
    /// leads out of the context.
    pub fn open(root: &Path, dockerfile: Option<&Path>) -> Result<BuildContext, ContextError> {
        let root = fs::canonicalize(root)
            .map_err(io_err(format!("opening build context {}", root.display())))?;
        if !root.is_dir() {
            return Err(ContextError::Io {
                what: format!("opening build context {}", root.display()),
                source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        let mut ctx = BuildContext {
            root,
            ignore: PatternMatcher::new(&[])?,
        };
        let mut candidates = Vec::new();
        if let Some(df) = dockerfile {
            let mut name = df.as_os_str().to_owned();
            name.push(".dockerignore");
            candidates.push(PathBuf::from(name));
        }
        candidates.push(ctx.root.join(".dockerignore"));
        for candidate in candidates {
            if let Some(text) = ctx.read_ignore_file(&candidate)? {
                ctx.ignore = PatternMatcher::new(&ignore::parse_dockerignore(&text))?;
                break;
            }
        }
        Ok(ctx)
    }

    /// The text of an ignore file, `None` if there is none. Links are
    /// followed inside the context only; what is not a regular file is
    /// refused before it is opened (a fifo would block the build).
    fn read_ignore_file(&self, candidate: &Path) -> Result<Option<String>, ContextError> {
        let shown = candidate.display().to_string();
        let refuse = |reason: String| ContextError::IgnoreFile {
            path: shown.clone(),
            reason,
        };
        let meta = match fs::symlink_metadata(candidate) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(format!("reading {shown}"))(e)),
        };
        let mut path = candidate.to_path_buf();
        let mut meta = meta;
        if meta.file_type().is_symlink() {
            let target =
                fs::read_link(candidate).map_err(io_err(format!("reading link {shown}")))?;
            let parent = candidate.parent().unwrap_or(Path::new("/"));
            let joined = parent.join(&target);
            let inside = lexical_clean(&joined)
                .strip_prefix(&self.root)
                .map(|rel| rel.to_string_lossy().into_owned());
            let Ok(rel) = inside else {
                return Err(refuse(format!(
                    "it is a symbolic link to {}, outside the build context",
                    target.display()
                )));
            };
            let Some(real) = self.follow(&rel, 0)? else {
                return Ok(None);
            };
            path = self.root.join(real);
            meta = fs::symlink_metadata(&path).map_err(io_err(format!("reading {shown}")))?;
        }
        if !meta.file_type().is_file() {
            return Err(refuse(format!(
                "it is {}, not a regular file",
                describe(meta.file_type())
            )));
        }
        fs::read_to_string(&path)
            .map(Some)
            .map_err(io_err(format!("reading {shown}")))
    }

    /// The context's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether `rel` is excluded by `.dockerignore`.
    pub fn is_excluded(&self, rel: &str) -> Result<bool, ContextError> {
        if rel.is_empty() || self.ignore.is_empty() {
            return Ok(false);
        }
        Ok(self.ignore.excluded(rel)?)
    }

    /// Whether the real path `rel` is part of the context as BuildKit
    /// receives it: not excluded, or a directory with something below it
    /// that an exception re-includes (fsutil sends the parents of what it
    /// sends, excluded or not).
    fn present(&self, rel: &str) -> Result<bool, ContextError> {
        if !self.is_excluded(rel)? {
            return Ok(true);
        }
        self.has_included_below(rel)
    }

    /// Whether an excluded directory holds something an exception brings
    /// back.
    fn has_included_below(&self, rel: &str) -> Result<bool, ContextError> {
        if !self.ignore.has_exceptions_below(rel) {
            return Ok(false);
        }
        let dir = self.root.join(rel);
        if !fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
            return Ok(false);
        }
        for name in sorted_names(&dir)? {
            let sub = join_rel(rel, &name);
            if self.present(&sub)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Resolves a COPY/ADD source as BuildKit does: the path is cleaned
    /// against `/` (so `../x` and `/x` both mean `x` in the context), and a
    /// symbolic link named by the source is followed, without ever leaving
    /// the context. A source with wildcards (`*`, `?`, `[...]`, as Go's
    /// `filepath.Match`; `\` escapes) is split as fsutil's copy.go does:
    /// the components before the first one with an unescaped wildcard name
    /// a directory, and below it every path is matched against the rest of
    /// the pattern, a matched directory not descended. Returns the matches
    /// in sorted order; a wildcard may match nothing, a plain path must
    /// exist.
    pub fn resolve_source(&self, source: &str) -> Result<Vec<ContextEntry>, ContextError> {
        let clean = clean_rel(source);
        let parts: Vec<&str> = clean.split('/').filter(|p| !p.is_empty()).collect();
        let Some(split) = parts.iter().position(|p| has_wildcard(p)) else {
            let real = self
                .follow(&clean, 0)?
                .ok_or_else(|| ContextError::NotFound(source.to_string()))?;
            let mut entry = self.entry(&real)?;
            entry.rel = clean;
            return Ok(vec![entry]);
        };
        let base = parts[..split].join("/");
        let pattern = parts[split..].join("/");
        let mut matched = Vec::new();
        if let Some(real) = self.follow(&base, 0)? {
            if fs::symlink_metadata(self.root.join(&real)).is_ok_and(|m| m.is_dir()) {
                // `*`, `?` and classes match one character each, only a
                // class can match a `/`: deeper paths cannot match.
                let depth = pattern.matches(['/', '[']).count();
                self.match_below(&real, "", &pattern, depth, &mut matched)?;
            }
        }
        let mut found = Vec::new();
        for sub in matched {
            let rel = join_rel(&base, &sub);
            if let Some(real) = self.follow(&rel, 0)? {
                let mut entry = self.entry(&real)?;
                entry.rel = rel;
                found.push(entry);
            }
        }
        Ok(found)
    }

    /// fsutil's `resolveWildcards`: walks the real directory `dir` (links
    /// not followed), collecting the paths below it (`sub`, relative to the
    /// walk's start) that match `pattern`. A directory that cannot be read
    /// is an error, as filepath.Walk's is.
    fn match_below(
        &self,
        dir: &str,
        sub: &str,
        pattern: &str,
        depth: usize,
        out: &mut Vec<String>,
    ) -> Result<(), ContextError> {
        for name in sorted_names(&self.root.join(dir))? {
            let real = join_rel(dir, &name);
            if !self.present(&real)? {
                continue;
            }
            let path = join_rel(sub, &name);
            let is_dir = fs::symlink_metadata(self.root.join(&real))
                .map_err(io_err(format!("reading {real}")))?
                .is_dir();
            if ignore::fn_match(pattern, &path)? {
                out.push(path);
            } else if is_dir && path.matches('/').count() < depth {
                self.match_below(&real, &path, pattern, depth, out)?;
            }
        }
        Ok(())
    }

    /// Lists a directory's contents recursively (the directory itself not
    /// included), sorted by path, skipping what `.dockerignore` excludes
    /// but keeping the directories above what an exception re-includes.
    /// Symbolic links inside are listed as links, never followed. Listed
    /// entries' `rel` are relative to `dir`.
    pub fn walk(&self, dir: &ContextEntry) -> Result<Vec<ContextEntry>, ContextError> {
        let mut out = Vec::new();
        let base = dir.path.clone();
        let real_rel = base
            .strip_prefix(&self.root)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Excluded directories being searched for re-included entries,
        // emitted (as fsutil does) before the first entry found below them.
        let mut pending: Vec<(usize, ContextEntry)> = Vec::new();
        let mut walker = walkdir::WalkDir::new(&base)
            .follow_links(false)
            .sort_by_file_name()
            .min_depth(1)
            .into_iter();
        while let Some(item) = walker.next() {
            let item = item.map_err(|e| {
                let place = e
                    .path()
                    .and_then(|p| p.strip_prefix(&self.root).ok())
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| dir.rel.clone());
                ContextError::Io {
                    what: format!("reading build context directory {place}"),
                    source: e.into(),
                }
            })?;
            pending.retain(|(depth, _)| *depth < item.depth());
            let sub = item
                .path()
                .strip_prefix(&base)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let ctx_rel = join_rel(&real_rel, &sub);
            let mut entry = self.entry(&ctx_rel)?;
            entry.rel = sub;
            if self.is_excluded(&ctx_rel)? {
                if item.file_type().is_dir() {
                    if self.ignore.has_exceptions_below(&ctx_rel) {
                        pending.push((item.depth(), entry));
                    } else {
                        walker.skip_current_dir();
                    }
                }
                continue;
            }
            out.extend(pending.drain(..).map(|(_, e)| e));
            out.push(entry);
        }
        Ok(out)
    }

    /// Follows symbolic links in `rel` (every component) inside the
    /// context; `None` if the path does not exist in the context as
    /// BuildKit receives it (missing, or left out by `.dockerignore`).
    fn follow(&self, rel: &str, depth: usize) -> Result<Option<String>, ContextError> {
        if depth > 40 {
            return Err(ContextError::SymlinkLoop(rel.to_string()));
        }
        let mut resolved = String::new();
        let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
        for (i, part) in parts.iter().enumerate() {
            let candidate = join_rel(&resolved, part);
            let on_disk = self.root.join(&candidate);
            let meta = match fs::symlink_metadata(&on_disk) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => {
                    return Err(ContextError::Io {
                        what: format!("reading {}", on_disk.display()),
                        source: e,
                    })
                }
            };
            if !self.present(&candidate)? {
                return Ok(None);
            }
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&on_disk)
                    .map_err(io_err(format!("reading link {}", on_disk.display())))?;
                let target = target.to_string_lossy();
                let joined = if target.starts_with('/') {
                    target.to_string()
                } else {
                    format!("{resolved}/{target}")
                };
                let rest = parts[i + 1..].join("/");
                let next = clean_rel(&format!("{joined}/{rest}"));
                return self.follow(&next, depth + 1);
            }
            // A regular file has nothing below it.
            if i + 1 < parts.len() && !meta.is_dir() {
                return Ok(None);
            }
            resolved = candidate;
        }
        Ok(Some(resolved))
    }

    fn entry(&self, rel: &str) -> Result<ContextEntry, ContextError> {
        let path = if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        };
        let meta =
            fs::symlink_metadata(&path).map_err(io_err(format!("reading context file {rel}")))?;
        let ft = meta.file_type();
        let device = || {
            let rdev = meta.rdev();
            device_numbers(rdev)
        };
        let kind = if ft.is_file() {
            ContextKind::File { size: meta.len() }
        } else if ft.is_dir() {
            ContextKind::Dir
        } else if ft.is_symlink() {
            let target =
                fs::read_link(&path).map_err(io_err(format!("reading link {}", path.display())))?;
            ContextKind::Symlink {
                target: target.to_string_lossy().into_owned(),
            }
        } else if ft.is_fifo() {
            ContextKind::Special(EntryKind::Fifo)
        } else if ft.is_char_device() {
            let (major, minor) = device();
            ContextKind::Special(EntryKind::Char { major, minor })
        } else if ft.is_block_device() {
            let (major, minor) = device();
            ContextKind::Special(EntryKind::Block { major, minor })
        } else {
            ContextKind::Socket
        };
        Ok(ContextEntry {
            rel: rel.to_string(),
            kind,
            mode: meta.mode() & 0o7777,
            mtime: meta.mtime(),
            inode: (ft.is_file() && meta.nlink() > 1).then(|| (meta.dev(), meta.ino())),
            xattrs: read_xattrs(&path, rel)?,
            path,
        })
    }
}

/// (major, minor) of a Linux `dev_t`, as glibc's `gnu_dev_major` and
/// `gnu_dev_minor` split it.
fn device_numbers(rdev: u64) -> (u32, u32) {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    (major as u32, minor as u32)
}

/// The extended attributes of `path` itself (links not followed), as
/// fsutil's stat_unix.go reads them: a filesystem without them has none,
/// and a value that cannot be read is skipped.
fn read_xattrs(path: &Path, rel: &str) -> Result<Vec<(String, Vec<u8>)>, ContextError> {
    let names = match xattr::list(path) {
        Ok(names) => names,
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => return Ok(Vec::new()),
        Err(e) => return Err(io_err(format!("listing extended attributes of {rel}"))(e)),
    };
    let mut out = Vec::new();
    for name in names {
        let Some(name) = name.to_str().map(str::to_string) else {
            continue;
        };
        if host_specific_xattr(&name) {
            continue;
        }
        if let Ok(Some(value)) = xattr::get(path, &name) {
            out.push((name, value));
        }
    }
    out.sort();
    Ok(out)
}

/// The names in a directory, sorted (as filepath.Walk visits them).
fn sorted_names(dir: &Path) -> Result<Vec<String>, ContextError> {
    let what = || format!("reading build context directory {}", dir.display());
    let mut names = Vec::new();
    for e in fs::read_dir(dir).map_err(io_err(what()))? {
        let e = e.map_err(io_err(what()))?;
        names.push(e.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// What a non-regular file is, for messages.
fn describe(ft: fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a fifo"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// An absolute path cleaned lexically (`.` and `..` resolved, no links).
fn lexical_clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

/// Whether a path component contains `filepath.Match` metacharacters.
///
/// As fsutil's `containsWildcards`, an escaped character does not count:
/// `n\?pe` names the file `n\?pe`, while `n\?p*` is a pattern whose `\?`
/// matches a literal `?`.
pub fn has_wildcard(s: &str) -> bool {
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '*' | '?' | '[' => return true,
            _ => {}
        }
    }
    false
}

fn join_rel(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else if name.is_empty() {
        dir.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Cleans `p` against `/` as Go's `path.Clean("/" + p)` and drops the
/// leading `/`: `..` never climbs above the root.
pub fn clean_rel(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.join("/")
}

#[cfg(test)]
mod tests;
