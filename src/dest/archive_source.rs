//! Image archives read in place: the tar is indexed once (each member's
//! name, where its bytes start and how many there are), and a blob is
//! served by reading that byte range of the file, hashed as it streams and
//! checked against its digest at its end. Nothing is unpacked: `FROM
//! oci-archive:`, `FROM docker-archive:`, `inspect`, `layers` and `verify`
//! of an archive write nothing beside it or in `$TMPDIR`.
//!
//! An `oci-archive` is an OCI layout in a tar: its `index.json` is the
//! index and `blobs/sha256/<hex>` its blobs. A `docker-archive` (see
//! [`super::docker_archive`]) has no manifest: one is made in memory for
//! the config and layers its `manifest.json` lists, which stay where they
//! are in the archive.

use super::error::DestError;
use super::fsck::{check_layout_version, fsck_images_in, BlobProblem, CheckSource};
use super::fsck::{FsckError, FsckReport};
use super::graph::{BlobSource, Index};
use super::layout::BlobReader;
use crate::digest::{sha256, Digest, HashingWriter};
use crate::oci::Descriptor;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The most bytes a member read whole (JSON) may have.
const MAX_JSON: u64 = 64 << 20;

/// A member of an archive, as its header says.
#[derive(Debug, Clone)]
pub struct ArchiveMember {
    /// Its name in the archive (without `./` or slashes at the ends).
    pub name: String,
    /// Its size (0 for directories and links).
    pub size: u64,
    /// The sha256 of its bytes (regular files, when the archive was
    /// indexed with hashing: a docker-archive's members).
    pub digest: Option<Digest>,
    /// For a symlink or hard link: the member it stands for.
    pub link: Option<String>,
    /// Where its bytes start in the file (regular files only).
    offset: Option<u64>,
}

impl ArchiveMember {
    /// True for a regular file (its bytes are in the archive).
    pub fn is_file(&self) -> bool {
        self.offset.is_some()
    }
}

/// Where a blob of an [`ArchiveSource`] is.
#[derive(Debug, Clone)]
enum BlobAt {
    /// The member at this position of the member list.
    Member(usize),
    /// Made in memory (a docker-archive's manifest).
    Made(Vec<u8>),
}

/// An image archive read in place: its index and its blobs by digest.
#[derive(Debug)]
pub struct ArchiveSource {
    file: PathBuf,
    members: Vec<ArchiveMember>,
    blobs: BTreeMap<Digest, BlobAt>,
    index: Index,
    /// The member that holds the index (`index.json`), if one does.
    index_member: Option<usize>,
}

impl ArchiveSource {
    /// Indexes `file`'s members: each header is read, the bytes between
    /// are skipped (or, with `hash`, read once and hashed).
    pub(crate) fn members(file: &Path, hash: bool) -> Result<Vec<ArchiveMember>, DestError> {
        let what = format!("reading archive {}", file.display());
        let f = File::open(file).map_err(DestError::io(format!("opening {}", file.display())))?;
        let mut archive = tar::Archive::new(BufReader::with_capacity(1 << 16, f));
        let mut members = Vec::new();
        let entries = archive
            .entries_with_seek()
            .map_err(DestError::io(what.clone()))?;
        for entry in entries {
            let mut entry = entry.map_err(DestError::io(what.clone()))?;
            let name = clean(&String::from_utf8_lossy(&entry.path_bytes()));
            let kind = entry.header().entry_type();
            let mut member = ArchiveMember {
                name: name.clone(),
                size: 0,
                digest: None,
                link: None,
                offset: None,
            };
            if kind.is_symlink() || kind.is_hard_link() {
                let target = entry
                    .link_name_bytes()
                    .map(|l| String::from_utf8_lossy(&l).into_owned())
                    .unwrap_or_default();
                member.link = Some(if kind.is_symlink() {
                    join_relative(&name, &target)
                } else {
                    clean(&target)
                });
            } else if kind.is_file() {
                member.offset = Some(entry.raw_file_position());
                member.size = entry.size();
                if hash {
                    let mut sink = HashingWriter::new(io::sink());
                    io::copy(&mut entry, &mut sink)
                        .map_err(DestError::io(format!("{what}: member {name}")))?;
                    member.digest = Some(sink.finish().1);
                }
            }
            members.push(member);
        }
        Ok(members)
    }

