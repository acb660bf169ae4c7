//! Checking a layout end to end: [`Layout::fsck`] walks `index.json` to
//! every blob it reaches and says, blob by blob, whether it is what its
//! descriptor claims.
//!
//! A blob is checked as a regular file (a symlink is never followed), for
//! its size, its sha256 (against its name, which is the descriptor's
//! digest) and, for a layer, the sha256 of its uncompressed tar against the
//! config's `rootfs.diff_ids`. Each blob is read once, in one pass: the
//! compressed bytes are hashed on their way into the decompressor.

use super::error::DestError;
use super::graph::{is_index, is_manifest, ConfigFile, Index, Manifest};
use super::layout::Layout;
use crate::digest::{Digest, HashingReader, HashingWriter};
use crate::oci::Descriptor;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// Why a layout could not be checked at all (its blobs' problems are in
/// the [`FsckReport`], not here).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FsckError {
    /// `oci-layout` does not say `imageLayoutVersion` 1.0.0.
    #[error("checking {}: imageLayoutVersion is {found:?}, expected \"1.0.0\"", path.display())]
    LayoutVersion {
        /// The `oci-layout` file.
        path: PathBuf,
        /// What it says (`None`: no such field, or not a string).
        found: Option<String>,
    },
    /// Reading `oci-layout`, `index.json` or the blob directory failed.
    #[error("checking an OCI layout")]
    Dest(#[from] DestError),
}

/// What a blob is to the images that reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlobRole {
    /// An image index (nested in `index.json` or another index).
    Index,
    /// An image manifest.
    Manifest,
    /// An image config.
    Config,
    /// Layer `n` (from 0, bottom first) of its manifest.
    Layer(usize),
    /// Something else an index lists (an artifact): checked as bytes only.
    Other(String),
}

impl fmt::Display for BlobRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlobRole::Index => f.write_str("index"),
            BlobRole::Manifest => f.write_str("manifest"),
            BlobRole::Config => f.write_str("config"),
            BlobRole::Layer(n) => write!(f, "layer {n}"),
            BlobRole::Other(media_type) => write!(f, "blob of type {media_type}"),
        }
    }
}

/// What is wrong with one blob.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobProblem {
    /// `blobs/sha256/<hex>` does not exist.
    #[error("the blob is missing")]
    Missing,
    /// The blob's path is a symlink, a directory or another non-file.
    #[error("the blob is a {kind}, not a regular file")]
    NotAFile {
        /// `symlink`, `directory`, ...
        kind: &'static str,
    },
    /// The blob could not be read.
    #[error("reading the blob")]
    Unreadable(#[source] io::Error),
    /// The blob has another size than its descriptor says.
    #[error("the blob has {actual} bytes, its descriptor says {expected}")]
    Size {
        /// The descriptor's size.
        expected: u64,
        /// The file's.
        actual: u64,
    },
    /// The blob's content does not hash to its name.
    #[error("the content has digest {actual}")]
    Digest {
        /// What the content hashes to.
        actual: Digest,
    },
    /// An index, manifest or config that is not valid JSON of its kind.
    #[error("parsing the blob")]
    Json(#[source] serde_json::Error),
    /// A config whose `rootfs.diff_ids` do not pair up with the layers.
    #[error("the config lists {diff_ids} diff_ids for {layers} layers")]
    DiffIdCount {
        /// How many the config lists.
        diff_ids: usize,
        /// How many layers the manifest has.
        layers: usize,
    },
    /// A layer whose media type says neither tar, gzip nor zstd.
    #[error("cannot uncompress a layer of media type {0}")]
    UnknownLayerType(String),
    /// A layer that does not decompress.
    #[error("uncompressing the layer")]
    Uncompress(#[source] io::Error),
    /// A layer whose uncompressed content is not the config's diff_id.
    #[error("the uncompressed layer has digest {actual}, the config's diff_id is {expected}")]
    DiffId {
        /// The config's `rootfs.diff_ids` entry.
        expected: Digest,
        /// What the uncompressed tar hashes to.
        actual: Digest,
    },
}

/// One blob, checked.
#[derive(Debug)]
pub struct BlobCheck {
    /// Its digest (as the descriptor that reaches it first says).
    pub digest: Digest,
    /// What it is.
    pub role: BlobRole,
    /// `None` when it is sound.
    pub problem: Option<BlobProblem>,
}

/// What [`Layout::fsck`] found.
#[derive(Debug, Default)]
pub struct FsckReport {
    /// Every blob `index.json` reaches, each once (a layer shared by images
    /// whose configs disagree about its diff_id appears again, with that
    /// problem), referencing blobs before the blobs they reference.
    pub blobs: Vec<BlobCheck>,
    /// Blobs in `blobs/sha256` nothing reaches (not an error: `prune`
    /// removes them), as digests (a file whose name is no digest is named
    /// `sha256:<its name>`).
    pub unreferenced: Vec<String>,
}

impl FsckReport {
    /// True when no blob has a problem (unreferenced blobs are fine).
    pub fn is_clean(&self) -> bool {
        self.problems().next().is_none()
    }

    /// The blobs with a problem.
    pub fn problems(&self) -> impl Iterator<Item = &BlobCheck> {
        self.blobs.iter().filter(|b| b.problem.is_some())
    }
}

impl fmt::Display for FsckReport {
    /// One line per blob (`ok` or the problem, with its causes), then the
    /// unreferenced blobs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.blobs {
            write!(f, "{} {}: ", b.role, b.digest)?;
            match &b.problem {
                None => writeln!(f, "ok")?,
                Some(problem) => {
                    write!(f, "{problem}")?;
                    let mut cause = std::error::Error::source(problem);
                    while let Some(c) = cause {
                        write!(f, ": {c}")?;
                        cause = c.source();
                    }
                    writeln!(f)?;
                }
            }
        }
        for digest in &self.unreferenced {
            writeln!(f, "unreferenced {digest}")?;
        }
        Ok(())
    }
}

