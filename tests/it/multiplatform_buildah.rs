//! Multi-platform builds against buildah's (#12): `buildah bud --platform
//! linux/amd64,linux/arm64 --manifest NAME` on the same FROM-scratch
//! context gives, platform by platform, the same filesystem and config;
//! and an index buildah pushed is a base whose right platform's layers are
//! reused byte for byte.

use crate::common::platform::*;
use crate::common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const DOCKERFILE: &str = "FROM scratch\nARG TARGETARCH\nARG TARGETVARIANT\nCOPY bin/${TARGETARCH}${TARGETVARIANT:+/$TARGETVARIANT}/hello /hello\nENV GREETING=hi\nLABEL org.example.arch=$TARGETARCH\nENTRYPOINT [\"/hello\"]\n";

/// buildah with its own storage under `work`.
fn buildah(work: &Path) -> Command {
    let mut c = Command::new("buildah");
    c.arg("--root")
        .arg(work.join("buildah-root"))
        .arg("--runroot")
        .arg(work.join("buildah-runroot"))
        .args(["--storage-driver", "vfs"]);
    c
}

/// What both must agree on: platform and the Dockerfile's config fields
/// (buildah's own version label and its empty WorkingDir normalized as in
/// diff_buildah).
fn normalized(config: &Value) -> Value {
    let c = &config["config"];
    let mut labels = c["Labels"].clone();
    if let Some(m) = labels.as_object_mut() {
        m.remove("io.buildah.version");
    }
    let wd = match c["WorkingDir"].as_str() {
        None | Some("") => "/",
        Some(w) => w,
    };
    serde_json::json!({
        "os": config["os"],
        "architecture": config["architecture"],
        "variant": config["variant"],
        "Env": c["Env"],
        "Entrypoint": c["Entrypoint"],
        "Labels": labels,
        "WorkingDir": wd,
    })
}

#[test]
fn each_platform_matches_buildah_and_buildahs_index_is_a_base() {
    if !have_cross_compilers() || !have("buildah") {
        return;
    }
    let w = Work::new();
    let ctx = w.ctx();
    cross_hello(&ctx);
    w.dockerfile(DOCKERFILE);
    let platforms = "linux/amd64,linux/arm64";
    let out = w.build_oci("hello:multi", &["--platform", platforms]);

    let theirs = w.path("buildah-out");
    run_ok(
        buildah(w.dir.path())
            .args(["bud", "--isolation", "chroot", "--platform", platforms])
            .args(["--manifest", "mlist"])
            .arg(&ctx),
    );
    run_ok(
        buildah(w.dir.path())
            .args(["manifest", "push", "--all", "mlist"])
            .arg(format!("oci:{}:hello:multi", theirs.display())),
    );
    let mut pushed = Vec::new();
    for platform in ["linux/amd64", "linux/arm64"] {
        let mine = platform_manifest(&out, "hello:multi", platform);
        let bm = platform_manifest(&theirs, "hello:multi", platform);
        let (my_fs, my_config) = fs_and_config(&out, &mine);
        let (their_fs, their_config) = fs_and_config(&theirs, &bm);
        assert_eq!(my_fs, their_fs, "{platform}: filesystems differ");
        assert_eq!(
            normalized(&my_config),
            normalized(&their_config),
            "{platform}"
        );
        pushed.push((platform, bm));
    }

    // buildah's index pushed to a registry, then built on
    if !have("docker-registry") {
        return;
    }
    let reg = Registry::start();
    let remote = format!("docker://{}/buildah/hello:multi", reg.host());
    run_ok(buildah(w.dir.path()).args([
        "manifest",
        "push",
        "--all",
        "--tls-verify=false",
        "mlist",
        &remote,
    ]));
    let app = Work::new();
    app.file("app", "app");
    app.dockerfile(&format!("FROM {remote}\nCOPY app /app\n"));
    let built = app.build_oci("app:multi", &["--platform", platforms]);
    for (platform, bm) in pushed {
        let m = platform_manifest(&built, "app:multi", platform);
        assert_eq!(
            m["layers"][0]["digest"], bm["layers"][0]["digest"],
            "{platform}"
        );
        let digest = m["layers"][0]["digest"].as_str().unwrap();
        assert_eq!(blob(&built, digest), blob(&theirs, digest), "byte for byte");
    }
    app.dockerfile(&format!("FROM {remote}\n"));
    let o = app.run(&[
        "build",
        "--platform",
        "linux/ppc64le",
        &app.ctx().to_string_lossy(),
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("no image for linux/ppc64le"), "{err}");
    assert!(
        err.contains("the index has") && err.contains("linux/amd64"),
        "{err}"
    );
    assert!(err.contains("linux/arm64"), "{err}");
}
