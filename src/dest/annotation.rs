//! `--annotation` values in buildx's syntax:
//! `[TYPE[PLATFORM]:]KEY=VALUE`, TYPE one of `manifest`, `index`,
//! `manifest-descriptor`, `index-descriptor`. `build` and `index create`
//! both parse them here; each decides what a type without a prefix means.

use super::error::DestError;
use crate::oci::{Descriptor, Platform};
use std::collections::BTreeMap;

/// Which object an annotation is set on (BuildKit's `exptypes` annotation
/// types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnotationLevel {
    /// `manifest:`: the image manifest itself (its digest changes).
    Manifest,
    /// `manifest-descriptor:`: the descriptor pointing at the manifest (an
    /// index entry, or the `index.json` entry of a layout).
    ManifestDescriptor,
    /// `index:`: the image index of a multi-platform build.
    Index,
    /// `index-descriptor:`: the `index.json` entry pointing at that index.
    IndexDescriptor,
}

/// One parsed `--annotation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeveledAnnotation {
    /// Where it goes.
    pub level: AnnotationLevel,
    /// `TYPE[PLATFORM]:`: only the images for this platform.
    pub platform: Option<Platform>,
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

impl LeveledAnnotation {
    /// Parses `[TYPE[PLATFORM]:]KEY=VALUE`; without a TYPE, `default`.
    pub fn parse(s: &str, default: AnnotationLevel) -> Result<LeveledAnnotation, DestError> {
        let bad = |why: String| DestError::invalid(format!("parsing --annotation {s:?}"), why);
        let (level, platform, rest) = match s.split_once(':').filter(|(t, _)| !t.contains('=')) {
            None => (default, None, s),
            Some((kind, rest)) => {
                let (name, platform) = match kind.split_once('[') {
                    Some((name, p)) => {
                        let p = p
                            .strip_suffix(']')
                            .ok_or_else(|| bad(format!("{kind:?} lacks its closing ]")))?;
                        (name, Some(p.parse::<Platform>().map_err(bad)?))
                    }
                    None => (kind, None),
                };
                let level = match name {
                    "manifest" => AnnotationLevel::Manifest,
                    "manifest-descriptor" => AnnotationLevel::ManifestDescriptor,
                    "index" => AnnotationLevel::Index,
                    "index-descriptor" => AnnotationLevel::IndexDescriptor,
                    _ => {
                        return Err(bad(format!(
                            "unknown annotation type {name:?}: expected manifest, index, manifest-descriptor or index-descriptor, with an optional [PLATFORM]"
                        )))
                    }
                };
                (level, platform, rest)
            }
        };
        match rest.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok(LeveledAnnotation {
                level,
                platform,
                key: key.to_string(),
                value: value.to_string(),
            }),
            _ => Err(bad("expected KEY=VALUE".to_string())),
        }
    }

    /// It applies to an object at `level` for `platform` (a selector-less
    /// annotation to every platform's).
    pub fn applies(&self, level: AnnotationLevel, platform: &Platform) -> bool {
        self.level == level && self.platform.as_ref().is_none_or(|p| p.same_as(platform))
    }
}

/// The annotations of `list` at `level` that apply to `platform`, as a map
/// (a later one wins).
pub fn annotations_for(
    list: &[LeveledAnnotation],
    level: AnnotationLevel,
    platform: &Platform,
) -> BTreeMap<String, String> {
    list.iter()
        .filter(|a| a.applies(level, platform))
        .map(|a| (a.key.clone(), a.value.clone()))
        .collect()
}

/// Adds `extra` to `desc`'s annotations.
pub fn annotate(desc: &mut Descriptor, extra: BTreeMap<String, String>) {
    if !extra.is_empty() {
        desc.annotations
            .get_or_insert_with(BTreeMap::new)
            .extend(extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_annotations_default_to_the_manifest() {
        let a = LeveledAnnotation::parse("k=v", AnnotationLevel::Manifest).unwrap();
        assert_eq!((a.level, a.platform), (AnnotationLevel::Manifest, None));
        let a =
            LeveledAnnotation::parse("index-descriptor:k=v", AnnotationLevel::Manifest).unwrap();
        assert_eq!(a.level, AnnotationLevel::IndexDescriptor);
        let arm: Platform = "linux/arm64".parse().unwrap();
        let amd: Platform = "linux/amd64".parse().unwrap();
        let a = LeveledAnnotation::parse(
            "manifest-descriptor[linux/arm64]:k=v",
            AnnotationLevel::Manifest,
        )
        .unwrap();
        assert!(a.applies(AnnotationLevel::ManifestDescriptor, &arm));
        assert!(!a.applies(AnnotationLevel::ManifestDescriptor, &amd));
        assert!(!a.applies(AnnotationLevel::Manifest, &arm));
        let err = LeveledAnnotation::parse("layer:k=v", AnnotationLevel::Manifest).unwrap_err();
        assert!(err.to_string().contains("unknown annotation type"), "{err}");
    }
}
