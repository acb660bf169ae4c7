use super::blocks;
use super::index::{blocks, Block};
use super::*;
use crate::events::{Events, Task};
use liblzma::stream::{Check, MtStreamBuilder, Stream};
use std::io::{Seek, Write};

const MIB: u64 = 1 << 20;

fn data() -> Vec<u8> {
    (0..3_000_000u32)
        .flat_map(|i| (i / 7).to_le_bytes())
        .collect()
}

/// xz of `data` at preset 1 in blocks of `block` bytes (0: one block).
fn xz(data: &[u8], block: u64) -> Vec<u8> {
    let stream = if block == 0 {
        Stream::new_easy_encoder(1, Check::Crc64).unwrap()
    } else {
        MtStreamBuilder::new()
            .threads(2)
            .preset(1)
            .block_size(block)
            .check(Check::Sha256)
            .encoder()
            .unwrap()
    };
    let mut e = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn file_of(blob: &[u8]) -> File {
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(blob).unwrap();
    file.rewind().unwrap();
    file
}

/// Reads `blob` as an ADD does: up to `threads` workers in `budget`; the
/// bytes read before the first error, and that error.
fn decode_partial(blob: &[u8], threads: usize, budget: u64) -> (Vec<u8>, Option<io::Error>) {
    let file = file_of(blob);
    let meter = Events::silent().meter(Task::Archive, "test", None, None);
    std::thread::scope(|scope| {
        let mut out = Vec::new();
        let mut reader = match decoder(scope, &file, &meter, threads, budget) {
            Ok(r) => r,
            Err(e) => return (out, Some(e)),
        };
        let mut buf = vec![0; 100_000];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => {
                    // and the end stays the end
                    assert_eq!(reader.read(&mut buf).unwrap(), 0);
                    return (out, None);
                }
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return (out, Some(e)),
            }
        }
    })
}

fn decode(blob: &[u8], threads: usize, budget: u64) -> io::Result<Vec<u8>> {
    match decode_partial(blob, threads, budget) {
        (out, None) => Ok(out),
        (_, Some(e)) => Err(e),
    }
}

fn blocks_of(blob: &[u8]) -> Option<Vec<Block>> {
    blocks(&file_of(blob), blob.len() as u64)
}

/// Two workers, an eighth of a 1 MiB block of lookahead: the workers wait
/// for room all the time.
const TIGHT: u64 = 2 * (MIB + WORKER_OVERHEAD) + MIB / 2;

#[test]
fn the_index_gives_every_block_in_place() {
    let d = data();
    let blob = xz(&d, MIB);
    let found = blocks_of(&blob).unwrap();
    assert_eq!(found.len(), d.len().div_ceil(MIB as usize));
    assert!(
        found.iter().all(|b| b.dictionary == MIB),
        "preset 1's dictionary"
    );
    assert_eq!(
        found.iter().map(|b| b.uncompressed).sum::<u64>(),
        d.len() as u64
    );
    assert_eq!(found[0].start, 12, "after the stream header");
    for pair in found.windows(2) {
        assert_eq!(pair[1].start, pair[0].start + pair[0].padded());
    }
    assert_eq!(found[0].flags, [0, 0x0a], "the SHA-256 check");
    // xz -T1 writes one block, with an index all the same
    assert_eq!(blocks_of(&xz(&d, 0)).unwrap().len(), 1);
}

#[test]
fn the_blocks_of_concatenated_streams_come_in_order() {
    let mut blob = xz(b"first ", 0);
    blob.extend([0u8; 8]);
    let second = xz(&data(), MIB);
    blob.extend(&second);
    let found = blocks_of(&blob).unwrap();
    assert_eq!(found.len(), 1 + blocks_of(&second).unwrap().len());
    assert_eq!(found[0].uncompressed, 6);
    assert_eq!(found[0].flags[1], 0x04, "the first stream's CRC64");
    let mut expected = b"first ".to_vec();
    expected.extend(data());
    for threads in [1, 2, 4] {
        assert_eq!(
            decode(&blob, threads, MEMLIMIT_THREADING).unwrap(),
            expected
        );
    }
}

#[test]
fn a_damaged_index_or_stream_edge_is_none() {
    let blob = xz(&data(), MIB);
    let len = blob.len();
    assert_eq!(blocks_of(&blob[..len - 1]), None, "cut in the footer");
    assert_eq!(blocks_of(&blob[1..]), None, "the stream header gone");
    for at in [len - 3, len - 12, len - 20, 5] {
        let mut bad = blob.clone();
        bad[at] ^= 0x01;
        assert_eq!(blocks_of(&bad), None, "byte {at} flipped");
    }
    assert_eq!(blocks_of(b""), Some(Vec::new()));
    assert_eq!(blocks_of(&[0u8; 8]), None, "padding alone");
}

