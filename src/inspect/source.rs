//! Opening what `inspect` and `verify` look at: any source `FROM`
//! accepts — a name in the store, `oci:DIR[:REF]`, `oci-archive:FILE[:REF]`,
//! `docker-archive:FILE[:REF]` or `docker://HOST/REPO:TAG` — as an OCI
//! source of blobs: a layout, or an archive read in place (nothing of it
//! is unpacked); registry images are pulled into a scratch layout that
//! lives as long as the [`Opened`].

use crate::dest::archive_source::ArchiveSource;
use crate::dest::docker_archive::{self, ArchiveMember};
use crate::dest::fsck::{fsck_images_in, CheckSource, FsckError, FsckReport};
use crate::dest::graph::BlobSource;
use crate::dest::graph::{self, is_index, pick_platform, select_platform, Index};
use crate::dest::layout::BlobReader;
use crate::dest::{registry, DestError, ImageName, Layout, Location, RegistryOptions};
use crate::digest::Digest;
use crate::oci::{Descriptor, Platform};
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// Where an opened image's blobs are.
#[derive(Debug)]
pub enum Blobs {
    /// A layout directory (the store, `oci:`, a pull).
    Layout(Layout),
    /// An archive, read in place.
    Archive(ArchiveSource),
}

impl BlobSource for Blobs {
    fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, DestError> {
        match self {
            Blobs::Layout(l) => l.read_blob(digest),
            Blobs::Archive(a) => a.read_blob(digest),
        }
    }

    fn open_blob(&self, digest: &Digest) -> Result<BlobReader, DestError> {
        match self {
            Blobs::Layout(l) => l.open_blob(digest),
            Blobs::Archive(a) => a.open_blob(digest),
        }
    }
}

impl Blobs {
    /// Reads and parses a JSON blob (verified against its digest).
    pub fn read_json<T: DeserializeOwned>(&self, digest: &Digest) -> Result<T, DestError> {
        graph::read_json(self, digest)
    }

    /// The index (`index.json`; a docker-archive's, made for it).
    pub fn index(&self) -> Result<Index, DestError> {
        match self {
            Blobs::Layout(l) => l.index(),
            Blobs::Archive(a) => Ok(a.index().clone()),
        }
    }

    /// Checks everything the index reaches, and lists blobs nothing does.
    pub fn fsck(&self) -> Result<FsckReport, FsckError> {
        match self {
            Blobs::Layout(l) => l.fsck(),
            Blobs::Archive(a) => a.fsck(),
        }
    }

    /// Checks the images `entries` reach.
    pub fn fsck_images(&self, entries: &[Descriptor]) -> FsckReport {
        let src: &dyn CheckSource = match self {
            Blobs::Layout(l) => l,
            Blobs::Archive(a) => a,
        };
        fsck_images_in(src, entries)
    }

    /// The regular files the source is made of (path, size), sorted: a
    /// layout's `oci-layout`, `index.json`, other files at its top and
    /// `blobs/sha256/*`; an archive's file members.
    pub fn files(&self) -> Result<Vec<(String, u64)>, DestError> {
        let mut files = match self {
            Blobs::Layout(l) => layout_files(l.root())?,
            Blobs::Archive(a) => a
                .member_list()
                .iter()
                .filter(|m| m.is_file())
                .map(|m| (m.name.clone(), m.size))
                .collect(),
        };
        files.sort();
        files.dedup_by(|a, b| a.0 == b.0);
        Ok(files)
    }
}

/// The regular files at the top of a layout and in `blobs/sha256` (not
/// hidden ones: a store's locks and temporaries).
fn layout_files(root: &Path) -> Result<Vec<(String, u64)>, DestError> {
    let mut files = Vec::new();
    for (dir, prefix) in [
        (root.to_path_buf(), ""),
        (root.join("blobs/sha256"), "blobs/sha256/"),
    ] {
        let listing =
            std::fs::read_dir(&dir).map_err(DestError::io(format!("listing {}", dir.display())))?;
        for entry in listing {
            let entry = entry.map_err(DestError::io(format!("listing {}", dir.display())))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let meta = entry.metadata();
            if name.starts_with('.') || !meta.as_ref().is_ok_and(|m| m.is_file()) {
                continue;
            }
            files.push((format!("{prefix}{name}"), meta.map_or(0, |m| m.len())));
        }
    }
    Ok(files)
}

/// Where an opened image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceKind {
    /// A name in the local store.
    Store,
    /// `oci:DIR[:REF]`.
    Oci,
    /// `oci-archive:FILE[:REF]`, read in place.
    OciArchive,
    /// `docker-archive:FILE[:REF]`, read in place (a manifest made for it).
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
    pub blobs: Blobs,
    /// What the name points to (an index or a manifest), or why no one
    /// image is named (a layout of several images and no REF: `verify`
    /// and `--tree` take the whole layout, the others need a name).
    top: Result<Descriptor, String>,
    /// For a docker-archive: its members, as the archive holds them.
    pub members: Vec<ArchiveMember>,
    /// Problems found while reading the source that no blob check sees
    /// (a docker-archive member named for another digest).
    pub problems: Vec<String>,
    /// The scratch directory a pull went to.
    _scratch: Option<tempfile::TempDir>,
}

/// Opens `spec`. A plain name is looked up in the store at `store`;
/// `opts` say how to reach registries (and which platform a pull picks).
pub fn open(spec: &str, store: &Path, opts: &RegistryOptions) -> Result<Opened, DestError> {
    let opened = |kind, blobs: Blobs, top: Result<Descriptor, DestError>, scratch| Opened {
        source: spec.to_string(),
        kind,
        blobs,
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
            Ok(opened(SourceKind::Oci, Blobs::Layout(layout), top, None))
        }
        Ok(Location::OciArchive { file, reference }) => {
            let archive = ArchiveSource::oci(&file)?;
            let top = archive.resolve(&named(reference));
            let blobs = Blobs::Archive(archive);
            Ok(opened(SourceKind::OciArchive, blobs, top, None))
        }
        Ok(Location::DockerArchive { file, reference }) => {
            let read = docker_archive::read(&file, reference.as_ref())?;
            let members = read.source.member_list().to_vec();
            let blobs = Blobs::Archive(read.source);
            let mut o = opened(SourceKind::DockerArchive, blobs, Ok(read.manifest), None);
            o.members = members;
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
            let blobs = Blobs::Layout(layout);
            Ok(opened(SourceKind::Registry, blobs, Ok(top), Some(scratch)))
        }
        Err(_) if !spec.contains("://") && !spec.is_empty() => {
            let layout = Layout::open(store)?;
            let top = layout.resolve(&ImageName::from(spec))?;
            Ok(opened(
                SourceKind::Store,
                Blobs::Layout(layout),
                Ok(top),
                None,
            ))
        }
        Err(e) => Err(e),
    }
}

/// A scratch directory for pulling `what` (in the system's temporary
/// directory).
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
            return select_platform(&self.blobs, top, p);
        }
        let index: Index = self.blobs.read_json(&top.digest)?;
        if let [only] = index.manifests.as_slice() {
            if !is_index(&only.media_type) {
                return Ok(only.clone());
            }
        }
        match pick_platform(&index.manifests, &Platform::host()) {
            Some(found) => select_platform(&self.blobs, &found, &Platform::host()),
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
        match (&self.blobs, &self.kind) {
            (Blobs::Archive(a), _) => a.file().to_path_buf(),
            (_, SourceKind::Registry) => PathBuf::from(&self.source),
            (Blobs::Layout(l), _) => l.root().to_path_buf(),
        }
    }
}
