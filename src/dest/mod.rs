//! Where images go: an OCI layout (the local store is one), OCI and Docker
//! archives, and registries.
//!
//! An image is a manifest descriptor whose blobs sit in a source
//! [`Layout`]; [`export`] writes it to a [`Location`], [`fetch_image`]
//! brings one in.

pub mod annotation;
pub mod archive;
pub mod archive_source;
pub mod auth;
pub mod commands;
pub mod docker_archive;
pub mod error;
pub mod fsck;
pub mod graph;
mod images;
pub mod index;
pub mod layout;
pub mod options;
pub mod referrers;
pub mod registry;
pub mod scratch;
pub mod store;

pub use crate::reference::Reference;
pub use error::DestError;
pub use graph::{BlobSource, ConfigFile, Index, Manifest};
pub use layout::{BlobWriter, HoldGuard, ImageName, Layout};
pub use options::{PushOptions, RegistryOptions};
pub use store::default_store_path;

use crate::oci::Descriptor;
use std::path::{Path, PathBuf};

/// Where an image is, or is to go, in skopeo's transport syntax: the
/// destinations of `-o` and `push`, and the sources of `FROM` and pulls.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// `oci:DIR[:REF]`: an OCI layout directory, written or updated.
    Oci {
        /// The layout directory.
        dir: PathBuf,
        /// The name to give the image (overrides `-t`).
        reference: Option<ImageName>,
    },
    /// `oci-archive:FILE[:REF]`: a tar of an OCI layout (with a Docker manifest.json).
    OciArchive {
        /// The archive.
        file: PathBuf,
        /// The name to give the image (overrides `-t`).
        reference: Option<ImageName>,
    },
    /// `docker-archive:FILE[:REF]`: the `docker save` format.
    DockerArchive {
        /// The archive.
        file: PathBuf,
        /// The name to give the image (overrides `-t`).
        reference: Option<ImageName>,
    },
    /// `docker://HOST[:PORT]/REPO:TAG`: a registry.
    Registry {
        /// Where to push.
        reference: Reference,
    },
}

impl Location {
    /// Parses `oci:DIR[:REF]`, `oci-archive:FILE[:REF]`,
    /// `docker-archive:FILE[:REF]` or `docker://REFERENCE`.
    pub fn parse(s: &str) -> Result<Location, DestError> {
        let what = format!("parsing destination {s:?}");
        let path_ref = |rest: &str| -> Result<(PathBuf, Option<ImageName>), DestError> {
            let (path, reference) = match rest.split_once(':') {
                Some((p, r)) => (p, Some(r).filter(|r| !r.is_empty()).map(ImageName::from)),
                None => (rest, None),
            };
            if path.is_empty() {
                return Err(DestError::invalid(what.clone(), "the path is empty"));
            }
            Ok((PathBuf::from(path), reference))
        };
        if let Some(rest) = s.strip_prefix("docker://") {
            return Ok(Location::Registry {
                reference: Reference::parse(rest)?,
            });
        }
        if let Some(rest) = s.strip_prefix("oci-archive:") {
            let (file, reference) = path_ref(rest)?;
            return Ok(Location::OciArchive { file, reference });
        }
        if let Some(rest) = s.strip_prefix("docker-archive:") {
            let (file, reference) = path_ref(rest)?;
            return Ok(Location::DockerArchive { file, reference });
        }
        if let Some(rest) = s.strip_prefix("oci:") {
            let (dir, reference) = path_ref(rest)?;
            return Ok(Location::Oci { dir, reference });
        }
        Err(DestError::invalid(
            what,
            "expected oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:REF] or docker://HOST/REPO:TAG",
        ))
    }
}

/// Exports the image (manifest in `src`) to `dest`, named `names` (from -t;
/// REF in the dest string overrides). Returns a one-line description for the
/// user ("oci:out:hello:scratch").
pub fn export(
    src: &Layout,
    manifest: &Descriptor,
    names: &[ImageName],
    dest: &Location,
    opts: &RegistryOptions,
) -> Result<String, DestError> {
    export_with(src, manifest, &[], names, dest, opts)
}

