//! Unit tests of the `context` module.

use super::entry::host_specific_xattr;
use super::*;
use crate::layer::EntryKind;
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
    assert_eq!(e[0].file.real(), "src/sub/c.txt");
}

#[test]
fn walk_lists_sorted_and_filters() {
    let (_d, c) = ctx();
    let dir = c.resolve_source("src").unwrap().remove(0);
    let rels: Vec<String> = c.walk(&dir).unwrap().into_iter().map(|e| e.rel).collect();
    assert_eq!(rels, vec!["a.txt", "sub", "sub/c.txt"]);
}

fn rels(entries: Vec<ContextEntry>) -> Vec<String> {
    entries.into_iter().map(|e| e.rel).collect()
}

fn context_with(files: &[&str], ignore: &str) -> (tempfile::TempDir, BuildContext) {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        let p = dir.path().join(f);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, f).unwrap();
    }
    fs::write(dir.path().join(".dockerignore"), ignore).unwrap();
    let c = BuildContext::open(dir.path(), None).unwrap();
    (dir, c)
}

/// fsutil sends the parents of a re-included path even though a
/// pattern excludes them, so the directory exists for COPY.
#[test]
fn re_included_paths_keep_their_parent_directories() {
    let (_d, c) = context_with(
        &[
            "folder1/file1",
            "folder1/file2",
            "a/b/c.txt",
            "a/b/d.txt",
            "top",
        ],
        "**\n!folder1/file1\n!a/b/c.txt\n",
    );
    let dir = c.resolve_source("folder1").unwrap().remove(0);
    assert_eq!(dir.kind, ContextKind::Dir);
    assert_eq!(rels(c.walk(&dir).unwrap()), ["file1"]);
    let root = c.resolve_source(".").unwrap().remove(0);
    assert_eq!(
        rels(c.walk(&root).unwrap()),
        ["a", "a/b", "a/b/c.txt", "folder1", "folder1/file1"]
    );
    assert_eq!(rels(c.resolve_source("*/b").unwrap()), ["a/b"]);
    assert!(matches!(
        c.resolve_source("top"),
        Err(ContextError::NotFound(_))
    ));
    assert!(matches!(
        c.resolve_source("folder1/file2"),
        Err(ContextError::NotFound(_))
    ));
}

/// fsutil matches the rest of a wildcard source against every path
/// below its base: a file whose name matches a directory segment is
/// simply not a match (not "Not a directory").
#[test]
fn wildcards_walk_past_files() {
    let (_d, c) = context_with(
        &[
            "README",
            "x.txt",
            "d/sub/a.txt",
            "d/sub/b.md",
            "e/package.json",
            "package.json",
        ],
        "",
    );
    assert_eq!(
        rels(c.resolve_source("**/sub/*.txt").unwrap()),
        ["d/sub/a.txt"]
    );
    assert_eq!(
        rels(c.resolve_source("*/package.json").unwrap()),
        ["e/package.json"]
    );
    assert_eq!(
        rels(c.resolve_source("x.txt/*").unwrap()),
        Vec::<String>::new()
    );
    assert!(matches!(
        c.resolve_source("x.txt/y"),
        Err(ContextError::NotFound(_))
    ));
}

/// fsutil's containsWildcards skips escaped characters: a component
/// whose only wildcards are escaped is a literal name (backslash and
/// all); one with another wildcard is a pattern where `\?` is a `?`.
#[test]
fn escaped_wildcards() {
    let (_d, c) = context_with(&["app/nope/file.txt", "app/n?pe/file.txt"], "");
    assert!(matches!(
        c.resolve_source("app/n\\?pe/file.txt"),
        Err(ContextError::NotFound(_))
    ));
    assert_eq!(
        rels(c.resolve_source("app/n\\?p*/file.txt").unwrap()),
        ["app/n?pe/file.txt"]
    );
    assert_eq!(
        rels(c.resolve_source("app/n?pe/file.txt").unwrap()),
        ["app/n?pe/file.txt", "app/nope/file.txt"]
    );
    assert!(!has_wildcard("n\\?pe"));
    assert!(has_wildcard("n\\?p*"));
}

