//! Multi-platform builds (#12): one command, one index, every
//! architecture, no emulator.

use crate::common::platform::*;
use crate::common::*;
use std::process::Command;

/// A Work with the three cross-compiled hellos and the Dockerfile.
fn hello_work() -> Option<Work> {
    if !have_cross_compilers() {
        return None;
    }
    let w = Work::new();
    cross_hello(&w.ctx());
    w.dockerfile(HELLO_DOCKERFILE);
    Some(w)
}

const ALL: &str = "linux/amd64,linux/arm64,linux/arm/v7";

#[test]
fn three_platforms_one_index_each_the_right_binary() {
    let Some(w) = hello_work() else { return };
    let out = w.build_oci("hello:multi", &["--platform", ALL]);
    validate(&out);
    let index = index_of(&out, "hello:multi");
    let platforms: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(platform_of)
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64", "linux/arm/v7"]);
    if have("skopeo") {
        let raw = stdout_ok(Command::new("skopeo").args([
            "inspect",
            "--raw",
            &format!("oci:{}:hello:multi", out.display()),
        ]));
        let raw: serde_json::Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(raw["mediaType"], "application/vnd.oci.image.index.v1+json");
        assert_eq!(raw["manifests"].as_array().unwrap().len(), 3, "{raw}");
    }
    for (platform, _, _, machine) in HELLO_PLATFORMS {
        let m = platform_manifest(&out, "hello:multi", platform);
        let hello = file_in(&out, &m, "/hello");
        assert_eq!(elf_machine(&hello), *machine, "{platform}");
        let (_, config) = fs_and_config(&out, &m);
        let mut parts = platform.split('/');
        assert_eq!(config["os"], parts.next().unwrap());
        assert_eq!(config["architecture"], parts.next().unwrap());
        assert_eq!(config["variant"].as_str(), parts.next(), "{platform}");
        if *platform == "linux/arm64" && have("qemu-aarch64-static") {
            let bin = w.path("hello-arm64");
            std::fs::write(&bin, &hello).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
            let said = stdout_ok(Command::new("qemu-aarch64-static").arg(&bin));
            assert!(said.contains("Hello from a minibuild image!"), "{said}");
        }
    }
}

#[test]
fn podman_pulls_the_arm64_image_from_the_pushed_index() {
    let Some(w) = hello_work() else { return };
    if !have("docker-registry") || !have("podman") || !have("skopeo") {
        return;
    }
    let reg = Registry::start();
    let dest = format!("docker://{}/hello:multi", reg.host());
    let ctx = w.ctx().to_string_lossy().to_string();
    w.ok(&["build", "--platform", ALL, "-o", &dest, &ctx]);
    let raw =
        stdout_ok(Command::new("skopeo").args(["inspect", "--raw", "--tls-verify=false", &dest]));
    let raw: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(raw["manifests"].as_array().unwrap().len(), 3, "{raw}");
    let image = format!("{}/hello:multi", reg.host());
    stdout_ok(podman(w.dir.path()).args(["pull", "--tls-verify=false", "--arch", "arm64", &image]));
    let arch = stdout_ok(podman(w.dir.path()).args([
        "image",
        "inspect",
        "--format",
        "{{.Architecture}}",
        &image,
    ]));
    assert_eq!(arch.trim(), "arm64");
    // the amd64 one runs here, natively
    stdout_ok(podman(w.dir.path()).args(["pull", "--tls-verify=false", "--arch", "amd64", &image]));
    let mut run = podman(w.dir.path());
    run.args(PODMAN_RUN).arg(&image);
    assert!(stdout_ok(&mut run).contains("Hello from a minibuild image!"));
}

#[test]
fn a_source_missing_for_one_platform_fails_naming_it() {
    let w = Work::new();
    w.file("bin/amd64/hello", "x");
    w.dockerfile("FROM scratch\nARG TARGETARCH\nCOPY bin/${TARGETARCH}/hello /hello\n");
    let ctx = w.ctx().to_string_lossy().to_string();
    let o = w.run(&["build", "--platform", "linux/amd64,linux/arm64", &ctx]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("[linux/arm64]"), "{err}");
    assert!(err.contains("bin/arm64/hello"), "{err}");
    assert!(err.contains("Dockerfile:3"), "{err}");
}

