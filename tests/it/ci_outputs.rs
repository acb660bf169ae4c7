//! What a CI job takes from a build: `--iidfile` and `--metadata-file`
//! (checked against skopeo), `--label`, `--annotation` at each of buildx's
//! levels, `--source-date-epoch`, and archives written to stdout.

use crate::common::{have, minibuild, podman, read_json, run_ok, stderr, Registry, Work};
use serde_json::Value;
use std::process::{Command, Stdio};

fn skopeo_inspect(args: &[&str]) -> Value {
    let out = run_ok(Command::new("skopeo").arg("inspect").args(args));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn small_context(w: &Work) -> String {
    w.file("a.txt", "alpha\n");
    w.dockerfile(
        "FROM scratch\nLABEL from.dockerfile=yes shadowed=dockerfile\nCOPY a.txt /a.txt\n",
    );
    w.ctx().display().to_string()
}

#[test]
fn iidfile_and_metadata_file_match_skopeo() {
    let w = Work::new();
    let ctx = small_context(&w);
    let out = w.path("out");
    let dest = format!("oci:{}:ci", out.display());
    let (iid, meta) = (w.path("iid"), w.path("meta.json"));
    let printed = w.ok(&[
        "build",
        "-t",
        "ci/app:1",
        "-o",
        &dest,
        "--iidfile",
        iid.to_str().unwrap(),
        "--metadata-file",
        meta.to_str().unwrap(),
        &ctx,
    ]);
    let digest = std::fs::read_to_string(&iid).unwrap();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest:?}"
    );
    assert_eq!(printed.trim(), digest);
    let meta = read_json(&meta);
    assert_eq!(meta["containerimage.digest"], digest.as_str());
    assert_eq!(meta["image.name"], "ci/app:1");
    let desc = &meta["containerimage.descriptor"];
    assert_eq!(desc["digest"], digest.as_str());
    assert_eq!(
        desc["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    if !have("skopeo") {
        return;
    }
    let layout = format!("oci:{}:ci", out.display());
    let inspected = skopeo_inspect(&[&layout]);
    assert_eq!(inspected["Digest"], digest.as_str());
    let raw = run_ok(Command::new("skopeo").args(["inspect", "--raw", &layout])).stdout;
    assert_eq!(desc["size"], raw.len() as u64);
    let manifest: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        meta["containerimage.config.digest"],
        manifest["config"]["digest"]
    );
}

#[test]
fn metadata_file_names_the_pushed_image_as_the_registry_has_it() {
    if !have("docker-registry") || !have("skopeo") {
        return;
    }
    let reg = Registry::start();
    let w = Work::new();
    let ctx = small_context(&w);
    let dest = format!("docker://{}/ci/pushed:1", reg.host());
    let meta = w.path("meta.json");
    w.ok(&[
        "build",
        "-o",
        &dest,
        "--metadata-file",
        meta.to_str().unwrap(),
        &ctx,
    ]);
    let meta = read_json(&meta);
    let inspected = skopeo_inspect(&["--tls-verify=false", &dest]);
    assert_eq!(meta["containerimage.digest"], inspected["Digest"]);
    assert_eq!(meta["image.name"], format!("{}/ci/pushed:1", reg.host()));
}

fn index_entry(layout: &std::path::Path) -> Value {
    let index = read_json(&layout.join("index.json"));
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1, "{index}");
    index["manifests"][0].clone()
}

