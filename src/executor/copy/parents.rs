//! `COPY --parents` (BuildKit's semantics): each source lands under the
//! destination with its path in the context kept, from the context root,
//! or from the pivot where the source has one (`/./`: `COPY --parents
//! ./x/./y/*.txt /dst/` gives `/dst/y/a.txt`). A directory keeps its own
//! name too (`COPY --parents dir /dst/` gives `/dst/dir/...`).

use super::super::{BuildError, Builder};
use super::place::Placer;
use super::sources::{self, Item, SourceWord};
use crate::context::clean_rel;

/// Resolves each of `words` and places what it names under `dest`,
/// parents kept.
pub(super) fn place(
    b: &mut Builder<'_>,
    placer: &mut Placer<'_>,
    words: &[SourceWord],
    dest: &str,
) -> Result<(), BuildError> {
    let base = clean_rel(dest);
    for word in words {
        let pivot = match word {
            SourceWord::Path(_, path) => pivot_of(path),
            SourceWord::Heredoc(..) => String::new(),
        };
        let items = sources::resolve(b, std::slice::from_ref(word), None, "COPY", None)?;
        for item in items {
            let kept = match &item {
                Item::Context(entry) => {
                    let rel = entry.rel.as_str();
                    let below = match rel.strip_prefix(pivot.as_str()) {
                        Some(r) if pivot.is_empty() => r,
                        Some(r) if r.starts_with('/') => &r[1..],
                        _ => rel,
                    };
                    match entry.kind {
                        crate::context::ContextKind::Dir => below.to_string(),
                        _ => below.rsplit_once('/').map_or("", |(d, _)| d).to_string(),
                    }
                }
                _ => String::new(),
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

/// The part of a source before its `/./` pivot (cleaned), `""` without one.
fn pivot_of(source: &str) -> String {
    let trimmed = source.trim_start_matches("./");
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
    }
}
