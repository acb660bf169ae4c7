//! Helpers for the multi-platform tests: hello cross-compiled per
//! architecture, ELF machines, and reading an index's images.

use super::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// The three platforms the hello tests build, with their compiler, the
/// directory under `bin/` (`${TARGETARCH}${TARGETVARIANT:+/$TARGETVARIANT}`)
/// and the ELF `e_machine` of the binary.
pub const HELLO_PLATFORMS: &[(&str, &str, &str, u16)] = &[
    ("linux/amd64", "gcc", "amd64", 62),
    ("linux/arm64", "aarch64-linux-gnu-gcc", "arm64", 183),
    ("linux/arm/v7", "arm-linux-gnueabihf-gcc", "arm/v7", 40),
];

/// True when the cross compilers are there (in CI they must be).
pub fn have_cross_compilers() -> bool {
    HELLO_PLATFORMS.iter().all(|(_, cc, _, _)| have(cc))
}

/// Compiles examples/hello/hello.c statically for each of
/// [`HELLO_PLATFORMS`] into `ctx/bin/<dir>/hello`.
pub fn cross_hello(ctx: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello/hello.c");
    for (_, cc, dir, _) in HELLO_PLATFORMS {
        let out = ctx.join("bin").join(dir);
        std::fs::create_dir_all(&out).unwrap();
        run_ok(
            Command::new(cc)
                .args(["-static", "-Os", "-o"])
                .arg(out.join("hello"))
                .arg(&src),
        );
    }
}

/// The Dockerfile that copies each platform's hello.
pub const HELLO_DOCKERFILE: &str = "FROM scratch\nARG TARGETARCH\nARG TARGETVARIANT\nCOPY bin/${TARGETARCH}${TARGETVARIANT:+/$TARGETVARIANT}/hello /hello\nENTRYPOINT [\"/hello\"]\n";

/// The ELF `e_machine` of `bytes` (little-endian ELF).
pub fn elf_machine(bytes: &[u8]) -> u16 {
    assert_eq!(&bytes[..4], b"\x7fELF", "not an ELF file");
    u16::from_le_bytes([bytes[18], bytes[19]])
}

/// The index `name` points to in a layout.
pub fn index_of(layout: &Path, name: &str) -> Value {
    let top = read_json(&layout.join("index.json"));
    let entry = top["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {top}"))
        .clone();
    assert_eq!(
        entry["mediaType"], "application/vnd.oci.image.index.v1+json",
        "{entry}"
    );
    serde_json::from_slice(&blob(layout, entry["digest"].as_str().unwrap())).unwrap()
}

/// `os/arch[/variant]` of an index entry.
pub fn platform_of(entry: &Value) -> String {
    let p = &entry["platform"];
    let mut s = format!(
        "{}/{}",
        p["os"].as_str().unwrap(),
        p["architecture"].as_str().unwrap()
    );
    if let Some(v) = p["variant"].as_str() {
        s.push('/');
        s.push_str(v);
    }
    s
}

/// The manifest of `platform` in index `name` of a layout.
pub fn platform_manifest(layout: &Path, name: &str, platform: &str) -> Value {
    let index = index_of(layout, name);
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| platform_of(e) == platform)
        .unwrap_or_else(|| panic!("no {platform} in {index}"))
        .clone();
    serde_json::from_slice(&blob(layout, entry["digest"].as_str().unwrap())).unwrap()
}

/// The merged filesystem and the config of a manifest.
pub fn fs_and_config(layout: &Path, manifest: &Value) -> (BTreeMap<String, Node>, Value) {
    let mut fs = BTreeMap::new();
    for layer in manifest["layers"].as_array().unwrap() {
        apply_tar(&mut fs, &layer_tar(layout, layer));
    }
    let config = serde_json::from_slice(&blob(
        layout,
        manifest["config"]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    (fs, config)
}

/// The bytes of the regular file `path` in a manifest's layers (the last
/// layer that has it).
pub fn file_in(layout: &Path, manifest: &Value, path: &str) -> Vec<u8> {
    let mut found = None;
    for layer in manifest["layers"].as_array().unwrap() {
        let tar_bytes = layer_tar(layout, layer);
        let mut ar = tar::Archive::new(&tar_bytes[..]);
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let p = e
                .path()
                .unwrap()
                .to_string_lossy()
                .trim_start_matches("./")
                .to_string();
            if p == path.trim_start_matches('/') {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut e, &mut bytes).unwrap();
                found = Some(bytes);
            }
        }
    }
    found.unwrap_or_else(|| panic!("no {path} in {manifest}"))
}

/// The text of the first member of the tar `file` whose path `wanted` accepts.
pub fn tar_member(file: &Path, wanted: impl Fn(&str) -> bool) -> Option<String> {
    let mut ar = tar::Archive::new(std::fs::File::open(file).unwrap());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let p = e.path().unwrap().to_string_lossy().to_string();
        if wanted(&p) {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut e, &mut s).unwrap();
            return Some(s);
        }
    }
    None
}
