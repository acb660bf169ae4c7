//! Names of images in a layout's `index.json`, parsed once into
//! [`ImageName`]s.

use super::{DestError, Layout};
use crate::dest::graph::Index;
use crate::oci::{Descriptor, ANNOTATION_CONTAINERD_NAME, ANNOTATION_REF_NAME};
use crate::reference::{Reference, ReferenceError};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// The name of an image in a layout: the `org.opencontainers.image.ref.name`
/// as given, and the image reference it is when it is one (so `hello`,
/// `hello:latest` and `docker.io/library/hello:latest` name one image).
/// An OCI ref name need not be an image reference (`v1.0+build`); such a
/// name matches only itself. The empty name asks a layout for its only image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageName {
    name: String,
    reference: Result<Reference, ReferenceError>,
}

impl ImageName {
    /// A name that must be an image reference, as `-t` tags are.
    pub fn reference_name(name: &str) -> Result<ImageName, ReferenceError> {
        let reference = Reference::parse(name)?;
        Ok(ImageName {
            name: name.to_string(),
            reference: Ok(reference),
        })
    }

    /// The name as given: the `ref.name` written.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The image reference this name is, or why it is none.
    pub fn reference(&self) -> Result<&Reference, &ReferenceError> {
        self.reference.as_ref()
    }

    /// True when an index entry named `ref_name` is this image: the same
    /// string, or the same fully qualified image reference.
    pub fn names(&self, ref_name: &str) -> bool {
        if ref_name == self.name {
            return true;
        }
        let Ok(mine) = &self.reference else {
            return false;
        };
        Reference::parse(ref_name).is_ok_and(|other| other.full() == mine.full())
    }

    /// The annotations of an index entry with this name: `ref.name`, and
    /// containerd's `io.containerd.image.name` (the fully qualified name)
    /// when it is an image reference.
    pub fn annotations(&self) -> BTreeMap<String, String> {
        let mut a = BTreeMap::new();
        a.insert(ANNOTATION_REF_NAME.to_string(), self.name.clone());
        if let Ok(reference) = &self.reference {
            a.insert(ANNOTATION_CONTAINERD_NAME.to_string(), reference.full());
        }
        a
    }

    fn names_entry(&self, desc: &Descriptor) -> bool {
        ref_name(desc).is_some_and(|n| self.names(n))
    }
}

impl From<&str> for ImageName {
    /// Any string names an image in a layout; it is parsed as an image
    /// reference here, once.
    fn from(name: &str) -> ImageName {
        ImageName {
            name: name.to_string(),
            reference: Reference::parse(name),
        }
    }
}

impl From<&Reference> for ImageName {
    /// The name Docker shows for `reference` (`hello:latest`).
    fn from(reference: &Reference) -> ImageName {
        ImageName {
            name: reference.familiar(),
            reference: Ok(reference.clone()),
        }
    }
}

impl FromStr for ImageName {
    type Err = Infallible;

    fn from_str(s: &str) -> Result<ImageName, Infallible> {
        Ok(ImageName::from(s))
    }
}

impl fmt::Display for ImageName {
    /// The name as given.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Layout {
    /// Names `manifest` `name` in `index.json`: under the layout's lock,
    /// removes any entry already carrying that name, then adds `manifest`
    /// with the name's [annotations](ImageName::annotations) (others it
    /// carries are kept). Other entries are untouched.
    pub fn tag(&self, manifest: &Descriptor, name: &ImageName) -> Result<(), DestError> {
        let _lock = self.lock()?;
        let mut index = self.index()?;
        index.manifests.retain(|d| !name.names_entry(d));
        let mut desc = manifest.clone();
        let annotations = desc.annotations.get_or_insert_with(BTreeMap::new);
        annotations.remove(ANNOTATION_CONTAINERD_NAME);
        annotations.extend(name.annotations());
        index.manifests.push(desc);
        self.write_index(&index)
    }

    /// Lists `manifest` in `index.json` without a name, unless that digest
    /// is already listed.
    pub fn add_untagged(&self, manifest: &Descriptor) -> Result<(), DestError> {
        let _lock = self.lock()?;
        let mut index = self.index()?;
        if index.manifests.iter().any(|d| d.digest == manifest.digest) {
            return Ok(());
        }
        let mut desc = manifest.clone();
        if let Some(a) = desc.annotations.as_mut() {
            a.remove(ANNOTATION_REF_NAME);
            a.remove(ANNOTATION_CONTAINERD_NAME);
        }
        index.manifests.push(desc);
        self.write_index(&index)
    }

