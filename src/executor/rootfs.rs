//! The merged filesystem of an image's layers, read from the layer blobs:
//! which paths exist (for WORKDIR, COPY destinations, parent directories),
//! the content of a file (`/etc/passwd` for `--chown`), and the files of
//! another stage (`COPY --from`). Whiteouts are honoured.

use crate::dest::Layout;
use crate::digest::{Digest, HashingWriter};
use crate::layer::{DirMeta, Lower, LowerFs, PathKind};
use crate::oci::Descriptor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a path of the merged filesystem is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FsKind {
    /// A directory.
    Dir,
    /// A regular file of `size` bytes.
    File {
        /// Size in bytes.
        size: u64,
    },
    /// A symbolic link.
    Symlink {
        /// Its target.
        target: String,
    },
    /// A hard link to another path.
    Hardlink {
        /// The path it links to.
        target: String,
    },
    /// A device, fifo or anything else.
    Other,
}

/// Metadata of one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsMeta {
    /// What it is.
    pub kind: FsKind,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u64,
    /// Group.
    pub gid: u64,
    /// Modification time.
    pub mtime: i64,
}

/// The merged view of the first `applied` layers of an image.
#[derive(Debug, Default, Clone)]
pub struct RootFs {
    entries: BTreeMap<String, FsMeta>,
    applied: usize,
}

/// Normalizes a path to the form used as key: no leading `/` or `./`,
/// no trailing `/`, cleaned.
pub fn key(path: &str) -> String {
    crate::context::clean_rel(path)
}

impl RootFs {
    /// Applies the layers not yet applied (`layers[self.applied..]`).
    pub fn update(&mut self, layout: &Layout, layers: &[Descriptor]) -> io::Result<()> {
        while self.applied < layers.len() {
            let desc = &layers[self.applied];
            let entries = &mut self.entries;
            for_each_entry(layout, desc, |path, meta, _| {
                apply(entries, path, Some(meta));
                Ok(())
            })?;
            self.applied += 1;
        }
        Ok(())
    }

    /// Applies the next layer from its table of contents.
    pub fn apply_toc(&mut self, toc: &Toc) {
        for e in &toc.entries {
            apply(&mut self.entries, &e.path, Some(e.meta.clone()));
        }
        self.applied += 1;
    }

    /// Metadata of `path`, if it exists.
    pub fn get(&self, path: &str) -> Option<&FsMeta> {
        self.entries.get(&key(path))
    }

    /// Whether `path` is an existing directory (following no links).
    pub fn is_dir(&self, path: &str) -> bool {
        let k = key(path);
        k.is_empty()
            || matches!(
                self.get(&k),
                Some(FsMeta {
                    kind: FsKind::Dir,
                    ..
                })
            )
    }

    /// Resolves symbolic links in `path` inside this filesystem (as if it
    /// were the root), the last component included; the resolved key. A
    /// path that cannot be resolved (a loop, a file as a parent) is
    /// returned as it is.
    pub fn resolve(&self, path: &str) -> String {
        let k = key(path);
        crate::layer::resolve_path("", &k, |p| self.kind(p)).unwrap_or(k)
    }

    /// A shared snapshot of this filesystem, for unpacking archives onto it.
    pub fn lower(&self) -> Lower {
        Lower::new(Arc::new(self.clone()))
    }

    /// Every path below `dir` (not `dir` itself), in sorted order.
    pub fn below(&self, dir: &str) -> Vec<(String, FsMeta)> {
        let k = key(dir);
        let prefix = if k.is_empty() {
            String::new()
        } else {
            format!("{k}/")
        };
        self.entries
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .map(|(p, m)| (p.clone(), m.clone()))
            .collect()
    }
}

