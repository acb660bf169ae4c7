//! Where the items of a COPY or ADD land, as BuildKit's copier
//! (fsutil `copy.Copy`, `prepareTargetDir`) places them: each source in
//! turn, onto the filesystem as the sources before it left it. A
//! destination that ends with `/`, or that is a directory by then, gets
//! each file by its base name; otherwise a file *becomes* the destination
//! (a later one replaces an earlier one). A source directory's contents
//! are copied into the destination, which is created 0755 when missing.

use super::super::rootfs::{FsKind, FsMeta, RootFs};
use super::super::BuildError;
use super::flags::Chmod;
use super::sources::{ImagePath, Item};
use crate::context::{ContextEntry, ContextKind};
use crate::executor::shared::ScannedContext;
use crate::ignore::PatternMatcher;
use crate::layer::{self, Data, Entry, EntryKind, Source};
use crate::span::Span;
use std::collections::BTreeMap;

/// How the items of one instruction are placed.
pub(crate) struct How<'a> {
    /// `--chown`, resolved to numbers.
    pub(crate) owner: Option<(u64, u64)>,
    /// `--chmod`.
    pub(crate) chmod: Option<&'a Chmod>,
    /// The mtime of directories created for the copy.
    pub(crate) epoch: i64,
    /// `--exclude` patterns.
    pub(crate) exclude: &'a PatternMatcher,
    /// Archives are unpacked (ADD).
    pub(crate) unpack: bool,
    /// The instruction (for errors).
    pub(crate) span: Span,
    /// COPY or ADD (for errors).
    pub(crate) name: &'a str,
}

/// The entries one COPY or ADD makes, being planned.
pub(crate) struct Placer<'a> {
    /// The filesystem the layer goes onto (empty with `--link`).
    fs: &'a RootFs,
    /// The destination's key (links resolved); `""` is the root.
    dest: String,
    /// The destination was written with a trailing `/` (or is `.`).
    dest_slash: bool,
    how: How<'a>,
    planned: BTreeMap<String, (Entry, Data)>,
    archives: Vec<Source>,
    /// Context files with several links, to keep them hard links.
    inode_of: BTreeMap<String, (u64, u64)>,
}

