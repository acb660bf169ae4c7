//! `ADD <git ref> <dest>`, as BuildKit's git source: a source is a git
//! repository when gitutil.ParseGitRef says so (`git://`, `ssh://`,
//! `user@host:path`, or an http(s) URL whose path ends in `.git`), with a
//! `#ref:subdir` fragment. The ref is fetched shallow by the `git` binary
//! into the build's scratch directory (removed even when the build is
//! killed), checked out, and its tree (or subdir) added to dest: `.git`
//! dropped unless `--keep-git-dir=true`, files 0644 or 0755 as git records
//! them, directories 0755, owner 0:0, mtimes the checkout's time — or the
//! commit's time when SOURCE_DATE_EPOCH is set (BuildKit's `git.mtime`).
//! `--checksum` is the commit the ref must resolve to.

use super::super::rootfs::{Extracted, FsKind, FsMeta};
use super::super::{BuildError, Builder};
use super::sources::ImagePath;
use crate::span::{Span, Spanned};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// A git source: the remote, and the fragment's ref and subdir.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct GitRef {
    /// The URL git fetches from (fragment removed).
    pub(crate) remote: String,
    /// The branch, tag or commit (`HEAD` when none is given).
    pub(crate) reference: Option<String>,
    /// The directory of the tree that is added.
    pub(crate) subdir: Option<String>,
}

/// The git source `source` names, if it names one (BuildKit's
/// gitutil.ParseGitRef: no file:// and no plain paths).
pub(crate) fn parse(source: &str) -> Option<GitRef> {
    if source.starts_with("./") || source.starts_with("../") {
        return None;
    }
    let (remote, fragment) = match source.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (source, None),
    };
    let is_git = if let Some((scheme, rest)) = remote.split_once("://") {
        match scheme {
            "git" | "ssh" => true,
            // an HTTP(S) URL is a git ref only with the ".git" suffix
            "http" | "https" => {
                let path = rest.split_once('/').map_or("", |(_, p)| p);
                path.split('?').next().unwrap_or("").ends_with(".git")
            }
            _ => false,
        }
    } else {
        scp_like(remote)
    };
    if !is_git {
        return None;
    }
    let (reference, subdir) = match fragment {
        None => (None, None),
        Some(f) => {
            let (r, s) = f.split_once(':').map_or((f, None), |(r, s)| (r, Some(s)));
            let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
            (some(r), s.and_then(some))
        }
    };
    Some(GitRef {
        remote: remote.to_string(),
        reference,
        subdir,
    })
}

/// `user@host:path`, as gitutil's sshGitRegexp.
fn scp_like(s: &str) -> bool {
    let Some((user, rest)) = s.split_once('@') else {
        return false;
    };
    let Some((host, _)) = rest.split_once(':') else {
        return false;
    };
    let ok = |p: &str, extra: &[char]| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
    };
    ok(user, &['-', '_']) && ok(host, &['-', '.'])
}

