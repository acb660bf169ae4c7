//! What the store subcommands print: a table or text for people, or JSON
//! (`--format json`, keys documented in the README) for scripts.

use super::Failure;
use clap::ValueEnum;
use minibuild::dest::commands::{self, ImageRow};
use minibuild::dest::Layout;
use serde_json::{json, Value};
use std::io::Write;

/// `--format`.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Format {
    /// For people (aligned columns, or lines of text).
    #[default]
    #[value(alias = "text")]
    Table,
    /// JSON, for scripts.
    Json,
}

/// Prints `value` as JSON, or `text()` for people.
pub(crate) fn print(
    format: Format,
    out: &mut dyn Write,
    value: &Value,
    text: impl FnOnce() -> String,
) -> Result<(), Failure> {
    match format {
        Format::Json => writeln!(out, "{value:#}")?,
        Format::Table => writeln!(out, "{}", text())?,
    }
    Ok(())
}

/// One `--filter`: `reference=PATTERN` (the only key, as the first one
/// docker and podman have).
fn reference_patterns(filters: &[String]) -> Result<Vec<String>, Failure> {
    filters
        .iter()
        .map(|f| match f.split_once('=') {
            Some(("reference", p)) if !p.is_empty() => Ok(p.to_string()),
            _ => Err(Failure::usage(format!(
                "invalid --filter {f:?}: expected reference=PATTERN"
            ))),
        })
        .collect()
}

/// Whether `name` (`repo:tag`) matches `pattern`, as docker's reference
/// filter: Go's path.Match against the whole name when the pattern has a
/// tag, else against the name before the tag.
fn matches(pattern: &str, name: &str) -> Result<bool, Failure> {
    let repo = name.rsplit_once(':').map_or(name, |(r, _)| r);
    let subject = if pattern.contains(':') { name } else { repo };
    minibuild::ignore::fn_match(pattern, subject)
        .map_err(|e| Failure::usage(format!("invalid --filter pattern {pattern:?}: {e}")))
}

/// `images`: the store's images, as a table or a JSON array.
pub(crate) fn images(
    store: &Layout,
    format: Format,
    filters: &[String],
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let patterns = reference_patterns(filters)?;
    let mut rows: Vec<ImageRow> = Vec::new();
    for row in commands::image_rows(store)? {
        let mut keep = true;
        for p in &patterns {
            keep &= matches(p, &row.name)?;
        }
        if keep {
            rows.push(row);
        }
    }
    match format {
        Format::Table => commands::images_table(&rows, out)?,
        Format::Json => writeln!(out, "{:#}", json!(rows))?,
    }
    Ok(())
}

/// `prune`: what was removed.
pub(crate) fn prune(
    store: &Layout,
    drop_cache: bool,
    format: Format,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    if format == Format::Table {
        return Ok(commands::prune(store, drop_cache, out)?);
    }
    let pruned = commands::prune_all(store, drop_cache)?;
    let json = json!({
        "blobs": pruned.blobs,
        "bytes": pruned.blob_bytes + pruned.temporaries.bytes,
        "temporaries": pruned.temporaries.entries,
    });
    print(format, out, &json, String::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_filters() {
        let m = |p, n| matches(p, n).ok().unwrap();
        assert!(m("hello", "hello:scratch"));
        assert!(m("hel*", "hello:scratch"));
        assert!(m("hello:s*", "hello:scratch"));
        assert!(!m("hello:latest", "hello:scratch"));
        assert!(!m("other", "hello:scratch"));
        assert!(m("*/app", "127.0.0.1:5000/app:1"));
        assert!(reference_patterns(&["label=x".into()]).is_err());
        assert!(reference_patterns(&["reference=".into()]).is_err());
    }
}
