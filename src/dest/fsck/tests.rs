//! Layouts broken on purpose, one way at a time, and what fsck says of them.

use super::*;
use crate::digest::sha256;
use crate::oci::{
    canonical_json, MEDIA_TYPE_CONFIG, MEDIA_TYPE_INDEX, MEDIA_TYPE_LAYER_GZIP,
    MEDIA_TYPE_LAYER_TAR, MEDIA_TYPE_LAYER_ZSTD, MEDIA_TYPE_MANIFEST,
};
use std::io::Write;

fn tar_of(name: &str, content: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(content.len() as u64);
    h.set_mode(0o644);
    b.append_data(&mut h, name, content).unwrap();
    b.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    w.write_all(bytes).unwrap();
    w.finish().unwrap()
}

fn put(layout: &Layout, media_type: &str, bytes: &[u8]) -> Descriptor {
    Descriptor::new(
        media_type,
        layout.put_blob(bytes).unwrap(),
        bytes.len() as u64,
    )
}

fn put_json(layout: &Layout, media_type: &str, value: serde_json::Value) -> Descriptor {
    put(layout, media_type, &canonical_json(&value).unwrap())
}

/// The blobs of a three-layer image (two-member gzip, zstd, plain tar)
/// under a nested index, tagged `t`; config diff_ids from `diff_ids`
/// (given the right ones). Returns the index, manifest, config and layers.
fn image_with(
    layout: &Layout,
    diff_ids: impl FnOnce(Vec<Digest>) -> Vec<Digest>,
) -> (Descriptor, Descriptor, Descriptor, Vec<Descriptor>) {
    let tars = [
        tar_of("a", b"first"),
        tar_of("b", b"second"),
        tar_of("c", b"third"),
    ];
    // two gzip members, one after the other, as parallel compressors write
    let half = tars[0].len() / 2;
    let multi = [gzip(&tars[0][..half]), gzip(&tars[0][half..])].concat();
    let layers = vec![
        put(layout, MEDIA_TYPE_LAYER_GZIP, &multi),
        put(
            layout,
            MEDIA_TYPE_LAYER_ZSTD,
            &zstd::encode_all(&tars[1][..], 3).unwrap(),
        ),
        put(layout, MEDIA_TYPE_LAYER_TAR, &tars[2]),
    ];
    let ids = diff_ids(tars.iter().map(|t| sha256(t)).collect());
    let config = put_json(
        layout,
        MEDIA_TYPE_CONFIG,
        serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": ids},
        }),
    );
    let manifest = put_json(
        layout,
        MEDIA_TYPE_MANIFEST,
        serde_json::json!({
            "schemaVersion": 2, "mediaType": MEDIA_TYPE_MANIFEST,
            "config": config, "layers": layers,
        }),
    );
    let index = put_json(
        layout,
        MEDIA_TYPE_INDEX,
        serde_json::json!({
            "schemaVersion": 2, "mediaType": MEDIA_TYPE_INDEX, "manifests": [manifest],
        }),
    );
    layout.tag(&index, &"t".into()).unwrap();
    (index, manifest, config, layers)
}

fn image(layout: &Layout) -> (Descriptor, Descriptor, Descriptor, Vec<Descriptor>) {
    image_with(layout, |ids| ids)
}

/// The blobs with a problem: (digest, role, problem text).
fn problems(report: &FsckReport) -> Vec<(Digest, BlobRole, String)> {
    report
        .problems()
        .map(|b| {
            let p = b.problem.as_ref().unwrap();
            (b.digest.clone(), b.role.clone(), p.to_string())
        })
        .collect()
}

fn flip_byte(path: &std::path::Path, at: usize) {
    let mut bytes = fs::read(path).unwrap();
    bytes[at] ^= 0x01;
    fs::write(path, bytes).unwrap();
}

#[test]
fn a_good_layout_passes_and_lists_what_nothing_reaches() {
    let dir = tempfile::tempdir().unwrap();
    let l = Layout::create(dir.path()).unwrap();
    let (index, manifest, config, layers) = image(&l);
    let stray = l.put_blob(b"nobody's").unwrap();
    let report = l.fsck().unwrap();
    assert!(report.is_clean(), "{report}");
    let roles: Vec<(Digest, BlobRole)> = report
        .blobs
        .iter()
        .map(|b| (b.digest.clone(), b.role.clone()))
        .collect();
    let mut want = vec![
        (index.digest, BlobRole::Index),
        (manifest.digest, BlobRole::Manifest),
        (config.digest, BlobRole::Config),
    ];
    for (n, layer) in layers.iter().enumerate() {
        want.push((layer.digest.clone(), BlobRole::Layer(n)));
    }
    assert_eq!(roles, want);
    assert_eq!(report.unreferenced, [stray.to_string()]);
    assert!(report.to_string().contains("layer 1 sha256:"), "{report}");
}

