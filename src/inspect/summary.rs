//! `minibuild inspect SOURCE`: the chain an image is made of, top-down —
//! the index entry its name points to, the index (and the platforms it
//! lists), the manifest, the config (platform, command, environment), each
//! layer with its size and diff_id, and the history.

use super::json::{
    BlobRef, HistoryEntry, ImageSummary, IndexEntry, IndexSummary, LayerSummary, Referrer,
};
use super::source::Opened;
use crate::dest::commands::human_size;
use crate::dest::graph::{is_index, ConfigFile, Index, Manifest};
use crate::dest::DestError;
use crate::oci::{Descriptor, Platform};
use std::io::Write;

/// A descriptor as a [`BlobRef`].
pub fn blob_ref(d: &Descriptor) -> BlobRef {
    BlobRef {
        media_type: d.media_type.clone(),
        digest: d.digest.clone(),
        size: d.size,
    }
}

/// The history entry that made each layer (`created_by`), bottom first:
/// the entries without `empty_layer`, in order.
pub fn layer_steps(config: &ConfigFile, layers: usize) -> Vec<Option<String>> {
    let mut steps: Vec<Option<String>> = config
        .history
        .iter()
        .filter(|h| !h.empty_layer)
        .map(|h| h.created_by.clone())
        .collect();
    steps.resize(layers, None);
    steps.truncate(layers);
    steps
}

/// The manifest and config of the image `opened` shows for `platform`.
pub fn manifest_and_config(
    opened: &Opened,
    platform: Option<&Platform>,
) -> Result<(Descriptor, Manifest, ConfigFile), DestError> {
    let desc = opened.image(platform)?;
    let manifest: Manifest = opened.blobs.read_json(&desc.digest)?;
    let config: ConfigFile = opened.blobs.read_json(&manifest.config.digest)?;
    Ok((desc, manifest, config))
}

/// Everything `inspect` shows, gathered.
pub fn summarize(opened: &Opened, platform: Option<&Platform>) -> Result<ImageSummary, DestError> {
    let top = opened.top()?;
    let index = if is_index(&top.media_type) {
        let index: Index = opened.blobs.read_json(&top.digest)?;
        Some(IndexSummary {
            blob: blob_ref(top),
            manifests: index
                .manifests
                .iter()
                .map(|m| IndexEntry {
                    platform: m.platform.as_ref().map(|p| p.to_string()),
                    blob: blob_ref(m),
                })
                .collect(),
        })
    } else {
        None
    };
    let (desc, manifest, config) = manifest_and_config(opened, platform)?;
    let steps = layer_steps(&config, manifest.layers.len());
    let layers = manifest
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| LayerSummary {
            index: i,
            blob: blob_ref(l),
            diff_id: config.rootfs.diff_ids.get(i).cloned(),
            created_by: steps[i].clone(),
        })
        .collect();
    let mut next_layer = 0;
    let history = config
        .history
        .iter()
        .map(|h| HistoryEntry {
            created: h.created.clone(),
            created_by: h.created_by.clone(),
            empty_layer: h.empty_layer,
            layer: (!h.empty_layer).then(|| {
                next_layer += 1;
                next_layer - 1
            }),
        })
        .collect();
    Ok(ImageSummary {
        source: opened.source.clone(),
        entry: blob_ref(top),
        index,
        manifest: blob_ref(&desc),
        platform: config_platform(&config),
        config: blob_ref(&manifest.config),
        created: config.created.clone(),
        runtime: serde_json::to_value(&config.config).unwrap_or_default(),
        layers,
        history,
        referrers: referrers(&opened.blobs, &desc.digest),
    })
}

/// The artifacts in `layout`'s `index.json` whose subject is `subject`.
fn referrers(layout: &super::source::Blobs, subject: &crate::digest::Digest) -> Vec<Referrer> {
    let Ok(index) = layout.index() else {
        return Vec::new();
    };
    index
        .manifests
        .iter()
        .filter(|d| d.artifact_type.is_some())
        .filter(|d| {
            crate::dest::referrers::subject_of(layout, d)
                .ok()
                .flatten()
                .as_ref()
                == Some(subject)
        })
        .map(|d| Referrer {
            artifact_type: d.artifact_type.clone().unwrap_or_default(),
            digest: d.digest.clone(),
            size: d.size,
        })
        .collect()
}