    /// An OCI archive: `oci-layout`, `index.json`, `blobs/<alg>/<hex>`.
    pub fn oci(file: &Path) -> Result<ArchiveSource, DestError> {
        let members = ArchiveSource::members(file, false)?;
        let mut source = ArchiveSource::new(file, members, Index::empty());
        if source.find("oci-layout").is_none() {
            return Err(DestError::NotALayout {
                path: file.to_path_buf(),
                reason: "the archive has no oci-layout member".into(),
            });
        }
        let at = source
            .find("index.json")
            .ok_or_else(|| DestError::NotALayout {
                path: file.to_path_buf(),
                reason: "the archive has no index.json member".into(),
            })?;
        let bytes = source.read_member(at)?;
        source.index = serde_json::from_slice(&bytes).map_err(DestError::json(format!(
            "parsing index.json of {}",
            file.display()
        )))?;
        source.index_member = Some(at);
        let named: Vec<(Digest, String)> = source
            .members
            .iter()
            .filter_map(|m| {
                let (alg, hex) = m.name.strip_prefix("blobs/")?.split_once('/')?;
                Some((format!("{alg}:{hex}").parse().ok()?, m.name.clone()))
            })
            .collect();
        for (digest, name) in named {
            // the last member of that name, links followed inside the
            // archive, as unpacking it would leave it
            if let Some(n) = source.find(&name) {
                source.blobs.insert(digest, BlobAt::Member(n));
            }
        }
        Ok(source)
    }

    /// A source over `members` of `file` with `index` and no blobs yet.
    pub(crate) fn new(file: &Path, members: Vec<ArchiveMember>, index: Index) -> ArchiveSource {
        ArchiveSource {
            file: file.to_path_buf(),
            members,
            blobs: BTreeMap::new(),
            index,
            index_member: None,
        }
    }

    /// Serves the member at `n` as the blob `digest`.
    pub(crate) fn add_member_blob(&mut self, digest: Digest, n: usize) {
        self.blobs.entry(digest).or_insert(BlobAt::Member(n));
    }

    /// Serves `bytes` (made in memory) as a blob; its digest.
    pub(crate) fn add_made_blob(&mut self, bytes: Vec<u8>) -> Digest {
        let digest = sha256(&bytes);
        self.blobs.insert(digest.clone(), BlobAt::Made(bytes));
        digest
    }

    /// Sets the index (a docker-archive's, made for it).
    pub(crate) fn set_index(&mut self, manifests: Vec<Descriptor>) {
        self.index.manifests = manifests;
    }

    /// The archive file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The archive's members, in archive order.
    pub fn member_list(&self) -> &[ArchiveMember] {
        &self.members
    }

    /// The archive's index (an oci-archive's `index.json`).
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The image `name` names in the archive's index (see
    /// [`resolve_in`](super::layout::resolve_in)).
    pub fn resolve(&self, name: &super::ImageName) -> Result<Descriptor, DestError> {
        super::layout::resolve_in(&self.index, name, &self.file)
    }

    /// The regular-file member `name` stands for (links followed, at most
    /// 16), by its position in the member list; the last of that name.
    pub fn find(&self, name: &str) -> Option<usize> {
        let mut name = clean(name);
        for _ in 0..16 {
            let n = self.members.iter().rposition(|m| m.name == name)?;
            match &self.members[n].link {
                Some(next) => name = next.clone(),
                None => return self.members[n].is_file().then_some(n),
            }
        }
        None
    }

