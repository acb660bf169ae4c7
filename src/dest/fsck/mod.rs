//! Checking a layout end to end: [`Layout::fsck`] walks `index.json` to
//! every blob it reaches and says, blob by blob, whether it is what its
//! descriptor claims.
//!
//! A blob is checked as a regular file (a symlink is never followed), for
//! its size, its sha256 (against its name, which is the descriptor's
//! digest) and, for a layer, the sha256 of its uncompressed tar against the
//! config's `rootfs.diff_ids`. Each blob is read once, in one pass: the
//! compressed bytes are hashed on their way into the decompressor.

mod report;

pub use report::{BlobCheck, BlobProblem, BlobRole, FsckError, FsckReport};

use super::error::DestError;
use super::graph::{is_index, is_manifest, ConfigFile, Index, Manifest};
use super::layout::Layout;
use crate::digest::{Digest, HashingReader, HashingWriter};
use crate::oci::Descriptor;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

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
        let mut report = self.fsck_images(&index.manifests);
        let reached: BTreeSet<String> = report.blobs.iter().map(|b| b.digest.to_string()).collect();
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
        report.unreferenced = unreferenced;
        Ok(report)
    }

    /// Checks the images `entries` reach (index entries: indexes,
    /// manifests, anything else), as [`Layout::fsck`] checks the whole
    /// layout: for one image of a store shared by many. Nothing is
    /// reported unreferenced.
    pub fn fsck_images(&self, entries: &[Descriptor]) -> FsckReport {
        fsck_images_in(self, entries)
    }

    fn check_layout_version(&self) -> Result<(), FsckError> {
        let path = self.root().join("oci-layout");
        let bytes =
            fs::read(&path).map_err(DestError::io(format!("reading {}", path.display())))?;
        check_layout_version(&bytes, path)
    }
}

/// Checks an `oci-layout` file's bytes (read from `path`): version 1.0.0.
pub(crate) fn check_layout_version(bytes: &[u8], path: PathBuf) -> Result<(), FsckError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
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

/// Where a check reads blobs from: a layout's files, an archive's members.
pub trait CheckSource {
    /// The blob `desc` names, opened once it is known to be there as a
    /// regular file of `desc.size` bytes (its bytes not yet hashed).
    fn open_checked(&self, desc: &Descriptor) -> Result<Box<dyn Read + '_>, BlobProblem>;
}

/// Checks the images `entries` reach in `src`, as [`Layout::fsck_images`]
/// does in a layout.
pub fn fsck_images_in(src: &dyn CheckSource, entries: &[Descriptor]) -> FsckReport {
    let mut walk = Walk {
        src,
        report: FsckReport::default(),
        diff_ids: BTreeMap::new(),
        configs: BTreeMap::new(),
    };
    for entry in entries {
        walk.entry(entry);
    }
    walk.report
}

/// The state of one [`Layout::fsck`].
struct Walk<'a> {
    src: &'a dyn CheckSource,
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
        let (problem, content) = match check_blob(self.src, desc, &role) {
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
    raw: &'r mut HashingReader<Box<dyn Read + '_>>,
) -> Result<Box<dyn Read + 'r>, BlobProblem> {
    if !crate::layer::known_layer_type(media_type) {
        return Err(BlobProblem::UnknownLayerType(media_type.to_string()));
    }
    crate::layer::uncompressed(media_type, raw).map_err(BlobProblem::Uncompress)
}

impl CheckSource for Layout {
    fn open_checked(&self, desc: &Descriptor) -> Result<Box<dyn Read + '_>, BlobProblem> {
        let path = self.blob_path(&desc.digest);
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
        Ok(Box::new(file))
    }
}

/// Checks a blob's file, size, digest and (for a layer) uncompresses it.
fn check_blob(
    src: &dyn CheckSource,
    desc: &Descriptor,
    role: &BlobRole,
) -> Result<Content, BlobProblem> {
    let file = src.open_checked(desc)?;
    let mut raw = HashingReader::new(file);
    let content = match role {
        BlobRole::Layer(_) => {
            let diff_id = decoder(&desc.media_type, &mut raw).and_then(|mut d| {
                let mut tar = HashingWriter::new(io::sink());
                crate::digest::copy(&mut d, &mut tar).map_err(BlobProblem::Uncompress)?;
                Ok(tar.finish().1)
            });
            // the rest (past the compressed stream, or after an error)
            // still counts for the digest
            crate::digest::copy(&mut raw, &mut io::sink()).map_err(BlobProblem::Unreadable)?;
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
mod tests;
