//! Registries that misbehave or attack: credentials sent to another host,
//! answers that never come or trickle, endless or lying blobs and
//! manifests. Each runs against a fake registry on 127.0.0.1 and is
//! bounded in time.

use crate::common::handmade::tiny_image;
use crate::common::{tags, Work};
use crate::fake_registry::{reply, run_bounded, serve_image, Fake, Request};
use minibuild::dest::registry::{Timeouts, TIMEOUT_ENV};
use minibuild::dest::{fetch_image, Layout, PushOptions};
use minibuild::oci;
use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Every limit at `secs` seconds.
fn short(secs: u64) -> PushOptions {
    let d = Duration::from_secs(secs);
    PushOptions {
        timeouts: Timeouts {
            connect: d,
            idle: d,
            request: d,
        },
        ..PushOptions::default()
    }
}

/// Pulls `docker://HOST/demo/x:t` into a new store; the store's directory
/// (kept alive) and the error.
fn pull_err(host: &str, opts: &PushOptions) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let store = Layout::create(dir.path()).unwrap();
    let err = fetch_image(&format!("docker://{host}/demo/x:t"), &store, &store, opts)
        .expect_err("the pull must fail")
        .to_string();
    (dir, err)
}

/// Sleeps without answering (bounded, so the thread ends).
fn stall() {
    std::thread::sleep(Duration::from_secs(15));
}

// ---- #15.4: credentials go only to their own origin -------------------

