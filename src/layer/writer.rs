//! The layer's tar stream: entries in the order given, every parent
//! directory before its children, and no path twice.
//!
//! Duplicates: the first pass notes, for each repeated path, which occurrence
//! survives (the last, as unpacking would keep; a directory keeps its first
//! position, so its children still follow it, with the last metadata). The
//! first duplicate stops the output (the pass goes on reading, to learn the
//! rest), and a second pass writes the layer from that [`Plan`].

use super::normalize::{self, clean_path, parent, BLOCK};
use super::resolve::{Lower, PathKind};
use super::{archive, ArchiveLimits, Data, Entry, EntryKind, LayerError, LayerOptions, Source};
use crate::context::ContextFile;
use crate::events::{Events, Meter, MeterReader, Task};
use paths::Paths;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

/// Size of the buffer file contents are copied through.
const COPY_BUF: usize = 1 << 20;

/// What the first pass learned about repeated paths.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    dups: HashMap<String, Dup>,
}

/// The surviving occurrence of a repeated path.
#[derive(Debug)]
struct Dup {
    /// Ordinal of the last occurrence.
    last: u64,
    /// When the last occurrence is a directory: its entry, written at the
    /// first occurrence's place.
    dir: Option<Entry>,
}

/// How a pass ended.
#[derive(Debug)]
pub(crate) enum PassOutcome {
    /// The layer is complete, with this many entries.
    Done {
        /// Tar entries written.
        entries: u64,
    },
    /// Paths repeat: the output is unusable, write again with this plan.
    Duplicates(Plan),
}

