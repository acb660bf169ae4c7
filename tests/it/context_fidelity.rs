//! The build context as BuildKit receives it (fsutil) and copies from it:
//! `.dockerignore` re-includes, wildcard walks, escapes, extended
//! attributes, special files, and ignore files that are not files.

use crate::common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Builds the work dir's context with minibuild and buildah and asserts
/// the merged filesystems agree; returns minibuild's, or `None` when
/// buildah is missing (outside CI).
fn same_as_buildah(w: &Work) -> Option<BTreeMap<String, Node>> {
    let ours = w.build_oci("case:1", &[]);
    validate(&ours);
    let a = merged_fs(&ours, "case:1");
    if !have("buildah") {
        return Some(a);
    }
    let theirs = buildah_build(w.dir.path(), &w.ctx(), "case:1", &[]);
    let b = merged_fs(&theirs, "case:1");
    assert_eq!(a, b, "minibuild and buildah disagree");
    Some(a)
}

fn built(w: &Work) -> BTreeMap<String, Node> {
    let out = w.build_oci("case:1", &[]);
    validate(&out);
    merged_fs(&out, "case:1")
}

fn paths(fs: &BTreeMap<String, Node>) -> Vec<&str> {
    fs.keys().map(String::as_str).collect()
}

fn content_of(fs: &BTreeMap<String, Node>, path: &str, want: &str) {
    let node = fs
        .get(path)
        .unwrap_or_else(|| panic!("no {path} in {fs:?}"));
    assert_eq!(node.kind, "file", "{path}");
    assert_eq!(node.size, want.len() as u64, "{path}");
}

/// `**` then `!folder1/file1`: fsutil sends folder1 (the parent of what an
/// exception re-includes), so `COPY folder1` finds it and copies file1.
#[test]
fn re_included_file_under_excluded_directory() {
    let w = Work::new();
    w.file(".dockerignore", "**\n!folder1/file1\n!Dockerfile\n");
    w.file("folder1/file1", "one\n");
    w.file("folder1/file2", "two\n");
    w.file("other", "o");
    w.dockerfile("FROM scratch\nCOPY folder1 /f1\n");
    let fs = same_as_buildah(&w).unwrap();
    assert_eq!(paths(&fs), ["f1", "f1/file1"]);
    content_of(&fs, "f1/file1", "one\n");
}

/// A wildcard segment that matches a regular file does not match below
/// it (fsutil's resolveWildcards walks the tree, matching whole paths).
#[test]
fn wildcard_segments_walk_past_regular_files() {
    let w = Work::new();
    w.file("README", "r");
    w.file("notes.txt", "n");
    w.file("a/sub/one.txt", "1");
    w.file("a/sub/skip.md", "s");
    w.file("b/package.json", "{}");
    w.file("package.json", "{\"root\":1}");
    w.dockerfile("FROM scratch\nCOPY **/sub/*.txt /\nCOPY */package.json /x/\n");
    let fs = same_as_buildah(&w).unwrap();
    assert_eq!(paths(&fs), ["one.txt", "x", "x/package.json"]);
    content_of(&fs, "x/package.json", "{}");
}

/// BuildKit's lexer turns `n\\?p*` into `n\?p*`, a pattern (it has a `*`)
/// whose `\?` matches a literal `?`: only `n?pe` matches. `n\\?pe` becomes
/// `n\?pe`, which fsutil's containsWildcards (copy/copy.go) does not count
/// as a wildcard: it names a file called `n\?pe`, absent here. buildah
/// 1.28 copies from `nope` in both cases; this follows BuildKit (the
/// nearest BuildKit test is testCopyWildcards in
/// frontend/dockerfile/dockerfile_copy_test.go).
#[test]
fn escaped_wildcards_follow_fsutil() {
    let w = Work::new();
    w.file("app/nope/file.txt", "nope\n");
    w.file("app/n?pe/file.txt", "literal\n");
    w.dockerfile("FROM scratch\nCOPY ./app/n\\\\?p*/file.txt /\n");
    content_of(&built(&w), "file.txt", "literal\n");

    w.dockerfile("FROM scratch\nCOPY ./app/n\\\\?pe/file.txt /\n");
    let o = w.run(&["build", "-o", "oci:out2:x", &w.ctx().to_string_lossy()]);
    assert!(!o.status.success(), "a literal n\\?pe must not match");
    assert!(
        stderr(&o).contains("app/n\\?pe/file.txt: not found in the build context"),
        "{}",
        stderr(&o)
    );
}

