//! An xz file's blocks decoded side by side, read in order.
//!
//! Each worker takes the next block, wraps its bytes (read in place from the
//! file) in a stream header, a one-record index and a footer of their own,
//! and decodes that one-block stream with liblzma's plain decoder, which
//! checks the block's check, its sizes against the index, and every CRC: so
//! a block decodes here exactly as it does inside its stream. The reader
//! takes the front block's pieces as they come; the workers ahead of it
//! hold theirs until it gets there, all of them together at most `cap`
//! bytes. The front block's worker may always hold two pieces, so the
//! reader never waits on a worker that waits for room.

use super::index::{crc32, put_varint, Block, FOOTER_MAGIC, MAGIC};
use crate::events::{Meter, MeterReader};
use liblzma::bufread::XzDecoder;
use liblzma::stream::Stream;
use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::Scope;

/// The pieces a worker hands to the reader.
pub(super) const PIECE: usize = 128 << 10;

/// What the workers share with the reader.
struct Shared {
    state: Mutex<State>,
    /// Signalled when the reader takes a piece or moves to the next block.
    room: Condvar,
    /// Signalled when a worker adds a piece or ends a block.
    data: Condvar,
}

#[derive(Default)]
struct State {
    /// The next block a worker takes.
    next: usize,
    /// The block the reader is in.
    front: usize,
    /// Bytes held in pieces, all blocks together.
    held: u64,
    /// The blocks taken and not yet read to their end.
    slots: BTreeMap<usize, Slot>,
    /// The reader is gone, or a block failed: workers stop.
    stopped: bool,
    /// Pieces the reader is done with, for the workers to fill again (so
    /// the pieces are allocated once, not once a piece in each worker's
    /// malloc arena).
    spare: Vec<Vec<u8>>,
}

#[derive(Default)]
struct Slot {
    pieces: VecDeque<Vec<u8>>,
    held: u64,
    /// Set when its worker is done with it.
    end: Option<io::Result<()>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next block for a worker, or None when there is none or the
    /// reader stopped.
    fn take(&self, count: usize) -> Option<usize> {
        let mut state = self.lock();
        if state.stopped || state.next >= count {
            return None;
        }
        let i = state.next;
        state.next += 1;
        state.slots.insert(i, Slot::default());
        Some(i)
    }

    /// Hands `piece` of block `i` to the reader once there is room; false
    /// when the reader stopped.
    fn put(&self, i: usize, piece: Vec<u8>, cap: u64) -> bool {
        let len = piece.len() as u64;
        let mut state = self.lock();
        loop {
            if state.stopped {
                return false;
            }
            let front = state.front;
            let total = state.held;
            let Some(slot) = state.slots.get_mut(&i) else {
                return false;
            };
            if (i == front && slot.held < 2 * PIECE as u64) || total + len <= cap {
                slot.pieces.push_back(piece);
                slot.held += len;
                state.held += len;
                self.data.notify_all();
                return true;
            }
            state = self
                .room
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// An empty piece to fill.
    fn piece(&self) -> Vec<u8> {
        let mut piece = self.lock().spare.pop().unwrap_or_default();
        piece.resize(PIECE, 0);
        piece
    }

    /// Block `i` is done with `result`.
    fn end(&self, i: usize, result: io::Result<()>) {
        let mut state = self.lock();
        if let Some(slot) = state.slots.get_mut(&i) {
            slot.end = Some(result);
        }
        self.data.notify_all();
    }

    fn stop(&self) {
        self.lock().stopped = true;
        self.room.notify_all();
        self.data.notify_all();
    }
}

/// Ends a worker's block with an error if the worker panics, so the
/// reader does not wait for it forever.
struct EndOnPanic<'a> {
    shared: &'a Shared,
    block: Option<usize>,
}

impl Drop for EndOnPanic<'_> {
    fn drop(&mut self) {
        if let Some(i) = self.block.filter(|_| std::thread::panicking()) {
            self.shared
                .end(i, Err(io::Error::other("an xz decoding thread failed")));
            self.shared.stop();
        }
    }
}

/// The reader of the decoded blocks; dropping it stops the workers.
pub(super) struct Blocks {
    shared: Arc<Shared>,
    count: usize,
    /// The error a block ended with, given again to any later read.
    failed: Option<(io::ErrorKind, String)>,
    piece: Vec<u8>,
    pos: usize,
}

/// Decodes `blocks` of `file` on `workers` threads of `scope`, holding at
/// most `cap` bytes ahead of the reader; `meter` counts the bytes read from
/// the file.
pub(super) fn spawn<'s, 'e: 's>(
    scope: &'s Scope<'s, 'e>,
    file: &'e File,
    meter: &'e Meter,
    blocks: Vec<Block>,
    workers: usize,
    cap: u64,
) -> Blocks {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        room: Condvar::new(),
        data: Condvar::new(),
    });
    let count = blocks.len();
    let blocks: Arc<[Block]> = blocks.into();
    for _ in 0..workers {
        let shared = Arc::clone(&shared);
        let blocks = Arc::clone(&blocks);
        scope.spawn(move || work(&shared, file, meter, &blocks, cap));
    }
    Blocks {
        shared,
        count,
        failed: None,
        piece: Vec::new(),
        pos: 0,
    }
}

