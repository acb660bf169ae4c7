//! Push to and pull from a registry over the OCI distribution API.
//!
//! Push: HEAD each blob (skip what the registry has), else POST an upload
//! and PUT the blob monolithically, streamed from its file; then PUT the
//! manifest. Pull: GET the manifest (an index is resolved to the host
//! platform), then each blob, verified against its size and digest while
//! it streams.
//!
//! What a registry sends is not trusted: every request has timeouts,
//! credentials go only to the registry's own origin (never to an upload
//! `Location` or a redirect elsewhere), a blob is read up to its declared
//! size and no further, and a manifest is checked (media types, digests)
//! before anything is tagged.

mod checks;
mod client;
pub mod referrers;

pub use super::options::{Timeouts, TIMEOUT_ENV};
pub use client::base_url;

use super::error::DestError;
use super::graph::{
    image_blobs, is_index, is_manifest, no_platform, pick_platform, Index, Manifest,
};
use super::layout::{BlobWriter, Layout};
use super::options::RegistryOptions;
use crate::digest::Digest;
use crate::events::{seconds_since, Blob, Direction, Event, Meter, Task};
use crate::oci::Descriptor;
use crate::reference::Reference;
use checks::check_manifest;
use client::{Client, ManifestRef};

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// Blobs uploaded.
    pub uploaded: u64,
    /// Blobs the registry already had.
    pub skipped: u64,
    /// Upload sessions started (`POST .../blobs/uploads/`).
    pub posts: u64,
    /// Bytes uploaded.
    pub bytes: u64,
    /// The digest of the pushed manifest, as the registry confirmed it.
    pub digest: Digest,
}

/// What a blob is, for people: `layer`, `config`, `manifest`, `index`.
pub fn blob_kind(media_type: &str) -> &'static str {
    if is_index(media_type) {
        "index"
    } else if is_manifest(media_type) {
        "manifest"
    } else if media_type.contains("config") {
        "config"
    } else {
        "layer"
    }
}

/// Reports one blob transferred (or `skipped`: the other side had it).
fn report_blob(
    opts: &RegistryOptions,
    desc: &Descriptor,
    direction: Direction,
    peer: &Reference,
    skipped: bool,
    started: std::time::Instant,
) {
    opts.events.emit(Event::BlobTransferred(Blob {
        digest: desc.digest.to_string(),
        bytes: if skipped { 0 } else { desc.size },
        direction,
        kind: blob_kind(&desc.media_type),
        peer: peer.full(),
        skipped,
        seconds: seconds_since(started),
    }));
}

/// A meter for moving `desc` (`uploading sha256:ab12… layer`).
fn blob_meter(opts: &RegistryOptions, desc: &Descriptor, task: Task) -> Meter {
    let verb = if task == Task::Upload {
        "pushing"
    } else {
        "pulling"
    };
    let label = format!(
        "{verb} {} {}",
        blob_kind(&desc.media_type),
        desc.digest.short()
    );
    opts.events.meter(task, label, Some(desc.size), None)
}

/// Fetches `desc` into `into` unless it is there; one already there must
/// have the declared size.
fn fetch_blob(
    client: &Client,
    into: &Layout,
    desc: &Descriptor,
    from: &Reference,
    opts: &RegistryOptions,
) -> Result<(), DestError> {
    let started = std::time::Instant::now();
    if !into.has_blob(&desc.digest) {
        let meter = blob_meter(opts, desc, Task::Download);
        client.get_blob(into, desc, &meter)?;
        meter.finish();
        report_blob(opts, desc, Direction::Download, from, false, started);
        return Ok(());
    }
    let path = into.blob_path(&desc.digest);
    let what = format!("checking blob {}", path.display());
    let size = std::fs::metadata(&path)
        .map_err(DestError::io(what.clone()))?
        .len();
    if size != desc.size {
        return Err(DestError::invalid(
            what,
            format!("{size} bytes, the manifest declares {}", desc.size),
        ));
    }
    Ok(())
}