/// [`export`], with `artifacts` about the image (SBOM, provenance) carried
/// along into `oci:` layouts and `oci-archive:`s, listed in their
/// `index.json` (a docker archive cannot hold them; registries get them
/// through `registry::referrers`).
pub fn export_with(
    src: &Layout,
    manifest: &Descriptor,
    artifacts: &[Descriptor],
    names: &[ImageName],
    dest: &Location,
    opts: &RegistryOptions,
) -> Result<String, DestError> {
    let chosen = |reference: &Option<ImageName>| -> Vec<ImageName> {
        match reference {
            Some(r) => vec![r.clone()],
            None => names.to_vec(),
        }
    };
    let describe = |kind: &str, path: &Path, names: &[ImageName]| {
        let mut s = format!("{kind}:{}", path.display());
        if let Some(n) = names.first() {
            s.push(':');
            s.push_str(n.as_str());
        }
        s
    };
    let picked = pick_for_export(src, manifest, dest, opts)?;
    let manifest = &picked;
    match dest {
        Location::Oci { dir, reference } => {
            let names = chosen(reference);
            // staged: a blob that fails its check leaves nothing in `dir`
            let out = Layout::staging(dir);
            let _hold = out.hold()?;
            out.copy_image_from(src, manifest)?;
            for a in artifacts {
                out.copy_image_from(src, a)?;
            }
            // the layout may be new: make it and hold it now
            out.ensure_created()?;
            let _hold = out.hold()?;
            out.publish(manifest)?;
            for a in artifacts {
                out.publish(a)?;
                out.add_untagged(a)?;
            }
            if names.is_empty() {
                out.add_untagged(manifest)?;
            }
            for name in &names {
                out.tag(manifest, name)?;
            }
            Ok(describe("oci", dir, &names))
        }
        Location::OciArchive { file, reference } => {
            let names = chosen(reference);
            archive::write_oci_archive(
                src,
                manifest,
                artifacts,
                &names,
                file,
                &opts.platform(),
                &opts.events,
            )?;
            Ok(describe("oci-archive", file, &names))
        }
        Location::DockerArchive { file, reference } => {
            let names = chosen(reference);
            archive::write_docker_archive(
                src,
                manifest,
                &names,
                file,
                &opts.platform(),
                &opts.events,
            )?;
            Ok(describe("docker-archive", file, &names))
        }
        Location::Registry { reference } => {
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

/// The image [`export`] writes: with a platform chosen (`save
/// --platform`), that platform's image of an index; else `manifest` as it
/// is. A `docker-archive` holds one image: an index without a platform
/// chosen is refused, with the platforms it has.
fn pick_for_export(
    src: &Layout,
    manifest: &Descriptor,
    dest: &Location,
    opts: &RegistryOptions,
) -> Result<Descriptor, DestError> {
    if !graph::is_index(&manifest.media_type) {
        return Ok(manifest.clone());
    }
    if let Some(platform) = &opts.platform {
        return graph::select_platform(src, manifest, platform);
    }
    if let Location::DockerArchive { .. } = dest {
        let index: Index = src.read_json(&manifest.digest)?;
        return Err(DestError::invalid(
            format!("choosing one image of index {}", manifest.digest),
            format!(
                "a docker archive holds one image, and the index has {}: choose one with --platform (minibuild save --platform OS/ARCH NAME docker-archive:FILE), or write oci-archive:",
                graph::platforms_listed(&index.manifests).join(", ")
            ),
        ));
    }
    Ok(manifest.clone())
}

/// Brings an image into `into` from a source spec: `oci:DIR[:REF]`,
/// `oci-archive:FILE[:REF]`, `docker-archive:FILE[:REF]`,
/// `docker://HOST/REPO:TAG`, or a plain name.
/// Returns its manifest descriptor (single-platform: `opts.platform`, the
/// host's by default, is picked from an index).
///
/// A plain name is looked up in `store` only; a `docker://` image is
/// resolved at its registry and cached in `store` under its familiar name
/// (blobs already there are not fetched again). See [`fetch_image_with`]
/// for the other [`PullPolicy`]s.
pub fn fetch_image(
    spec: &str,
    store: &Layout,
    into: &Layout,
    opts: &RegistryOptions,
) -> Result<Descriptor, DestError> {
    fetch_image_with(spec, store, into, opts, PullPolicy::Resolve)
}

/// When [`fetch_image_with`] goes to a registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PullPolicy {
    /// A `docker://` image is always resolved at its registry; a plain name
    /// comes from the store only. What [`fetch_image`] does.
    Resolve,
    /// A `docker://` image already in the store (under its familiar name)
    /// is used without the network; a plain name comes from the store
    /// only. What a build does without `--pull`.
    Cached,
    /// `--pull`: a `docker://` image is always resolved at its registry,
    /// and a plain name missing from the store is pulled from its registry
    /// (`alpine` is `docker.io/library/alpine:latest`).
    Pull,
}

/// [`fetch_image`] under `policy`. Whatever comes from a registry is cached
/// in `store` under its familiar name, so a later build finds it there.
pub fn fetch_image_with(
    spec: &str,
    store: &Layout,
    into: &Layout,
    opts: &RegistryOptions,
    policy: PullPolicy,
) -> Result<Descriptor, DestError> {
    let from_layout = |layout: &Layout, name: &ImageName| -> Result<Descriptor, DestError> {
        take_image(layout, layout.resolve(name)?, into, &opts.platform())
    };
    match Location::parse(spec) {
        Ok(Location::Oci { dir, reference }) => {
            let layout = Layout::open(&dir)?;
            from_layout(&layout, &reference.unwrap_or_else(|| "".into()))
        }
        Ok(Location::OciArchive { file, reference }) => {
            let archive = archive_source::ArchiveSource::oci(&file)?;
            let top = archive.resolve(&reference.unwrap_or_else(|| "".into()))?;
            take_image(&archive, top, into, &opts.platform())
        }
        Ok(Location::Registry { reference }) => {
            let cached = ImageName::from(&reference);
            let fits = |d: Descriptor| cached_fits(store, &d, &opts.platform());
            if policy == PullPolicy::Cached && store.resolve(&cached).is_ok_and(fits) {
                return from_layout(store, &cached);
            }
            pull_into_store(&reference, store, into, opts)
        }
        Ok(Location::DockerArchive { file, reference }) => {
            let read = docker_archive::read(&file, reference.as_ref())?;
            take_image(&read.source, read.manifest, into, &opts.platform())
        }
        Err(_) if !spec.contains("://") => {
            let name = ImageName::from(spec);
            match from_layout(store, &name) {
                Err(DestError::NotFound { .. }) if policy == PullPolicy::Pull => {
                    let reference = name.reference().map_err(|e| e.clone())?;
                    pull_into_store(reference, store, into, opts)
                }
                other => other,
            }
        }
        Err(e) => Err(e),
    }
}

/// Copies the image for `platform` of `top` (a manifest or an index in
/// `src`) into `into`, its blobs verified as they stream; its descriptor.
fn take_image(
    src: &(impl BlobSource + ?Sized),
    top: Descriptor,
    into: &Layout,
    platform: &crate::oci::Platform,
) -> Result<Descriptor, DestError> {
    let image = graph::select_platform(src, &top, platform)?;
    into.copy_image_from(src, &image)?;
    Ok(plain(image))
}

/// An empty directory for a temporary layout (a scratch build, an index
/// made), inside a scratch directory in `$TMPDIR` (never in the
/// store: FROM works from a read-only one), removed when the scratch
/// directory is dropped or on a signal.
pub fn scratch_layout_dir() -> Result<(scratch::ScratchDir, PathBuf), DestError> {
    let tmp = std::env::temp_dir();
    let scratch = scratch::ScratchDir::new_in(&tmp, false).map_err(DestError::io(format!(
        "creating a scratch directory in {}",
        tmp.display()
    )))?;
    let unpacked = scratch.path().join("layout");
    std::fs::create_dir(&unpacked)
        .map_err(DestError::io(format!("creating {}", unpacked.display())))?;
    Ok((scratch, unpacked))
}

/// Pulls `reference` into `store`, names it there (its familiar name, as
/// `images` shows it) and copies it into `into`.
fn pull_into_store(
    reference: &Reference,
    store: &Layout,
    into: &Layout,
    opts: &RegistryOptions,
) -> Result<Descriptor, DestError> {
    store.ensure_created()?;
    let _hold = store.hold()?;
    let desc = registry::pull(reference, store, opts).map_err(|e| {
        if reference.registry == crate::reference::DEFAULT_REGISTRY && matches!(e, DestError::Http { .. }) {
            DestError::invalid(
                format!("pulling {} from Docker Hub", reference.full()),
                format!(
                    "{e}\n  docker.io could not be reached (it needs internet access): build the base \
                     image locally (-t {}), or push it to a registry you can reach and name that one",
                    reference.familiar()
                ),
            )
        } else {
            e
        }
    })?;
    let desc = plain(desc);
    // a staging store (a build into it) names only what it has published
    store.publish(&desc)?;
    let name = ImageName::from(reference);
    let cached = index::with_cached_platforms(store, &name, &desc)?;
    store.publish(&cached)?;
    store.tag(&cached, &name)?;
    if into.root() != store.root() {
        into.copy_image_from(store, &desc)?;
    }
    Ok(desc)
}

/// True when the image cached in `store` from a registry can serve
/// `platform`: an index with an image for it (see
/// [`index::with_cached_platforms`]), or an image whose config states a
/// platform containerd's matcher takes for it. Otherwise the build pulls
/// that platform's image.
fn cached_fits(store: &Layout, desc: &Descriptor, platform: &crate::oci::Platform) -> bool {
    if graph::is_index(&desc.media_type) {
        return graph::select_platform(store, desc, platform).is_ok();
    }
    match index::config_platform(store, desc) {
        Ok(have) => platform.compatible().iter().any(|p| p.same_as(&have)),
        Err(_) => false,
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
    use crate::oci::{MEDIA_TYPE_CONFIG, MEDIA_TYPE_LAYER_TAR, MEDIA_TYPE_MANIFEST};

    /// A one-layer image in `layout`; its manifest descriptor.
    fn tiny(layout: &Layout) -> Descriptor {
        let config =
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        let layer = b"not really a tar";
        let c = layout.put_blob(config).unwrap();
        let l = layout.put_blob(layer).unwrap();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": MEDIA_TYPE_MANIFEST,
            "config": {"mediaType": MEDIA_TYPE_CONFIG, "digest": c, "size": config.len()},
            "layers": [{"mediaType": MEDIA_TYPE_LAYER_TAR, "digest": l, "size": layer.len()}],
        });
        let bytes = serde_json::to_vec(&manifest).unwrap();
        let d = layout.put_blob(&bytes).unwrap();
        Descriptor::new(MEDIA_TYPE_MANIFEST, d, bytes.len() as u64)
    }

    #[test]
    fn pull_policies_decide_when_the_registry_is_asked() {
        // Port 1 on 127.0.0.1: nothing answers, so any registry access fails.
        let store_dir = tempfile::tempdir().unwrap();
        let store = Layout::create(store_dir.path()).unwrap();
        let m = tiny(&store);
        store.tag(&m, &"127.0.0.1:1/cached:1".into()).unwrap();
        store.tag(&m, &"local:1".into()).unwrap();
        let into_dir = tempfile::tempdir().unwrap();
        let into = Layout::create(into_dir.path()).unwrap();
        let opts = RegistryOptions::default();
        let fetch = |spec: &str, policy| fetch_image_with(spec, &store, &into, &opts, policy);

        let got = fetch("docker://127.0.0.1:1/cached:1", PullPolicy::Cached).unwrap();
        assert_eq!(got.digest, m.digest);
        assert!(into.has_blob(&m.digest), "copied into the build layout");
        for policy in [PullPolicy::Resolve, PullPolicy::Pull] {
            let err = fetch("docker://127.0.0.1:1/cached:1", policy).unwrap_err();
            assert!(matches!(err, DestError::Http { .. }), "{policy:?}: {err}");
        }
        // Plain names: the store for every policy; only Pull goes further.
        for policy in [PullPolicy::Resolve, PullPolicy::Cached, PullPolicy::Pull] {
            assert_eq!(fetch("local:1", policy).unwrap().digest, m.digest);
            assert_eq!(
                fetch("127.0.0.1:1/cached:1", policy).unwrap().digest,
                m.digest
            );
        }
        for policy in [PullPolicy::Resolve, PullPolicy::Cached] {
            let err = fetch("127.0.0.1:1/missing:1", policy).unwrap_err();
            assert!(matches!(err, DestError::NotFound { .. }), "{err}");
        }
        let err = fetch("127.0.0.1:1/missing:1", PullPolicy::Pull).unwrap_err();
        assert!(err.to_string().contains("http://127.0.0.1:1/v2/"), "{err}");
    }

    #[test]
    fn parses_destinations() {
        assert_eq!(
            Location::parse("oci:out:hello:scratch").unwrap(),
            Location::Oci {
                dir: "out".into(),
                reference: Some("hello:scratch".into())
            }
        );
        assert_eq!(
            Location::parse("oci-archive:/tmp/a.tar").unwrap(),
            Location::OciArchive {
                file: "/tmp/a.tar".into(),
                reference: None
            }
        );
        assert_eq!(
            Location::parse("docker-archive:a.tar:x:1").unwrap(),
            Location::DockerArchive {
                file: "a.tar".into(),
                reference: Some("x:1".into())
            }
        );
        match Location::parse("docker://127.0.0.1:5000/a/b:t").unwrap() {
            Location::Registry { reference } => {
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
            let err = Location::parse(input).unwrap_err().to_string();
            assert!(err.contains(msg), "{input}: {err}");
        }
    }
}
