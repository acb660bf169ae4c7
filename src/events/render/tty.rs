//! `--progress tty`: live indicatif bars for what is running (the step, a
//! COPY's files and bytes, an archive, uploads and downloads), with each
//! finished step, blob and warning printed above the bars so they never
//! garble a line.

use super::{common_line, step_done, step_header};
use crate::events::{Event, Progress, Reporter};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Live bars on stderr (a terminal).
pub struct Tty {
    multi: MultiProgress,
    step: Mutex<Option<ProgressBar>>,
    bars: Mutex<HashMap<u64, ProgressBar>>,
    color: bool,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// What a bar says: its label, and the files done of a COPY.
fn message(p: &Progress) -> String {
    let label = crate::error::escape_controls(&p.label);
    match p.total_files {
        Some(total) => format!("{label} {}/{total} files", p.files),
        None => label,
    }
}

impl Tty {
    /// Bars on stderr; warnings coloured when `color`.
    pub fn new(color: bool) -> Tty {
        Tty {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            step: Mutex::new(None),
            bars: Mutex::new(HashMap::new()),
            color,
        }
    }

    fn line(&self, text: &str) {
        // printed above the bars; with no bars drawn, straight to stderr
        if self.multi.println(text).is_err() || self.multi.is_hidden() {
            eprintln!("{text}");
        }
    }

    fn bar_for(&self, p: &Progress) -> ProgressBar {
        // made hidden and added once styled: a bar with its own stderr
        // would draw itself once, a stale line under the others
        let bar = ProgressBar::hidden();
        bar.set_length(p.total_bytes.unwrap_or(0));
        let template = match p.total_bytes {
            Some(_) => "  {msg} [{bar:25}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            None => "  {spinner} {msg} {bytes} {bytes_per_sec}",
        };
        bar.set_style(style(template));
        bar.set_message(message(p));
        self.multi.add(bar)
    }

    fn progress(&self, p: &Progress) {
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        if p.finished {
            if let Some(bar) = bars.remove(&p.id) {
                bar.finish_and_clear();
                self.multi.remove(&bar);
            }
            return;
        }
        let bar = bars.entry(p.id).or_insert_with(|| self.bar_for(p));
        if p.total_files.is_some() {
            bar.set_message(message(p));
        }
        bar.set_position(p.bytes);
    }

    fn step_started(&self, header: String) {
        let bar = ProgressBar::hidden();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(header);
        let bar = self.multi.add(bar);
        bar.enable_steady_tick(Duration::from_millis(100));
        if let Ok(mut step) = self.step.lock() {
            if let Some(old) = step.replace(bar) {
                old.finish_and_clear();
            }
        }
    }

    fn step_finished(&self) {
        if let Ok(mut step) = self.step.lock() {
            if let Some(bar) = step.take() {
                bar.finish_and_clear();
                self.multi.remove(&bar);
            }
        }
    }
}

impl Reporter for Tty {
    fn report(&self, event: &Event) {
        match event {
            Event::StepStarted(step) => self.step_started(step_header(step)),
            Event::StepFinished {
                step,
                seconds,
                result,
            } => {
                self.step_finished();
                self.line(&step_done(step, *seconds, &result.summary));
            }
            Event::Progress(p) => self.progress(p),
            other => {
                if let Some(line) = common_line(other, self.color) {
                    self.line(&line);
                }
            }
        }
    }

    fn finish(&self) {
        self.step_finished();
        if let Ok(mut bars) = self.bars.lock() {
            for (_, bar) in bars.drain() {
                bar.finish_and_clear();
            }
        }
        let _ = self.multi.clear();
    }
}

impl Drop for Tty {
    fn drop(&mut self) {
        self.finish();
    }
}
