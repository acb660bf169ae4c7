//! Walking the graph of blobs an image is made of (index → manifests →
//! config and layers), over any place that can read blobs: a layout, an
//! archive read in place, a registry.

use super::error::DestError;
use crate::digest::Digest;
use crate::oci::{Descriptor, Platform, MEDIA_TYPE_DOCKER_LIST, MEDIA_TYPE_INDEX};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Manifests and configs are read with the image module's types (which
/// keep unknown fields); manifests are always copied as bytes, never
/// re-serialized.
pub use crate::image::{ImageConfig as ConfigFile, Manifest};

/// Somewhere blobs can be read from by digest (go-containerregistry's
/// small interfaces are the model): what the graph walk needs.
pub trait BlobSource {
    /// Reads a (small) blob whole, checked against its digest.
    fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, DestError>;
    /// Opens a blob for streaming, hashed as it is read: its reader fails,
    /// naming the blob, at an end that is not that digest.
    fn open_blob(&self, digest: &Digest) -> Result<super::layout::BlobReader, DestError>;
}

/// Reads and parses a JSON blob of `src` (verified against its digest).
pub fn read_json<T: DeserializeOwned>(
    src: &(impl BlobSource + ?Sized),
    digest: &Digest,
) -> Result<T, DestError> {
    let bytes = src.read_blob(digest)?;
    serde_json::from_slice(&bytes).map_err(DestError::json(format!("parsing blob {digest}")))
}

/// `index.json`, or a nested image index blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// Always 2.
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    /// `application/vnd.oci.image.index.v1+json` when written by us.
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The images (or nested indexes) listed.
    pub manifests: Vec<Descriptor>,
    /// Annotations on the index itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl Index {
    /// An empty index.
    pub fn empty() -> Index {
        Index {
            schema_version: 2,
            media_type: Some(MEDIA_TYPE_INDEX.to_string()),
            manifests: Vec::new(),
            annotations: None,
        }
    }
}

/// True for an OCI image index or a Docker manifest list.
pub fn is_index(media_type: &str) -> bool {
    media_type == MEDIA_TYPE_INDEX || media_type == MEDIA_TYPE_DOCKER_LIST
}

/// The blobs `desc` references directly (for a manifest: config and layers;
/// for an index: its entries). Other media types reference nothing.
pub fn children(
    src: &(impl BlobSource + ?Sized),
    desc: &Descriptor,
) -> Result<Vec<Descriptor>, DestError> {
    if is_index(&desc.media_type) {
        let index: Index = read_json(src, &desc.digest)?;
        return Ok(index.manifests);
    }
    if is_manifest(&desc.media_type) {
        let manifest: Manifest = read_json(src, &desc.digest)?;
        let mut out = vec![manifest.config];
        out.extend(manifest.layers);
        return Ok(out);
    }
    Ok(Vec::new())
}

/// True for an OCI image manifest or a Docker schema 2 manifest.
pub fn is_manifest(media_type: &str) -> bool {
    media_type == crate::oci::MEDIA_TYPE_MANIFEST
        || media_type == crate::oci::MEDIA_TYPE_DOCKER_MANIFEST
}

/// Every blob an image reaches, each once, referenced blobs before the blob
/// that references them (`desc` itself last).
pub fn image_blobs(
    src: &(impl BlobSource + ?Sized),
    desc: &Descriptor,
) -> Result<Vec<Descriptor>, DestError> {
    fn walk(
        src: &(impl BlobSource + ?Sized),
        desc: &Descriptor,
        seen: &mut BTreeSet<Digest>,
        out: &mut Vec<Descriptor>,
    ) -> Result<(), DestError> {
        if !seen.insert(desc.digest.clone()) {
            return Ok(());
        }
        for child in children(src, desc)? {
            walk(src, &child, seen, out)?;
        }
        let mut plain = desc.clone();
        plain.annotations = None;
        plain.platform = None;
        out.push(plain);
        Ok(())
    }
    let mut out = Vec::new();
    walk(src, desc, &mut BTreeSet::new(), &mut out)?;
    Ok(out)
}

