//! `build --explain`: for every Dockerfile line, what it produced — the
//! layer with the paths it took and where they landed (added and modified
//! counts, then every entry), the config fields it changed (before →
//! after), or the base it started from.

use super::step_header;
use crate::dest::commands::human_size;
use crate::error::escape_controls;
use crate::events::{Change, Event, LayerResult, Reporter, StepResult};
use std::io::Write;
use std::sync::Mutex;

/// The explanation on a writer (stdout).
pub struct Explain {
    out: Mutex<Box<dyn Write + Send>>,
}

impl Explain {
    /// The explanation on `out`.
    pub fn new(out: Box<dyn Write + Send>) -> Explain {
        Explain {
            out: Mutex::new(out),
        }
    }
}

/// The lines explaining one step's result.
pub fn explain_result(result: &StepResult) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(base) = &result.base {
        out.push(format!(
            "  base {} ({} {})",
            base.name,
            base.layers,
            if base.layers == 1 { "layer" } else { "layers" }
        ));
    }
    if let Some(layer) = &result.layer {
        explain_layer(layer, &mut out);
    }
    for c in &result.config {
        out.push(format!("  config {}: {} → {}", c.field, c.before, c.after));
    }
    if let Some(cache) = &result.cache {
        out.push(match (cache.hit, &cache.miss) {
            (true, _) => format!("  cache hit: CACHED (key {})", cache.key),
            (false, Some(why)) => format!("  cache miss (key {}): {why}", cache.key),
            (false, None) => format!("  cache miss (key {})", cache.key),
        });
    }
    if out.is_empty() {
        out.push(format!("  {} (no layer, no config field)", result.summary));
    }
    out
}

fn explain_layer(layer: &LayerResult, out: &mut Vec<String>) {
    out.push(format!(
        "  layer {} ({}, {} {})",
        layer.digest,
        human_size(layer.size),
        layer.entries,
        if layer.entries == 1 {
            "entry"
        } else {
            "entries"
        }
    ));
    for p in &layer.paths {
        out.push(format!("    took {} → {}", p.from, p.to));
    }
    if let (Some(added), Some(modified)) = (layer.added, layer.modified) {
        out.push(format!("    landed: {added} added, {modified} modified"));
    }
    for e in &layer.changes {
        let change = match e.change {
            Change::Added => "added   ",
            Change::Modified => "modified",
        };
        let size = if e.kind == "file" {
            format!(" {}", human_size(e.size))
        } else {
            String::new()
        };
        out.push(format!("      {change} {} ({}{size})", e.path, e.kind));
    }
}

impl Reporter for Explain {
    fn report(&self, event: &Event) {
        let lines = match event {
            Event::StepFinished { step, result, .. } => {
                let mut lines = vec![format!("line {}: {}", step.line, step_header(step))];
                lines.extend(explain_result(result));
                lines
            }
            Event::ImageWritten { digest, .. } => vec![format!("image {digest}")],
            _ => return,
        };
        if let Ok(mut out) = self.out.lock() {
            for line in lines {
                let _ = writeln!(out, "{}", escape_controls(&line));
            }
        }
    }

    fn wants_details(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{ConfigChange, EntryChange, PathTaken};

    #[test]
    fn layers_and_config() {
        let result = StepResult {
            summary: "layer".into(),
            cache: None,
            layer: Some(LayerResult {
                digest: "sha256:ab".into(),
                size: 1000,
                entries: 1,
                added: Some(0),
                modified: Some(1),
                paths: vec![PathTaken {
                    from: "a/final.txt".into(),
                    to: "/final.txt".into(),
                }],
                changes: vec![EntryChange {
                    path: "/final.txt".into(),
                    change: Change::Modified,
                    kind: "file",
                    size: 6,
                }],
            }),
            config: vec![ConfigChange {
                field: "Cmd".into(),
                before: serde_json::Value::Null,
                after: serde_json::json!(["/hello"]),
            }],
            base: None,
        };
        assert_eq!(
            explain_result(&result),
            [
                "  layer sha256:ab (1kB, 1 entry)",
                "    took a/final.txt → /final.txt",
                "    landed: 0 added, 1 modified",
                "      modified /final.txt (file 6B)",
                "  config Cmd: null → [\"/hello\"]",
            ]
        );
    }
}
