//! Registries through the binary: `-o docker://`, `push`, FROM
//! `docker://` and FROM with `--pull`, against a CNCF `docker-registry` the
//! test starts on 127.0.0.1; checked with skopeo, podman and the
//! registry's own access log.

use crate::common::{
    have, minibuild, podman, stdout_ok, tags, validate, Registry, Work, PODMAN_RUN,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

const HELLO: &str = "Hello from a minibuild image!";

/// Runs minibuild in `w` with a fixed SOURCE_DATE_EPOCH (so two builds of
/// one context make one image).
/// No credentials are found but those a test puts in `w/home` or names
/// with `REGISTRY_AUTH_FILE` (see [`mb_env`]).
fn mb(w: &Work, args: &[&str]) -> Output {
    mb_env(w, args, &[])
}

fn mb_env(w: &Work, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let home = w.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut c = minibuild();
    c.args(args)
        .env("MINIBUILD_STORE", w.path("store"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("HOME", &home)
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .current_dir(w.dir.path());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
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
    assert_eq!(
        minibuild::digest::sha256(raw.as_bytes()).to_string(),
        digest
    );

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
    // push NAME alone goes where the name says; --tls-verify is honoured.
    let named = format!("{host}/named/hello:3");
    mb_ok(&w, &["-t", &named, &ctx_s]);
    let (out, _) = mb_ok(&w, &["push", "--tls-verify=false", &named]);
    assert!(out.contains(&format!("docker://{named}@{digest}")), "{out}");
    assert_eq!(skopeo_inspect(&named)["Digest"], digest.as_str());
    for flag in ["--tls-verify=true", "--tls-verify"] {
        let o = mb(&w, &["push", flag, &named]);
        let err = crate::common::stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{flag}: {err}");
        assert!(
            err.contains(&format!("https://{host}/v2/")),
            "{flag}: {err}"
        );
    }
    let o = mb(
        &w,
        &[
            "build",
            "--tls-verify",
            "-o",
            &format!("docker://{named}"),
            &ctx_s,
        ],
    );
    assert!(
        crate::common::stderr(&o).contains(&format!("https://{host}/v2/")),
        "{}",
        crate::common::stderr(&o)
    );
    // The registry's own log: no blob went twice to one repository.
    let sent = uploads(&reg);
    assert_eq!(sent.len(), 9, "three repositories, three blobs: {sent:?}");
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
    let config = crate::common::config_of(&store, "derived:1");
    assert!(
        config["config"]["Env"]
            .to_string()
            .contains("STAGE=derived"),
        "{config}"
    );
    assert_eq!(
        crate::common::manifest_of(&store, "derived:1")["layers"],
        crate::common::manifest_of(&store, &hello1)["layers"]
    );
    validate(&store);
    let out = crate::common::podman_run(w.dir.path(), &store, "derived:1", &[]);
    assert_eq!(out.trim(), HELLO);

    // A plain registry name is looked up in the store only...
    std::fs::write(
        derived.join("Dockerfile"),
        format!("FROM {hello2}\nENV STAGE=pulled\n"),
    )
    .unwrap();
    let o = mb(&w, &["-t", "pulled:1", &derived_s]);
    let err = crate::common::stderr(&o);
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
    let err = crate::common::stderr(&o);
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
    let err = crate::common::stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no image named \"alpine:3.19\"")
            && err.contains("add --pull to fetch docker.io/library/alpine:3.19"),
        "{err}"
    );
    let o = mb(&w, &["--pull", "-t", "x:1", ctx_s]);
    let err = crate::common::stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("pulling docker.io/library/alpine:3.19 from Docker Hub")
            && err.contains("docker.io could not be reached (it needs internet access)"),
        "{err}"
    );
    assert!(err.contains("Dockerfile:1:1"), "{err}");
}

