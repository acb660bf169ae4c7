//! The OCI layout store: tagging, resolving, pruning, corruption, concurrency.

use crate::common::handmade::*;
use crate::common::validate;
use minibuild::dest::{commands, export, fetch_image, DestError, Layout, Location, PushOptions};
use minibuild::oci::ANNOTATION_REF_NAME;
use std::collections::BTreeSet;

/// `minibuild inspect NAME` on the store `store`, through the library.
fn inspect_stored(store: &Layout, name: &str, out: &mut Vec<u8>) {
    let req = minibuild::inspect::Request {
        source: name.to_string(),
        store: store.root().to_path_buf(),
        platform: None,
        registry: PushOptions::default(),
        view: minibuild::inspect::View::Summary,
        format: minibuild::inspect::Format::Text,
        html: None,
    };
    assert!(minibuild::inspect::run(&req, out).unwrap());
}

fn names(layout: &Layout) -> BTreeSet<String> {
    layout
        .index()
        .unwrap()
        .manifests
        .iter()
        .map(|d| d.annotations.as_ref().unwrap()[ANNOTATION_REF_NAME].clone())
        .collect()
}

fn blob_count(layout: &Layout) -> usize {
    std::fs::read_dir(layout.root().join("blobs/sha256"))
        .unwrap()
        .count()
}

#[test]
fn tag_replace_and_prune() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let a = tiny_image(&layout, "a");
    let b = tiny_image(&layout, "b");
    layout.tag(&a, &"hello:scratch".into()).unwrap();
    layout.tag(&a, &"hello:other".into()).unwrap();
    assert_eq!(
        names(&layout),
        ["hello:other", "hello:scratch"].map(String::from).into()
    );
    validate(dir.path());

    // Replacing a name moves it; the other tag keeps the old image.
    layout.tag(&b, &"hello:scratch".into()).unwrap();
    assert_eq!(layout.index().unwrap().manifests.len(), 2);
    assert_eq!(
        layout.resolve(&"hello:scratch".into()).unwrap().digest,
        b.digest
    );
    assert_eq!(
        layout
            .resolve(&"docker.io/library/hello:other".into())
            .unwrap()
            .digest,
        a.digest
    );
    assert_eq!(
        layout.resolve(&"hello:other".into()).unwrap().digest,
        a.digest
    );
    assert_eq!(blob_count(&layout), 6);

    // Nothing unreachable yet.
    assert_eq!(layout.prune().unwrap().blobs, 0);
    // Dropping a's last name makes its 3 blobs unreachable.
    layout.untag(&"hello:other".into()).unwrap();
    let pruned = layout.prune().unwrap();
    assert_eq!(pruned.blobs, 3);
    assert!(pruned.blob_bytes > 0);
    assert_eq!(blob_count(&layout), 3);
    assert!(layout.has_blob(&b.digest));
    assert!(!layout.has_blob(&a.digest));
    validate(dir.path());

    let mut out = Vec::new();
    commands::images(&layout, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("NAME"), "{text}");
    assert!(lines[1].starts_with("hello:scratch"), "{text}");
    assert!(lines[1].contains(&b.digest.hex()[..12]), "{text}");
    assert!(lines[1].contains("2026-01-01T00:00:00Z"), "{text}");
    // Columns line up.
    assert_eq!(
        lines[0].find("DIGEST"),
        lines[1].find(&b.digest.hex()[..12])
    );

    let mut out = Vec::new();
    inspect_stored(&layout, "hello:scratch", &mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(&b.digest.to_string()), "{text}");
    assert!(text.contains("diff_id sha256:"), "{text}");
    assert!(text.contains("COPY hello.txt / # b"), "{text}");

    commands::remove(&layout, "hello:scratch").unwrap();
    let mut out = Vec::new();
    commands::prune(&layout, false, &mut out).unwrap();
    assert!(String::from_utf8(out)
        .unwrap()
        .starts_with("removed 3 blobs"));
    assert_eq!(blob_count(&layout), 0);
}

#[test]
fn corrupted_blob_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let m = tiny_image(&layout, "x");
    let path = layout.blob_path(&m.digest);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let err = layout.read_blob(&m.digest).unwrap_err();
    assert!(matches!(err, DestError::DigestMismatch { .. }), "{err}");
    assert!(err.to_string().contains(&m.digest.to_string()), "{err}");
}

