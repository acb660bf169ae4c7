//! The shapes `--format json` prints, one struct per output. Keys are
//! snake_case, sizes are bytes, digests are `sha256:<hex>`, layers are
//! numbered from 0 (bottom first), paths are absolute (`/etc/passwd`).
//! These are documented in the README ("Learn how an image is made") and
//! only ever grow: a key, once printed, keeps its name and meaning.

use crate::digest::Digest;
use serde::Serialize;

/// A blob as a descriptor names it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BlobRef {
    /// Its media type.
    pub media_type: String,
    /// `sha256:<hex>` of its bytes.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// One image an index lists.
#[derive(Debug, Clone, Serialize)]
pub struct IndexEntry {
    /// `os/arch[/variant]`, or `null` when the entry says none.
    pub platform: Option<String>,
    /// The manifest (or nested index) it points to.
    #[serde(flatten)]
    pub blob: BlobRef,
}

/// The index a source names, when it names one.
#[derive(Debug, Clone, Serialize)]
pub struct IndexSummary {
    /// The index blob.
    #[serde(flatten)]
    pub blob: BlobRef,
    /// What it lists.
    pub manifests: Vec<IndexEntry>,
}

/// One layer of a manifest, as `inspect` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct LayerSummary {
    /// From 0, bottom first.
    pub index: usize,
    /// The compressed blob.
    #[serde(flatten)]
    pub blob: BlobRef,
    /// The config's `rootfs.diff_ids` entry (the uncompressed tar's sha256).
    pub diff_id: Option<Digest>,
    /// The history entry that made it (the Dockerfile step), if the config says.
    pub created_by: Option<String>,
}

/// One config history entry.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    /// When.
    pub created: Option<String>,
    /// The step (`COPY hello / # buildkit`, `CMD ["/hello"]`).
    pub created_by: Option<String>,
    /// True when the step made no layer (a config edit).
    pub empty_layer: bool,
    /// The layer it made (its index), when it made one.
    pub layer: Option<usize>,
}

/// `minibuild inspect SOURCE --format json`.
#[derive(Debug, Clone, Serialize)]
pub struct ImageSummary {
    /// The source as given.
    pub source: String,
    /// What the name points to in `index.json` (or the registry).
    pub entry: BlobRef,
    /// The index the name points to, when it is one.
    pub index: Option<IndexSummary>,
    /// The manifest shown (picked by platform from an index).
    pub manifest: BlobRef,
    /// `os/arch[/variant]` from the config.
    pub platform: String,
    /// The config blob.
    pub config: BlobRef,
    /// The config's `created`.
    pub created: Option<String>,
    /// The config's `config` object as stored (Entrypoint, Cmd, Env...).
    pub runtime: serde_json::Value,
    /// The layers, bottom first.
    pub layers: Vec<LayerSummary>,
    /// The config's history, oldest first.
    pub history: Vec<HistoryEntry>,
    /// The artifacts the layout holds about the manifest shown (SBOM,
    /// provenance: `subject` is this manifest).
    pub referrers: Vec<Referrer>,
}

/// An artifact about an image.
#[derive(Debug, Clone, Serialize)]
pub struct Referrer {
    /// What it holds (`application/spdx+json`, `application/vnd.in-toto+json`).
    #[serde(rename = "artifactType")]
    pub artifact_type: String,
    /// Its manifest's digest.
    pub digest: Digest,
    /// Its manifest's size.
    pub size: u64,
}

/// What one tar entry of a layer does to the image's filesystem.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// A path no lower layer has.
    Added,
    /// A path a lower layer has (`replaces` names that layer).
    Modified,
    /// A whiteout (`.wh.NAME`) or an opaque directory marker (`.wh..wh..opq`).
    Removed,
}

/// One tar entry of a layer.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The path, absolute, as the entry names it (a whiteout keeps its `.wh.` name).
    pub path: String,
    /// `file`, `dir`, `symlink`, `hardlink`, `char`, `block`, `fifo` or `other`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Permission bits with setuid/setgid/sticky (`0o755` is 493).
    pub mode: u32,
    /// Owner.
    pub uid: u64,
    /// Group.
    pub gid: u64,
    /// Content bytes (0 for all but regular files).
    pub size: u64,
    /// A symlink's or hard link's target.
    pub link: Option<String>,
    /// added, modified or removed.
    pub change: Change,
    /// For `modified`: the layer whose entry this one replaces.
    pub replaces: Option<usize>,
    /// For `removed`: the path removed (a whiteout's victim, or the
    /// directory an opaque marker empties of its lower contents).
    pub removes: Option<String>,
    /// For `removed`: true for an opaque directory marker.
    pub opaque: bool,
    /// For `removed`: the lower layers' entries it hides.
    pub removed_entries: usize,
    /// A later layer that hides this entry (replaces or removes it), if any.
    pub hidden_by: Option<usize>,
}

