//! Where images go: an OCI layout (the local store is one), OCI and Docker
//! archives, and registries.
//!
//! An image is a manifest descriptor whose blobs sit in a source
//! [`Layout`]; [`export`] writes it to a [`Destination`], [`fetch_image`]
//! brings one in.

pub mod archive;
pub mod auth;
pub mod commands;
pub mod layout;
pub mod reference;
pub mod registry;
pub mod store;

pub use layout::{BlobWriter, ConfigFile, DestError, Index, Layout, Manifest};
pub use reference::Reference;
pub use store::default_store_path;

use crate::oci::{Descriptor, Platform};
use std::path::{Path, PathBuf};

/// Where to export an image, in skopeo's transport syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Destination {
    /// `oci:DIR[:REF]`: an OCI layout directory, written or updated.
    Oci {
        /// The layout directory.
        dir: PathBuf,
        /// The name to give the image (overrides `-t`).
        reference: Option<String>,
    },
    /// `oci-archive:FILE[:REF]`: a tar of an OCI layout (with a Docker manifest.json).
    OciArchive {
        /// The archive.
        file: PathBuf,
        /// The name to give the image (overrides `-t`).
        reference: Option<String>,
    },
    /// `docker-archive:FILE[:REF]`: the `docker save` format.
    DockerArchive {
        /// The archive.
        file: PathBuf,
        /// The name to give the image (overrides `-t`).
        reference: Option<String>,
    },
    /// `docker://HOST[:PORT]/REPO:TAG`: a registry.
    Registry {
        /// Where to push.
        reference: Reference,
    },
}

impl Destination {
    /// Parses `oci:DIR[:REF]`, `oci-archive:FILE[:REF]`,
    /// `docker-archive:FILE[:REF]` or `docker://REFERENCE`.
    pub fn parse(s: &str) -> Result<Destination, DestError> {
        let what = format!("parsing destination {s:?}");
        let path_ref = |rest: &str| -> Result<(PathBuf, Option<String>), DestError> {
            let (path, reference) = match rest.split_once(':') {
                Some((p, r)) => (p, Some(r.to_string()).filter(|r| !r.is_empty())),
                None => (rest, None),
            };
            if path.is_empty() {
                return Err(DestError::invalid(what.clone(), "the path is empty"));
            }
            Ok((PathBuf::from(path), reference))
        };
        if let Some(rest) = s.strip_prefix("docker://") {
            return Ok(Destination::Registry {
                reference: Reference::parse(rest)?,
            });
        }
        if let Some(rest) = s.strip_prefix("oci-archive:") {
            let (file, reference) = path_ref(rest)?;
            return Ok(Destination::OciArchive { file, reference });
        }
        if let Some(rest) = s.strip_prefix("docker-archive:") {
            let (file, reference) = path_ref(rest)?;
            return Ok(Destination::DockerArchive { file, reference });
        }
        if let Some(rest) = s.strip_prefix("oci:") {
            let (dir, reference) = path_ref(rest)?;
            return Ok(Destination::Oci { dir, reference });
        }
        Err(DestError::invalid(
            what,
            "expected oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:REF] or docker://HOST/REPO:TAG",
        ))
    }
}

/// How to talk to registries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushOptions {
    /// `Some(false)`: plain HTTP; `Some(true)`: HTTPS even for localhost;
    /// `None`: plain HTTP for localhost/127.0.0.1 only.
    pub tls_verify: Option<bool>,
    /// An auth file to search before the usual ones.
    pub auth_file: Option<PathBuf>,
}