/// A blob's bytes as they were checked: the parsed JSON for the walk to go
/// on with, or a layer's diff_id.
enum Content {
    Bytes(Vec<u8>),
    DiffId(Digest),
    Unchecked,
}

impl Layout {
    /// Checks the whole layout: `oci-layout`, then every blob `index.json`
    /// reaches (nested indexes, manifests, configs, layers). Blob problems
    /// are in the report; an error means the layout could not be walked.
    pub fn fsck(&self) -> Result<FsckReport, FsckError> {
        self.check_layout_version()?;
        let index = self.index()?;
        let mut walk = Walk {
            layout: self,
            report: FsckReport::default(),
            diff_ids: BTreeMap::new(),
            configs: BTreeMap::new(),
        };
        for entry in &index.manifests {
            walk.entry(entry);
        }
        let reached: BTreeSet<String> = walk
            .report
            .blobs
            .iter()
            .map(|b| b.digest.to_string())
            .collect();
        let dir = self.root().join("blobs").join("sha256");
        let listing =
            fs::read_dir(&dir).map_err(DestError::io(format!("listing {}", dir.display())))?;
        let mut unreferenced = Vec::new();
        for entry in listing {
            let entry = entry.map_err(DestError::io(format!("listing {}", dir.display())))?;
            let digest = format!("sha256:{}", entry.file_name().to_string_lossy());
            if !reached.contains(&digest) {
                unreferenced.push(digest);
            }
        }
        unreferenced.sort();
        walk.report.unreferenced = unreferenced;
        Ok(walk.report)
    }

    fn check_layout_version(&self) -> Result<(), FsckError> {
        let path = self.root().join("oci-layout");
        let bytes =
            fs::read(&path).map_err(DestError::io(format!("reading {}", path.display())))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(DestError::json(format!("parsing {}", path.display())))?;
        let found = value.get("imageLayoutVersion").and_then(|v| v.as_str());
        if found == Some("1.0.0") {
            return Ok(());
        }
        Err(FsckError::LayoutVersion {
            path,
            found: found.map(str::to_string),
        })
    }
}

/// The state of one [`Layout::fsck`].
struct Walk<'a> {
    layout: &'a Layout,
    report: FsckReport,
    /// Layers already checked: digest → the diff_id they uncompress to
    /// (`None` when that could not be found out).
    diff_ids: BTreeMap<Digest, Option<Digest>>,
    /// Configs already checked: digest → their `rootfs.diff_ids` (`None`
    /// when the config is not sound).
    configs: BTreeMap<Digest, Option<Vec<Digest>>>,
}

