//! Measuring a long operation: counts bytes and files and emits
//! [`Event::Progress`] at most every [`EVERY`], so a fast copy of many small
//! reads costs a few events a second, not one per read.

use super::{Event, Events, Progress, Task};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The least time between two progress events of one operation.
pub const EVERY: Duration = Duration::from_millis(50);

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The progress of one operation; its last event is sent when it is
/// finished or dropped. Shared by reference (a reader and the code that
/// counts files can both advance it).
pub struct Meter {
    events: Events,
    state: Mutex<(Progress, Instant)>,
}

impl Meter {
    pub(super) fn start(
        events: Events,
        task: Task,
        label: String,
        total_bytes: Option<u64>,
        total_files: Option<u64>,
    ) -> Meter {
        let progress = Progress {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            task,
            label,
            bytes: 0,
            total_bytes,
            files: 0,
            total_files,
            finished: false,
        };
        events.emit(Event::Progress(progress.clone()));
        Meter {
            events,
            state: Mutex::new((progress, Instant::now())),
        }
    }

    /// Counts `bytes` and `files` more done.
    pub fn advance(&self, bytes: u64, files: u64) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let (progress, last) = &mut *state;
        if progress.finished {
            return;
        }
        progress.bytes += bytes;
        progress.files += files;
        if last.elapsed() >= EVERY {
            *last = Instant::now();
            self.events.emit(Event::Progress(progress.clone()));
        }
    }

    /// Ends the operation (once).
    pub fn finish(&self) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if !state.0.finished {
            state.0.finished = true;
            self.events.emit(Event::Progress(state.0.clone()));
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A reader (or writer) that counts what passes through it on a [`Meter`].
pub struct MeterReader<'m, R> {
    /// What is read.
    pub inner: R,
    /// Where it is counted.
    pub meter: &'m Meter,
}

impl<R: Read> Read for MeterReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.meter.advance(n as u64, 0);
        Ok(n)
    }
}

impl<W: Write> Write for MeterReader<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.meter.advance(n as u64, 0);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
