//! An xz file's blocks decoded side by side, read in order.
//!
//! Each worker takes the next block not taken, frames its bytes (read in
//! place from the file) with a stream header, a one-record index and a
//! footer of their own, and feeds that one-block stream to its decoder:
//! liblzma's plain decoder, one per worker for all the blocks it takes (in
//! concatenated mode, so its dictionary is allocated once), which checks
//! each block's check, its sizes against the index, and every CRC, exactly
//! as inside the real stream. The reader takes the front block's pieces as
//! they come; the workers ahead of it hold theirs until it gets there, all
//! of them together at most `cap` bytes. The front block's worker may
//! always hold two pieces, so the reader never waits on a worker that waits
//! for room.

use super::index::{crc32, put_varint, Block, FOOTER_MAGIC, MAGIC};
use crate::events::Meter;
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

/// The blocks a worker took and has not ended: on an error or a panic
/// they end with it, so the reader never waits for them forever.
struct Open<'a> {
    shared: &'a Shared,
    blocks: Vec<usize>,
}

impl Open<'_> {
    /// Ends every open block but `keep` well.
    fn verified(&mut self, keep: Option<usize>) {
        for i in std::mem::take(&mut self.blocks) {
            if Some(i) == keep {
                self.blocks.push(i);
            } else {
                self.shared.end(i, Ok(()));
            }
        }
    }

    /// Ends every open block with `error`.
    fn fail(&mut self, error: &io::Error) {
        for i in std::mem::take(&mut self.blocks) {
            self.shared
                .end(i, Err(io::Error::new(error.kind(), error.to_string())));
        }
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.fail(&io::Error::other("an xz decoding thread failed"));
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

/// A worker: decodes the next block not taken until there is none, all of
/// them with one decoder (one dictionary allocated once), fed each block as
/// a stream of its own. liblzma checks a stream's end (the block's check,
/// the index) only when it reads on, so a block ends well when the decoder
/// gives the first bytes of the worker's next block, or reaches the end
/// after its last.
fn work(shared: &Shared, file: &File, meter: &Meter, blocks: &[Block], cap: u64) {
    let mut open = Open {
        shared,
        blocks: Vec::new(),
    };
    let mut decoder = None;
    while let Some(i) = shared.take(blocks.len()) {
        open.blocks.push(i);
        if decoder.is_none() {
            match Stream::new_stream_decoder(u64::MAX, liblzma::stream::CONCATENATED) {
                Ok(stream) => {
                    let feed = BufReader::with_capacity(64 << 10, Feed::new(file, meter));
                    decoder = Some(XzDecoder::new_stream(feed, stream));
                }
                Err(e) => return open.fail(&io::Error::other(e)),
            }
        }
        let Some(decoder) = decoder.as_mut() else {
            return;
        };
        decoder.get_mut().get_mut().push(&blocks[i]);
        let mut left = blocks[i].uncompressed;
        while left > 0 {
            let mut piece = shared.piece();
            piece.truncate(usize::try_from(left).map_or(PIECE, |left| left.min(PIECE)));
            let n = match super::super::read_full(decoder, &mut piece) {
                Ok(0) => {
                    let short = "an xz block ends before its index says";
                    return open.fail(&io::Error::new(io::ErrorKind::UnexpectedEof, short));
                }
                Ok(n) => n,
                Err(e) => return open.fail(&e),
            };
            open.verified(Some(i));
            left -= n as u64;
            piece.truncate(n);
            if !shared.put(i, piece, cap) {
                return;
            }
        }
    }
    if let Some(decoder) = decoder.as_mut() {
        match decoder.read(&mut [0u8; 1]) {
            Ok(0) => open.verified(None),
            Ok(_) => open.fail(&io::Error::other(
                "an xz block is longer than its index says",
            )),
            Err(e) => open.fail(&e),
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

/// A worker's decoder's input: the blocks it decodes, one after the other,
/// framed (see [`frame`]), their bytes read in place from the file. A block
/// is queued once its output is read, before the decoder has taken the end
/// of the one before it (the rest of its data, its check, the frame's
/// index and footer).
struct Feed<'f> {
    file: &'f File,
    meter: &'f Meter,
    queue: VecDeque<Block>,
    head: Cursor<Vec<u8>>,
    at: u64,
    end: u64,
    tail: Cursor<Vec<u8>>,
}

impl<'f> Feed<'f> {
    fn new(file: &'f File, meter: &'f Meter) -> Self {
        Feed {
            file,
            meter,
            queue: VecDeque::new(),
            head: Cursor::default(),
            at: 0,
            end: 0,
            tail: Cursor::default(),
        }
    }

    /// Feeds `block` after what is queued.
    fn push(&mut self, block: &Block) {
        self.queue.push_back(block.clone());
    }

    /// The next bytes of the frame being fed; 0 at its end.
    fn read_frame(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.head.read(buf)?;
        if n > 0 {
            return Ok(n);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.end - self.at).unwrap_or(usize::MAX));
        if want == 0 {
            return self.tail.read(buf);
        }
        let n = self.file.read_at(&mut buf[..want], self.at)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.at += n as u64;
        self.meter.advance(n as u64, 0);
        Ok(n)
    }
}

impl Read for Feed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.read_frame(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            let Some(block) = self.queue.pop_front() else {
                return Ok(0);
            };
            let (head, tail) = frame(&block);
            self.head = Cursor::new(head);
            self.at = block.start;
            self.end = block.start + block.padded();
            self.tail = Cursor::new(tail);
        }
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
