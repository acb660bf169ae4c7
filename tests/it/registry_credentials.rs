//! Credentials found as Docker finds them: `$DOCKER_CONFIG/config.json`
//! with `credsStore` and `credHelpers` (fake `docker-credential-*` helpers
//! the tests write and put on PATH), and identity tokens used as OAuth2
//! refresh tokens. Driven through the binary.

use crate::common::handmade::tiny_image;
use crate::common::{have, tags, Registry, Work};
use crate::fake_registry::{reply, run_bounded, serve_image, Fake};
use minibuild::dest::Layout;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

/// Writes `docker-credential-NAME` into `bin`: it logs the server it is
/// asked about to `bin/NAME.log`, then answers `answer` for `server` and
/// "credentials not found" for any other (exit 1), as the real ones do.
fn helper(bin: &Path, name: &str, server: &str, answer: &str) {
    std::fs::create_dir_all(bin).unwrap();
    let path = bin.join(format!("docker-credential-{name}"));
    let log = bin.join(format!("{name}.log"));
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = get ] || exit 2\nread -r server || true\necho \"$server\" >> '{}'\nif [ \"$server\" = '{server}' ]; then printf '%s' '{answer}'; exit 0; fi\necho 'credentials not found in native keychain'\nexit 1\n",
        log.display()
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A helper that always fails as a locked keychain would.
fn broken_helper(bin: &Path, name: &str) {
    let path = bin.join(format!("docker-credential-{name}"));
    std::fs::write(&path, "#!/bin/sh\necho 'keychain locked' >&2\nexit 3\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// PATH with `bin` first, and DOCKER_CONFIG at `config_dir`.
fn env(bin: &Path, config_dir: &Path) -> Vec<(&'static str, OsString)> {
    let mut path = OsString::from(bin);
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    vec![("PATH", path), ("DOCKER_CONFIG", config_dir.into())]
}

fn config(dir: &Path, json: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("config.json"), json).unwrap();
}

#[test]
fn creds_store_and_cred_helpers_from_docker_config() {
    if !have("docker-registry") {
        return;
    }
    let reg = Registry::start_with_login("mb", "s3cret");
    let host = reg.host();
    let w = Work::new();
    w.file("a.txt", "from a helper\n");
    w.dockerfile("FROM scratch\nCOPY a.txt /\n");
    let ctx = w.ctx().to_string_lossy().into_owned();
    let (bin, cfg) = (w.path("bin"), w.path("docker-config"));
    let login = format!(r#"{{"ServerURL":"{host}","Username":"mb","Secret":"s3cret"}}"#);
    helper(&bin, "test", &host, &login);
    broken_helper(&bin, "broken");
    let push = |tag: &str| {
        let dest = format!("docker://{host}/private/hello:{tag}");
        run_bounded(
            &w,
            &["-o", &dest, &ctx],
            &env(&bin, &cfg),
            Duration::from_secs(60),
        )
    };

    // credsStore answers for every registry.
    config(&cfg, r#"{"auths":{},"credsStore":"test"}"#);
    let (code, err, _) = push("1");
    assert_eq!(code, Some(0), "{err}");
    let asked = std::fs::read_to_string(bin.join("test.log")).unwrap();
    assert_eq!(asked, format!("{host}\n"));

    // A registry's own credHelpers entry comes before credsStore.
    config(
        &cfg,
        &format!(r#"{{"credsStore":"broken","credHelpers":{{"{host}":"test"}}}}"#),
    );
    let (code, err, _) = push("2");
    assert_eq!(code, Some(0), "{err}");

    // A helper that fails is an error that names it, not "no credentials".
    config(&cfg, r#"{"credsStore":"broken"}"#);
    let (code, err, _) = push("3");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "getting credentials for {host} from docker-credential-broken"
        )) && err.contains("keychain locked"),
        "{err}"
    );

    // A helper without credentials for it falls back to `auths`.
    config(
        &cfg,
        &format!(r#"{{"credsStore":"test","auths":{{"{host}":{{"auth":"bWI6czNjcmV0"}}}}}}"#),
    );
    helper(&bin, "test", "elsewhere.example", &login);
    let (code, err, _) = push("4");
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn an_identity_token_from_a_helper_is_a_refresh_token() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = Layout::create(src_dir.path()).unwrap();
    let m = tiny_image(&src, "identity");
    let digest = m.digest.clone();
    let registry = Fake::start(move |req, stream| {
        let port = stream.local_addr().unwrap().port();
        if req.path == "/token" {
            let form = String::from_utf8_lossy(&req.body);
            let fields: Vec<&str> = form.split('&').collect();
            let ok = req.method == "POST"
                && fields.contains(&"grant_type=refresh_token")
                && fields.contains(&"refresh_token=R3FRESH")
                && fields.contains(&"service=fake")
                && fields.contains(&"scope=repository%3Ademo%2Fx%3Apull");
            let (status, body) = if ok {
                (200, r#"{"access_token":"ACC"}"#)
            } else {
                (401, "{}")
            };
            return reply(stream, req, status, &[], body.as_bytes());
        }
        if req.headers.get("authorization").map(String::as_str) != Some("Bearer ACC") {
            let realm = format!(r#"Bearer realm="http://127.0.0.1:{port}/token",service="fake""#);
            return reply(stream, req, 401, &[("WWW-Authenticate", realm)], b"{}");
        }
        serve_image(&src, "demo/x", "t", &digest, req, stream).unwrap();
    });
    let host = registry.host();
    let w = Work::new();
    w.dockerfile(&format!(
        "FROM docker://{host}/demo/x:t\nENV FROM_TOKEN=1\n"
    ));
    let ctx = w.ctx().to_string_lossy().into_owned();
    let (bin, cfg) = (w.path("bin"), w.path("docker-config"));
    config(&cfg, &format!(r#"{{"credHelpers":{{"{host}":"test"}}}}"#));
    let token = |secret: &str| {
        format!(r#"{{"ServerURL":"{host}","Username":"<token>","Secret":"{secret}"}}"#)
    };
    helper(&bin, "test", &host, &token("R3FRESH"));
    let (code, err, _) = run_bounded(
        &w,
        &["-t", "derived", &ctx],
        &env(&bin, &cfg),
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "{err}");
    let stored = tags(&w.path("store"));
    assert!(stored.contains_key("derived"), "{stored:?}");
    let requests = registry.requests();
    assert!(requests
        .iter()
        .any(|r| r.method == "POST" && r.path == "/token"));
    assert!(
        requests.iter().all(|r| !r
            .headers
            .get("authorization")
            .is_some_and(|a| a.starts_with("Basic"))),
        "an identity token is never sent as a password"
    );

    // A refused token: the error says where, and never shows the token.
    helper(&bin, "test", &host, &token("W0RNG-T0KEN"));
    let (code, err, _) = run_bounded(
        &w,
        &["--pull", "-t", "derived", &ctx],
        &env(&bin, &cfg),
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("getting a token from http://127.0.0.1"),
        "{err}"
    );
    assert!(!err.contains("W0RNG-T0KEN"), "{err}");
}
