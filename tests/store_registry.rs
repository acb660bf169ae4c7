//! Registries through the binary: `-o docker://`, `push`, FROM
//! `docker://` and FROM with `--pull`, against a CNCF `docker-registry` the
//! test starts on 127.0.0.1; checked with skopeo, podman and the
//! registry's own access log.

mod common;

use common::{have, minibuild, podman, read_json, stdout_ok, validate, Registry, Work, PODMAN_RUN};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

const HELLO: &str = "Hello from a minibuild image!";

/// Runs minibuild in `w` with a fixed SOURCE_DATE_EPOCH (so two builds of
/// one context make one image).
fn mb(w: &Work, args: &[&str]) -> Output {
    minibuild()
        .args(args)
        .env("MINIBUILD_STORE", w.path("store"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .current_dir(w.dir.path())
        .output()
        .unwrap()
}

fn mb_ok(w: &Work, args: &[&str]) -> (String, String) {
    let o = mb(w, args);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert!(o.status.success(), "minibuild {args:?} failed:\n{out}{err}");
    (out, err)
}

/// (uploaded, already there) from the CLI's `... (N blobs uploaded, M already there)`.
fn push_counts(text: &str) -> (u32, u32) {
    let start = text
        .rfind(" blobs uploaded, ")
        .unwrap_or_else(|| panic!("no push report in {text}"));
    let before = &text[..start];
    let uploaded = before[before.rfind('(').unwrap() + 1..].parse().unwrap();
    let after = &text[start + " blobs uploaded, ".len()..];
    let there = after[..after.find(' ').unwrap()].parse().unwrap();
    (uploaded, there)
}

/// How often each (repository, digest) was uploaded, from the access log.
fn uploads(reg: &Registry) -> BTreeMap<(String, String), usize> {
    let mut n = BTreeMap::new();
    for line in reg.log().lines() {
        let Some(rest) = line.split("\"PUT /v2/").nth(1) else {
            continue;
        };
        let Some((repo, query)) = rest.split_once("/blobs/uploads/") else {
            continue;
        };
        let query = query.split(' ').next().unwrap();
        let digest = query
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix("digest="))
            .unwrap_or_else(|| panic!("no digest in {line}"))
            .replace("%3A", ":")
            .replace("%3a", ":");
        *n.entry((repo.to_string(), digest)).or_insert(0) += 1;
    }
    n
}

fn skopeo_inspect(name: &str) -> Value {
    let text = stdout_ok(
        Command::new("skopeo")
            .args(["inspect", "--tls-verify=false"])
            .arg(format!("docker://{name}")),
    );
    serde_json::from_str(&text).unwrap()
}

/// ref.name → digest in a layout's index.json.
fn tags(layout: &Path) -> BTreeMap<String, String> {
    read_json(&layout.join("index.json"))["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["annotations"]["org.opencontainers.image.ref.name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                m["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn build_push_pull_run_and_build_from_the_registry() {
    if !have("docker-registry") || !have("skopeo") || !have("podman") {
        return;
    }
    let mut reg = Registry::start();
    let host = reg.host();
    let w = Work::new();
    let store = w.path("store");
    let ctx = w.hello_context("registry");
    let ctx_s = ctx.to_str().unwrap().to_string();
    let hello1 = format!("{host}/hello:1");

    // Build straight to the registry (and to a layout, in the same build).
    let (out, err) = mb_ok(
        &w,
        &[
            "build",
            "-o",
            &format!("docker://{hello1}"),
            "-o",
            &format!("oci:{}:hello:1", w.path("also").display()),
            &ctx_s,
        ],
    );
    let digest = out.trim().to_string();
    assert!(
        err.contains(&format!("wrote docker://{hello1}@{digest}")),
        "{err}"
    );
    assert_eq!(push_counts(&err), (3, 0), "config and two layers: {err}");
    validate(&w.path("also"));

    let v = skopeo_inspect(&hello1);
    assert_eq!(v["Digest"], digest.as_str(), "{v}");
    assert_eq!(v["Layers"].as_array().unwrap().len(), 2, "{v}");
    let raw = stdout_ok(
        Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{hello1}")),
    );
    assert_eq!(minibuild::digest::sha256(raw.as_bytes()), digest);

    // podman pulls it from the registry and runs it.
    let out = stdout_ok(
        podman(w.dir.path())
            .args(PODMAN_RUN)
            .arg("--tls-verify=false")
            .arg(&hello1),
    );
    assert_eq!(out.trim(), HELLO);

    // The same build again: the registry has every blob, none is sent.
    let (out, err) = mb_ok(&w, &["-o", &format!("docker://{hello1}"), &ctx_s]);
    assert_eq!(out.trim(), digest);
    assert_eq!(push_counts(&err), (0, 3), "{err}");

    // Into the store, then `push` (twice) under another name.
    mb_ok(&w, &["-t", "hello:stored", &ctx_s]);
    let hello2 = format!("{host}/hello:2");
    let (out, _) = mb_ok(&w, &["push", "hello:stored", &format!("docker://{hello2}")]);
    assert!(
        out.contains(&format!("docker://{hello2}@{digest}")),
        "{out}"
    );
    assert_eq!(push_counts(&out), (0, 3), "{out}");
    let other = format!("{host}/other/hello:2");
    let (out, _) = mb_ok(&w, &["push", "hello:stored", &format!("docker://{other}")]);
    assert_eq!(push_counts(&out), (3, 0), "a new repository: {out}");
    let (out, _) = mb_ok(&w, &["push", "hello:stored", &format!("docker://{other}")]);
    assert_eq!(push_counts(&out), (0, 3), "{out}");
    assert_eq!(skopeo_inspect(&other)["Digest"], digest.as_str());
    // The registry's own log: no blob went twice to one repository.
    let sent = uploads(&reg);
    assert_eq!(sent.len(), 6, "{sent:?}");
    assert!(sent.values().all(|&n| n == 1), "{sent:?}");

    // FROM docker://: fetched, verified and kept in the store under its name.
    let derived = w.path("derived");
    std::fs::create_dir_all(&derived).unwrap();
    let derived_s = derived.to_str().unwrap().to_string();
    std::fs::write(
        derived.join("Dockerfile"),
        format!("FROM docker://{hello1}\nENV STAGE=derived\n"),
    )
    .unwrap();
    let (d_out, _) = mb_ok(&w, &["-t", "derived:1", &derived_s]);
    let stored = tags(&store);
    assert_eq!(stored.get(&hello1), Some(&digest), "{stored:?}");
    assert!(stored.contains_key("derived:1"), "{stored:?}");
    let config = common::config_of(&store, "derived:1");
    assert!(
        config["config"]["Env"]
            .to_string()
            .contains("STAGE=derived"),
        "{config}"
    );
    assert_eq!(
        common::manifest_of(&store, "derived:1")["layers"],
        common::manifest_of(&store, &hello1)["layers"]
    );
    validate(&store);
    let out = common::podman_run(w.dir.path(), &store, "derived:1", &[]);
    assert_eq!(out.trim(), HELLO);

    // A plain registry name is looked up in the store only...
    std::fs::write(
        derived.join("Dockerfile"),
        format!("FROM {hello2}\nENV STAGE=pulled\n"),
    )
    .unwrap();
    let o = mb(&w, &["-t", "pulled:1", &derived_s]);
    let err = common::stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("no image named \"{hello2}\""))
            && err.contains(&format!("add --pull to fetch {hello2}")),
        "{err}"
    );
    assert!(err.contains("Dockerfile:1:1"), "{err}");
    // ...and with --pull, fetched from its registry and cached.
    mb_ok(&w, &["--pull", "-t", "pulled:1", &derived_s]);
    assert_eq!(tags(&store).get(&hello2), Some(&digest));
    validate(&store);

    // The registry is gone: the cached bases still build.
    reg.stop();
    let (again, _) = mb_ok(&w, &["-t", "pulled:2", &derived_s]);
    let (again_pull, _) = mb_ok(&w, &["--pull", "-t", "pulled:3", &derived_s]);
    assert_eq!(again.trim(), again_pull.trim());
    std::fs::write(
        derived.join("Dockerfile"),
        format!("FROM docker://{hello1}\nENV STAGE=derived\n"),
    )
    .unwrap();
    let (d_again, _) = mb_ok(&w, &["-t", "derived:2", &derived_s]);
    assert_eq!(d_again, d_out, "same base, same epoch: same image");
    // --pull asks the registry again for a docker:// base, and says where it failed.
    let o = mb(&w, &["--pull", "-t", "derived:3", &derived_s]);
    let err = common::stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("http://{host}/v2/")), "{err}");
}

#[test]
fn docker_hub_names_need_the_network_and_say_so() {
    use std::net::ToSocketAddrs;
    if ("registry-1.docker.io", 443).to_socket_addrs().is_ok() {
        eprintln!("skipping: registry-1.docker.io resolves, this machine may be online");
        return;
    }
    let w = Work::new();
    w.dockerfile("FROM alpine:3.19\nENV A=1\n");
    let ctx = w.ctx();
    let ctx_s = ctx.to_str().unwrap();
    let o = mb(&w, &["-t", "x:1", ctx_s]);
    let err = common::stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no image named \"alpine:3.19\"")
            && err.contains("add --pull to fetch docker.io/library/alpine:3.19"),
        "{err}"
    );
    let o = mb(&w, &["--pull", "-t", "x:1", ctx_s]);
    let err = common::stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("pulling docker.io/library/alpine:3.19 from Docker Hub")
            && err.contains("docker.io could not be reached (it needs internet access)"),
        "{err}"
    );
    assert!(err.contains("Dockerfile:1:1"), "{err}");
}
