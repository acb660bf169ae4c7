//! Progress of reading an archive: a bar on a terminal, a line every 10%
//! elsewhere, nothing when not asked for.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Read};

/// Below this size, plain progress prints only the final line.
const SMALL: u64 = 8 << 20;

/// Reports bytes read of one archive file.
pub(crate) enum Progress {
    /// Print nothing.
    Off,
    /// An indicatif bar on stderr.
    Bar(ProgressBar),
    /// Plain lines on stderr.
    Lines {
        name: String,
        total: u64,
        done: u64,
        /// The next tenth to report (1..=10).
        next: u64,
    },
}

impl Progress {
    /// Progress for `name`, `total` bytes long.
    pub(crate) fn new(enabled: bool, name: &str, total: u64) -> Progress {
        if !enabled {
            return Progress::Off;
        }
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(name.to_string());
            Progress::Bar(bar)
        } else {
            Progress::Lines {
                name: name.to_string(),
                total,
                done: 0,
                // a small archive gets one line, at the end
                next: if total < SMALL { 10 } else { 1 },
            }
        }
    }

    /// Counts `n` more bytes read.
    pub(crate) fn advance(&mut self, n: u64) {
        match self {
            Progress::Off => {}
            Progress::Bar(bar) => bar.inc(n),
            Progress::Lines {
                name,
                total,
                done,
                next,
            } => {
                *done += n;
                while *next <= 10 && done.saturating_mul(10) >= total.saturating_mul(*next) {
                    eprintln!(
                        "{name}: {}% ({} of {} MiB)",
                        *next * 10,
                        *done >> 20,
                        *total >> 20
                    );
                    *next += 1;
                }
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Progress::Bar(bar) = self {
            bar.finish();
        }
    }
}

/// A reader that reports what is read through it.
pub(crate) struct ProgressReader<R> {
    pub(crate) inner: R,
    pub(crate) progress: Progress,
}

impl<R: Read> Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_reads_through() {
        let mut r = ProgressReader {
            inner: &b"abc"[..],
            progress: Progress::new(false, "x", 3),
        };
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "abc");
    }

    #[test]
    fn small_archives_get_one_line() {
        match Progress::new(true, "a", 1000) {
            Progress::Lines { next, .. } => assert_eq!(next, 10),
            Progress::Bar(_) => {} // stderr is a terminal here
            Progress::Off => panic!("progress was asked for"),
        }
    }

    #[test]
    fn lines_count_tenths() {
        let mut p = Progress::Lines {
            name: "a".into(),
            total: 100,
            done: 0,
            next: 1,
        };
        p.advance(35);
        match &p {
            Progress::Lines { next, .. } => assert_eq!(*next, 4),
            _ => unreachable!(),
        }
        p.advance(65);
        match &p {
            Progress::Lines { next, done, .. } => assert_eq!((*next, *done), (11, 100)),
            _ => unreachable!(),
        }
    }
}