    /// The member `n`'s bytes, as a reader of that range of the file.
    pub(crate) fn open_member(&self, n: usize) -> Result<impl Read + Send, DestError> {
        let m = &self.members[n];
        let what = || format!("reading {} in {}", m.name, self.file.display());
        let offset = m
            .offset
            .ok_or_else(|| DestError::invalid(what(), "not a file"))?;
        let mut f = File::open(&self.file).map_err(DestError::io(what()))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(DestError::io(what()))?;
        Ok(BufReader::with_capacity(1 << 16, f).take(m.size))
    }

    /// The member `n`'s bytes, whole (a small one: JSON).
    pub(crate) fn read_member(&self, n: usize) -> Result<Vec<u8>, DestError> {
        let m = &self.members[n];
        if m.size > MAX_JSON {
            return Err(DestError::invalid(
                format!("reading {} in {}", m.name, self.file.display()),
                format!("it is {} bytes, too big for JSON", m.size),
            ));
        }
        let mut bytes = Vec::with_capacity(m.size as usize);
        self.open_member(n)?
            .read_to_end(&mut bytes)
            .map_err(DestError::io(format!(
                "reading {} in {}",
                m.name,
                self.file.display()
            )))?;
        Ok(bytes)
    }

    /// The blobs the archive's members hold (not those made in memory).
    pub(crate) fn member_blobs(&self) -> impl Iterator<Item = &Digest> {
        self.blobs
            .iter()
            .filter(|(_, at)| matches!(at, BlobAt::Member(_)))
            .map(|(d, _)| d)
    }

    fn missing(&self, digest: &Digest) -> DestError {
        DestError::invalid(
            format!("reading blob {digest} from {}", self.file.display()),
            "the archive has no such blob",
        )
    }
}

impl BlobSource for ArchiveSource {
    fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, DestError> {
        match self.blobs.get(digest) {
            None => Err(self.missing(digest)),
            Some(BlobAt::Made(bytes)) => Ok(bytes.clone()),
            Some(BlobAt::Member(n)) => {
                let bytes = self.read_member(*n)?;
                let actual = sha256(&bytes);
                if actual != *digest {
                    return Err(DestError::DigestMismatch {
                        what: format!(
                            "reading blob {digest} ({} in {})",
                            self.members[*n].name,
                            self.file.display()
                        ),
                        expected: digest.clone(),
                        actual,
                    });
                }
                Ok(bytes)
            }
        }
    }

    fn open_blob(&self, digest: &Digest) -> Result<BlobReader, DestError> {
        let place = |name: &str| format!("{name} in {}", self.file.display());
        match self.blobs.get(digest) {
            None => Err(self.missing(digest)),
            Some(BlobAt::Made(bytes)) => Ok(BlobReader::over(
                Box::new(io::Cursor::new(bytes.clone())),
                bytes.len() as u64,
                digest.clone(),
                place("a manifest made for it"),
            )),
            Some(BlobAt::Member(n)) => {
                let m = &self.members[*n];
                Ok(BlobReader::over(
                    Box::new(self.open_member(*n)?),
                    m.size,
                    digest.clone(),
                    place(&m.name),
                ))
            }
        }
    }
}

impl CheckSource for ArchiveSource {
    fn open_checked(&self, desc: &Descriptor) -> Result<Box<dyn Read + '_>, BlobProblem> {
        let (reader, size): (Box<dyn Read>, u64) = match self.blobs.get(&desc.digest) {
            None => return Err(BlobProblem::Missing),
            Some(BlobAt::Made(bytes)) => (Box::new(&bytes[..]), bytes.len() as u64),
            Some(BlobAt::Member(n)) => {
                let m = &self.members[*n];
                if !m.is_file() {
                    let kind = if m.link.is_some() {
                        "link"
                    } else {
                        "special file"
                    };
                    return Err(BlobProblem::NotAFile { kind });
                }
                let reader = self
                    .open_member(*n)
                    .map_err(|e| BlobProblem::Unreadable(io::Error::other(e.to_string())))?;
                (Box::new(reader), m.size)
            }
        };
        if size != desc.size {
            return Err(BlobProblem::Size {
                expected: desc.size,
                actual: size,
            });
        }
        Ok(reader)
    }
}

