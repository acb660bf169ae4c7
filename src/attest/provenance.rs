//! An in-toto statement with a SLSA v1 provenance predicate for a built
//! image: what was built (the Dockerfile by digest, the build args, the
//! target, the platforms), from what (the images read by digest; with
//! `mode=max` every file of the build context by digest too), and by whom
//! (minibuild and its version). Times are the image's, so the statement is
//! reproducible.

use super::Subject;
use crate::digest::Digest;
use crate::executor::ReadImage;
use serde_json::{json, Value};
use std::path::Path;

/// How much `--provenance` records (BuildKit's modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvenanceMode {
    /// The Dockerfile and the images read.
    Min,
    /// Also every file of the build context.
    Max,
}

impl ProvenanceMode {
    /// Parses `--provenance[=mode=min|max]` (also `true`, `min`, `max`).
    pub fn parse(s: &str) -> Result<ProvenanceMode, String> {
        match s.strip_prefix("mode=").unwrap_or(s) {
            "" | "true" | "min" => Ok(ProvenanceMode::Min),
            "max" => Ok(ProvenanceMode::Max),
            _ => Err(format!(
                "unknown provenance mode {s:?}: expected mode=min or mode=max"
            )),
        }
    }
}

/// The media type of the statement (also its artifact type).
pub const MEDIA_TYPE_IN_TOTO: &str = "application/vnd.in-toto+json";

/// What the statement records about the build.
#[derive(Debug, Clone)]
pub struct Invocation<'a> {
    /// The Dockerfile's path as given, and its text.
    pub dockerfile: (&'a str, &'a str),
    /// `--build-arg`s, in order.
    pub build_args: &'a [(String, String)],
    /// `--target`.
    pub target: Option<&'a str>,
    /// The platforms built.
    pub platforms: Vec<String>,
    /// `SOURCE_DATE_EPOCH`.
    pub source_date_epoch: Option<i64>,
    /// The images read.
    pub read: &'a [ReadImage],
    /// The URLs ADD fetched, with their bodies' digests.
    pub fetched: &'a [(String, Digest)],
    /// The build context, and its files by digest (`mode=max`).
    pub context: Option<(&'a Path, Vec<(String, Digest)>)>,
}

fn sha256_of(d: &Digest) -> Value {
    json!({ d.algorithm().name(): d.hex() })
}

/// The statement about `subject`.
pub fn statement(subject: &Subject, inv: &Invocation) -> Value {
    let mut deps = vec![json!({
        "uri": format!("file:{}", inv.dockerfile.0),
        "digest": sha256_of(&crate::digest::sha256(inv.dockerfile.1.as_bytes())),
        "annotations": {"role": "dockerfile"},
    })];
    for r in inv.read {
        deps.push(json!({
            "uri": format!("docker-image://{}", r.name),
            "digest": sha256_of(&r.manifest.digest),
            "annotations": {"role": "base"},
        }));
    }
    for (url, digest) in inv.fetched {
        deps.push(json!({"uri": url, "digest": sha256_of(digest), "annotations": {"role": "add"}}));
    }
    if let Some((_, files)) = &inv.context {
        for (path, digest) in files {
            deps.push(json!({"uri": format!("context:{path}"), "digest": sha256_of(digest)}));
        }
    }
    let args: serde_json::Map<String, Value> = inv
        .build_args
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": subject.name, "digest": sha256_of(&subject.manifest)}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://github.com/minibuild/minibuild/dockerfile@v1",
                "externalParameters": {
                    "dockerfile": inv.dockerfile.0,
                    "buildArgs": args,
                    "target": inv.target,
                    "platforms": inv.platforms,
                    "mode": if inv.context.is_some() { "max" } else { "min" },
                },
                "internalParameters": {"sourceDateEpoch": inv.source_date_epoch},
                "resolvedDependencies": deps,
            },
            "runDetails": {
                "builder": {
                    "id": "https://github.com/minibuild/minibuild",
                    "version": {"minibuild": env!("CARGO_PKG_VERSION")},
                },
                "metadata": {"finishedOn": subject.created},
            },
        },
    })
}

/// Every regular file of the build context at `dir` as the build sees it
/// (what `.dockerignore` — or `<dockerfile>.dockerignore` — excludes left
/// out, as BuildKit receives the context; symlinks not followed), by its
/// path relative to `dir` and its sha256, sorted.
pub fn context_files(
    dir: &Path,
    dockerfile: Option<&Path>,
) -> Result<Vec<(String, Digest)>, crate::context::ContextError> {
    let ctx = crate::context::BuildContext::open(dir, dockerfile)?;
    let root = ctx
        .resolve_source(".")?
        .pop()
        .ok_or_else(|| crate::context::ContextError::NotFound(dir.display().to_string()))?;
    let mut out = Vec::new();
    for entry in ctx.walk(&root)? {
        if !matches!(entry.kind, crate::context::ContextKind::File { .. }) {
            continue;
        }
        let mut hashing = crate::digest::HashingWriter::new(std::io::sink());
        let hashed = entry
            .file
            .open()
            .and_then(|mut f| std::io::copy(&mut f, &mut hashing));
        if let Err(source) = hashed {
            let what = format!("hashing {} of the build context", entry.rel);
            return Err(crate::context::ContextError::Io { what, source });
        }
        let (_, digest, _) = hashing.finish();
        out.push((entry.rel, digest));
    }
    out.sort();
    Ok(out)
}