impl Walk<'_> {
    /// Checks an entry of an index (an index, a manifest or anything else).
    fn entry(&mut self, desc: &Descriptor) {
        if is_index(&desc.media_type) {
            self.index(desc);
        } else if is_manifest(&desc.media_type) {
            self.manifest(desc);
        } else {
            self.json_blob(desc, BlobRole::Other(desc.media_type.clone()));
        }
    }

    fn index(&mut self, desc: &Descriptor) {
        let Some(bytes) = self.json_blob(desc, BlobRole::Index) else {
            return;
        };
        match serde_json::from_slice::<Index>(&bytes) {
            Ok(index) => index.manifests.iter().for_each(|d| self.entry(d)),
            Err(e) => self.set_problem(&desc.digest, BlobProblem::Json(e)),
        }
    }

    fn manifest(&mut self, desc: &Descriptor) {
        let Some(bytes) = self.json_blob(desc, BlobRole::Manifest) else {
            return;
        };
        let manifest = match serde_json::from_slice::<Manifest>(&bytes) {
            Ok(m) => m,
            Err(e) => return self.set_problem(&desc.digest, BlobProblem::Json(e)),
        };
        let diff_ids = self.config(&manifest.config);
        if let Some(ids) = &diff_ids {
            if ids.len() != manifest.layers.len() {
                let problem = BlobProblem::DiffIdCount {
                    diff_ids: ids.len(),
                    layers: manifest.layers.len(),
                };
                self.set_problem(&manifest.config.digest, problem);
            }
        }
        for (n, layer) in manifest.layers.iter().enumerate() {
            let expected = diff_ids.as_ref().and_then(|ids| ids.get(n));
            self.layer(layer, n, expected);
        }
    }

    /// The `rootfs.diff_ids` of a config, only when it is sound: a corrupt
    /// config names itself, not the layers.
    fn config(&mut self, desc: &Descriptor) -> Option<Vec<Digest>> {
        if let Some(known) = self.configs.get(&desc.digest) {
            return known.clone();
        }
        let diff_ids = self.json_blob(desc, BlobRole::Config).and_then(|bytes| {
            match serde_json::from_slice::<ConfigFile>(&bytes) {
                Ok(config) => Some(config.rootfs.diff_ids),
                Err(e) => {
                    self.set_problem(&desc.digest, BlobProblem::Json(e));
                    None
                }
            }
        });
        self.configs.insert(desc.digest.clone(), diff_ids.clone());
        diff_ids
    }

    fn layer(&mut self, desc: &Descriptor, n: usize, expected: Option<&Digest>) {
        let actual = match self.diff_ids.get(&desc.digest) {
            Some(known) => known.clone(),
            None => {
                let actual = match self.check(desc, BlobRole::Layer(n)) {
                    Content::DiffId(d) => Some(d),
                    _ => None,
                };
                self.diff_ids.insert(desc.digest.clone(), actual.clone());
                actual
            }
        };
        if let (Some(expected), Some(actual)) = (expected, actual) {
            if *expected != actual {
                let problem = BlobProblem::DiffId {
                    expected: expected.clone(),
                    actual,
                };
                self.report.blobs.push(BlobCheck {
                    digest: desc.digest.clone(),
                    role: BlobRole::Layer(n),
                    problem: Some(problem),
                });
            }
        }
    }

    /// Checks a blob read whole (index, manifest, config, other); its bytes
    /// when sound and checked now for the first time.
    fn json_blob(&mut self, desc: &Descriptor, role: BlobRole) -> Option<Vec<u8>> {
        if self.seen(&desc.digest) {
            return None;
        }
        match self.check(desc, role) {
            Content::Bytes(b) => Some(b),
            _ => None,
        }
    }

    fn seen(&self, digest: &Digest) -> bool {
        self.report.blobs.iter().any(|b| b.digest == *digest)
    }

    /// Records the first problem of the blob `digest`.
    fn set_problem(&mut self, digest: &Digest, problem: BlobProblem) {
        if let Some(b) = self.report.blobs.iter_mut().find(|b| b.digest == *digest) {
            b.problem.get_or_insert(problem);
        }
    }

    /// Checks one blob and records it; what it holds when it is sound.
    fn check(&mut self, desc: &Descriptor, role: BlobRole) -> Content {
        let (problem, content) = match check_blob(self.layout, desc, &role) {
            Ok(content) => (None, content),
            Err(problem) => (Some(problem), Content::Unchecked),
        };
        self.report.blobs.push(BlobCheck {
            digest: desc.digest.clone(),
            role,
            problem,
        });
        content
    }
}

