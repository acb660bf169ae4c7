//! OCI and Docker archives, checked by reading them back and with skopeo
//! and podman (skipped when missing unless CI=true).

use crate::common::handmade::*;
use crate::common::{have, stdout_ok, validate};
use minibuild::dest::{export, fetch_image, Layout, Location, PushOptions};
use std::path::Path;
use std::process::Command;

fn tar_listing(file: &Path) -> Vec<String> {
    let mut a = tar::Archive::new(std::fs::File::open(file).unwrap());
    a.entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn read_member(file: &Path, name: &str) -> Vec<u8> {
    let mut a = tar::Archive::new(std::fs::File::open(file).unwrap());
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == name {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut v).unwrap();
            return v;
        }
    }
    panic!("{name} not in {}", file.display());
}

fn podman_load(file: &Path) -> String {
    let state = tempfile::tempdir().unwrap();
    stdout_ok(
        Command::new("podman")
            .arg("--storage-driver")
            .arg("vfs")
            .arg("--cgroup-manager")
            .arg("cgroupfs")
            .arg("--root")
            .arg(state.path().join("root"))
            .arg("--runroot")
            .arg(state.path().join("run"))
            .arg("load")
            .arg("-i")
            .arg(file),
    )
}

#[test]
fn oci_archive_round_trips_and_loads() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = Layout::create(src_dir.path()).unwrap();
    let m = tiny_image(&src, "archive");
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("img.tar");
    let dest = Location::parse(&format!("oci-archive:{}", file.display())).unwrap();
    let said = export(
        &src,
        &m,
        &["hello:scratch".into()],
        &dest,
        &PushOptions::default(),
    )
    .unwrap();
    assert_eq!(
        said,
        format!("oci-archive:{}:hello:scratch", file.display())
    );

    let listing = tar_listing(&file);
    for want in ["oci-layout", "index.json", "manifest.json"] {
        assert!(
            listing.iter().any(|n| n == want),
            "{want} missing: {listing:?}"
        );
    }
    assert_eq!(
        listing
            .iter()
            .filter(|n| n.starts_with("blobs/sha256/") && n.len() > 20)
            .count(),
        3
    );
    let docker: serde_json::Value =
        serde_json::from_slice(&read_member(&file, "manifest.json")).unwrap();
    assert_eq!(docker[0]["RepoTags"][0], "docker.io/library/hello:scratch");
    assert_eq!(docker[0]["Layers"].as_array().unwrap().len(), 1);
    // No temp file left beside the archive.
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 1);

    // Unpacked, it is a valid layout; fetch_image reads it back.
    let unpacked = tempfile::tempdir().unwrap();
    tar::Archive::new(std::fs::File::open(&file).unwrap())
        .unpack(unpacked.path())
        .unwrap();
    validate(unpacked.path());
    let into_dir = tempfile::tempdir().unwrap();
    let into = Layout::create(into_dir.path()).unwrap();
    let got = fetch_image(
        &format!("oci-archive:{}:hello:scratch", file.display()),
        &into,
        &into,
        &PushOptions::default(),
    )
    .unwrap();
    assert_eq!(got.digest, m.digest);
    validate(into_dir.path());

    if have("skopeo") {
        let text = stdout_ok(
            Command::new("skopeo")
                .arg("inspect")
                .arg(format!("oci-archive:{}", file.display())),
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["Digest"], m.digest.to_string(), "{text}");
        assert_eq!(v["Layers"].as_array().unwrap().len(), 1, "{text}");
        // skopeo also reads it as a docker archive, thanks to manifest.json.
        let text = stdout_ok(
            Command::new("skopeo")
                .arg("inspect")
                .arg(format!("docker-archive:{}", file.display())),
        );
        assert!(
            text.contains("hello:scratch") || text.contains("\"Layers\""),
            "{text}"
        );
    }
    if have("podman") {
        let text = podman_load(&file);
        eprintln!("podman load: {text}");
        assert!(
            text.contains("Loaded image: docker.io/library/hello:scratch"),
            "{text}"
        );
    }
}

