//! What [`Layout::fsck`](super::super::Layout::fsck) reports: each blob it
//! reached, what that blob is to its images, and what is wrong with it.

use super::super::error::DestError;
use crate::digest::Digest;
use std::fmt;
use std::io;
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
