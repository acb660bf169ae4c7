//! What the sources of a COPY or ADD name: heredoc bodies, context paths
//! (wildcards expanded, links followed), or paths of another stage or
//! image, read from its layers.

use super::super::rootfs::{self, Extracted, FsKind, FsMeta, RootFs};
use super::super::{BuildError, Builder, Stage};
use crate::context::ContextEntry;
use crate::image::Image;
use crate::span::{Span, Spanned};
use crate::syntax::ast::{CopySource, Paths};

/// A source as written, expanded.
pub(crate) enum SourceWord {
    /// A path (of the context, or of `--from`).
    Path(Span, String),
    /// A heredoc: its name and its (expanded) body.
    Heredoc(String, String),
}

/// One thing a source resolved to, before it is placed.
pub(crate) enum Item {
    /// A context entry (named directly, links followed).
    Context(ContextEntry),
    /// A path of another stage or image, with what is at and below it.
    Image(ImagePath),
    /// A heredoc: name and content.
    Inline(String, String),
}

/// A path of another stage or image, extracted.
pub(crate) struct ImagePath {
    /// Its key in that image (links followed).
    pub(crate) path: String,
    /// The name it is copied under: the source's own last component (a
    /// symlink named as a source is copied as its target, under its name,
    /// as BuildKit's FollowSymlinks copy does).
    pub(crate) name: String,
    /// Its metadata.
    pub(crate) meta: FsMeta,
    /// Its content, for a regular file.
    pub(crate) data: Option<std::path::PathBuf>,
    /// Everything at or below it.
    pub(crate) below: Vec<Extracted>,
}

/// Expands the sources of `paths` with the stage's variables.
pub(crate) fn expand(
    b: &Builder<'_>,
    stage: &Stage,
    paths: &Paths,
    name: &str,
) -> Result<Vec<SourceWord>, BuildError> {
    let mut words = Vec::new();
    for source in &paths.sources {
        let s = match source {
            CopySource::Heredoc(s, heredoc) => {
                let content = if heredoc.expand {
                    b.expand_heredoc(s.span, &heredoc.content, &stage.vars)?
                } else {
                    heredoc.content.clone()
                };
                words.push(SourceWord::Heredoc(heredoc.name.clone(), content));
                continue;
            }
            CopySource::Path(s) => s,
        };
        let v = b.expand_word(s.span, &s.value, &stage.vars)?;
        let remote = super::git::parse(&v).is_some() || super::remote::is_url(&v);
        if name == "ADD" && remote {
            words.push(SourceWord::Path(s.span, v));
            continue;
        }
        if remote || v.contains("://") {
            let why = if remote {
                "COPY does not fetch remote sources; ADD does"
            } else {
                "ADD fetches http(s) URLs and git repositories only"
            };
            return Err(BuildError::at(s.span, format!("{name} {v}: {why}")));
        }
        words.push(SourceWord::Path(s.span, v));
    }
    Ok(words)
}

/// Resolves every source word to items, in order: in the build context,
/// or in `from` (another stage's or image's filesystem).
pub(crate) fn resolve(
    b: &mut Builder<'_>,
    words: &[SourceWord],
    from: Option<&Image>,
    name: &str,
    checksum: Option<&Spanned<String>>,
    keep_git_dir: bool,
) -> Result<Vec<Item>, BuildError> {
    if let Some(img) = from {
        return resolve_in_image(b, img, words);
    }
    let mut items = Vec::new();
    for word in words {
        match word {
            SourceWord::Heredoc(n, c) => items.push(Item::Inline(n.clone(), c.clone())),
            // only ADD lets a git ref or a URL through (see `expand`)
            SourceWord::Path(span, src) if super::git::parse(src).is_some() => {
                let r = super::git::parse(src).expect("checked by the guard");
                let (tree, _commit) = super::git::fetch(b, *span, src, &r, keep_git_dir, checksum)?;
                items.push(Item::Image(tree));
            }
            SourceWord::Path(span, url) if super::remote::is_url(url) => {
                let (got, digest) = super::remote::fetch(b, *span, url, checksum)?;
                if !b.fetched.iter().any(|(u, d)| u == url && *d == digest) {
                    b.fetched.push((url.clone(), digest));
                }
                items.push(Item::Image(got));
            }
            SourceWord::Path(span, path) if checksum.is_some() => {
                return Err(BuildError::at(
                    *span,
                    format!("{name} --checksum is for http(s) sources only, and {path} is not one"),
                ));
            }
            SourceWord::Path(span, path) => {
                let found = b
                    .context()
                    .resolve_source(path)
                    .map_err(|e| BuildError::at(*span, format!("{name} failed")).caused(e))?;
                items.extend(found.into_iter().map(Item::Context));
            }
        }
    }
    Ok(items)
}

