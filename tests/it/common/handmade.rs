//! Tiny images built by hand through the dest API (no build involved), for
//! the tests of layouts, archives and registries.

use minibuild::dest::Layout;
use minibuild::digest::{sha256, HashingWriter};
use minibuild::oci::{self, Descriptor, Platform};
use std::io::Write;

/// Writes a one-layer image (a gzip layer holding `hello.txt` = `content`)
/// into `layout` and returns its manifest descriptor.
pub fn tiny_image(layout: &Layout, content: &str) -> Descriptor {
    // Layer: tar -> diff_id hash -> gzip -> digest hash -> blob.
    let blob = layout.new_temp_blob().unwrap();
    let gz = HashingWriter::new(blob);
    let enc = flate2::write::GzEncoder::new(gz, flate2::Compression::fast());
    let mut diff = HashingWriter::new(enc);
    {
        let mut tar = tar::Builder::new(&mut diff);
        let mut h = tar::Header::new_ustar();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        tar.append_data(&mut h, "hello.txt", content.as_bytes())
            .unwrap();
        tar.finish().unwrap();
    }
    let (enc, diff_id, _) = diff.finish();
    let gz = enc.finish().unwrap();
    let (mut blob, layer_digest, layer_size) = gz.finish();
    blob.flush().unwrap();
    blob.commit(&layer_digest).unwrap();

    let host = Platform::host();
    let config = serde_json::json!({
        "architecture": host.architecture,
        "os": "linux",
        "created": "2026-01-01T00:00:00Z",
        "config": {"Cmd": ["/hello"], "Env": ["PATH=/usr/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "2026-01-01T00:00:00Z", "created_by": format!("COPY hello.txt / # {content}")}],
    });
    let config_bytes = oci::canonical_json(&config).unwrap();
    let config_digest = layout.put_blob(&config_bytes).unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::MEDIA_TYPE_MANIFEST,
        "config": Descriptor::new(oci::MEDIA_TYPE_CONFIG, config_digest, config_bytes.len() as u64),
        "layers": [Descriptor::new(oci::MEDIA_TYPE_LAYER_GZIP, layer_digest, layer_size)],
    });
    let bytes = oci::canonical_json(&manifest).unwrap();
    let digest = layout.put_blob(&bytes).unwrap();
    assert_eq!(digest, sha256(&bytes));
    Descriptor::new(oci::MEDIA_TYPE_MANIFEST, digest, bytes.len() as u64)
}

/// Writes an image index listing `images` for the host platform (and,
/// when there are two, the second for a foreign platform) into `layout`.
pub fn tiny_index(layout: &Layout, images: &[Descriptor]) -> Descriptor {
    let entries: Vec<Descriptor> = images
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut d = d.clone();
            d.platform = Some(if i == 0 {
                Platform::host()
            } else {
                Platform {
                    architecture: "riscv64".into(),
                    os: "plan9".into(),
                    variant: None,
                }
            });
            d
        })
        .collect();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::MEDIA_TYPE_INDEX,
        "manifests": entries,
    });
    let bytes = oci::canonical_json(&index).unwrap();
    let digest = layout.put_blob(&bytes).unwrap();
    Descriptor::new(oci::MEDIA_TYPE_INDEX, digest, bytes.len() as u64)
}
