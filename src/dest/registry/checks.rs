//! What a registry's answers must be before minibuild uses them: an image
//! manifest or index, whose config and layers have media types minibuild
//! can unpack, within size limits.

use super::super::error::DestError;
use super::super::graph::{is_index, is_manifest, Manifest};
use crate::digest::Digest;
use crate::oci::{
    Descriptor, MEDIA_TYPE_CONFIG, MEDIA_TYPE_DOCKER_LAYER_GZIP, MEDIA_TYPE_LAYER_GZIP,
    MEDIA_TYPE_LAYER_TAR, MEDIA_TYPE_LAYER_ZSTD,
};

/// The largest image config read.
const MAX_CONFIG: u64 = 8 << 20;

/// A fetched manifest's media type (its own `mediaType`, else the
/// Content-Type), which must be an image manifest or an index.
pub(super) fn manifest_media_type(
    bytes: &[u8],
    content_type: Option<String>,
    what: &str,
) -> Result<String, DestError> {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "mediaType", default)]
        media_type: Option<String>,
    }
    let probe: Probe = serde_json::from_slice(bytes).map_err(DestError::json(what))?;
    let media_type = probe
        .media_type
        .or(content_type)
        .ok_or_else(|| DestError::invalid(what, "the manifest has no media type"))?;
    if !is_manifest(&media_type) && !is_index(&media_type) {
        return Err(DestError::invalid(
            what,
            format!("unsupported manifest media type {media_type:?}"),
        ));
    }
    Ok(media_type)
}

/// The layer media types an image may use (OCI's, with their
/// non-distributable forms, and Docker schema 2's).
const LAYER_TYPES: &[&str] = &[
    MEDIA_TYPE_LAYER_TAR,
    MEDIA_TYPE_LAYER_GZIP,
    MEDIA_TYPE_LAYER_ZSTD,
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    MEDIA_TYPE_DOCKER_LAYER_GZIP,
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
];

/// The image config media types.
const CONFIG_TYPES: &[&str] = &[
    MEDIA_TYPE_CONFIG,
    "application/vnd.docker.container.image.v1+json",
    // a build cache (--cache-from): its config maps keys to layers
    crate::cache::MEDIA_TYPE_CACHE_CONFIG,
    crate::cache::MEDIA_TYPE_CACHE_CONFIG_V1,
];

/// Refuses a manifest whose config or layers minibuild cannot use: an
/// unknown media type would be unpacked as a plain tar.
pub(super) fn check_manifest(manifest: &Manifest, digest: &Digest) -> Result<(), DestError> {
    let unsupported = |kind: &str, d: &Descriptor| {
        format!(
            "{kind} {} has unsupported media type {:?}",
            d.digest, d.media_type
        )
    };
    let c = &manifest.config;
    let reason = if !CONFIG_TYPES.contains(&c.media_type.as_str()) {
        Some(unsupported("config", c))
    } else if c.size > MAX_CONFIG {
        Some(format!(
            "config {} declares {} bytes (at most {MAX_CONFIG})",
            c.digest, c.size
        ))
    } else {
        manifest
            .layers
            .iter()
            .find(|l| !LAYER_TYPES.contains(&l.media_type.as_str()))
            .map(|l| unsupported("layer", l))
    };
    match reason {
        Some(reason) => Err(DestError::invalid(
            format!("checking manifest {digest}"),
            reason,
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256;
    use crate::oci::{MEDIA_TYPE_DOCKER_MANIFEST, MEDIA_TYPE_MANIFEST};

    #[test]
    fn unknown_media_types_are_refused() {
        let layer = |mt: &str| Descriptor::new(mt, sha256(b"l"), 1);
        let manifest = |config: &str, layer_type: &str| Manifest {
            schema_version: 2,
            media_type: Some(MEDIA_TYPE_MANIFEST.into()),
            config: Descriptor::new(config, sha256(b"c"), 2),
            layers: vec![layer(MEDIA_TYPE_LAYER_GZIP), layer(layer_type)],
            annotations: None,
        };
        let m = sha256(b"m");
        check_manifest(
            &manifest(MEDIA_TYPE_CONFIG, MEDIA_TYPE_DOCKER_LAYER_GZIP),
            &m,
        )
        .unwrap();
        let err = check_manifest(&manifest(MEDIA_TYPE_CONFIG, "text/plain"), &m)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("checking manifest {m}: layer sha256:")),
            "{err}"
        );
        assert!(
            err.ends_with("unsupported media type \"text/plain\""),
            "{err}"
        );
        let err = check_manifest(&manifest("application/x-evil", MEDIA_TYPE_LAYER_TAR), &m)
            .unwrap_err()
            .to_string();
        assert!(err.contains("config sha256:"), "{err}");
        let err = manifest_media_type(br#"{"mediaType":"application/x-evil"}"#, None, "getting m")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "getting m: unsupported manifest media type \"application/x-evil\""
        );
        let ok = manifest_media_type(b"{}", Some(MEDIA_TYPE_DOCKER_MANIFEST.into()), "m").unwrap();
        assert_eq!(ok, MEDIA_TYPE_DOCKER_MANIFEST);
    }
}
