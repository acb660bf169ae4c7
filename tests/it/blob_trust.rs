//! Blobs taken from another layout are not trusted (issue #15): `FROM
//! oci:DIR` copies each blob (never a hard link that a later edit of DIR
//! would change), never follows a blob that is a symbolic link, and
//! commits a blob only when its bytes hash to its name.

use crate::common::*;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A one-layer base image in `oci:base:b`; the path of its layer blob.
fn base_image(w: &Work) -> (PathBuf, PathBuf) {
    w.file("a.txt", "base content\n");
    w.dockerfile("FROM scratch\nCOPY a.txt /\n");
    let base = w.path("base");
    let o = w.run(&[
        "build",
        "-o",
        &format!("oci:{}:b", base.display()),
        w.ctx().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = manifest_of(&base, "b");
    let hex = m["layers"][0]["digest"].as_str().unwrap()[7..].to_string();
    let layer = base.join("blobs/sha256").join(hex);
    (base, layer)
}

fn build_on(w: &Work, base: &Path) -> std::process::Output {
    w.dockerfile(&format!("FROM oci:{}:b\nENV X=1\n", base.display()));
    w.run(&["build", "-t", "on:1", w.ctx().to_str().unwrap()])
}

#[test]
fn from_a_layout_copies_blobs_and_never_links_them() {
    let w = Work::new();
    let (base, layer) = base_image(&w);
    let o = build_on(&w, &base);
    assert!(o.status.success(), "{}", stderr(&o));
    let stored = w
        .path("store/blobs/sha256")
        .join(layer.file_name().unwrap());
    let (a, b) = (
        std::fs::metadata(&layer).unwrap(),
        std::fs::metadata(&stored).unwrap(),
    );
    assert_ne!(
        (a.dev(), a.ino()),
        (b.dev(), b.ino()),
        "the store's blob is a hard link"
    );
    validate(&w.path("store"));
}

#[test]
fn a_symlinked_or_altered_base_blob_is_refused() {
    // a blob that is a symbolic link to a host file
    let w = Work::new();
    let (base, layer) = base_image(&w);
    let copy = w.path("real-layer");
    std::fs::copy(&layer, &copy).unwrap();
    std::fs::remove_file(&layer).unwrap();
    std::os::unix::fs::symlink(&copy, &layer).unwrap();
    let o = build_on(&w, &base);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not a regular file (a symbolic link)"),
        "{}",
        stderr(&o)
    );

    // a blob whose bytes were changed after it was written
    let w = Work::new();
    let (base, layer) = base_image(&w);
    let mut bytes = std::fs::read(&layer).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&layer, &bytes).unwrap();
    let o = build_on(&w, &base);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("expected"), "{}", stderr(&o));
    // nothing was written to the store
    assert!(!w.path("store").exists());
}
