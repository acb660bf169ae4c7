//! The build context: the directory sources are read from, filtered by
//! `.dockerignore`. Nothing here writes to it, and no path ever resolves to
//! a place outside it (symbolic links are resolved as if the context were
//! the root of a filesystem).

mod beneath;
mod entry;

pub use beneath::Identity;
use beneath::RootDir;
use entry::{list_names, stat_at};
pub use entry::{ContextEntry, ContextFile, ContextKind};

use crate::ignore::{self, PatternMatcher};
use std::ffi::{CStr, CString};
use std::fs;
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileTypeExt;
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
    /// A name minibuild cannot carry (see [`crate::layer::names`]).
    #[error("{path}: {reason}")]
    BadName {
        /// The directory or path, bytes that are not UTF-8 shown as `\\xNN`.
        path: String,
        /// Why.
        reason: String,
    },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ContextError {
    let what = what.into();
    move |source| ContextError::Io { what, source }
}

/// A build context directory and its ignore rules.
#[derive(Debug)]
pub struct BuildContext {
    root: PathBuf,
    /// The root held open: every path is opened from it.
    dir: RootDir,
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
        let dir = RootDir::open(&root)
            .map_err(io_err(format!("opening build context {}", root.display())))?;
        let mut ctx = BuildContext {
            root,
            dir,
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
        // not a directory (or not one any more): nothing below
        let Ok(dir) = self.dir.open_dir(rel) else {
            return Ok(false);
        };
        for (_, name) in list_names(&dir, rel)? {
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
        let Some((base, pattern, depth)) = split_wildcard(&clean) else {
            let real = self
                .follow(&clean, 0)?
                .ok_or_else(|| ContextError::NotFound(source.to_string()))?;
            let mut entry = self.entry(&real)?;
            entry.rel = clean;
            return Ok(vec![entry]);
        };
        let mut matched = Vec::new();
        if let Some(real) = self.follow(&base, 0)? {
            let dir = self.entry(&real)?;
            if dir.kind == ContextKind::Dir {
                let fd = dir.file.open_dir().map_err(dir_err(&real))?;
                self.match_below(&fd, &real, "", &pattern, depth, &mut matched)?;
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

    /// fsutil's `resolveWildcards`: walks the real directory `dir` (open
    /// as `fd`; links not followed), collecting the paths below it (`sub`,
    /// relative to the walk's start) that match `pattern`. A directory
    /// that cannot be read is an error, as filepath.Walk's is; so is a
    /// matching name that is not UTF-8.
    fn match_below(
        &self,
        fd: &OwnedFd,
        dir: &str,
        sub: &str,
        pattern: &str,
        depth: usize,
        out: &mut Vec<String>,
    ) -> Result<(), ContextError> {
        for (raw, name) in list_names(fd, dir)? {
            let real = join_rel(dir, &name);
            if !self.present(&real)? {
                continue;
            }
            let path = join_rel(sub, &name);
            let entry = stat_listed(&self.dir, fd, &raw, &real)?;
            if ignore::fn_match(pattern, &path)? {
                out.push(path);
            } else if entry.kind == ContextKind::Dir && path.matches('/').count() < depth {
                let child = open_child_dir(fd, &raw, &entry)?;
                self.match_below(&child, &real, &path, pattern, depth, out)?;
            }
        }
        Ok(())
    }

    /// Lists a directory's contents recursively (the directory itself not
    /// included), sorted by path, skipping what `.dockerignore` excludes
    /// but keeping the directories above what an exception re-includes.
    /// Symbolic links inside are listed as links, never followed. Listed
    /// entries' `rel` are relative to `dir`.
    ///
    /// Every directory is read from its parent's descriptor, and must
    /// still be the directory its parent's listing showed: a directory
    /// swapped for a link during the build is an error, never followed.
    pub fn walk(&self, dir: &ContextEntry) -> Result<Vec<ContextEntry>, ContextError> {
        let real = dir.file.real();
        let fd = dir.file.open_dir().map_err(dir_err(real))?;
        let mut out = Vec::new();
        self.walk_fd(&fd, real, "", &mut Vec::new(), &mut out)?;
        Ok(out)
    }

    /// [`BuildContext::walk`] below the directory `fd` (`real` in the
    /// context, `sub` below the walk's start). `pending` holds excluded
    /// directories being searched for re-included entries, emitted (as
    /// fsutil does) before the first entry found below them.
    fn walk_fd(
        &self,
        fd: &OwnedFd,
        real: &str,
        sub: &str,
        pending: &mut Vec<ContextEntry>,
        out: &mut Vec<ContextEntry>,
    ) -> Result<(), ContextError> {
        for (raw, name) in list_names(fd, real)? {
            let ctx_rel = join_rel(real, &name);
            let excluded = self.is_excluded(&ctx_rel)?;
            if excluded && !self.ignore.has_exceptions_below(&ctx_rel) {
                continue;
            }
            let mut entry = stat_listed(&self.dir, fd, &raw, &ctx_rel)?;
            let rel = join_rel(sub, &name);
            entry.rel.clone_from(&rel);
            if entry.kind != ContextKind::Dir {
                if !excluded {
                    out.append(pending);
                    out.push(entry);
                }
                continue;
            }
            let child = open_child_dir(fd, &raw, &entry)?;
            let before = pending.len();
            if excluded {
                pending.push(entry);
            } else {
                out.append(pending);
                out.push(entry);
            }
            self.walk_fd(&child, &ctx_rel, &rel, pending, out)?;
            pending.truncate(before);
        }
        Ok(())
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
            let Some(found) = self.lookup(&candidate)? else {
                return Ok(None);
            };
            if !self.present(&candidate)? {
                return Ok(None);
            }
            if let ContextKind::Symlink { target } = &found.kind {
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
            if i + 1 < parts.len() && found.kind != ContextKind::Dir {
                return Ok(None);
            }
            resolved = candidate;
        }
        Ok(Some(resolved))
    }

    /// The entry at the real path `rel` (no link in it), `None` if there
    /// is none.
    fn lookup(&self, rel: &str) -> Result<Option<ContextEntry>, ContextError> {
        match self.entry(rel) {
            Err(ContextError::Io { source, .. })
                if matches!(
                    source.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(None)
            }
            other => other.map(Some),
        }
    }

    /// The entry at the real path `rel` (no link in it; empty for the
    /// root), read from its parent directory's descriptor.
    fn entry(&self, rel: &str) -> Result<ContextEntry, ContextError> {
        let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let name = if name.is_empty() { "." } else { name };
        let missing = || ContextError::Io {
            what: format!("reading context file {rel}"),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        let name = CString::new(crate::layer::names::encode(name)).map_err(|_| missing())?;
        // `rel` has no link in it: a link met now was swapped in since
        let fd = self.dir.open_dir(parent).map_err(|e| ContextError::Io {
            what: format!("reading context file {rel}"),
            source: if beneath::met_a_link(&e) {
                beneath::changed()
            } else {
                e
            },
        })?;
        stat_at(&self.dir, &fd, &name, rel)
    }
}

/// The error reading the directory `real`.
fn dir_err(real: &str) -> impl FnOnce(std::io::Error) -> ContextError + '_ {
    let shown = if real.is_empty() { "." } else { real };
    move |source| ContextError::Io {
        what: format!("reading build context directory {shown}"),
        source,
    }
}

/// Opens the directory `name` of `dir`, which must be what `entry` (read
/// from `dir` just before) says: never a link swapped in since.
fn open_child_dir(
    dir: &OwnedFd,
    name: &CStr,
    entry: &ContextEntry,
) -> Result<OwnedFd, ContextError> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let opened = rustix::fs::openat(dir, name, flags, Mode::empty())
        .map_err(std::io::Error::from)
        .map_err(|e| {
            if beneath::is_change(&e) {
                beneath::changed()
            } else {
                e
            }
        })
        .and_then(|fd| {
            beneath::check_identity(&fd, &entry.file.identity())?;
            Ok(fd)
        });
    opened.map_err(dir_err(entry.file.real()))
}

/// [`stat_at`] of a name the directory's listing just gave: gone by now
/// means the context changed.
fn stat_listed(
    root: &RootDir,
    dir: &OwnedFd,
    name: &CStr,
    real: &str,
) -> Result<ContextEntry, ContextError> {
    stat_at(root, dir, name, real).map_err(|e| match e {
        ContextError::Io { what, source } if source.kind() == std::io::ErrorKind::NotFound => {
            ContextError::Io {
                what,
                source: beneath::changed(),
            }
        }
        other => other,
    })
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
/// fsutil copy.go's split of a wildcard source (clean, relative): the
/// directory its components before the first one with an unescaped
/// wildcard name, the pattern the paths below it are matched against
/// (`ignore::fn_match`, a matched directory not descended), and how many
/// `/` a matching path can hold at most; `None` for a plain path. Shared
/// by context sources and `COPY --from` sources.
pub fn split_wildcard(clean: &str) -> Option<(String, String, usize)> {
    let parts: Vec<&str> = clean.split('/').filter(|p| !p.is_empty()).collect();
    let split = parts.iter().position(|p| has_wildcard(p))?;
    let pattern = parts[split..].join("/");
    // `*`, `?` and classes match one character each, only a class can
    // match a `/`: deeper paths cannot match.
    let depth = pattern.matches(['/', '[']).count();
    Some((parts[..split].join("/"), pattern, depth))
}

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
