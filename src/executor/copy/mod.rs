//! COPY and ADD, as BuildKit reads them: which files ([`sources`]), where
//! ([`place`]), with which owner and mode ([`flags`]). The result is the
//! ordered list of [`Source`]s the layer writer turns into one changeset
//! layer.

pub mod flags;
mod git;
mod parents;
pub(crate) mod place;
mod remote;
pub(crate) mod sources;

use super::rootfs::{self, RootFs};
use super::{meta, BuildError, Builder, Stage};
use crate::ignore::PatternMatcher;
use crate::layer::Source;
use crate::span::Span;
use crate::syntax::ast::{Instruction, Paths};
pub use flags::Chmod;
use flags::CopyFlags;
use place::{How, Placer};
use sources::SourceWord;

/// Plans a COPY or ADD: the layer's sources, and the history text.
pub(crate) fn plan(
    b: &mut Builder<'_>,
    index: usize,
    stage: &mut Stage,
    instr: &Instruction,
    paths: &Paths,
    is_add: bool,
) -> Result<(Vec<Source>, String), BuildError> {
    let name = if is_add { "ADD" } else { "COPY" };
    let flags = CopyFlags::parse(b, stage, instr, is_add)?;
    let exclude = PatternMatcher::new(&flags.excludes)
        .map_err(|e| BuildError::at(instr.span, "bad --exclude pattern").caused(e))?;
    let words = sources::expand(b, stage, paths, name)?;
    let dest_raw = b.expand_word(paths.dest.span, &paths.dest.value, &stage.vars)?;
    let workdir = stage.workdir();
    let dest = dest_path(&workdir, &dest_raw);
    let owner = match &flags.chown {
        Some(spec) if !spec.value.is_empty() => Some(owner_ids(b, stage, &spec.value, spec.span)?),
        _ => None,
    };
    let from = match &flags.from {
        Some(f) if !f.value.is_empty() => Some(b.stage_image_for_copy(index, &f.value, f.span)?),
        _ => None,
    };
    let items = if flags.parents {
        Vec::new()
    } else {
        sources::resolve(
            b,
            &words,
            from.as_ref(),
            name,
            flags.checksum.as_ref(),
            flags.keep_git_dir,
        )?
    };

    // --link: the files are copied onto an empty filesystem and the layer
    // stacked on the image, so the base's directories and symlinks play no
    // part in where they land (BuildKit's meaning)
    let empty = RootFs::default();
    let fs = if flags.link {
        &empty
    } else {
        stage
            .rootfs(b.layout())
            .map_err(|e| BuildError::at(instr.span, "reading the image's layers").caused(e))?
    };
    let how = How {
        owner,
        chmod: flags.chmod.as_ref().map(|(c, _)| c),
        epoch: b.epoch().unwrap_or(0),
        exclude: &exclude,
        unpack: flags.unpack,
        span: instr.span,
        name,
    };
    let mut placer = Placer::new(fs, &dest, how);
    for item in items {
        placer.place(b.context(), item)?;
    }
    if flags.parents {
        parents::place(b, &mut placer, &words, from.as_ref(), &dest)?;
    }
    Ok((
        placer.finish(),
        history_text(name, &flags, &words, &dest_raw),
    ))
}

/// BuildKit's history text: `COPY --chown=.. --chmod=.. SRC... DEST`.
fn history_text(name: &str, flags: &CopyFlags, words: &[SourceWord], dest: &str) -> String {
    let mut text = String::from(name);
    if let Some(c) = &flags.chown {
        text.push_str(&format!(" --chown={}", c.value));
    }
    if let Some((_, c)) = &flags.chmod {
        text.push_str(&format!(" --chmod={c}"));
    }
    for w in words {
        if let SourceWord::Path(_, p) = w {
            text.push(' ');
            text.push_str(p);
        }
    }
    for w in words {
        if let SourceWord::Heredoc(n, _) = w {
            text.push_str(&format!(" <<{n}"));
        }
    }
    text.push(' ');
    text.push_str(dest);
    text
}

/// The numeric owner for `spec` (`user[:group]`), names looked up in the
/// stage's own `/etc/passwd` and `/etc/group` (read in one pass).
pub(crate) fn owner_ids(
    b: &mut Builder<'_>,
    stage: &Stage,
    spec: &str,
    span: Span,
) -> Result<(u64, u64), BuildError> {
    let numeric = spec
        .split(':')
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    let (passwd, group) = if numeric && spec.contains(':') {
        (None, None)
    } else {
        let wanted = ["etc/passwd".to_string(), "etc/group".to_string()];
        let mut found =
            rootfs::read_files(b.layout(), &stage.image.layers, &wanted).map_err(|e| {
                BuildError::at(span, "reading /etc/passwd and /etc/group of the image").caused(e)
            })?;
        let text = |v: Option<Vec<u8>>| v.map(|v| String::from_utf8_lossy(&v).into_owned());
        let group = text(found.pop().flatten());
        (text(found.pop().flatten()), group)
    };
    super::users::resolve_owner(spec, passwd.as_deref(), group.as_deref())
        .map_err(|e| BuildError::at(span, e))
}

/// BuildKit's `pathRelativeToWorkingDir`: an absolute, clean destination
/// that keeps a trailing `/`.
pub fn dest_path(workdir: &str, dest: &str) -> String {
    let mut clean = meta::normalize_workdir(workdir, dest);
    // "" and "." mean the working directory itself, as a directory
    let dir = dest.ends_with('/') || dest.is_empty() || dest == ".";
    if dir && !clean.ends_with('/') {
        clean.push('/');
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        assert_eq!(dest_path("/", "/app/"), "/app/");
        assert_eq!(dest_path("/app", "x"), "/app/x");
        assert_eq!(dest_path("/app", "."), "/app/");
        assert_eq!(dest_path("/app", "../etc/"), "/etc/");
        assert_eq!(dest_path("/", "/"), "/");
    }
}
