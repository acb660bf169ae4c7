//! gzip in parallel blocks, as pigz writes it: the input is cut into blocks
//! of 128 KiB, each deflated on a worker thread with the previous block's
//! last 32 KiB as its preset dictionary and ended by a sync flush, and the
//! blocks are written in order as the one deflate stream of a single gzip
//! member. The bytes depend only on the input and the level — never on the
//! number of workers or their timing (a worker resets its compressor before
//! each block). The deflate is C zlib's (libz-sys, built from its bundled
//! source), whose level 6 is pigz's: the layers come out at pigz's size.

use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Uncompressed bytes per block (pigz's default).
const BLOCK: usize = 128 << 10;
/// The preset dictionary: deflate's whole window.
const DICTIONARY: usize = 32 << 10;

/// One block for a worker.
struct Job {
    data: Vec<u8>,
    dictionary: Option<Vec<u8>>,
    last: bool,
    reply: SyncSender<io::Result<Vec<u8>>>,
}

/// A writer of one gzip member compressed by `threads` workers.
pub(crate) struct ParallelGzip<W: Write> {
    out: W,
    block: Vec<u8>,
    dictionary: Option<Vec<u8>>,
    crc: Crc,
    jobs: Option<SyncSender<Job>>,
    pending: VecDeque<Receiver<io::Result<Vec<u8>>>>,
    workers: Vec<JoinHandle<()>>,
    threads: usize,
}

impl<W: Write> ParallelGzip<W> {
    /// Writes the gzip header to `out` and starts `threads` workers.
    pub(crate) fn new(mut out: W, level: u32, threads: usize) -> io::Result<Self> {
        let threads = threads.max(1);
        // no name, mtime 0, XFL as gzip sets it for the level, OS unknown
        let xfl = match level {
            9.. => 2,
            0 | 1 => 4,
            _ => 0,
        };
        out.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255])?;
        let (jobs, queue) = sync_channel::<Job>(threads);
        let queue = Arc::new(Mutex::new(queue));
        let workers = (0..threads)
            .map(|_| {
                let queue = Arc::clone(&queue);
                std::thread::spawn(move || work(&queue, level))
            })
            .collect();
        Ok(ParallelGzip {
            out,
            block: Vec::with_capacity(BLOCK),
            dictionary: None,
            crc: Crc::new(),
            jobs: Some(jobs),
            pending: VecDeque::new(),
            workers,
            threads,
        })
    }

    /// Hands the current block to the workers, and writes finished blocks
    /// while more than two per worker are in flight.
    fn send_block(&mut self, last: bool) -> io::Result<()> {
        let data = std::mem::replace(&mut self.block, Vec::with_capacity(BLOCK));
        let next = (data.len() >= DICTIONARY).then(|| data[data.len() - DICTIONARY..].to_vec());
        let dictionary = std::mem::replace(&mut self.dictionary, next);
        let (reply, result) = sync_channel(1);
        let job = Job {
            data,
            dictionary,
            last,
            reply,
        };
        let stopped = || io::Error::other("the gzip workers stopped");
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| stopped())?;
        self.pending.push_back(result);
        while self.pending.len() > 2 * self.threads || (last && !self.pending.is_empty()) {
            self.write_oldest()?;
        }
        Ok(())
    }

    fn write_oldest(&mut self) -> io::Result<()> {
        let Some(result) = self.pending.pop_front() else {
            return Ok(());
        };
        let deflated = result
            .recv()
            .map_err(|_| io::Error::other("a gzip worker stopped"))??;
        self.out.write_all(&deflated)
    }

    /// Compresses what is left, writes the trailer and returns the writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.send_block(true)?;
        self.jobs = None;
        for worker in self.workers.drain(..) {
            worker
                .join()
                .map_err(|_| io::Error::other("a gzip worker panicked"))?;
        }
        let mut trailer = self.crc.sum().to_le_bytes().to_vec();
        trailer.extend_from_slice(&self.crc.amount().to_le_bytes());
        self.out.write_all(&trailer)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for ParallelGzip<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.block.len() == BLOCK {
            self.send_block(false)?;
        }
        let n = data.len().min(BLOCK - self.block.len());
        self.block.extend_from_slice(&data[..n]);
        self.crc.update(&data[..n]);
        Ok(n)
    }

    /// Blocks are cut by size only, so that the bytes never depend on
    /// when a caller flushes.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A worker: deflates the blocks it takes until the queue closes.
fn work(queue: &Mutex<Receiver<Job>>, level: u32) {
    let mut c = Compress::new(Compression::new(level.min(9)), false);
    loop {
        let job = match queue.lock() {
            Ok(q) => q.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        c.reset();
        let deflated = deflate_block(&mut c, &job.data, job.dictionary.as_deref(), job.last);
        // the writer may have gone (an error): nothing to do then
        let _ = job.reply.send(deflated);
    }
}

/// Raw deflate of one block with a reset compressor, primed with
/// `dictionary`; sync-flushed, or finished when `last`.
fn deflate_block(
    c: &mut Compress,
    data: &[u8],
    dictionary: Option<&[u8]>,
    last: bool,
) -> io::Result<Vec<u8>> {
    if let Some(d) = dictionary {
        c.set_dictionary(d).map_err(io::Error::other)?;
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(data.len() / 2 + 1024);
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(4096));
        }
        let consumed = c.total_in() as usize;
        let status = c
            .compress_vec(&data[consumed..], &mut out, flush)
            .map_err(io::Error::other)?;
        let all_in = c.total_in() as usize == data.len();
        // a sync flush is complete once all input is in and room is left
        match status {
            Status::StreamEnd => return Ok(out),
            _ if !last && all_in && out.len() < out.capacity() => return Ok(out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gzip(data: &[u8], threads: usize, level: u32) -> Vec<u8> {
        let mut gz = ParallelGzip::new(Vec::new(), level, threads).unwrap();
        for part in data.chunks(70_001) {
            gz.write_all(part).unwrap();
            gz.flush().unwrap();
        }
        gz.finish().unwrap()
    }

    fn data() -> Vec<u8> {
        let mut seed = 3u64;
        (0..1_500_000)
            .map(|_| {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                b"abcdefgh  \n"[(seed >> 60) as usize % 11]
            })
            .collect()
    }

    #[test]
    fn one_member_at_every_level_and_size() {
        for len in [0, 1, DICTIONARY - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 5] {
            let d = &data()[..len];
            for level in [0, 1, 6, 9] {
                let out = gzip(d, 2, level);
                let mut back = Vec::new();
                flate2::read::GzDecoder::new(&out[..])
                    .read_to_end(&mut back)
                    .unwrap();
                assert!(back == d, "len {len} level {level}");
            }
        }
    }

    #[test]
    fn workers_and_flushes_do_not_change_the_bytes() {
        let d = data();
        let one = gzip(&d, 1, 6);
        for threads in [2, 3, 4] {
            assert!(gzip(&d, threads, 6) == one, "{threads} workers");
        }
        let mut whole = ParallelGzip::new(Vec::new(), 6, 2).unwrap();
        whole.write_all(&d).unwrap();
        assert!(whole.finish().unwrap() == one, "without flushes");
    }
}
