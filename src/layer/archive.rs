//! Local archives for ADD: detected by content, decompressed in a thread of
//! their own, read entry by entry into the layer — never unpacked to disk.

use super::normalize::{clean_path, join};
use super::resolve::{resolve_path, Lower, PathKind, ResolveError};
use super::writer::{Content, Origin, TarStream};
use super::{Entry, EntryKind, FileRef, LayerError};
use crate::events::{Events, MeterReader, Task};
use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Decompressed bytes per message from the decompression thread.
const CHUNK: usize = 512 << 10;
/// Messages in flight (two, as between the tar and the compressor).
const DEPTH: usize = 2;

/// At most this many bytes of extended headers (PAX records, GNU long
/// names and links) for one entry: they are held in memory. Go's
/// archive/tar caps each at the same 1 MiB (`maxSpecialFileSize`).
pub const MAX_HEADER_BYTES: u64 = 1 << 20;

/// The formats ADD unpacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArchiveFormat {
    /// A plain tar.
    Tar,
    /// A gzip-compressed tar.
    Gzip,
    /// A bzip2-compressed tar.
    Bzip2,
    /// An xz-compressed tar.
    Xz,
    /// A zstd-compressed tar.
    Zstd,
}

impl ArchiveFormat {
    /// The format's usual name.
    pub fn name(self) -> &'static str {
        match self {
            ArchiveFormat::Tar => "tar",
            ArchiveFormat::Gzip => "gzip",
            ArchiveFormat::Bzip2 => "bzip2",
            ArchiveFormat::Xz => "xz",
            ArchiveFormat::Zstd => "zstd",
        }
    }
}

/// Limits against decompression bombs: an archive is refused when its
/// decompressed stream exceeds both `max_ratio` × its size and `min_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Allowed decompressed/compressed ratio (default 1000).
    pub max_ratio: u64,
    /// Streams up to this many bytes are always allowed (default 1 GiB).
    pub min_bytes: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_ratio: 1000,
            min_bytes: 1 << 30,
        }
    }
}

impl ArchiveLimits {
    fn limit_for(&self, compressed: u64) -> u64 {
        self.max_ratio
            .saturating_mul(compressed)
            .max(self.min_bytes)
    }
}

/// Detects an archive by content (BuildKit): gzip 1F 8B 08, bzip2 "BZh", xz FD 37 7A 58 5A 00,
/// zstd 28 B5 2F FD, or a plain tar (valid ustar/gnu header). None = not an archive.
///
/// As BuildKit does, a compressed file counts only if what it decompresses
/// to starts with a tar header: a gzipped text file is copied as it is.
/// Unlike BuildKit (whose `isArchivePath` copies anything its tar reader
/// cannot read as a plain file), a file whose magic names a compression
/// but whose first block does not decompress is an error: a truncated
/// `.tar.zst` must not land in the image as an opaque file.
pub fn detect_archive(path: &Path) -> io::Result<Option<ArchiveFormat>> {
    detect_archive_in(&mut File::open(path)?)
}

/// [`detect_archive`] of an open file (read from its start; its position
/// is left anywhere).
pub fn detect_archive_in(file: &mut File) -> io::Result<Option<ArchiveFormat>> {
    let mut head = [0u8; 512];
    file.rewind()?;
    let n = read_full(file, &mut head)?;
    match sniff(&head[..n]) {
        None => Ok(None),
        Some(ArchiveFormat::Tar) => Ok(Some(ArchiveFormat::Tar)),
        Some(format) => {
            let mut inner = [0u8; 512];
            file.rewind()?;
            let n = decoder(format, &mut *file)
                .and_then(|mut d| read_full(&mut d, &mut inner))
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("it is {} data that does not decompress: {e}", format.name()),
                    )
                })?;
            Ok((n == 512 && is_tar_header(&inner)).then_some(format))
        }
    }
}

