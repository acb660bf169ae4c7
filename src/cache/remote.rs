//! The cache across machines (`--cache-to`, `--cache-from`): the entries of
//! a build as an OCI image manifest any registry or layout stores — its
//! config the key → layer map, its layers the blobs — so a build on
//! another store reuses those layers without building them.
//!
//! Import is lazy: before the build only the manifest and its config are
//! read, and the entries they list are kept as remote ones (where from,
//! which blob). A step that hits one fetches just that layer blob into the
//! store, verified as it streams; a step that misses stores nothing. The
//! blob of an entry made by the same instruction over the same parent
//! starts downloading while the step's sources are hashed ([`Prefetch`]),
//! and is dropped, its download stopped, when the key differs.

use super::{CacheWrites, Entry};
use crate::dest::{self, DestError, ImageName, Layout, Location, RegistryOptions};
use crate::digest::Digest;
use crate::image::Manifest;
use crate::oci::{canonical_json, Descriptor, Platform, MEDIA_TYPE_MANIFEST};
use serde::{Deserialize, Serialize};

/// The cache manifest's `artifactType` (OCI 1.1): what the artifact is.
pub const ARTIFACT_TYPE_CACHE: &str = "application/vnd.minibuild.cache.v2+json";

/// The media type of the cache manifest's config.
pub const MEDIA_TYPE_CACHE_CONFIG: &str = "application/vnd.minibuild.cache.config.v2+json";

/// The config media type of the caches minibuild wrote before the
/// manifest was an OCI 1.1 artifact (no `artifactType`, no platform in the
/// config): the same entries, still read.
pub const MEDIA_TYPE_CACHE_CONFIG_V1: &str = "application/vnd.minibuild.cache.config.v1+json";

/// The cache manifest's config: key → layer, and, as an image config
/// states them, the platform the layers were built for and their
/// diff_ids, so that an image-spec validator and `fsck` check every cached
/// layer (the OCI schema wants `architecture`, `os` and `rootfs` in any
/// config it is shown).
#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheConfig {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    rootfs: crate::image::RootFs,
    entries: Vec<KeyedEntry>,
}

/// The cache manifest: an OCI 1.1 artifact (an image manifest with an
/// `artifactType` and its own config media type, as the image-spec's
/// artifact guidance describes for an artifact with a config).
#[derive(Debug, Serialize)]
struct CacheManifest {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    #[serde(rename = "artifactType")]
    artifact_type: &'static str,
    config: Descriptor,
    layers: Vec<Descriptor>,
}

#[derive(Debug, Serialize, Deserialize)]
struct KeyedEntry {
    key: Digest,
    entry: Entry,
}

/// Checks that `location` can hold a cache: `oci:DIR[:REF]` or
/// `docker://HOST/REPO:TAG`.
pub fn parse_location(spec: &str) -> Result<Location, DestError> {
    match Location::parse(spec)? {
        l @ (Location::Oci { .. } | Location::Registry { .. }) => Ok(l),
        _ => Err(DestError::invalid(
            format!("cache location {spec}"),
            "a cache goes to oci:DIR[:REF] or docker://HOST/REPO:TAG",
        )),
    }
}

/// Writes the build's cache entries (their blobs in `source`, built for
/// `platform`) to `dest` as a cache manifest; a line saying what was done.
pub fn export(
    source: &Layout,
    writes: &CacheWrites,
    platform: &Platform,
    dest: &Location,
    opts: &RegistryOptions,
) -> Result<String, DestError> {
    let mut config = CacheConfig {
        architecture: platform.architecture.clone(),
        os: platform.os.clone(),
        ..CacheConfig::default()
    };
    config.rootfs.kind = "layers".into();
    let mut layers: Vec<Descriptor> = Vec::new();
    for r in &writes.records {
        if config.entries.iter().any(|e| e.key == r.key) {
            continue;
        }
        let mut entry = r.entry.clone();
        // another machine's context is another: its files explain nothing
        entry.inputs.sources.clear();
        if !layers.iter().any(|l| l.digest == entry.layer.digest) {
            layers.push(entry.layer.clone());
            config.rootfs.diff_ids.push(entry.diff_id.clone());
        }
        config.entries.push(KeyedEntry {
            key: r.key.clone(),
            entry,
        });
    }
    let bytes = canonical_json(&config).map_err(DestError::json("serializing the cache"))?;
    let config_digest = source.put_blob(&bytes)?;
    let manifest = CacheManifest {
        schema_version: 2,
        media_type: MEDIA_TYPE_MANIFEST,
        artifact_type: ARTIFACT_TYPE_CACHE,
        config: Descriptor::new(MEDIA_TYPE_CACHE_CONFIG, config_digest, bytes.len() as u64),
        layers,
    };
    let bytes = canonical_json(&manifest).map_err(DestError::json("serializing the cache"))?;
    let digest = source.put_blob(&bytes)?;
    let desc = Descriptor::new(MEDIA_TYPE_MANIFEST, digest, bytes.len() as u64);
    let name = match dest {
        Location::Oci {
            reference: None, ..
        } => vec![ImageName::from("cache")],
        _ => Vec::new(),
    };
    let done = dest::export(source, &desc, &name, dest, opts)?;
    Ok(format!(
        "cache of {} layer steps to {done}",
        config.entries.len()
    ))
}