#[test]
fn every_thread_count_and_budget_gives_the_same_bytes() {
    let d = data();
    for blob in [xz(&d, 0), xz(&d, MIB), xz(&d, 300_000)] {
        for threads in [1, 2, 4] {
            for budget in [MEMLIMIT_THREADING, MEMLIMIT_THREADING_ZSTD, TIGHT, 0] {
                let out = decode(&blob, threads, budget).unwrap();
                assert!(out == d, "{threads} threads, {budget} bytes");
            }
        }
    }
}

#[test]
fn multi_block_archives_take_the_workers() {
    let blob = xz(&data(), MIB);
    let found = blocks_of(&blob).unwrap();
    // half a block ahead, and the front block's two pieces
    let ahead = MIB / 2 + 2 * blocks::PIECE as u64;
    assert_eq!(plan(&found, 2, MEMLIMIT_THREADING), Some((2, ahead)));
    assert_eq!(plan(&found, 2, TIGHT), Some((2, MIB / 2)));
    assert_eq!(plan(&found, 2, TIGHT - 1), None);
    assert_eq!(plan(&found, 1, MEMLIMIT_THREADING), None);
    assert_eq!(
        plan(&blocks_of(&xz(&data(), 0)).unwrap(), 2, MEMLIMIT_THREADING),
        None
    );
}

fn like(preset: u32, count: usize) -> Vec<Block> {
    let dictionary = [
        256 << 10,
        MIB,
        2 * MIB,
        4 * MIB,
        4 * MIB,
        8 * MIB,
        8 * MIB,
        16 * MIB,
        32 * MIB,
        64 * MIB,
    ][preset as usize];
    let block = Block {
        start: 12,
        unpadded: 100,
        uncompressed: (3 * dictionary).max(MIB),
        flags: [0, 4],
        dictionary,
    };
    vec![block; count]
}

#[test]
fn the_plan_fits_the_dictionaries_and_half_a_block_per_extra_worker() {
    // xz -T0 -6 (24 MiB blocks, 8 MiB dictionaries) beside a gzip layer:
    // two workers and 12 MiB of lookahead or more
    let (workers, cap) = plan(&like(6, 10), 4, MEMLIMIT_THREADING).unwrap();
    assert_eq!(workers, 2);
    assert!(cap >= 12 * MIB && 2 * (8 * MIB + WORKER_OVERHEAD) + cap <= MEMLIMIT_THREADING);
    // beside a zstd layer only small dictionaries fit
    assert_eq!(plan(&like(6, 10), 4, MEMLIMIT_THREADING_ZSTD), None);
    assert_eq!(plan(&like(2, 10), 2, MEMLIMIT_THREADING_ZSTD).unwrap().0, 2);
    // xz -7 and up: plain
    assert_eq!(plan(&like(7, 10), 4, MEMLIMIT_THREADING), None);
    // xz -1: four workers where four threads are allowed, never more than blocks
    assert_eq!(plan(&like(1, 10), 4, MEMLIMIT_THREADING).unwrap().0, 4);
    assert_eq!(plan(&like(1, 3), 4, MEMLIMIT_THREADING).unwrap().0, 3);
    assert_eq!(plan(&like(1, 1), 4, MEMLIMIT_THREADING), None);
    // a hostile dictionary larger than its block counts as its block
    let mut huge = like(1, 4);
    huge[2].dictionary = 1 << 32;
    assert_eq!(plan(&huge, 2, MEMLIMIT_THREADING).unwrap().0, 2);
}

#[test]
fn a_corrupt_block_is_an_error_after_the_blocks_before_it() {
    let d = data();
    let blob = xz(&d, MIB);
    let found = blocks_of(&blob).unwrap();
    let third = &found[2];
    let mut bad = blob.clone();
    bad[(third.start + third.padded() / 2) as usize] ^= 0xff;
    assert!(blocks_of(&bad).is_some(), "the index still reads");
    for threads in [1, 2, 4] {
        let (out, error) = decode_partial(&bad, threads, TIGHT);
        assert!(error.is_some(), "{threads} threads");
        assert!(out.len() >= 2 * MIB as usize && out.len() < 3 * MIB as usize);
        assert!(d.starts_with(&out));
    }
    let (out, error) = decode_partial(&blob[..blob.len() / 2], 2, MEMLIMIT_THREADING);
    assert!(error.is_some(), "truncated");
    assert!(d.starts_with(&out));
}

#[test]
fn a_block_that_decodes_to_more_than_its_index_says_is_an_error() {
    let d = data();
    let blob = xz(&d, MIB);
    let mut found = blocks_of(&blob).unwrap();
    found[1].uncompressed -= 1;
    let file = file_of(&blob);
    let meter = Events::silent().meter(Task::Archive, "test", None, None);
    let result = std::thread::scope(|scope| {
        let mut out = Vec::new();
        blocks::spawn(scope, &file, &meter, found, 2, MIB).read_to_end(&mut out)
    });
    assert!(result.is_err());
}

