//! Image indexes minibuild writes: the one a multi-platform build makes,
//! and the one `minibuild index create` merges from single-platform images
//! and other indexes (as `docker buildx imagetools create` and `buildah
//! manifest` do).

use super::annotation::{AnnotationLevel, LeveledAnnotation};
use super::error::DestError;
use super::graph::{is_index, is_manifest, platforms_listed, ConfigFile, Index, Manifest};
use super::layout::{ImageName, Layout};
use super::options::RegistryOptions;
use super::{registry, Location};
use crate::oci::{canonical_json, Descriptor, Platform, MEDIA_TYPE_INDEX};
use std::collections::BTreeMap;

/// Writes an OCI image index listing `entries` (manifest descriptors with
/// their platforms, in order) into `layout`; its descriptor. Canonical
/// JSON, so the same entries always give the same digest.
pub fn write_index(
    layout: &Layout,
    entries: Vec<Descriptor>,
    annotations: Option<BTreeMap<String, String>>,
) -> Result<Descriptor, DestError> {
    let index = Index {
        manifests: entries,
        annotations: annotations.filter(|a| !a.is_empty()),
        ..Index::empty()
    };
    let bytes = canonical_json(&index).map_err(DestError::json("serializing the image index"))?;
    let digest = layout.put_blob(&bytes)?;
    Ok(Descriptor::new(
        MEDIA_TYPE_INDEX,
        digest,
        bytes.len() as u64,
    ))
}

/// The platform an image's config states.
pub fn config_platform(src: &Layout, manifest: &Descriptor) -> Result<Platform, DestError> {
    let m: Manifest = src.read_json(&manifest.digest)?;
    let config: ConfigFile = src.read_json(&m.config.digest)?;
    Ok(Platform {
        architecture: config.architecture,
        os: config.os,
        variant: config.variant,
    }
    .normalized())
}

/// The platforms of the image `desc` in `src`: each entry's of an index,
/// the config's of a manifest. For `images`.
pub fn platforms_of(src: &Layout, desc: &Descriptor) -> Result<Vec<String>, DestError> {
    if is_index(&desc.media_type) {
        let index: Index = src.read_json(&desc.digest)?;
        return Ok(platforms_listed(&index.manifests));
    }
    if is_manifest(&desc.media_type) {
        return Ok(vec![config_platform(src, desc)?.to_string()]);
    }
    Ok(Vec::new())
}

/// What the store names `name` after `pulled` (an image just pulled for
/// one platform) is cached under it: `pulled` itself, or — when the name
/// holds another platform's image already — a store-local index of the
/// platforms pulled so far (`pulled` replacing one for its platform), so
/// that a multi-platform build finds each base again without the network.
/// Every image such an index lists is in the store.
pub(crate) fn with_cached_platforms(
    store: &Layout,
    name: &ImageName,
    pulled: &Descriptor,
) -> Result<Descriptor, DestError> {
    let Ok(old) = store.resolve(name) else {
        return Ok(pulled.clone());
    };
    if old.digest == pulled.digest {
        return Ok(pulled.clone());
    }
    let platform = config_platform(store, pulled)?;
    let mut entries = match source_entries(store, &old) {
        Ok(entries) => entries,
        // what was there cannot be read: the new image alone
        Err(_) => return Ok(pulled.clone()),
    };
    entries.retain(|d| {
        is_manifest(&d.media_type)
            && store.has_blob(&d.digest)
            && d.platform.as_ref().is_some_and(|p| !p.same_as(&platform))
    });
    if entries.is_empty() {
        return Ok(pulled.clone());
    }
    for d in &mut entries {
        d.annotations = None;
    }
    let mut entry = Descriptor::new(&pulled.media_type, pulled.digest.clone(), pulled.size);
    entry.platform = Some(platform);
    entries.push(entry);
    write_index(store, entries, None)
}

