//! Where an entry lands: the one path resolution every unpacked entry (and
//! every hard link target) goes through.
//!
//! The rule is an unpacker's. containerd's `archive/tar.go` (`applyNaive`,
//! and `hardlinkRootPath` for links) splits a name into parent and base,
//! resolves the parent with continuity's `fs.RootPath(root, parent)` and
//! joins the base unresolved: every parent is followed through symlinks,
//! the last component never is (an entry replaces a symlink at its own
//! path, and a hard link to a symlink links the symlink). `fs.RootPath`
//! evaluates a link as if `root` were `/`: an absolute target starts again
//! at `root`, `..` stops at it, so nothing escapes. BuildKit unpacks ADD
//! archives with moby's `chrootarchive.Untar` chrooted at the destination
//! directory (solver/llbsolver/file/unpack.go), which gives the same
//! containment with the destination as the root; we do the same. Links are
//! followed through the layer written so far (the archive's own entries
//! included) and then the filesystem below.
//!
//! One difference: a parent that is a dangling symlink is made as
//! directories where it points (as `fs.RootPath` + `MkdirAll` do in
//! containerd), where moby's chrooted `MkdirAll` fails.

use std::fmt;
use std::sync::Arc;

/// At most this many symlinks in one resolution (continuity's
/// `fs.RootPath` and securejoin allow 255).
pub const MAX_LINKS: usize = 255;

/// What a path is, as far as resolving through it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind<'a> {
    /// A directory.
    Dir,
    /// A symbolic link, with its target.
    Symlink(&'a str),
    /// Anything else (a file, a device...): cannot be a parent.
    Other,
}

/// The filesystem below a layer (the merged layers under the step), as
/// path resolution sees it.
pub trait LowerFs: Send + Sync + fmt::Debug {
    /// What `path` (clean, relative to the image root, "" = root) is.
    fn kind(&self, path: &str) -> Option<PathKind<'_>>;

    /// The metadata of directory `path`, which a layer repeats when it
    /// adds something inside it (None: not a directory, or unknown).
    fn dir_meta(&self, _path: &str) -> Option<DirMeta> {
        None
    }
}

/// The metadata of a directory of the filesystem below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirMeta {
    /// Permission bits (`0o7777`).
    pub mode: u32,
    /// Owner.
    pub uid: u64,
    /// Group.
    pub gid: u64,
    /// Modification time.
    pub mtime: i64,
}

/// A shared view of the filesystem below a layer; the default is empty
/// (`FROM scratch`, `--link`).
#[derive(Clone, Default)]
pub struct Lower(Option<Arc<dyn LowerFs>>);

impl Lower {
    /// A view of `fs`.
    pub fn new(fs: Arc<dyn LowerFs>) -> Lower {
        Lower(Some(fs))
    }

    /// What `path` is in the filesystem below.
    pub fn kind(&self, path: &str) -> Option<PathKind<'_>> {
        self.0.as_ref().and_then(|fs| fs.kind(path))
    }

    /// The metadata of directory `path` in the filesystem below.
    pub fn dir_meta(&self, path: &str) -> Option<DirMeta> {
        self.0.as_ref().and_then(|fs| fs.dir_meta(path))
    }
}

impl fmt::Debug for Lower {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => f.write_str("Lower(empty)"),
            Some(_) => f.write_str("Lower(..)"),
        }
    }
}

/// Two views are equal when they are the same view.
impl PartialEq for Lower {
    fn eq(&self, other: &Lower) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for Lower {}

/// Why a path could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// More than [`MAX_LINKS`] symlinks.
    TooManyLinks,
    /// A component that must be a directory is not (the clean path).
    NotADirectory(String),
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::TooManyLinks => write!(
                f,
                "more than {MAX_LINKS} symbolic links on the way to its parent"
            ),
            ResolveError::NotADirectory(p) => write!(f, "its parent /{p} is not a directory"),
        }
    }
}