/// The format of a file from its first bytes.
fn sniff(head: &[u8]) -> Option<ArchiveFormat> {
    if head.starts_with(&[0x1f, 0x8b, 0x08]) {
        Some(ArchiveFormat::Gzip)
    } else if is_bzip2(head) {
        Some(ArchiveFormat::Bzip2)
    } else if head.starts_with(&[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) {
        Some(ArchiveFormat::Xz)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(ArchiveFormat::Zstd)
    } else if head.len() >= 512 && is_tar_header(head) {
        Some(ArchiveFormat::Tar)
    } else {
        None
    }
}

/// bzip2's "BZh", a block size digit, and the magic of a first block (the
/// digits of pi) or of the end of an empty stream (of sqrt(pi)): "BZh"
/// alone starts too many text files.
fn is_bzip2(head: &[u8]) -> bool {
    const BLOCK: [u8; 6] = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
    const END: [u8; 6] = [0x17, 0x72, 0x45, 0x38, 0x50, 0x90];
    head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && (head[4..10] == BLOCK || head[4..10] == END)
}

/// A tar header block: its checksum is right (ustar, GNU and v7 alike).
fn is_tar_header(block: &[u8]) -> bool {
    if block.len() < 512 || block[..512].iter().all(|&b| b == 0) {
        return false;
    }
    let field = &block[148..156];
    let digits: String = field
        .iter()
        .map(|&b| b as char)
        .filter(|c| !matches!(c, ' ' | '\0'))
        .collect();
    let Ok(stored) = u32::from_str_radix(&digits, 8) else {
        return false;
    };
    let sum: u32 = block[..512]
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    stored == sum
}

/// Reads until `buf` is full or the end: the count read.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A decompressor for `format` on one thread, multi-member/multi-stream as
/// pigz, pbzip2, xz and zstd -T write them ([`xz::decoder`] decodes an xz
/// archive's blocks in parallel where they allow it; zstd has no parallel
/// decoder, and decodes faster than the tar behind it is read).
fn decoder<'r, R: Read + Send + 'r>(
    format: ArchiveFormat,
    file: R,
) -> io::Result<Box<dyn Read + Send + 'r>> {
    let buffered = io::BufReader::with_capacity(256 << 10, file);
    Ok(match format {
        ArchiveFormat::Tar => Box::new(buffered),
        ArchiveFormat::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        ArchiveFormat::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(buffered)),
        ArchiveFormat::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(buffered)),
        ArchiveFormat::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
    })
}

/// The tar reader's end of the decompression thread.
struct ChannelReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
    done: bool,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(chunk)) if chunk.is_empty() => self.done = true,
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Err(io::Error::other("the decompression thread stopped"));
                }
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The decompression thread: reads `decoder` in chunks into `tx` until the
/// end (an empty chunk), an error, a bomb, or the reader going away.
fn decompress(
    mut decoder: Box<dyn Read + Send + '_>,
    tx: SyncSender<io::Result<Vec<u8>>>,
    limit: u64,
    bomb: &AtomicBool,
) {
    let mut total = 0u64;
    loop {
        let mut chunk = vec![0u8; CHUNK];
        let msg = match read_full(&mut decoder, &mut chunk) {
            Ok(n) => {
                chunk.truncate(n);
                total += n as u64;
                if total > limit {
                    bomb.store(true, Ordering::SeqCst);
                    Err(io::Error::other("decompression bomb"))
                } else {
                    Ok(chunk)
                }
            }
            Err(e) => Err(e),
        };
        let last = !matches!(&msg, Ok(c) if !c.is_empty());
        if tx.send(msg).is_err() || last {
            return;
        }
    }
}

/// Where and how an archive is unpacked.
pub(crate) struct Placement<'a> {
    /// The destination directory (already resolved by the caller).
    pub(crate) dest_dir: &'a str,
    /// Owner and group overriding the archive's.
    pub(crate) chown: Option<(u64, u64)>,
    /// The filesystem below the layer.
    pub(crate) lower: &'a Lower,
    /// What a parallel decoder's threads may hold: [`decode_memory`].
    pub(crate) decode_memory: u64,
}

/// The memory a parallel decoder may take for an archive unpacked into a
/// layer compressed with `layer`: what keeps the whole ADD's peak RSS under
/// 64 MB beside that layer's compressor.
pub(crate) fn decode_memory(layer: super::Compression) -> u64 {
    match layer {
        super::Compression::Zstd { .. } => xz::MEMLIMIT_THREADING_ZSTD,
        _ => xz::MEMLIMIT_THREADING,
    }
}

