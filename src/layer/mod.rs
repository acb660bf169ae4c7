//! Layers: one normalizing tar writer for every layer, compressed and hashed
//! in one pass, and streaming ADD of local archives.
//!
//! The stack, one pass over the bytes:
//! `tar encoder → HashingWriter (diff_id) → compressor → HashingWriter (digest, size) → sink`.
//! Every header goes through [`normalize`]; [`writer`] keeps a layer free of
//! repeated paths and emits missing parents; [`archive`] reads local archives
//! (decompressed in their own thread) as entries; [`compress`] runs the
//! compressor beside the tar encoder so that the two cores overlap.

mod archive;
mod compress;
mod gzip;
pub mod names;
mod normalize;
mod read;
mod resolve;
mod writer;

pub use archive::{
    detect_archive, detect_archive_in, ArchiveFormat, ArchiveLimits, MAX_HEADER_BYTES,
};
pub(crate) use normalize::is_host_xattr;
pub use read::{known_layer_type, uncompressed};
pub use resolve::{resolve_path, DirMeta, Lower, LowerFs, PathKind, ResolveError, MAX_LINKS};

use crate::context::ContextFile;
use crate::digest::Digest;
use crate::oci;
use std::path::PathBuf;

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip (written in parallel blocks, as pigz does), level 0..=9.
    Gzip {
        /// 0..=9.
        level: u32,
    },
    /// zstd, level 1..=22.
    Zstd {
        /// 1..=22 (negative levels are zstd's fast modes).
        level: i32,
    },
}

impl Compression {
    /// The OCI media type of a layer compressed this way.
    pub fn media_type(&self) -> &'static str {
        match self {
            Compression::None => oci::MEDIA_TYPE_LAYER_TAR,
            Compression::Gzip { .. } => oci::MEDIA_TYPE_LAYER_GZIP,
            Compression::Zstd { .. } => oci::MEDIA_TYPE_LAYER_ZSTD,
        }
    }

    /// "gzip" | "zstd" | "none" with an optional level (None = default:
    /// gzip 6, zstd 3).
    pub fn parse(name: &str, level: Option<i32>) -> Result<Compression, LayerError> {
        let bad_level = |level: i32| LayerError::BadCompression {
            name: name.to_string(),
            reason: format!("level {level} is out of range"),
        };
        match name {
            "gzip" => match level {
                None => Ok(Compression::Gzip { level: 6 }),
                Some(l @ 0..=9) => Ok(Compression::Gzip { level: l as u32 }),
                Some(l) => Err(bad_level(l)),
            },
            "zstd" => match level {
                None => Ok(Compression::Zstd { level: 3 }),
                Some(l) if zstd::compression_level_range().contains(&l) => {
                    Ok(Compression::Zstd { level: l })
                }
                Some(l) => Err(bad_level(l)),
            },
            "none" | "uncompressed" => match level {
                None => Ok(Compression::None),
                Some(l) => Err(LayerError::BadCompression {
                    name: name.to_string(),
                    reason: format!("an uncompressed layer takes no level (got {l})"),
                }),
            },
            _ => Err(LayerError::BadCompression {
                name: name.to_string(),
                reason: "expected gzip, zstd or none".to_string(),
            }),
        }
    }
}

impl Default for Compression {
    fn default() -> Self {
        Compression::Gzip { level: 6 }
    }
}

/// What a written layer is: the values a manifest and a config need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerDesc {
    /// `sha256:` of the blob as stored (compressed).
    pub digest: Digest,
    /// `sha256:` of the uncompressed tar.
    pub diff_id: Digest,
    /// Size of the blob in bytes.
    pub size: u64,
    /// The blob's media type.
    pub media_type: String,
    /// Number of tar entries in the layer (synthesized parents included).
    pub entries: u64,
}