/// How a layer is uncompressed, by its media type.
fn decoder<'r>(
    media_type: &str,
    raw: &'r mut HashingReader<File>,
) -> Result<Box<dyn Read + 'r>, BlobProblem> {
    // OCI `...tar+gzip`, Docker `...tar.gzip`, and the nondistributable ones
    if media_type.ends_with("gzip") {
        // one gzip member after another is still one stream (pigz, gzp)
        Ok(Box::new(flate2::read::MultiGzDecoder::new(raw)))
    } else if media_type.ends_with("zstd") {
        let d = zstd::stream::read::Decoder::new(raw).map_err(BlobProblem::Uncompress)?;
        Ok(Box::new(d))
    } else if media_type.ends_with(".tar") {
        Ok(Box::new(raw))
    } else {
        Err(BlobProblem::UnknownLayerType(media_type.to_string()))
    }
}

/// Checks a blob's file, size, digest and (for a layer) uncompresses it.
fn check_blob(layout: &Layout, desc: &Descriptor, role: &BlobRole) -> Result<Content, BlobProblem> {
    let path = layout.blob_path(&desc.digest);
    let meta = match fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(BlobProblem::Missing),
        Err(e) => return Err(BlobProblem::Unreadable(e)),
    };
    let kind = meta.file_type();
    if !kind.is_file() {
        let kind = if kind.is_symlink() {
            "symlink"
        } else if kind.is_dir() {
            "directory"
        } else {
            "special file"
        };
        return Err(BlobProblem::NotAFile { kind });
    }
    let file = File::open(&path).map_err(BlobProblem::Unreadable)?;
    // the file opened is the one looked at (not a symlink put there since)
    let opened = file.metadata().map_err(BlobProblem::Unreadable)?;
    if (opened.dev(), opened.ino()) != (meta.dev(), meta.ino()) {
        return Err(BlobProblem::NotAFile { kind: "symlink" });
    }
    if opened.len() != desc.size {
        return Err(BlobProblem::Size {
            expected: desc.size,
            actual: opened.len(),
        });
    }
    let mut raw = HashingReader::new(file);
    let content = match role {
        BlobRole::Layer(_) => {
            let diff_id = decoder(&desc.media_type, &mut raw).and_then(|mut d| {
                let mut tar = HashingWriter::new(io::sink());
                io::copy(&mut d, &mut tar).map_err(BlobProblem::Uncompress)?;
                Ok(tar.finish().1)
            });
            // the rest (past the compressed stream, or after an error)
            // still counts for the digest
            io::copy(&mut raw, &mut io::sink()).map_err(BlobProblem::Unreadable)?;
            check_digest(desc, raw.finish())?;
            Content::DiffId(diff_id?)
        }
        _ => {
            let mut bytes = Vec::new();
            raw.read_to_end(&mut bytes)
                .map_err(BlobProblem::Unreadable)?;
            check_digest(desc, raw.finish())?;
            Content::Bytes(bytes)
        }
    };
    Ok(content)
}