/// `os/arch[/variant]` of a config.
pub fn config_platform(config: &ConfigFile) -> String {
    Platform {
        os: config.os.clone(),
        architecture: config.architecture.clone(),
        variant: config.variant.clone(),
    }
    .to_string()
}

pub(super) fn out_err(e: std::io::Error) -> DestError {
    DestError::Io {
        what: "writing output".to_string(),
        source: e,
    }
}

/// Prints `s` the way `inspect` always has.
pub fn print_summary(s: &ImageSummary, where_: &str, out: &mut dyn Write) -> Result<(), DestError> {
    let mut text = String::new();
    let mut w = |line: String| {
        text.push_str(&line);
        text.push('\n');
    };
    w(format!("Image {}", s.source));
    w(format!("  stored in {where_}"));
    w("  index.json entry (the name points here):".into());
    w(format!(
        "    {} {} ({})",
        s.entry.media_type,
        s.entry.digest,
        human_size(s.entry.size)
    ));
    if let Some(index) = &s.index {
        w(format!(
            "  image index {} lists {} images:",
            index.blob.digest,
            index.manifests.len()
        ));
        for m in &index.manifests {
            let p = m.platform.as_deref().unwrap_or("-");
            let mark = if m.blob.digest == s.manifest.digest {
                "  (shown below)"
            } else {
                ""
            };
            w(format!("    {p}  {}{mark}", m.blob.digest));
        }
    }
    w(format!(
        "  manifest {} ({}):",
        s.manifest.digest,
        human_size(s.manifest.size)
    ));
    w(format!(
        "    config {} ({})",
        s.config.digest,
        human_size(s.config.size)
    ));
    summary_config(s, &mut w);
    out.write_all(text.as_bytes()).map_err(out_err)
}

/// The config part of [`print_summary`]: what a container starts with,
/// each layer with its diff_id, and the history.
fn summary_config(s: &ImageSummary, w: &mut dyn FnMut(String)) {
    w("  config (what a container starts with):".to_string());
    w(format!("    platform {}", s.platform));
    if let Some(created) = &s.created {
        w(format!("    created  {created}"));
    }
    for key in [
        "Entrypoint",
        "Cmd",
        "WorkingDir",
        "User",
        "Env",
        "ExposedPorts",
        "Labels",
    ] {
        if let Some(v) = s.runtime.get(key).filter(|v| !v.is_null()) {
            w(format!("    {key:<10} {v}"));
        }
    }
    w(format!(
        "  layers ({}, base first; digest = compressed blob, diff_id = uncompressed tar):",
        s.layers.len()
    ));
    for l in &s.layers {
        let diff_id = l
            .diff_id
            .as_ref()
            .map_or_else(|| "?".to_string(), |d| d.to_string());
        w(format!(
            "    {}: {} {} {}",
            l.index,
            human_size(l.blob.size),
            l.blob.media_type,
            l.blob.digest
        ));
        w(format!("       diff_id {diff_id}"));
        if let Some(step) = &l.created_by {
            w(format!("       made by {step}"));
        }
    }
    if !s.history.is_empty() {
        w("  history (one entry per instruction; empty ones made no layer):".into());
        for h in &s.history {
            let mark = match h.layer {
                Some(n) => format!("layer {n:<2}"),
                None => "        ".to_string(),
            };
            w(format!(
                "    {mark}{}",
                h.created_by.as_deref().unwrap_or("")
            ));
        }
    }
    if !s.referrers.is_empty() {
        w("  referrers (artifacts about this image, subject = its manifest):".into());
        for r in &s.referrers {
            w(format!(
                "    {} {} ({})",
                r.artifact_type,
                r.digest,
                human_size(r.size)
            ));
        }
    }
}