/// Why a layer could not be written. Each message names the entry, file or
/// archive concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayerError {
    /// An unknown compression or a level out of range.
    #[error("compression {name}: {reason}")]
    BadCompression {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An I/O error while doing `what`.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, e.g. "reading file /ctx/a".
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A path that cannot go into a layer: `..` components, whiteouts, etc.
    #[error("{context}entry {}: {reason}", names::shown(.path))]
    BadPath {
        /// "archive <name>: " when the entry comes from an archive, else empty.
        context: String,
        /// The path as given.
        path: String,
        /// Why it is refused.
        reason: String,
    },
    /// A hard link whose target is not an earlier entry of the same archive.
    #[error("archive {archive}: entry {}: hard link to {}, which is not in the archive", names::shown(.path), names::shown(.target))]
    HardlinkOutside {
        /// The archive's file name.
        archive: String,
        /// The link.
        path: String,
        /// Where it points.
        target: String,
    },
    /// A corrupt or truncated archive.
    #[error("archive {archive}: {what}: {source}")]
    Archive {
        /// The archive's file name.
        archive: String,
        /// What was being read, e.g. "reading entry usr/bin/ls".
        what: String,
        /// The error from the decompressor or the tar reader.
        #[source]
        source: std::io::Error,
    },
    /// A file given by path that is not an archive.
    #[error("archive {archive}: not a tar archive (nor gzip, bzip2, xz or zstd)")]
    NotAnArchive {
        /// The file.
        archive: String,
    },
    /// A decompression bomb.
    #[error("archive {archive}: decompresses to more than {limit} bytes ({ratio}× its size of {compressed} bytes); refusing it as a decompression bomb")]
    Bomb {
        /// The archive's file name.
        archive: String,
        /// Its size on disk.
        compressed: u64,
        /// The ratio allowed.
        ratio: u64,
        /// The number of decompressed bytes at which reading stopped.
        limit: u64,
    },
    /// Extended headers (PAX records, GNU long names) too large to hold.
    #[error("archive {archive}: the extended headers (PAX, GNU long name) of the entry after {after} take more than {limit} bytes; refusing them")]
    HeaderTooLarge {
        /// The archive's file name.
        archive: String,
        /// The last entry read before them ("the start" for the first).
        after: String,
        /// The limit, [`MAX_HEADER_BYTES`].
        limit: u64,
    },
    /// A file whose content does not have the size its entry says.
    #[error("entry {}: expected {expected} bytes of content, found {found}", names::shown(.path))]
    SizeMismatch {
        /// The entry.
        path: String,
        /// The size in the entry.
        expected: u64,
        /// The size found.
        found: u64,
    },
    /// The compressor failed.
    #[error("compressing layer: {0}")]
    Compress(String),
}

/// One entry of a layer, before normalization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path in the image (absolute or relative; `./` and `/` are stripped).
    pub path: String,
    /// What the entry is.
    pub kind: EntryKind,
    /// Permission bits with setuid/setgid/sticky (`0o7777`); the file type
    /// comes from `kind`.
    pub mode: u32,
    /// Numeric owner.
    pub uid: u64,
    /// Numeric group.
    pub gid: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// Extended attributes, e.g. `security.capability`.
    pub xattrs: Vec<(String, Vec<u8>)>,
}

/// The type of an [`Entry`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryKind {
    /// A regular file of `size` bytes.
    File {
        /// Content length.
        size: u64,
    },
    /// A directory.
    Dir,
    /// A symbolic link; the target is kept verbatim.
    Symlink {
        /// The link's target.
        target: String,
    },
    /// A hard link to an earlier entry of the layer.
    Hardlink {
        /// The path of the linked entry.
        target: String,
    },
    /// A character device.
    Char {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// A block device.
    Block {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// A named pipe.
    Fifo,
}

/// Where a file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// No content (anything but a regular file, or an empty file).
    None,
    /// A file on disk of minibuild's own (extracted from another image),
    /// read when the layer is written.
    Path(PathBuf),
    /// A file of the build context, read when the layer is written from
    /// the context's root descriptor, never through a symbolic link, and
    /// only if it is still the file that was planned.
    Context(ContextFile),
    /// Bytes in memory (heredocs, small generated files).
    Bytes(Vec<u8>),
}

