//! WORKDIR: the working directory, and the layer that creates it.

use super::super::{BuildError, Builder, Stage};
use crate::image::Addendum;
use crate::layer::{Data, Entry, EntryKind, Source};
use crate::syntax::ast::{Instruction, Kind};

/// WORKDIR: sets the working directory (relative to the previous one) and
/// makes a layer that creates it, unless it already exists.
pub(crate) fn workdir(
    b: &mut Builder<'_>,
    stage: &mut Stage,
    instr: &Instruction,
) -> Result<String, BuildError> {
    let Kind::Workdir(path) = &instr.kind else {
        return Err(BuildError::at(instr.span, "not a WORKDIR instruction"));
    };
    let p = b.expand_word(path.span, &path.value, &stage.vars)?;
    let current = stage.workdir();
    let wd = normalize_workdir(&current, &p);
    stage.image.config.config.working_dir = Some(wd.clone());
    let created_by = format!("WORKDIR {wd}");
    if wd == "/" {
        b.record(stage, created_by);
        return Ok("config WorkingDir = /".to_string());
    }
    let owner = match stage.image.config.config.user.clone() {
        Some(u) if !u.is_empty() => super::super::copy::owner_ids(b, stage, &u, path.span)?,
        _ => (0, 0),
    };
    let layout = b.layout();
    let fs = stage
        .rootfs(layout)
        .map_err(|e| BuildError::at(instr.span, "reading the image's layers").caused(e))?;
    let key = super::super::rootfs::key(&fs.resolve(&wd));
    if fs.is_dir(&key) {
        b.record(stage, created_by);
        return Ok(format!("config WorkingDir = {wd} (directory exists)"));
    }
    let mtime = b.epoch().unwrap_or(0);
    let mut sources = Vec::new();
    let mut prefix = String::new();
    for part in key.split('/') {
        prefix = if prefix.is_empty() {
            part.to_string()
        } else {
            format!("{prefix}/{part}")
        };
        let entry = match fs.get(&prefix) {
            Some(m) => super::super::copy::place::entry_from_meta(&prefix, m),
            None => Entry {
                path: prefix.clone(),
                kind: EntryKind::Dir,
                mode: 0o755,
                uid: owner.0,
                gid: owner.1,
                mtime,
                xattrs: Vec::new(),
            },
        };
        sources.push(Source::Entry(entry, Data::None));
    }
    let (layer, desc) = b.write_layer(&stage.image.layers.clone(), &sources, instr.span)?;
    let history = b.history(created_by);
    stage.image.append(Addendum {
        layer: Some(layer),
        history,
    });
    Ok(format!(
        "config WorkingDir = {wd}; layer {} ({})",
        desc.digest.short(),
        crate::dest::commands::human_size(desc.size)
    ))
}

/// BuildKit's `NormalizeWorkdir`: a relative path joins the current one;
/// the result is clean and absolute.
pub fn normalize_workdir(current: &str, new: &str) -> String {
    let joined = if new.starts_with('/') {
        new.to_string()
    } else {
        format!("{current}/{new}")
    };
    format!("/{}", crate::context::clean_rel(&joined))
}