#[test]
fn docker_archive_has_uncompressed_layers_and_loads() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = Layout::create(src_dir.path()).unwrap();
    let m = tiny_image(&src, "docker");
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("img.tar");
    let dest =
        Location::parse(&format!("docker-archive:{}:hello:scratch", file.display())).unwrap();
    export(
        &src,
        &m,
        &["ignored:tag".into()],
        &dest,
        &PushOptions::default(),
    )
    .unwrap();

    let docker: serde_json::Value =
        serde_json::from_slice(&read_member(&file, "manifest.json")).unwrap();
    assert_eq!(
        docker[0]["RepoTags"],
        serde_json::json!(["docker.io/library/hello:scratch"])
    );
    let layer = docker[0]["Layers"][0].as_str().unwrap().to_string();
    let config_name = docker[0]["Config"].as_str().unwrap().to_string();
    let config: serde_json::Value =
        serde_json::from_slice(&read_member(&file, &config_name)).unwrap();
    // The layer is stored uncompressed: its digest is the diff_id.
    let bytes = read_member(&file, &layer);
    assert_eq!(
        minibuild::digest::sha256(&bytes).to_string(),
        config["rootfs"]["diff_ids"][0].as_str().unwrap()
    );
    assert_eq!(
        layer,
        format!(
            "{}.tar",
            &config["rootfs"]["diff_ids"][0].as_str().unwrap()[7..]
        )
    );
    let repos: serde_json::Value =
        serde_json::from_slice(&read_member(&file, "repositories")).unwrap();
    assert!(repos["hello"]["scratch"].is_string(), "{repos}");

    if have("skopeo") {
        let text = stdout_ok(
            Command::new("skopeo")
                .arg("inspect")
                .arg(format!("docker-archive:{}", file.display())),
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["Layers"].as_array().unwrap().len(), 1, "{text}");
        assert_eq!(
            v["Architecture"],
            minibuild::oci::Platform::host().architecture.as_str(),
            "{text}"
        );
    }
    if have("podman") {
        let text = podman_load(&file);
        eprintln!("podman load: {text}");
        assert!(
            text.contains("Loaded image: docker.io/library/hello:scratch"),
            "{text}"
        );
    }
}

#[test]
fn docker_archive_refuses_a_layer_that_does_not_match_its_diff_id() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = Layout::create(src_dir.path()).unwrap();
    let good = tiny_image(&src, "one");
    // Build an image whose config claims another image's diff_id.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Layout::create(other_dir.path()).unwrap();
    let bad = tiny_image(&other, "two");
    let good_m: serde_json::Value =
        serde_json::from_slice(&src.read_blob(&good.digest).unwrap()).unwrap();
    let bad_m: serde_json::Value =
        serde_json::from_slice(&other.read_blob(&bad.digest).unwrap()).unwrap();
    let mut mixed = good_m.clone();
    mixed["config"] = bad_m["config"].clone();
    let bad_config = bad_m["config"]["digest"].as_str().unwrap().parse().unwrap();
    src.copy_blob_from(&other, &bad_config).unwrap();
    let bytes = minibuild::oci::canonical_json(&mixed).unwrap();
    let d = src.put_blob(&bytes).unwrap();
    let desc =
        minibuild::oci::Descriptor::new(minibuild::oci::MEDIA_TYPE_MANIFEST, d, bytes.len() as u64);
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("bad.tar");
    let dest = Location::DockerArchive {
        file: file.clone(),
        reference: None,
    };
    let err = export(&src, &desc, &[], &dest, &PushOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("diff_id"), "{err}");
    assert!(!file.exists());
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "temp files left behind"
    );
}

/// A gzip layer made of several members (as pigz and parallel gzip write
/// them) is one layer: the docker-archive writer reads all of it (it used a
/// single-member decoder, so the layer came out cut short and its diff_id
/// did not match).
#[test]
fn docker_archive_reads_every_member_of_a_gzip_layer() {
    use minibuild::oci::{self, Descriptor};
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path()).unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    for (name, body) in [("a.txt", "first\n"), ("b.txt", "second\n")] {
        let mut h = tar::Header::new_ustar();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        tar.append_data(&mut h, name, body.as_bytes()).unwrap();
    }
    let tar = tar.into_inner().unwrap();
    let gzip = |part: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(part).unwrap();
        e.finish().unwrap()
    };
    let mut blob = gzip(&tar[..512]);
    blob.extend(gzip(&tar[512..]));
    let layer = src.put_blob(&blob).unwrap();
    let diff_id = minibuild::digest::sha256(&tar);
    let config = serde_json::json!({
        "architecture": minibuild::oci::Platform::host().architecture, "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    });
    let config_bytes = oci::canonical_json(&config).unwrap();
    let config_digest = src.put_blob(&config_bytes).unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::MEDIA_TYPE_MANIFEST,
        "config": Descriptor::new(oci::MEDIA_TYPE_CONFIG, config_digest, config_bytes.len() as u64),
        "layers": [Descriptor::new(oci::MEDIA_TYPE_LAYER_GZIP, layer, blob.len() as u64)],
    });
    let bytes = oci::canonical_json(&manifest).unwrap();
    let desc = Descriptor::new(
        oci::MEDIA_TYPE_MANIFEST,
        src.put_blob(&bytes).unwrap(),
        bytes.len() as u64,
    );
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("multi.tar");
    let dest = Location::DockerArchive {
        file: file.clone(),
        reference: None,
    };
    export(&src, &desc, &[], &dest, &PushOptions::default()).unwrap();
    let list: serde_json::Value =
        serde_json::from_slice(&read_member(&file, "manifest.json")).unwrap();
    let layer_member = list[0]["Layers"][0].as_str().unwrap().to_string();
    assert_eq!(read_member(&file, &layer_member), tar);
}
