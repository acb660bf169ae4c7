//! What an SBOM says about a built image, read back from its layers as
//! stored: every regular file of the layers minibuild wrote (those no
//! image the build read has), with its sha256, layer by layer; the package
//! databases of the image as its last layer leaves them; the Go modules
//! embedded in the binaries minibuild wrote; and the images read.

use super::gobuild;
use super::packages::{self, Package};
use crate::dest::{DestError, Layout};
use crate::digest::Digest;
use crate::executor::ReadImage;
use crate::image::Image;
use std::collections::BTreeMap;
use std::io::Read;

/// The package databases an image may hold, and how each is read.
type Parser = fn(&str, &str) -> Vec<Package>;
const DATABASES: &[(&str, Parser)] = &[
    ("/var/lib/dpkg/status", packages::dpkg_status),
    ("/lib/apk/db/installed", packages::apk_installed),
];

/// A Go binary is read whole to find its build info; larger ones are not.
const GO_BINARY_LIMIT: u64 = 512 << 20;

/// One file minibuild wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFile {
    /// Its absolute path in the image.
    pub path: String,
    /// The sha256 of its contents.
    pub sha256: Digest,
    /// The sha1 of its contents, in hex (SPDX requires one).
    pub sha1: String,
    /// Its size.
    pub size: u64,
}

/// The files one written layer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenLayer {
    /// The layer's (compressed) digest.
    pub digest: Digest,
    /// Its regular files, in tar order.
    pub files: Vec<WrittenFile>,
}

/// What the SBOM of an image lists.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// The layers minibuild wrote, bottom first.
    pub layers: Vec<WrittenLayer>,
    /// The packages found (databases, then Go modules), sorted.
    pub packages: Vec<Package>,
    /// The images the build read.
    pub bases: Vec<ReadImage>,
}

/// Reads the inventory of `image` (its blobs in `layout`); `read` are the
/// images the build read.
pub fn inventory(
    layout: &Layout,
    image: &Image,
    read: &[ReadImage],
) -> Result<Inventory, DestError> {
    let mut layers = Vec::new();
    let mut databases: BTreeMap<&str, (Parser, String)> = BTreeMap::new();
    let mut go = Vec::new();
    for layer in &image.layers {
        let written = !read.iter().any(|r| r.layers.contains(&layer.digest));
        let what = format!("reading layer {} for the SBOM", layer.digest);
        let blob = layout.open_blob(&layer.digest)?;
        let tar = crate::layer::uncompressed(&layer.media_type, blob)
            .map_err(DestError::io(what.clone()))?;
        let mut archive = tar::Archive::new(tar);
        let mut files = Vec::new();
        for entry in archive.entries().map_err(DestError::io(what.clone()))? {
            let mut entry = entry.map_err(DestError::io(what.clone()))?;
            if entry.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let raw = entry.path().map_err(DestError::io(what.clone()))?;
            let path = format!("/{}", raw.to_string_lossy().trim_start_matches("./"));
            if let Some((db, parse)) = DATABASES.iter().find(|(p, _)| *p == path) {
                let mut text = String::new();
                entry
                    .read_to_string(&mut text)
                    .map_err(DestError::io(format!("{what}: reading {path}")))?;
                if written {
                    let h =
                        hash_file(&mut text.as_bytes(), 0).map_err(DestError::io(what.clone()))?;
                    files.push(WrittenFile {
                        path,
                        sha256: h.sha256,
                        sha1: h.sha1,
                        size: h.size,
                    });
                }
                databases.insert(db, (*parse, text));
                continue;
            }
            if !written {
                continue;
            }
            let size = entry.size();
            let h = hash_file(&mut entry, size).map_err(DestError::io(what.clone()))?;
            if let Some(info) = h.elf.as_ref().and_then(|bytes| gobuild::read(bytes, &path)) {
                go.extend(info.modules);
            }
            files.push(WrittenFile {
                path,
                sha256: h.sha256,
                sha1: h.sha1,
                size: h.size,
            });
        }
        if written {
            layers.push(WrittenLayer {
                digest: layer.digest.clone(),
                files,
            });
        }
    }
    let mut packages: Vec<Package> = databases
        .iter()
        .flat_map(|(path, (parse, text))| parse(text, path))
        .collect();
    packages.sort();
    go.sort();
    go.dedup();
    packages.extend(go);
    Ok(Inventory {
        layers,
        packages,
        bases: read.to_vec(),
    })
}

/// A file's contents hashed.
struct Hashed {
    sha256: Digest,
    sha1: String,
    size: u64,
    /// The bytes of an ELF binary small enough to look for Go's build
    /// info in.
    elf: Option<Vec<u8>>,
}

/// Hashes a file's contents (sha256 and, as SPDX wants, sha1) in one pass.
fn hash_file(entry: &mut impl Read, size: u64) -> std::io::Result<Hashed> {
    use sha1::Digest as _;
    let mut sha256 = sha2::Sha256::new();
    let mut sha1 = sha1::Sha1::new();
    let mut kept = (size <= GO_BINARY_LIMIT).then(Vec::new);
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = entry.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        sha256.update(chunk);
        sha1.update(chunk);
        total += n as u64;
        if let Some(k) = kept.as_mut() {
            k.extend_from_slice(chunk);
            if k.len() >= 4 && !k.starts_with(b"\x7fELF") {
                kept = None;
            }
        }
    }
    Ok(Hashed {
        sha256: Digest::from_sha256(sha256.finalize().as_slice()),
        sha1: hex(sha1.finalize().as_slice()),
        size: total,
        elf: kept.filter(|k| k.len() >= 4),
    })
}

/// Lowercase hex.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