fn check_digest(desc: &Descriptor, actual: Digest) -> Result<(), BlobProblem> {
    if actual == desc.digest {
        Ok(())
    } else {
        Err(BlobProblem::Digest { actual })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256;
    use crate::oci::{
        canonical_json, MEDIA_TYPE_CONFIG, MEDIA_TYPE_INDEX, MEDIA_TYPE_LAYER_GZIP,
        MEDIA_TYPE_LAYER_TAR, MEDIA_TYPE_LAYER_ZSTD, MEDIA_TYPE_MANIFEST,
    };
    use std::io::Write;

    fn tar_of(name: &str, content: &[u8]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, content).unwrap();
        b.into_inner().unwrap()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        w.write_all(bytes).unwrap();
        w.finish().unwrap()
    }

    fn put(layout: &Layout, media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor::new(
            media_type,
            layout.put_blob(bytes).unwrap(),
            bytes.len() as u64,
        )
    }

    fn put_json(layout: &Layout, media_type: &str, value: serde_json::Value) -> Descriptor {
        put(layout, media_type, &canonical_json(&value).unwrap())
    }

    /// The blobs of a three-layer image (two-member gzip, zstd, plain tar)
    /// under a nested index, tagged `t`; config diff_ids from `diff_ids`
    /// (given the right ones). Returns the index, manifest, config and layers.
    fn image_with(
        layout: &Layout,
        diff_ids: impl FnOnce(Vec<Digest>) -> Vec<Digest>,
    ) -> (Descriptor, Descriptor, Descriptor, Vec<Descriptor>) {
        let tars = [
            tar_of("a", b"first"),
            tar_of("b", b"second"),
            tar_of("c", b"third"),
        ];
        // two gzip members, one after the other, as parallel compressors write
        let half = tars[0].len() / 2;
        let multi = [gzip(&tars[0][..half]), gzip(&tars[0][half..])].concat();
        let layers = vec![
            put(layout, MEDIA_TYPE_LAYER_GZIP, &multi),
            put(
                layout,
                MEDIA_TYPE_LAYER_ZSTD,
                &zstd::encode_all(&tars[1][..], 3).unwrap(),
            ),
            put(layout, MEDIA_TYPE_LAYER_TAR, &tars[2]),
        ];
        let ids = diff_ids(tars.iter().map(|t| sha256(t)).collect());
        let config = put_json(
            layout,
            MEDIA_TYPE_CONFIG,
            serde_json::json!({
                "architecture": "amd64", "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": ids},
            }),
        );
        let manifest = put_json(
            layout,
            MEDIA_TYPE_MANIFEST,
            serde_json::json!({
                "schemaVersion": 2, "mediaType": MEDIA_TYPE_MANIFEST,
                "config": config, "layers": layers,
            }),
        );
        let index = put_json(
            layout,
            MEDIA_TYPE_INDEX,
            serde_json::json!({
                "schemaVersion": 2, "mediaType": MEDIA_TYPE_INDEX, "manifests": [manifest],
            }),
        );
        layout.tag(&index, "t").unwrap();
        (index, manifest, config, layers)
    }

    fn image(layout: &Layout) -> (Descriptor, Descriptor, Descriptor, Vec<Descriptor>) {
        image_with(layout, |ids| ids)
    }

    /// The blobs with a problem: (digest, role, problem text).
    fn problems(report: &FsckReport) -> Vec<(Digest, BlobRole, String)> {
        report
            .problems()
            .map(|b| {
                let p = b.problem.as_ref().unwrap();
                (b.digest.clone(), b.role.clone(), p.to_string())
            })
            .collect()
    }

    fn flip_byte(path: &std::path::Path, at: usize) {
        let mut bytes = fs::read(path).unwrap();
        bytes[at] ^= 0x01;
        fs::write(path, bytes).unwrap();
    }

    #[test]
    fn a_good_layout_passes_and_lists_what_nothing_reaches() {
        let dir = tempfile::tempdir().unwrap();
        let l = Layout::create(dir.path()).unwrap();
        let (index, manifest, config, layers) = image(&l);
        let stray = l.put_blob(b"nobody's").unwrap();
        let report = l.fsck().unwrap();
        assert!(report.is_clean(), "{report}");
        let roles: Vec<(Digest, BlobRole)> = report
            .blobs
            .iter()
            .map(|b| (b.digest.clone(), b.role.clone()))
            .collect();
        let mut want = vec![
            (index.digest, BlobRole::Index),
            (manifest.digest, BlobRole::Manifest),
            (config.digest, BlobRole::Config),
        ];
        for (n, layer) in layers.iter().enumerate() {
            want.push((layer.digest.clone(), BlobRole::Layer(n)));
        }
        assert_eq!(roles, want);
        assert_eq!(report.unreferenced, [stray.to_string()]);
        assert!(report.to_string().contains("layer 1 sha256:"), "{report}");
    }

    #[test]
    fn a_flipped_byte_names_its_blob() {
        for victim in [
            "index", "manifest", "config", "layer 0", "layer 1", "layer 2",
        ] {
            let dir = tempfile::tempdir().unwrap();
            let l = Layout::create(dir.path()).unwrap();
            let (index, manifest, config, layers) = image(&l);
            let (desc, role) = match victim {
                "index" => (index, BlobRole::Index),
                "manifest" => (manifest, BlobRole::Manifest),
                "config" => (config, BlobRole::Config),
                layer => {
                    let n: usize = layer[6..].parse().unwrap();
                    (layers[n].clone(), BlobRole::Layer(n))
                }
            };
            let path = l.blob_path(&desc.digest);
            flip_byte(&path, desc.size as usize / 2);
            let actual = sha256(&fs::read(&path).unwrap());
            let report = l.fsck().unwrap();
            assert_eq!(
                problems(&report),
                [(
                    desc.digest,
                    role,
                    format!("the content has digest {actual}")
                )],
                "{victim}: {report}"
            );
        }
    }

    #[test]
    fn a_flipped_byte_in_index_json_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let l = Layout::create(dir.path()).unwrap();
        let (index, ..) = image(&l);
        let path = dir.path().join("index.json");
        let text = fs::read_to_string(&path).unwrap();
        // in the digest of its entry: that blob is now missing
        let digest = index.digest.to_string();
        let at = text.find(&digest).unwrap() + digest.len() - 1;
        flip_byte(&path, at);
        let wrong: Digest = format!("{}{}", &digest[..digest.len() - 1], {
            let last = digest.as_bytes()[digest.len() - 1];
            (last ^ 0x01) as char
        })
        .parse()
        .expect("this digest's last digit flips to another hex digit");
        let report = l.fsck().unwrap();
        assert_eq!(
            problems(&report),
            [(wrong, BlobRole::Index, "the blob is missing".to_string())],
            "{report}"
        );
        // in its syntax: index.json is named
        fs::write(&path, text.replacen('{', "[", 1)).unwrap();
        let err = l.fsck().unwrap_err();
        let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(
            chain.contains(&format!("parsing {}", path.display())),
            "{chain}"
        );
    }

    #[test]
    fn a_wrong_diff_id_names_the_layer() {
        let dir = tempfile::tempdir().unwrap();
        let l = Layout::create(dir.path()).unwrap();
        let bogus = sha256(b"not the tar");
        let (.., layers) = image_with(&l, |mut ids| {
            ids[1] = bogus.clone();
            ids
        });
        let actual = sha256(&tar_of("b", b"second"));
        let report = l.fsck().unwrap();
        assert_eq!(
            problems(&report),
            [(
                layers[1].digest.clone(),
                BlobRole::Layer(1),
                format!(
                    "the uncompressed layer has digest {actual}, the config's diff_id is {bogus}"
                )
            )],
            "{report}"
        );
    }

    #[test]
    fn missing_symlinked_and_resized_blobs_are_caught() {
        let dir = tempfile::tempdir().unwrap();
        let l = Layout::create(dir.path()).unwrap();
        let (_, _, config, layers) = image(&l);
        fs::remove_file(l.blob_path(&config.digest)).unwrap();
        // a symlink to an exact copy: only what it is gives it away
        let elsewhere = tempfile::tempdir().unwrap();
        let copy = elsewhere.path().join("copy");
        let linked = l.blob_path(&layers[0].digest);
        fs::copy(&linked, &copy).unwrap();
        fs::remove_file(&linked).unwrap();
        std::os::unix::fs::symlink(&copy, &linked).unwrap();
        let grown = l.blob_path(&layers[2].digest);
        fs::OpenOptions::new()
            .append(true)
            .open(&grown)
            .unwrap()
            .write_all(b"x")
            .unwrap();
        let report = l.fsck().unwrap();
        let size = layers[2].size;
        assert_eq!(
            problems(&report),
            [
                (
                    config.digest,
                    BlobRole::Config,
                    "the blob is missing".to_string()
                ),
                (
                    layers[0].digest.clone(),
                    BlobRole::Layer(0),
                    "the blob is a symlink, not a regular file".to_string()
                ),
                (
                    layers[2].digest.clone(),
                    BlobRole::Layer(2),
                    format!(
                        "the blob has {} bytes, its descriptor says {size}",
                        size + 1
                    )
                ),
            ],
            "{report}"
        );
    }

    #[test]
    fn the_layout_version_must_be_1_0_0() {
        let dir = tempfile::tempdir().unwrap();
        let l = Layout::create(dir.path()).unwrap();
        fs::write(
            dir.path().join("oci-layout"),
            br#"{"imageLayoutVersion":"2.0.0"}"#,
        )
        .unwrap();
        let err = l.fsck().unwrap_err();
        assert!(
            matches!(&err, FsckError::LayoutVersion { found: Some(v), .. } if v == "2.0.0"),
            "{err}"
        );
    }
}
