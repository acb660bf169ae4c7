//! Opening what `inspect` and `verify` look at: any source `FROM`
//! accepts — a name in the store, `oci:DIR[:REF]`, `oci-archive:FILE[:REF]`,
//! `docker-archive:FILE[:REF]` or `docker://HOST/REPO:TAG` — as an OCI
//! layout holding its blobs (archives are unpacked and registry images
//! pulled into a scratch layout that lives as long as the [`Opened`]).

use crate::dest::docker_archive::{self, ArchiveMember};
use crate::dest::graph::{is_index, pick_platform, select_platform, Index};
use crate::dest::{archive, registry, DestError, ImageName, Layout, Location, RegistryOptions};
use crate::oci::{Descriptor, Platform};
use std::path::{Path, PathBuf};

/// Where an opened image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceKind {
    /// A name in the local store.
    Store,
    /// `oci:DIR[:REF]`.
    Oci,
    /// `oci-archive:FILE[:REF]`, unpacked.
    OciArchive,
    /// `docker-archive:FILE[:REF]`, converted to a layout.
    DockerArchive,
    /// `docker://...`, pulled.
    Registry,
}

/// An image source, opened: a layout with its blobs and the descriptor
/// its name points to.
#[derive(Debug)]
pub struct Opened {
    /// The source as given.
    pub source: String,
    /// What kind of source it is.
    pub kind: SourceKind,
    /// Where its blobs are.
    pub layout: Layout,
    /// What the name points to (an index or a manifest), or why no one
    /// image is named (a layout of several images and no REF: `verify`
    /// and `--tree` take the whole layout, the others need a name).
    top: Result<Descriptor, String>,
    /// For a docker-archive: its members, as the archive holds them.
    pub members: Vec<ArchiveMember>,
    /// Problems found while reading the source that no blob check sees
    /// (a docker-archive member named for another digest).
    pub problems: Vec<String>,
    /// The scratch directory an archive or a pull went to.
    _scratch: Option<tempfile::TempDir>,
}

/// Opens `spec`. A plain name is looked up in the store at `store`;
/// `opts` say how to reach registries (and which platform a pull picks).
pub fn open(spec: &str, store: &Path, opts: &RegistryOptions) -> Result<Opened, DestError> {
    let opened = |kind, layout: Layout, top: Result<Descriptor, DestError>, scratch| Opened {
        source: spec.to_string(),
        kind,
        layout,
        top: top.map_err(|e| e.to_string()),
        members: Vec::new(),
        problems: Vec::new(),
        _scratch: scratch,
    };
    let named = |reference: Option<ImageName>| reference.unwrap_or_else(|| "".into());
    match Location::parse(spec) {
        Ok(Location::Oci { dir, reference }) => {
            let layout = Layout::open(&dir)?;
            let top = layout.resolve(&named(reference));
            Ok(opened(SourceKind::Oci, layout, top, None))
        }
        Ok(Location::OciArchive { file, reference }) => {
            let scratch = scratch_dir(&file)?;
            let layout = archive::read_oci_archive(&file, scratch.path())?;
            let top = layout.resolve(&named(reference));
            Ok(opened(SourceKind::OciArchive, layout, top, Some(scratch)))
        }
        Ok(Location::DockerArchive { file, reference }) => {
            let scratch = scratch_dir(&file)?;
            let read = docker_archive::read(&file, reference.as_ref(), scratch.path())?;
            let mut o = opened(
                SourceKind::DockerArchive,
                read.layout,
                Ok(read.manifest),
                Some(scratch),
            );
            o.members = read.members;
            o.problems = read.problems;
            Ok(o)
        }
        Ok(Location::Registry { reference }) => {
            let scratch = scratch_dir(Path::new(&reference.full()))?;
            let layout = Layout::create(scratch.path())?;
            let pulled = registry::pull_image(&reference, &layout, opts, true)?;
            let top = pulled.index.unwrap_or(pulled.manifest);
            // named in the scratch layout, so that it reads as any layout
            layout.tag(&top, &ImageName::from(&reference))?;
            Ok(opened(SourceKind::Registry, layout, Ok(top), Some(scratch)))
        }
        Err(_) if !spec.contains("://") && !spec.is_empty() => {
            let layout = Layout::open(store)?;
            let top = layout.resolve(&ImageName::from(spec))?;
            Ok(opened(SourceKind::Store, layout, Ok(top), None))
        }
        Err(e) => Err(e),
    }
}

/// A scratch directory for unpacking `what` (in the system's temporary
/// directory: the source may be read-only).
fn scratch_dir(what: &Path) -> Result<tempfile::TempDir, DestError> {
    tempfile::Builder::new()
        .prefix("minibuild-inspect-")
        .tempdir()
        .map_err(DestError::io(format!(
            "creating a scratch directory to read {}",
            what.display()
        )))
}

impl Opened {
    /// What the source's name points to (an index or a manifest).
    pub fn top(&self) -> Result<&Descriptor, DestError> {
        self.top.as_ref().map_err(|reason| {
            DestError::invalid(format!("opening {}", self.source), reason.clone())
        })
    }

    /// The manifest to show: the top itself, or the entry of its index
    /// for `platform`. Without a platform an index with one image gives
    /// it, else the host's; when the index has none for the host, the
    /// error lists the platforms it has.
    pub fn image(&self, platform: Option<&Platform>) -> Result<Descriptor, DestError> {
        let top = self.top()?;
        if !is_index(&top.media_type) {
            return Ok(top.clone());
        }
        if let Some(p) = platform {
            return select_platform(&self.layout, top, p);
        }
        let index: Index = self.layout.read_json(&top.digest)?;
        if let [only] = index.manifests.as_slice() {
            if !is_index(&only.media_type) {
                return Ok(only.clone());
            }
        }
        match pick_platform(&index.manifests, &Platform::host()) {
            Some(found) => select_platform(&self.layout, &found, &Platform::host()),
            None => Err(self.no_platform(&index)),
        }
    }

    fn no_platform(&self, index: &Index) -> DestError {
        let listed: Vec<String> = index
            .manifests
            .iter()
            .map(|d| d.platform.as_ref().map_or("-".into(), |p| p.to_string()))
            .collect();
        DestError::invalid(
            format!("choosing an image of {}", self.source),
            format!(
                "the index has no image for {}; it lists {}: pick one with --platform",
                Platform::host(),
                listed.join(", ")
            ),
        )
    }

    /// True when the layout holds this source's blobs only (a layout or
    /// archive of its own, a pull), not a store shared by many images.
    pub fn owns_layout(&self) -> bool {
        self.kind != SourceKind::Store
    }

    /// The path shown for the layout (the archive for an archive).
    pub fn shown_root(&self) -> PathBuf {
        match Location::parse(&self.source) {
            Ok(Location::OciArchive { file, .. }) | Ok(Location::DockerArchive { file, .. }) => {
                file
            }
            Ok(Location::Registry { .. }) => PathBuf::from(&self.source),
            _ => self.layout.root().to_path_buf(),
        }
    }
}
