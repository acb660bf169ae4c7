//! The build context: the directory sources are read from, filtered by
//! `.dockerignore`. Nothing here writes to it, and no path ever resolves to
//! a place outside it (symbolic links are resolved as if the context were
//! the root of a filesystem).

use crate::ignore::{self, PatternMatcher};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Errors reading the context.
#[derive(Debug, thiserror::Error)]
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
}

/// The type of a context entry.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// A fifo, socket or device (skipped by COPY, as BuildKit's context
    /// transfer skips them).
    Other,
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
    pub fn open(root: &Path, dockerfile: Option<&Path>) -> Result<BuildContext, ContextError> {
        let root = fs::canonicalize(root)
            .map_err(io_err(format!("opening build context {}", root.display())))?;
        if !root.is_dir() {
            return Err(ContextError::Io {
                what: format!("opening build context {}", root.display()),
                source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        let mut candidates = Vec::new();
        if let Some(df) = dockerfile {
            let mut name = df.as_os_str().to_owned();
            name.push(".dockerignore");
            candidates.push(PathBuf::from(name));
        }
        candidates.push(root.join(".dockerignore"));
        let mut patterns = Vec::new();
        for candidate in candidates {
            match fs::read_to_string(&candidate) {
                Ok(text) => {
                    patterns = ignore::parse_dockerignore(&text);
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(ContextError::Io {
                        what: format!("reading {}", candidate.display()),
                        source: e,
                    })
                }
            }
        }
        let ignore = PatternMatcher::new(&patterns)?;
        Ok(BuildContext { root, ignore })
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

    /// Resolves a COPY/ADD source as BuildKit does: the path is cleaned
    /// against `/` (so `../x` and `/x` both mean `x` in the context),
    /// wildcards (`*`, `?`, `[...]`, as Go's `filepath.Match`) are expanded
    /// component by component, and a symbolic link named by the source is
    /// followed, without ever leaving the context. Returns the matches in
    /// sorted order; a wildcard may match nothing, a plain path must exist.
    pub fn resolve_source(&self, source: &str) -> Result<Vec<ContextEntry>, ContextError> {
        let clean = clean_rel(source);
        let parts: Vec<&str> = clean.split('/').filter(|p| !p.is_empty()).collect();
        let wildcard = parts.iter().any(|p| has_wildcard(p));
        let mut candidates = vec![String::new()];
        for part in &parts {
            let mut next = Vec::new();
            for dir in &candidates {
                if has_wildcard(part) {
                    let real = self.follow(dir, 0)?;
                    let Some(real) = real else { continue };
                    let on_disk = self.root.join(&real);
                    let Ok(read) = fs::read_dir(&on_disk) else {
                        continue;
                    };
                    let mut names: Vec<String> = read
                        .filter_map(|e| e.ok())
                        .filter_map(|e| e.file_name().into_string().ok())
                        .collect();
                    names.sort();
                    for name in names {
                        if ignore::fn_match(part, &name)? {
                            next.push(join_rel(dir, &name));
                        }
                    }
                } else {
                    next.push(join_rel(dir, part));
                }
            }
            candidates = next;
        }
        let mut found = Vec::new();
        for rel in candidates {
            if self.is_excluded(&rel)? {
                continue;
            }
            match self.follow(&rel, 0)? {
                Some(real) => {
                    let mut entry = self.entry(&real)?;
                    entry.rel = rel;
                    found.push(entry);
                }
                None if wildcard => {}
                None => return Err(ContextError::NotFound(source.to_string())),
            }
        }
        if found.is_empty() && !wildcard {
            return Err(ContextError::NotFound(source.to_string()));
        }
        Ok(found)
    }

    /// Lists a directory's contents recursively (the directory itself not
    /// included), sorted by path, skipping what `.dockerignore` excludes.
    /// Symbolic links inside are listed as links, never followed. `rel` is
    /// the directory's path in the context; listed entries' `rel` are
    /// relative to it.
    pub fn walk(&self, dir: &ContextEntry) -> Result<Vec<ContextEntry>, ContextError> {
        let mut out = Vec::new();
        let base = dir.path.clone();
        let real_rel = base
            .strip_prefix(&self.root)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut walker = walkdir::WalkDir::new(&base)
            .follow_links(false)
            .sort_by_file_name()
            .min_depth(1)
            .into_iter();
        while let Some(item) = walker.next() {
            let item = item.map_err(|e| ContextError::Io {
                what: format!("reading build context under {}", dir.rel),
                source: e.into(),
            })?;
            let sub = item
                .path()
                .strip_prefix(&base)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let ctx_rel = join_rel(&real_rel, &sub);
            if self.is_excluded(&ctx_rel)? {
                if item.file_type().is_dir() && !self.ignore.has_exceptions_below(&ctx_rel) {
                    walker.skip_current_dir();
                }
                continue;
            }
            let mut entry = self.entry(&ctx_rel)?;
            entry.rel = sub;
            out.push(entry);
        }
        Ok(out)
    }

    /// Follows symbolic links in `rel` (every component) inside the
    /// context; `None` if the path does not exist.
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
        } else {
            ContextKind::Other
        };
        Ok(ContextEntry {
            rel: rel.to_string(),
            path,
            kind,
            mode: meta.mode() & 0o7777,
            mtime: meta.mtime(),
            inode: (ft.is_file() && meta.nlink() > 1).then(|| (meta.dev(), meta.ino())),
        })
    }
}

/// Whether a path component contains `filepath.Match` metacharacters.
pub fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
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
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn ctx() -> (tempfile::TempDir, BuildContext) {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        fs::create_dir_all(r.join("src/sub")).unwrap();
        fs::write(r.join("src/a.txt"), "a").unwrap();
        fs::write(r.join("src/b.md"), "b").unwrap();
        fs::write(r.join("src/sub/c.txt"), "c").unwrap();
        fs::write(r.join("top"), "t").unwrap();
        symlink("src/a.txt", r.join("link")).unwrap();
        symlink("/../../etc/passwd", r.join("escape")).unwrap();
        symlink("src", r.join("srclink")).unwrap();
        fs::write(r.join(".dockerignore"), "src/*.md\n").unwrap();
        let c = BuildContext::open(r, None).unwrap();
        (dir, c)
    }

    #[test]
    fn clean_never_climbs() {
        assert_eq!(clean_rel("../../x/./y/"), "x/y");
        assert_eq!(clean_rel("/a/../b"), "b");
        assert_eq!(clean_rel("."), "");
    }

    #[test]
    fn resolves_plain_wildcard_and_links() {
        let (_d, c) = ctx();
        let e = c.resolve_source("../top").unwrap();
        assert_eq!(e[0].rel, "top");
        let e = c.resolve_source("src/*.txt").unwrap();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].rel, "src/a.txt");
        assert!(c.resolve_source("src/*.none").unwrap().is_empty());
        assert!(matches!(
            c.resolve_source("src/b.md"),
            Err(ContextError::NotFound(_))
        ));
        let e = c.resolve_source("link").unwrap();
        assert_eq!(e[0].kind, ContextKind::File { size: 1 });
        // an absolute link target resolves inside the context: not found
        assert!(c.resolve_source("escape").is_err());
        let e = c.resolve_source("srclink/sub/c.txt").unwrap();
        assert_eq!(e[0].path, c.root().join("src/sub/c.txt"));
    }

    #[test]
    fn walk_lists_sorted_and_filters() {
        let (_d, c) = ctx();
        let dir = c.resolve_source("src").unwrap().remove(0);
        let rels: Vec<String> = c.walk(&dir).unwrap().into_iter().map(|e| e.rel).collect();
        assert_eq!(rels, vec!["a.txt", "sub", "sub/c.txt"]);
    }
}