/// Where an `--annotation` of `index create` goes (buildx's syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnnotationTarget {
    /// `index:KEY=VALUE` (or no prefix): the index itself.
    Index,
    /// `manifest[PLATFORM]:KEY=VALUE` (or `manifest-descriptor[...]`): the
    /// index entry of each image for that platform (all without one). The
    /// entry, not the manifest: annotating the manifest would change its
    /// digest, and the images must stay byte for byte what was built.
    Manifest(Option<Platform>),
}

/// One `--annotation` of `index create`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// Where it goes.
    pub target: AnnotationTarget,
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

impl std::str::FromStr for Annotation {
    type Err = DestError;

    /// Parses `[index:|manifest[PLATFORM]:|manifest-descriptor[PLATFORM]:]KEY=VALUE`
    /// (no prefix: the index).
    fn from_str(s: &str) -> Result<Annotation, DestError> {
        let a = LeveledAnnotation::parse(s, AnnotationLevel::Index)?;
        let target = match (a.level, a.platform) {
            (AnnotationLevel::Index, None) => AnnotationTarget::Index,
            (AnnotationLevel::Manifest | AnnotationLevel::ManifestDescriptor, p) => {
                AnnotationTarget::Manifest(p)
            }
            _ => return Err(DestError::invalid(
                format!("parsing --annotation {s:?}"),
                "unknown annotation type for index create: expected index or manifest[PLATFORM]",
            )),
        };
        Ok(Annotation {
            target,
            key: a.key,
            value: a.value,
        })
    }
}

/// What `index create` makes an index from.
#[derive(Debug, Clone, Default)]
pub struct IndexSpec {
    /// Store names, `oci:DIR[:REF]`, `docker://REFERENCE`: single images
    /// and indexes.
    pub sources: Vec<String>,
    /// A later source's image for a platform replaces an earlier one's;
    /// without it a platform listed twice is refused.
    pub replace: bool,
    /// The annotations to set.
    pub annotations: Vec<Annotation>,
}

/// Brings each source of `spec` into `into` (store names from `store`) and
/// writes the index that lists all their images; its descriptor.
pub fn create_index(
    spec: &IndexSpec,
    store: &Layout,
    into: &Layout,
    opts: &RegistryOptions,
) -> Result<Descriptor, DestError> {
    if spec.sources.is_empty() {
        return Err(DestError::invalid("creating an index", "no sources given"));
    }
    let mut entries: Vec<(Descriptor, String)> = Vec::new();
    for source in &spec.sources {
        let top = bring_source(source, store, into, opts)?;
        for entry in source_entries(into, &top)? {
            add_entry(&mut entries, entry, source, spec.replace)?;
        }
    }
    let mut entries: Vec<Descriptor> = entries.into_iter().map(|(d, _)| d).collect();
    let mut index_annotations = BTreeMap::new();
    for a in &spec.annotations {
        match &a.target {
            AnnotationTarget::Index => {
                index_annotations.insert(a.key.clone(), a.value.clone());
            }
            AnnotationTarget::Manifest(platform) => annotate_entries(&mut entries, a, platform)?,
        }
    }
    write_index(into, entries, Some(index_annotations))
}

/// Sets `a` on the entries for `platform` (every entry for `None`).
fn annotate_entries(
    entries: &mut [Descriptor],
    a: &Annotation,
    platform: &Option<Platform>,
) -> Result<(), DestError> {
    let mut hit = false;
    for d in entries.iter_mut() {
        let wanted = match (platform, &d.platform) {
            (None, _) => true,
            (Some(p), Some(q)) => p.same_as(q),
            (Some(_), None) => false,
        };
        if wanted {
            hit = true;
            let map = d.annotations.get_or_insert_with(BTreeMap::new);
            map.insert(a.key.clone(), a.value.clone());
        }
    }
    match platform {
        Some(p) if !hit => Err(DestError::invalid(
            format!("annotating the image for {p}"),
            format!(
                "the index has no image for {p}; it has {}",
                platforms_listed(entries).join(", ")
            ),
        )),
        _ => Ok(()),
    }
}

