//! `inspect --layers --format json` on images other tools made and
//! stored: built by buildah, saved by `podman save` (docker-archive and
//! oci-archive), pulled from a registry. Each layer must list exactly the
//! entries `tar -tvf` lists for its blob, entry by entry.

use crate::common::inspect::{assert_matches_tar, files_by_digest, layers_json, untar};
use crate::common::{buildah_build, have, podman, run_ok, Registry, Work};

/// A context with a directory, files, a symlink and an executable.
fn rich_context(w: &Work) -> std::path::PathBuf {
    w.file("etc/app.conf", "answer=42\n");
    w.file("etc/more/deep.txt", "deep\n");
    w.file("bin/tool", "#!/bin/sh\necho tool\n");
    let ctx = w.ctx();
    {
        use std::os::unix::fs::PermissionsExt;
        let tool = ctx.join("bin/tool");
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::os::unix::fs::symlink("app.conf", ctx.join("etc/link.conf")).unwrap();
    w.file("top.txt", "top\n");
    w.dockerfile(
        "FROM scratch\nCOPY etc /etc\nCOPY bin /bin\nCOPY top.txt /\nCOPY top.txt /etc/app.conf\n",
    );
    ctx
}

#[test]
fn an_image_buildah_built() {
    if !have("buildah") {
        return;
    }
    let w = Work::new();
    let ctx = rich_context(&w);
    // --layers: one layer per step, as BuildKit makes them
    let out = buildah_build(w.dir.path(), &ctx, "rich:1", &["--layers"]);
    let r = layers_json(&w.path("store"), &format!("oci:{}:rich:1", out.display()));
    let n = assert_matches_tar(&r, &files_by_digest(&out.join("blobs")));
    assert!(n >= 7, "{n} entries compared");
    let last = r["layers"].as_array().unwrap().last().unwrap().clone();
    let conf = last["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "/etc/app.conf")
        .unwrap()
        .clone();
    assert_eq!(conf["change"], "modified", "{conf}");
}

#[test]
fn images_podman_saved_as_docker_archive_and_oci_archive() {
    if !have("podman") {
        return;
    }
    let w = Work::new();
    rich_context(&w);
    let out = w.build_oci("rich:1", &[]);
    let loadable = crate::common::inspect::save_from(&w, &out, "rich:1", "oci-archive");
    run_ok(podman(w.dir.path()).arg("load").arg("-i").arg(&loadable));
    for (format, transport) in [
        ("docker-archive", "docker-archive"),
        ("oci-archive", "oci-archive"),
    ] {
        let saved = w.path(&format!("{format}.tar"));
        run_ok(
            podman(w.dir.path())
                .args(["save", "--format", format, "-o"])
                .arg(&saved)
                .arg("docker.io/library/rich:1"),
        );
        let r = layers_json(
            &w.path("store"),
            &format!("{transport}:{}", saved.display()),
        );
        let unpacked = w.path(&format!("{format}-unpacked"));
        untar(&saved, &unpacked);
        let n = assert_matches_tar(&r, &files_by_digest(&unpacked));
        assert!(n >= 7, "{format}: {n} entries compared");
        let tree = w.ok(&[
            "inspect",
            "--tree",
            &format!("{transport}:{}", saved.display()),
        ]);
        assert!(tree.contains("layer 0"), "{format}: {tree}");
        let verified = w.run(&["verify", &format!("{transport}:{}", saved.display())]);
        assert!(
            verified.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&verified.stdout)
        );
    }
}

#[test]
fn an_image_pulled_from_a_registry() {
    if !have("docker-registry") {
        return;
    }
    let w = Work::new();
    rich_context(&w);
    let out = w.build_oci("rich:1", &[]);
    let reg = Registry::start();
    let name = format!("docker://{}/rich:1", reg.host());
    w.ok(&[
        "push",
        "--store",
        &out.display().to_string(),
        "rich:1",
        &name,
    ]);
    let r = layers_json(&w.path("store"), &name);
    let n = assert_matches_tar(&r, &files_by_digest(&out.join("blobs")));
    assert!(n >= 7, "{n} entries compared");
    let verified = w.run(&["verify", &name]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
    let tree = w.ok(&["inspect", "--tree", &name]);
    assert!(tree.contains("layer 3 of manifest"), "{tree}");
}

#[test]
fn images_skopeo_copied_to_archives() {
    if !have("skopeo") {
        return;
    }
    let w = Work::new();
    rich_context(&w);
    let out = w.build_oci("rich:1", &[]);
    for transport in ["docker-archive", "oci-archive"] {
        let file = w.path(&format!("skopeo-{transport}.tar"));
        run_ok(
            std::process::Command::new("skopeo")
                .arg("copy")
                .arg(format!("oci:{}:rich:1", out.display()))
                .arg(format!("{transport}:{}:rich:1", file.display())),
        );
        let source = format!("{transport}:{}", file.display());
        let r = layers_json(&w.path("store"), &source);
        let unpacked = w.path(&format!("skopeo-{transport}"));
        untar(&file, &unpacked);
        let n = assert_matches_tar(&r, &files_by_digest(&unpacked));
        assert!(n >= 7, "{transport}: {n} entries compared");
    }
}

#[test]
fn a_registry_index_lists_its_platforms_and_platform_pulls_one() {
    if !have("docker-registry") {
        return;
    }
    let w = Work::new();
    let dir = w.path("multi");
    let (host, other, index) = crate::common::inspect::two_platforms(&dir);
    let reg = Registry::start();
    let name = format!("docker://{}/multi:1", reg.host());
    w.ok(&[
        "push",
        "--store",
        &dir.display().to_string(),
        "multi:1",
        &name,
    ]);
    let text = w.ok(&["inspect", &name]);
    assert!(text.contains("lists 2 images"), "{text}");
    assert!(text.contains("plan9/riscv64"), "{text}");
    assert!(
        text.contains(&format!("manifest {}", host.digest)),
        "{text}"
    );
    let o = w.ok(&[
        "inspect",
        "--platform",
        "plan9/riscv64",
        "--format",
        "json",
        &name,
    ]);
    let s: serde_json::Value = serde_json::from_str(&o).unwrap();
    assert_eq!(s["manifest"]["digest"], other.digest.to_string());
    assert_eq!(s["index"]["digest"], index.digest.to_string());
    let o = w.run(&["verify", "--platform", "plan9/riscv64", &name]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}