/// One layer with its files.
#[derive(Debug, Clone, Serialize)]
pub struct LayerFiles {
    /// From 0, bottom first.
    pub index: usize,
    /// The history entry that made it.
    pub created_by: Option<String>,
    /// The blob's media type.
    pub media_type: String,
    /// The compressed blob's digest.
    pub digest: Digest,
    /// The config's diff_id for it.
    pub diff_id: Option<Digest>,
    /// The blob's size.
    pub compressed_size: u64,
    /// The uncompressed tar's size.
    pub uncompressed_size: u64,
    /// All its tar entries.
    pub entry_count: usize,
    /// Entries added, modified, removed.
    pub added: usize,
    /// See `added`.
    pub modified: usize,
    /// See `added`.
    pub removed: usize,
    /// Bytes of this layer's files that later layers hide.
    pub wasted_bytes: u64,
    /// The entries listed (all, or those `--path` matched), in tar order.
    pub entries: Vec<Entry>,
}

impl LayerFiles {
    /// A layer before its tar is read: no entries, every count zero.
    pub fn unread(n: usize, digest: Digest, media_type: String, compressed_size: u64) -> Self {
        LayerFiles {
            index: n,
            created_by: None,
            media_type,
            digest,
            diff_id: None,
            compressed_size,
            uncompressed_size: 0,
            entry_count: 0,
            added: 0,
            modified: 0,
            removed: 0,
            wasted_bytes: 0,
            entries: Vec::new(),
        }
    }
}

/// A path that more than one layer writes (dive's "inefficiencies").
#[derive(Debug, Clone, Serialize)]
pub struct Inefficiency {
    /// The path.
    pub path: String,
    /// How many layers write (or remove) it.
    pub count: usize,
    /// The bytes of all those copies together.
    pub cumulative_size: u64,
}

/// Figures for the whole image.
#[derive(Debug, Clone, Serialize)]
pub struct ImageTotals {
    /// The layers' blobs.
    pub compressed_size: u64,
    /// The layers' tars.
    pub uncompressed_size: u64,
    /// The regular files' bytes in all layers.
    pub files_size: u64,
    /// Bytes of files hidden by later layers (replaced or removed).
    pub wasted_bytes: u64,
    /// dive's efficiency score: for every path, the smallest copy over all
    /// copies, summed (1.0: nothing is written twice).
    pub efficiency: f64,
    /// Paths written by more than one layer, biggest first.
    pub inefficiencies: Vec<Inefficiency>,
}

/// `minibuild inspect --layers SOURCE --format json`.
#[derive(Debug, Clone, Serialize)]
pub struct LayersReport {
    /// The source as given.
    pub source: String,
    /// The manifest shown.
    pub manifest: Digest,
    /// `os/arch[/variant]`.
    pub platform: String,
    /// The `--path` glob, if one was given.
    pub path_filter: Option<String>,
    /// The layers, bottom first.
    pub layers: Vec<LayerFiles>,
    /// Figures for the whole image.
    pub totals: ImageTotals,
}

/// One file of a layout, as `inspect --tree` draws it.
#[derive(Debug, Clone, Serialize)]
pub struct TreeFile {
    /// Its path in the layout (`blobs/sha256/<hex>`, `index.json`).
    pub path: String,
    /// Its size on disk.
    pub size: u64,
    /// The sha256 of a blob or archive member (`null` for other files).
    pub digest: Option<Digest>,
    /// What it is: `oci-layout`, `index.json`, `index`, `manifest`,
    /// `config`, `layer`, `unreferenced`, or another file of the archive.
    pub role: String,
    /// Said with the role: the platform of a manifest, which manifest a
    /// config or layer belongs to, `layer 2`.
    pub label: String,
}

/// A reference from one blob to another.
#[derive(Debug, Clone, Serialize)]
pub struct TreeEdge {
    /// `index.json`, or a blob's digest.
    pub from: String,
    /// The blob referenced.
    pub to: Digest,
    /// How: `manifest`, `config`, `layer 0`, `ref hello:latest`.
    pub label: String,
}

/// `minibuild inspect --tree SOURCE --format json`.
#[derive(Debug, Clone, Serialize)]
pub struct LayoutTree {
    /// The source as given.
    pub source: String,
    /// The directory (or archive) drawn.
    pub root: String,
    /// Its files, sorted by path.
    pub files: Vec<TreeFile>,
    /// The references, from `index.json` down.
    pub edges: Vec<TreeEdge>,
}

/// One blob `verify` checked.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedBlob {
    /// `index`, `manifest`, `config`, `layer 0`, ...
    pub role: String,
    /// Its digest.
    pub digest: Digest,
    /// True when size, digest (and a layer's diff_id) check out.
    pub ok: bool,
    /// What is wrong, when something is.
    pub problem: Option<String>,
}

/// `minibuild verify SOURCE --format json`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The source as given.
    pub source: String,
    /// True when every blob checked out.
    pub ok: bool,
    /// Every blob reached, referencing blobs before the ones they reference.
    pub blobs: Vec<VerifiedBlob>,
    /// Problems that belong to no blob (an archive member named for
    /// another digest).
    pub other_problems: Vec<String>,
    /// Blobs nothing references (not an error).
    pub unreferenced: Vec<String>,
}