/// Adds `entry` (from `source`) to `entries`, refusing a platform listed
/// already unless `replace`.
fn add_entry(
    entries: &mut Vec<(Descriptor, String)>,
    entry: Descriptor,
    source: &str,
    replace: bool,
) -> Result<(), DestError> {
    let same = entries
        .iter()
        .position(|(d, _)| match (&d.platform, &entry.platform) {
            (Some(a), Some(b)) => a.same_as(b),
            _ => d.digest == entry.digest,
        });
    match same {
        Some(i) if entries[i].0.digest == entry.digest => Ok(()),
        Some(i) if replace => {
            entries[i] = (entry, source.to_string());
            Ok(())
        }
        Some(i) => {
            let (old, from) = &entries[i];
            let what = old
                .platform
                .as_ref()
                .map_or("an image without platform".to_string(), |p| p.to_string());
            Err(DestError::invalid(
                format!("adding {source} to the index"),
                format!(
                    "{what} is there already (from {from}, {}); give --replace to take the later one",
                    old.digest
                ),
            ))
        }
        None => {
            entries.push((entry, source.to_string()));
            Ok(())
        }
    }
}

/// The index entries a source gives: an index's own entries, or the one
/// manifest with its config's platform.
fn source_entries(layout: &Layout, top: &Descriptor) -> Result<Vec<Descriptor>, DestError> {
    if is_index(&top.media_type) {
        let index: Index = layout.read_json(&top.digest)?;
        let mut out = Vec::new();
        for mut d in index.manifests {
            if d.platform.is_none() && is_manifest(&d.media_type) {
                d.platform = Some(config_platform(layout, &d)?);
            }
            out.push(d);
        }
        return Ok(out);
    }
    let mut d = Descriptor::new(&top.media_type, top.digest.clone(), top.size);
    d.platform = Some(config_platform(layout, top)?);
    Ok(vec![d])
}

/// Copies the image or index `source` names into `into`; its descriptor.
fn bring_source(
    source: &str,
    store: &Layout,
    into: &Layout,
    opts: &RegistryOptions,
) -> Result<Descriptor, DestError> {
    let from_layout = |layout: &Layout, name: &ImageName| -> Result<Descriptor, DestError> {
        let top = layout.resolve(name)?;
        if layout.root() != into.root() {
            into.copy_image_from(layout, &top)?;
        }
        Ok(Descriptor::new(&top.media_type, top.digest, top.size))
    };
    match Location::parse(source) {
        Ok(Location::Oci { dir, reference }) => {
            let layout = Layout::open(&dir)?;
            from_layout(&layout, &reference.unwrap_or_else(|| "".into()))
        }
        Ok(Location::Registry { reference }) => registry::pull_all(&reference, into, opts),
        Ok(_) => Err(DestError::invalid(
            format!("reading {source}"),
            "index create reads store names, oci:DIR[:REF] and docker://REFERENCE",
        )),
        Err(_) if !source.contains("://") => from_layout(store, &ImageName::from(source)),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_parse_as_buildx_writes_them() {
        let a: Annotation = "index:org.opencontainers.image.title=x".parse().unwrap();
        assert_eq!(a.target, AnnotationTarget::Index);
        assert_eq!(
            (a.key.as_str(), a.value.as_str()),
            ("org.opencontainers.image.title", "x")
        );
        let a: Annotation = "manifest[linux/arm64]:k=v=w".parse().unwrap();
        let arm64: Platform = "linux/arm64".parse().unwrap();
        assert_eq!(a.target, AnnotationTarget::Manifest(Some(arm64)));
        assert_eq!(a.value, "v=w");
        let a: Annotation = "manifest-descriptor:k=v".parse().unwrap();
        assert_eq!(a.target, AnnotationTarget::Manifest(None));
        let a: Annotation = "k=a:b".parse().unwrap();
        assert_eq!(
            (a.target, a.value.as_str()),
            (AnnotationTarget::Index, "a:b")
        );
        for (bad, why) in [
            ("layer:k=v", "unknown annotation type"),
            ("manifest[linux/arm64:k=v", "closing ]"),
            ("index:novalue", "expected KEY=VALUE"),
            ("manifest[linux//x]:k=v", "invalid platform"),
        ] {
            let err = bad.parse::<Annotation>().unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
