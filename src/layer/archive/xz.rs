//! xz archives decoded on several threads where the archive allows it.
//!
//! `xz -T0` (the default of xz ≥ 5.4) and pixz cut the stream into blocks
//! that decode independently; the index at the end of each stream says
//! where they lie. Such an archive's blocks are decoded side by side
//! ([`blocks`]): the reader takes the front block as it is decoded, and the
//! workers ahead of it hold what they decoded until it gets there. Each
//! worker holds its dictionary, and the lookahead together holds half a
//! block per extra worker, which is enough for two workers to keep each
//! other busy (while one finishes the second half of its block, the other
//! decodes the first half of the next); the budget must fit both. liblzma's
//! own multi-threaded decoder, which holds every worker's whole block,
//! fitted only one `xz -6` worker in the same memory, no faster than the
//! plain decoder.
//!
//! A single-block archive (`xz -T1`, older xz), one whose dictionaries leave
//! no room in the budget (`xz -7` and up), or one whose index cannot be read
//! is read by liblzma's plain decoder, every stream one after the other, as
//! `xz -d` reads them.

mod blocks;
mod index;

use crate::events::{Meter, MeterReader};
use index::Block;
use std::fs::File;
use std::io::{self, Read};
use std::thread::Scope;

/// The memory the decoder's workers may take together beside an
/// uncompressed or gzip layer: with the ~30 MB the rest of such an ADD
/// takes, the peak RSS stays under 64 MB. Two `xz -6` workers (an 8 MiB
/// dictionary each) and 12 MiB of lookahead, half of one of its 24 MiB
/// blocks, fit (29 MiB).
pub(super) const MEMLIMIT_THREADING: u64 = 32 << 20;

/// The same beside a zstd layer, whose compressor's workers took ~28 MB
/// more when this was set (~13 MB since its jobs are 1.5 MiB: a 600 MB ADD
/// peaked at 48 MiB, against 36 with gzip): two `xz -2` workers (2 MiB
/// dictionaries, 6 MiB blocks) fit.
pub(super) const MEMLIMIT_THREADING_ZSTD: u64 = 8 << 20;

/// What a worker holds besides its dictionary and the lookahead: the piece
/// it fills, its input buffer, liblzma's state.
const WORKER_OVERHEAD: u64 = 512 << 10;

/// A reader of the xz archive `file`: its blocks decoded on up to `threads`
/// threads of `scope` taking at most `budget` bytes together, when its
/// index shows blocks that fit; else the plain decoder. `meter` counts the
/// bytes read from the file.
pub(super) fn decoder<'s, 'e: 's>(
    scope: &'s Scope<'s, 'e>,
    file: &'e File,
    meter: &'e Meter,
    threads: usize,
    budget: u64,
) -> io::Result<Box<dyn Read + Send + 's>> {
    let len = file.metadata()?.len();
    if let Some(blocks) = index::blocks(file, len) {
        if let Some((workers, cap)) = plan(&blocks, threads, budget) {
            let reader = blocks::spawn(scope, file, meter, blocks, workers, cap);
            return Ok(Box::new(reader));
        }
    }
    let input = MeterReader { inner: file, meter };
    super::decoder(super::ArchiveFormat::Xz, input)
}

/// How many workers decode `blocks` within `budget`, and how many bytes
/// they may hold ahead of the reader (half a block per extra worker, and
/// the two pieces the front block's worker may always hold); None when
/// fewer than two fit.
fn plan(blocks: &[Block], threads: usize, budget: u64) -> Option<(usize, u64)> {
    // a decoder touches no more of its dictionary than its block fills
    let dictionary = blocks
        .iter()
        .map(|b| b.dictionary.min(b.uncompressed))
        .max()?;
    let largest = blocks.iter().map(|b| b.uncompressed).max()?;
    (2..=threads.min(blocks.len())).rev().find_map(|workers| {
        let w = workers as u64;
        let room = budget.checked_sub(w.checked_mul(dictionary.checked_add(WORKER_OVERHEAD)?)?)?;
        let ahead = (w - 1).saturating_mul(largest) / 2;
        (room >= ahead).then_some((workers, room.min(ahead + 2 * blocks::PIECE as u64)))
    })
}

#[cfg(test)]
mod tests;
