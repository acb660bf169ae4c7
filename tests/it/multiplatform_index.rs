//! Indexes as bases and merged (#12): FROM an index takes the right
//! platform's layers byte for byte; `index create` merges single-platform
//! builds made with different stores into the one-command index.

use crate::common::platform::*;
use crate::common::*;

/// A context whose image differs per platform: `/arch` says which.
fn arch_work() -> Work {
    let w = Work::new();
    w.file("amd64", "amd64 bits");
    w.file("arm64", "arm64 bits");
    w.file("arm", "arm bits");
    w.dockerfile("FROM scratch\nARG TARGETARCH\nCOPY ${TARGETARCH} /arch\n");
    w
}

const EPOCH: &str = "1700000000";

/// Runs minibuild with SOURCE_DATE_EPOCH and `store`; its stdout.
fn run_in(w: &Work, store: &str, args: &[&str]) -> String {
    let o = minibuild()
        .args(args)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env("MINIBUILD_STORE", w.path(store))
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "minibuild {args:?}: {}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[test]
fn from_an_index_reuses_the_right_platforms_layers() {
    let w = arch_work();
    let ctx = w.ctx().to_string_lossy().to_string();
    let base = w.path("base");
    let base_dest = format!("oci:{}:arch:multi", base.display());
    run_in(
        &w,
        "store",
        &[
            "build",
            "--platform",
            "linux/amd64,linux/arm64,linux/arm/v7",
            "-o",
            &base_dest,
            &ctx,
        ],
    );

    let app = Work::new();
    app.file("app", "app");
    app.dockerfile(&format!("FROM {base_dest}\nCOPY app /app\n"));
    let out = app.build_oci("app:multi", &["--platform", "linux/arm64,linux/arm/v7"]);
    for platform in ["linux/arm64", "linux/arm/v7"] {
        let base_m = platform_manifest(&base, "arch:multi", platform);
        let m = platform_manifest(&out, "app:multi", platform);
        assert_eq!(m["layers"][0], base_m["layers"][0], "{platform}");
        let digest = m["layers"][0]["digest"].as_str().unwrap();
        assert_eq!(blob(&out, digest), blob(&base, digest), "byte for byte");
    }
    // arm/v6 falls back to nothing (v7 does not run on v6); arm64/v8 is arm64
    app.dockerfile(&format!(
        "FROM --platform=linux/arm64/v8 {base_dest}\nCOPY app /app\n"
    ));
    let one = app.build_oci("app:v8", &[]);
    let arm = platform_manifest(&base, "arch:multi", "linux/arm64");
    assert_eq!(manifest_of(&one, "app:v8")["layers"][0], arm["layers"][0]);

    app.dockerfile(&format!("FROM {base_dest}\n"));
    let ctx2 = app.ctx().to_string_lossy().to_string();
    let o = app.run(&["build", "--platform", "linux/s390x", &ctx2]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains(
            "no image for linux/s390x: the index has linux/amd64, linux/arm64, linux/arm/v7"
        ),
        "{err}"
    );
    assert!(err.contains("Dockerfile:1"), "{err}");
}

/// `arch:one` (amd64 and arm64 in one command) and `arch:amd64` in
/// store-a; the Work, the context and arch:one's digest.
fn one_and_amd64() -> (Work, String, String) {
    let w = arch_work();
    let ctx = w.ctx().to_string_lossy().to_string();
    let both = [
        "build",
        "--platform",
        "linux/amd64,linux/arm64",
        "-t",
        "arch:one",
        &ctx,
    ];
    let one = run_in(&w, "store-a", &both);
    let amd = [
        "build",
        "--platform",
        "linux/amd64",
        "-t",
        "arch:amd64",
        &ctx,
    ];
    run_in(&w, "store-a", &amd);
    (w, ctx, one)
}

/// `index create ARGS...` in store-a, expected to fail; its stderr.
fn create_fails(w: &Work, args: &[&str]) -> String {
    let o = minibuild()
        .args(["index", "create"])
        .args(args)
        .env("MINIBUILD_STORE", w.path("store-a"))
        .output()
        .unwrap();
    assert!(!o.status.success(), "index create {args:?} succeeded");
    stderr(&o)
}

#[test]
fn index_create_from_two_stores_equals_the_one_command_index() {
    let (w, ctx, one) = one_and_amd64();
    // another "machine": its own store, the other platform
    let b_out = format!("oci:{}:arch:arm64", w.path("machine-b").display());
    let arm = ["build", "--platform", "linux/arm64", "-o", &b_out, &ctx];
    run_in(&w, "store-b", &arm);
    let args = ["index", "create", "-t", "arch:merged", "arch:amd64", &b_out];
    let merged = run_in(&w, "store-a", &args);
    assert_eq!(merged, one, "the merged index is the one-command index");
    validate(&w.path("store-a"));
}

#[test]
fn index_create_refuses_a_platform_twice_unless_replace() {
    let (w, ctx, one) = one_and_amd64();
    // another amd64 image: built at another time (no SOURCE_DATE_EPOCH)
    let o = minibuild()
        .args([
            "build",
            "--platform",
            "linux/amd64",
            "-t",
            "arch:later",
            &ctx,
        ])
        .env("MINIBUILD_STORE", w.path("store-a"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let err = create_fails(&w, &["-t", "arch:dup", "arch:later", "arch:one"]);
    assert!(err.contains("linux/amd64 is there already"), "{err}");
    let args = [
        "index",
        "create",
        "--replace",
        "-t",
        "arch:dup",
        "arch:later",
        "arch:one",
    ];
    assert_eq!(
        run_in(&w, "store-a", &args),
        one,
        "the later source replaced"
    );
    // the very same image twice is listed once
    let args = [
        "index",
        "create",
        "-t",
        "arch:same",
        "arch:amd64",
        "arch:one",
    ];
    assert_eq!(run_in(&w, "store-a", &args), one);
}

#[test]
fn index_create_annotates_the_index_and_one_platforms_entry() {
    let (w, _, _) = one_and_amd64();
    let out = format!("oci:{}:arch:ann", w.path("ann").display());
    let index_note = "index:org.opencontainers.image.title=arch";
    let args = [
        "index",
        "create",
        "-t",
        "arch:ann",
        "-o",
        &out,
        "--annotation",
        index_note,
        "--annotation",
        "manifest[linux/arm64]:note=arm",
        "arch:one",
    ];
    run_in(&w, "store-a", &args);
    let index = index_of(&w.path("ann"), "arch:ann");
    assert_eq!(
        index["annotations"]["org.opencontainers.image.title"],
        "arch"
    );
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries[1]["annotations"]["note"], "arm", "{index}");
    assert!(entries[0].get("annotations").is_none(), "{index}");
    validate(&w.path("ann"));
    let err = create_fails(
        &w,
        &[
            "-t",
            "x",
            "--annotation",
            "manifest[linux/s390x]:a=b",
            "arch:one",
        ],
    );
    assert!(err.contains("no image for linux/s390x"), "{err}");
}

#[test]
fn index_create_pushes_to_a_registry_uploading_what_is_missing() {
    if !have("docker-registry") {
        return;
    }
    let w = arch_work();
    let ctx = w.ctx().to_string_lossy().to_string();
    let mut reg = Registry::start();
    let amd = format!("docker://{}/arch:amd64", reg.host());
    run_in(
        &w,
        "store",
        &["build", "--platform", "linux/amd64", "-o", &amd, &ctx],
    );
    run_in(
        &w,
        "store",
        &[
            "build",
            "--platform",
            "linux/arm64",
            "-t",
            "arch:arm64",
            &ctx,
        ],
    );
    let multi = format!("docker://{}/arch:multi", reg.host());
    let o = minibuild()
        .args([
            "index",
            "create",
            "-t",
            "arch:multi",
            "-o",
            &multi,
            &amd,
            "arch:arm64",
        ])
        .env("MINIBUILD_STORE", w.path("store"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // the amd64 layer and config were there; the arm64 ones were not
    assert!(
        stderr(&o).contains("2 blobs uploaded, 2 already there"),
        "{}",
        stderr(&o)
    );
    // nor the amd64 manifest: its build's push, then the arm64 one and the index
    let puts = reg
        .log()
        .lines()
        .filter(|l| l.contains("\"PUT /v2/arch/manifests/"))
        .count();
    assert_eq!(puts, 3, "{}", reg.log());
    // an index at a registry as a source: pulled whole, listed as it was
    let pushed = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let copy = run_in(
        &w,
        "other-store",
        &["index", "create", "-t", "arch:copy", &multi],
    );
    assert_eq!(copy, pushed);
    validate(&w.path("other-store"));
    // FROM the pushed index, for each platform
    let app = Work::new();
    app.dockerfile(&format!("FROM {multi}\n"));
    let out = app.build_oci("app:multi", &["--platform", "linux/amd64,linux/arm64"]);
    for (platform, bits) in [("linux/amd64", "amd64 bits"), ("linux/arm64", "arm64 bits")] {
        let m = platform_manifest(&out, "app:multi", platform);
        assert_eq!(file_in(&out, &m, "arch"), bits.as_bytes());
    }
    // both platforms' bases are cached in the store: built again without
    // the registry, each platform gets the same layers
    let layers = |out: &std::path::Path, platform: &str| {
        platform_manifest(out, "app:multi", platform)["layers"].clone()
    };
    let first = [layers(&out, "linux/amd64"), layers(&out, "linux/arm64")];
    reg.stop();
    std::fs::remove_dir_all(&out).unwrap();
    let again = app.build_oci("app:multi", &["--platform", "linux/amd64,linux/arm64"]);
    assert_eq!(
        [layers(&again, "linux/amd64"), layers(&again, "linux/arm64")],
        first
    );
    let images = app.ok(&["images"]);
    assert!(images.contains("linux/amd64,linux/arm64"), "{images}");
    validate(&app.path("store"));
}

#[test]
fn copy_from_an_index_and_a_build_platform_stage() {
    let w = arch_work();
    let ctx = w.ctx().to_string_lossy().to_string();
    let base_dest = format!("oci:{}:arch:multi", w.path("base").display());
    let platforms = "linux/amd64,linux/arm64,linux/arm/v7";
    run_in(
        &w,
        "store",
        &["build", "--platform", platforms, "-o", &base_dest, &ctx],
    );

    let app = Work::new();
    app.dockerfile(&format!(
        "FROM --platform=$BUILDPLATFORM {base_dest} AS tools\n\
         FROM scratch\n\
         COPY --from=tools /arch /build-arch\n\
         COPY --from={base_dest} /arch /target-arch\n"
    ));
    let out = app.build_oci("app:multi", &["--platform", platforms]);
    let host = minibuild::oci::Platform::host().architecture;
    for (platform, arch) in [
        ("linux/amd64", "amd64"),
        ("linux/arm64", "arm64"),
        ("linux/arm/v7", "arm"),
    ] {
        let m = platform_manifest(&out, "app:multi", platform);
        let target = file_in(&out, &m, "target-arch");
        assert_eq!(target, format!("{arch} bits").as_bytes(), "{platform}");
        let build = file_in(&out, &m, "build-arch");
        assert_eq!(build, format!("{host} bits").as_bytes(), "{platform}");
    }
    // an index written as oci-archive stays an index
    app.ok(&[
        "build",
        "--platform",
        platforms,
        "-o",
        &format!("oci-archive:{}", app.path("a.tar").display()),
        &app.ctx().to_string_lossy(),
    ]);
    let index = tar_member(&app.path("a.tar"), |p| p == "index.json").unwrap();
    let index: serde_json::Value = serde_json::from_str(&index).unwrap();
    assert_eq!(
        index["manifests"][0]["mediaType"], "application/vnd.oci.image.index.v1+json",
        "{index}"
    );
    // and is a base: FROM oci-archive: for each platform
    let next = Work::new();
    let archive = format!("oci-archive:{}", app.path("a.tar").display());
    next.dockerfile(&format!("FROM {archive}\n"));
    let out = next.build_oci("next:multi", &["--platform", "linux/arm64,linux/arm/v7"]);
    for (platform, arch) in [("linux/arm64", "arm64"), ("linux/arm/v7", "arm")] {
        let m = platform_manifest(&out, "next:multi", platform);
        let target = file_in(&out, &m, "target-arch");
        assert_eq!(target, format!("{arch} bits").as_bytes(), "{platform}");
    }
}