/// Pushes the image `manifest` from `src` to `reference`: blobs the
/// registry lacks, nested manifests by digest, then the manifest under the
/// reference's tag (or digest).
pub fn push(
    src: &Layout,
    manifest: &Descriptor,
    reference: &Reference,
    opts: &RegistryOptions,
) -> Result<PushReport, DestError> {
    let client = Client::connect(reference, opts, "pull,push")?;
    let (mut uploaded, mut skipped, mut posts, mut sent) = (0, 0, 0, 0);
    for blob in image_blobs(src, manifest)? {
        if blob.digest == manifest.digest {
            continue;
        }
        let started = std::time::Instant::now();
        if is_manifest(&blob.media_type) || is_index(&blob.media_type) {
            // an index's image pushed before (index create of images the
            // registry has) is not sent again
            if client.has_manifest(&blob.digest)? {
                continue;
            }
            let bytes = src.read_blob(&blob.digest)?;
            let by_digest = ManifestRef::Digest(blob.digest.clone());
            client.put_manifest(&bytes, &blob.media_type, &by_digest)?;
        } else if client.has_blob(&blob.digest)?
            || client.mount_blob(&blob, &reference.registry, &opts.mount_from)?
        {
            report_blob(opts, &blob, Direction::Upload, reference, true, started);
            skipped += 1;
        } else {
            posts += 1;
            let meter = blob_meter(opts, &blob, Task::Upload);
            sent += client.upload_blob(src, &blob, &meter)?;
            meter.finish();
            report_blob(opts, &blob, Direction::Upload, reference, false, started);
            uploaded += 1;
        }
    }
    let bytes = src.read_blob(&manifest.digest)?;
    let started = std::time::Instant::now();
    let digest = client.put_manifest(&bytes, &manifest.media_type, &ManifestRef::of(reference))?;
    report_blob(opts, manifest, Direction::Upload, reference, false, started);
    Ok(PushReport {
        uploaded,
        skipped,
        posts,
        bytes: sent,
        digest,
    })
}

/// Pulls `reference` into `into` (the host-platform image when it names an
/// index) and returns the manifest's descriptor. Blobs already in `into`
/// are not fetched again. Nothing is tagged here; the manifest blob is
/// stored only once its config and layers checked out.
pub fn pull(
    reference: &Reference,
    into: &Layout,
    opts: &RegistryOptions,
) -> Result<Descriptor, DestError> {
    Ok(pull_image(reference, into, opts, false)?.manifest)
}

/// What [`pull_image`] brought in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// The index the reference named, when it named one (the outermost;
    /// stored in `into` only when asked to keep indexes).
    pub index: Option<Descriptor>,
    /// The manifest picked for the platform, with its config and layers.
    pub manifest: Descriptor,
}

/// [`pull`], also saying which index (if any) the reference named; with
/// `keep_indexes` the index blobs are stored in `into` too (`inspect`
/// lists the platforms they name; a store keeps only what it tags).
pub fn pull_image(
    reference: &Reference,
    into: &Layout,
    opts: &RegistryOptions,
    keep_indexes: bool,
) -> Result<Pulled, DestError> {
    let client = Client::connect(reference, opts, "pull")?;
    let mut wanted = ManifestRef::of(reference);
    let mut entry: Option<Descriptor> = None;
    let mut outer: Option<Descriptor> = None;
    let platform = opts.platform();
    for _ in 0..4 {
        let (bytes, media_type, digest) = client.get_manifest(&wanted, entry.as_ref())?;
        if is_index(&media_type) {
            let index: Index = serde_json::from_slice(&bytes)
                .map_err(DestError::json(format!("parsing index {digest}")))?;
            let picked = pick_platform(&index.manifests, &platform)
                .ok_or_else(|| no_platform(&digest, &index.manifests, &platform))?;
            if keep_indexes {
                into.put_blob(&bytes)?;
            }
            outer.get_or_insert_with(|| Descriptor::new(&media_type, digest, bytes.len() as u64));
            wanted = ManifestRef::Digest(picked.digest.clone());
            entry = Some(picked);
            continue;
        }
        fetch_manifest_blobs(&client, into, &bytes, &digest, reference, opts)?;
        into.put_blob(&bytes)?;
        return Ok(Pulled {
            index: outer,
            manifest: Descriptor::new(&media_type, digest, bytes.len() as u64),
        });
    }
    Err(DestError::invalid(
        format!("pulling {}", reference.full()),
        "indexes nested too deeply",
    ))
}

/// The image manifest `reference` names, checked, with only its config
/// fetched into `into` (a build cache's manifest: its layers are fetched
/// one by one, when a step uses them, by [`pull_blob`]). The manifest itself
/// is not stored.
pub fn pull_manifest_config(
    reference: &Reference,
    into: &Layout,
    opts: &RegistryOptions,
) -> Result<(Descriptor, Manifest), DestError> {
    let client = Client::connect(reference, opts, "pull")?;
    let (bytes, media_type, digest) = client.get_manifest(&ManifestRef::of(reference), None)?;
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(DestError::json(format!("parsing manifest {digest}")))?;
    check_manifest(&manifest, &digest)?;
    fetch_blob(&client, into, &manifest.config, reference, opts)?;
    let desc = Descriptor::new(&media_type, digest, bytes.len() as u64);
    Ok((desc, manifest))
}

/// Fetches the one blob `desc` of `reference`'s repository into `into`,
/// its digest and size checked as it streams (kept when already there).
pub fn pull_blob(
    reference: &Reference,
    into: &Layout,
    desc: &Descriptor,
    opts: &RegistryOptions,
) -> Result<(), DestError> {
    let client = Client::connect(reference, opts, "pull")?;
    fetch_blob(&client, into, desc, reference, opts)
}

