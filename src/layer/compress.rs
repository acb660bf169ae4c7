//! One pass of the layer stack, on two cores:
//!
//! ```text
//! producer thread: sources → tar → HashingWriter (diff_id) ─┐ (gzip: → ParallelGzip workers)
//!                                           bounded channel ▼
//! calling thread:  (zstd: → encoder) → HashingWriter (digest, size; none: counted) → sink
//! ```
//!
//! The sink stays on the calling thread (it need not be `Send`); the tar
//! encoder, archive decompression and the compressor run beside it.

use super::gzip::ParallelGzip;
use super::{Compression, LayerError};
use crate::digest::{Digest, HashingWriter};
use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Bytes per message between the producer and the calling thread (1 MiB
/// gave the same speed, 2 MiB more of peak memory beside this and the
/// decompression thread's).
const CHUNK: usize = 512 << 10;
/// Messages in flight (bounds memory: CHUNK × DEPTH). Two keep both ends
/// busy; with four, a zstd ADD peaked 5 MB higher (with the decompression
/// thread's four) at the same speed.
const DEPTH: usize = 2;

/// Environment variable that sets the number of compression workers (1..=64);
/// by default one per core, at most 4. The layer's bytes do not depend on it.
pub const THREADS_ENV: &str = "MINIBUILD_COMPRESS_THREADS";

/// The number of compression workers: `$MINIBUILD_COMPRESS_THREADS`, else one
/// per core (at most 4). An unusable value falls back to the default.
pub(crate) fn compress_threads() -> usize {
    let default = || {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(1, 4)
    };
    std::env::var(THREADS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| (1..=64).contains(n))
        .unwrap_or_else(default)
}

/// The hashes of one pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hashes {
    /// sha256 of the uncompressed tar.
    pub(crate) diff_id: Digest,
    /// sha256 of the blob.
    pub(crate) digest: Digest,
    /// Size of the blob.
    pub(crate) size: u64,
}

/// Sends what is written to it in `CHUNK`-sized messages.
struct ChunkSender {
    tx: SyncSender<Vec<u8>>,
    buf: Vec<u8>,
}

impl ChunkSender {
    fn send_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .send(full)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the layer's sink stopped"))
    }
}

impl Write for ChunkSender {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= CHUNK {
            self.send_buf()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buf()
    }
}

/// The blob's end of the calling thread: a compressed blob is hashed on its
/// way to the sink; an uncompressed one is only counted, as its digest is
/// the diff_id the producer hashes (one SHA-256 pass of the tar, not two).
enum Blob<W: Write> {
    Hashed(HashingWriter<W>),
    Counted { sink: W, size: u64 },
}

impl<W: Write> Blob<W> {
    fn new(sink: W, compression: Compression) -> Self {
        match compression {
            Compression::None => Blob::Counted { sink, size: 0 },
            _ => Blob::Hashed(HashingWriter::new(sink)),
        }
    }

    /// The sink, the blob's digest and its size; `diff_id` is the digest of
    /// an uncompressed blob.
    fn finish(self, diff_id: &Digest) -> (W, Digest, u64) {
        match self {
            Blob::Hashed(w) => w.finish(),
            Blob::Counted { sink, size } => (sink, diff_id.clone(), size),
        }
    }
}

impl<W: Write> Write for Blob<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Blob::Hashed(w) => w.write(data),
            Blob::Counted { sink, size } => {
                let n = sink.write(data)?;
                *size += n as u64;
                Ok(n)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Blob::Hashed(w) => w.flush(),
            Blob::Counted { sink, .. } => sink.flush(),
        }
    }
}

/// The calling thread's end: the compressor (zstd) or nothing, then the
/// blob's hasher and the sink.
enum Stage<'a, W: Write> {
    Plain(&'a mut Blob<W>),
    Zstd(zstd::Encoder<'static, &'a mut Blob<W>>),
}

impl<W: Write> Stage<'_, W> {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Stage::Plain(w) => w.write_all(data),
            Stage::Zstd(z) => z.write_all(data),
        }
    }

    fn finish(self) -> io::Result<()> {
        match self {
            Stage::Plain(w) => w.flush(),
            Stage::Zstd(z) => z.finish()?.flush(),
        }
    }
}

/// Runs `produce` (which writes the uncompressed tar) in a thread of its own
/// and compresses and hashes what it writes into `sink`, with
/// [`compress_threads`] workers.
pub(crate) fn run_pass<W, T, F>(
    sink: W,
    compression: Compression,
    produce: F,
) -> Result<(T, Hashes, W), LayerError>
where
    W: Write,
    T: Send,
    F: FnOnce(&mut dyn Write) -> Result<T, LayerError> + Send,
{
    run_pass_with(sink, compression, compress_threads(), produce)
}