/// `validate`, which the layout-writing tests end with, runs fsck: a layer
/// with one byte flipped fails it.
#[test]
#[should_panic(expected = "fsck found problems")]
fn validate_fails_on_a_layout_fsck_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let m = tiny_image(&layout, "x");
    let manifest: serde_json::Value =
        serde_json::from_slice(&layout.read_blob(&m.digest).unwrap()).unwrap();
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let path = layout.blob_path(&layer);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    layout.tag(&m, &"broken".into()).unwrap();
    validate(dir.path());
}

#[test]
fn export_to_oci_dir_shares_blobs_and_keeps_other_tags() {
    let src_dir = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let src = Layout::create(src_dir.path()).unwrap();
    let a = tiny_image(&src, "a");
    let b = tiny_image(&src, "b");
    let out = out_dir.path().join("out");
    let dest = Location::parse(&format!("oci:{}", out.display())).unwrap();
    let said = export(
        &src,
        &a,
        &["hello:scratch".into()],
        &dest,
        &PushOptions::default(),
    )
    .unwrap();
    assert_eq!(said, format!("oci:{}:hello:scratch", out.display()));
    let dest_b = Location::parse(&format!("oci:{}:other", out.display())).unwrap();
    export(
        &src,
        &b,
        &["ignored".into()],
        &dest_b,
        &PushOptions::default(),
    )
    .unwrap();
    // Re-exporting a under the same name is a no-op for blobs and index.
    export(
        &src,
        &a,
        &["hello:scratch".into()],
        &dest,
        &PushOptions::default(),
    )
    .unwrap();
    let layout = Layout::open(&out).unwrap();
    assert_eq!(
        names(&layout),
        ["hello:scratch", "other"].map(String::from).into()
    );
    assert_eq!(blob_count(&layout), 6);
    validate(&out);

    // And back: fetch by oci:DIR:REF and by name from a store.
    let into_dir = tempfile::tempdir().unwrap();
    let into = Layout::create(into_dir.path()).unwrap();
    let got = fetch_image(
        &format!("oci:{}:other", out.display()),
        &layout,
        &into,
        &PushOptions::default(),
    )
    .unwrap();
    assert_eq!(got.digest, b.digest);
    assert!(into.read_blob(&b.digest).is_ok());
    let got = fetch_image("hello:scratch", &layout, &into, &PushOptions::default()).unwrap();
    assert_eq!(got.digest, a.digest);
    let err = fetch_image("nope", &layout, &into, &PushOptions::default()).unwrap_err();
    assert!(matches!(err, DestError::NotFound { .. }), "{err}");
}

#[test]
fn concurrent_tags_both_land() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let images: Vec<_> = (0..4)
        .map(|i| tiny_image(&layout, &format!("img{i}")))
        .collect();
    std::thread::scope(|s| {
        for (i, img) in images.iter().enumerate() {
            let root = dir.path().to_path_buf();
            s.spawn(move || {
                let l = Layout::open(&root).unwrap();
                for round in 0..20 {
                    l.tag(img, &format!("t{i}:r{round}").as_str().into())
                        .unwrap();
                }
            });
        }
    });
    let layout = Layout::open(dir.path()).unwrap();
    assert_eq!(layout.index().unwrap().manifests.len(), 80);
    validate(dir.path());
}