impl ArchiveSource {
    /// Checks the whole archive as [`Layout::fsck`](super::Layout::fsck)
    /// checks a layout: `oci-layout` (an oci-archive's), every blob the
    /// index reaches, and the blob members nothing reaches.
    pub fn fsck(&self) -> Result<FsckReport, FsckError> {
        if self.index_member.is_some() {
            let n = self
                .find("oci-layout")
                .ok_or_else(|| DestError::NotALayout {
                    path: self.file.clone(),
                    reason: "the archive has no oci-layout member".into(),
                })?;
            check_layout_version(&self.read_member(n)?, self.file.join("oci-layout"))?;
        }
        let mut report = fsck_images_in(self, &self.index.manifests);
        let reached: BTreeSet<&Digest> = report.blobs.iter().map(|b| &b.digest).collect();
        let mut unreferenced: Vec<String> = self
            .member_blobs()
            .filter(|d| !reached.contains(d))
            .map(ToString::to_string)
            .collect();
        unreferenced.sort();
        report.unreferenced = unreferenced;
        Ok(report)
    }
}

/// A member name without `./` or slashes at the ends.
pub(crate) fn clean(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// A symlink's target, relative to the member's directory, as a member name.
fn join_relative(member: &str, target: &str) -> String {
    if target.starts_with('/') {
        return clean(target);
    }
    match member.rsplit_once('/') {
        Some((dir, _)) => clean(&format!("{dir}/{target}")),
        None => clean(target),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_and_links() {
        assert_eq!(clean("./a//b/"), "a/b");
        assert_eq!(
            join_relative("x/layer.tar", "../y/layer.tar"),
            "y/layer.tar"
        );
    }

    #[test]
    fn blobs_are_read_in_place_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.tar");
        let good = b"hello blob".to_vec();
        let d = sha256(&good);
        let bad = crate::digest::sha256(b"other");
        let mut tar = tar::Builder::new(File::create(&file).unwrap());
        for (name, bytes) in [
            (
                "oci-layout".to_string(),
                br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
            ),
            (
                "index.json".to_string(),
                br#"{"schemaVersion":2,"manifests":[]}"#.to_vec(),
            ),
            (format!("blobs/sha256/{}", d.hex()), good.clone()),
            (format!("blobs/sha256/{}", bad.hex()), good.clone()),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            tar.append_data(&mut h, name, &bytes[..]).unwrap();
        }
        // a blob that is a hard link to another member is that member
        let linked = sha256(b"linked");
        let mut h = tar::Header::new_gnu();
        h.set_size(6);
        h.set_mode(0o644);
        tar.append_data(&mut h, "data", &b"linked"[..]).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Link);
        h.set_size(0);
        let name = format!("blobs/sha256/{}", linked.hex());
        tar.append_link(&mut h, &name, "data").unwrap();
        tar.into_inner().unwrap();
        let src = ArchiveSource::oci(&file).unwrap();
        assert_eq!(src.read_blob(&linked).unwrap(), b"linked");
        assert_eq!(src.read_blob(&d).unwrap(), good);
        let mut streamed = Vec::new();
        src.open_blob(&d)
            .unwrap()
            .read_to_end(&mut streamed)
            .unwrap();
        assert_eq!(streamed, good);
        // a member that is not the blob its name says fails, naming it
        let err = src.read_blob(&bad).unwrap_err().to_string();
        assert!(err.contains(&bad.hex()[..12]), "{err}");
        let mut sink = Vec::new();
        let err = src
            .open_blob(&bad)
            .unwrap()
            .read_to_end(&mut sink)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a.tar") && err.contains("is not the blob"),
            "{err}"
        );
        assert!(src.read_blob(&sha256(b"absent")).is_err());
    }
}
