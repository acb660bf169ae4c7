//! xz archives decoded on several threads where the archive allows it.
//!
//! `xz -T0` (the default of xz ≥ 5.4) and pixz cut the stream into blocks
//! whose headers record their sizes: liblzma's multi-threaded decoder decodes
//! such blocks side by side, each worker holding its whole block's output
//! until the reader takes it. That pays only when two blocks fit in the
//! memory budget at once: one worker alone decodes no faster than the plain
//! decoder, yet holds a block more (44 MB more peak RSS for `xz -T0 -6`,
//! whose blocks are 24 MiB). So the first block header of each stream says
//! which decoder reads it; a single-block archive (`xz -T1`, older xz) has no
//! sizes to split on and is read by the plain decoder. Concatenated streams
//! (`cat a.xz b.xz`) are read one after the other, as `xz -d` does.

use liblzma::bufread::XzDecoder;
use liblzma::stream::{MtStreamBuilder, Stream};
use std::io::{self, BufRead, Read};

/// The memory the decoder's worker threads may take together (liblzma keeps
/// to it, decoding on fewer threads or none) beside an uncompressed or gzip
/// layer: with the ~30 MB the rest of such an ADD takes, the peak RSS stays
/// under 64 MB. Two `xz -2` blocks (6 MiB out, their input, a 2 MiB
/// dictionary each) fit; an `xz -3` block (12 MiB, 4 MiB) or an `xz -6` one
/// (24 MiB, 8 MiB) fits only alone, so such archives take the plain decoder.
pub(super) const MEMLIMIT_THREADING: u64 = 32 << 20;

/// The same beside a zstd layer, whose compressor's workers take ~28 MB
/// more: only blocks smaller than `xz -1`'s are decoded on threads.
pub(super) const MEMLIMIT_THREADING_ZSTD: u64 = 8 << 20;

/// An xz reader over every stream of `input`, each decoded on up to
/// `threads` threads.
pub(super) struct XzStreams<R: BufRead> {
    current: Option<XzDecoder<R>>,
    threads: u32,
    budget: u64,
}

impl<R: BufRead> XzStreams<R> {
    /// Starts decoding `input` with up to `threads` worker threads, which
    /// may hold `budget` bytes together.
    pub(super) fn new(mut input: R, threads: usize, budget: u64) -> io::Result<Self> {
        let threads = threads.clamp(1, 64) as u32;
        let stream = stream_decoder(&mut input, threads, budget)?;
        let first = XzDecoder::new_stream(input, stream);
        Ok(XzStreams {
            current: Some(first),
            threads,
            budget,
        })
    }
}

/// The decoder for the stream `input` starts with: liblzma's multi-threaded
/// one on as many workers as the first block allows within `budget` when
/// that is at least two (never refusing for memory: `memlimit_stop`
/// unlimited), else the plain one.
fn stream_decoder<R: BufRead>(input: &mut R, threads: u32, budget: u64) -> io::Result<Stream> {
    let workers = workers(first_block(input.fill_buf()?), threads, budget);
    if workers < 2 {
        return Stream::new_stream_decoder(u64::MAX, 0).map_err(io::Error::other);
    }
    MtStreamBuilder::new()
        .threads(workers)
        .memlimit_threading(budget)
        .memlimit_stop(u64::MAX)
        .decoder()
        .map_err(io::Error::other)
}

/// How many of `threads` workers can decode blocks like `first` side by side
/// within `budget`.
fn workers(first: Option<BlockSizes>, threads: u32, budget: u64) -> u32 {
    first.map_or(1, |block| {
        let fit = budget / block.worker_memory();
        threads.min(u32::try_from(fit).unwrap_or(u32::MAX)).max(1)
    })
}

/// What a stream's first block header records: its sizes and the LZMA2
/// dictionary it decodes with.
#[derive(Debug, PartialEq, Eq)]
struct BlockSizes {
    compressed: u64,
    uncompressed: u64,
    dictionary: u64,
}

impl BlockSizes {
    /// What one worker of the multi-threaded decoder holds for such a block:
    /// its input, its whole output and the dictionary.
    fn worker_memory(&self) -> u64 {
        self.compressed
            .saturating_add(self.uncompressed)
            .saturating_add(self.dictionary)
            .max(1)
    }
}

/// The sizes in the first block header of the stream `head` begins with;
/// None when the header records no sizes (one-block archives, which no
/// decoder can split), is cut off, or is not an LZMA2 block.
fn first_block(head: &[u8]) -> Option<BlockSizes> {
    const STREAM_HEADER: usize = 12;
    const LZMA2: u64 = 0x21;
    let header = head.get(STREAM_HEADER..)?;
    let size = (usize::from(*header.first()?) + 1) * 4;
    let flags = *header.get(1)?;
    if header[0] == 0 || flags & 0xc0 != 0xc0 {
        return None; // an empty stream, or sizes not recorded
    }
    let mut at = &header.get(..size)?[2..];
    let compressed = varint(&mut at)?;
    let uncompressed = varint(&mut at)?;
    let mut dictionary = 0;
    for _ in 0..=(flags & 0x03) {
        let id = varint(&mut at)?;
        let props_size = usize::try_from(varint(&mut at)?).ok()?;
        let props = at.get(..props_size)?;
        at = &at[props.len()..];
        if id == LZMA2 {
            dictionary = lzma2_dictionary(*props.first()?)?;
        }
    }
    (dictionary > 0).then_some(BlockSizes {
        compressed,
        uncompressed,
        dictionary,
    })
}

