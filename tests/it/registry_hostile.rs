//! Registries that misbehave or attack: credentials sent to another host,
//! answers that never come or trickle. Each runs against a fake registry on 127.0.0.1 and is
//! bounded in time.

use crate::common::handmade::tiny_image;
use crate::common::Work;
use crate::fake_registry::{reply, run_bounded, serve_image, Fake, Request};
use minibuild::dest::registry::{Timeouts, TIMEOUT_ENV};
use minibuild::dest::{fetch_image, Layout, PushOptions};
use std::io::Write;
use std::net::TcpStream;
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
        let d = minibuild::digest::sha256(&req.body);
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
                let d = minibuild::digest::sha256(&req.body);
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
        let digest = req.path.trim_start_matches("/blob/");
        let bytes = std::fs::read(src2.blob_path(digest).unwrap()).unwrap();
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