/// Runs git with `args` in `dir`; its trimmed stdout, or an error that
/// names the command and git's own message.
fn git(
    dir: &Path,
    args: &[&str],
    fail: &dyn Fn(String) -> BuildError,
) -> Result<String, BuildError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "core.symlinks=true",
            "-c",
            "advice.detachedHead=false",
        ])
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            fail(format!(
                "running the git binary (needed for git sources): {e}"
            ))
        })?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(fail(format!("git {}: {msg}", args.join(" "))));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Fetches the ref into `dir` (shallow; a commit the server will not
/// hand out by itself is found in a full fetch of branches and tags)
/// and checks it out; the commit.
fn checkout(
    dir: &Path,
    r: &GitRef,
    fail: &dyn Fn(String) -> BuildError,
) -> Result<String, BuildError> {
    std::fs::create_dir_all(dir).map_err(|e| fail(format!("creating {}: {e}", dir.display())))?;
    git(dir, &["init", "-q"], fail)?;
    let wanted = r.reference.as_deref().unwrap_or("HEAD");
    let shallow = git(
        dir,
        &["fetch", "-q", "--depth=1", "--no-tags", &r.remote, wanted],
        fail,
    );
    let commit = match shallow {
        Ok(_) => git(dir, &["rev-parse", "FETCH_HEAD^{commit}"], fail)?,
        Err(e) if !is_hex(wanted) => return Err(e),
        Err(_) => {
            let refs = [
                "+refs/heads/*:refs/remotes/origin/*",
                "+refs/tags/*:refs/tags/*",
            ];
            git(dir, &["fetch", "-q", &r.remote, refs[0], refs[1]], fail)?;
            git(dir, &["rev-parse", &format!("{wanted}^{{commit}}")], fail)?
        }
    };
    git(dir, &["checkout", "-q", "--detach", &commit], fail)?;
    Ok(commit)
}

fn is_hex(s: &str) -> bool {
    s.len() >= 7 && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// Fetches the git source `r` (written `source`) into the build's
/// scratch directory; its tree as a directory source, and the commit.
pub(crate) fn fetch(
    b: &Builder<'_>,
    span: Span,
    source: &str,
    r: &GitRef,
    keep_git_dir: bool,
    checksum: Option<&Spanned<String>>,
) -> Result<(ImagePath, String), BuildError> {
    let fail = |why: String| BuildError::at(span, format!("ADD {source}: {why}"));
    static FETCHED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = FETCHED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = b.tmp.path().join(format!("git-{n}"));
    let commit = checkout(&dir, r, &fail)?;
    if let Some(c) = checksum {
        let want = c.value.to_ascii_lowercase();
        if !is_hex(&want) || !commit.starts_with(&want) {
            return Err(BuildError::at(
                c.span,
                format!(
                    "ADD {source}: --checksum wants commit {}, the ref is commit {commit}",
                    c.value
                ),
            ));
        }
    }
    let mtime = match b.opts.source_date_epoch {
        Some(_) => git(&dir, &["log", "-1", "--format=%ct", &commit], &fail)?
            .parse()
            .map_err(|e| fail(format!("reading the commit time: {e}")))?,
        None => b.opts.now,
    };
    let root = match &r.subdir {
        Some(s) => dir.join(s.trim_matches('/')),
        None => dir.clone(),
    };
    let inside = match (root.canonicalize(), dir.canonicalize()) {
        (Ok(r), Ok(d)) => r.is_dir() && r.starts_with(d),
        _ => false,
    };
    if !inside {
        let sub = r.subdir.as_deref().unwrap_or("");
        return Err(fail(format!("{sub}: no such directory in commit {commit}")));
    }
    let mut below = Vec::new();
    walk(&root, "", keep_git_dir, mtime, &mut below)
        .map_err(|e| fail(format!("reading the checkout: {e}")))?;
    let tree = ImagePath {
        path: String::new(),
        name: String::new(),
        meta: meta(FsKind::Dir, 0o755, mtime),
        data: None,
        below,
    };
    Ok((tree, commit))
}

fn meta(kind: FsKind, mode: u32, mtime: i64) -> FsMeta {
    FsMeta {
        kind,
        mode,
        uid: 0,
        gid: 0,
        mtime,
    }
}

/// Every entry below `dir` (named `rel/...`), sorted, as checked out:
/// modes as git records them (0755 executable, 0644 other files, 0755
/// directories, 0777 links) whatever the umask.
fn walk(
    dir: &Path,
    rel: &str,
    keep_git_dir: bool,
    mtime: i64,
    out: &mut Vec<Extracted>,
) -> std::io::Result<()> {
    let mut names: Vec<_> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()?;
    names.sort();
    for name in names {
        let name_s = name.to_string_lossy().into_owned();
        if rel.is_empty() && name_s == ".git" && !keep_git_dir {
            continue;
        }
        let path = dir.join(&name);
        let key = if rel.is_empty() {
            name_s
        } else {
            format!("{rel}/{name_s}")
        };
        let md = std::fs::symlink_metadata(&path)?;
        let ft = md.file_type();
        let (kind, mode, data) = if ft.is_symlink() {
            let target = std::fs::read_link(&path)?.to_string_lossy().into_owned();
            (FsKind::Symlink { target }, 0o777, None)
        } else if ft.is_dir() {
            (FsKind::Dir, 0o755, None)
        } else {
            let exec = md.permissions().mode() & 0o100 != 0;
            let mode = if exec { 0o755 } else { 0o644 };
            (FsKind::File { size: md.len() }, mode, Some(path.clone()))
        };
        let is_dir = kind == FsKind::Dir;
        out.push(Extracted {
            path: key.clone(),
            meta: meta(kind, mode, mtime),
            data,
        });
        if is_dir {
            walk(&path, &key, keep_git_dir, mtime, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(remote: &str, reference: Option<&str>, subdir: Option<&str>) -> Option<GitRef> {
        Some(GitRef {
            remote: remote.to_string(),
            reference: reference.map(str::to_string),
            subdir: subdir.map(str::to_string),
        })
    }

    /// The cases of BuildKit's gitutil TestParseGitRef that ADD meets.
    #[test]
    fn git_refs_as_buildkit_parses_them() {
        let gh = "https://github.com/moby/buildkit.git";
        assert_eq!(
            parse(&format!("{gh}#v0.10.1")),
            r(gh, Some("v0.10.1"), None)
        );
        assert_eq!(
            parse(&format!("{gh}#main:docs")),
            r(gh, Some("main"), Some("docs"))
        );
        assert_eq!(parse(&format!("{gh}#:docs")), r(gh, None, Some("docs")));
        assert_eq!(parse(gh), r(gh, None, None));
        assert_eq!(
            parse("git@github.com:moby/buildkit.git#v1:sub"),
            r("git@github.com:moby/buildkit.git", Some("v1"), Some("sub"))
        );
        assert_eq!(parse("git://h/repo#t"), r("git://h/repo", Some("t"), None));
        assert_eq!(parse("ssh://git@h/repo"), r("ssh://git@h/repo", None, None));
        assert_eq!(parse("https://github.com/moby/buildkit"), None);
        assert_eq!(parse("http://h/file.tar.gz"), None);
        assert_eq!(parse("file:///srv/repo.git"), None);
        assert_eq!(parse("./repo.git"), None);
        assert_eq!(parse("src/a@b:c"), None);
    }
}