/// Where an entry's content comes from, for writing and for errors.
pub(crate) enum Content<'a> {
    /// No content.
    Empty,
    /// Bytes in memory.
    Bytes(&'a [u8]),
    /// A file on disk, opened only if the entry is written.
    File(&'a Path),
    /// A file of the build context, opened (only if the entry is written)
    /// from the context's root, never through a link.
    Context(&'a ContextFile),
    /// A reader positioned at the content (an archive entry).
    Reader(&'a mut dyn Read),
}

/// Where an entry comes from, for error messages.
#[derive(Clone, Copy)]
pub(crate) enum Origin<'a> {
    /// The build context or the executor.
    Given,
    /// An archive, by name.
    Archive(&'a str),
}

impl Origin<'_> {
    fn prefix(self) -> String {
        match self {
            Origin::Given => String::new(),
            Origin::Archive(name) => format!("archive {name}: "),
        }
    }
}

/// The tar stream of one pass.
pub(crate) struct TarStream<'w, 'p> {
    out: &'w mut dyn Write,
    clamp: Option<i64>,
    plan: Option<&'p Plan>,
    /// What each path put so far is, repeated paths included, for
    /// resolving later entries' parents (the same in both passes), and
    /// whether it is in the layer.
    paths: Paths,
    /// The filesystem below, whose directories keep their metadata when
    /// the layer must repeat them as parents.
    lower: Lower,
    dups: HashMap<String, Dup>,
    /// Set at the first duplicate of the first pass: stop writing.
    scanning: bool,
    ordinal: u64,
    entries: u64,
    header: Vec<u8>,
    buf: Vec<u8>,
}

impl<'w, 'p> TarStream<'w, 'p> {
    pub(crate) fn new(out: &'w mut dyn Write, clamp: Option<i64>, plan: Option<&'p Plan>) -> Self {
        TarStream {
            out,
            clamp,
            plan,
            paths: Paths::default(),
            lower: Lower::default(),
            dups: HashMap::new(),
            scanning: false,
            ordinal: 0,
            entries: 0,
            header: Vec::with_capacity(BLOCK * 4),
            buf: Vec::new(),
        }
    }

    /// Adds one entry (path and hard link target already cleaned), after any
    /// missing parent directories.
    pub(crate) fn put(
        &mut self,
        entry: Entry,
        content: Content<'_>,
        origin: Origin<'_>,
    ) -> Result<(), LayerError> {
        if entry.path.is_empty() {
            return Ok(());
        }
        self.ensure_dir(parent(&entry.path), entry.mtime, origin)?;
        let id = self.paths.id(&entry.path);
        self.paths.put(id, &entry.kind);
        self.ordinal += 1;
        let n = self.ordinal;
        let mut entry = entry;
        match self.plan {
            None => {
                if self.paths.emitted(id) {
                    let dir = (entry.kind == EntryKind::Dir).then(|| entry.clone());
                    self.dups.insert(entry.path, Dup { last: n, dir });
                    self.scanning = true;
                    return Ok(());
                }
            }
            Some(plan) => {
                if self.paths.emitted(id) {
                    return Ok(());
                }
                if let Some(dup) = plan.dups.get(&entry.path) {
                    match &dup.dir {
                        Some(dir) => entry = dir.clone(),
                        None if dup.last != n => return Ok(()),
                        None => {}
                    }
                }
                if let EntryKind::Hardlink { target } = &entry.kind {
                    if plan.dups.contains_key(target) && !self.paths.has(target) {
                        // Unpacking would keep the link on the replaced
                        // file's old content, which is gone by now.
                        return Err(LayerError::BadPath {
                            context: origin.prefix(),
                            path: entry.path.clone(),
                            reason: format!(
                                "hard link to {target}, which a later entry replaces; \
                                 this layer cannot keep both"
                            ),
                        });
                    }
                }
            }
        }
        self.paths.emit(id);
        self.emit(&entry, content, origin)
    }

    /// Sets the filesystem below, for the parents [`TarStream::ensure_dir`] adds.
    pub(crate) fn set_lower(&mut self, lower: &Lower) {
        self.lower = lower.clone();
    }

    /// Makes sure directory `dir` (cleaned, "" = root) and its parents are in
    /// the layer, adding the missing ones with the metadata of the
    /// directory below (as an unpacker leaves it), else as 0755 root
    /// directories.
    pub(crate) fn ensure_dir(
        &mut self,
        dir: &str,
        mtime: i64,
        origin: Origin<'_>,
    ) -> Result<(), LayerError> {
        let mut missing = Vec::new();
        let mut p = dir;
        while !p.is_empty() {
            let id = self.paths.id(p);
            if self.paths.emitted(id) {
                break;
            }
            missing.push((p.to_string(), id));
            p = parent(p);
        }
        for (path, id) in missing.into_iter().rev() {
            let planned = self
                .plan
                .and_then(|plan| plan.dups.get(&path))
                .and_then(|dup| dup.dir.clone());
            let entry = planned.unwrap_or_else(|| {
                let (mode, uid, gid, mtime) = match self.lower.dir_meta(&path) {
                    Some(m) => (m.mode, m.uid, m.gid, m.mtime),
                    None => (0o755, 0, 0, mtime),
                };
                Entry {
                    path: path.clone(),
                    kind: EntryKind::Dir,
                    mode,
                    uid,
                    gid,
                    mtime,
                    xattrs: Vec::new(),
                }
            });
            self.paths.put_parent(id);
            self.emit(&entry, Content::Empty, origin)?;
        }
        Ok(())
    }

    /// What `path` is in this layer so far.
    pub(crate) fn kind(&self, path: &str) -> Option<PathKind<'_>> {
        self.paths.kind(path)
    }

    fn emit(
        &mut self,
        entry: &Entry,
        content: Content<'_>,
        origin: Origin<'_>,
    ) -> Result<(), LayerError> {
        if self.scanning {
            return Ok(());
        }
        normalize::encode_header(entry, self.clamp, &mut self.header).map_err(|reason| {
            LayerError::BadPath {
                context: origin.prefix(),
                path: entry.path.clone(),
                reason,
            }
        })?;
        write_out(self.out, &self.header)?;
        if let EntryKind::File { size } = entry.kind {
            let mismatch = |found| LayerError::SizeMismatch {
                path: entry.path.clone(),
                expected: size,
                found,
            };
            match content {
                Content::Empty if size == 0 => {}
                Content::Empty => return Err(mismatch(0)),
                Content::Bytes(b) if b.len() as u64 == size => write_out(self.out, b)?,
                Content::Bytes(b) => return Err(mismatch(b.len() as u64)),
                Content::File(p) => {
                    self.copy_file(entry, File::open(p), format!("file {}", p.display()))?
                }
                Content::Context(c) => {
                    self.copy_file(entry, c.open(), format!("context file {}", c.real()))?
                }
                Content::Reader(reader) => {
                    let name = match origin {
                        Origin::Archive(name) => name,
                        Origin::Given => "",
                    };
                    let read_err = |source| LayerError::Archive {
                        archive: name.to_string(),
                        what: format!("reading entry {}", entry.path),
                        source,
                    };
                    let copied = self.copy(reader, size).map_err(|e| match e {
                        CopyError::Read(source) => read_err(source),
                        CopyError::Write(source) => write_err(source),
                    })?;
                    if copied != size {
                        return Err(read_err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("the archive ends after {copied} of its {size} bytes"),
                        )));
                    }
                }
            }
            let pad = (size as usize).next_multiple_of(BLOCK) - size as usize;
            if pad > 0 {
                write_out(self.out, &[0u8; BLOCK][..pad])?;
            }
        }
        self.entries += 1;
        Ok(())
    }

    /// Copies the content of a regular file entry from `opened` (`shown`
    /// in messages), which must hold exactly the entry's size.
    fn copy_file(
        &mut self,
        entry: &Entry,
        opened: io::Result<File>,
        shown: String,
    ) -> Result<(), LayerError> {
        let EntryKind::File { size } = entry.kind else {
            return Ok(());
        };
        let mismatch = |found| LayerError::SizeMismatch {
            path: entry.path.clone(),
            expected: size,
            found,
        };
        let io_err = |source| LayerError::Io {
            what: format!("reading {shown} for {}", entry.path),
            source,
        };
        let mut file = opened.map_err(io_err)?;
        let found = file.metadata().map_err(io_err)?.len();
        if found != size {
            return Err(mismatch(found));
        }
        let copied = self.copy(&mut file, size).map_err(|e| match e {
            CopyError::Read(source) => io_err(source),
            CopyError::Write(source) => write_err(source),
        })?;
        if copied != size {
            return Err(mismatch(copied));
        }
        Ok(())
    }

    /// Copies up to `size` bytes from `reader` to the output; the count copied.
    fn copy(&mut self, reader: &mut dyn Read, size: u64) -> Result<u64, CopyError> {
        if self.buf.is_empty() {
            self.buf = vec![0u8; COPY_BUF];
        }
        let mut left = size;
        while left > 0 {
            let want = left.min(self.buf.len() as u64) as usize;
            let n = match reader.read(&mut self.buf[..want]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(CopyError::Read(e)),
            };
            self.out
                .write_all(&self.buf[..n])
                .map_err(CopyError::Write)?;
            left -= n as u64;
        }
        Ok(size - left)
    }

    /// Ends the tar stream: what the pass found.
    pub(crate) fn finish(self) -> Result<PassOutcome, LayerError> {
        if self.plan.is_none() && !self.dups.is_empty() {
            return Ok(PassOutcome::Duplicates(Plan { dups: self.dups }));
        }
        write_out(self.out, &[0u8; 2 * BLOCK])?;
        Ok(PassOutcome::Done {
            entries: self.entries,
        })
    }
}

enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

fn write_err(source: io::Error) -> LayerError {
    LayerError::Io {
        what: "writing the layer".to_string(),
        source,
    }
}

fn write_out(out: &mut dyn Write, bytes: &[u8]) -> Result<(), LayerError> {
    out.write_all(bytes).map_err(write_err)
}

/// Below this many files and bytes a layer's writing is not metered.
const METER_FILES: u64 = 64;
const METER_BYTES: u64 = 4 << 20;

/// Progress for writing the entries of `sources` (files, and the tar's
/// bytes: content rounded up to blocks and a header each), when there are
/// enough of them to take a moment.
fn layer_meter(sources: &[Source], events: &Events) -> Option<Meter> {
    let (mut files, mut bytes) = (0u64, 1024u64);
    for s in sources {
        if let Source::Entry(e, _) = s {
            files += 1;
            bytes += 512;
            if let EntryKind::File { size } = e.kind {
                bytes += size.div_ceil(512) * 512;
            }
        }
    }
    (files >= METER_FILES || bytes >= METER_BYTES)
        .then(|| events.meter(Task::Layer, "writing the layer", Some(bytes), Some(files)))
}

/// Writes every source into `out` (one pass); see [`PassOutcome`].
pub(crate) fn write_sources(
    out: &mut dyn Write,
    sources: &[Source],
    opts: &LayerOptions,
    limits: &ArchiveLimits,
    plan: Option<&Plan>,
) -> Result<PassOutcome, LayerError> {
    let meter = layer_meter(sources, &opts.events);
    let mut counted;
    let out: &mut dyn Write = match &meter {
        Some(m) => {
            counted = MeterReader {
                inner: out,
                meter: m,
            };
            &mut counted
        }
        None => out,
    };
    let mut tar = TarStream::new(out, opts.clamp_mtime, plan);
    for source in sources {
        match source {
            Source::Entry(entry, data) => {
                let bad = |path: &str, reason| LayerError::BadPath {
                    context: String::new(),
                    path: path.to_string(),
                    reason,
                };
                let mut entry = entry.clone();
                entry.path = clean_path(&entry.path).map_err(|r| bad(&entry.path, r))?;
                if let EntryKind::Hardlink { target } = &mut entry.kind {
                    *target = clean_path(target).map_err(|r| bad(&entry.path, r))?;
                }
                let content = match data {
                    Data::None => Content::Empty,
                    Data::Bytes(b) => Content::Bytes(b),
                    Data::Path(p) => Content::File(p),
                    Data::Context(c) => Content::Context(c),
                };
                tar.put(entry, content, Origin::Given)?;
                if let Some(m) = &meter {
                    m.advance(0, 1);
                }
            }
            Source::Archive {
                file,
                dest_dir,
                chown,
                lower,
            } => {
                tar.set_lower(lower);
                let place = archive::Placement {
                    dest_dir,
                    chown: *chown,
                    lower,
                    decode_memory: archive::decode_memory(opts.compression),
                };
                archive::add_archive(&mut tar, file, &place, limits, &opts.events)?
            }
        }
    }
    tar.finish()
}

mod paths;
#[cfg(test)]
mod tests;