/// A cache entry another place holds (a `--cache-from` cache): its blob
/// stays there until a step hits the entry, and then only that blob is
/// fetched ([`fetch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteEntry {
    /// The key.
    pub key: Digest,
    /// The entry (its layer's descriptor says which blob).
    pub entry: Entry,
    /// Where the blob is.
    pub from: Location,
}

/// Reads the cache manifest at `from` and its config (kept in `store` when
/// it comes from a registry), not its layers: the entries it lists, each
/// with where its blob is.
pub fn import(
    from: &Location,
    store: &Layout,
    opts: &RegistryOptions,
) -> Result<Vec<RemoteEntry>, DestError> {
    let config: CacheConfig = match from {
        Location::Oci { dir, reference } => {
            let layout = Layout::open(dir)?;
            let name = reference.clone().unwrap_or_else(|| "cache".into());
            let top = layout.resolve(&name)?;
            let manifest: Manifest = layout.read_json(&top.digest)?;
            check_cache_manifest(&manifest, &top.digest)?;
            layout.read_json(&manifest.config.digest)?
        }
        Location::Registry { reference } => {
            let (top, manifest) = dest::registry::pull_manifest_config(reference, store, opts)?;
            check_cache_manifest(&manifest, &top.digest)?;
            store.read_json(&manifest.config.digest)?
        }
        _ => {
            return Err(DestError::invalid(
                "reading a cache",
                "not a cache location",
            ))
        }
    };
    let entries = config.entries.into_iter().map(|e| RemoteEntry {
        key: e.key,
        entry: e.entry,
        from: from.clone(),
    });
    Ok(entries.collect())
}

/// Refuses a manifest that is no minibuild cache.
fn check_cache_manifest(manifest: &Manifest, digest: &Digest) -> Result<(), DestError> {
    let config = manifest.config.media_type.as_str();
    if [MEDIA_TYPE_CACHE_CONFIG, MEDIA_TYPE_CACHE_CONFIG_V1].contains(&config) {
        return Ok(());
    }
    Err(DestError::invalid(
        format!("reading the cache {digest}"),
        format!(
            "its config is {}, not a minibuild cache",
            manifest.config.media_type
        ),
    ))
}

/// Fetches the layer blob of `remote` into `store`, its digest and size
/// checked as it streams in (so the hit needs no second read of it).
pub fn fetch(
    remote: &RemoteEntry,
    store: &Layout,
    opts: &RegistryOptions,
) -> Result<(), DestError> {
    let desc = &remote.entry.layer;
    match &remote.from {
        Location::Registry { reference } => dest::registry::pull_blob(reference, store, desc, opts),
        Location::Oci { dir, .. } => {
            let layout = Layout::open(dir)?;
            let size = layout.open_blob(&desc.digest)?.len();
            if size != desc.size {
                return Err(DestError::invalid(
                    format!(
                        "fetching cached layer {} from {}",
                        desc.digest,
                        dir.display()
                    ),
                    format!("{size} bytes, the cache declares {}", desc.size),
                ));
            }
            store.copy_blob_from(&layout, &desc.digest)
        }
        _ => Err(DestError::invalid(
            format!("fetching cached layer {}", desc.digest),
            "not a cache location",
        )),
    }
}

/// The layer blob of a `--cache-from` entry in a registry, fetched while
/// the step's key is computed (the hashing of a fresh store's context and
/// the download overlap): taken by [`Prefetch::finish`] when the key turns
/// out to be the entry's, else dropped, which stops the download and
/// leaves nothing in the store.
pub struct Prefetch {
    key: Digest,
    blob: dest::registry::BlobPrefetch,
}

impl Prefetch {
    /// Starts fetching the blob of `remote` into `store` (when it is in a
    /// registry and the store lacks it).
    pub fn start(remote: &RemoteEntry, store: &Layout, opts: &RegistryOptions) -> Option<Prefetch> {
        let Location::Registry { reference } = &remote.from else {
            return None;
        };
        let desc = &remote.entry.layer;
        if store.has_blob(&desc.digest) {
            return None;
        }
        Some(Prefetch {
            key: remote.key.clone(),
            blob: dest::registry::BlobPrefetch::start(reference, store, desc, opts),
        })
    }

    /// Whether this is the blob of `remote`.
    pub fn is_for(&self, remote: &RemoteEntry) -> bool {
        self.key == remote.key && self.blob.descriptor() == &remote.entry.layer
    }

    /// Waits for the blob and stores it, its digest checked.
    pub fn finish(self, opts: &RegistryOptions) -> Result<(), DestError> {
        self.blob.finish(opts)
    }
}