/// A worker: decodes the next block not taken until there is none.
fn work(shared: &Shared, file: &File, meter: &Meter, blocks: &[Block], cap: u64) {
    let mut guard = EndOnPanic {
        shared,
        block: None,
    };
    while let Some(i) = shared.take(blocks.len()) {
        guard.block = Some(i);
        let put = |piece| shared.put(i, piece, cap);
        let result = decode(&blocks[i], file, meter, || shared.piece(), put);
        guard.block = None;
        shared.end(i, result);
    }
}

/// Decodes `block` of `file`, handing its bytes to `put` in pieces; stops
/// (Ok) when `put` says the reader is gone.
fn decode(
    block: &Block,
    file: &File,
    meter: &Meter,
    mut piece: impl FnMut() -> Vec<u8>,
    mut put: impl FnMut(Vec<u8>) -> bool,
) -> io::Result<()> {
    let bytes = BlockBytes {
        file,
        at: block.start,
        end: block.start + block.padded(),
    };
    let (head, tail) = frame(block);
    let input = Cursor::new(head).chain(MeterReader {
        inner: bytes,
        meter,
    });
    let input = BufReader::with_capacity(64 << 10, input.chain(Cursor::new(tail)));
    let stream = Stream::new_stream_decoder(u64::MAX, 0).map_err(io::Error::other)?;
    let mut decoder = XzDecoder::new_stream(input, stream);
    loop {
        let mut piece = piece();
        let n = super::super::read_full(&mut decoder, &mut piece)?;
        if n == 0 {
            return Ok(());
        }
        piece.truncate(n);
        if !put(piece) {
            return Ok(());
        }
    }
}

/// The stream header, and the one-record index and footer, that make
/// `block` a stream of its own.
fn frame(block: &Block) -> (Vec<u8>, Vec<u8>) {
    let mut head = MAGIC.to_vec();
    head.extend(block.flags);
    head.extend(crc32(&block.flags).to_le_bytes());
    let mut index = vec![0u8];
    put_varint(&mut index, 1);
    put_varint(&mut index, block.unpadded);
    put_varint(&mut index, block.uncompressed);
    index.resize(index.len().next_multiple_of(4), 0);
    index.extend(crc32(&index).to_le_bytes());
    let backward = (index.len() / 4 - 1) as u32;
    let mut footer = backward.to_le_bytes().to_vec();
    footer.extend(block.flags);
    let mut tail = index;
    tail.extend(crc32(&footer).to_le_bytes());
    tail.extend(footer);
    tail.extend(FOOTER_MAGIC);
    (head, tail)
}

/// The bytes of a block, read in place.
struct BlockBytes<'f> {
    file: &'f File,
    at: u64,
    end: u64,
}

impl Read for BlockBytes<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(self.end - self.at).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.at)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.at += n as u64;
        Ok(n)
    }
}

impl Blocks {
    /// The next piece of the front block, moving on at each block's end;
    /// None after the last. `done` is the piece read before, to be filled
    /// again.
    fn next_piece(&mut self, done: Vec<u8>) -> io::Result<Option<Vec<u8>>> {
        if let Some((kind, message)) = &self.failed {
            return Err(io::Error::new(*kind, message.clone()));
        }
        let shared = &*self.shared;
        let mut state = shared.lock();
        if done.capacity() > 0 {
            state.spare.push(done);
        }
        loop {
            let front = state.front;
            if front >= self.count {
                return Ok(None);
            }
            let Some(slot) = state.slots.get_mut(&front) else {
                state = shared
                    .data
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            };
            if let Some(piece) = slot.pieces.pop_front() {
                slot.held -= piece.len() as u64;
                state.held -= piece.len() as u64;
                shared.room.notify_all();
                return Ok(Some(piece));
            }
            match slot.end.take() {
                Some(Ok(())) => {
                    state.slots.remove(&front);
                    state.front += 1;
                    shared.room.notify_all();
                }
                Some(Err(e)) => {
                    drop(state);
                    shared.stop();
                    self.failed = Some((e.kind(), e.to_string()));
                    return Err(e);
                }
                None => {
                    state = shared
                        .data
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner)
                }
            }
        }
    }
}

impl Read for Blocks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.piece.len() {
            let done = std::mem::take(&mut self.piece);
            self.pos = 0;
            match self.next_piece(done)? {
                Some(piece) => self.piece = piece,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.piece.len() - self.pos);
        buf[..n].copy_from_slice(&self.piece[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Drop for Blocks {
    fn drop(&mut self) {
        self.shared.stop();
    }
}
