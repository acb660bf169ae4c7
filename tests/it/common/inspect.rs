//! Helpers for the `inspect` tests: images with chosen layers made with
//! the tar crate, `tar -tvf` listings of layer blobs, and the comparison
//! of those listings with `inspect --layers --format json`.

use minibuild::dest::Layout;
use minibuild::digest::sha256;
use minibuild::oci::{self, Descriptor, Platform};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One entry of a hand-made layer.
pub enum Item<'a> {
    Dir(&'a str),
    File(&'a str, &'a [u8]),
    Symlink(&'a str, &'a str),
}

/// A tar of `items` (mode 0755 dirs, 0644 files, owner 0), gzip-compressed:
/// (blob, diff_id).
fn layer(items: &[Item]) -> (Vec<u8>, minibuild::digest::Digest) {
    let mut tar = tar::Builder::new(Vec::new());
    for item in items {
        let mut h = tar::Header::new_ustar();
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        match item {
            Item::Dir(p) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                tar.append_data(&mut h, p, std::io::empty()).unwrap();
            }
            Item::File(p, data) => {
                h.set_mode(0o644);
                h.set_size(data.len() as u64);
                tar.append_data(&mut h, p, *data).unwrap();
            }
            Item::Symlink(p, target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                tar.append_link(&mut h, p, target).unwrap();
            }
        }
    }
    let bytes = tar.into_inner().unwrap();
    let diff_id = sha256(&bytes);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).unwrap();
    (gz.finish().unwrap(), diff_id)
}

/// An image of `layers` (each with the step that "made" it) in a new
/// layout at `dir`, named `name`.
pub fn layered_image(dir: &Path, name: &str, layers: &[(&str, Vec<Item>)]) -> Descriptor {
    let layout = Layout::create(dir).unwrap();
    let mut descs = Vec::new();
    let mut diff_ids = Vec::new();
    let mut history = Vec::new();
    for (step, items) in layers {
        let (blob, diff_id) = layer(items);
        let digest = layout.put_blob(&blob).unwrap();
        descs.push(Descriptor::new(
            oci::MEDIA_TYPE_LAYER_GZIP,
            digest,
            blob.len() as u64,
        ));
        diff_ids.push(diff_id);
        history.push(serde_json::json!({"created_by": step}));
    }
    let host = Platform::host();
    let config = serde_json::json!({
        "architecture": host.architecture, "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    });
    let config = oci::canonical_json(&config).unwrap();
    let config_digest = layout.put_blob(&config).unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::MEDIA_TYPE_MANIFEST,
        "config": Descriptor::new(oci::MEDIA_TYPE_CONFIG, config_digest, config.len() as u64),
        "layers": descs,
    });
    let bytes = oci::canonical_json(&manifest).unwrap();
    let digest = layout.put_blob(&bytes).unwrap();
    let desc = Descriptor::new(oci::MEDIA_TYPE_MANIFEST, digest, bytes.len() as u64);
    layout.tag(&desc, &name.into()).unwrap();
    desc
}

/// Runs `minibuild inspect --layers --format json SOURCE` (store `store`).
pub fn layers_json(store: &Path, source: &str) -> Value {
    let o = crate::common::minibuild()
        .args(["inspect", "--layers", "--format", "json", source])
        .env("MINIBUILD_STORE", store)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "inspect --layers {source}: {}",
        crate::common::stderr(&o)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Every regular file under `dir`, by the sha256 of its bytes.
pub fn files_by_digest(dir: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let bytes = std::fs::read(e.path()).unwrap();
            out.insert(sha256(&bytes).to_string(), e.path().to_path_buf());
        }
    }
    out
}

/// Unpacks an archive with `tar -xf` into `dir`.
pub fn untar(file: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    crate::common::run_ok(Command::new("tar").arg("-xf").arg(file).arg("-C").arg(dir));
}

/// `tar --numeric-owner -tvf BLOB` (GNU tar finds the compression), as
/// (mode string, uid, gid, size, name as the entry says it) per line.
pub fn tar_tv(blob: &Path) -> Vec<(String, u64, u64, String, String)> {
    let out = crate::common::stdout_ok(
        Command::new("tar")
            .args(["--numeric-owner", "--quoting-style=literal", "-tvf"])
            .arg(blob),
    );
    let line_re = regex::Regex::new(r"^(\S+) (\d+)/(\d+) +(\S+) (\S+) (\S+) (.*)$").unwrap();
    out.lines()
        .map(|l| {
            let c = line_re
                .captures(l)
                .unwrap_or_else(|| panic!("tar -tv line {l:?}"));
            (
                c[1].to_string(),
                c[2].parse().unwrap(),
                c[3].parse().unwrap(),
                c[4].to_string(),
                c[7].to_string(),
            )
        })
        .collect()
}