impl<'a> Placer<'a> {
    /// Places into `dest` (absolute, a trailing `/` kept) on `fs`.
    pub(crate) fn new(fs: &'a RootFs, dest: &str, how: How<'a>) -> Placer<'a> {
        Placer {
            fs,
            dest: crate::context::clean_rel(&fs.resolve(dest)),
            dest_slash: dest.ends_with('/'),
            how,
            planned: BTreeMap::new(),
            archives: Vec::new(),
            inode_of: BTreeMap::new(),
        }
    }

    /// Places one item.
    pub(crate) fn place(&mut self, ctx: &ScannedContext, item: Item) -> Result<(), BuildError> {
        match item {
            Item::Inline(name, content) => {
                self.inline(&name, content);
                Ok(())
            }
            Item::Context(entry) => match entry.kind {
                ContextKind::Dir => self.context_dir(ctx, &entry),
                // a file, or a fifo, device or socket named by the source
                _ => self.context_file(&entry),
            },
            Item::Image(p) => self.image(p),
        }
    }

    /// Places the next sources into `dest` (absolute) instead: `COPY
    /// --parents` moves it for each source.
    pub(crate) fn set_dest(&mut self, dest: &str) {
        self.dest = crate::context::clean_rel(&self.fs.resolve(dest));
        self.dest_slash = dest.ends_with('/');
    }

    /// Whether the destination is a directory now: written as one, the
    /// root, made one by an earlier source, or one in the filesystem.
    fn dest_is_dir(&self) -> bool {
        self.dest_slash || self.exists_as_dir(&self.dest)
    }

    /// Where a non-directory source named `base` lands.
    fn file_target(&self, base: &str) -> String {
        if self.dest_is_dir() {
            join(&self.dest, base)
        } else {
            self.dest.clone()
        }
    }

    /// A directory created for the copy: 0755 (or `--chmod` applied to
    /// that, as BuildKit's testCopyChmod expects of the parents it makes),
    /// owned by `--chown`.
    fn new_dir(&self, path: &str) -> Entry {
        let (uid, gid) = self.how.owner.unwrap_or((0, 0));
        Entry {
            path: path.to_string(),
            kind: EntryKind::Dir,
            mode: self.how.chmod.map_or(0o755, |c| c.apply(0o755, true)),
            uid,
            gid,
            mtime: self.how.epoch,
            xattrs: Vec::new(),
        }
    }

    /// Makes the destination a directory for a source directory's contents
    /// (BuildKit creates it 0755; the source directory's mode is not
    /// copied onto it).
    fn ensure_dest_dir(&mut self) -> Result<(), BuildError> {
        if self.exists_as_dir(&self.dest) {
            return Ok(());
        }
        let exists = match self.planned.get(&self.dest) {
            Some(_) => true,
            None => self.fs.get(&self.dest).is_some(),
        };
        if exists {
            // BuildKit (fsutil copyDirectory): "cannot copy to non-directory"
            return Err(BuildError::at(
                self.how.span,
                format!(
                    "{} failed: cannot copy a directory to non-directory: /{}",
                    self.how.name, self.dest
                ),
            ));
        }
        let e = self.new_dir(&self.dest);
        self.put(e, Data::None);
        Ok(())
    }

    fn exists_as_dir(&self, key: &str) -> bool {
        key.is_empty()
            || match self.planned.get(key) {
                Some((e, _)) => e.kind == EntryKind::Dir,
                None => self.fs.is_dir(key),
            }
    }

    /// Plans `entry` (owner and mode fixed by the flags); what it replaces
    /// among the planned entries goes, with what was below it.
    fn put_fixed(&mut self, mut e: Entry, data: Data, keep_owner: bool) {
        if let Some((u, g)) = self.how.owner {
            e.uid = u;
            e.gid = g;
        } else if !keep_owner {
            e.uid = 0;
            e.gid = 0;
        }
        if let Some(c) = self.how.chmod {
            if !matches!(e.kind, EntryKind::Symlink { .. }) {
                e.mode = c.apply(e.mode, e.kind == EntryKind::Dir);
            }
        }
        self.put(e, data);
    }

    fn put(&mut self, e: Entry, data: Data) {
        if e.kind != EntryKind::Dir {
            // what was below it goes: a range of the sorted keys, not a
            // scan of them all (a 20,000-file COPY would be quadratic)
            let prefix = format!("{}/", e.path);
            remove_below(&mut self.planned, &prefix);
            remove_below(&mut self.inode_of, &prefix);
        }
        self.inode_of.remove(&e.path);
        self.planned.insert(e.path.clone(), (e, data));
    }

    fn excluded(&self, rel: &str) -> Result<bool, BuildError> {
        if self.how.exclude.is_empty() {
            return Ok(false);
        }
        self.how
            .exclude
            .excluded(rel)
            .map_err(|e| BuildError::at(self.how.span, "bad --exclude pattern").caused(e))
    }

    fn inline(&mut self, name: &str, content: String) {
        let target = self.file_target(name);
        let e = Entry {
            path: target,
            kind: EntryKind::File {
                size: content.len() as u64,
            },
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: self.how.epoch,
            xattrs: Vec::new(),
        };
        self.put_fixed(e, Data::Bytes(content.into_bytes()), false);
    }

    fn context_dir(&mut self, ctx: &ScannedContext, dir: &ContextEntry) -> Result<(), BuildError> {
        self.ensure_dest_dir()?;
        let below = ctx.walk(dir).map_err(|e| {
            BuildError::at(self.how.span, format!("{} failed", self.how.name)).caused(e)
        })?;
        for sub in below {
            if self.excluded(&sub.rel)? {
                continue;
            }
            let target = join(&self.dest, &sub.rel);
            let (e, d) = context_entry(&target, &sub);
            self.put_fixed(e, d, false);
            if let Some(inode) = sub.inode {
                self.inode_of.insert(target, inode);
            }
        }
        Ok(())
    }

    fn context_file(&mut self, entry: &ContextEntry) -> Result<(), BuildError> {
        if self.excluded(base_name(&entry.rel))? {
            return Ok(());
        }
        let is_file = matches!(entry.kind, ContextKind::File { .. });
        let archive = if self.how.unpack && is_file {
            entry
                .file
                .open()
                .and_then(|mut f| layer::detect_archive_in(&mut f))
                .map_err(|e| {
                    BuildError::at(self.how.span, format!("reading {}", entry.rel)).caused(e)
                })?
        } else {
            None
        };
        if archive.is_some() {
            // an archive is unpacked into the destination, as a directory
            self.ensure_dest_dir()?;
            self.archives.push(Source::Archive {
                file: layer::FileRef::Context(entry.file.clone()),
                dest_dir: format!("/{}", self.dest),
                chown: self.how.owner,
                lower: self.fs.lower(),
            });
            return Ok(());
        }
        let target = self.file_target(base_name(&entry.rel));
        let (e, d) = context_entry(&target, entry);
        self.put_fixed(e, d, false);
        Ok(())
    }

    fn image(&mut self, src: ImagePath) -> Result<(), BuildError> {
        if src.meta.kind != FsKind::Dir {
            let target = self.file_target(&src.name);
            let mut e = entry_from_meta(&target, &src.meta);
            if let EntryKind::Hardlink { .. } = e.kind {
                // a hard link named as a source is copied as the file
                e.kind = EntryKind::File {
                    size: src
                        .data
                        .as_ref()
                        .and_then(|p| std::fs::metadata(p).ok())
                        .map(|m| m.len())
                        .unwrap_or(0),
                };
            }
            let d = src.data.map(Data::Path).unwrap_or(Data::None);
            self.put_fixed(e, d, true);
            return Ok(());
        }
        self.ensure_dest_dir()?;
        let prefix = if src.path.is_empty() {
            String::new()
        } else {
            format!("{}/", src.path)
        };
        for x in src.below {
            let rel = x.path.strip_prefix(&prefix).unwrap_or(&x.path).to_string();
            if rel.is_empty() || rel == src.path {
                continue;
            }
            if self.excluded(&rel)? {
                continue;
            }
            let target = join(&self.dest, &rel);
            let mut e = entry_from_meta(&target, &x.meta);
            if let EntryKind::Hardlink { target } = &e.kind {
                let rel = target.strip_prefix(&prefix).unwrap_or(target);
                e.kind = EntryKind::Hardlink {
                    target: join(&self.dest, rel),
                };
            }
            let d = x.data.map(Data::Path).unwrap_or(Data::None);
            self.put_fixed(e, d, true);
        }
        Ok(())
    }

    /// The layer's sources: the planned entries with hard links among
    /// context files kept and parent directories added, then archives.
    pub(crate) fn finish(mut self) -> Vec<Source> {
        self.link_hardlinks();
        self.add_parents();
        let mut out: Vec<Source> = self
            .planned
            .into_values()
            .map(|(e, d)| Source::Entry(e, d))
            .collect();
        out.extend(self.archives);
        out
    }

    /// BuildKit keeps hard links among the files one COPY copies: the
    /// first path (in layer order) holds the content, the others link to it.
    fn link_hardlinks(&mut self) {
        let mut first_of_inode: BTreeMap<(u64, u64), String> = BTreeMap::new();
        for (path, inode) in &self.inode_of {
            match first_of_inode.get(inode) {
                Some(first) => {
                    if let Some((e, d)) = self.planned.get_mut(path) {
                        e.kind = EntryKind::Hardlink {
                            target: first.clone(),
                        };
                        *d = Data::None;
                    }
                }
                None => {
                    first_of_inode.insert(*inode, path.clone());
                }
            }
        }
    }

    /// Parent directories: existing ones keep their metadata.
    fn add_parents(&mut self) {
        let mut parents: BTreeMap<String, (Entry, Data)> = BTreeMap::new();
        for path in self.planned.keys() {
            let mut p = path.as_str();
            while let Some((parent, _)) = p.rsplit_once('/') {
                if !self.planned.contains_key(parent) && !parents.contains_key(parent) {
                    let e = match self.fs.get(parent) {
                        Some(m) if m.kind == FsKind::Dir => entry_from_meta(parent, m),
                        _ => self.new_dir(parent),
                    };
                    parents.insert(parent.to_string(), (e, Data::None));
                }
                p = parent;
            }
        }
        self.planned.extend(parents);
    }
}

