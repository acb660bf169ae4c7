//! The distribution maintainer's flow: a real debian minbase rootfs made by
//! mmdebstrap, `ADD rootfs.tar.xz /` into a `FROM scratch` image, run by
//! podman; the image's filesystem equals the tarball's entry by entry.
//! Then an archive ADDed on top of it lands where debian's merged-/usr and
//! /var/run symlinks lead, and the image's binaries still run.
//!
//! mmdebstrap needs a Debian mirror and about a minute and a half, so the
//! test runs in CI (CI=true), or when MINIBUILD_ROOTFS names an existing
//! rootfs tarball, or when examples/debian/rootfs.tar.xz exists.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) fn rootfs(work: &Path) -> Option<PathBuf> {
    if let Ok(p) = std::env::var("MINIBUILD_ROOTFS") {
        return Some(PathBuf::from(p));
    }
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/debian/rootfs.tar.xz");
    if shipped.exists() {
        return Some(shipped);
    }
    if !in_ci() {
        eprintln!("skipping: no rootfs (CI makes one with mmdebstrap; or run examples/debian/make-rootfs.sh)");
        return None;
    }
    assert!(have("mmdebstrap"));
    let out = work.join("rootfs.tar.xz");
    run_ok(
        Command::new("mmdebstrap")
            .args(["--variant=minbase", "--quiet", "bookworm"])
            .arg(&out)
            .arg("http://deb.debian.org/debian"),
    );
    Some(out)
}

#[test]
fn debian_minbase_from_add_rootfs_runs_and_matches_the_tarball() {
    let w = Work::new();
    let Some(rootfs) = rootfs(w.dir.path()) else {
        return;
    };
    std::fs::copy(&rootfs, w.ctx().join("rootfs.tar.xz")).unwrap();
    w.dockerfile("FROM scratch\nADD rootfs.tar.xz /\nCMD [\"bash\"]\n");
    let out = w.build_oci("debian:minbase", &[]);
    validate(&out);
    // the image's filesystem is the tarball's, entry by entry
    let tar = Command::new("xz").arg("-dc").arg(&rootfs).output().unwrap();
    assert!(tar.status.success());
    let mut expected = std::collections::BTreeMap::new();
    apply_tar(&mut expected, &tar.stdout);
    let got = merged_fs(&out, "debian:minbase");
    let mut diffs = Vec::new();
    for k in expected
        .keys()
        .chain(got.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        if expected.get(k) != got.get(k) {
            diffs.push(format!(
                "{k}: tarball {:?} image {:?}",
                expected.get(k),
                got.get(k)
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences, first: {:#?}",
        diffs.len(),
        &diffs[..diffs.len().min(5)]
    );
    assert!(
        expected.len() > 5000,
        "a minbase rootfs has thousands of entries"
    );
    if have("podman") && have("runc") {
        let v = podman_run(
            w.dir.path(),
            &out,
            "debian:minbase",
            &["cat", "/etc/debian_version"],
        );
        assert!(v.trim().starts_with("12."), "{v}");
    }
    add_through_the_debian_symlinks(&w, &out);
}

/// `ADD payload.tar /` on the debian image, with `lib/...` and
/// `var/run/...` entries: they land in /usr/lib and /run, and /lib stays
/// the symlink every binary's loader path goes through.
fn add_through_the_debian_symlinks(w: &Work, base: &Path) {
    let got = merged_fs(base, "debian:minbase");
    assert_eq!(got["lib"].link, "usr/lib", "a merged-/usr base");
    assert_eq!(got["var/run"].link, "/run");
    let mut b = tar::Builder::new(Vec::new());
    for (path, body) in [
        ("./lib/minibuild-test/marker", "lib\n"),
        ("./var/run/minibuild/marker", "run\n"),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_cksum();
        b.append_data(&mut h, path, body.as_bytes()).unwrap();
    }
    std::fs::remove_file(w.ctx().join("rootfs.tar.xz")).unwrap();
    w.file("payload.tar", b.into_inner().unwrap());
    w.dockerfile(&format!(
        "FROM oci:{}:debian:minbase\nADD payload.tar /\n",
        base.display()
    ));
    let out = w.path("added");
    let o = w.run(&[
        "build",
        "-o",
        &format!("oci:{}:debian:added", out.display()),
        w.ctx().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    validate(&out);
    let fs = merged_fs(&out, "debian:added");
    assert_eq!(fs["lib"].kind, "symlink");
    assert_eq!(fs["var/run"].kind, "symlink");
    assert_eq!(fs["usr/lib/minibuild-test/marker"].kind, "file");
    assert_eq!(fs["run/minibuild/marker"].kind, "file");
    // the base's libraries are still there, behind the symlink
    assert!(fs
        .keys()
        .any(|k| k.starts_with("usr/lib/") && k.ends_with("/libc.so.6")));
    if have("podman") && have("runc") {
        // /bin/cat is debian's: it loads through /lib64 and /lib
        let v = podman_run(
            w.dir.path(),
            &out,
            "debian:added",
            &[
                "cat",
                "/lib/minibuild-test/marker",
                "/var/run/minibuild/marker",
            ],
        );
        assert_eq!(v, "lib\nrun\n");
    }
}