/// Resolves every component of `rel` (relative to `root`; both clean, ""
/// = the image root) through the symlinks `kind_of` reports, contained in
/// `root`: the clean path from the image root. Every component followed
/// by another must be a directory (or missing).
pub fn resolve_path<'a>(
    root: &str,
    rel: &'a str,
    kind_of: impl Fn(&str) -> Option<PathKind<'a>>,
) -> Result<String, ResolveError> {
    // components still to walk, the next one last
    let mut todo: Vec<&'a str> = rel.rsplit('/').filter(|c| !c.is_empty()).collect();
    let mut cur = root.to_string();
    let mut links = 0usize;
    while let Some(c) = todo.pop() {
        match c {
            "." => {}
            ".." => match cur[root.len()..].rfind('/') {
                Some(i) => cur.truncate(root.len() + i),
                None => cur.truncate(root.len()),
            },
            name => {
                let len = cur.len();
                if !cur.is_empty() {
                    cur.push('/');
                }
                cur.push_str(name);
                match kind_of(&cur) {
                    Some(PathKind::Symlink(target)) => {
                        links += 1;
                        if links > MAX_LINKS {
                            return Err(ResolveError::TooManyLinks);
                        }
                        cur.truncate(if target.starts_with('/') {
                            root.len()
                        } else {
                            len
                        });
                        // the target's components, then the rest
                        todo.extend(target.rsplit('/').filter(|c| !c.is_empty()));
                    }
                    Some(PathKind::Other) if !todo.is_empty() => {
                        return Err(ResolveError::NotADirectory(cur));
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn fs(entries: &[(&str, Option<&'static str>)]) -> BTreeMap<String, Option<&'static str>> {
        entries.iter().map(|(p, t)| (p.to_string(), *t)).collect()
    }

    fn run(
        map: &BTreeMap<String, Option<&'static str>>,
        root: &str,
        rel: &str,
    ) -> Result<String, ResolveError> {
        resolve_path(root, rel, |p| {
            map.get(p).map(|t| match t {
                Some("FILE") => PathKind::Other,
                Some(t) => PathKind::Symlink(t),
                None => PathKind::Dir,
            })
        })
    }

    #[test]
    fn parents_follow_links_inside_the_root() {
        let m = fs(&[
            ("usr", None),
            ("usr/lib", None),
            ("lib", Some("usr/lib")),
            ("var", None),
            ("var/run", Some("/run")),
            ("up", Some("../../..")),
            ("abs", Some("/")),
            ("f", Some("FILE")),
            ("loop", Some("loop")),
            ("opt/app/a", Some("../../..")),
            ("opt/app/b", Some("/etc")),
            ("opt/app/c", Some("../x")),
            ("chain1", Some("chain2/y")),
            ("chain2", Some("lib")),
        ]);
        let cases = [
            ("", "lib/x", "usr/lib/x"),
            ("", "var/run/x", "run/x"),
            ("", "up/etc", "etc"),
            ("", "abs/abs/etc", "etc"),
            ("", "chain1/z", "usr/lib/y/z"),
            ("opt/app", "a/etc", "opt/app/etc"),
            ("opt/app", "b", "opt/app/etc"),
            ("opt/app", "c/d", "opt/app/x/d"),
            ("opt/app", "../../x", "opt/app/x"),
            // the root's own links are not followed (the caller resolved it)
            ("", "", ""),
        ];
        for (root, rel, want) in cases {
            assert_eq!(run(&m, root, rel).unwrap(), want, "{root} {rel}");
        }
        // a link to itself: a loop, not a hang
        assert_eq!(run(&m, "", "loop/x"), Err(ResolveError::TooManyLinks));
        assert_eq!(
            run(&m, "", "f/x"),
            Err(ResolveError::NotADirectory("f".into()))
        );
        // a file as the last component is fine (it is what is named)
        assert_eq!(run(&m, "", "f").unwrap(), "f");
        assert_eq!(
            ResolveError::NotADirectory("f".into()).to_string(),
            "its parent /f is not a directory"
        );
    }
}
