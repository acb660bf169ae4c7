use super::*;
use flate2::{Decompress, FlushDecompress, Status};
use libdeflater::{CompressionLvl, Compressor};

fn libdeflate(data: &[u8], level: i32) -> Vec<u8> {
    let mut c = Compressor::new(CompressionLvl::new(level).unwrap());
    let mut out = vec![0; c.deflate_compress_bound(data.len())];
    let n = c.deflate_compress(data, &mut out).unwrap();
    out.truncate(n);
    out
}

fn zlib(data: &[u8], level: u32) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Inflates one raw deflate stream that must end exactly at `stream`'s end.
fn inflate(stream: &[u8], expected_len: usize) -> Vec<u8> {
    let mut d = Decompress::new(false);
    let mut out = Vec::with_capacity(expected_len + 1);
    let status = d
        .decompress_vec(stream, &mut out, FlushDecompress::Finish)
        .unwrap();
    assert_eq!(status, Status::StreamEnd);
    assert_eq!(
        d.total_in() as usize,
        stream.len(),
        "bytes after the stream"
    );
    out
}

/// Pseudo-random bytes: `text` picks from a few letters (compressible),
/// otherwise any byte (stored blocks).
fn bytes(len: usize, seed: u64, text: bool) -> Vec<u8> {
    let mut s = seed;
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1442695040888963407);
            let b = (s >> 33) as u8;
            if text {
                b"the quick brown fox\n"[b as usize % 20]
            } else {
                b
            }
        })
        .collect()
}

/// Pieces compressed each on its own, all but the last continued, and
/// joined: one stream that inflates to the pieces in order.
fn joined(pieces: &[Vec<u8>], compress: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let mut all = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let mut stream = compress(piece);
        if i + 1 < pieces.len() {
            continue_stream(&mut stream).unwrap();
            assert_eq!(stream[stream.len() - 4..], [0, 0, 0xff, 0xff]);
        }
        all.extend_from_slice(&stream);
    }
    all
}

#[test]
fn joined_streams_inflate_to_their_pieces_at_every_level() {
    let pieces = vec![
        bytes(300_000, 1, true),
        Vec::new(),
        bytes(70_000, 2, false),
        bytes(1, 3, true),
        vec![0; 200_000],
        bytes(1 << 20, 4, true),
    ];
    let whole = pieces.concat();
    for level in [0, 1, 4, 6, 9, 12] {
        let stream = joined(&pieces, |p| libdeflate(p, level));
        assert!(
            inflate(&stream, whole.len()) == whole,
            "libdeflate level {level}"
        );
    }
    for level in [0, 1, 6, 9] {
        let stream = joined(&pieces, |p| zlib(p, level));
        assert!(inflate(&stream, whole.len()) == whole, "zlib level {level}");
    }
}

#[test]
fn every_end_bit_is_met_and_joined() {
    // small pieces end their streams at every bit offset in a byte
    let mut seen = [false; 8];
    for seed in 0..200u64 {
        let pieces: Vec<Vec<u8>> = (0..3)
            .map(|i| {
                bytes(
                    1 + (seed as usize * 37 + i * 11) % 900,
                    seed * 3 + i as u64,
                    seed % 3 != 0,
                )
            })
            .collect();
        for p in &pieces {
            let s = libdeflate(p, 6);
            let (_, end) = last_block(&s).unwrap();
            seen[end % 8] = true;
        }
        let whole = pieces.concat();
        let stream = joined(&pieces, |p| libdeflate(p, 6));
        assert!(inflate(&stream, whole.len()) == whole, "seed {seed}");
    }
    assert_eq!(seen, [true; 8], "end offsets met");
}

#[test]
fn a_broken_stream_is_an_error_not_a_guess() {
    let good = libdeflate(&bytes(50_000, 7, true), 6);
    for cut in [0, 1, good.len() / 2, good.len() - 1] {
        let mut s = good[..cut].to_vec();
        assert!(continue_stream(&mut s).is_err(), "cut at {cut}");
    }
    let mut extra = good.clone();
    extra.push(0);
    let err = continue_stream(&mut extra).unwrap_err().to_string();
    assert!(err.contains("bytes after the final block"), "{err}");
    // a block of the reserved type 3: final bit 1, type bits 11
    let mut reserved = vec![0b0000_0111, 0];
    let err = continue_stream(&mut reserved).unwrap_err().to_string();
    assert!(err.contains("reserved type"), "{err}");
    // a stored block whose NLEN does not match
    let mut stored = vec![0b0000_0001, 5, 0, 0, 0, 1, 2, 3, 4, 5];
    let err = continue_stream(&mut stored).unwrap_err().to_string();
    assert!(err.contains("NLEN"), "{err}");
}