#[test]
fn predefined_args_follow_buildkit() {
    let w = Work::new();
    w.dockerfile(concat!(
        "ARG TARGETARCH\n",
        "FROM --platform=$BUILDPLATFORM scratch AS tools\n",
        "LABEL unseen=\"[$TARGETARCH]\"\n",
        "FROM scratch\n",
        "ARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM BUILDARCH\n",
        "LABEL t=$TARGETPLATFORM os=$TARGETOS arch=$TARGETARCH v=\"$TARGETVARIANT\" b=$BUILDPLATFORM ba=$BUILDARCH\n",
    ));
    let out = w.build_oci("args:1", &["--platform", "linux/arm/v7,linux/arm64"]);
    let host = minibuild::oci::Platform::host();
    for (platform, arch, variant) in [("linux/arm/v7", "arm", "v7"), ("linux/arm64", "arm64", "")] {
        let m = platform_manifest(&out, "args:1", platform);
        let (_, config) = fs_and_config(&out, &m);
        let labels = &config["config"]["Labels"];
        assert_eq!(labels["t"], platform, "{labels}");
        assert_eq!(labels["os"], "linux");
        assert_eq!(labels["arch"], arch);
        assert_eq!(labels["v"], variant);
        assert_eq!(labels["b"], host.to_string());
        assert_eq!(labels["ba"], host.architecture);
    }
    // a stage that does not declare ARG TARGETARCH does not see it
    let tools = w.build_oci(
        "tools:1",
        &["--platform", "linux/arm64", "--target", "tools"],
    );
    let c = config_of(&tools, "tools:1");
    assert_eq!(c["config"]["Labels"]["unseen"], "[]", "{c}");
    // a --build-arg overrides a predefined value, as in BuildKit
    let o = w.build_oci("args:2", &["--build-arg", "TARGETARCH=weird"]);
    assert_eq!(config_of(&o, "args:2")["config"]["Labels"]["arch"], "weird");
}

#[test]
fn a_layer_the_same_for_every_platform_is_written_once_and_the_index_is_stable() {
    let w = Work::new();
    w.file("common.txt", "shared by all");
    w.file("amd64.txt", "a");
    w.file("arm64.txt", "b");
    w.dockerfile(
        // the shared layer sits on a layer that differs: COPY entries were
        // placed when planned, so the same entries make the same layer
        "FROM scratch\nARG TARGETARCH\nCOPY ${TARGETARCH}.txt /arch.txt\nCOPY common.txt /\n",
    );
    let ctx = w.ctx().to_string_lossy().to_string();
    let build = |dest: &str| {
        let o = minibuild()
            .args([
                "build",
                "--platform",
                "linux/amd64,linux/arm64",
                "-o",
                dest,
                &ctx,
            ])
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .env("MINIBUILD_STORE", w.path("store"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        (
            String::from_utf8_lossy(&o.stdout).trim().to_string(),
            stderr(&o),
        )
    };
    let (first, log) = build(&format!("oci:{}:s:1", w.path("a").display()));
    assert!(log.contains("1 layers shared between them"), "{log}");
    let (second, _) = build(&format!("oci:{}:s:1", w.path("b").display()));
    assert_eq!(
        first, second,
        "SOURCE_DATE_EPOCH makes the index reproducible"
    );
    let out = w.path("a");
    let amd = platform_manifest(&out, "s:1", "linux/amd64");
    let arm = platform_manifest(&out, "s:1", "linux/arm64");
    assert_ne!(amd["layers"][0], arm["layers"][0]);
    assert_eq!(amd["layers"][1], arm["layers"][1]);
}

#[test]
fn debian_style_rootfs_per_architecture() {
    let w = Work::new();
    for (arch, machine) in [("amd64", 62u16), ("arm64", 183)] {
        // a generated rootfs: what mmdebstrap --variant=extract makes, in small
        let mut b = tar::Builder::new(Vec::new());
        let mut add = |path: &str, mode: u32, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(mode);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(1_700_000_000);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, path, data).unwrap();
        };
        add("etc/debian_version", 0o644, b"12.8\n");
        add("etc/dpkg-arch", 0o644, arch.as_bytes());
        let mut elf = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
        elf.resize(18, 0);
        elf.extend_from_slice(&machine.to_le_bytes());
        elf.resize(64, 0);
        add("usr/bin/dash", 0o755, &elf);
        let bytes = b.into_inner().unwrap();
        w.file(&format!("rootfs-{arch}.tar"), bytes);
    }
    w.dockerfile("FROM scratch\nARG TARGETARCH\nADD rootfs-${TARGETARCH}.tar /\nCMD [\"bash\"]\n");
    let out = w.build_oci("debian:multi", &["--platform", "linux/amd64,linux/arm64"]);
    validate(&out);
    for (platform, arch, machine) in [("linux/amd64", "amd64", 62), ("linux/arm64", "arm64", 183)] {
        let m = platform_manifest(&out, "debian:multi", platform);
        assert_eq!(file_in(&out, &m, "etc/dpkg-arch"), arch.as_bytes());
        assert_eq!(elf_machine(&file_in(&out, &m, "usr/bin/dash")), machine);
    }
}