/// [`run_pass`] with `threads` compression workers.
fn run_pass_with<W, T, F>(
    sink: W,
    compression: Compression,
    threads: usize,
    produce: F,
) -> Result<(T, Hashes, W), LayerError>
where
    W: Write,
    T: Send,
    F: FnOnce(&mut dyn Write) -> Result<T, LayerError> + Send,
{
    let mut out = Blob::new(sink, compression);
    let (tx, rx) = sync_channel::<Vec<u8>>(DEPTH);
    let chunks = ChunkSender {
        tx,
        buf: Vec::with_capacity(CHUNK),
    };
    let (produced, consumed) = std::thread::scope(|scope| {
        let producer =
            scope.spawn(move || produce_compressed(chunks, compression, threads, produce));
        let consumed = consume(rx, &mut out, compression, threads);
        let produced = producer.join().unwrap_or_else(|_| {
            Err(LayerError::Compress(
                "the layer writer thread panicked".into(),
            ))
        });
        (produced, consumed)
    });
    // The sink's error explains a producer's "sink stopped"; report it first.
    consumed.map_err(|source| LayerError::Io {
        what: "writing the layer blob".to_string(),
        source,
    })?;
    let (value, diff_id) = produced?;
    let (sink, digest, size) = out.finish(&diff_id);
    Ok((
        value,
        Hashes {
            diff_id,
            digest,
            size,
        },
        sink,
    ))
}

/// The producer: tar → diff_id hasher → (gzip) → channel.
fn produce_compressed<T, F>(
    chunks: ChunkSender,
    compression: Compression,
    threads: usize,
    produce: F,
) -> Result<(T, Digest), LayerError>
where
    F: FnOnce(&mut dyn Write) -> Result<T, LayerError>,
{
    match compression {
        Compression::Gzip { level } => {
            let gz = ParallelGzip::new(chunks, level, threads).map_err(write_err)?;
            let mut tar = HashingWriter::new(gz);
            let produced = produce(&mut tar);
            let (gz, diff_id, _) = tar.finish();
            let value = produced?;
            let mut chunks = gz.finish().map_err(write_err)?;
            chunks.flush().map_err(write_err)?;
            Ok((value, diff_id))
        }
        Compression::None | Compression::Zstd { .. } => {
            let mut tar = HashingWriter::new(chunks);
            let value = produce(&mut tar)?;
            let (mut chunks, diff_id, _) = tar.finish();
            chunks.flush().map_err(write_err)?;
            Ok((value, diff_id))
        }
    }
}

fn write_err(source: io::Error) -> LayerError {
    LayerError::Io {
        what: "writing the layer".to_string(),
        source,
    }
}

/// The calling thread: channel → (zstd) → digest hasher → sink. On an error
/// it keeps draining the channel so that the producer never blocks.
fn consume<W: Write>(
    rx: Receiver<Vec<u8>>,
    out: &mut Blob<W>,
    compression: Compression,
    threads: usize,
) -> io::Result<()> {
    let mut stage = match compression {
        Compression::Zstd { level } => match zstd_encoder(out, level, threads) {
            Ok(z) => Stage::Zstd(z),
            Err(e) => {
                rx.iter().for_each(drop);
                return Err(e);
            }
        },
        _ => Stage::Plain(out),
    };
    let mut result = Ok(());
    for chunk in rx.iter() {
        if result.is_ok() {
            result = stage.write_all(&chunk);
        }
    }
    result?;
    stage.finish()
}

/// Bytes of input per libzstd job.
const ZSTD_JOB: u32 = 3 << 19;

