//! The distribution maintainer's flow: a real debian minbase rootfs made by
//! mmdebstrap, `ADD rootfs.tar.xz /` into a `FROM scratch` image, run by
//! podman; the image's filesystem equals the tarball's entry by entry.
//!
//! mmdebstrap needs a Debian mirror and about a minute and a half, so the
//! test runs in CI (CI=true), or when MINIBUILD_ROOTFS names an existing
//! rootfs tarball, or when examples/debian/rootfs.tar.xz exists.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn rootfs(work: &Path) -> Option<PathBuf> {
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
}
