//! Artifacts attached to an image the OCI 1.1 way: an image manifest whose
//! `artifactType` says what it holds, whose config is the empty descriptor,
//! whose one layer is the document, and whose `subject` is the image's
//! manifest. In a layout they are listed in `index.json` (with their
//! `artifactType`, unnamed); `prune` keeps them while their subject is
//! kept. At a registry they are pushed by digest and found through the
//! referrers API, or, where the registry has none, through the fallback
//! tag `sha256-<hex of the subject>` holding an index of them.

use super::error::DestError;
use super::graph::Index;
use super::layout::Layout;
use crate::digest::Digest;
use crate::oci::{canonical_json, Descriptor, MEDIA_TYPE_MANIFEST};
use serde_json::json;
use std::collections::BTreeMap;

/// The empty config of an artifact manifest.
pub const MEDIA_TYPE_EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// Writes `document` (of `media_type`) into `layout` as an artifact
/// manifest about `subject`; the descriptor that lists it (artifactType
/// and `org.opencontainers.image.created` set).
pub fn write_artifact(
    layout: &Layout,
    subject: &Descriptor,
    media_type: &str,
    document: &[u8],
    created: &str,
) -> Result<Descriptor, DestError> {
    let empty = layout.put_blob(b"{}")?;
    let doc = layout.put_blob(document)?;
    let mut subject = subject.clone();
    subject.annotations = None;
    subject.platform = None;
    subject.artifact_type = None;
    let annotations = BTreeMap::from([(
        "org.opencontainers.image.created".to_string(),
        created.to_string(),
    )]);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_MANIFEST,
        "artifactType": media_type,
        "config": Descriptor::new(MEDIA_TYPE_EMPTY, empty, 2),
        "layers": [Descriptor::new(media_type, doc, document.len() as u64)],
        "subject": subject,
        "annotations": annotations,
    });
    let bytes =
        canonical_json(&manifest).map_err(DestError::json("serializing an artifact manifest"))?;
    let digest = layout.put_blob(&bytes)?;
    let mut desc = Descriptor::new(MEDIA_TYPE_MANIFEST, digest, bytes.len() as u64);
    desc.artifact_type = Some(media_type.to_string());
    desc.annotations = Some(annotations);
    Ok(desc)
}

/// The subject an artifact manifest in `layout` names, if it names one.
pub fn subject_of(
    layout: &(impl super::BlobSource + ?Sized),
    artifact: &Descriptor,
) -> Result<Option<Digest>, DestError> {
    let m: serde_json::Value = super::graph::read_json(layout, &artifact.digest)?;
    Ok(m["subject"]["digest"]
        .as_str()
        .and_then(|d| d.parse::<Digest>().ok()))
}

/// The referrers index of `artifacts` (the fallback tag's content).
pub fn referrers_index(artifacts: Vec<Descriptor>) -> Index {
    Index {
        manifests: artifacts,
        ..Index::empty()
    }
}

/// The fallback tag for `subject`'s referrers: `sha256-<hex>`.
pub fn fallback_tag(subject: &Digest) -> String {
    format!("{}-{}", subject.algorithm().name(), subject.hex())
}