#[test]
fn docker_archive_takes_one_platform() {
    let w = Work::new();
    w.file("a", "a");
    w.dockerfile("FROM scratch\nCOPY a /\n");
    let ctx = w.ctx().to_string_lossy().to_string();
    let archive = w.path("d.tar").to_string_lossy().to_string();
    let o = w.run(&[
        "build",
        "--platform",
        "linux/amd64,linux/arm64",
        "-o",
        &format!("docker-archive:{archive}"),
        &ctx,
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("holds one image"), "{}", stderr(&o));
    assert!(!w.path("d.tar").exists());
    w.ok(&[
        "build",
        "--platform",
        "linux/amd64,linux/arm64",
        "-t",
        "two:1",
        &ctx,
    ]);
    let o = w.run(&["save", "two:1", &format!("docker-archive:{archive}")]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("linux/amd64, linux/arm64") && err.contains("--platform"),
        "{err}"
    );
    w.ok(&[
        "save",
        "--platform",
        "linux/arm64",
        "two:1",
        &format!("docker-archive:{archive}"),
    ]);
    let config = tar_member(std::path::Path::new(&archive), |p| {
        p.ends_with(".json") && p != "manifest.json"
    });
    let config: serde_json::Value = serde_json::from_str(&config.unwrap()).unwrap();
    assert_eq!(config["architecture"], "arm64");
    // --platform on save to oci: picks that image alone
    w.ok(&[
        "save",
        "--platform",
        "linux/arm64",
        "two:1",
        &format!("oci:{}:one", w.path("o").display()),
    ]);
    let index = read_json(&w.path("o/index.json"));
    assert_eq!(
        index["manifests"][0]["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
}

#[test]
fn images_rm_and_prune_handle_indexes() {
    let w = Work::new();
    w.file("a", "a");
    w.dockerfile("FROM scratch\nARG TARGETARCH\nLABEL a=$TARGETARCH\nCOPY a /\n");
    let ctx = w.ctx().to_string_lossy().to_string();
    w.ok(&[
        "build",
        "--platform",
        "linux/amd64,linux/arm64",
        "-t",
        "idx:1",
        &ctx,
    ]);
    let images = w.ok(&["images"]);
    let row = images.lines().find(|l| l.starts_with("idx:1")).unwrap();
    assert!(row.ends_with("linux/amd64,linux/arm64"), "{images}");
    let store = w.path("store");
    let blobs = || {
        std::fs::read_dir(store.join("blobs/sha256"))
            .unwrap()
            .count()
    };
    let before = blobs();
    // index + 2 manifests + 2 configs + 1 shared layer
    assert_eq!(before, 6);
    w.ok(&["prune"]);
    assert_eq!(blobs(), before, "prune keeps what the index reaches");
    validate(&store);
    w.ok(&["rm", "idx:1"]);
    // (--cache: the build cache would keep the layer)
    w.ok(&["prune", "--cache"]);
    assert_eq!(blobs(), 0);
}

#[test]
fn platform_lists_are_checked_before_building() {
    let w = Work::new();
    w.file("a", "a");
    w.dockerfile("FROM scratch\nCOPY a /\n");
    let ctx = w.ctx().to_string_lossy().to_string();
    for (list, why) in [
        (
            "linux/amd64,linux/x86_64",
            "--platform lists linux/amd64 twice",
        ),
        (
            "linux/arm64/v8,linux/arm64",
            "--platform lists linux/arm64 twice",
        ),
        ("linux//v7", "invalid platform \"linux//v7\""),
        ("nonsense", "unknown operating system or architecture"),
    ] {
        let o = w.run(&["build", "--platform", list, "-t", "x:1", &ctx]);
        assert_eq!(o.status.code(), Some(2), "{list}: {}", stderr(&o));
        assert!(stderr(&o).contains(why), "{list}: {}", stderr(&o));
    }
    assert!(!w.path("store/index.json").exists() || !w.ok(&["images"]).contains("x:1"));
}
