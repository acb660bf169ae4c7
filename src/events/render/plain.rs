//! `--progress plain`: one line per finished step with its duration, one
//! per blob transferred, and a line every tenth of a long operation.

use super::{common_line, step_done};
use crate::events::{Event, Progress, Reporter};
use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;

/// Below this many bytes an operation gets no progress lines.
const SMALL: u64 = 8 << 20;

/// Plain lines on a writer (stderr).
pub struct Plain {
    out: Mutex<Box<dyn Write + Send>>,
    /// The next tenth to print, by operation.
    tenths: Mutex<HashMap<u64, u64>>,
    color: bool,
}

impl Plain {
    /// Lines on `out`; warnings coloured when `color`.
    pub fn new(out: Box<dyn Write + Send>, color: bool) -> Plain {
        Plain {
            out: Mutex::new(out),
            tenths: Mutex::new(HashMap::new()),
            color,
        }
    }

    fn line(&self, text: &str) {
        if let Ok(mut out) = self.out.lock() {
            // a closed stderr must not fail the build
            let _ = writeln!(out, "{text}");
        }
    }

    /// `uploading sha256:ab12… (layer): 40% (40 of 100 MiB)` at each tenth.
    fn progress(&self, p: &Progress) {
        let Some(total) = p.total_bytes.filter(|t| *t >= SMALL) else {
            return;
        };
        let Ok(mut tenths) = self.tenths.lock() else {
            return;
        };
        let next = tenths.entry(p.id).or_insert(1);
        while *next <= 10 && p.bytes.saturating_mul(10) >= total.saturating_mul(*next) {
            self.line(&format!(
                "{}: {}% ({} of {} MiB)",
                crate::error::escape_controls(&p.label),
                *next * 10,
                p.bytes >> 20,
                total >> 20
            ));
            *next += 1;
        }
        if p.finished {
            tenths.remove(&p.id);
        }
    }
}

impl Reporter for Plain {
    fn report(&self, event: &Event) {
        match event {
            Event::StepFinished {
                step,
                seconds,
                result,
            } => self.line(&step_done(step, *seconds, &result.summary)),
            Event::Progress(p) => self.progress(p),
            other => {
                if let Some(line) = common_line(other, self.color) {
                    self.line(&line);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Step, StepResult, Task};
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn steps_and_tenths() {
        let buf = Buf::default();
        let plain = Plain::new(Box::new(buf.clone()), false);
        let step = Step {
            stage: 0,
            index: 1,
            total: 1,
            line: 1,
            text: "FROM scratch".into(),
        };
        plain.report(&Event::StepStarted(step.clone()));
        plain.report(&Event::StepFinished {
            step,
            seconds: 0.25,
            result: StepResult {
                summary: "empty base (scratch)".into(),
                ..StepResult::default()
            },
        });
        let mut p = Progress {
            id: 7,
            task: Task::Upload,
            label: "big".into(),
            bytes: 35 << 20,
            total_bytes: Some(100 << 20),
            files: 0,
            total_files: None,
            finished: false,
        };
        plain.report(&Event::Progress(p.clone()));
        p.bytes = 100 << 20;
        p.finished = true;
        plain.report(&Event::Progress(p));
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "[1/1] FROM scratch → empty base (scratch)  DONE 0.25s"
        );
        assert_eq!(lines[1], "big: 10% (35 of 100 MiB)");
        assert_eq!(lines.len(), 11, "{text}");
        assert_eq!(lines[10], "big: 100% (100 of 100 MiB)");
    }
}