impl LowerFs for RootFs {
    fn kind(&self, path: &str) -> Option<PathKind<'_>> {
        self.entries.get(path).map(|m| match &m.kind {
            FsKind::Dir => PathKind::Dir,
            FsKind::Symlink { target } => PathKind::Symlink(target),
            _ => PathKind::Other,
        })
    }

    fn dir_meta(&self, path: &str) -> Option<DirMeta> {
        self.entries
            .get(path)
            .filter(|m| m.kind == FsKind::Dir)
            .map(|m| DirMeta {
                mode: m.mode,
                uid: m.uid,
                gid: m.gid,
                mtime: m.mtime,
            })
    }
}

fn apply(entries: &mut BTreeMap<String, FsMeta>, path: &str, meta: Option<FsMeta>) {
    let k = key(path);
    let (dir, name) = match k.rsplit_once('/') {
        Some((d, n)) => (d.to_string(), n.to_string()),
        None => (String::new(), k.clone()),
    };
    if name == ".wh..wh..opq" {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        entries.retain(|p, _| !p.starts_with(&prefix) || p == &dir);
        return;
    }
    if let Some(hidden) = name.strip_prefix(".wh.") {
        let victim = if dir.is_empty() {
            hidden.to_string()
        } else {
            format!("{dir}/{hidden}")
        };
        let prefix = format!("{victim}/");
        entries.retain(|p, _| p != &victim && !p.starts_with(&prefix));
        return;
    }
    if let Some(meta) = meta {
        if meta.kind != FsKind::Dir {
            let prefix = format!("{k}/");
            entries.retain(|p, _| !p.starts_with(&prefix));
        }
        if !k.is_empty() {
            entries.insert(k, meta);
        }
    }
}

/// Opens a layer blob and gives a reader of its uncompressed tar.
pub fn open_layer(layout: &Layout, desc: &Descriptor) -> io::Result<Box<dyn Read>> {
    let file = layout
        .open_blob(&desc.digest)
        .map_err(|e| io::Error::other(e.to_string()))?;
    crate::layer::uncompressed(&desc.media_type, file)
}