/// A blob fetched ahead of knowing whether it is wanted (a `--cache-from`
/// layer, while the key that would hit it is still being computed): it
/// streams into a temporary blob on its own thread, silently, and lands
/// in the store only through [`BlobPrefetch::finish`]. Dropped unfinished,
/// it stops at its next read and leaves nothing behind.
pub struct BlobPrefetch {
    cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
    fetch: Option<std::thread::JoinHandle<Result<BlobWriter, DestError>>>,
    reference: Reference,
    desc: Descriptor,
    started: std::time::Instant,
}

impl BlobPrefetch {
    /// Starts fetching `desc` from `reference` (a blob `into` lacks).
    pub fn start(
        reference: &Reference,
        into: &Layout,
        desc: &Descriptor,
        opts: &RegistryOptions,
    ) -> BlobPrefetch {
        let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (flag, into, wanted) = (cancel.clone(), into.clone(), desc.clone());
        let (from, quiet) = (
            reference.clone(),
            RegistryOptions {
                events: crate::events::Events::silent(),
                ..opts.clone()
            },
        );
        let fetch = std::thread::spawn(move || {
            let client = Client::connect(&from, &quiet, "pull")?;
            let meter = quiet
                .events
                .meter(Task::Download, "", Some(wanted.size), None);
            client.get_blob_uncommitted(&into, &wanted, &meter, Some(&flag))
        });
        BlobPrefetch {
            cancel,
            fetch: Some(fetch),
            reference: reference.clone(),
            desc: desc.clone(),
            started: std::time::Instant::now(),
        }
    }

    /// The blob being fetched.
    pub fn descriptor(&self) -> &Descriptor {
        &self.desc
    }

    /// Waits for the fetch, checks the blob's digest and stores it; the
    /// transfer is reported to `opts`' events as any pull's is.
    pub fn finish(mut self, opts: &RegistryOptions) -> Result<(), DestError> {
        let fetched = match self.fetch.take().map(std::thread::JoinHandle::join) {
            Some(Ok(fetched)) => fetched?,
            _ => {
                return Err(DestError::invalid(
                    format!("fetching blob {}", self.desc.digest),
                    "the fetching thread failed",
                ))
            }
        };
        let url = format!("{}/blobs/{}", self.reference.full(), self.desc.digest);
        client::commit_fetched(fetched, &self.desc, &url)?;
        let direction = Direction::Download;
        report_blob(
            opts,
            &self.desc,
            direction,
            &self.reference,
            false,
            self.started,
        );
        Ok(())
    }
}

impl Drop for BlobPrefetch {
    fn drop(&mut self) {
        self.cancel
            .store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(fetch) = self.fetch.take() {
            // its temporary blob is removed as its writer drops
            let _ = fetch.join();
        }
    }
}

/// Pulls `reference` whole into `into`: a manifest with its blobs, or an
/// index with every image it lists (`index create` merges them). Returns
/// the top descriptor. Blobs already in `into` are not fetched again; each
/// manifest is stored only once what it references checked out.
pub fn pull_all(
    reference: &Reference,
    into: &Layout,
    opts: &RegistryOptions,
) -> Result<Descriptor, DestError> {
    let client = Client::connect(reference, opts, "pull")?;
    let top = ManifestRef::of(reference);
    pull_manifest_tree(&client, into, &top, None, 0, reference, opts)
}

/// Fetches the manifest or index `wanted` (an index entry `entry` when
/// nested) and everything below it into `into`.
fn pull_manifest_tree(
    client: &Client,
    into: &Layout,
    wanted: &ManifestRef,
    entry: Option<&Descriptor>,
    depth: usize,
    from: &Reference,
    opts: &RegistryOptions,
) -> Result<Descriptor, DestError> {
    let (bytes, media_type, digest) = client.get_manifest(wanted, entry)?;
    if is_index(&media_type) {
        if depth >= 4 {
            return Err(DestError::invalid(
                format!("pulling index {digest}"),
                "indexes nested too deeply",
            ));
        }
        let index: Index = serde_json::from_slice(&bytes)
            .map_err(DestError::json(format!("parsing index {digest}")))?;
        for child in &index.manifests {
            let by_digest = ManifestRef::Digest(child.digest.clone());
            pull_manifest_tree(client, into, &by_digest, Some(child), depth + 1, from, opts)?;
        }
    } else {
        fetch_manifest_blobs(client, into, &bytes, &digest, from, opts)?;
    }
    into.put_blob(&bytes)?;
    Ok(Descriptor::new(&media_type, digest, bytes.len() as u64))
}

/// Checks the manifest `bytes` (digest `digest`) and fetches its config and
/// layers into `into`.
fn fetch_manifest_blobs(
    client: &Client,
    into: &Layout,
    bytes: &[u8],
    digest: &Digest,
    from: &Reference,
    opts: &RegistryOptions,
) -> Result<(), DestError> {
    let manifest: Manifest = serde_json::from_slice(bytes)
        .map_err(DestError::json(format!("parsing manifest {digest}")))?;
    check_manifest(&manifest, digest)?;
    for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
        fetch_blob(client, into, blob, from, opts)?;
    }
    Ok(())
}
