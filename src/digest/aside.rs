//! SHA-256 computed on a thread of its own, for streams of many MB (a
//! blob fetched from a registry, a layer being written): the thread that
//! moves the bytes only copies them into a chunk, so hashing runs beside
//! the network, the decompressor or the file system instead of after them.

use sha2::{Digest as _, Sha256};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Bytes handed to the hashing thread at a time.
const CHUNK: usize = 1 << 20;
/// Chunks queued for it at most (with the one it hashes and the one being
/// filled, memory stays under 8 MiB however long the stream).
const QUEUED: usize = 4;

/// A SHA-256 being computed on another thread.
pub(super) struct AsideHasher {
    chunk: Vec<u8>,
    full: Option<SyncSender<Vec<u8>>>,
    empty: Receiver<Vec<u8>>,
    thread: Option<JoinHandle<[u8; 32]>>,
}

impl AsideHasher {
    pub(super) fn new() -> AsideHasher {
        let (full, to_hash) = sync_channel::<Vec<u8>>(QUEUED);
        let (give_back, empty) = channel();
        let thread = std::thread::spawn(move || {
            let mut hasher = Sha256::new();
            for mut chunk in to_hash {
                hasher.update(&chunk);
                chunk.clear();
                // the writer may be gone already: the chunk is then dropped
                let _ = give_back.send(chunk);
            }
            hasher.finalize().into()
        });
        AsideHasher {
            chunk: Vec::with_capacity(CHUNK),
            full: Some(full),
            empty,
            thread: Some(thread),
        }
    }

    pub(super) fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let take = (CHUNK - self.chunk.len()).min(data.len());
            self.chunk.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.chunk.len() == CHUNK {
                self.hand_over();
            }
        }
    }

    /// Sends the chunk being filled to the hashing thread.
    fn hand_over(&mut self) {
        let next = self
            .empty
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let chunk = std::mem::replace(&mut self.chunk, next);
        if let Some(full) = &self.full {
            // fails only when the thread is gone (it panicked): finalize says so
            let _ = full.send(chunk);
        }
    }

    pub(super) fn finalize(mut self) -> [u8; 32] {
        if !self.chunk.is_empty() {
            self.hand_over();
        }
        self.full = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(digest)) => digest,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => unreachable!("an aside hasher is finalized once"),
        }
    }
}

impl Drop for AsideHasher {
    fn drop(&mut self) {
        // unfinished (an error dropped the writer): let the thread end
        self.full = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_as_sha256_does_whatever_the_pieces() {
        let data: Vec<u8> = (0..3 * CHUNK + 12345)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let expected: [u8; 32] = Sha256::digest(&data).into();
        for piece in [1, 4096, CHUNK - 1, CHUNK, 2 * CHUNK + 3, data.len()] {
            let mut aside = AsideHasher::new();
            for part in data.chunks(piece) {
                aside.update(part);
            }
            assert_eq!(aside.finalize(), expected, "pieces of {piece}");
        }
        let empty: [u8; 32] = Sha256::digest(b"").into();
        assert_eq!(AsideHasher::new().finalize(), empty);
    }
}
