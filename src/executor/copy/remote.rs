//! `ADD https://...`: the body streamed into a temporary file while it is
//! hashed (never held whole), checked against `--checksum` before anything
//! is placed, its `Last-Modified` as the file's mtime and mode 0600, as
//! BuildKit's HTTP source makes it. An archive from a URL is not unpacked
//! (Docker's rule).

use super::super::rootfs::{FsKind, FsMeta};
use super::super::{BuildError, Builder};
use super::sources::ImagePath;
use crate::digest::{Digest, HashingWriter};
use crate::span::{Span, Spanned};
use std::io::Write;

/// Whether a source is a URL ADD fetches.
pub(crate) fn is_url(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://")
}

/// Fetches `url` into the build's temporary directory; the file as a
/// source to place, and its digest.
pub(crate) fn fetch(
    b: &Builder<'_>,
    span: Span,
    url: &str,
    checksum: Option<&Spanned<String>>,
) -> Result<(ImagePath, Digest), BuildError> {
    let wanted =
        match checksum {
            Some(c) => Some(c.value.parse::<Digest>().map_err(|e| {
                BuildError::at(c.span, format!("invalid checksum {:?}: {e}", c.value))
            })?),
            None => None,
        };
    let fail = |why: String| BuildError::at(span, format!("ADD {url}: {why}"));
    let t = b.opts.registry.timeouts;
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(t.connect))
        .timeout_per_read(Some(t.idle))
        .timeout_recv_response(Some(t.idle))
        .timeout_per_call(Some(t.request))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let resp = agent.get(url).call().map_err(|e| fail(e.to_string()))?;
    let status = resp.status().as_u16();
    if status != 200 {
        return Err(fail(format!("the server answered {status}")));
    }
    let mtime = resp
        .headers()
        .get("last-modified")
        .and_then(|v| v.to_str().ok())
        .and_then(http_date);
    let name = file_name(url);
    static FETCHED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = FETCHED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = b.tmp.path().join(format!("url-{n}"));
    let file = std::fs::File::create(&path)
        .map_err(|e| fail(format!("creating {}", path.display())).caused(e))?;
    let mut hashing = HashingWriter::new(std::io::BufWriter::new(file));
    crate::digest::copy(&mut resp.into_body().into_reader(), &mut hashing)
        .map_err(|e| fail("reading the body".to_string()).caused(e))?;
    hashing
        .flush()
        .map_err(|e| fail("writing the body".to_string()).caused(e))?;
    let (_, digest, size) = hashing.finish();
    if let Some(w) = wanted.filter(|w| *w != digest) {
        let _ = std::fs::remove_file(&path);
        return Err(BuildError::at(
            checksum.map_or(span, |c| c.span),
            format!("ADD {url}: digest mismatch: --checksum wants {w}, the body is {digest}"),
        ));
    }
    let file = ImagePath {
        path: name.clone(),
        name,
        meta: FsMeta {
            kind: FsKind::File { size },
            mode: 0o600,
            uid: 0,
            gid: 0,
            mtime: mtime.unwrap_or(b.opts.source_date_epoch.unwrap_or(b.opts.now)),
        },
        data: Some(path),
        below: Vec::new(),
    };
    Ok((file, digest))
}

/// The name a URL's file gets: its path's last segment (query dropped),
/// `__unnamed__` when it has none, as BuildKit.
fn file_name(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.split(['?', '#']).next().unwrap_or("");
    match path.split_once('/') {
        Some((_, p)) => match p.rsplit('/').next() {
            Some(last) if !last.is_empty() => last.to_string(),
            _ => "__unnamed__".to_string(),
        },
        None => "__unnamed__".to_string(),
    }
}

/// Seconds since the epoch of an HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`).
fn http_date(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = MONTHS.iter().position(|x| x == month)? as i64 + 1;
    let (d, y): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, mi, se] = hms.as_slice() else {
        return None;
    };
    // days from the civil date (Howard Hinnant's algorithm)
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_and_names() {
        assert_eq!(
            http_date("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(1_445_412_480)
        );
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(http_date("yesterday"), None);
        assert_eq!(file_name("http://h:1/a/b.tar.gz?x=1"), "b.tar.gz");
        assert_eq!(file_name("http://h/"), "__unnamed__");
        assert_eq!(file_name("http://h"), "__unnamed__");
    }
}
