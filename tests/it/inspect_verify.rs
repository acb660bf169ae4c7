//! `minibuild verify`: every blob's size and sha256, every layer's
//! diff_id, every reference; one flipped byte in any kind of blob is
//! caught and named, and the command exits 1.

use crate::common::Work;
use minibuild::dest::Layout;
use minibuild::oci::{self, Descriptor, Platform};
use serde_json::Value;
use std::path::Path;

/// The multi-layer image, also named through an image index
/// (`multi:index`), so that every kind of blob is there.
fn layout_with_every_kind(w: &Work) -> (std::path::PathBuf, Value) {
    let out = crate::inspect_layers::multi_layer(w);
    let layout = Layout::open(&out).unwrap();
    let manifest = layout.resolve(&"multi:1".into()).unwrap();
    let mut entry = manifest.clone();
    entry.annotations = None;
    entry.platform = Some(Platform::host());
    let index = serde_json::json!({
        "schemaVersion": 2, "mediaType": oci::MEDIA_TYPE_INDEX, "manifests": [entry],
    });
    let bytes = oci::canonical_json(&index).unwrap();
    let digest = layout.put_blob(&bytes).unwrap();
    let desc = Descriptor::new(oci::MEDIA_TYPE_INDEX, digest.clone(), bytes.len() as u64);
    layout.tag(&desc, &"multi:index".into()).unwrap();
    let m: Value = serde_json::from_slice(&layout.read_blob(&manifest.digest).unwrap()).unwrap();
    let kinds = serde_json::json!({
        "index": digest.to_string(),
        "manifest": manifest.digest.to_string(),
        "config": m["config"]["digest"],
        "layer 3": m["layers"][3]["digest"],
        "layer 0": m["layers"][0]["digest"],
    });
    (out, kinds)
}

fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

#[test]
fn a_flipped_byte_in_any_blob_is_caught_and_named() {
    let w = Work::new();
    let (out, kinds) = layout_with_every_kind(&w);
    let good = w.run(&["verify", &format!("oci:{}", out.display())]);
    let text = String::from_utf8_lossy(&good.stdout).into_owned();
    assert!(
        good.status.success(),
        "{text}{}",
        crate::common::stderr(&good)
    );
    for (role, digest) in kinds.as_object().unwrap() {
        let line = format!("{role:<9} {}  ok", digest.as_str().unwrap());
        assert!(text.contains(&line), "{line} not in {text}");
    }
    assert!(text.contains("all 7 blobs verified"), "{text}");

    for (role, digest) in kinds.as_object().unwrap() {
        let digest = digest.as_str().unwrap();
        let copy = w.path(&format!("flip-{}", role.replace(' ', "")));
        copy_dir(&out, &copy);
        let blob = copy
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"));
        let mut bytes = std::fs::read(&blob).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        std::fs::write(&blob, &bytes).unwrap();

        let source = format!("oci:{}", copy.display());
        let o = w.run(&["verify", &source]);
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        assert_eq!(o.status.code(), Some(1), "{role}: {text}");
        let line = text
            .lines()
            .find(|l| l.starts_with(role.as_str()) && l.contains(digest))
            .unwrap_or_else(|| panic!("{role} {digest} not named in {text}"));
        assert!(line.contains("the content has digest"), "{line}");
        assert!(text.contains("1 problems"), "{role}: {text}");

        let o = w.run(&["verify", "--format", "json", &source]);
        assert_eq!(o.status.code(), Some(1));
        let r: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(r["ok"], false);
        let bad: Vec<&Value> = r["blobs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["ok"] == false)
            .collect();
        assert_eq!(bad.len(), 1, "{r}");
        assert_eq!(bad[0]["digest"], digest);
        assert_eq!(bad[0]["role"], role.as_str());
    }
}

#[test]
fn a_layer_that_does_not_match_its_diff_id_is_named() {
    // a docker-archive's layers are plain tars named by their diff_id:
    // a flipped byte there is a diff_id (and name) mismatch
    let w = Work::new();
    let out = crate::inspect_layers::multi_layer(&w);
    let file = crate::common::inspect::save_from(&w, &out, "multi:1", "docker-archive");
    let source = format!("docker-archive:{}", file.display());
    let good = w.run(&["verify", &source]);
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );

    let unpacked = w.path("d");
    crate::common::inspect::untar(&file, &unpacked);
    let hello_layer = crate::common::config_of(&out, "multi:1")["rootfs"]["diff_ids"][0]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let member = unpacked.join(format!("{hello_layer}.tar"));
    let mut bytes = std::fs::read(&member).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&member, &bytes).unwrap();
    let repacked = w.path("bad.tar");
    crate::common::run_ok(
        std::process::Command::new("tar")
            .arg("-cf")
            .arg(&repacked)
            .arg("-C")
            .arg(&unpacked)
            .arg("."),
    );
    let o = w.run(&["verify", &format!("docker-archive:{}", repacked.display())]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("layer 0 member {hello_layer}.tar")),
        "{text}"
    );
    assert!(text.contains("the config's diff_id is"), "{text}");
}
