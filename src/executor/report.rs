//! What each step reports as it runs: started, then finished with what it
//! produced — the layer (and, when the reporter wants details, the paths
//! it took and each entry as added or modified against the image below),
//! the config fields it changed before → after, or the base it started
//! from. Reporting reads; it never changes what is built.

use super::{BuildError, Builder, Stage};
use crate::events::{
    seconds_since, BaseResult, CacheResult, Change, ConfigChange, EntryChange, Event, LayerResult,
    PathTaken, Step, StepResult,
};
use crate::image::Image;
use crate::layer::{Data, FileRef, LayerDesc, Source};
use crate::span::Span;
use std::time::Instant;

/// A step being run.
pub(super) struct Running {
    step: Step,
    started: Instant,
}

/// The image before a step, to tell what the step changed.
pub(super) struct Before {
    config: serde_json::Value,
    layers: usize,
}

impl Before {
    pub(super) fn of(stage: &Stage) -> Before {
        Before {
            config: serde_json::to_value(&stage.image.config.config).unwrap_or_default(),
            layers: stage.image.layers.len(),
        }
    }
}

/// The layer the current step wrote.
pub(super) struct Written {
    desc: LayerDesc,
    paths: Vec<PathTaken>,
}

impl Builder<'_> {
    /// Reports that the step at `span` of stage `stage` began.
    pub(super) fn start_step(&mut self, stage: usize, span: Span, text: String) -> Running {
        let step = Step {
            stage,
            index: self.step,
            total: self.steps,
            line: span.line_col(self.src).0,
            text,
        };
        self.events.emit(Event::StepStarted(step.clone()));
        Running {
            step,
            started: Instant::now(),
        }
    }

    /// Reports a FROM step: the base it starts from.
    pub(super) fn finish_base_step(&mut self, running: Running, index: usize, image: &Image) {
        let name = self.bases[index].clone();
        let layers = image.layers.len();
        let from_stage = !name.chars().all(|c| c.is_ascii_digit())
            && self.stages.by_name(&name, index).is_some();
        let summary = if name.eq_ignore_ascii_case("scratch") {
            "empty base (scratch)".to_string()
        } else if from_stage {
            format!("from stage {name}")
        } else {
            format!(
                "base {name} ({layers} {})",
                if layers == 1 { "layer" } else { "layers" }
            )
        };
        self.events.emit(Event::StepFinished {
            step: running.step,
            seconds: seconds_since(running.started),
            result: StepResult {
                summary,
                base: Some(BaseResult { name, layers }),
                ..StepResult::default()
            },
        });
    }

    /// Reports a step's end: `summary` and what changed since `before`.
    pub(super) fn finish_step(
        &mut self,
        running: Running,
        summary: String,
        before: Before,
        stage: &mut Stage,
    ) -> Result<(), BuildError> {
        let after = serde_json::to_value(&stage.image.config.config).unwrap_or_default();
        let config = config_changes(&before.config, &after);
        let cache = self.cache_note.take();
        let summary = match &cache {
            Some(c) if c.hit => format!("CACHED [key {}] {summary}", short_key(&c.key)),
            Some(CacheResult {
                miss: Some(why), ..
            }) => format!("{summary} (cache miss: {why})"),
            _ => summary,
        };
        let layer = match self.written.take() {
            Some(w) if stage.image.layers.len() > before.layers => {
                Some(self.layer_result(w, stage, before.layers)?)
            }
            _ => None,
        };
        self.events.emit(Event::StepFinished {
            step: running.step,
            seconds: seconds_since(running.started),
            result: StepResult {
                summary,
                layer,
                config,
                base: None,
                cache: cache.map(Box::new),
            },
        });
        Ok(())
    }

    /// Reports a layer written from `sources`, and keeps it for the step's
    /// report.
    pub(super) fn layer_written(&mut self, desc: &LayerDesc, sources: &[Source]) {
        self.events.emit(Event::LayerWritten {
            digest: desc.digest.to_string(),
            diff_id: desc.diff_id.to_string(),
            size: desc.size,
            media_type: desc.media_type.clone(),
            entries: desc.entries,
        });
        self.layer_reused(desc, sources);
    }

    /// Keeps a layer taken from the cache (or written) for the step's report.
    pub(super) fn layer_reused(&mut self, desc: &LayerDesc, sources: &[Source]) {
        let paths = if self.events.wants_details() {
            sources.iter().filter_map(|s| self.path_taken(s)).collect()
        } else {
            Vec::new()
        };
        self.written = Some(Written {
            desc: desc.clone(),
            paths,
        });
    }

    /// Where a source came from and where it lands; `None` for what the
    /// copy made itself (parent directories, empty files).
    fn path_taken(&self, source: &Source) -> Option<PathTaken> {
        // minibuild's own files are extracted from another stage or image
        let own = |p: &std::path::Path| match p.strip_prefix(self.tmp.path()) {
            Ok(_) => "(another stage or image)".to_string(),
            Err(_) => p.display().to_string(),
        };
        let file = |f: &FileRef| match f {
            FileRef::Context(c) => c.real().to_string(),
            FileRef::Path(p) => own(p),
        };
        let absolute = |p: &str| format!("/{}", super::rootfs::key(p));
        let (from, to) = match source {
            Source::Entry(_, Data::None) => return None,
            Source::Entry(e, data) => {
                let from = match data {
                    Data::Context(c) => c.real().to_string(),
                    Data::Path(p) => own(p),
                    _ => "(inline: a heredoc or generated file)".to_string(),
                };
                (from, &e.path)
            }
            Source::Archive {
                file: f, dest_dir, ..
            } => (format!("{} (unpacked)", file(f)), dest_dir),
        };
        Some(PathTaken {
            from,
            to: absolute(to),
        })
    }

    /// The layer's report; with details, each entry against the layers
    /// below (`lower` of them), read back from the blob just written.
    fn layer_result(
        &mut self,
        w: Written,
        stage: &mut Stage,
        lower: usize,
    ) -> Result<LayerResult, BuildError> {
        let mut result = LayerResult {
            digest: w.desc.digest.to_string(),
            size: w.desc.size,
            entries: w.desc.entries,
            paths: w.paths,
            ..LayerResult::default()
        };
        if !self.events.wants_details() {
            return Ok(result);
        }
        let read_err = |e| BuildError::other("reading the layer back for --explain").caused(e);
        let layers = &stage.image.layers;
        stage
            .rootfs
            .update(self.layout, &layers[..lower])
            .map_err(read_err)?;
        let fs = &stage.rootfs;
        let mut changes = Vec::new();
        super::rootfs::for_each_entry(self.layout, &layers[lower], |path, meta, _| {
            let key = super::rootfs::key(path);
            let change = match fs.get(&key) {
                Some(_) => Change::Modified,
                None => Change::Added,
            };
            use super::rootfs::FsKind;
            let (kind, size) = match meta.kind {
                FsKind::File { size } => ("file", size),
                FsKind::Dir => ("dir", 0),
                FsKind::Symlink { .. } => ("symlink", 0),
                FsKind::Hardlink { .. } => ("hardlink", 0),
                _ => ("other", 0),
            };
            changes.push(EntryChange {
                path: format!("/{key}"),
                change,
                kind,
                size,
            });
            Ok(())
        })
        .map_err(read_err)?;
        let added = changes.iter().filter(|c| c.change == Change::Added).count();
        result.added = Some(added as u64);
        result.modified = Some((changes.len() - added) as u64);
        result.changes = changes;
        Ok(result)
    }
}