#[test]
fn dropping_the_reader_stops_the_workers() {
    let blob = xz(&data(), 300_000);
    let file = file_of(&blob);
    let meter = Events::silent().meter(Task::Archive, "test", None, None);
    // the scope ends only when every worker has returned
    std::thread::scope(|scope| {
        let mut reader = decoder(scope, &file, &meter, 4, TIGHT).unwrap();
        let mut buf = [0u8; 1000];
        reader.read_exact(&mut buf).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(reader);
    });
}

#[test]
fn a_bad_check_is_an_error_in_the_middle_and_in_the_last_block() {
    // a block's SHA-256 follows its data: the worker's decoder checks it
    // before the block ends well, whether another block follows or none
    let d = data();
    let blob = xz(&d, MIB);
    let found = blocks_of(&blob).unwrap();
    for block in [&found[2], found.last().unwrap()] {
        let mut bad = blob.clone();
        bad[(block.start + block.unpadded - 1) as usize] ^= 0x01;
        assert!(blocks_of(&bad).is_some(), "the index still reads");
        for threads in [2, 4] {
            for budget in [MEMLIMIT_THREADING, TIGHT] {
                let (out, error) = decode_partial(&bad, threads, budget);
                assert!(
                    error.is_some(),
                    "block at {}: {threads} threads",
                    block.start
                );
                assert!(d.starts_with(&out));
            }
        }
    }
}

/// The last progress event's bytes.
#[derive(Default)]
struct LastBytes(std::sync::Mutex<u64>);

impl crate::events::Reporter for std::sync::Arc<LastBytes> {
    fn report(&self, event: &crate::events::Event) {
        if let crate::events::Event::Progress(p) = event {
            *self.0.lock().unwrap() = p.bytes;
        }
    }
}

#[test]
fn the_workers_count_the_bytes_they_read_from_the_file() {
    let blob = xz(&data(), MIB);
    let found = blocks_of(&blob).unwrap();
    let file = file_of(&blob);
    let last = std::sync::Arc::new(LastBytes::default());
    let events = Events::new(std::sync::Arc::clone(&last));
    let meter = events.meter(Task::Archive, "test", Some(blob.len() as u64), None);
    std::thread::scope(|scope| {
        let mut out = Vec::new();
        let mut reader = decoder(scope, &file, &meter, 2, MEMLIMIT_THREADING).unwrap();
        reader.read_to_end(&mut out).unwrap();
    });
    meter.finish();
    // every block's bytes, once; not the stream's header, index and footer
    let blocks: u64 = found.iter().map(Block::padded).sum();
    assert_eq!(*last.0.lock().unwrap(), blocks);
}

fn crc32(bytes: &[u8]) -> [u8; 4] {
    super::index::crc32(bytes).to_le_bytes()
}

/// An xz stream written by hand, as `xz -T0 --block-size=1` would: one
/// block per byte of `data` (an uncompressed LZMA2 chunk, a CRC32 check),
/// each recorded in the index.
fn xz_of_one_byte_blocks(data: &[u8]) -> Vec<u8> {
    let flags = [0, 0x01];
    let mut out = super::index::MAGIC.to_vec();
    out.extend(flags);
    out.extend(crc32(&flags));
    // one filter (LZMA2, a 4 KiB dictionary), padded to 8, then its CRC32
    let header = [2, 0, 0x21, 1, 0, 0, 0, 0];
    let mut index = vec![0];
    super::index::put_varint(&mut index, data.len() as u64);
    for &byte in data {
        out.extend(header);
        out.extend(crc32(&header));
        // a chunk of one byte with a dictionary reset, the end, padding
        out.extend([0x01, 0, 0, byte, 0, 0, 0, 0]);
        out.extend(crc32(&[byte]));
        super::index::put_varint(&mut index, 12 + 5 + 4);
        super::index::put_varint(&mut index, 1);
    }
    while index.len() % 4 != 0 {
        index.push(0);
    }
    let index_crc = crc32(&index);
    index.extend(index_crc);
    let backward = (index.len() as u32 / 4 - 1).to_le_bytes();
    out.extend(&index);
    let mut footer = backward.to_vec();
    footer.extend(flags);
    out.extend(crc32(&footer));
    out.extend(footer);
    out.extend(super::index::FOOTER_MAGIC);
    out
}

#[test]
fn an_index_too_big_to_hold_is_read_by_the_plain_decoder() {
    // 1,000 blocks: an index of 2 KB, read, and the blocks decode in place
    let small: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
    let blob = xz_of_one_byte_blocks(&small);
    assert_eq!(blocks_of(&blob).unwrap().len(), small.len());
    assert!(decode(&blob, 2, MEMLIMIT_THREADING).unwrap() == small);
    // 140,000 blocks: an index of 280 KB, past what is read of one; the
    // plain decoder reads the whole stream all the same
    let big: Vec<u8> = (0..140_000u32).map(|i| (i % 251) as u8).collect();
    let blob = xz_of_one_byte_blocks(&big);
    assert_eq!(blocks_of(&blob), None);
    assert!(decode(&blob, 2, MEMLIMIT_THREADING).unwrap() == big);
}