/// Adds the entries of the archive `file` under `place.dest_dir`.
pub(crate) fn add_archive(
    tar: &mut TarStream<'_, '_>,
    file: &FileRef,
    place: &Placement<'_>,
    limits: &ArchiveLimits,
    events: &Events,
) -> Result<(), LayerError> {
    let name = file.name();
    let dest_dir = place.dest_dir;
    let dest = clean_path(dest_dir).map_err(|reason| LayerError::BadPath {
        context: String::new(),
        path: dest_dir.to_string(),
        reason,
    })?;
    let io_err = |what: &str| {
        let name = name.clone();
        let what = what.to_string();
        move |source| LayerError::Archive {
            archive: name,
            what,
            source,
        }
    };
    let mut file = file.open().map_err(io_err("opening it"))?;
    let size = file.metadata().map_err(io_err("opening it"))?.len();
    let mut head = [0u8; 512];
    let n = read_full(&mut file, &mut head).map_err(io_err("reading its first bytes"))?;
    let format = sniff(&head[..n]).ok_or_else(|| LayerError::NotAnArchive {
        archive: name.clone(),
    })?;
    file.rewind().map_err(io_err("reading it"))?;
    let meter = events.meter(Task::Archive, format!("reading {name}"), Some(size), None);
    let bomb = AtomicBool::new(false);
    let limit = limits.limit_for(size);
    let unpack = Unpack {
        name: &name,
        dest: &dest,
        chown: place.chown,
        lower: place.lower,
    };
    let result = std::thread::scope(|scope| {
        let decoded = match format {
            ArchiveFormat::Xz => {
                let threads = super::compress::compress_threads();
                xz::decoder(scope, &file, &meter, threads, place.decode_memory)
            }
            _ => decoder(
                format,
                MeterReader {
                    inner: &file,
                    meter: &meter,
                },
            ),
        }
        .map_err(io_err("starting to decompress it"))?;
        if format == ArchiveFormat::Tar {
            return unpack.read_entries(tar, decoded);
        }
        let (tx, rx) = sync_channel(DEPTH);
        let bomb = &bomb;
        scope.spawn(move || decompress(decoded, tx, limit, bomb));
        let reader = ChannelReader {
            rx,
            chunk: Vec::new(),
            pos: 0,
            done: false,
        };
        // Returning drops the reader, which stops the thread.
        unpack.read_entries(tar, Box::new(reader))
    });
    match result {
        Err(_) if bomb.load(Ordering::SeqCst) => Err(LayerError::Bomb {
            archive: name,
            compressed: size,
            ratio: limits.max_ratio,
            limit,
        }),
        other => other,
    }
}

/// A limit on the bytes the tar reader may take while it looks for the
/// next entry (headers, PAX records, GNU long names, sparse maps), which
/// it holds in memory; reading an entry's content is not limited.
struct HeaderBudget {
    armed: AtomicBool,
    left: AtomicU64,
    exceeded: AtomicBool,
}

impl HeaderBudget {
    fn new() -> HeaderBudget {
        HeaderBudget {
            armed: AtomicBool::new(false),
            left: AtomicU64::new(0),
            exceeded: AtomicBool::new(false),
        }
    }

    /// Starts limiting: the extended headers, and a few blocks of ustar
    /// headers and padding around them.
    fn arm(&self) {
        self.left
            .store(MAX_HEADER_BYTES + 16 * 512, Ordering::Relaxed);
        self.armed.store(true, Ordering::Relaxed);
    }

    fn disarm(&self) {
        self.armed.store(false, Ordering::Relaxed);
    }
}

/// The archive's bytes as the tar reader sees them, within the budget.
struct Budgeted<'b> {
    inner: Box<dyn Read + Send + 'b>,
    budget: &'b HeaderBudget,
}

