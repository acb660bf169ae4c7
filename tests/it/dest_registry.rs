//! Push to and pull from a real registry (`docker-registry serve` on
//! 127.0.0.1), checked with skopeo. Skipped when the tools are missing,
//! unless CI=true.

use crate::common::handmade::*;
use crate::common::{have, stdout_ok, validate, Registry};
use minibuild::dest::{export, fetch_image, registry, Layout, Location, PushOptions, Reference};
use std::process::Command;

#[test]
fn push_inspect_push_again_and_pull() {
    if !have("docker-registry") {
        return;
    }
    let reg = Registry::start();
    let src_dir = tempfile::tempdir().unwrap();
    let src = Layout::create(src_dir.path()).unwrap();
    let m = tiny_image(&src, "registry");
    let name = format!("127.0.0.1:{}/demo/hello:scratch", reg.port);
    let reference = Reference::parse(&name).unwrap();
    let opts = PushOptions::default();

    let first = registry::push(&src, &m, &reference, &opts).unwrap();
    assert_eq!(first.posts, 2, "{first:?}");
    assert_eq!(first.uploaded, 2);
    assert_eq!(first.digest, m.digest);

    if have("skopeo") {
        let text = stdout_ok(
            Command::new("skopeo")
                .arg("inspect")
                .arg("--tls-verify=false")
                .arg(format!("docker://{name}")),
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["Digest"], m.digest.to_string(), "{text}");
        assert_eq!(v["Layers"].as_array().unwrap().len(), 1, "{text}");
    }

    // Again: every blob is already there, nothing is uploaded.
    let again = registry::push(&src, &m, &reference, &opts).unwrap();
    assert_eq!(again.posts, 0, "{again:?}");
    assert_eq!(again.skipped, 2);

    // Through export, under another tag.
    let dest = Location::parse(&format!("docker://127.0.0.1:{}/demo/hello:v2", reg.port)).unwrap();
    let said = export(&src, &m, &[], &dest, &opts).unwrap();
    assert!(said.contains(&m.digest.to_string()), "{said}");

    // Pull it back into a fresh layout.
    let into_dir = tempfile::tempdir().unwrap();
    let into = Layout::create(into_dir.path()).unwrap();
    let got = fetch_image(&format!("docker://{name}"), &into, &into, &opts).unwrap();
    assert_eq!(got.digest, m.digest);
    into.tag(&got, &"hello:scratch".into()).unwrap();
    validate(into_dir.path());
    let by_digest = fetch_image(
        &format!("docker://127.0.0.1:{}/demo/hello@{}", reg.port, m.digest),
        &into,
        &into,
        &opts,
    )
    .unwrap();
    assert_eq!(by_digest, got);

    // A missing tag is a clear error naming the URL.
    let err = fetch_image(
        &format!("docker://127.0.0.1:{}/demo/hello:nope", reg.port),
        &into,
        &into,
        &opts,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("/v2/demo/hello/manifests/nope") && err.contains("404"),
        "{err}"
    );
}

#[test]
fn push_and_pull_an_index() {
    if !have("docker-registry") {
        return;
    }
    let reg = Registry::start();
    let src_dir = tempfile::tempdir().unwrap();
    let src = Layout::create(src_dir.path()).unwrap();
    let host = tiny_image(&src, "host");
    let foreign = tiny_image(&src, "foreign");
    let index = tiny_index(&src, &[host.clone(), foreign]);
    let name = format!("127.0.0.1:{}/multi:1", reg.port);
    let reference = Reference::parse(&name).unwrap();
    let report = registry::push(&src, &index, &reference, &PushOptions::default()).unwrap();
    assert_eq!(report.uploaded, 4, "{report:?}");
    assert_eq!(report.digest, index.digest);
    if have("skopeo") {
        let raw = stdout_ok(
            Command::new("skopeo")
                .arg("inspect")
                .arg("--raw")
                .arg("--tls-verify=false")
                .arg(format!("docker://{name}")),
        );
        assert_eq!(
            minibuild::digest::sha256(raw.as_bytes()),
            index.digest,
            "{raw}"
        );
    }
    let into_dir = tempfile::tempdir().unwrap();
    let into = Layout::create(into_dir.path()).unwrap();
    let got = fetch_image(
        &format!("docker://{name}"),
        &into,
        &into,
        &PushOptions::default(),
    )
    .unwrap();
    assert_eq!(got.digest, host.digest);
}