#[test]
fn labels_and_annotations_land_where_buildx_puts_them() {
    let w = Work::new();
    let ctx = small_context(&w);
    let out = w.build_oci(
        "one",
        &[
            "--label",
            "shadowed=cli",
            "--label",
            "empty",
            "--annotation",
            "org.example.plain=manifest",
            "--annotation",
            "manifest-descriptor:org.example.desc=1",
            "--annotation",
            "manifest[linux/s390x]:org.example.other=never",
        ],
    );
    let entry = index_entry(&out);
    assert_eq!(entry["annotations"]["org.example.desc"], "1");
    assert_eq!(
        entry["annotations"]["org.opencontainers.image.ref.name"],
        "one"
    );
    let digest = entry["digest"].as_str().unwrap();
    let manifest: Value = serde_json::from_slice(&crate::common::blob(&out, digest)).unwrap();
    assert_eq!(
        manifest["annotations"],
        serde_json::json!({"org.example.plain": "manifest"})
    );
    let config: Value = serde_json::from_slice(&crate::common::blob(
        &out,
        manifest["config"]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    assert_eq!(
        config["config"]["Labels"],
        serde_json::json!({"from.dockerfile": "yes", "shadowed": "cli", "empty": ""})
    );
    // an index annotation needs an index
    let o = w.run(&["build", "--annotation", "index:k=v", "-o", "oci:x", &ctx]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("several platforms"), "{}", stderr(&o));
    assert!(!w.path("x").exists());
    let o = w.run(&["build", "--annotation", "layer:k=v", &ctx]);
    assert!(
        stderr(&o).contains("unknown annotation type \"layer\""),
        "{}",
        stderr(&o)
    );
}

#[test]
fn annotations_reach_each_level_of_a_multi_platform_build() {
    let w = Work::new();
    small_context(&w);
    let out = w.build_oci(
        "multi",
        &[
            "--platform",
            "linux/amd64,linux/arm64",
            "--annotation",
            "index:org.example.index=i",
            "--annotation",
            "index-descriptor:org.example.top=t",
            "--annotation",
            "manifest[linux/arm64]:org.example.arm=a",
            "--annotation",
            "manifest-descriptor[linux/amd64]:org.example.amd=d",
        ],
    );
    let top = index_entry(&out);
    assert_eq!(top["annotations"]["org.example.top"], "t");
    let index: Value =
        serde_json::from_slice(&crate::common::blob(&out, top["digest"].as_str().unwrap()))
            .unwrap();
    assert_eq!(
        index["annotations"],
        serde_json::json!({"org.example.index": "i"})
    );
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    for e in entries {
        let arch = e["platform"]["architecture"].as_str().unwrap();
        let manifest: Value =
            serde_json::from_slice(&crate::common::blob(&out, e["digest"].as_str().unwrap()))
                .unwrap();
        if arch == "arm64" {
            assert_eq!(
                manifest["annotations"],
                serde_json::json!({"org.example.arm": "a"})
            );
            assert!(e.get("annotations").is_none(), "{e}");
        } else {
            assert!(manifest.get("annotations").is_none(), "{manifest}");
            assert_eq!(
                e["annotations"],
                serde_json::json!({"org.example.amd": "d"})
            );
        }
    }
    crate::common::validate(&out);
}

#[test]
fn the_source_date_epoch_flag_equals_the_variable() {
    let w = Work::new();
    let ctx = small_context(&w);
    let flag = w.ok(&[
        "build",
        "--source-date-epoch",
        "1700000000",
        "-o",
        "oci:a:x",
        &ctx,
    ]);
    let env = minibuild()
        .args(["build", "-o", "oci:b:x", &ctx])
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("MINIBUILD_STORE", w.path("store"))
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    assert!(env.status.success(), "{}", stderr(&env));
    assert_eq!(flag, String::from_utf8_lossy(&env.stdout));
    let config = crate::common::config_of(&w.path("a"), "x");
    assert_eq!(config["created"], "2023-11-14T22:13:20Z");
}

#[test]
fn a_docker_archive_on_stdout_loads_into_podman() {
    let w = Work::new();
    let ctx = small_context(&w);
    let meta = w.path("meta.json");
    let mut build = minibuild()
        .args([
            "build",
            "-t",
            "ci/piped:1",
            "-o",
            "docker-archive:-",
            "--metadata-file",
        ])
        .arg(&meta)
        .arg(&ctx)
        .env("MINIBUILD_STORE", w.path("store"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if !have("podman") {
        let o = build.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let mut tar = tar::Archive::new(&o.stdout[..]);
        let names: Vec<String> = tar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert!(names.contains(&"manifest.json".to_string()), "{names:?}");
        return;
    }
    let load = podman(w.dir.path())
        .arg("load")
        .stdin(build.stdout.take().unwrap())
        .output()
        .unwrap();
    let built = build.wait_with_output().unwrap();
    assert!(built.status.success(), "{}", stderr(&built));
    assert!(load.status.success(), "podman load: {}", stderr(&load));
    let loaded = String::from_utf8_lossy(&load.stdout);
    assert!(loaded.contains("ci/piped:1"), "{loaded}");
    // the loaded image is the one built: its config digest is podman's id
    let meta = read_json(&meta);
    let id = run_ok(podman(w.dir.path()).args([
        "image",
        "inspect",
        "--format",
        "{{.Id}}",
        "ci/piped:1",
    ]));
    let config = meta["containerimage.config.digest"].as_str().unwrap();
    assert_eq!(
        format!("sha256:{}", String::from_utf8_lossy(&id.stdout).trim()),
        config
    );
}

#[test]
fn an_oci_archive_on_stdout_is_the_image_and_a_terminal_is_refused() {
    let w = Work::new();
    let ctx = small_context(&w);
    let iid = w.path("iid");
    let file = std::fs::File::create(w.path("img.tar")).unwrap();
    let o = minibuild()
        .args(["build", "-o", "oci-archive:-", "--iidfile"])
        .arg(&iid)
        .arg(&ctx)
        .env("MINIBUILD_STORE", w.path("store"))
        .stdout(file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let digest = std::fs::read_to_string(&iid).unwrap();
    if have("skopeo") {
        let archive = format!("oci-archive:{}", w.path("img.tar").display());
        assert_eq!(skopeo_inspect(&[&archive])["Digest"], digest.as_str());
    }
    if !have("script") {
        return;
    }
    let line = format!(
        "{} build -o oci-archive:- {ctx}; echo EXIT=$?",
        env!("CARGO_BIN_EXE_minibuild")
    );
    let o = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("MINIBUILD_STORE", w.path("store"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(
        shown.contains("refusing to write an archive to a terminal"),
        "{shown}"
    );
    assert!(shown.contains("EXIT=2"), "{shown}");
}
