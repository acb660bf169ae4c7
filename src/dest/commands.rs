//! The store subcommands: `images`, `inspect`, `rm`, `prune`. Each prints to
//! the writer it is given.

use super::error::DestError;
use super::graph::{children, image_blobs, is_index, is_manifest, ConfigFile, Index, Manifest};
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
}

/// The store's images, sorted by name.
pub fn image_rows(store: &Layout) -> Result<Vec<ImageRow>, DestError> {
    let index = store.index()?;
    let mut entries: Vec<&Descriptor> = index.manifests.iter().collect();
    entries.sort_by_key(|d| ref_name(d).unwrap_or("").to_string());
    Ok(entries
        .into_iter()
        .map(|d| ImageRow {
            name: ref_name(d).unwrap_or("<none>").to_string(),
            digest: d.digest.to_string(),
            size: image_size(store, d).ok(),
            created: config_of(store, d).ok().flatten().and_then(|c| c.created),
        })
        .collect())
}

/// Prints `rows` as aligned columns: NAME:TAG, DIGEST (short), SIZE, CREATED.
pub fn images_table(rows: &[ImageRow], out: &mut dyn Write) -> Result<(), DestError> {
    let mut table = vec![[
        "NAME".to_string(),
        "DIGEST".to_string(),
        "SIZE".to_string(),
        "CREATED".to_string(),
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
        ]);
    }
    let widths: Vec<usize> = (0..4)
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

/// Explains one image, top-down: its index entry, the manifest, the config
/// (platform, command, environment), each layer with its size and diff_id,
/// and the history.
pub fn inspect(store: &Layout, name: &str, out: &mut dyn Write) -> Result<(), DestError> {
    let entry = store.resolve(&name.into())?;
    let w = |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(out_err);
    w(out, format!("Image {name}"))?;
    w(out, format!("  stored in {}", store.root().display()))?;
    w(out, "  index.json entry (the name points here):".into())?;
    w(
        out,
        format!(
            "    {} {} ({})",
            entry.media_type,
            entry.digest,
            human_size(entry.size)
        ),
    )?;
    let mut desc = entry.clone();
    if is_index(&desc.media_type) {
        let index: Index = store.read_json(&desc.digest)?;
        w(
            out,
            format!(
                "  image index {} lists {} images:",
                desc.digest,
                index.manifests.len()
            ),
        )?;
        for m in &index.manifests {
            let p = m
                .platform
                .as_ref()
                .map(|p| format!("{}/{}", p.os, p.architecture))
                .unwrap_or_else(|| "-".into());
            w(out, format!("    {p}  {}", m.digest))?;
        }
        match index.manifests.first() {
            Some(first) => desc = first.clone(),
            None => return Ok(()),
        }
    }
    let manifest: Manifest = store.read_json(&desc.digest)?;
    w(
        out,
        format!("  manifest {} ({}):", desc.digest, human_size(desc.size)),
    )?;
    w(
        out,
        format!(
            "    config {} ({})",
            manifest.config.digest,
            human_size(manifest.config.size)
        ),
    )?;
    let config: ConfigFile = store.read_json(&manifest.config.digest)?;
    explain_config(&config, &manifest, out)
}

/// The config part of [`inspect`]: what a container starts with, each
/// layer with its diff_id, and the history.
fn explain_config(
    config: &ConfigFile,
    manifest: &Manifest,
    out: &mut dyn Write,
) -> Result<(), DestError> {
    let w = |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(out_err);
    w(out, "  config (what a container starts with):".to_string())?;
    w(
        out,
        format!("    platform {}/{}", config.os, config.architecture),
    )?;
    if let Some(created) = &config.created {
        w(out, format!("    created  {created}"))?;
    }
    let runtime = serde_json::to_value(&config.config).unwrap_or_default();
    for key in [
        "Entrypoint",
        "Cmd",
        "WorkingDir",
        "User",
        "Env",
        "ExposedPorts",
        "Labels",
    ] {
        if let Some(v) = runtime.get(key).filter(|v| !v.is_null()) {
            w(out, format!("    {key:<10} {v}"))?;
        }
    }

    w(
        out,
        format!(
            "  layers ({}, base first; digest = compressed blob, diff_id = uncompressed tar):",
            manifest.layers.len()
        ),
    )?;
    for (i, layer) in manifest.layers.iter().enumerate() {
        let diff_id = config
            .rootfs
            .diff_ids
            .get(i)
            .map_or_else(|| "?".to_string(), |d| d.to_string());
        w(
            out,
            format!(
                "    {i}: {} {} {}",
                human_size(layer.size),
                layer.media_type,
                layer.digest
            ),
        )?;
        w(out, format!("       diff_id {diff_id}"))?;
    }
    if !config.history.is_empty() {
        w(
            out,
            "  history (one entry per instruction; empty ones made no layer):".into(),
        )?;
        for h in &config.history {
            let mark = if h.empty_layer { "      " } else { "layer " };
            w(
                out,
                format!("    {mark}{}", h.created_by.as_deref().unwrap_or("")),
            )?;
        }
    }
    Ok(())
}

/// Removes the name `name` from the store (blobs go with `prune`).
pub fn remove(store: &Layout, name: &str) -> Result<(), DestError> {
    store.untag(&name.into())
}

/// Deletes blobs no named image reaches and says how much was freed.
pub fn prune(store: &Layout, out: &mut dyn Write) -> Result<(), DestError> {
    let (blobs, bytes) = store.prune()?;
    writeln!(out, "removed {blobs} blobs, {} freed", human_size(bytes)).map_err(out_err)
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