/// A file a layer reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRef {
    /// A path of minibuild's own, or one the library's caller gives.
    Path(PathBuf),
    /// A file of the build context, as it was planned (see [`Data::Context`]).
    Context(ContextFile),
}

impl FileRef {
    /// Opens it for reading.
    pub fn open(&self) -> std::io::Result<std::fs::File> {
        match self {
            FileRef::Path(p) => std::fs::File::open(p),
            FileRef::Context(c) => c.open(),
        }
    }

    /// Its name, for messages.
    pub fn name(&self) -> String {
        match self {
            FileRef::Path(p) => p.display().to_string(),
            FileRef::Context(c) => c.real().to_string(),
        }
    }
}

impl From<PathBuf> for FileRef {
    fn from(p: PathBuf) -> FileRef {
        FileRef::Path(p)
    }
}

/// One thing an ADD/COPY puts into a layer, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A single entry (file from the context, directory, symlink, heredoc...).
    Entry(Entry, Data),
    /// A local archive, unpacked under `dest_dir` (e.g. "/" or "/opt/sub").
    Archive {
        /// The archive file (tar, or tar compressed with gzip, bzip2, xz, zstd).
        file: FileRef,
        /// Where it is unpacked in the image.
        dest_dir: String,
        /// Owner and group overriding the archive's (`ADD --chown`).
        chown: Option<(u64, u64)>,
        /// The filesystem below the layer, whose symlinks the entries'
        /// parents are resolved through.
        lower: Lower,
    },
}

/// How to write a layer.
#[derive(Debug, Clone, Default)]
pub struct LayerOptions {
    /// The blob's compression.
    pub compression: Compression,
    /// Clamp every mtime to this (SOURCE_DATE_EPOCH).
    pub clamp_mtime: Option<i64>,
    /// Where progress goes (a COPY of many files, an archive read by ADD).
    pub events: crate::events::Events,
}

/// Writes `sources` into one layer blob. `sink` is called to get a fresh sink (it may be
/// called again if the layer must be rewritten, e.g. when duplicate paths force a second
/// pass); the returned W is the sink that holds the final layer.
pub fn write_layer<W: std::io::Write>(
    sources: &[Source],
    sink: impl FnMut() -> std::io::Result<W>,
    opts: &LayerOptions,
) -> Result<(LayerDesc, W), LayerError> {
    write_layer_with_limits(sources, sink, opts, &ArchiveLimits::default())
}