/// A tar entry name without `./` and slashes at the ends.
fn clean(name: &str) -> String {
    name.split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// Asserts that every layer of `report` lists exactly the entries `tar
/// -tvf` lists for its blob (found in `blobs` by digest), entry by
/// entry: type and mode, owner, size, name and link target. Returns how
/// many entries were compared.
pub fn assert_matches_tar(report: &Value, blobs: &BTreeMap<String, PathBuf>) -> usize {
    let mut compared = 0;
    for layer in report["layers"].as_array().unwrap() {
        let digest = layer["digest"].as_str().unwrap();
        let blob = blobs
            .get(digest)
            .unwrap_or_else(|| panic!("no blob {digest} among {:?}", blobs.keys()));
        let tar = tar_tv(blob);
        let entries = layer["entries"].as_array().unwrap();
        assert_eq!(entries.len(), tar.len(), "layer {digest}: {tar:?}");
        assert_eq!(layer["entry_count"].as_u64().unwrap() as usize, tar.len());
        for (e, (mode, uid, gid, size, name)) in entries.iter().zip(&tar) {
            let kind = e["type"].as_str().unwrap();
            let ours =
                minibuild::inspect::listing::mode_string(kind, e["mode"].as_u64().unwrap() as u32);
            assert_eq!(&ours, mode, "{e} vs {name}");
            assert_eq!(
                (e["uid"].as_u64().unwrap(), e["gid"].as_u64().unwrap()),
                (*uid, *gid),
                "{e}"
            );
            if kind != "char" && kind != "block" {
                assert_eq!(e["size"].as_u64().unwrap().to_string(), *size, "{e}");
            }
            let (tar_name, tar_link) = match kind {
                "symlink" => name
                    .split_once(" -> ")
                    .map_or((name.as_str(), None), |(n, l)| (n, Some(l))),
                "hardlink" => name
                    .split_once(" link to ")
                    .map_or((name.as_str(), None), |(n, l)| (n, Some(l))),
                _ => (name.as_str(), None),
            };
            assert_eq!(
                e["path"].as_str().unwrap().trim_start_matches('/'),
                clean(tar_name),
                "{e} vs {name}"
            );
            if let Some(link) = tar_link {
                assert_eq!(e["link"].as_str(), Some(link), "{e} vs {name}");
            }
            compared += 1;
        }
    }
    compared
}

/// `minibuild save NAME TRANSPORT:FILE` from the layout `layout`; FILE.
pub fn save_from(w: &crate::common::Work, layout: &Path, name: &str, transport: &str) -> PathBuf {
    let file = w.path(&format!("{transport}.tar"));
    w.ok(&[
        "save",
        "--store",
        &layout.display().to_string(),
        name,
        &format!("{transport}:{}", file.display()),
    ]);
    file
}

/// Headless chromium on the page `page` with `extra` arguments (its
/// profile in the work dir); its stdout (the DOM with `--dump-dom`).
pub fn chromium(w: &crate::common::Work, page: &Path, extra: &[&str]) -> String {
    let mut c = Command::new("chromium");
    c.args(["--headless", "--no-sandbox", "--disable-gpu"])
        .arg(format!(
            "--user-data-dir={}",
            w.path("chromium-profile").display()
        ))
        .args(extra)
        .arg(format!("file://{}", page.display()));
    String::from_utf8(crate::common::run_ok(&mut c).stdout).unwrap()
}

/// A layout at `dir` whose `multi:1` is an index of two images (the
/// host's, and plan9/riscv64): (host, other, index).
pub fn two_platforms(dir: &Path) -> (Descriptor, Descriptor, Descriptor) {
    use crate::common::handmade::{tiny_image, tiny_index};
    let layout = Layout::create(dir).unwrap();
    let host = tiny_image(&layout, "host");
    let other = tiny_image(&layout, "other");
    let index = tiny_index(&layout, &[host.clone(), other.clone()]);
    layout.tag(&index, &"multi:1".into()).unwrap();
    (host, other, index)
}
