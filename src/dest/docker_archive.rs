//! Reading a `docker save` archive (`docker-archive:`), as podman, skopeo
//! and Docker write it: a `manifest.json` listing each image's config
//! member and layer members (`<diff_id hex>.tar`, the legacy
//! `<id>/layer.tar` with symlinks between them, or Docker 25's
//! `blobs/sha256/<hex>`). The archive is read in place
//! ([`ArchiveSource`]): indexed once, each member hashed on the way; the
//! config and layers are served from their byte ranges of the file and a
//! manifest is made for them in memory, so everything else reads it as
//! any blob source: `FROM docker-archive:`, `inspect`, `verify`.

pub use super::archive_source::ArchiveMember;
use super::archive_source::ArchiveSource;
use super::{DestError, ImageName};
use crate::digest::Digest;
use crate::oci::{self, Descriptor};
use serde::Deserialize;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One image in `manifest.json`.
#[derive(Debug, Deserialize)]
struct ManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// A docker-archive, read in place.
pub struct DockerArchive {
    /// Its blobs: the config and layers in the archive, the manifest made
    /// for them; its index names that manifest (with its RepoTag, if any).
    pub source: ArchiveSource,
    /// The manifest made for the image.
    pub manifest: Descriptor,
    /// Members named for a digest they do not have.
    pub problems: Vec<String>,
}

/// Reads `file`: the image `reference` names (one of its RepoTags), or
/// the archive's only image.
pub fn read(file: &Path, reference: Option<&ImageName>) -> Result<DockerArchive, DestError> {
    let what = format!("reading docker archive {}", file.display());
    let members = ArchiveSource::members(file, true)?;
    let mut source = ArchiveSource::new(file, members, super::Index::empty());
    let find = |source: &ArchiveSource, name: &str| -> Result<(usize, Digest), DestError> {
        source
            .find(name)
            .and_then(|n| Some((n, source.member_list()[n].digest.clone()?)))
            .ok_or_else(|| DestError::invalid(what.clone(), format!("no member {name}")))
    };
    let (list, _) = find(&source, "manifest.json")?;
    let bytes = source.read_member(list)?;
    let entries: Vec<ManifestEntry> = serde_json::from_slice(&bytes).map_err(DestError::json(
        format!("parsing manifest.json of {}", file.display()),
    ))?;
    let entry = choose(&entries, reference, &what)?;
    let mut problems = Vec::new();
    let (config_at, config_digest) = find(&source, &entry.config)?;
    check_name(&entry.config, &config_digest, "config", &mut problems);
    source.add_member_blob(config_digest.clone(), config_at);
    let config_size = source.member_list()[config_at].size;
    let mut layers = Vec::new();
    for (n, name) in entry.layers.iter().enumerate() {
        let (at, digest) = find(&source, name)?;
        check_name(name, &digest, &format!("layer {n}"), &mut problems);
        let media_type = sniff(&source, at)?;
        source.add_member_blob(digest.clone(), at);
        layers.push(Descriptor::new(
            media_type,
            digest,
            source.member_list()[at].size,
        ));
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::MEDIA_TYPE_MANIFEST,
        "config": Descriptor::new(oci::MEDIA_TYPE_CONFIG, config_digest, config_size),
        "layers": layers,
    });
    let bytes = oci::canonical_json(&manifest).map_err(DestError::json("writing a manifest"))?;
    let size = bytes.len() as u64;
    let desc = Descriptor::new(oci::MEDIA_TYPE_MANIFEST, source.add_made_blob(bytes), size);
    let mut named = desc.clone();
    if let Some(tag) = entry.repo_tags.as_ref().and_then(|t| t.first()) {
        named.annotations = Some(ImageName::from(tag.as_str()).annotations());
    }
    source.set_index(vec![named]);
    Ok(DockerArchive {
        source,
        manifest: desc,
        problems,
    })
}

/// The entry of `manifest.json` for `reference`, or its only entry.
fn choose<'a>(
    entries: &'a [ManifestEntry],
    reference: Option<&ImageName>,
    what: &str,
) -> Result<&'a ManifestEntry, DestError> {
    let tags = |e: &ManifestEntry| e.repo_tags.clone().unwrap_or_default();
    match reference {
        Some(name) => entries
            .iter()
            .find(|e| tags(e).iter().any(|t| name.names(t)))
            .ok_or_else(|| DestError::NotFound {
                name: name.to_string(),
                layout: PathBuf::from(what.trim_start_matches("reading docker archive ")),
            }),
        None => match entries {
            [only] => Ok(only),
            _ => Err(DestError::invalid(
                what,
                format!(
                    "manifest.json lists {} images; name one (docker-archive:FILE:NAME) of: {}",
                    entries.len(),
                    entries.iter().flat_map(tags).collect::<Vec<_>>().join(", ")
                ),
            )),
        },
    }
}

/// A member named `<hex>.json`, `<hex>.tar` or `blobs/sha256/<hex>` must
/// hash to that hex (a layer's name is its diff_id: it is uncompressed).
fn check_name(name: &str, digest: &Digest, role: &str, problems: &mut Vec<String>) {
    let base = name.rsplit('/').next().unwrap_or(name);
    let stem = base
        .strip_suffix(".json")
        .or_else(|| base.strip_suffix(".tar"))
        .unwrap_or(base);
    let named = stem.len() == 64 && stem.bytes().all(|b| b.is_ascii_hexdigit());
    if named && stem != digest.hex() {
        problems.push(format!(
            "{role} member {name}: the content has digest {digest}, its name says sha256:{stem}"
        ));
    }
}

/// The layer media type the first bytes of member `n` say.
fn sniff(source: &ArchiveSource, n: usize) -> Result<&'static str, DestError> {
    let mut magic = [0u8; 4];
    let mut got = 0;
    let mut r = source.open_member(n)?;
    while got < magic.len() {
        let k = r.read(&mut magic[got..]).map_err(DestError::io(format!(
            "reading {} in {}",
            source.member_list()[n].name,
            source.file().display()
        )))?;
        if k == 0 {
            break;
        }
        got += k;
    }
    Ok(match &magic[..got] {
        [0x1f, 0x8b, ..] => oci::MEDIA_TYPE_LAYER_GZIP,
        [0x28, 0xb5, 0x2f, 0xfd] => oci::MEDIA_TYPE_LAYER_ZSTD,
        _ => oci::MEDIA_TYPE_LAYER_TAR,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_must_match_their_digest() {
        let mut problems = Vec::new();
        let d = crate::digest::sha256(b"x");
        check_name(&format!("{}.json", d.hex()), &d, "config", &mut problems);
        check_name("manifest-ish.tar", &d, "layer 0", &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        let other = crate::digest::sha256(b"y");
        check_name(
            &format!("{}.tar", other.hex()),
            &d,
            "layer 0",
            &mut problems,
        );
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("layer 0"), "{problems:?}");
    }
}