    /// Finds the image named `name`: see [`resolve_in`].
    pub fn resolve(&self, name: &ImageName) -> Result<Descriptor, DestError> {
        resolve_in(&self.index()?, name, &self.root)
    }

    /// Removes the name `name` from `index.json` (blobs stay until [`Layout::prune`]).
    pub fn untag(&self, name: &ImageName) -> Result<(), DestError> {
        let _lock = self.lock()?;
        let mut index = self.index()?;
        let before = index.manifests.len();
        index.manifests.retain(|d| !name.names_entry(d));
        if index.manifests.len() == before {
            return Err(DestError::NotFound {
                name: name.to_string(),
                layout: self.root.clone(),
            });
        }
        self.write_index(&index)
    }
}

/// Finds the image named `name` in `index` (of the layout or archive
/// `place`): by exact `ref.name`, else by normalized name (`hello` ==
/// `hello:latest` == `docker.io/library/hello:latest`). An empty name
/// resolves when the index has exactly one entry.
pub fn resolve_in(index: &Index, name: &ImageName, place: &Path) -> Result<Descriptor, DestError> {
    if name.as_str().is_empty() {
        return match index.manifests.as_slice() {
            [only] => Ok(only.clone()),
            entries => Err(DestError::invalid(
                format!("choosing an image in {}", place.display()),
                format!("no name given and the index lists {} images", entries.len()),
            )),
        };
    }
    let exact = |d: &&Descriptor| ref_name(d) == Some(name.as_str());
    let found = match index.manifests.iter().find(exact) {
        Some(d) => Some(d),
        None => index.manifests.iter().find(|d| name.names_entry(d)),
    };
    found.cloned().ok_or_else(|| DestError::NotFound {
        name: name.to_string(),
        layout: place.to_path_buf(),
    })
}

/// The `ref.name` annotation of an index entry.
pub fn ref_name(desc: &Descriptor) -> Option<&str> {
    desc.annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_REF_NAME))
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_normalizes_names() {
        let dir = tempfile::tempdir().unwrap();
        let l = Layout::create(dir.path()).unwrap();
        let d = l.put_blob(b"m").unwrap();
        let desc = Descriptor::new(crate::oci::MEDIA_TYPE_MANIFEST, d.clone(), 1);
        l.tag(&desc, &"hello".into()).unwrap();
        for name in [
            "hello",
            "hello:latest",
            "docker.io/library/hello:latest",
            "",
        ] {
            assert_eq!(l.resolve(&name.into()).unwrap().digest, d, "{name}");
        }
        assert!(l.resolve(&"other".into()).is_err());
        let entry = &l.index().unwrap().manifests[0];
        assert_eq!(
            entry.annotations.as_ref().unwrap()[ANNOTATION_CONTAINERD_NAME],
            "docker.io/library/hello:latest"
        );
        l.untag(&"docker.io/library/hello".into()).unwrap();
        assert!(l.index().unwrap().manifests.is_empty());
        assert!(matches!(
            l.untag(&"hello".into()),
            Err(DestError::NotFound { .. })
        ));
        l.tag(&desc, &"a".into()).unwrap();
        l.tag(&desc, &"b".into()).unwrap();
        let err = l.resolve(&"".into()).unwrap_err().to_string();
        assert!(
            err.contains("no name given and the index lists 2 images"),
            "{err}"
        );
    }

    #[test]
    fn names_parse_once_and_need_not_be_references() {
        let n: ImageName = "hello".parse().unwrap();
        assert_eq!(n.as_str(), "hello");
        assert_eq!(n.to_string(), "hello");
        assert_eq!(
            n.reference().unwrap().full(),
            "docker.io/library/hello:latest"
        );
        assert!(n.names("docker.io/library/hello:latest"));
        assert!(n.names("hello"));
        assert!(!n.names("hello:1"));
        // an OCI ref.name that is no image reference matches only itself
        let v = ImageName::from("v1.0+build");
        assert!(v.reference().is_err());
        assert!(v.names("v1.0+build"));
        assert!(!v.names("v1.0"));
        let a = v.annotations();
        assert_eq!(a[ANNOTATION_REF_NAME], "v1.0+build");
        assert!(!a.contains_key(ANNOTATION_CONTAINERD_NAME));
        let err = ImageName::reference_name("Hello").unwrap_err().to_string();
        assert!(
            err.starts_with("parsing image reference \"Hello\""),
            "{err}"
        );
    }
}
