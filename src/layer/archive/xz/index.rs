//! Where the blocks of an xz file lie, read from the indexes at its end.
//!
//! An xz stream ends with an index (each block's unpadded and uncompressed
//! size) and a footer that says how long the index is; the stream header at
//! its start carries the same flags (the check type). Walking back from the
//! end of the file, stream by stream (skipping the zero padding `xz -d`
//! allows between them), gives every block's place without decoding any of
//! it. Everything read is checked (CRC32s, magic bytes, sizes that add up to
//! the file); anything else is None, and the caller reads the file with the
//! plain decoder, which reports what is wrong with it.

use std::fs::File;
use std::os::unix::fs::FileExt;

/// The first bytes of every xz stream.
pub(super) const MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0];
/// The last two bytes of every xz stream.
pub(super) const FOOTER_MAGIC: [u8; 2] = *b"YZ";
/// Stream header and footer: 12 bytes each.
const EDGE: u64 = 12;
/// The largest index read; a real one has a few bytes a block (a 4.5 GB
/// archive of 1 MiB blocks, xz -T0's smallest: ~30 KB). This bounds the
/// block list a hostile index can make to 128Ki entries (5 MB); a larger
/// index is read by the plain decoder.
const MAX_INDEX: u64 = 256 << 10;
/// The most stream padding skipped between two streams.
const MAX_PADDING: u64 = 1 << 16;

/// One block of an xz file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Block {
    /// Where its header starts in the file.
    pub(super) start: u64,
    /// Header, compressed data and check, as the index records it.
    pub(super) unpadded: u64,
    /// What it decodes to.
    pub(super) uncompressed: u64,
    /// The flags of its stream (the check type is in the second byte).
    pub(super) flags: [u8; 2],
    /// The LZMA2 dictionary it decodes with.
    pub(super) dictionary: u64,
}

impl Block {
    /// Its bytes in the file, with the padding to a multiple of four.
    pub(super) fn padded(&self) -> u64 {
        self.unpadded.next_multiple_of(4)
    }
}

/// The blocks of the xz file `file` (`len` bytes), in order; None when the
/// file is not a well-formed sequence of xz streams with indexes, or a block
/// has no LZMA2 filter.
pub(super) fn blocks(file: &File, len: u64) -> Option<Vec<Block>> {
    let mut streams = Vec::new();
    let mut end = len;
    while end > 0 {
        end = skip_padding(file, end)?;
        let (blocks, start) = stream(file, end)?;
        streams.push(blocks);
        end = start;
    }
    streams.reverse();
    Some(streams.into_iter().flatten().collect())
}

/// `end` less the stream padding (zero words) before it.
fn skip_padding(file: &File, mut end: u64) -> Option<u64> {
    let last = end;
    loop {
        let word = read(file, end.checked_sub(4)?, 4)?;
        if word != [0; 4] {
            return Some(end);
        }
        end -= 4;
        if last - end > MAX_PADDING {
            return None;
        }
    }
}

/// The blocks of the stream that ends at `end`, and where it starts.
fn stream(file: &File, end: u64) -> Option<(Vec<Block>, u64)> {
    let footer = read(file, end.checked_sub(EDGE)?, EDGE as usize)?;
    if footer[10..] != FOOTER_MAGIC || le32(&footer[..4]) != crc32(&footer[4..10]) {
        return None;
    }
    let flags = [footer[8], footer[9]];
    let index_len = (u64::from(le32(&footer[4..8])) + 1) * 4;
    if index_len > MAX_INDEX {
        return None;
    }
    let index_start = (end - EDGE).checked_sub(index_len)?;
    let records = index(&read(file, index_start, index_len as usize)?)?;
    let blocks_len = records.iter().try_fold(0u64, |sum, &(unpadded, _)| {
        sum.checked_add(unpadded.next_multiple_of(4))
    })?;
    let start = index_start.checked_sub(blocks_len)?.checked_sub(EDGE)?;
    let header = read(file, start, EDGE as usize)?;
    if header[..6] != MAGIC || header[6..8] != flags || le32(&header[8..]) != crc32(&flags) {
        return None;
    }
    let mut at = start + EDGE;
    let mut blocks = Vec::with_capacity(records.len());
    for (unpadded, uncompressed) in records {
        let block = Block {
            start: at,
            unpadded,
            uncompressed,
            flags,
            dictionary: dictionary(file, at)?,
        };
        at += block.padded();
        blocks.push(block);
    }
    Some((blocks, start))
}

/// The (unpadded, uncompressed) sizes an index records.
fn index(bytes: &[u8]) -> Option<Vec<(u64, u64)>> {
    let (body, crc) = bytes.split_at(bytes.len().checked_sub(4)?);
    if body.first() != Some(&0) || le32(crc) != crc32(body) {
        return None;
    }
    let mut at = &body[1..];
    let count = varint(&mut at)?;
    // every record takes two bytes at least
    if count > at.len() as u64 / 2 {
        return None;
    }
    let mut records = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let unpadded = varint(&mut at)?;
        let uncompressed = varint(&mut at)?;
        if unpadded == 0 {
            return None;
        }
        records.push((unpadded, uncompressed));
    }
    (at.len() < 4 && at.iter().all(|&b| b == 0)).then_some(records)
}

/// The dictionary size of the LZMA2 filter in the block header at `start`.
fn dictionary(file: &File, start: u64) -> Option<u64> {
    let size = (usize::from(*read(file, start, 1)?.first()?) + 1) * 4;
    let header = read(file, start, size)?;
    let (body, crc) = header.split_at(size - 4);
    if header[0] == 0 || le32(crc) != crc32(body) {
        return None;
    }
    let flags = header[1];
    let mut at = &body[2..];
    if flags & 0x40 != 0 {
        varint(&mut at)?;
    }
    if flags & 0x80 != 0 {
        varint(&mut at)?;
    }
    let mut dictionary = None;
    for _ in 0..=(flags & 0x03) {
        let id = varint(&mut at)?;
        let props_size = usize::try_from(varint(&mut at)?).ok()?;
        let props = at.get(..props_size)?;
        at = &at[props_size..];
        if id == LZMA2 {
            dictionary = lzma2_dictionary(*props.first()?);
        }
    }
    dictionary
}

/// The filter id of LZMA2.
const LZMA2: u64 = 0x21;

/// The dictionary size an LZMA2 properties byte encodes.
fn lzma2_dictionary(byte: u8) -> Option<u64> {
    match byte {
        0..=39 => Some((2 | u64::from(byte & 1)) << (byte / 2 + 11)),
        40 => Some(u64::from(u32::MAX)),
        _ => None,
    }
}

/// One xz variable-length integer (7 bits a byte, at most 9 bytes).
pub(super) fn varint(at: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for i in 0..9 {
        let byte = *at.get(i)?;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *at = &at[i + 1..];
            return Some(value);
        }
    }
    None
}

/// `value` as an xz variable-length integer, appended to `out`.
pub(super) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The CRC32 xz uses (gzip's).
pub(super) fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}

fn le32(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// `len` bytes of `file` at `offset`.
fn read(file: &File, offset: u64, len: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0; len];
    file.read_exact_at(&mut buf, offset).ok()?;
    Some(buf)
}
