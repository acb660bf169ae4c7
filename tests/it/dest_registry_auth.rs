//! Pulling through the Bearer token flow, from a small in-test registry
//! that insists on a token (obtained with Basic credentials from an auth
//! file) and serves a multi-platform index.

use crate::common::handmade::*;
use crate::common::validate;
use crate::fake_registry::{reply, Fake};
use minibuild::dest::{fetch_image, registry, Layout, PushOptions, Reference};
use minibuild::oci::{self, Descriptor, Platform};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn answer(status: u16, body: Vec<u8>) -> Answer {
    Answer {
        status,
        headers: Vec::new(),
        body,
    }
}

/// Serves `handle`'s answers on `listener`, logging `METHOD path`; stops
/// when the returned fake is dropped.
fn serve(
    listener: TcpListener,
    log: Arc<Mutex<Vec<String>>>,
    handle: impl Fn(&str, &str, &BTreeMap<String, String>, &[u8]) -> Answer + Send + Sync + 'static,
) -> Fake {
    Fake::serve_on(listener, move |req, stream| {
        log.lock()
            .unwrap()
            .push(format!("{} {}", req.method, req.path));
        let a = handle(&req.method, &req.path, &req.headers, &req.body);
        let headers: Vec<(&str, String)> = a
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        reply(stream, req, a.status, &headers, &a.body);
    })
}

