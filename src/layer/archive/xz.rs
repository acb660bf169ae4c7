//! xz archives decoded on several threads where the archive allows it.
//!
//! `xz -T0` (the default of xz ≥ 5.4) and pixz cut the stream into blocks
//! whose headers record their sizes: liblzma's multi-threaded decoder decodes
//! such blocks side by side. A single-block archive (`xz -T1`, older xz) has
//! no sizes to split on, and the same decoder reads it on one thread as
//! before. Concatenated streams (`cat a.xz b.xz`) are read one after the
//! other, as `xz -d` does.

use liblzma::bufread::XzDecoder;
use liblzma::stream::{MtStreamBuilder, Stream};
use std::io::{self, BufRead, Read};

/// The memory the decoder's worker threads may take before liblzma decodes
/// on fewer threads (or one): keeps a big archive's peak RSS bounded. One
/// `xz -6` block (24 MiB out, its input, the 8 MiB dictionary) fits beside the
/// one the calling thread is reading.
pub(super) const MEMLIMIT_THREADING: u64 = 48 << 20;

/// An xz reader over every stream of `input`, each decoded on up to
/// `threads` threads.
pub(super) struct XzStreams<R: BufRead> {
    current: Option<XzDecoder<R>>,
    threads: u32,
}

impl<R: BufRead> XzStreams<R> {
    /// Starts decoding `input` with up to `threads` worker threads.
    pub(super) fn new(input: R, threads: usize) -> io::Result<Self> {
        let threads = threads.clamp(1, 64) as u32;
        let first = XzDecoder::new_stream(input, stream_decoder(threads)?);
        Ok(XzStreams {
            current: Some(first),
            threads,
        })
    }
}

/// liblzma's multi-threaded stream decoder: never refuses for memory
/// (`memlimit_stop` unlimited), falls back to one thread beyond
/// [`MEMLIMIT_THREADING`].
fn stream_decoder(threads: u32) -> io::Result<Stream> {
    MtStreamBuilder::new()
        .threads(threads)
        .memlimit_threading(MEMLIMIT_THREADING)
        .memlimit_stop(u64::MAX)
        .decoder()
        .map_err(io::Error::other)
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
            self.current = Some(XzDecoder::new_stream(input, stream_decoder(self.threads)?));
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
        XzStreams::new(blob, threads)?.read_to_end(&mut out)?;
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