/// Calls `f(path, meta, entry)` for each entry of a layer, in tar order.
pub fn for_each_entry(
    layout: &Layout,
    desc: &Descriptor,
    mut f: impl FnMut(&str, FsMeta, &mut tar::Entry<'_, Box<dyn Read>>) -> io::Result<()>,
) -> io::Result<()> {
    let reader = open_layer(layout, desc)?;
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries()? {
        let mut entry = entry?;
        // names not UTF-8 as the layer writer carries them
        let carried = |b: &[u8]| match crate::layer::names::decode(b) {
            Ok(s) => s.into_owned(),
            Err(_) => String::from_utf8_lossy(b).into_owned(),
        };
        let path = carried(&entry.path_bytes());
        let header = entry.header();
        let link = entry
            .link_name_bytes()
            .map(|l| carried(&l))
            .unwrap_or_default();
        let kind = match header.entry_type() {
            tar::EntryType::Directory => FsKind::Dir,
            tar::EntryType::Regular | tar::EntryType::Continuous => FsKind::File {
                size: header.size()?,
            },
            tar::EntryType::Symlink => FsKind::Symlink { target: link },
            tar::EntryType::Link => FsKind::Hardlink { target: key(&link) },
            _ => FsKind::Other,
        };
        let meta = FsMeta {
            kind,
            mode: header.mode()? & 0o7777,
            uid: header.uid()?,
            gid: header.gid()?,
            mtime: header.mtime()? as i64,
        };
        f(&path, meta, &mut entry)?;
    }
    Ok(())
}

/// The contents of the regular files `paths` in the merged filesystem of
/// `layers` (`None` where a path is not a regular file there), read in one
/// pass over the layers.
pub fn read_files(
    layout: &Layout,
    layers: &[Descriptor],
    paths: &[String],
) -> io::Result<Vec<Option<Vec<u8>>>> {
    let want: Vec<String> = paths.iter().map(|p| key(p)).collect();
    let mut found: Vec<Option<Vec<u8>>> = vec![None; want.len()];
    for desc in layers {
        for_each_entry(layout, desc, |p, meta, entry| {
            let k = key(p);
            for (i, w) in want.iter().enumerate() {
                if &k == w {
                    found[i] = None;
                    if let FsKind::File { .. } = meta.kind {
                        let mut data = Vec::new();
                        entry.read_to_end(&mut data)?;
                        found[i] = Some(data);
                    }
                } else if hides(&k, &meta, w) {
                    found[i] = None;
                }
            }
            Ok(())
        })?;
    }
    Ok(found)
}

/// Whether key `p` is `root` or below it (every key is below "").
pub fn is_at_or_below(p: &str, root: &str) -> bool {
    root.is_empty()
        || p.strip_prefix(root)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Whether the entry `k` (with `meta`) of a later layer removes `want`: a
/// whiteout of it or of a parent, an opaque parent, or a parent replaced
/// by something that is not a directory.
fn hides(k: &str, meta: &FsMeta, want: &str) -> bool {
    let (dir, name) = k.rsplit_once('/').unwrap_or(("", k));
    if name == ".wh..wh..opq" {
        return want != dir && is_at_or_below(want, dir);
    }
    if let Some(hidden) = name.strip_prefix(".wh.") {
        let victim = if dir.is_empty() {
            hidden.to_string()
        } else {
            format!("{dir}/{hidden}")
        };
        return is_at_or_below(want, &victim);
    }
    meta.kind != FsKind::Dir && is_at_or_below(want, k)
}

/// A file of another image or stage, extracted for COPY --from.
#[derive(Debug, Clone)]
pub struct Extracted {
    /// Its path in that image.
    pub path: String,
    /// Its metadata.
    pub meta: FsMeta,
    /// For regular files, where its content was written.
    pub data: Option<PathBuf>,
}

/// A layer's table of contents: its entries in tar order, each regular
/// file with its content digest, so that what `COPY --from` takes from it
/// is known without reading the layer again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Toc {
    /// The layer blob it describes.
    pub layer: Digest,
    /// Its entries, in tar order.
    pub entries: Vec<TocEntry>,
}

/// One entry of a [`Toc`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TocEntry {
    /// Its path as the tar names it.
    pub path: String,
    /// Its metadata.
    pub meta: FsMeta,
    /// The digest of its content (regular files).
    pub digest: Option<Digest>,
}

/// Reads the layer `desc` whole into its table of contents.
pub fn read_toc(layout: &Layout, desc: &Descriptor) -> io::Result<Toc> {
    let mut entries = Vec::new();
    for_each_entry(layout, desc, |path, meta, entry| {
        let digest = match meta.kind {
            FsKind::File { .. } => {
                let mut hasher = HashingWriter::new(io::sink());
                io::copy(entry, &mut hasher)?;
                Some(hasher.finish().1)
            }
            _ => None,
        };
        entries.push(TocEntry {
            path: path.to_string(),
            meta,
            digest,
        });
        Ok(())
    })?;
    Ok(Toc {
        layer: desc.digest.clone(),
        entries,
    })
}

/// The paths at or below some of the roots of a merged filesystem, as the
/// layers are applied in order, with what stands for each file's content
/// (`T`): the one selection both [`extract`] and [`select_in_tocs`] use.
struct Selection<'r, T> {
    roots: &'r [String],
    entries: BTreeMap<String, FsMeta>,
    data: BTreeMap<String, T>,
}

impl<'r, T> Selection<'r, T> {
    fn new(roots: &'r [String]) -> Self {
        Selection {
            roots,
            entries: BTreeMap::new(),
            data: BTreeMap::new(),
        }
    }

    /// Applies the entry `p` of the next layer; `content` gives what stands
    /// for a selected regular file's content.
    fn entry(
        &mut self,
        p: &str,
        meta: FsMeta,
        content: impl FnOnce() -> io::Result<T>,
    ) -> io::Result<()> {
        let k = key(p);
        let name = k.rsplit('/').next().unwrap_or("");
        if name.starts_with(".wh.") {
            apply(&mut self.entries, p, None);
            let entries = &self.entries;
            self.data.retain(|path, _| entries.contains_key(path));
            return Ok(());
        }
        if !self.roots.iter().any(|root| is_at_or_below(&k, root)) {
            return Ok(());
        }
        if let FsKind::File { .. } = meta.kind {
            self.data.insert(k.clone(), content()?);
        } else {
            self.data.remove(&k);
        }
        apply(&mut self.entries, &k, Some(meta));
        Ok(())
    }