fn mkfifo(path: &Path, mode: &str) {
    let ok = std::process::Command::new("mkfifo")
        .args(["-m", mode])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

#[test]
fn sockets_and_fifos_are_entries() {
    let dir = tempfile::tempdir().unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(dir.path().join("sock")).unwrap();
    mkfifo(&dir.path().join("fifo"), "640");
    let c = BuildContext::open(dir.path(), None).unwrap();
    assert_eq!(
        c.resolve_source("sock").unwrap()[0].kind,
        ContextKind::Socket
    );
    let f = c.resolve_source("fifo").unwrap().remove(0);
    assert_eq!(
        (f.kind, f.mode),
        (ContextKind::Special(EntryKind::Fifo), 0o640)
    );
}

#[test]
fn ignore_files_that_are_not_regular_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    mkfifo(&r.join(".dockerignore"), "644");
    let err = BuildContext::open(r, None).unwrap_err().to_string();
    assert!(
        err.contains(".dockerignore") && err.contains("a fifo"),
        "{err}"
    );

    fs::remove_file(r.join(".dockerignore")).unwrap();
    fs::create_dir(r.join(".dockerignore")).unwrap();
    let err = BuildContext::open(r, None).unwrap_err().to_string();
    assert!(err.contains("a directory"), "{err}");
    fs::remove_dir(r.join(".dockerignore")).unwrap();

    let outside = tempfile::NamedTempFile::new().unwrap();
    fs::write(outside.path(), "*\n").unwrap();
    symlink(outside.path(), r.join(".dockerignore")).unwrap();
    let err = BuildContext::open(r, None).unwrap_err().to_string();
    assert!(err.contains("outside the build context"), "{err}");
    fs::remove_file(r.join(".dockerignore")).unwrap();
    symlink("../../../../../../../etc/passwd", r.join(".dockerignore")).unwrap();
    assert!(BuildContext::open(r, None).is_err());

    // a link inside the context is followed
    fs::remove_file(r.join(".dockerignore")).unwrap();
    fs::write(r.join("ignore-rules"), "secret\n").unwrap();
    fs::write(r.join("secret"), "s").unwrap();
    symlink("ignore-rules", r.join(".dockerignore")).unwrap();
    let c = BuildContext::open(r, None).unwrap();
    assert!(c.is_excluded("secret").unwrap());
}

#[test]
fn user_xattrs_are_read_and_host_ones_dropped() {
    assert!(host_specific_xattr("security.selinux"));
    assert!(host_specific_xattr("trusted.overlay.opaque"));
    assert!(!host_specific_xattr("user.foo"));
    assert!(!host_specific_xattr("security.capability"));
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    fs::write(&f, "x").unwrap();
    if let Err(e) = xattr::set(&f, "user.foo", b"bar") {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "user xattrs refused in CI: {e}"
        );
        eprintln!("skipping: the temp filesystem refuses user xattrs ({e})");
        return;
    }
    let c = BuildContext::open(dir.path(), None).unwrap();
    let e = c.resolve_source("f").unwrap().remove(0);
    assert_eq!(e.xattrs, [("user.foo".to_string(), b"bar".to_vec())]);
}

/// What the walk planned is what is read: a directory or a file swapped
/// for a link (or for another file) afterwards is an error, never followed.
#[test]
fn swapped_for_links_after_the_walk_is_an_error() {
    let (dir, c) = ctx();
    let outside = tempfile::tempdir().unwrap();
    fs::create_dir(outside.path().join("sub")).unwrap();
    fs::write(outside.path().join("a.txt"), "o").unwrap();
    let r = dir.path();
    let src = c.resolve_source("src").unwrap().remove(0);
    let top = c.resolve_source("top").unwrap().remove(0);
    fs::rename(r.join("src"), r.join("src.moved")).unwrap();
    symlink(outside.path(), r.join("src")).unwrap();
    let e = c.walk(&src).unwrap_err().to_string();
    assert!(
        e.contains("src") && e.contains("changed during the build"),
        "{e}"
    );
    // the same directory moved back is the same directory
    fs::remove_file(r.join("src")).unwrap();
    fs::rename(r.join("src.moved"), r.join("src")).unwrap();
    assert_eq!(c.walk(&src).unwrap().len(), 3);
    let a = c.walk(&src).unwrap().remove(0);
    fs::remove_file(r.join("src/a.txt")).unwrap();
    symlink(outside.path().join("a.txt"), r.join("src/a.txt")).unwrap();
    let e = a.file.open().unwrap_err().to_string();
    assert!(e.contains("changed during the build"), "{e}");
    fs::write(r.join("top.new"), "t").unwrap();
    fs::rename(r.join("top.new"), r.join("top")).unwrap();
    let e = top.file.open().unwrap_err().to_string();
    assert!(e.contains("changed during the build"), "{e}");
}

/// Names are listed by their bytes: `n\xff` and `n\u{FFFD}` are two.
#[test]
fn names_that_are_not_utf8_are_walked_apart() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    fs::create_dir(r.join("d")).unwrap();
    fs::write(r.join("d").join(std::ffi::OsStr::from_bytes(b"n\xff")), "1").unwrap();
    fs::write(r.join("d/n\u{FFFD}"), "2").unwrap();
    let c = BuildContext::open(r, None).unwrap();
    let d = c.resolve_source("d").unwrap().remove(0);
    let names: Vec<Vec<u8>> = c
        .walk(&d)
        .unwrap()
        .iter()
        .map(|e| crate::layer::names::encode(&e.rel).into_owned())
        .collect();
    assert_eq!(names, vec![b"n\xef\xbf\xbd".to_vec(), b"n\xff".to_vec()]);
    assert_eq!(c.resolve_source("d/n*").unwrap().len(), 2);
}