/// Exports the image (manifest in `src`) to `dest`, named `names` (from -t;
/// REF in the dest string overrides). Returns a one-line description for the
/// user ("oci:out:hello:scratch").
pub fn export(
    src: &Layout,
    manifest: &Descriptor,
    names: &[String],
    dest: &Destination,
    opts: &PushOptions,
) -> Result<String, DestError> {
    let chosen = |reference: &Option<String>| -> Vec<String> {
        match reference {
            Some(r) => vec![r.clone()],
            None => names.to_vec(),
        }
    };
    let describe = |kind: &str, path: &Path, names: &[String]| {
        let mut s = format!("{kind}:{}", path.display());
        if let Some(n) = names.first() {
            s.push(':');
            s.push_str(n);
        }
        s
    };
    match dest {
        Destination::Oci { dir, reference } => {
            let names = chosen(reference);
            let out = Layout::create(dir)?;
            out.copy_image_from(src, manifest)?;
            if names.is_empty() {
                out.add_untagged(manifest)?;
            }
            for name in &names {
                out.tag(manifest, name)?;
            }
            Ok(describe("oci", dir, &names))
        }
        Destination::OciArchive { file, reference } => {
            let names = chosen(reference);
            archive::write_oci_archive(src, manifest, &names, file)?;
            Ok(describe("oci-archive", file, &names))
        }
        Destination::DockerArchive { file, reference } => {
            let names = chosen(reference);
            archive::write_docker_archive(src, manifest, &names, file)?;
            Ok(describe("docker-archive", file, &names))
        }
        Destination::Registry { reference } => {
            let report = registry::push(src, manifest, reference, opts)?;
            Ok(format!(
                "docker://{}@{} ({} blobs uploaded, {} already there)",
                reference.full(),
                report.digest,
                report.uploaded,
                report.skipped
            ))
        }
    }
}

/// Brings an image into `into` from a source spec: `oci:DIR[:REF]`,
/// `oci-archive:FILE[:REF]`, `docker://HOST/REPO:TAG`, or a plain name
/// resolved in `store`. Returns its manifest descriptor (single-platform:
/// the host platform is picked from an index).
pub fn fetch_image(
    spec: &str,
    store: &Layout,
    into: &Layout,
    opts: &PushOptions,
) -> Result<Descriptor, DestError> {
    let from_layout = |layout: &Layout, name: &str| -> Result<Descriptor, DestError> {
        let top = layout.resolve(name)?;
        let image = layout::select_platform(layout, &top, &Platform::host())?;
        into.copy_image_from(layout, &image)?;
        Ok(plain(image))
    };
    match Destination::parse(spec) {
        Ok(Destination::Oci { dir, reference }) => {
            let layout = Layout::open(&dir)?;
            from_layout(&layout, reference.as_deref().unwrap_or(""))
        }
        Ok(Destination::OciArchive { file, reference }) => {
            let scratch = tempfile::Builder::new()
                .prefix(".tmp-")
                .tempdir_in(into.root())
                .map_err(DestError::io(format!(
                    "creating a scratch directory in {}",
                    into.root().display()
                )))?;
            let layout = archive::read_oci_archive(&file, scratch.path())?;
            from_layout(&layout, reference.as_deref().unwrap_or(""))
        }
        Ok(Destination::Registry { reference }) => {
            registry::pull(&reference, into, opts).map(plain)
        }
        Ok(Destination::DockerArchive { .. }) => Err(DestError::invalid(
            format!("fetching {spec}"),
            "reading docker-archive is not supported; use oci-archive or a registry",
        )),
        Err(_) if !spec.contains("://") => from_layout(store, spec),
        Err(e) => Err(e),
    }
}

fn plain(mut d: Descriptor) -> Descriptor {
    d.annotations = None;
    d.platform = None;
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_destinations() {
        assert_eq!(
            Destination::parse("oci:out:hello:scratch").unwrap(),
            Destination::Oci {
                dir: "out".into(),
                reference: Some("hello:scratch".into())
            }
        );
        assert_eq!(
            Destination::parse("oci-archive:/tmp/a.tar").unwrap(),
            Destination::OciArchive {
                file: "/tmp/a.tar".into(),
                reference: None
            }
        );
        assert_eq!(
            Destination::parse("docker-archive:a.tar:x:1").unwrap(),
            Destination::DockerArchive {
                file: "a.tar".into(),
                reference: Some("x:1".into())
            }
        );
        match Destination::parse("docker://127.0.0.1:5000/a/b:t").unwrap() {
            Destination::Registry { reference } => {
                assert_eq!(reference.registry, "127.0.0.1:5000");
                assert_eq!(reference.repository, "a/b");
                assert_eq!(reference.tag.as_deref(), Some("t"));
            }
            other => panic!("{other:?}"),
        }
        let cases = [
            ("hello", "expected oci:DIR[:REF]"),
            ("oci:", "the path is empty"),
            ("docker://", "parsing image reference"),
        ];
        for (input, msg) in cases {
            let err = Destination::parse(input).unwrap_err().to_string();
            assert!(err.contains(msg), "{input}: {err}");
        }
    }
}