    /// Every selected path, in order, with its content's stand-in.
    fn finish(mut self) -> Vec<(String, FsMeta, Option<T>)> {
        let entries = std::mem::take(&mut self.entries);
        entries
            .into_iter()
            .map(|(path, meta)| {
                let data = self.data.remove(&path);
                (path, meta, data)
            })
            .collect()
    }
}

/// What [`extract`] would give for `roots` of the layers whose tables of
/// contents are `tocs`, without reading a layer: each regular file with
/// its content digest in place of its content (`None` when a table lacks
/// a file's digest: it is damaged).
pub fn select_in_tocs(
    tocs: &[impl AsRef<Toc>],
    roots: &[String],
) -> Option<Vec<(String, FsMeta, Option<Digest>)>> {
    let roots: Vec<String> = roots.iter().map(|r| key(r)).collect();
    let mut selection = Selection::new(&roots);
    for toc in tocs {
        for e in &toc.as_ref().entries {
            let digest = e.digest.clone();
            selection
                .entry(&e.path, e.meta.clone(), || Ok(digest))
                .ok()?;
        }
    }
    let selected = selection.finish();
    let whole = |(p, m, d): (String, FsMeta, Option<Option<Digest>>)| match (&m.kind, d) {
        (FsKind::File { .. }, Some(None) | None) => None,
        (_, d) => Some((p, m, d.flatten())),
    };
    selected.into_iter().map(whole).collect()
}

