//! `ADD https://...` from a loopback HTTP server the test runs: the body
//! lands as a file (mode 0600, the server's Last-Modified as mtime, an
//! archive not unpacked), `--checksum` is checked before anything is
//! stored, and COPY refuses URLs.

use crate::common::{layer_tar, manifest_of, stderr, Work};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

/// Serves `body` for every GET (at most `max` connections), with
/// `Last-Modified: Wed, 21 Oct 2015 07:28:00 GMT`; its base URL.
fn serve(body: Vec<u8>, max: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nLast-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    format!("http://127.0.0.1:{port}")
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// The entries (path, mode, mtime, bytes) of the image's last layer.
fn last_layer(out: &std::path::Path, name: &str) -> Vec<(String, u32, u64, Vec<u8>)> {
    let m = manifest_of(out, name);
    let layers = m["layers"].as_array().unwrap();
    let bytes = layer_tar(out, layers.last().unwrap());
    let mut tar = tar::Archive::new(&bytes[..]);
    tar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            let h = e.header();
            (
                e.path().unwrap().display().to_string(),
                h.mode().unwrap(),
                h.mtime().unwrap(),
                data,
            )
        })
        .collect()
}

#[test]
fn a_url_with_the_right_checksum_lands_as_a_file() {
    let body = b"remote payload\n".to_vec();
    let url = serve(body.clone(), 2);
    let w = Work::new();
    w.dockerfile(&format!(
        "FROM scratch\nADD --checksum=sha256:{} {url}/files/payload.txt /data/\n",
        sha256_hex(&body)
    ));
    let out = w.build_oci("url", &["--provenance-dir", "prov"]);
    let st = crate::common::read_json(&w.path("prov/provenance.intoto.json"));
    let deps = st["predicate"]["buildDefinition"]["resolvedDependencies"].to_string();
    assert!(
        deps.contains(&format!("{url}/files/payload.txt")) && deps.contains(&sha256_hex(&body)),
        "the URL and its digest are inputs: {deps}"
    );
    let entries = last_layer(&out, "url");
    let file = entries.iter().find(|e| e.0 == "data/payload.txt").unwrap();
    assert_eq!(file.3, body);
    assert_eq!(file.1 & 0o7777, 0o600);
    assert_eq!(file.2, 1_445_412_480, "Last-Modified is the mtime");
}

#[test]
fn an_archive_from_a_url_is_not_unpacked() {
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(2);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    tar.append_data(&mut h, "inner.txt", &b"hi"[..]).unwrap();
    let body = tar.into_inner().unwrap();
    let url = serve(body.clone(), 1);
    let w = Work::new();
    w.dockerfile(&format!("FROM scratch\nADD {url}/a.tar /a.tar\n"));
    let out = w.build_oci("tar", &[]);
    let entries = last_layer(&out, "tar");
    assert!(
        entries.iter().any(|e| e.0 == "a.tar" && e.3 == body),
        "{:?}",
        entries.iter().map(|e| &e.0).collect::<Vec<_>>()
    );
    assert!(!entries.iter().any(|e| e.0.ends_with("inner.txt")));
}

#[test]
fn a_wrong_checksum_fails_with_both_digests_and_stores_nothing() {
    let body = b"not what was promised\n".to_vec();
    let url = serve(body.clone(), 1);
    let w = Work::new();
    let promised = sha256_hex(b"something else");
    w.dockerfile(&format!(
        "FROM scratch\nADD --checksum=sha256:{promised} {url}/f /f\n"
    ));
    let ctx = w.ctx().display().to_string();
    let o = w.run(&["build", "-t", "bad:1", &ctx]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(&format!("sha256:{promised}")), "{err}");
    assert!(
        err.contains(&format!("sha256:{}", sha256_hex(&body))),
        "{err}"
    );
    assert!(err.contains("Dockerfile:2"), "{err}");
    // nothing stored: the store was never made
    assert!(!w.path("store").join("index.json").exists());
}

#[test]
fn copy_refuses_urls_and_checksum_wants_one() {
    let w = Work::new();
    w.file("local.txt", "x");
    w.dockerfile("FROM scratch\nCOPY http://127.0.0.1:9/x /x\n");
    let ctx = w.ctx().display().to_string();
    let o = w.run(&["build", &ctx]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("does not fetch remote sources"),
        "{}",
        stderr(&o)
    );
    w.dockerfile(&format!(
        "FROM scratch\nADD --checksum=sha256:{} local.txt /x\n",
        sha256_hex(b"x")
    ));
    let o = w.run(&["build", &ctx]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("for http(s) sources only"),
        "{}",
        stderr(&o)
    );
}