#[test]
fn a_flipped_byte_names_its_blob() {
    for victim in [
        "index", "manifest", "config", "layer 0", "layer 1", "layer 2",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let l = Layout::create(dir.path()).unwrap();
        let (index, manifest, config, layers) = image(&l);
        let (desc, role) = match victim {
            "index" => (index, BlobRole::Index),
            "manifest" => (manifest, BlobRole::Manifest),
            "config" => (config, BlobRole::Config),
            layer => {
                let n: usize = layer[6..].parse().unwrap();
                (layers[n].clone(), BlobRole::Layer(n))
            }
        };
        let path = l.blob_path(&desc.digest);
        flip_byte(&path, desc.size as usize / 2);
        let actual = sha256(&fs::read(&path).unwrap());
        let report = l.fsck().unwrap();
        assert_eq!(
            problems(&report),
            [(
                desc.digest,
                role,
                format!("the content has digest {actual}")
            )],
            "{victim}: {report}"
        );
    }
}

#[test]
fn a_flipped_byte_in_index_json_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let l = Layout::create(dir.path()).unwrap();
    let (index, ..) = image(&l);
    let path = dir.path().join("index.json");
    let text = fs::read_to_string(&path).unwrap();
    // in the digest of its entry: that blob is now missing
    let digest = index.digest.to_string();
    let at = text.find(&digest).unwrap() + digest.len() - 1;
    flip_byte(&path, at);
    let wrong: Digest = format!("{}{}", &digest[..digest.len() - 1], {
        let last = digest.as_bytes()[digest.len() - 1];
        (last ^ 0x01) as char
    })
    .parse()
    .expect("this digest's last digit flips to another hex digit");
    let report = l.fsck().unwrap();
    assert_eq!(
        problems(&report),
        [(wrong, BlobRole::Index, "the blob is missing".to_string())],
        "{report}"
    );
    // in its syntax: index.json is named
    fs::write(&path, text.replacen('{', "[", 1)).unwrap();
    let err = l.fsck().unwrap_err();
    let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(
        chain.contains(&format!("parsing {}", path.display())),
        "{chain}"
    );
}

#[test]
fn a_wrong_diff_id_names_the_layer() {
    let dir = tempfile::tempdir().unwrap();
    let l = Layout::create(dir.path()).unwrap();
    let bogus = sha256(b"not the tar");
    let (.., layers) = image_with(&l, |mut ids| {
        ids[1] = bogus.clone();
        ids
    });
    let actual = sha256(&tar_of("b", b"second"));
    let report = l.fsck().unwrap();
    assert_eq!(
        problems(&report),
        [(
            layers[1].digest.clone(),
            BlobRole::Layer(1),
            format!("the uncompressed layer has digest {actual}, the config's diff_id is {bogus}")
        )],
        "{report}"
    );
}

#[test]
fn missing_symlinked_and_resized_blobs_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let l = Layout::create(dir.path()).unwrap();
    let (_, _, config, layers) = image(&l);
    fs::remove_file(l.blob_path(&config.digest)).unwrap();
    // a symlink to an exact copy: only what it is gives it away
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("copy");
    let linked = l.blob_path(&layers[0].digest);
    fs::copy(&linked, &copy).unwrap();
    fs::remove_file(&linked).unwrap();
    std::os::unix::fs::symlink(&copy, &linked).unwrap();
    let grown = l.blob_path(&layers[2].digest);
    fs::OpenOptions::new()
        .append(true)
        .open(&grown)
        .unwrap()
        .write_all(b"x")
        .unwrap();
    let report = l.fsck().unwrap();
    let size = layers[2].size;
    assert_eq!(
        problems(&report),
        [
            (
                config.digest,
                BlobRole::Config,
                "the blob is missing".to_string()
            ),
            (
                layers[0].digest.clone(),
                BlobRole::Layer(0),
                "the blob is a symlink, not a regular file".to_string()
            ),
            (
                layers[2].digest.clone(),
                BlobRole::Layer(2),
                format!(
                    "the blob has {} bytes, its descriptor says {size}",
                    size + 1
                )
            ),
        ],
        "{report}"
    );
}

#[test]
fn the_layout_version_must_be_1_0_0() {
    let dir = tempfile::tempdir().unwrap();
    let l = Layout::create(dir.path()).unwrap();
    fs::write(
        dir.path().join("oci-layout"),
        br#"{"imageLayoutVersion":"2.0.0"}"#,
    )
    .unwrap();
    let err = l.fsck().unwrap_err();
    assert!(
        matches!(&err, FsckError::LayoutVersion { found: Some(v), .. } if v == "2.0.0"),
        "{err}"
    );
}