/// Two processes: this test binary re-runs itself as a child that tags.
#[test]
fn concurrent_processes_tagging() {
    if let Ok(root) = std::env::var("DEST_TAG_CHILD_ROOT") {
        let l = Layout::open(std::path::Path::new(&root)).unwrap();
        let who = std::env::var("DEST_TAG_CHILD_NAME").unwrap();
        let m = l.resolve(&"base".into()).unwrap();
        for round in 0..30 {
            l.tag(&m, &format!("{who}:r{round}").as_str().into())
                .unwrap();
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let m = tiny_image(&layout, "p");
    layout.tag(&m, &"base".into()).unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = ["p1", "p2"]
        .iter()
        .map(|who| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "dest_layout::concurrent_processes_tagging",
                    "--nocapture",
                ])
                .env("DEST_TAG_CHILD_ROOT", dir.path())
                .env("DEST_TAG_CHILD_NAME", who)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    assert_eq!(layout.index().unwrap().manifests.len(), 61);
    validate(dir.path());
}

#[test]
fn prune_removes_at_once_the_temporaries_nobody_holds() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    // left by killed writers: a loose file, a directory
    let loose = dir.path().join(".tmp-old");
    std::fs::write(&loose, b"x").unwrap();
    let old_dir = dir.path().join(".tmp-olddir");
    std::fs::create_dir(&old_dir).unwrap();
    std::fs::write(old_dir.join("f"), b"z").unwrap();
    // a writer still at work (another handle: its own work directory)
    let writer = Layout::open(dir.path()).unwrap();
    let mut blob = writer.new_blob().unwrap();
    std::io::Write::write_all(&mut blob, b"in progress").unwrap();
    let pruned = layout.prune().unwrap();
    assert_eq!(pruned.temporaries.entries, 2);
    assert_eq!(pruned.temporaries.bytes, 2);
    assert!(!loose.exists());
    assert!(!old_dir.exists());
    let (digest, _) = blob.commit_any().unwrap();
    assert!(writer.has_blob(&digest), "the held writer's file survived");
    assert!(layout.root().join("index.json").exists());
}

#[test]
fn failed_export_leaves_the_destination_as_it_was() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = Layout::create(src_dir.path()).unwrap();
    let a = tiny_image(&src, "a");
    let b = tiny_image(&src, "b");
    let out_dir = tempfile::tempdir().unwrap();
    let dest = Location::Oci {
        dir: out_dir.path().to_path_buf(),
        reference: Some("keep".into()),
    };
    export(&src, &a, &[], &dest, &PushOptions::default()).unwrap();
    let before = std::fs::read(out_dir.path().join("index.json")).unwrap();

    // b's layer goes missing from the source: the export fails midway.
    let m: serde_json::Value = serde_json::from_slice(&src.read_blob(&b.digest).unwrap()).unwrap();
    let layer = m["layers"][0]["digest"].as_str().unwrap().parse().unwrap();
    std::fs::remove_file(src.blob_path(&layer)).unwrap();
    let dest_b = Location::Oci {
        dir: out_dir.path().to_path_buf(),
        reference: Some("keep".into()),
    };
    let err = export(&src, &b, &[], &dest_b, &PushOptions::default()).unwrap_err();
    assert!(err.to_string().contains(&layer.to_string()), "{err}");

    assert_eq!(
        std::fs::read(out_dir.path().join("index.json")).unwrap(),
        before
    );
    let out = Layout::open(out_dir.path()).unwrap();
    assert!(
        !out.has_blob(&b.digest),
        "the manifest must not arrive before its layers"
    );
    assert_eq!(out.resolve(&"keep".into()).unwrap().digest, a.digest);
    validate(out_dir.path());
}

#[test]
fn nested_index_is_copied_pruned_and_resolved() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = Layout::create(src_dir.path()).unwrap();
    let host = tiny_image(&src, "host");
    let foreign = tiny_image(&src, "foreign");
    let index = tiny_index(&src, &[host.clone(), foreign.clone()]);
    let out_dir = tempfile::tempdir().unwrap();
    let dest = Location::Oci {
        dir: out_dir.path().to_path_buf(),
        reference: None,
    };
    export(
        &src,
        &index,
        &["multi:1".into()],
        &dest,
        &PushOptions::default(),
    )
    .unwrap();
    let out = Layout::open(out_dir.path()).unwrap();
    // Index + 2 × (manifest, config, layer).
    assert_eq!(blob_count(&out), 7);
    assert_eq!(
        out.prune().unwrap().blobs,
        0,
        "blobs reached through the index are kept"
    );
    validate(out_dir.path());

    // Fetching picks the host platform's image.
    let into_dir = tempfile::tempdir().unwrap();
    let into = Layout::create(into_dir.path()).unwrap();
    let got = fetch_image("multi:1", &out, &into, &PushOptions::default()).unwrap();
    assert_eq!(got.digest, host.digest);
    assert_eq!(blob_count(&into), 3);

    let mut text = Vec::new();
    inspect_stored(&out, "multi:1", &mut text);
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("lists 2 images"), "{text}");
    assert!(text.contains("plan9/riscv64"), "{text}");
}
