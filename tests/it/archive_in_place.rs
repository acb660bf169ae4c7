//! `FROM oci-archive:` / `FROM docker-archive:`, and `inspect`, `layers`
//! and `verify` of archives, read the archive in place: nothing of it is
//! unpacked to `$TMPDIR` or anywhere else. Proven by running them with a
//! file size limit (`ulimit -f`) far below the archive's layer, once the
//! store already has what the build keeps: any copy of the layer outside
//! the store would fail with EFBIG. Layers of archives `podman save` wrote
//! (both formats) are reused byte for byte.

use crate::common::hygiene::noise_file;
use crate::common::{blob, have, manifest_of, podman, read_json, run_ok, stderr, Work};
use std::process::{Command, Output};

/// Runs minibuild with `args` limited to writing files of at most about
/// 1 MB (`ulimit -f 2048`: dash counts 512-byte blocks, bash 1024-byte
/// ones), `$TMPDIR` an empty directory of its own.
fn run_limited(w: &Work, args: &[&str]) -> Output {
    let tmp = w.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 2048 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_minibuild"))
        .args(args)
        .env_remove("SOURCE_DATE_EPOCH")
        .env("MINIBUILD_STORE", w.path("store"))
        .env("TMPDIR", &tmp)
        .current_dir(w.dir.path())
        .output()
        .unwrap()
}

fn ok(o: &Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what}: {:?}\n{}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn an_archive_is_read_in_place_never_unpacked() {
    let w = Work::new();
    // 16 MB of noise: a layer of about 16 MB whatever the compression
    noise_file(&w.ctx().join("big.bin"), 16 << 20, 7);
    w.dockerfile("FROM scratch\nCOPY big.bin /\n");
    let ctx = w.ctx().display().to_string();
    w.ok(&["build", "-t", "big:1", &ctx]);
    for transport in ["oci-archive", "docker-archive"] {
        let file = w.path(&format!("{transport}.tar"));
        let source = format!("{transport}:{}", file.display());
        w.ok(&["save", "big:1", &source]);
        w.file("small.txt", "on top\n");
        w.dockerfile(&format!("FROM {source}\nCOPY small.txt /\n"));
        // the first build stores the base's layers (a docker-archive's are
        // uncompressed: other blobs than the store's)
        w.ok(&["build", "-t", "top:1", &ctx]);
        // the second has everything it keeps in the store already
        let o = run_limited(&w, &["build", "-t", "top:2", &ctx]);
        ok(&o, &format!("FROM {source} under ulimit -f"));
        let o = run_limited(&w, &["verify", &source]);
        let said = ok(&o, &format!("verify {source} under ulimit -f"));
        assert!(said.contains("blobs verified"), "{said}");
        let o = run_limited(&w, &["layers", "--format", "json", &source]);
        let said = ok(&o, &format!("layers {source} under ulimit -f"));
        assert!(said.contains("big.bin"), "{said}");
        let o = run_limited(&w, &["inspect", "--tree", &source]);
        ok(&o, &format!("inspect --tree {source} under ulimit -f"));
        // and nothing was left in $TMPDIR either
        let left: Vec<_> = std::fs::read_dir(w.path("tmp")).unwrap().collect();
        assert!(left.is_empty(), "{transport}: {left:?}");
    }
}

#[test]
fn layers_of_archives_podman_saved_are_reused_byte_for_byte() {
    if !have("podman") {
        return;
    }
    let w = Work::new();
    w.file("a.txt", "first layer\n");
    w.file("b.txt", "second layer\n");
    w.dockerfile("FROM scratch\nCOPY a.txt /\nCOPY b.txt /\n");
    let base = w.build_oci("base:1", &[]);
    let loadable = crate::common::inspect::save_from(&w, &base, "base:1", "oci-archive");
    run_ok(podman(w.dir.path()).arg("load").arg("-i").arg(&loadable));
    w.file("c.txt", "on top\n");
    for format in ["docker-archive", "oci-archive"] {
        let saved = w.path(&format!("podman-{format}.tar"));
        run_ok(
            podman(w.dir.path())
                .args(["save", "--format", format, "-o"])
                .arg(&saved)
                .arg("docker.io/library/base:1"),
        );
        let unpacked = w.path(&format!("podman-{format}"));
        crate::common::inspect::untar(&saved, &unpacked);
        // the layer members, in order, as the archive holds them
        let members: Vec<std::path::PathBuf> = match format {
            "docker-archive" => read_json(&unpacked.join("manifest.json"))[0]["Layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| unpacked.join(l.as_str().unwrap()))
                .collect(),
            _ => {
                let index = read_json(&unpacked.join("index.json"));
                let digest = index["manifests"][0]["digest"].as_str().unwrap();
                let m: serde_json::Value =
                    serde_json::from_slice(&blob(&unpacked, digest)).unwrap();
                m["layers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| {
                        let hex = l["digest"].as_str().unwrap().trim_start_matches("sha256:");
                        unpacked.join("blobs/sha256").join(hex)
                    })
                    .collect()
            }
        };
        assert_eq!(members.len(), 2, "{format}");
        w.dockerfile(&format!(
            "FROM {format}:{}\nCOPY c.txt /\n",
            saved.display()
        ));
        let out = w.path(&format!("out-{format}"));
        let dest = format!("oci:{}:top:1", out.display());
        w.ok(&["build", "-o", &dest, &w.ctx().display().to_string()]);
        let layers = manifest_of(&out, "top:1")["layers"].clone();
        assert_eq!(layers.as_array().unwrap().len(), 3, "{format}: {layers}");
        for (n, member) in members.iter().enumerate() {
            let digest = layers[n]["digest"].as_str().unwrap();
            assert_eq!(
                blob(&out, digest),
                std::fs::read(member).unwrap(),
                "{format}: layer {n} byte for byte"
            );
        }
    }
}
