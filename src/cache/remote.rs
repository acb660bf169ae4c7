//! The cache across machines (`--cache-to`, `--cache-from`): the entries of
//! a build as an OCI image manifest any registry or layout stores — its
//! config the key → layer map, its layers the blobs — so a build on
//! another store reuses those layers without building them.
//!
//! Import is eager: the manifest's blobs are fetched into the store (the
//! ones it has are skipped) and its entries written there, before the
//! build, so the build finds them as if it had made them.

use super::{write_entry, Cache, CacheWrites, Entry};
use crate::dest::{self, DestError, ImageName, Layout, Location, RegistryOptions};
use crate::digest::Digest;
use crate::image::Manifest;
use crate::oci::{canonical_json, Descriptor, MEDIA_TYPE_MANIFEST};
use serde::{Deserialize, Serialize};

/// The media type of the cache manifest's config.
pub const MEDIA_TYPE_CACHE_CONFIG: &str = "application/vnd.minibuild.cache.config.v1+json";

/// The cache manifest's config: key → layer, and the layers' diff_ids as
/// an image config states them (so `fsck` checks every cached layer).
#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheConfig {
    rootfs: crate::image::RootFs,
    entries: Vec<KeyedEntry>,
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

/// Writes the build's cache entries (their blobs in `source`) to `dest` as
/// a cache manifest; a line saying what was done.
pub fn export(
    source: &Layout,
    writes: &CacheWrites,
    dest: &Location,
    opts: &RegistryOptions,
) -> Result<String, DestError> {
    let mut config = CacheConfig::default();
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
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_MANIFEST.to_string()),
        config: Descriptor::new(MEDIA_TYPE_CACHE_CONFIG, config_digest, bytes.len() as u64),
        layers,
        annotations: None,
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

/// Brings the cache manifest at `from` into `store`: its blobs, then its
/// entries. Returns how many entries it had.
pub fn import(from: &Location, store: &Layout, opts: &RegistryOptions) -> Result<usize, DestError> {
    let manifest = match from {
        Location::Oci { dir, reference } => {
            let layout = Layout::open(dir)?;
            let name = reference.clone().unwrap_or_else(|| "cache".into());
            let top = layout.resolve(&name)?;
            store.copy_image_from(&layout, &top)?;
            top
        }
        Location::Registry { reference } => dest::registry::pull(reference, store, opts)?,
        _ => {
            return Err(DestError::invalid(
                "reading a cache",
                "not a cache location",
            ))
        }
    };
    let parsed: Manifest = store.read_json(&manifest.digest)?;
    if parsed.config.media_type != MEDIA_TYPE_CACHE_CONFIG {
        return Err(DestError::invalid(
            format!("reading the cache {}", manifest.digest),
            format!(
                "its config is {}, not a minibuild cache",
                parsed.config.media_type
            ),
        ));
    }
    let config: CacheConfig = store.read_json(&parsed.config.digest)?;
    let cache = Cache::of(store.root());
    for e in &config.entries {
        if store.has_blob(&e.entry.layer.digest) {
            write_entry(&cache, &e.key, &e.entry)
                .map_err(DestError::io("writing a cache entry".to_string()))?;
        }
    }
    Ok(config.entries.len())
}
