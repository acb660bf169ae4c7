//! `--progress rawjson`: every event as one JSON object on its own line
//! (the keys are documented in the README), for CI tools.

use crate::events::{Event, Reporter};
use std::io::Write;
use std::sync::Mutex;

/// JSON lines on a writer (stderr).
pub struct RawJson {
    out: Mutex<Box<dyn Write + Send>>,
}

impl RawJson {
    /// Lines on `out`.
    pub fn new(out: Box<dyn Write + Send>) -> RawJson {
        RawJson {
            out: Mutex::new(out),
        }
    }
}

impl Reporter for RawJson {
    fn report(&self, event: &Event) {
        let Ok(line) = serde_json::to_string(event) else {
            return;
        };
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{line}");
        }
    }
}
