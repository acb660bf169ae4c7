//! `COPY --parents` (BuildKit's semantics): each source lands under the
//! destination with its path in the context kept, from the context root,
//! or from the pivot where the source has one (`/./`: `COPY --parents
//! ./x/./y/*.txt /dst/` gives `/dst/y/a.txt`). A directory keeps its own
//! name too (`COPY --parents dir /dst/` gives `/dst/dir/...`).
//!
//! With `--from`, the paths kept are those of the source stage or image,
//! from its root (`COPY --from=s --parents /test/a/b/./c/d /out/` gives
//! `/out/c/d/...`, without the pivot `/out/test/a/b/c/d/...`), as
//! BuildKit's testCopyRelativeParents has them; a wildcard that matches
//! nothing copies nothing, a missing path is an error.

use super::super::{BuildError, Builder};
use super::place::Placer;
use super::sources::{self, Item, SourceWord};
use crate::context::clean_rel;
use crate::executor::rootfs::FsKind;
use crate::image::Image;

/// Resolves each of `words` and places what it names under `dest`,
/// parents kept.
pub(super) fn place(
    b: &mut Builder<'_>,
    placer: &mut Placer<'_>,
    words: &[SourceWord],
    from: Option<&Image>,
    dest: &str,
) -> Result<(), BuildError> {
    let base = clean_rel(dest);
    for word in words {
        let pivot = match word {
            SourceWord::Path(_, path) => pivot_of(path),
            SourceWord::Heredoc(..) => String::new(),
        };
        let items = sources::resolve(b, std::slice::from_ref(word), from, "COPY", None, false)?;
        for item in items {
            let kept = match &item {
                Item::Context(entry) => {
                    let is_dir = entry.kind == crate::context::ContextKind::Dir;
                    kept_path(&entry.rel, &pivot, is_dir)
                }
                Item::Image(found) => {
                    let SourceWord::Path(_, path) = word else {
                        continue;
                    };
                    let is_dir = matches!(found.meta.kind, FsKind::Dir);
                    kept_path(&image_rel(path, &found.name, &found.path), &pivot, is_dir)
                }
                Item::Inline(..) => String::new(),
            };
            let to = [base.as_str(), kept.as_str()]
                .iter()
                .filter(|p| !p.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("/");
            placer.set_dest(&format!("/{to}/"));
            placer.place(b.context(), item)?;
        }
    }
    Ok(())
}

/// Where a source at `rel` lands below the destination: `rel` below the
/// pivot, a directory with its own name, a file in its directory.
fn kept_path(rel: &str, pivot: &str, is_dir: bool) -> String {
    let below = match rel.strip_prefix(pivot) {
        Some(r) if pivot.is_empty() => r,
        Some(r) if r.starts_with('/') => &r[1..],
        _ => rel,
    };
    match is_dir {
        true => below.to_string(),
        false => below.rsplit_once('/').map_or("", |(d, _)| d).to_string(),
    }
}

/// The path, from the image's root, of what the source `path` named as
/// `name` (found at `key`): the source itself (its links not followed: the
/// path written is the one kept), or, for a wildcard, the path matched
/// (a wildcard may be in any component).
fn image_rel(path: &str, name: &str, key: &str) -> String {
    let clean = clean_rel(path);
    if crate::context::split_wildcard(&clean).is_some() {
        return key.to_string();
    }
    match clean.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{name}"),
        None => name.to_string(),
    }
}

/// The part of a source before its `/./` pivot (cleaned), `""` without one.
fn pivot_of(source: &str) -> String {
    let trimmed = source.trim_start_matches("./").trim_start_matches('/');
    match trimmed.find("/./") {
        Some(i) => clean_rel(&trimmed[..i]),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::pivot_of;

    #[test]
    fn pivots() {
        assert_eq!(pivot_of("./x/./y/*.txt"), "x");
        assert_eq!(pivot_of("x/y/a.txt"), "");
        assert_eq!(pivot_of("/a/b/./c"), "a/b");
        assert_eq!(
            super::image_rel("/test/a/./b*", "b2", "test/a/b2"),
            "test/a/b2"
        );
        assert_eq!(super::image_rel("/test/a/b", "b", "test/x/b"), "test/a/b");
        assert_eq!(super::kept_path("test/a/b/c/d", "test/a/b", true), "c/d");
        assert_eq!(super::kept_path("test/a/x.txt", "", false), "test/a");
    }
}
