//! The reporters people and programs read: `tty`, `plain`, `rawjson`,
//! `explain` (and [`super::Silent`] for `quiet`), plus the lines they share.

mod explain;
mod json;
mod plain;
mod tty;

pub use explain::Explain;
pub use json::RawJson;
pub use plain::Plain;
pub use tty::Tty;

use super::{Blob, Direction, Event, Reporter, Step};
use crate::dest::commands::human_size;
use crate::error::escape_controls;

/// Several reporters at once (`--explain` with a progress mode).
pub struct Tee(pub Vec<Box<dyn Reporter>>);

impl Reporter for Tee {
    fn report(&self, event: &Event) {
        for r in &self.0 {
            r.report(event);
        }
    }
    fn wants_details(&self) -> bool {
        self.0.iter().any(|r| r.wants_details())
    }
    fn finish(&self) {
        for r in &self.0 {
            r.finish();
        }
    }
}

/// `[2/3] COPY ./hello /`, control characters escaped.
pub fn step_header(step: &Step) -> String {
    escape_controls(&format!("[{}/{}] {}", step.index, step.total, step.text))
}

/// The line a finished step gets: `[2/3] COPY ./hello / → layer
/// sha256:2719098534e1 (341kB, 1 entry)  DONE 0.01s`, as BuildKit's plain
/// progress ends each step with `DONE 0.9s`.
pub fn step_done(step: &Step, seconds: f64, summary: &str) -> String {
    format!(
        "{} → {}  DONE {}",
        step_header(step),
        escape_controls(summary),
        duration(seconds)
    )
}

/// `0.01s`, `12.3s`.
pub fn duration(seconds: f64) -> String {
    if seconds < 10.0 {
        format!("{seconds:.2}s")
    } else {
        format!("{seconds:.1}s")
    }
}

/// The line for a blob transferred: `pushed layer sha256:ab12… (104.9MB)
/// to HOST/REPO in 1.20s`.
pub fn blob_line(b: &Blob) -> String {
    let short = b.digest.get(..19).unwrap_or(&b.digest);
    if b.skipped {
        return format!("{} {short} already in {}", b.kind, escape_controls(&b.peer));
    }
    let (verb, prep) = match b.direction {
        Direction::Upload => ("pushed", "to"),
        Direction::Download => ("pulled", "from"),
        Direction::Write => ("wrote", "to"),
    };
    format!(
        "{verb} {} {short} ({}) {prep} {} in {}",
        b.kind,
        human_size(b.bytes),
        escape_controls(&b.peer),
        duration(b.seconds)
    )
}

/// `warning: ...` (yellow and bold on a colour terminal, as rustc).
pub fn warning_line(message: &str, color: bool) -> String {
    let line = format!("warning: {}", escape_controls(message));
    if color {
        crate::error::paint(&line)
    } else {
        line
    }
}

/// The lines every human renderer prints the same way; `None` for events
/// it renders itself.
pub(crate) fn common_line(event: &Event, color: bool) -> Option<String> {
    match event {
        Event::BlobTransferred(b) => Some(blob_line(b)),
        Event::Warning { message } => Some(warning_line(message, color)),
        Event::ImageWritten {
            digest,
            layers,
            platform,
        } => Some(format!(
            "image {digest} ({layers} {}, {platform})",
            if *layers == 1 { "layer" } else { "layers" }
        )),
        Event::Output { message } => Some(escape_controls(message)),
        Event::PlatformStarted { platform } => Some(format!("building for {platform}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let step = Step {
            stage: 0,
            index: 2,
            total: 3,
            line: 2,
            text: "COPY \u{1b}x /".into(),
        };
        assert_eq!(
            step_done(&step, 0.0123, "layer sha256:abc"),
            "[2/3] COPY \\u{1b}x / → layer sha256:abc  DONE 0.01s"
        );
        assert_eq!(duration(12.34), "12.3s");
        let b = Blob {
            digest: format!("sha256:{}", "a".repeat(64)),
            bytes: 1_000_000,
            direction: Direction::Upload,
            kind: "layer",
            peer: "127.0.0.1:5000/x".into(),
            skipped: false,
            seconds: 1.5,
        };
        assert_eq!(
            blob_line(&b),
            "pushed layer sha256:aaaaaaaaaaaa (1MB) to 127.0.0.1:5000/x in 1.50s"
        );
        assert_eq!(warning_line("w", false), "warning: w");
        assert!(warning_line("w", true).contains("\u{1b}[1;33m"));
    }
}
