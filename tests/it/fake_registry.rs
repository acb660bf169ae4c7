//! A fake registry for the tests of hostile and misbehaving registries: a
//! std `TcpListener` on 127.0.0.1 whose handler sees each request and
//! writes whatever answer (or none) it likes; every request is recorded.

use minibuild::dest::Layout;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the fake read it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path and query.
    pub path: String,
    /// Header names lowercased.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

/// A running fake; stopped when dropped.
pub struct Fake {
    pub port: u16,
    /// Every request read, in order.
    pub log: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

type Handler = dyn Fn(&Request, &mut TcpStream) + Send + Sync;

/// At most this many connections are served.
const MAX_CONNECTIONS: usize = 200;

impl Fake {
    /// Starts a fake whose `handler` answers each request (one per
    /// connection, each on its own thread).
    pub fn start(handler: impl Fn(&Request, &mut TcpStream) + Send + Sync + 'static) -> Fake {
        Fake::serve_on(TcpListener::bind("127.0.0.1:0").unwrap(), handler)
    }

    /// [`Fake::start`] on a listener the caller bound (to know its port first).
    pub fn serve_on(
        listener: TcpListener,
        handler: impl Fn(&Request, &mut TcpStream) + Send + Sync + 'static,
    ) -> Fake {
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (log2, stop2) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().take(MAX_CONNECTIONS) {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let (handler, log) = (handler.clone(), log2.clone());
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
                    let Some(req) = read_request(&mut stream) else {
                        return;
                    };
                    log.lock().unwrap().push(req.clone());
                    handler(&req, &mut stream);
                });
            }
        });
        Fake { port, log, stop }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The requests so far.
    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

/// Writes a whole answer (`Connection: close`); no body for HEAD.
pub fn reply(
    stream: &mut TcpStream,
    req: &Request,
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
) {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    if req.method != "HEAD" {
        let _ = stream.write_all(body);
    }
}

/// Answers the read side of the distribution API from `src` for
/// repository `repo`: `/v2/`, `manifests/<tag or digest>` (`tag` names
/// `manifest`), and blobs. `None` for anything else.
pub fn serve_image(
    src: &Layout,
    repo: &str,
    tag: &str,
    manifest: &minibuild::digest::Digest,
    req: &Request,
    stream: &mut TcpStream,
) -> Option<()> {
    if req.path == "/v2/" {
        reply(stream, req, 200, &[], b"{}");
        return Some(());
    }
    let rest = req.path.strip_prefix(&format!("/v2/{repo}/"))?;
    if let Some(r) = rest.strip_prefix("manifests/") {
        let digest = if r == tag {
            manifest.clone()
        } else {
            r.parse().ok()?
        };
        let bytes = src.read_blob(&digest).ok()?;
        let mt = minibuild::oci::MEDIA_TYPE_MANIFEST.to_string();
        reply(stream, req, 200, &[("Content-Type", mt)], &bytes);
        return Some(());
    }
    let digest = rest.strip_prefix("blobs/")?.parse().ok()?;
    let bytes = std::fs::read(src.blob_path(&digest)).ok()?;
    reply(stream, req, 200, &[], &bytes);
    Some(())
}

/// Runs minibuild in `w` with no credentials but those `env` names (no
/// `$HOME/.docker`, no `$REGISTRY_AUTH_FILE`, no `$XDG_RUNTIME_DIR`),
/// killed if it runs longer than `limit`. Its exit code (`None` when
/// killed), stderr, and how long it ran.
pub fn run_bounded(
    w: &crate::common::Work,
    args: &[&str],
    env: &[(&str, std::ffi::OsString)],
    limit: Duration,
) -> (Option<i32>, String, Duration) {
    let home = w.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut c = crate::common::minibuild();
    c.args(args)
        .env("MINIBUILD_STORE", w.path("store"))
        .env("HOME", &home)
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("DOCKER_CONFIG")
        .env_remove(minibuild::dest::registry::TIMEOUT_ENV)
        .current_dir(w.dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(w.path("stderr")).unwrap());
    for (k, v) in env {
        c.env(k, v);
    }
    let start = std::time::Instant::now();
    let mut child = c.spawn().unwrap();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let err = std::fs::read_to_string(w.path("stderr")).unwrap();
    (code, err, start.elapsed())
}
