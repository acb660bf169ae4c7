//! The flags of `build` that CI pipelines use: `--label`, `--annotation`,
//! `--source-date-epoch`, and `--iidfile` / `--metadata-file`, the built
//! image's digest and descriptor written where CI steps pick them up
//! (`cosign sign NAME@$(cat FILE)`), with the keys BuildKit's
//! `--metadata-file` has.

use super::Failure;
use minibuild::attest::provenance::ProvenanceMode;
use minibuild::attest::SbomFormat;
use minibuild::dest::annotation::{AnnotationLevel, LeveledAnnotation};
use minibuild::dest::Location;
use minibuild::job::Attestations;
use minibuild::job::{Done, Job};
use minibuild::oci::Platform;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// The flags of `build` for what CI pipelines take from it.
#[derive(clap::Args, Debug, Default)]
pub(crate) struct CiArgs {
    /// Set a label on the image's config, over the Dockerfile's LABELs
    /// (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub(crate) labels: Vec<String>,
    /// Annotate the image (repeatable), buildx's syntax: TYPE[OS/ARCH]:KEY=VALUE,
    /// TYPE manifest, manifest-descriptor, index or index-descriptor; no
    /// type: the manifest. The index ones need several --platform.
    #[arg(long = "annotation", value_name = "[TYPE[PLATFORM]:]KEY=VALUE")]
    pub(crate) annotations: Vec<String>,
    /// Creation times and mtimes clamped to these seconds since the epoch;
    /// the same as SOURCE_DATE_EPOCH (the flag wins).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) source_date_epoch: Option<i64>,
    /// Write the image's digest (the manifest's, or the index's) to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) iidfile: Option<PathBuf>,
    /// Write JSON with BuildKit's keys to FILE: containerimage.digest,
    /// containerimage.descriptor, containerimage.config.digest, image.name.
    #[arg(long, value_name = "FILE")]
    pub(crate) metadata_file: Option<PathBuf>,
    /// Attach an SBOM of the image (every file the build wrote, the dpkg,
    /// apk and Go packages found, the bases): spdx (SPDX 2.3 JSON, the
    /// default) or cyclonedx (CycloneDX 1.5 JSON).
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, default_missing_value = "spdx", require_equals = true)]
    pub(crate) sbom: Option<String>,
    /// Attach an in-toto SLSA v1 provenance statement: mode=min (the
    /// Dockerfile, args and bases, the default) or mode=max (and every
    /// context file by digest).
    #[arg(long, value_name = "mode=MODE", num_args = 0..=1, default_missing_value = "mode=min", require_equals = true)]
    pub(crate) provenance: Option<String>,
    /// Also write the SBOM(s) as files into DIR (implies --sbom).
    #[arg(long, value_name = "DIR")]
    pub(crate) sbom_dir: Option<PathBuf>,
    /// Also write the provenance statement(s) into DIR (implies --provenance).
    #[arg(long, value_name = "DIR")]
    pub(crate) provenance_dir: Option<PathBuf>,
}

impl CiArgs {
    /// What `--sbom`, `--provenance` and their directories ask for.
    pub(crate) fn attestations(&self) -> Result<Attestations, Failure> {
        let sbom = match (&self.sbom, &self.sbom_dir) {
            (Some(f), _) => Some(SbomFormat::parse(f).map_err(Failure::usage)?),
            (None, Some(_)) => Some(SbomFormat::Spdx),
            (None, None) => None,
        };
        let provenance = match (&self.provenance, &self.provenance_dir) {
            (Some(m), _) => Some(ProvenanceMode::parse(m).map_err(Failure::usage)?),
            (None, Some(_)) => Some(ProvenanceMode::Min),
            (None, None) => None,
        };
        Ok(Attestations {
            sbom,
            provenance,
            sbom_dir: self.sbom_dir.clone(),
            provenance_dir: self.provenance_dir.clone(),
        })
    }
}

