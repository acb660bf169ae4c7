//! `ADD <git ref> <dest>` against a `git daemon` the test runs on
//! 127.0.0.1 over a repository it makes (two commits, a tag, a branch, a
//! subdir, an executable, a symlink): the tree lands at dest with git's
//! modes and no `.git` (unless `--keep-git-dir=true`), `#tag`, `#branch`,
//! `#commit` and `#ref:subdir` pick what lands, `--checksum` is the
//! commit, a wrong ref fails naming the line, and SOURCE_DATE_EPOCH
//! builds are reproducible (commit-time mtimes, as BuildKit's git.mtime).

use crate::common::{have, layer_tar, manifest_of, stderr, Work};
use std::path::Path;
use std::process::{Child, Command};

/// A `git daemon` serving the repositories below a directory; killed
/// when dropped.
struct Daemon {
    child: Child,
    port: u16,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_DATE", "2020-01-02T03:04:05Z")
        .env("GIT_COMMITTER_DATE", "2020-01-02T03:04:05Z")
        .output()
        .unwrap();
    assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// Makes `base/repo.git`: commit one (`old.txt`, tagged `v1`), then on
/// `main` commit two (`run.sh` executable, `link -> run.sh`,
/// `sub/deep/f.txt`), and a branch `side` with `side.txt`. Returns the
/// first commit.
fn make_repo(base: &Path) -> String {
    let repo = base.join("repo.git");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["config", "user.email", "t@example.com"]);
    git(&repo, &["config", "user.name", "t"]);
    std::fs::write(repo.join("old.txt"), "one\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "one"]);
    let first = git(&repo, &["rev-parse", "HEAD"]);
    git(&repo, &["tag", "v1"]);
    std::fs::write(repo.join("run.sh"), "#!/bin/sh\necho hi\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(repo.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("run.sh", repo.join("link")).unwrap();
    std::fs::create_dir_all(repo.join("sub/deep")).unwrap();
    std::fs::write(repo.join("sub/deep/f.txt"), "deep\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "two"]);
    git(&repo, &["checkout", "-q", "-b", "side"]);
    std::fs::write(repo.join("side.txt"), "side\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "side"]);
    git(&repo, &["checkout", "-q", "main"]);
    first
}

/// Starts `git daemon` over `base`, waiting (bounded) until it accepts.
fn daemon(base: &Path) -> Daemon {
    std::fs::create_dir_all(base).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // git-daemon itself: `git daemon` runs it as a child, which killing
    // `git` would leave behind
    let exec_path = git(base, &["--exec-path"]);
    let child = Command::new(Path::new(&exec_path).join("git-daemon"))
        .args(["--listen=127.0.0.1", "--reuseaddr", "--export-all"])
        .arg(format!("--port={port}"))
        .arg(format!("--base-path={}", base.display()))
        .arg(base)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let d = Daemon { child, port };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return d;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("git daemon did not listen on {port} within 5s");
}

/// (path, mode, mtime, link target) of every entry of the last layer.
fn last_layer(out: &Path, name: &str) -> Vec<(String, u32, u64, String)> {
    let m = manifest_of(out, name);
    let bytes = layer_tar(out, m["layers"].as_array().unwrap().last().unwrap());
    let mut tar = tar::Archive::new(&bytes[..]);
    let entries = tar.entries().unwrap();
    entries
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            let link = h.link_name().unwrap().map(|l| l.display().to_string());
            (
                e.path()
                    .unwrap()
                    .display()
                    .to_string()
                    .trim_end_matches('/')
                    .to_string(),
                h.mode().unwrap(),
                h.mtime().unwrap(),
                link.unwrap_or_default(),
            )
        })
        .collect()
}

fn paths(entries: &[(String, u32, u64, String)]) -> Vec<&str> {
    entries.iter().map(|e| e.0.as_str()).collect()
}

/// The repository served, its URL and its first commit.
fn served() -> Option<(Work, Daemon, String, String)> {
    if !have("git") {
        return None;
    }
    let w = Work::new();
    let base = w.path("git");
    let first = make_repo(&base);
    let d = daemon(&base);
    let url = format!("git://127.0.0.1:{}/repo.git", d.port);
    Some((w, d, url, first))
}

#[test]
fn a_git_ref_lands_with_git_modes_and_no_git_dir() {
    let Some((w, _d, url, _)) = served() else {
        return;
    };
    w.dockerfile(&format!("FROM scratch\nADD {url} /src\n"));
    let out = w.build_oci("g", &[]);
    let e = last_layer(&out, "g");
    let find = |p: &str| {
        e.iter()
            .find(|x| x.0 == p)
            .unwrap_or_else(|| panic!("{p} in {e:?}"))
    };
    assert_eq!(find("src/run.sh").1, 0o755);
    assert_eq!(find("src/old.txt").1, 0o644);
    assert_eq!(find("src/sub/deep").1, 0o755);
    assert_eq!(find("src/link").3, "run.sh");
    assert!(find("src/sub/deep/f.txt").0.ends_with("f.txt"));
    assert!(!paths(&e).iter().any(|p| p.contains(".git")), "{e:?}");
    assert!(!paths(&e).contains(&"src/side.txt"), "HEAD is main: {e:?}");
}

#[test]
fn tags_branches_commits_and_subdirs_pick_the_tree() {
    let Some((w, _d, url, first)) = served() else {
        return;
    };
    let cases = [
        (format!("{url}#v1"), vec!["a/old.txt"], "a/run.sh"),
        (
            format!("{url}#side"),
            vec!["a/side.txt", "a/run.sh"],
            "a/none",
        ),
        (format!("{url}#{first}"), vec!["a/old.txt"], "a/run.sh"),
        (format!("{url}#main:sub"), vec!["a/deep/f.txt"], "a/old.txt"),
    ];
    for (src, present, absent) in cases {
        w.dockerfile(&format!("FROM scratch\nADD {src} /a/\n"));
        let out = w.build_oci("g", &[]);
        let e = last_layer(&out, "g");
        for p in &present {
            assert!(paths(&e).contains(p), "{src}: {p} in {e:?}");
        }
        assert!(!paths(&e).contains(&absent), "{src}: no {absent} in {e:?}");
    }
}

#[test]
fn keep_git_dir_and_checksum_are_the_commit() {
    let Some((w, _d, url, first)) = served() else {
        return;
    };
    w.dockerfile(&format!(
        "FROM scratch\nADD --keep-git-dir=true --checksum={first} {url}#v1 /a\n"
    ));
    let out = w.build_oci("g", &[]);
    let e = last_layer(&out, "g");
    assert!(paths(&e).contains(&"a/.git/HEAD"), "{e:?}");
    let wrong = "0123456789abcdef0123456789abcdef01234567";
    w.dockerfile(&format!(
        "FROM scratch\n\nADD --checksum={wrong} {url}#v1 /a\n"
    ));
    let ctx = w.ctx().display().to_string();
    let o = w.run(&["build", &ctx]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(wrong) && err.contains(&first), "{err}");
    assert!(err.contains("Dockerfile:3"), "{err}");
}

#[test]
fn a_wrong_ref_fails_naming_the_line() {
    let Some((w, _d, url, _)) = served() else {
        return;
    };
    w.dockerfile(&format!("FROM scratch\nADD {url}#no-such-ref /a\n"));
    let ctx = w.ctx().display().to_string();
    let o = w.run(&["build", &ctx]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("Dockerfile:2") && err.contains("no-such-ref"),
        "{err}"
    );
    w.dockerfile(&format!("FROM scratch\nADD {url}#main:nowhere /a\n"));
    let err = stderr(&w.run(&["build", &ctx]));
    assert!(
        err.contains("Dockerfile:2") && err.contains("nowhere"),
        "{err}"
    );
}

#[test]
fn source_date_epoch_builds_are_reproducible() {
    let Some((w, _d, url, _)) = served() else {
        return;
    };
    w.dockerfile(&format!("FROM scratch\nADD {url}#main /a\n"));
    let epoch = ["--source-date-epoch", "1700000000"];
    let one = manifest_of(&w.build_oci("one", &epoch), "one");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let two = manifest_of(&w.build_oci("two", &epoch), "two");
    assert_eq!(one["layers"], two["layers"]);
    assert_eq!(one["config"], two["config"]);
    let e = last_layer(&w.path("out"), "one");
    // commit time (2020-01-02T03:04:05Z), under the epoch
    assert!(
        e.iter()
            .filter(|x| x.0.starts_with("a/"))
            .all(|x| x.2 == 1_577_934_245),
        "{e:?}"
    );
}
