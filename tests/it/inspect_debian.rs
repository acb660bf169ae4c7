//! A learner's debian image: the rootfs layer (thousands of entries)
//! listed exactly as `tar -tvf` lists its blob, verified, and drawn as a
//! page that stays usable (collapsed until opened). Runs where the debian
//! test runs (CI, or with MINIBUILD_ROOTFS naming a rootfs tarball).

use crate::common::inspect::chromium;
use crate::common::inspect::{assert_matches_tar, files_by_digest, layers_json};
use crate::common::{have, Work};

#[test]
fn a_debian_rootfs_image_is_listed_verified_and_drawn() {
    let w = Work::new();
    let Some(rootfs) = crate::debian::rootfs(w.dir.path()) else {
        return;
    };
    std::fs::copy(&rootfs, w.ctx().join("rootfs.tar.xz")).unwrap();
    w.dockerfile("FROM scratch\nADD rootfs.tar.xz /\nCMD [\"bash\"]\n");
    let out = w.build_oci("debian:minbase", &[]);
    let source = format!("oci:{}:debian:minbase", out.display());

    let started = std::time::Instant::now();
    let r = layers_json(&w.path("store"), &source);
    let listed = started.elapsed();
    let n = assert_matches_tar(&r, &files_by_digest(&out.join("blobs")));
    assert!(n > 5000, "{n} entries: a rootfs has thousands");
    let o = w.run(&["verify", &source]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));

    if !have("chromium") {
        return;
    }
    let page = w.path("debian.html");
    w.ok(&["inspect", "--html", &page.display().to_string(), &source]);
    let started = std::time::Instant::now();
    let dom = chromium(&w, &page, &["--dump-dom"]);
    eprintln!(
        "{n} entries: listed in {listed:?}, page rendered in {:?} ({} bytes)",
        started.elapsed(),
        std::fs::metadata(&page).unwrap().len()
    );
    assert!(dom.contains("<h2>layer 0</h2>") && dom.contains("ADD rootfs.tar.xz /"));
    let items = dom.matches("<li").count();
    assert!(
        items < 200,
        "{items} list items drawn before anything is opened"
    );
}
