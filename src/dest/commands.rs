//! The store subcommands: `images`, `rm`, `prune`. Each prints to the
//! writer it is given. (`inspect` and `verify` are [`crate::inspect`].)

use super::error::DestError;
use super::graph::{children, image_blobs, is_index, is_manifest, ConfigFile, Manifest};
use super::layout::{ref_name, Layout};
use crate::oci::Descriptor;
use std::io::Write;

fn out_err(e: std::io::Error) -> DestError {
    DestError::Io {
        what: "writing output".to_string(),
        source: e,
    }
}

/// `12.3MB`-style sizes (decimal, as Docker shows them).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        return format!("{bytes}B");
    }
    let digits = if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    };
    let mut text = format!("{value:.digits$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    text + UNITS[unit]
}

/// The total size of an image: every blob it reaches, each once.
fn image_size(store: &Layout, desc: &Descriptor) -> Result<u64, DestError> {
    Ok(image_blobs(store, desc)?.iter().map(|d| d.size).sum())
}

/// The config of an image (the first image of an index).
fn config_of(store: &Layout, desc: &Descriptor) -> Result<Option<ConfigFile>, DestError> {
    if is_manifest(&desc.media_type) {
        let m: Manifest = store.read_json(&desc.digest)?;
        return store.read_json(&m.config.digest).map(Some);
    }
    if is_index(&desc.media_type) {
        if let Some(first) = children(store, desc)?.first() {
            return config_of(store, first);
        }
    }
    Ok(None)
}

/// One image of the store, as `images` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageRow {
    /// `NAME:TAG` (`<none>` when untagged).
    pub name: String,
    /// The index entry's digest (a manifest or an index).
    pub digest: String,
    /// Bytes of every blob it reaches, each once (`null` if unreadable).
    pub size: Option<u64>,
    /// The config's `created`, when it has one.
    pub created: Option<String>,
    /// The platforms it is for (`os/arch[/variant]`; an index's, each).
    pub platforms: Vec<String>,
}

/// The store's images, sorted by name (the artifacts about them, SBOMs
/// and provenance, are shown by `inspect`, not here).
pub fn image_rows(store: &Layout) -> Result<Vec<ImageRow>, DestError> {
    let index = store.index()?;
    let mut entries: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|d| d.artifact_type.is_none())
        .collect();
    entries.sort_by_key(|d| ref_name(d).unwrap_or("").to_string());
    Ok(entries
        .into_iter()
        .map(|d| ImageRow {
            name: ref_name(d).unwrap_or("<none>").to_string(),
            digest: d.digest.to_string(),
            size: image_size(store, d).ok(),
            created: config_of(store, d).ok().flatten().and_then(|c| c.created),
            platforms: super::index::platforms_of(store, d).unwrap_or_default(),
        })
        .collect())
}

/// Prints `rows` as aligned columns: NAME:TAG, DIGEST (short), SIZE, CREATED
/// and PLATFORMS (an index's, comma-separated).
pub fn images_table(rows: &[ImageRow], out: &mut dyn Write) -> Result<(), DestError> {
    let mut table = vec![[
        "NAME".to_string(),
        "DIGEST".to_string(),
        "SIZE".to_string(),
        "CREATED".to_string(),
        "PLATFORMS".to_string(),
    ]];
    for r in rows {
        // 12 hex digits without the algorithm, as `docker images` shows IDs
        let hex = r
            .digest
            .split_once(':')
            .map_or(r.digest.as_str(), |(_, h)| h);
        table.push([
            r.name.clone(),
            hex.chars().take(12).collect(),
            r.size.map(human_size).unwrap_or_else(|| "?".into()),
            r.created.clone().unwrap_or_else(|| "-".into()),
            if r.platforms.is_empty() {
                "?".into()
            } else {
                r.platforms.join(",")
            },
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            table
                .iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in table {
        let line = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        writeln!(out, "{}", line.trim_end()).map_err(out_err)?;
    }
    Ok(())
}

/// Lists the named images in aligned columns (see [`images_table`]).
pub fn images(store: &Layout, out: &mut dyn Write) -> Result<(), DestError> {
    images_table(&image_rows(store)?, out)
}

/// Prunes `store` and sweeps the unheld scratch directories of `$TMPDIR`
/// (counted in `temporaries`).
pub fn prune_all(store: &Layout, drop_cache: bool) -> Result<super::layout::Pruned, DestError> {
    let mut pruned = store.prune_with_cache(drop_cache)?;
    // best effort: $TMPDIR is shared, and only unheld scratch directories go
    pruned.temporaries +=
        super::scratch::sweep(&std::env::temp_dir(), super::scratch::SCRATCH_PREFIX, false)
            .unwrap_or_default();
    Ok(pruned)
}

/// Removes the name `name` from the store (blobs go with `prune`).
pub fn remove(store: &Layout, name: &str) -> Result<(), DestError> {
    store.untag(&name.into())
}

/// Deletes blobs no named image (nor, unless `drop_cache`, a recent build
/// cache entry) reaches, and the temporaries of killed
/// builds (in the store and in `$TMPDIR`), and says how much was freed:
/// `removed 3 blobs, 1.2MB freed` (`and 1 temporary` when there were some).
pub fn prune(store: &Layout, drop_cache: bool, out: &mut dyn Write) -> Result<(), DestError> {
    let pruned = prune_all(store, drop_cache)?;
    let temporaries = pruned.temporaries;
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut line = format!("removed {}", plural(pruned.blobs, "blob", "blobs"));
    if temporaries.entries > 0 {
        line.push_str(" and ");
        line.push_str(&plural(temporaries.entries, "temporary", "temporaries"));
    }
    let freed = human_size(pruned.blob_bytes + temporaries.bytes);
    writeln!(out, "{line}, {freed} freed").map_err(out_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        for (n, s) in [
            (0, "0B"),
            (999, "999B"),
            (1000, "1kB"),
            (1234, "1.23kB"),
            (12_345_678, "12.3MB"),
        ] {
            assert_eq!(human_size(n), s, "{n}");
        }
    }
}