/// Picks the image for `platform` from `desc`: a manifest is returned as
/// is; an index is searched (recursively) as containerd's
/// `platforms.Only(platform)` searches it. No match is an error listing
/// the platforms the index has.
pub fn select_platform(
    src: &(impl BlobSource + ?Sized),
    desc: &Descriptor,
    platform: &Platform,
) -> Result<Descriptor, DestError> {
    if !is_index(&desc.media_type) {
        return Ok(desc.clone());
    }
    let index: Index = read_json(src, &desc.digest)?;
    let found = pick_platform(&index.manifests, platform)
        .ok_or_else(|| no_platform(&desc.digest, &index.manifests, platform))?;
    select_platform(src, &found, platform)
}

/// The error for an index without an image for `platform`.
pub fn no_platform(index: &Digest, entries: &[Descriptor], platform: &Platform) -> DestError {
    let there = platforms_listed(entries);
    DestError::invalid(
        format!("choosing an image from index {index}"),
        if there.is_empty() {
            format!("no image for {platform}: the index lists no platforms")
        } else {
            format!(
                "no image for {platform}: the index has {}",
                there.join(", ")
            )
        },
    )
}

/// The platforms of an index's entries, as `os/arch[/variant]`, in order.
pub fn platforms_listed(entries: &[Descriptor]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|d| d.platform.as_ref())
        .map(ToString::to_string)
        .collect()
}

/// The entry of `entries` an image for `platform` is taken from, as
/// containerd's matcher takes it: the first entry for the best of
/// [`Platform::compatible`] (so `arm64/v8` and `arm64` are one, and an
/// `arm/v7` build falls back to `arm/v6`); else the only entry when there
/// is one without a platform.
pub fn pick_platform(entries: &[Descriptor], platform: &Platform) -> Option<Descriptor> {
    for wanted in platform.compatible() {
        if let Some(d) = entries
            .iter()
            .find(|d| d.platform.as_ref().is_some_and(|p| wanted.same_as(p)))
        {
            return Some(d.clone());
        }
    }
    match entries {
        [only] if only.platform.is_none() => Some(only.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256;

    #[test]
    fn pick_platform_matches_os_arch_variant() {
        let mk = |arch: &str, variant: Option<&str>| {
            let mut d =
                Descriptor::new(crate::oci::MEDIA_TYPE_MANIFEST, sha256(arch.as_bytes()), 1);
            d.platform = Some(Platform {
                architecture: arch.into(),
                os: "linux".into(),
                variant: variant.map(Into::into),
            });
            d
        };
        let entries = vec![mk("amd64", None), mk("arm64", Some("v8"))];
        let arm = Platform {
            architecture: "arm64".into(),
            os: "linux".into(),
            variant: Some("v8".into()),
        };
        assert_eq!(
            pick_platform(&entries, &arm).unwrap().digest,
            sha256(b"arm64")
        );
        let s390 = Platform {
            architecture: "s390x".into(),
            os: "linux".into(),
            variant: None,
        };
        assert!(pick_platform(&entries, &s390).is_none());
        // arm/v7 falls back to arm/v6; arm64 to arm/v8 and below
        let entries = vec![mk("arm", Some("v6")), mk("amd64", None)];
        let v7: Platform = "linux/arm/v7".parse().unwrap();
        assert_eq!(pick_platform(&entries, &v7).unwrap().digest, sha256(b"arm"));
        let arm64: Platform = "linux/arm64".parse().unwrap();
        assert_eq!(
            pick_platform(&entries, &arm64).unwrap().digest,
            sha256(b"arm")
        );
        let v5: Platform = "linux/arm/v5".parse().unwrap();
        assert!(pick_platform(&entries, &v5).is_none());
        let err = no_platform(&sha256(b"i"), &entries, &v5).to_string();
        assert!(
            err.contains("no image for linux/arm/v5: the index has linux/arm/v6, linux/amd64"),
            "{err}"
        );
    }
}