/// Extracts every path at or below one of `roots` of the merged
/// filesystem of `layers`, in one pass over the layers: metadata in memory,
/// file contents into `tmp` (as plain files; owners and modes stay in the
/// metadata, so no privilege is needed).
pub fn extract(
    layout: &Layout,
    layers: &[Descriptor],
    roots: &[String],
    tmp: &Path,
) -> io::Result<Vec<Extracted>> {
    let roots: Vec<String> = roots.iter().map(|r| key(r)).collect();
    let mut selection = Selection::new(&roots);
    for desc in layers {
        for_each_entry(layout, desc, |p, meta, entry| {
            selection.entry(p, meta, || {
                // a name no other extraction into `tmp` can have: each
                // file's content is its own
                let (mut out, file) = tempfile::Builder::new()
                    .prefix("extracted-")
                    .tempfile_in(tmp)?
                    .keep()
                    .map_err(|e| e.error)?;
                io::copy(entry, &mut out)?;
                Ok(file)
            })
        })?;
    }
    let selected = selection.finish().into_iter();
    Ok(selected
        .map(|(path, meta, data)| Extracted { path, meta, data })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256;
    use std::rc::Rc;

    fn meta(kind: FsKind) -> FsMeta {
        FsMeta {
            kind,
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime: 0,
        }
    }

    /// A plain tar layer of `files` (path, content; `None` for a
    /// directory) stored in `layout`.
    fn tar_layer(layout: &Layout, files: &[(&str, Option<&[u8]>)]) -> Descriptor {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, content) in files {
            let mut h = tar::Header::new_ustar();
            h.set_mode(0o640);
            h.set_uid(7);
            h.set_gid(0);
            h.set_mtime(0);
            match content {
                Some(c) => {
                    h.set_size(c.len() as u64);
                    tar.append_data(&mut h, path, *c).unwrap();
                }
                None => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_size(0);
                    tar.append_data(&mut h, path, io::empty()).unwrap();
                }
            }
        }
        let bytes = tar.into_inner().unwrap();
        let digest = layout.put_blob(&bytes).unwrap();
        Descriptor::new(crate::oci::MEDIA_TYPE_LAYER_TAR, digest, bytes.len() as u64)
    }

    #[test]
    fn the_selection_in_tables_of_contents_is_what_extraction_gives() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::create(&dir.path().join("l")).unwrap();
        let one = tar_layer(
            &layout,
            &[
                ("d/", None),
                ("d/a", Some(b"a1")),
                ("d/b", Some(b"b")),
                ("d/gone", Some(b"g")),
                ("e", Some(b"e")),
            ],
        );
        let two = tar_layer(&layout, &[("d/a", Some(b"a2")), ("d/.wh.gone", Some(b""))]);
        let layers = [one.clone(), two.clone()];
        let roots = ["d".to_string()];
        let tocs = [one.clone(), two.clone()].map(|l| Rc::new(read_toc(&layout, &l).unwrap()));
        let planned = select_in_tocs(&tocs, &roots).unwrap();
        let extracted = extract(&layout, &layers, &roots, dir.path()).unwrap();
        let from_files: Vec<_> = extracted
            .iter()
            .map(|x| {
                let digest = x.data.as_ref().map(|p| sha256(&std::fs::read(p).unwrap()));
                (x.path.clone(), x.meta.clone(), digest)
            })
            .collect();
        assert_eq!(planned, from_files);
        let paths: Vec<&str> = planned.iter().map(|(p, _, _)| p.as_str()).collect();
        assert_eq!(paths, ["d", "d/a", "d/b"]);
        assert_eq!(planned[1].2, Some(sha256(b"a2")));
        // a table without a file's digest is damaged: not used
        let mut lacking = (*tocs[1]).clone();
        lacking.entries[0].digest = None;
        let damaged = [tocs[0].clone(), Rc::new(lacking)];
        assert!(select_in_tocs(&damaged, &roots).is_none());
    }

    #[test]
    fn whiteouts_remove_paths_and_opaque_dirs_clear_children() {
        let mut e = BTreeMap::new();
        apply(&mut e, "etc/", Some(meta(FsKind::Dir)));
        apply(&mut e, "etc/a", Some(meta(FsKind::File { size: 1 })));
        apply(&mut e, "etc/b", Some(meta(FsKind::File { size: 1 })));
        apply(&mut e, "etc/.wh.a", None);
        assert!(e.contains_key("etc/b") && !e.contains_key("etc/a"));
        apply(&mut e, "etc/.wh..wh..opq", None);
        assert!(e.contains_key("etc") && !e.contains_key("etc/b"));
    }

    #[test]
    fn later_entries_that_hide_a_file() {
        let file = meta(FsKind::File { size: 1 });
        let dir = meta(FsKind::Dir);
        assert!(hides("etc/.wh.passwd", &file, "etc/passwd"));
        assert!(hides(".wh.etc", &file, "etc/passwd"));
        assert!(hides("etc/.wh..wh..opq", &file, "etc/passwd"));
        assert!(hides("etc", &file, "etc/passwd"));
        assert!(!hides("etc", &dir, "etc/passwd"));
        assert!(!hides("etc/.wh.passwd-", &file, "etc/passwd"));
        assert!(!hides("etcetera/.wh..wh..opq", &file, "etc/passwd"));
    }

    #[test]
    fn resolve_follows_links_inside() {
        let mut fs = RootFs::default();
        fs.entries.insert("usr".into(), meta(FsKind::Dir));
        fs.entries.insert("usr/bin".into(), meta(FsKind::Dir));
        fs.entries.insert(
            "bin".into(),
            meta(FsKind::Symlink {
                target: "usr/bin".into(),
            }),
        );
        fs.entries.insert(
            "up".into(),
            meta(FsKind::Symlink {
                target: "../../..".into(),
            }),
        );
        assert_eq!(fs.resolve("/bin/sh"), "usr/bin/sh");
        assert_eq!(fs.resolve("up/usr"), "usr");
        assert!(fs.is_dir("/usr/bin/"));
    }
}