#[test]
fn credentials_come_from_registry_auth_file_or_docker_config() {
    if !have("docker-registry") || !have("skopeo") {
        return;
    }
    let reg = Registry::start_with_login("mb", "s3cret");
    let host = reg.host();
    let w = Work::new();
    let ctx = w.hello_context("auth");
    let ctx_s = ctx.to_str().unwrap().to_string();
    let dest = format!("docker://{host}/private/hello:1");
    let auths = |b64: &str| format!(r#"{{"auths":{{"{host}":{{"auth":"{b64}"}}}}}}"#);

    // No credentials anywhere: the registry refuses, and the error says so.
    let o = mb(&w, &["-o", &dest, &ctx_s]);
    let err = crate::common::stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "http://{host} needs credentials and none were found"
        )),
        "{err}"
    );

    // A wrong password in $REGISTRY_AUTH_FILE is refused too.
    let wrong = w.path("wrong.json");
    std::fs::write(&wrong, auths("bWI6bm9wZQ==")).unwrap(); // mb:nope
    let o = mb_env(
        &w,
        &["-o", &dest, &ctx_s],
        &[("REGISTRY_AUTH_FILE", &wrong)],
    );
    assert_eq!(o.status.code(), Some(1), "{}", crate::common::stderr(&o));
    assert!(
        crate::common::stderr(&o).contains("401"),
        "{}",
        crate::common::stderr(&o)
    );

    // The right one: build and push both get in.
    let good = w.path("auth.json");
    std::fs::write(&good, auths("bWI6czNjcmV0")).unwrap(); // mb:s3cret
    let with_file = [("REGISTRY_AUTH_FILE", good.as_path())];
    let o = mb_env(&w, &["-t", "hello:auth", "-o", &dest, &ctx_s], &with_file);
    assert!(o.status.success(), "{}", crate::common::stderr(&o));
    let digest = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let o = mb_env(
        &w,
        &[
            "push",
            "hello:auth",
            &format!("docker://{host}/private/hello:2"),
        ],
        &[],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "push without credentials must fail"
    );
    let o = mb_env(&w, &["build", "-t", "hello:auth", &ctx_s], &with_file);
    assert!(o.status.success(), "{}", crate::common::stderr(&o));
    let o = mb_env(
        &w,
        &[
            "push",
            "hello:auth",
            &format!("docker://{host}/private/hello:2"),
        ],
        &with_file,
    );
    assert!(o.status.success(), "{}", crate::common::stderr(&o));
    for tag in ["1", "2"] {
        let text = stdout_ok(
            Command::new("skopeo")
                .args(["inspect", "--tls-verify=false", "--creds", "mb:s3cret"])
                .arg(format!("docker://{host}/private/hello:{tag}")),
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["Digest"], digest.as_str(), "{text}");
    }

    // ~/.docker/config.json, and pulling (FROM docker://) with it.
    let docker_dir = w.path("home/.docker");
    std::fs::create_dir_all(&docker_dir).unwrap();
    std::fs::write(docker_dir.join("config.json"), auths("bWI6czNjcmV0")).unwrap();
    let derived = w.path("derived");
    std::fs::create_dir_all(&derived).unwrap();
    std::fs::write(
        derived.join("Dockerfile"),
        format!("FROM docker://{host}/private/hello:2\nENV FROM_PRIVATE=1\n"),
    )
    .unwrap();
    let o = mb(&w, &["-t", "derived:auth", derived.to_str().unwrap()]);
    assert!(o.status.success(), "{}", crate::common::stderr(&o));
    let stored = tags(&w.path("store"));
    assert_eq!(
        stored.get(&format!("{host}/private/hello:2")),
        Some(&digest)
    );
    validate(&w.path("store"));
}

#[test]
fn a_corrupt_blob_is_refused_and_no_manifest_is_pushed() {
    if !have("docker-registry") || !have("skopeo") {
        return;
    }
    let reg = Registry::start();
    let host = reg.host();
    let w = Work::new();
    let ctx = w.hello_context("corrupt");
    mb_ok(&w, &["-t", "bad:1", ctx.to_str().unwrap()]);
    let store = w.path("store");
    let m = crate::common::manifest_of(&store, "bad:1");
    // flip one byte of the small msg layer, keeping its size
    let layer = m["layers"][1]["digest"].as_str().unwrap();
    let path = store.join("blobs/sha256").join(&layer[7..]);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&path, bytes).unwrap();

    let o = mb(&w, &["push", "bad:1", &format!("docker://{host}/bad:1")]);
    let err = crate::common::stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(layer), "the error names the blob: {err}");
    let o = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false"])
        .arg(format!("docker://{host}/bad:1"))
        .output()
        .unwrap();
    assert!(!o.status.success(), "the manifest was pushed anyway");
}