/// Resolves source paths (wildcards in any component allowed) in
/// another stage's or image's filesystem, and extracts what they name in
/// one pass over its layers.
fn resolve_in_image(
    b: &mut Builder<'_>,
    img: &Image,
    words: &[SourceWord],
) -> Result<Vec<Item>, BuildError> {
    let fs = b.image_fs(img)?;
    // the names of every word first, so that one pass extracts them all
    let mut per_word: Vec<Vec<(String, String)>> = Vec::new();
    let mut span = Span::new(0, 0);
    for word in words {
        per_word.push(match word {
            SourceWord::Heredoc(..) => Vec::new(),
            SourceWord::Path(s, path) => {
                span = *s;
                matches_in(&fs, path, *s)?
            }
        });
    }
    let names: Vec<String> = per_word.iter().flatten().map(|(k, _)| k.clone()).collect();
    let reading = |e| BuildError::at(span, "reading the source image").caused(e);
    let extracted = match b.plan_extraction(img, &names).map_err(reading)? {
        Some(planned) => planned,
        None => extract_now(b, img, &names).map_err(reading)?,
    };
    let mut items = Vec::new();
    for (word, names) in words.iter().zip(per_word) {
        if let SourceWord::Heredoc(n, c) = word {
            items.push(Item::Inline(n.clone(), c.clone()));
        }
        for (p, name) in names {
            items.push(Item::Image(image_path(&fs, &extracted, p, name)));
        }
    }
    Ok(items)
}

/// Extracts `names` of `img` (their digests then known by where they
/// come from).
fn extract_now(
    b: &mut Builder<'_>,
    img: &Image,
    names: &[String],
) -> std::io::Result<Vec<Extracted>> {
    let extracted = rootfs::extract(b.layout(), &img.layers, names, b.tmp.path())?;
    if let Some(cache) = b.cache.as_mut() {
        let files = extracted.iter();
        let files = files.filter_map(|x| x.data.clone().map(|d| (x.path.clone(), d)));
        cache.name_extracted(&img.layers, files);
    }
    Ok(extracted)
}

/// Path `p` of an image's filesystem, with what was extracted at and
/// below it.
fn image_path(fs: &RootFs, extracted: &[Extracted], p: String, name: String) -> ImagePath {
    let meta = fs.get(&p).cloned().unwrap_or(FsMeta {
        kind: FsKind::Dir,
        mode: 0o755,
        uid: 0,
        gid: 0,
        mtime: 0,
    });
    let below: Vec<Extracted> = extracted
        .iter()
        .filter(|x| rootfs::is_at_or_below(&x.path, &p))
        .cloned()
        .collect();
    let data = below
        .iter()
        .find(|x| x.path == p)
        .and_then(|x| x.data.clone());
    ImagePath {
        path: p,
        name,
        meta,
        data,
        below,
    }
}

/// The keys `path` names in `fs`, each with the name it is copied under:
/// itself (links resolved, its own name kept), or, for a wildcard in any
/// component, the paths below the directory before it that match the rest
/// (the context's matcher, [`crate::context::split_wildcard`]; a matched
/// directory not descended, links not followed on the way, a matched link
/// resolved).
fn matches_in(fs: &RootFs, path: &str, span: Span) -> Result<Vec<(String, String)>, BuildError> {
    let clean = rootfs::key(path);
    let Some((dir, pattern, depth)) = crate::context::split_wildcard(&clean) else {
        let resolved = fs.resolve(&clean);
        if !resolved.is_empty() && fs.get(&resolved).is_none() {
            return Err(BuildError::at(
                span,
                format!("COPY failed: {path}: not found in the source stage or image"),
            ));
        }
        let name = clean.rsplit('/').next().unwrap_or("").to_string();
        return Ok(vec![(resolved, name)]);
    };
    let dir_key = fs.resolve(&dir);
    let prefix = if dir_key.is_empty() {
        String::new()
    } else {
        format!("{dir_key}/")
    };
    let mut names: Vec<(String, String)> = Vec::new();
    let mut matched: Vec<String> = Vec::new();
    for (p, _) in fs.below(&dir_key) {
        let sub = p.strip_prefix(&prefix).unwrap_or(&p);
        let inside_match = matched.iter().any(|m| rootfs::is_at_or_below(sub, m));
        if sub.matches('/').count() > depth || inside_match {
            continue;
        }
        if crate::ignore::fn_match(&pattern, sub)
            .map_err(|e| BuildError::at(span, e.to_string()))?
        {
            matched.push(sub.to_string());
            let name = sub.rsplit('/').next().unwrap_or(sub).to_string();
            names.push((fs.resolve(&p), name));
        }
    }
    Ok(names)
}