/// A zstd encoder at `level` with `workers` libzstd workers. Always the
/// multi-threaded mode (workers ≥ 1): its frames are cut into jobs of a size
/// fixed by the level, so the bytes are the same whatever the number of
/// workers — the single-threaded mode (0 workers) would write other bytes.
fn zstd_encoder<W: Write>(
    out: W,
    level: i32,
    workers: usize,
) -> io::Result<zstd::Encoder<'static, W>> {
    let mut z = zstd::Encoder::new(out, level)?;
    z.multithread(workers.max(1) as u32)?;
    // Jobs of a fixed 1.5 MiB (libzstd's default is 4 windows, 8 MiB at
    // level 3): each job in flight holds its input and output, so this
    // keeps the peak RSS of a big layer under 64 MB; it also fixes the
    // bytes. On the 4.5 GB rootfs ADD, 2 MiB jobs peaked at 61-65 MiB,
    // 1.5 MiB at 54-57 (2% slower, the layer 0.06% bigger); 1 MiB jobs cost
    // 0.3% in size.
    z.set_parameter(zstd::stream::raw::CParameter::JobSize(ZSTD_JOB))?;
    Ok(z)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn data() -> Vec<u8> {
        // compressible but not trivial: many chunks, several gzip blocks
        // and zstd jobs
        (0..(6 << 20) + 123)
            .map(|i| ((i * 7) % 251) as u8 ^ (i >> 12) as u8)
            .collect()
    }

    fn run(c: Compression) -> (Hashes, Vec<u8>) {
        run_threads(c, 2)
    }

    fn run_threads(c: Compression, threads: usize) -> (Hashes, Vec<u8>) {
        run_on(c, threads, data())
    }

    fn run_on(c: Compression, threads: usize, input: Vec<u8>) -> (Hashes, Vec<u8>) {
        let (value, hashes, out) = run_pass_with(Vec::new(), c, threads, |w| {
            for part in input.chunks(100_000) {
                w.write_all(part).map_err(write_err)?;
            }
            Ok(42)
        })
        .unwrap();
        assert_eq!(value, 42);
        (hashes, out)
    }

    #[test]
    fn none_is_the_input() {
        let (h, out) = run(Compression::None);
        assert_eq!(out, data());
        assert_eq!(h.diff_id, crate::digest::sha256(&data()));
        assert_eq!(h.digest, h.diff_id);
        assert_eq!(h.size, data().len() as u64);
    }

    #[test]
    fn gzip_round_trip_and_hashes() {
        let (h, out) = run(Compression::Gzip { level: 6 });
        assert_eq!(h.digest, crate::digest::sha256(&out));
        assert_eq!(h.size, out.len() as u64);
        assert_eq!(h.diff_id, crate::digest::sha256(&data()));
        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data());
        assert!(out.len() < data().len());
        // deterministic
        assert_eq!(run(Compression::Gzip { level: 6 }).0, h);
    }

    #[test]
    fn zstd_round_trip_and_hashes() {
        let (h, out) = run(Compression::Zstd { level: 3 });
        assert_eq!(h.digest, crate::digest::sha256(&out));
        assert_eq!(zstd::decode_all(&out[..]).unwrap(), data());
        assert_eq!(h.diff_id, crate::digest::sha256(&data()));
        assert_eq!(run(Compression::Zstd { level: 3 }).0, h);
    }

    #[test]
    fn bytes_do_not_depend_on_the_number_of_threads() {
        for c in [
            Compression::Gzip { level: 6 },
            Compression::Zstd { level: 3 },
        ] {
            let (one, bytes) = run_threads(c, 1);
            for threads in [2, 4] {
                let (h, out) = run_threads(c, threads);
                assert_eq!(h, one, "{c:?} with {threads} threads");
                assert_eq!(out, bytes);
            }
        }
    }

    #[test]
    fn gzip_is_one_member_no_bigger_than_one_zlib_stream() {
        // real text: this crate's own sources, a few blocks of them
        let mut files: Vec<_> = walkdir::WalkDir::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
            .sort_by_file_name()
            .into_iter()
            .map(|e| e.unwrap().into_path())
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .collect();
        files.sort();
        let input: Vec<u8> = files
            .iter()
            .flat_map(|p| std::fs::read(p).unwrap())
            .collect();
        assert!(input.len() > 1 << 20, "{} bytes of sources", input.len());
        let (_, out) = run_on(Compression::Gzip { level: 6 }, 2, input.clone());
        // one member: the single-member decoder reads all of it
        let mut back = Vec::new();
        let mut one = flate2::read::GzDecoder::new(&out[..]);
        one.read_to_end(&mut back).unwrap();
        assert_eq!(back, input);
        // its blocks, each deflated with an empty dictionary, stay within
        // 1% of zlib's level 6 over the whole input (pigz's size). On this
        // text alone libdeflate's one stream is already 0.2% bigger and the
        // two restarts add 0.3%; on trees of files, binaries among them, it
        // is smaller than pigz (tests/it/speed_layers.rs).
        let zlib6 = |data: &[u8]| {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
            e.write_all(data).unwrap();
            e.finish().unwrap().len()
        };
        let whole = zlib6(&input);
        let size = out.len() - 18; // gzip header and trailer
        assert!(size as f64 <= whole as f64 * 1.01, "{size} vs {whole}");
        // and smaller than blocks of pigz's 128 KiB without its dictionary
        let restarted: usize = input.chunks(128 << 10).map(zlib6).sum();
        assert!(size < restarted, "{size} vs {restarted} restarted");
    }

    #[test]
    fn zstd_is_multithreaded_format_even_with_one_worker() {
        // the single-threaded mode writes other bytes: one worker must not
        // fall back to it
        let (_, mt) = run_threads(Compression::Zstd { level: 3 }, 1);
        let single = zstd::encode_all(&data()[..], 3).unwrap();
        assert_eq!(zstd::decode_all(&mt[..]).unwrap(), data());
        assert_ne!(mt, single);
    }

    #[test]
    fn threads_env_is_bounded() {
        // only the parsing: the variable itself is left alone (tests share it)
        assert!((1..=64).contains(&compress_threads()));
    }

    #[test]
    fn producer_error_is_returned() {
        let err = run_pass(Vec::new(), Compression::Gzip { level: 1 }, |w| {
            w.write_all(&[1u8; 300_000]).map_err(write_err)?;
            Err::<(), _>(LayerError::Compress("stop".into()))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "compressing layer: stop");
    }

    struct FailingSink;
    impl Write for FailingSink {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn sink_error_wins() {
        for c in [
            Compression::None,
            Compression::Gzip { level: 1 },
            Compression::Zstd { level: 1 },
        ] {
            let input = data();
            let err = run_pass(FailingSink, c, |w| {
                w.write_all(&input).map_err(write_err)?;
                Ok(())
            })
            .err()
            .unwrap();
            assert_eq!(
                err.to_string(),
                "writing the layer blob: disk full",
                "{c:?}"
            );
        }
    }
}