/// fsutil's stat_unix.go reads every extended attribute (llistxattr) and
/// its tar writer sends them as SCHILY.xattr records; COPY keeps them.
#[test]
fn user_xattrs_reach_the_layer() {
    let w = Work::new();
    let file = w.file("d/tagged", "t");
    w.file("single", "s");
    let single = w.ctx().join("single");
    for p in [&file, &single] {
        if let Err(e) = xattr::set(p, "user.foo", b"bar") {
            assert!(!in_ci(), "user xattrs are refused by {}: {e}", p.display());
            eprintln!("skipping: the temp filesystem refuses user xattrs ({e})");
            return;
        }
    }
    w.dockerfile("FROM scratch\nCOPY d /d/\nCOPY single /\n");
    let fs = built(&w);
    let want = vec![("user.foo".to_string(), b"bar".to_vec())];
    assert_eq!(fs["d/tagged"].xattrs, want);
    assert_eq!(fs["single"].xattrs, want);
}

/// fsutil clears a socket's type bit (stat.go; its TestStat expects mode
/// 0755 for "sock"), so BuildKit copies it as an empty regular file. A
/// fifo is sent as a fifo and copied as one.
#[test]
fn sockets_become_empty_files_and_fifos_stay_fifos() {
    let w = Work::new();
    let ctx = w.ctx();
    std::fs::create_dir_all(ctx.join("d")).unwrap();
    let _l = std::os::unix::net::UnixListener::bind(ctx.join("d/sock")).unwrap();
    mkfifo(&ctx.join("pipe"));
    w.dockerfile("FROM scratch\nCOPY d /d/\nCOPY pipe /named-pipe\n");
    let fs = built(&w);
    assert_eq!(fs["d/sock"].kind, "file");
    assert_eq!(fs["d/sock"].size, 0);
    assert_eq!(fs["named-pipe"].kind, "fifo");
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

/// filepath.Walk's error on an unreadable directory ends fsutil's
/// resolveWildcards: `COPY closed/* /x/` fails naming the directory
/// instead of copying nothing.
#[test]
fn wildcard_over_an_unreadable_directory_is_an_error() {
    let w = Work::new();
    w.file("closed/secret", "s");
    w.dockerfile("FROM scratch\nCOPY closed/* /x/\n");
    let closed = w.ctx().join("closed");
    std::fs::set_permissions(&closed, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    let mut cmd = minibuild();
    // root reads any directory: drop the capabilities that let it
    if unsafe { libc::geteuid() } == 0 {
        if !have("setpriv") {
            return;
        }
        cmd = Command::new("setpriv");
        cmd.args([
            "--inh-caps=-dac_override,-dac_read_search",
            "--bounding-set=-dac_override,-dac_read_search",
            env!("CARGO_BIN_EXE_minibuild"),
        ]);
    }
    let o = cmd
        .args(["build", "-o", "oci:out:x"])
        .arg(w.ctx())
        .env("MINIBUILD_STORE", w.path("store"))
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    std::fs::set_permissions(&closed, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    assert!(!o.status.success(), "copied from an unreadable directory");
    let err = stderr(&o);
    assert!(
        err.contains("closed") && err.contains("Permission denied"),
        "{err}"
    );
}

/// Runs a build that must fail, bounded in time (a fifo read blindly
/// would block forever); its stderr.
fn failing_build(w: &Work) -> String {
    let mut child = minibuild()
        .args(["build", "-o", "oci:out:x"])
        .arg(w.ctx())
        .env("MINIBUILD_STORE", w.path("store"))
        .current_dir(w.dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("minibuild did not finish in 30s (reading a fifo?)");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    assert!(!o.status.success(), "the build succeeded");
    stderr(&o)
}

#[test]
fn a_dockerignore_fifo_is_refused_not_read() {
    let w = Work::new();
    w.file("a", "a");
    w.dockerfile("FROM scratch\nCOPY a /\n");
    mkfifo(&w.ctx().join(".dockerignore"));
    let err = failing_build(&w);
    assert!(
        err.contains(".dockerignore") && err.contains("a fifo, not a regular file"),
        "{err}"
    );
}

#[test]
fn a_dockerignore_linking_out_of_the_context_is_refused() {
    let w = Work::new();
    w.file("a", "a");
    w.dockerfile("FROM scratch\nCOPY a /\n");
    std::fs::write(w.path("outside-rules"), "a\n").unwrap();
    std::os::unix::fs::symlink("../outside-rules", w.ctx().join(".dockerignore")).unwrap();
    let err = failing_build(&w);
    assert!(
        err.contains(".dockerignore") && err.contains("outside the build context"),
        "{err}"
    );
}