/// `u:p`, for the registry at `host`, in an auth file in `w`.
fn auth_file(w: &Work, host: &str) -> std::path::PathBuf {
    let path = w.path("auth.json");
    std::fs::write(
        &path,
        format!(r#"{{"auths":{{"{host}":{{"auth":"dTpw"}}}}}}"#),
    )
    .unwrap();
    path
}

/// Refuses (401, Basic challenge) a request without `u:p`; true if it did.
fn refuse_without_login(req: &Request, stream: &mut TcpStream) -> bool {
    if req.headers.get("authorization").map(String::as_str) == Some("Basic dTpw") {
        return false;
    }
    let challenge = ("WWW-Authenticate", r#"Basic realm="fake""#.to_string());
    reply(stream, req, 401, &[challenge], b"{}");
    true
}

#[test]
fn an_upload_location_on_another_host_gets_no_credentials() {
    // B: the storage host the registry sends uploads to.
    let storage = Fake::start(|req, stream| {
        let d = minibuild::digest::sha256(&req.body).to_string();
        reply(stream, req, 201, &[("Docker-Content-Digest", d)], b"");
    });
    let storage_host = storage.host();
    // A: the registry, which wants a login.
    let registry = Fake::start(move |req, stream| {
        if refuse_without_login(req, stream) {
            return;
        }
        match req.method.as_str() {
            "HEAD" => reply(stream, req, 404, &[], b""),
            "POST" => {
                let location = format!("http://{storage_host}/uploads/u1?state=s");
                reply(stream, req, 202, &[("Location", location)], b"");
            }
            "PUT" if req.path.contains("/manifests/") => {
                let d = minibuild::digest::sha256(&req.body).to_string();
                reply(stream, req, 201, &[("Docker-Content-Digest", d)], b"");
            }
            _ => reply(stream, req, 404, &[], b"{}"),
        }
    });
    let w = Work::new();
    w.file("a.txt", "credentials stay home\n");
    w.dockerfile("FROM scratch\nCOPY a.txt /\n");
    let ctx = w.ctx().to_string_lossy().into_owned();
    let dest = format!("docker://{}/demo/x:t", registry.host());
    let env = [("REGISTRY_AUTH_FILE", auth_file(&w, &registry.host()).into())];
    let (code, err, _) = run_bounded(&w, &["-o", &dest, &ctx], &env, Duration::from_secs(60));
    assert_eq!(code, Some(0), "{err}");

    let puts = storage.requests();
    assert_eq!(puts.len(), 2, "config and layer go to the storage host");
    for put in &puts {
        assert_eq!(put.method, "PUT");
        assert!(
            !put.headers.contains_key("authorization"),
            "the storage host got the user's credentials: {put:?}"
        );
    }
    // The registry itself got them on everything after the first probe.
    let asked = registry.requests();
    assert!(asked[1..]
        .iter()
        .all(|r| r.headers.contains_key("authorization")));
    assert!(asked.iter().any(|r| r.path.contains("/manifests/t")));
}

#[test]
fn a_redirect_to_another_host_gets_no_credentials() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = Layout::create(src_dir.path()).unwrap();
    let m = tiny_image(&src, "redirected");
    let src2 = src.clone();
    let storage = Fake::start(move |req, stream| {
        let digest = req.path.trim_start_matches("/blob/").parse().unwrap();
        let bytes = std::fs::read(src2.blob_path(&digest)).unwrap();
        reply(stream, req, 200, &[], &bytes);
    });
    let storage_host = storage.host();
    let src3 = src.clone();
    let digest = m.digest.clone();
    let registry = Fake::start(move |req, stream| {
        if refuse_without_login(req, stream) {
            return;
        }
        // Blobs live elsewhere, as on registries backed by object storage.
        if let Some(d) = req.path.strip_prefix("/v2/demo/x/blobs/") {
            let location = format!("http://{storage_host}/blob/{d}");
            return reply(stream, req, 307, &[("Location", location)], b"");
        }
        serve_image(&src3, "demo/x", "t", &digest, req, stream).unwrap();
    });
    let w = Work::new();
    let opts = PushOptions {
        auth_file: Some(auth_file(&w, &registry.host())),
        ..PushOptions::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Layout::create(dir.path()).unwrap();
    let got = fetch_image(
        &format!("docker://{}/demo/x:t", registry.host()),
        &store,
        &store,
        &opts,
    )
    .unwrap();
    assert_eq!(got.digest, m.digest);
    let gets = storage.requests();
    assert_eq!(gets.len(), 2, "config and layer come from the storage host");
    assert!(
        gets.iter()
            .all(|r| !r.headers.contains_key("authorization")),
        "{gets:?}"
    );
}

// ---- #15.5: timeouts ----------------------------------------------------

#[test]
fn a_registry_that_never_answers_the_api_check_times_out() {
    let registry = Fake::start(|_, _| stall());
    let w = Work::new();
    w.dockerfile(&format!("FROM docker://{}/demo/x:t\n", registry.host()));
    let ctx = w.ctx().to_string_lossy().into_owned();
    let env = [(TIMEOUT_ENV, "1".into())];
    let (code, err, took) = run_bounded(&w, &["--pull", &ctx], &env, Duration::from_secs(12));
    assert_eq!(code, Some(1), "ran {took:?}: {err}");
    let api = format!("checking registry API at http://{}/v2/", registry.host());
    assert!(err.contains(&api), "{err}");
    assert!(err.contains("no answer within 1s"), "{err}");
    assert!(took < Duration::from_secs(8), "{took:?}");
}

#[test]
fn a_blob_upload_that_is_never_answered_times_out() {
    let registry = Fake::start(|req, stream| match req.method.as_str() {
        "GET" => reply(stream, req, 200, &[], b"{}"),
        "HEAD" => reply(stream, req, 404, &[], b""),
        "POST" => {
            let location = "/v2/demo/x/blobs/uploads/u1".to_string();
            reply(stream, req, 202, &[("Location", location)], b"");
        }
        _ => stall(),
    });
    let w = Work::new();
    w.file("a.txt", "never answered\n");
    w.dockerfile("FROM scratch\nCOPY a.txt /\n");
    let ctx = w.ctx().to_string_lossy().into_owned();
    let (code, err, _) = run_bounded(&w, &["-t", "x", &ctx], &[], Duration::from_secs(60));
    assert_eq!(code, Some(0), "{err}");
    let dest = format!("docker://{}/demo/x:t", registry.host());
    let env = [(TIMEOUT_ENV, "1".into())];
    let (code, err, took) = run_bounded(&w, &["push", "x", &dest], &env, Duration::from_secs(12));
    assert_eq!(code, Some(1), "ran {took:?}: {err}");
    assert!(err.contains("uploading blob sha256:"), "{err}");
    assert!(err.contains("no answer within 1s"), "{err}");
    assert!(took < Duration::from_secs(8), "{took:?}");
}

#[test]
fn a_registry_trickling_its_headers_times_out() {
    let registry = Fake::start(|_, stream| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n");
        // One header line every 300 ms: never idle for a whole second.
        for i in 0..40 {
            std::thread::sleep(Duration::from_millis(300));
            if stream
                .write_all(format!("X-Drip-{i}: 1\r\n").as_bytes())
                .is_err()
            {
                return;
            }
        }
    });
    let start = Instant::now();
    let (_store, err) = pull_err(&registry.host(), &short(1));
    assert!(err.contains("checking registry API at http://"), "{err}");
    assert!(err.contains("no answer within 1s"), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

// ---- #15.8: blobs and manifests that lie --------------------------------

#[test]
fn an_endless_layer_is_cut_at_its_declared_size() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = Layout::create(src_dir.path()).unwrap();
    let m = tiny_image(&src, "endless");
    let manifest: serde_json::Value =
        serde_json::from_slice(&src.read_blob(&m.digest).unwrap()).unwrap();
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let size = manifest["layers"][0]["size"].as_u64().unwrap();
    let sent = Arc::new(AtomicU64::new(0));
    let (src2, sent2, digest) = (src.clone(), sent.clone(), m.digest.clone());
    let registry = Fake::start(move |req, stream| {
        if !req.path.ends_with(&layer) {
            return serve_image(&src2, "demo/x", "t", &digest, req, stream).unwrap();
        }
        // The layer, then zeros forever (well: 1 GiB at most).
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        let _ = stream.write_all(&std::fs::read(src2.blob_path(&layer.parse().unwrap())).unwrap());
        let chunk = vec![0u8; 64 << 10];
        for _ in 0..(1 << 14) {
            if stream.write_all(&chunk).is_err() {
                return;
            }
            sent2.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        }
    });
    let (store, err) = pull_err(&registry.host(), &PushOptions::default());
    assert!(
        err.contains(&format!("more than the {size} bytes the manifest declares")),
        "{err}"
    );
    assert!(tags(store.path()).is_empty());
    let sent = sent.load(Ordering::SeqCst);
    assert!(sent < 64 << 20, "read {sent} bytes of a {size}-byte layer");
}

/// Serves the tiny image with its manifest edited by `edit` (and the extra
/// manifest headers `headers`); pulls it and returns the error, after
/// checking nothing was tagged.
fn pull_edited(
    edit: impl Fn(&mut serde_json::Value),
    headers: impl Fn(&[u8]) -> Vec<(&'static str, String)> + Send + Sync + 'static,
) -> String {
    let src_dir = tempfile::tempdir().unwrap();
    let src = Layout::create(src_dir.path()).unwrap();
    let m = tiny_image(&src, "edited");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&src.read_blob(&m.digest).unwrap()).unwrap();
    edit(&mut manifest);
    let bytes = oci::canonical_json(&manifest).unwrap();
    let digest = src.put_blob(&bytes).unwrap();
    let registry = Fake::start(move |req, stream| {
        if req.path == "/v2/demo/x/manifests/t" {
            let mut h = headers(&bytes);
            h.push(("Content-Type", oci::MEDIA_TYPE_MANIFEST.to_string()));
            return reply(stream, req, 200, &h, &bytes);
        }
        serve_image(&src, "demo/x", "t", &digest, req, stream).unwrap();
    });
    let (store, err) = pull_err(&registry.host(), &PushOptions::default());
    assert!(tags(store.path()).is_empty(), "tagged anyway: {err}");
    err
}

fn no_headers(_: &[u8]) -> Vec<(&'static str, String)> {
    Vec::new()
}

#[test]
fn a_manifest_declaring_a_wrong_layer_size_is_refused() {
    let size = std::cell::Cell::new(0);
    let err = pull_edited(
        |m| {
            size.set(m["layers"][0]["size"].as_u64().unwrap());
            m["layers"][0]["size"] = (size.get() - 1).into();
        },
        no_headers,
    );
    let declared = size.get() - 1;
    assert!(
        err.contains(&format!(
            "more than the {declared} bytes the manifest declares"
        )),
        "{err}"
    );
    let err = pull_edited(
        |m| m["layers"][0]["size"] = (size.get() + 1).into(),
        no_headers,
    );
    let expected = format!(
        "{} bytes, the manifest declares {}",
        size.get(),
        size.get() + 1
    );
    assert!(err.contains(&expected), "{err}");
}

#[test]
fn a_manifest_with_an_unknown_media_type_is_refused() {
    let err = pull_edited(
        |m| m["layers"][0]["mediaType"] = "application/x-evil".into(),
        no_headers,
    );
    assert!(
        err.contains("layer sha256:")
            && err.contains("unsupported media type \"application/x-evil\""),
        "{err}"
    );
    let err = pull_edited(|m| m["mediaType"] = "application/x-evil".into(), no_headers);
    assert!(
        err.contains("unsupported manifest media type \"application/x-evil\""),
        "{err}"
    );
}

#[test]
fn a_docker_content_digest_that_differs_from_the_manifest_is_refused() {
    let err = pull_edited(
        |_| {},
        |_| {
            let lie = minibuild::digest::sha256(b"another manifest");
            vec![("Docker-Content-Digest", lie.to_string())]
        },
    );
    assert!(
        err.contains("getting manifest http://") && err.contains("(Docker-Content-Digest)"),
        "{err}"
    );
}