/// The dictionary size an LZMA2 properties byte encodes.
fn lzma2_dictionary(byte: u8) -> Option<u64> {
    match byte {
        0..=39 => Some((2 | u64::from(byte & 1)) << (byte / 2 + 11)),
        40 => Some(u64::from(u32::MAX)),
        _ => None,
    }
}

/// One xz variable-length integer (7 bits a byte, at most 9 bytes).
fn varint(at: &mut &[u8]) -> Option<u64> {
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

impl<R: BufRead> Read for XzStreams<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(decoder) = self.current.as_mut() else {
                return Ok(0);
            };
            let n = decoder.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // The end of one stream: skip its padding, then the next stream.
            let Some(mut input) = self.current.take().map(XzDecoder::into_inner) else {
                return Ok(0);
            };
            if !skip_stream_padding(&mut input)? {
                return Ok(0);
            }
            let stream = stream_decoder(&mut input, self.threads, self.budget)?;
            self.current = Some(XzDecoder::new_stream(input, stream));
        }
    }
}

/// Skips the zero bytes xz allows between streams; false at the end of the
/// input.
fn skip_stream_padding<R: BufRead>(input: &mut R) -> io::Result<bool> {
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok(false);
        }
        let zeros = available.iter().take_while(|&&b| b == 0).count();
        let more = zeros < available.len();
        input.consume(zeros);
        if more {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn data() -> Vec<u8> {
        (0..3_000_000u32)
            .flat_map(|i| (i / 7).to_le_bytes())
            .collect()
    }

    /// xz of `data` in blocks of `block` bytes (0: one block).
    fn xz(data: &[u8], block: u64) -> Vec<u8> {
        let stream = if block == 0 {
            Stream::new_easy_encoder(1, liblzma::stream::Check::Crc64).unwrap()
        } else {
            MtStreamBuilder::new()
                .threads(2)
                .preset(1)
                .block_size(block)
                .encoder()
                .unwrap()
        };
        let mut e = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn decode(blob: &[u8], threads: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        XzStreams::new(blob, threads, MEMLIMIT_THREADING)?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn single_and_multi_block_give_the_same_bytes() {
        let d = data();
        for blob in [xz(&d, 0), xz(&d, 1 << 20)] {
            for threads in [1, 2, 4] {
                assert_eq!(decode(&blob, threads).unwrap(), d);
            }
        }
    }

    #[test]
    fn the_first_block_header_gives_its_sizes_and_dictionary() {
        let d = data();
        let blocks = xz(&d, 1 << 20);
        let first = first_block(&blocks).unwrap();
        assert_eq!(first.uncompressed, 1 << 20);
        assert_eq!(first.dictionary, 1 << 20, "preset 1's dictionary");
        assert!(first.compressed > 0 && first.compressed < 1 << 20);
        // one block written by the single-threaded encoder records no sizes
        assert_eq!(first_block(&xz(&d, 0)), None);
        // a header cut off, or no stream at all
        assert_eq!(first_block(&blocks[..14]), None);
        assert_eq!(first_block(b""), None);
    }

    #[test]
    fn only_blocks_two_workers_can_hold_are_decoded_on_threads() {
        let block = |mib: u64, dict_mib: u64| {
            Some(BlockSizes {
                compressed: mib << 19,
                uncompressed: mib << 20,
                dictionary: dict_mib << 20,
            })
        };
        let budget = MEMLIMIT_THREADING;
        // xz -T0 -6: 24 MiB blocks, an 8 MiB dictionary: one worker would
        // hold a whole block for no speed, so the plain decoder reads it
        assert_eq!(workers(block(24, 8), 2, budget), 1);
        // xz -T0 -3: 12 MiB blocks, 4 MiB: the same
        assert_eq!(workers(block(12, 4), 2, budget), 1);
        // xz -T0 -2: 6 MiB blocks, 2 MiB: two side by side
        assert_eq!(workers(block(6, 2), 2, budget), 2);
        assert_eq!(workers(block(1, 1), 4, budget), 4);
        assert_eq!(workers(block(1, 1), 1, budget), 1);
        assert_eq!(workers(None, 4, budget), 1);
        // beside a zstd layer's compressor: xz -1's 3 MiB blocks no longer fit
        assert_eq!(workers(block(6, 2), 2, MEMLIMIT_THREADING_ZSTD), 1);
        assert_eq!(workers(block(3, 1), 2, MEMLIMIT_THREADING_ZSTD), 1);
        assert_eq!(workers(block(1, 1), 2, MEMLIMIT_THREADING_ZSTD), 2);
    }

    #[test]
    fn concatenated_streams_with_padding_are_all_read() {
        let mut blob = xz(b"first ", 0);
        blob.extend([0u8; 8]);
        blob.extend(xz(b"second", 1 << 20));
        assert_eq!(decode(&blob, 2).unwrap(), b"first second");
    }

    #[test]
    fn truncated_and_corrupt_archives_are_errors() {
        let blob = xz(&data(), 1 << 20);
        assert!(decode(&blob[..blob.len() / 2], 2).is_err());
        let mut bad = blob.clone();
        let middle = bad.len() / 2;
        bad[middle] ^= 0xff;
        assert!(decode(&bad, 2).is_err());
    }
}