#[test]
fn pull_with_bearer_token_and_platform_index() {
    // The image, and an index listing it for the host beside a foreign platform.
    let src_dir = tempfile::tempdir().unwrap();
    let src = Layout::create(src_dir.path()).unwrap();
    let m = tiny_image(&src, "auth");
    let mut host_entry = m.clone();
    host_entry.platform = Some(Platform::host());
    let mut foreign = Descriptor::new(
        oci::MEDIA_TYPE_MANIFEST,
        minibuild::digest::sha256(b"nope"),
        4,
    );
    foreign.platform = Some(Platform {
        architecture: "mips64".into(),
        os: "plan9".into(),
        variant: None,
    });
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::MEDIA_TYPE_INDEX,
        "manifests": [foreign, host_entry],
    });
    let index_bytes = oci::canonical_json(&index).unwrap();

    let auth_dir = tempfile::tempdir().unwrap();
    let auth_file = auth_dir.path().join("auth.json");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // "u:p" in base64.
    std::fs::write(
        &auth_file,
        format!(r#"{{"auths":{{"127.0.0.1:{port}":{{"auth":"dTpw"}}}}}}"#),
    )
    .unwrap();

    let log = Arc::new(Mutex::new(Vec::new()));
    let src2 = src.clone();
    let manifest_digest = m.digest.clone();
    let _registry = serve(
        listener,
        log.clone(),
        move |_method, path, headers, _body| {
            let authz = headers
                .get("authorization")
                .map(String::as_str)
                .unwrap_or("");
            if path.starts_with("/token") {
                if authz != "Basic dTpw" || !path.contains("pull") || !path.contains("service=mock")
                {
                    return answer(403, b"bad token request".to_vec());
                }
                return answer(200, br#"{"token":"T0K"}"#.to_vec());
            }
            if authz != "Bearer T0K" {
                let mut a = answer(401, b"{}".to_vec());
                a.headers.push((
                    "WWW-Authenticate".into(),
                    format!(r#"Bearer realm="http://127.0.0.1:{port}/token",service="mock""#),
                ));
                return a;
            }
            if path == "/v2/demo/x/manifests/t" {
                let mut a = answer(200, index_bytes.clone());
                a.headers
                    .push(("Content-Type".into(), oci::MEDIA_TYPE_INDEX.into()));
                return a;
            }
            if path == format!("/v2/demo/x/manifests/{manifest_digest}") {
                let mut a = answer(200, src2.read_blob(&manifest_digest).unwrap());
                a.headers
                    .push(("Content-Type".into(), oci::MEDIA_TYPE_MANIFEST.into()));
                return a;
            }
            if let Some(d) = path.strip_prefix("/v2/demo/x/blobs/") {
                let d: minibuild::digest::Digest = d.parse().unwrap();
                if src2.has_blob(&d) {
                    return answer(200, std::fs::read(src2.blob_path(&d)).unwrap());
                }
            }
            answer(404, b"{}".to_vec())
        },
    );

    let into_dir = tempfile::tempdir().unwrap();
    let into = Layout::create(into_dir.path()).unwrap();
    let opts = PushOptions {
        tls_verify: None,
        auth_file: Some(auth_file.clone()),
        ..PushOptions::default()
    };
    let got = fetch_image(
        &format!("docker://127.0.0.1:{port}/demo/x:t"),
        &into,
        &into,
        &opts,
    )
    .unwrap();
    assert_eq!(got.digest, m.digest);
    assert_eq!(got.media_type, oci::MEDIA_TYPE_MANIFEST);
    into.tag(&got, &"x:t".into()).unwrap();
    validate(into_dir.path());
    let requests = log.lock().unwrap().clone();
    assert_eq!(
        requests.iter().filter(|r| r.contains("/token")).count(),
        1,
        "{requests:?}"
    );
    let foreign_digest = minibuild::digest::sha256(b"nope");
    assert!(
        requests
            .iter()
            .all(|r| !r.contains(&foreign_digest.to_string())),
        "{requests:?}"
    );

    // Without credentials the token request is refused, and the error says where.
    let empty = auth_dir.path().join("empty.json");
    std::fs::write(&empty, "{}").unwrap();
    let opts = PushOptions {
        tls_verify: None,
        auth_file: Some(empty),
        ..PushOptions::default()
    };
    let err = fetch_image(
        &format!("docker://127.0.0.1:{port}/demo/x:t"),
        &into,
        &into,
        &opts,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("getting a token from http://127.0.0.1") && err.contains("403"),
        "{err}"
    );
}

#[test]
fn pull_with_basic_auth() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = Layout::create(src_dir.path()).unwrap();
    let m = tiny_image(&src, "basic");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let auth_dir = tempfile::tempdir().unwrap();
    let auth_file = auth_dir.path().join("config.json");
    // Docker writes keys as URLs sometimes; "a:b" in base64.
    std::fs::write(
        &auth_file,
        format!(r#"{{"auths":{{"http://127.0.0.1:{port}/v2/":{{"auth":"YTpi"}}}}}}"#),
    )
    .unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let src2 = src.clone();
    let digest = m.digest.clone();
    let _registry = serve(
        listener,
        log.clone(),
        move |_method, path, headers, _body| {
            if headers.get("authorization").map(String::as_str) != Some("Basic YTpi") {
                let mut a = answer(401, b"{}".to_vec());
                a.headers
                    .push(("WWW-Authenticate".into(), r#"Basic realm="mock""#.into()));
                return a;
            }
            if path == "/v2/x/manifests/latest" {
                return answer(200, src2.read_blob(&digest).unwrap());
            }
            if let Some(d) = path.strip_prefix("/v2/x/blobs/") {
                let d: minibuild::digest::Digest = d.parse().unwrap();
                if src2.has_blob(&d) {
                    return answer(200, std::fs::read(src2.blob_path(&d)).unwrap());
                }
            }
            answer(404, b"{}".to_vec())
        },
    );
    let into_dir = tempfile::tempdir().unwrap();
    let into = Layout::create(into_dir.path()).unwrap();
    let opts = PushOptions {
        tls_verify: None,
        auth_file: Some(auth_file),
        ..PushOptions::default()
    };
    // No tag: latest. The manifest's own mediaType names its type.
    let got = fetch_image(&format!("docker://127.0.0.1:{port}/x"), &into, &into, &opts).unwrap();
    assert_eq!(got.digest, m.digest);
    assert_eq!(got.media_type, oci::MEDIA_TYPE_MANIFEST);
    assert_eq!(log.lock().unwrap().len(), 4, "{:?}", log.lock().unwrap());
}

#[test]
fn push_with_bearer_token_and_relative_upload_location() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = Layout::create(src_dir.path()).unwrap();
    let m = tiny_image(&src, "push");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    // What the mock registry stores, by digest; and whether to lie about digests.
    let stored: Arc<Mutex<BTreeMap<String, Vec<u8>>>> = Arc::default();
    let lie = Arc::new(Mutex::new(false));
    let (stored2, lie2) = (stored.clone(), lie.clone());
    let _registry = serve(listener, log.clone(), move |method, path, headers, body| {
        let authz = headers
            .get("authorization")
            .map(String::as_str)
            .unwrap_or("");
        if path.starts_with("/token") {
            // Anonymous tokens, but only for the push scope.
            let ok = path.contains("pull%2Cpush") || path.contains("pull,push");
            return answer(
                if ok { 200 } else { 403 },
                br#"{"access_token":"P"}"#.to_vec(),
            );
        }
        if authz != "Bearer P" {
            let mut a = answer(401, b"{}".to_vec());
            a.headers.push((
                "WWW-Authenticate".into(),
                format!(r#"Bearer realm="http://127.0.0.1:{port}/token",service="mock""#),
            ));
            return a;
        }
        let mut stored = stored2.lock().unwrap();
        match method {
            "HEAD" => {
                let d = path.rsplit('/').next().unwrap();
                answer(if stored.contains_key(d) { 200 } else { 404 }, Vec::new())
            }
            "POST" if path == "/v2/demo/x/blobs/uploads/" => {
                let mut a = answer(202, Vec::new());
                a.headers.push((
                    "Location".into(),
                    "/v2/demo/x/blobs/uploads/u1?state=s".into(),
                ));
                a
            }
            "PUT" if path.starts_with("/v2/demo/x/blobs/uploads/u1?state=s&digest=sha256%3A") => {
                let d = minibuild::digest::sha256(body);
                if !path.ends_with(d.hex()) {
                    return answer(400, b"digest mismatch".to_vec());
                }
                stored.insert(d.to_string(), body.to_vec());
                let mut a = answer(201, Vec::new());
                a.headers
                    .push(("Docker-Content-Digest".into(), d.to_string()));
                a
            }
            "PUT" if path.starts_with("/v2/demo/x/manifests/") => {
                let d = if *lie2.lock().unwrap() {
                    minibuild::digest::sha256(b"lie")
                } else {
                    minibuild::digest::sha256(body)
                };
                stored.insert(d.to_string(), body.to_vec());
                let mut a = answer(201, Vec::new());
                a.headers
                    .push(("Docker-Content-Digest".into(), d.to_string()));
                a
            }
            _ => answer(404, b"{}".to_vec()),
        }
    });
    let reference = Reference::parse(&format!("127.0.0.1:{port}/demo/x:t")).unwrap();
    let report = registry::push(&src, &m, &reference, &PushOptions::default()).unwrap();
    assert_eq!(
        (report.posts, report.uploaded, report.skipped),
        (2, 2, 0),
        "{report:?}"
    );
    assert_eq!(report.digest, m.digest);
    assert_eq!(
        stored.lock().unwrap()[&m.digest.to_string()],
        src.read_blob(&m.digest).unwrap()
    );
    assert_eq!(stored.lock().unwrap().len(), 3);

    // A registry that reports another digest for the manifest is caught.
    *lie.lock().unwrap() = true;
    let err = registry::push(&src, &m, &reference, &PushOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("Docker-Content-Digest"), "{err}");
    let requests = log.lock().unwrap().clone();
    assert_eq!(
        requests.iter().filter(|r| r.starts_with("POST")).count(),
        2,
        "{requests:?}"
    );
}