/// A layer entry with the metadata of an existing path.
pub(crate) fn entry_from_meta(path: &str, m: &FsMeta) -> Entry {
    let kind = match &m.kind {
        FsKind::Dir | FsKind::Other => EntryKind::Dir,
        FsKind::File { size } => EntryKind::File { size: *size },
        FsKind::Symlink { target } => EntryKind::Symlink {
            target: target.clone(),
        },
        FsKind::Hardlink { target } => EntryKind::Hardlink {
            target: target.clone(),
        },
    };
    Entry {
        path: path.to_string(),
        kind,
        mode: m.mode,
        uid: m.uid,
        gid: m.gid,
        mtime: m.mtime,
        xattrs: Vec::new(),
    }
}

/// A layer entry for a context entry placed at `target`, as BuildKit's
/// copy of the transferred context makes it: fifos and devices stay what
/// they are, a socket becomes an empty file (fsutil's stat.go clears its
/// type bit), extended attributes come along.
fn context_entry(target: &str, c: &ContextEntry) -> (Entry, Data) {
    let (kind, data) = match &c.kind {
        ContextKind::File { size } => (
            EntryKind::File { size: *size },
            Data::Context(c.file.clone()),
        ),
        ContextKind::Dir => (EntryKind::Dir, Data::None),
        ContextKind::Symlink { target } => (
            EntryKind::Symlink {
                target: target.clone(),
            },
            Data::None,
        ),
        ContextKind::Special(kind) => (kind.clone(), Data::None),
        ContextKind::Socket => (EntryKind::File { size: 0 }, Data::None),
    };
    (
        Entry {
            path: target.to_string(),
            kind,
            mode: c.mode,
            uid: 0,
            gid: 0,
            mtime: c.mtime,
            xattrs: c.xattrs.clone(),
        },
        data,
    )
}

/// Removes the keys of `map` that start with `prefix`.
fn remove_below<V>(map: &mut BTreeMap<String, V>, prefix: &str) {
    let below: Vec<String> = map
        .range(prefix.to_string()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .map(|(k, _)| k.clone())
        .collect();
    for k in below {
        map.remove(&k);
    }
}

fn join(dir: &str, name: &str) -> String {
    match (dir.is_empty(), name.is_empty()) {
        (true, _) => name.to_string(),
        (_, true) => dir.to_string(),
        _ => format!("{dir}/{name}"),
    }
}

fn base_name(p: &str) -> &str {
    p.trim_end_matches('/').rsplit('/').next().unwrap_or(p)
}