/// [`write_layer`] with explicit limits against decompression bombs.
pub fn write_layer_with_limits<W: std::io::Write>(
    sources: &[Source],
    mut sink: impl FnMut() -> std::io::Result<W>,
    opts: &LayerOptions,
    limits: &ArchiveLimits,
) -> Result<(LayerDesc, W), LayerError> {
    let open_sink = |sink: &mut dyn FnMut() -> std::io::Result<W>| {
        sink().map_err(|source| LayerError::Io {
            what: "opening the layer's sink".to_string(),
            source,
        })
    };
    let desc = |entries: u64, h: compress::Hashes| LayerDesc {
        digest: h.digest,
        diff_id: h.diff_id,
        size: h.size,
        media_type: opts.compression.media_type().to_string(),
        entries,
    };
    let first = open_sink(&mut sink)?;
    let (outcome, hashes, out) = compress::run_pass(first, opts.compression, |tar| {
        writer::write_sources(tar, sources, opts, limits, None)
    })?;
    let plan = match outcome {
        writer::PassOutcome::Done { entries } => return Ok((desc(entries, hashes), out)),
        writer::PassOutcome::Duplicates(plan) => plan,
    };
    // Duplicate paths: the first pass learned which occurrence of each
    // repeated path survives; write again into a fresh sink.
    drop(out);
    let second = open_sink(&mut sink)?;
    let (outcome, hashes, out) = compress::run_pass(second, opts.compression, |tar| {
        writer::write_sources(tar, sources, opts, limits, Some(&plan))
    })?;
    match outcome {
        writer::PassOutcome::Done { entries } => Ok((desc(entries, hashes), out)),
        writer::PassOutcome::Duplicates(_) => Err(LayerError::Compress(
            "duplicate paths remained after the second pass".to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_compression() {
        assert_eq!(
            Compression::parse("gzip", None).unwrap(),
            Compression::Gzip { level: 6 }
        );
        assert_eq!(
            Compression::parse("zstd", None).unwrap(),
            Compression::Zstd { level: 3 }
        );
        assert_eq!(
            Compression::parse("zstd", Some(19)).unwrap(),
            Compression::Zstd { level: 19 }
        );
        assert_eq!(Compression::parse("none", None).unwrap(), Compression::None);
        let cases: &[(&str, Option<i32>, &str)] = &[
            (
                "gzip",
                Some(10),
                "compression gzip: level 10 is out of range",
            ),
            (
                "gzip",
                Some(-1),
                "compression gzip: level -1 is out of range",
            ),
            (
                "zstd",
                Some(99),
                "compression zstd: level 99 is out of range",
            ),
            ("lz4", None, "compression lz4: expected gzip, zstd or none"),
            (
                "none",
                Some(3),
                "compression none: an uncompressed layer takes no level (got 3)",
            ),
        ];
        for (name, level, msg) in cases {
            let err = Compression::parse(name, *level).unwrap_err();
            assert_eq!(err.to_string(), *msg);
        }
    }

    #[test]
    fn media_types() {
        assert_eq!(
            Compression::default().media_type(),
            oci::MEDIA_TYPE_LAYER_GZIP
        );
        assert_eq!(
            Compression::Zstd { level: 3 }.media_type(),
            oci::MEDIA_TYPE_LAYER_ZSTD
        );
        assert_eq!(Compression::None.media_type(), oci::MEDIA_TYPE_LAYER_TAR);
    }
}

#[cfg(test)]
mod known_digests {
    use super::*;

    fn sources() -> Vec<Source> {
        let entry = |path: &str, kind, mode| Entry {
            path: path.to_string(),
            kind,
            mode,
            uid: 0,
            gid: 0,
            mtime: 1_700_000_000,
            xattrs: Vec::new(),
        };
        vec![
            Source::Entry(entry("/app", EntryKind::Dir, 0o755), Data::None),
            Source::Entry(
                entry("/app/hello", EntryKind::File { size: 3 }, 0o644),
                Data::Bytes(b"hi\n".to_vec()),
            ),
        ]
    }

    /// The uncompressed layer is pinned byte for byte: a change in the
    /// normalizer shows up here first.
    #[test]
    fn uncompressed_layer_is_pinned() {
        let opts = LayerOptions {
            compression: Compression::None,
            ..LayerOptions::default()
        };
        let (desc, blob) = write_layer(&sources(), || Ok(Vec::new()), &opts).unwrap();
        assert_eq!(blob.len(), 512 * 5);
        assert_eq!(desc.digest, desc.diff_id);
        assert_eq!(desc.entries, 2);
        assert_eq!(desc.diff_id.to_string(), PINNED);
    }

    #[test]
    fn compressed_layers_share_the_diff_id() {
        for compression in [
            Compression::Gzip { level: 6 },
            Compression::Zstd { level: 3 },
        ] {
            let opts = LayerOptions {
                compression,
                ..LayerOptions::default()
            };
            let (desc, blob) = write_layer(&sources(), || Ok(Vec::new()), &opts).unwrap();
            assert_eq!(desc.diff_id.to_string(), PINNED);
            assert_eq!(desc.digest, crate::digest::sha256(&blob));
            assert_ne!(desc.digest.to_string(), PINNED);
        }
    }

    /// Checked against Python's tarfile (USTAR format, blank owner names):
    /// the same bytes, except that Python leaves devmajor/devminor of
    /// non-device entries NUL where we write octal zeros.
    const PINNED: &str = "sha256:883cbaf365dbfae085a757cd595483b7b1318794f44a8b54406ee1d84dbe2415";
}