impl Read for Budgeted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.budget.armed.load(Ordering::Relaxed) {
            return self.inner.read(buf);
        }
        let left = self.budget.left.load(Ordering::Relaxed);
        if left == 0 && !buf.is_empty() {
            self.budget.exceeded.store(true, Ordering::Relaxed);
            return Err(io::Error::other("extended headers too large"));
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.budget.left.store(left - n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// One archive being unpacked.
struct Unpack<'a> {
    name: &'a str,
    /// The destination, clean: the root entries are resolved in.
    dest: &'a str,
    chown: Option<(u64, u64)>,
    lower: &'a Lower,
}

impl Unpack<'_> {
    /// The error of a corrupt archive, met while doing `what`.
    fn archive_err(&self, what: String) -> impl FnOnce(io::Error) -> LayerError + '_ {
        move |source| LayerError::Archive {
            archive: self.name.to_string(),
            what,
            source,
        }
    }

    fn bad(&self, path: &str, reason: String) -> LayerError {
        LayerError::BadPath {
            context: format!("archive {}: ", self.name),
            path: path.to_string(),
            reason,
        }
    }

    /// Where the entry at `rel` (clean, relative to the destination)
    /// lands in the layer: its parent resolved through the symlinks of the
    /// layer so far and of the filesystem below, inside the destination
    /// (see [`super::resolve`]); its last component as it is.
    fn place(&self, tar: &TarStream<'_, '_>, raw: &str, rel: &str) -> Result<String, LayerError> {
        let (dir, base) = match rel.rsplit_once('/') {
            Some((d, b)) => (d, b),
            None => ("", rel),
        };
        let kind_of = |p: &str| tar.kind(p).or_else(|| self.lower.kind(p));
        let dir =
            resolve_path(self.dest, dir, kind_of).map_err(|e| self.bad(raw, e.to_string()))?;
        if kind_of(&dir) == Some(PathKind::Other) {
            return Err(self.bad(raw, ResolveError::NotADirectory(dir).to_string()));
        }
        let path = join(&dir, base);
        // a link's target may name a whiteout, which the layer must not hold
        clean_path(&path).map_err(|r| self.bad(raw, r))
    }

    /// Reads the tar entries from `reader` into the layer.
    fn read_entries(
        &self,
        tar: &mut TarStream<'_, '_>,
        reader: Box<dyn Read + Send + '_>,
    ) -> Result<(), LayerError> {
        let name = self.name;
        let origin = Origin::Archive(name);
        let archive_err = |what: String| self.archive_err(what);
        let budget = HeaderBudget::new();
        let mut archive = tar::Archive::new(Budgeted {
            inner: reader,
            budget: &budget,
        });
        let mut last = String::new();
        let mut entries = archive
            .entries()
            .map_err(archive_err("reading the first entry".into()))?;
        loop {
            budget.arm();
            let next = entries.next();
            budget.disarm();
            let Some(item) = next else { break };
            let mut item = item.map_err(|e| {
                if budget.exceeded.load(Ordering::Relaxed) {
                    LayerError::HeaderTooLarge {
                        archive: name.to_string(),
                        after: if last.is_empty() {
                            "the start".to_string()
                        } else {
                            last.clone()
                        },
                        limit: MAX_HEADER_BYTES,
                    }
                } else if last.is_empty() {
                    archive_err("reading the first entry".to_string())(e)
                } else {
                    archive_err(format!("reading the entry after {last}"))(e)
                }
            })?;
            if item.header().entry_type() != tar::EntryType::XGlobalHeader {
                // e.g. `git archive`'s commit id is a global header: not a file
                self.put_entry(tar, &mut item, &mut last)?;
            }
            // the rest of the content (when the entry was not written), so
            // that the next header is read within the budget
            io::copy(&mut item, &mut io::sink())
                .map_err(archive_err(format!("reading entry {last}")))?;
        }
        // An empty archive still creates its destination.
        tar.ensure_dir(self.dest, 0, origin)
    }

    /// Puts one entry into the layer, where [`Unpack::place`] says.
    fn put_entry(
        &self,
        tar: &mut TarStream<'_, '_>,
        item: &mut tar::Entry<'_, Budgeted<'_>>,
        last: &mut String,
    ) -> Result<(), LayerError> {
        let name = self.name;
        let origin = Origin::Archive(name);
        let bad = |path: &str, reason: String| self.bad(path, reason);
        // names not UTF-8 are carried (see `names`), as tar carries them
        let raw = super::names::decode(&item.path_bytes())
            .map_err(|reason| bad(&String::from_utf8_lossy(&item.path_bytes()), reason))?
            .into_owned();
        last.clone_from(&raw);
        let rel = clean_path(&raw).map_err(|r| bad(&raw, r))?;
        let link = match item.link_name_bytes() {
            Some(l) => Some(
                super::names::decode(&l)
                    .map_err(|reason| bad(&raw, format!("its link target {reason}")))?
                    .into_owned(),
            ),
            None => None,
        };
        let header = item.header();
        let entry_type = header.entry_type();
        let mode = header
            .mode()
            .map_err(|e| bad(&raw, format!("bad mode: {e}")))?
            & 0o7777;
        let mut uid = header
            .uid()
            .map_err(|e| bad(&raw, format!("bad uid: {e}")))?;
        let mut gid = header
            .gid()
            .map_err(|e| bad(&raw, format!("bad gid: {e}")))?;
        let mut mtime = header
            .mtime()
            .map_err(|e| bad(&raw, format!("bad mtime: {e}")))? as i64;
        let dev = |n: io::Result<Option<u32>>| n.ok().flatten().unwrap_or(0);
        let (major, minor) = (dev(header.device_major()), dev(header.device_minor()));
        let link_target = || link.clone().unwrap_or_default();
        let is_dir = match entry_type {
            // old tars mark directories only by a trailing slash
            tar::EntryType::Regular => raw.ends_with('/'),
            tar::EntryType::Directory => true,
            _ => false,
        };
        if rel.is_empty() && (self.dest.is_empty() || !is_dir) {
            // "./": the root, or the destination itself when it is not "/".
            return Ok(());
        }
        let path = if rel.is_empty() {
            self.dest.to_string()
        } else {
            self.place(tar, &raw, &rel)?
        };
        let kind = match entry_type {
            _ if is_dir => EntryKind::Dir,
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                EntryKind::File { size: item.size() }
            }
            tar::EntryType::Symlink => EntryKind::Symlink {
                target: link_target(),
            },
            tar::EntryType::Link => self.hardlink(tar, &raw, &link_target())?,
            tar::EntryType::Char => EntryKind::Char { major, minor },
            tar::EntryType::Block => EntryKind::Block { major, minor },
            tar::EntryType::Fifo => EntryKind::Fifo,
            other => {
                return Err(bad(
                    &raw,
                    format!("unsupported tar entry type {:?}", other.as_byte() as char),
                ))
            }
        };
        let xattrs = self.pax_records(item, &raw, &mut uid, &mut gid, &mut mtime)?;
        if let Some((u, g)) = self.chown {
            (uid, gid) = (u, g);
        }
        let entry = Entry {
            path,
            kind,
            mode,
            uid,
            gid,
            mtime,
            xattrs,
        };
        tar.put(entry, Content::Reader(item), origin)
    }

    /// A hard link's kind: its target resolves as an entry's path does
    /// (containerd's hardlinkRootPath), and must be an earlier
    /// non-directory entry of this layer.
    fn hardlink(
        &self,
        tar: &mut TarStream<'_, '_>,
        raw: &str,
        target: &str,
    ) -> Result<EntryKind, LayerError> {
        let cleaned = clean_path(target).map_err(|r| self.bad(raw, r))?;
        let outside = || LayerError::HardlinkOutside {
            archive: self.name.to_string(),
            path: raw.to_string(),
            target: target.to_string(),
        };
        if cleaned.is_empty() {
            return Err(outside());
        }
        let resolved = self.place(tar, raw, &cleaned)?;
        match tar.kind(&resolved) {
            None => Err(outside()),
            Some(PathKind::Dir) => {
                Err(self.bad(raw, format!("hard link to {target}, which is a directory")))
            }
            Some(_) => Ok(EntryKind::Hardlink { target: resolved }),
        }
    }

    /// The PAX records of `item`: owner and mtime override the header's,
    /// `SCHILY.xattr.*` are the entry's extended attributes (returned).
    fn pax_records(
        &self,
        item: &mut tar::Entry<'_, Budgeted<'_>>,
        raw: &str,
        uid: &mut u64,
        gid: &mut u64,
        mtime: &mut i64,
    ) -> Result<Vec<(String, Vec<u8>)>, LayerError> {
        let mut xattrs = Vec::new();
        let what = || format!("reading the PAX header of {raw}");
        let Some(exts) = item.pax_extensions().map_err(self.archive_err(what()))? else {
            return Ok(xattrs);
        };
        for ext in exts {
            let ext = ext.map_err(self.archive_err(what()))?;
            let Ok(key) = ext.key() else { continue };
            let value = ext.value_bytes();
            let number = || {
                let s = std::str::from_utf8(value).unwrap_or("");
                s.split('.').next().and_then(|s| s.parse::<i64>().ok())
            };
            match key {
                "uid" => *uid = number().map_or(*uid, |n| n.max(0) as u64),
                "gid" => *gid = number().map_or(*gid, |n| n.max(0) as u64),
                "mtime" => *mtime = number().unwrap_or(*mtime),
                k => {
                    if let Some(attr) = k.strip_prefix("SCHILY.xattr.") {
                        xattrs.push((attr.to_string(), value.to_vec()));
                    }
                }
            }
        }
        Ok(xattrs)
    }
}

#[cfg(test)]
mod tests;
mod xz;