pub(crate) fn parse_labels(raw: &[String]) -> Result<Vec<(String, String)>, Failure> {
    raw.iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            // `--label NAME` is an empty label, as docker build
            None if !kv.is_empty() => Ok((kv.clone(), String::new())),
            _ => Err(Failure::usage(format!(
                "invalid --label {kv:?}: expected KEY=VALUE"
            ))),
        })
        .collect()
}

/// The `--annotation`s; the index ones only where there is an index.
pub(crate) fn parse_annotations(
    raw: &[String],
    platforms: &[Platform],
) -> Result<Vec<LeveledAnnotation>, Failure> {
    let mut out = Vec::new();
    for s in raw {
        let a = LeveledAnnotation::parse(s, AnnotationLevel::Manifest)
            .map_err(|e| Failure::usage(e.to_string()))?;
        let index_level = matches!(
            a.level,
            AnnotationLevel::Index | AnnotationLevel::IndexDescriptor
        );
        if index_level && platforms.len() < 2 {
            return Err(Failure::usage(format!(
                "--annotation {s:?} annotates the image index, and only a build for several platforms (--platform A,B) makes one"
            )));
        }
        if index_level && a.platform.is_some() {
            return Err(Failure::usage(format!(
                "--annotation {s:?}: an index has no platform to select"
            )));
        }
        out.push(a);
    }
    Ok(out)
}

/// The metadata BuildKit's exporter returns for an image:
/// `containerimage.digest` (the manifest's or, several platforms, the
/// index's), `containerimage.descriptor` (its media type, digest, size and
/// descriptor annotations), `containerimage.config.digest` (one platform
/// only, as BuildKit) and `image.name` (the names given, comma-separated;
/// absent without one).
pub(crate) fn metadata(job: &Job, done: &Done) -> Result<Value, Failure> {
    let built = &done.built;
    let m = &built.manifest;
    let mut descriptor = json!({
        "mediaType": m.media_type,
        "digest": m.digest.to_string(),
        "size": m.size,
    });
    if let Some(a) = m.annotations.as_ref().filter(|a| !a.is_empty()) {
        descriptor["annotations"] = json!(a);
    }
    let mut out = Map::new();
    out.insert("containerimage.digest".into(), json!(m.digest.to_string()));
    out.insert("containerimage.descriptor".into(), descriptor);
    if built.platforms.is_empty() {
        let config = built
            .image
            .config_bytes()
            .map_err(|e| Failure::build(format!("serializing the image config: {e}")))?;
        let digest = minibuild::digest::sha256(&config);
        out.insert(
            "containerimage.config.digest".into(),
            json!(digest.to_string()),
        );
    }
    let names = image_names(job);
    if !names.is_empty() {
        out.insert("image.name".into(), json!(names.join(",")));
    }
    Ok(Value::Object(out))
}

/// The names the image was given: `-t`, and the registry references of
/// `-o docker://`, each once.
fn image_names(job: &Job) -> Vec<String> {
    let mut names: Vec<String> = job.tags.iter().map(|t| t.as_str().to_string()).collect();
    for o in &job.outputs {
        if let Location::Registry { reference } = o {
            let full = reference.full();
            if !names.contains(&full) {
                names.push(full);
            }
        }
    }
    names
}

/// Writes `--iidfile` and `--metadata-file` (when asked for).
pub(crate) fn write_files(
    iidfile: Option<&Path>,
    metadata_file: Option<&Path>,
    job: &Job,
    done: &Done,
) -> Result<(), Failure> {
    let write = |file: &Path, bytes: &[u8]| {
        std::fs::write(file, bytes)
            .map_err(|e| Failure::build(format!("writing {}: {e}", file.display())))
    };
    if let Some(file) = iidfile {
        write(file, done.built.manifest.digest.to_string().as_bytes())?;
    }
    if let Some(file) = metadata_file {
        let value = metadata(job, done)?;
        let mut text = serde_json::to_string_pretty(&value)
            .map_err(|e| Failure::build(format!("serializing the metadata: {e}")))?;
        text.push('\n');
        write(file, text.as_bytes())?;
    }
    Ok(())
}
