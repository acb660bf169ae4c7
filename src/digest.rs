//! Content digests (`sha256:<hex>`) and the writer that hashes and counts
//! what passes through it.

mod aside;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

/// The hash function a [`Digest`] names. Only SHA-256 is supported: it is
/// what OCI images use, and what `blobs/sha256/` in a layout holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// `sha256`.
    Sha256,
}

impl Algorithm {
    /// The name in a digest string and in a layout's `blobs/<name>/`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
        }
    }

    /// How many lowercase hex digits its digests have.
    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
        }
    }
}

/// A content digest: an algorithm and the hash in lowercase hex, checked
/// for form when parsed, so a path built from it (`blobs/sha256/<hex>`)
/// never escapes its directory. Serialized as its string form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

/// A string that is not a digest minibuild can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid digest {digest:?}: {reason}")]
pub struct DigestError {
    /// The string given.
    pub digest: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Digest {
    /// The SHA-256 digest of `bytes`.
    pub fn sha256(bytes: &[u8]) -> Digest {
        Digest::from_sha256(Sha256::digest(bytes).as_slice())
    }

    pub(crate) fn from_sha256(hash: &[u8]) -> Digest {
        Digest {
            algorithm: Algorithm::Sha256,
            hex: hex::encode(hash),
        }
    }

    /// The hash function.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The hash in lowercase hex (a blob's file name in a layout).
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The short form shown to people: `sha256:0123456789ab` (12 hex digits).
    pub fn short(&self) -> String {
        format!("{}:{}", self.algorithm.name(), &self.hex[..12])
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> Digest {
    Digest::sha256(bytes)
}

impl FromStr for Digest {
    type Err = DigestError;

    /// Parses `sha256:<64 lowercase hex digits>`; anything else is refused.
    fn from_str(s: &str) -> Result<Digest, DigestError> {
        let bad = |reason| DigestError {
            digest: s.to_string(),
            reason,
        };
        let (name, hex) = s
            .split_once(':')
            .ok_or_else(|| bad("expected sha256:<64 lowercase hex digits>"))?;
        let algorithm = match name {
            "sha256" => Algorithm::Sha256,
            _ => return Err(bad("only sha256 digests are supported")),
        };
        let lower_hex = hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if hex.len() != algorithm.hex_len() || !lower_hex {
            return Err(bad("expected sha256:<64 lowercase hex digits>"));
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_string(),
        })
    }
}

impl fmt::Display for Digest {
    /// `sha256:<hex>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Digest, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A writer that hashes (SHA-256) and counts every byte on its way to `inner`.
///
/// Stacked twice it gives a layer's diff_id (before compression) and its
/// digest and size (after) in one pass.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Hasher,
    count: u64,
}

/// Where a [`HashingWriter`]'s SHA-256 is computed.
enum Hasher {
    /// On the writing thread.
    Here(Sha256),
    /// On a thread of its own.
    Aside(aside::AsideHasher),
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Hasher::Here(Sha256::new()),
            count: 0,
        }
    }

    /// Wraps `inner`, hashing on a thread of its own: for streams of many
    /// MB whose writer has other work (receiving, compressing), so the
    /// hash runs beside it on another core.
    pub fn aside(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Hasher::Aside(aside::AsideHasher::new()),
            count: 0,
        }
    }

    /// Bytes written so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The inner writer, mutably.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Ends hashing: the inner writer, the digest and the byte count.
    pub fn finish(self) -> (W, Digest, u64) {
        let digest = match self.hasher {
            Hasher::Here(h) => Digest::from_sha256(h.finalize().as_slice()),
            Hasher::Aside(h) => Digest::from_sha256(&h.finalize()),
        };
        (self.inner, digest, self.count)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        match &mut self.hasher {
            Hasher::Here(h) => h.update(&buf[..n]),
            Hasher::Aside(h) => h.update(&buf[..n]),
        }
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The buffer [`copy`] moves bytes through: a big blob or archive is read
/// in few calls (`io::copy`'s own is 8 KiB: ~51,000 `read(2)` calls and as
/// many writes for a 400 MB layer).
pub const COPY_BUFFER: usize = 1 << 20;

/// `io::copy` through a [`COPY_BUFFER`]-sized buffer: the bytes copied.
/// The buffer is the calling thread's own, made once and reused, so a
/// copy per small file (keys, extracted files) costs no allocation.
pub fn copy(reader: &mut impl io::Read, writer: &mut impl Write) -> io::Result<u64> {
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUFFER.with(|buffer| match buffer.try_borrow_mut() {
        Ok(mut buf) => {
            buf.resize(COPY_BUFFER, 0);
            copy_through(reader, writer, &mut buf)
        }
        // a copy inside a copy (a reader that copies): a buffer of its own
        Err(_) => copy_through(reader, writer, &mut vec![0u8; COPY_BUFFER]),
    })
}

fn copy_through(
    reader: &mut impl io::Read,
    writer: &mut impl Write,
    buf: &mut [u8],
) -> io::Result<u64> {
    let mut total = 0;
    loop {
        let n = match reader.read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        writer.write_all(&buf[..n])?;
        total += n as u64;
    }
}

/// A reader that hashes (SHA-256) every byte read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: io::Read> HashingReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// Ends hashing: the digest of what was read.
    pub fn finish(self) -> Digest {
        Digest::from_sha256(self.hasher.finalize().as_slice())
    }
}

impl<R: io::Read> io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        assert_eq!(
            sha256(b"").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"abc").unwrap();
        let (inner, digest, n) = w.finish();
        assert_eq!(inner, b"abc");
        assert_eq!(n, 3);
        assert_eq!(
            digest.to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut r = HashingReader::new(&b"abc"[..]);
        io::copy(&mut r, &mut io::sink()).unwrap();
        assert_eq!(r.finish(), digest);
    }

    #[test]
    fn parse_display_short_and_serde_round_trip() {
        let s = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let d: Digest = s.parse().unwrap();
        assert_eq!(d.to_string(), s);
        assert_eq!(d.algorithm(), Algorithm::Sha256);
        assert_eq!(d.hex(), &s[7..]);
        assert_eq!(d.short(), "sha256:ba7816bf8f01");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{s}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
    }

    #[test]
    fn parse_refuses_anything_else() {
        let upper = format!("sha256:{}", "A".repeat(64));
        let long = format!("sha256:{}", "0".repeat(65));
        let sha512 = format!("sha512:{}", "0".repeat(128));
        let cases = [
            ("", "expected sha256:<64 lowercase hex digits>"),
            ("sha256", "expected sha256:<64 lowercase hex digits>"),
            ("sha256:abc", "expected sha256:<64 lowercase hex digits>"),
            ("sha256:../../etc/passwd", "expected sha256:"),
            (upper.as_str(), "expected sha256:"),
            (long.as_str(), "expected sha256:"),
            (sha512.as_str(), "only sha256 digests are supported"),
            ("md5:00", "only sha256 digests are supported"),
        ];
        for (input, reason) in cases {
            let err = input.parse::<Digest>().unwrap_err();
            let text = err.to_string();
            assert!(
                text.starts_with(&format!("invalid digest {input:?}: ")),
                "{text}"
            );
            assert!(text.contains(reason), "{input}: {text}");
        }
        let err = serde_json::from_str::<Digest>("\"sha256:00\"").unwrap_err();
        assert!(err.to_string().contains("invalid digest"), "{err}");
    }
}