/// A cache key's short form, as image ids are shown: 12 hex digits.
fn short_key(key: &str) -> &str {
    let hex = key.strip_prefix("sha256:").unwrap_or(key);
    hex.get(..12).unwrap_or(hex)
}

/// The top-level config fields that differ, in the config's order.
fn config_changes(before: &serde_json::Value, after: &serde_json::Value) -> Vec<ConfigChange> {
    let empty = serde_json::Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut fields: Vec<&String> = a.keys().collect();
    fields.extend(b.keys().filter(|k| !a.contains_key(*k)));
    let null = serde_json::Value::Null;
    fields
        .into_iter()
        .filter_map(|field| {
            let (old, new) = (b.get(field).unwrap_or(&null), a.get(field).unwrap_or(&null));
            (old != new).then(|| ConfigChange {
                field: field.clone(),
                before: old.clone(),
                after: new.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_fields_that_changed() {
        let before = json!({"Env": ["PATH=/bin"], "User": "a"});
        let after = json!({"Env": ["PATH=/bin", "A=1"], "Cmd": ["x"]});
        let changes = config_changes(&before, &after);
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["Cmd", "Env", "User"]);
        assert_eq!(changes[0].before, serde_json::Value::Null);
        assert_eq!(changes[2].after, serde_json::Value::Null);
    }
}
