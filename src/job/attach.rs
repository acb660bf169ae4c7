//! `--sbom` and `--provenance`: the documents made for each image built,
//! stored beside it as artifacts whose subject is the image (and written
//! to `--sbom-dir`/`--provenance-dir`), then carried to every output.

use super::Job;
use crate::attest::inventory::inventory;
use crate::attest::provenance::{self, Invocation, ProvenanceMode, MEDIA_TYPE_IN_TOTO};
use crate::attest::{sbom_bytes, SbomFormat, Subject};
use crate::dest::referrers::write_artifact;
use crate::dest::Layout;
use crate::executor::{Built, ReadImage};
use crate::image::Image;
use crate::oci::Descriptor;
use crate::Error;
use std::path::{Path, PathBuf};

/// What to attest, and where the files go.
#[derive(Debug, Clone, Default)]
pub struct Attestations {
    /// `--sbom[=FORMAT]`.
    pub sbom: Option<SbomFormat>,
    /// `--provenance[=mode=MODE]`.
    pub provenance: Option<ProvenanceMode>,
    /// `--sbom-dir DIR`: the SBOMs also as files there.
    pub sbom_dir: Option<PathBuf>,
    /// `--provenance-dir DIR`: the statements also as files there.
    pub provenance_dir: Option<PathBuf>,
}

/// The artifacts made about one image.
#[derive(Debug, Clone)]
pub struct Attached {
    /// The image's manifest.
    pub subject: Descriptor,
    /// Its artifact manifests (in the build layout, published).
    pub artifacts: Vec<Descriptor>,
}

impl Job {
    /// Makes and stores the attestations asked for, one set per image.
    pub(super) fn attest(&self, layout: &Layout, built: &Built) -> Result<Vec<Attached>, Error> {
        let a = &self.attestations;
        if a.sbom.is_none() && a.provenance.is_none() {
            return Ok(Vec::new());
        }
        // each image with the images its build read (a platform's SBOM
        // lists that platform's bases only)
        type Each<'b> = (String, Descriptor, &'b Image, &'b [ReadImage]);
        let images: Vec<Each> = if built.platforms.is_empty() {
            let read = built.read_images.as_slice();
            vec![(String::new(), built.manifest.clone(), &built.image, read)]
        } else {
            let file_prefix =
                |p: &crate::oci::Platform| format!("{}.", p.to_string().replace('/', "-"));
            built
                .platforms
                .iter()
                .zip(&built.platform_reads)
                .map(|((p, d, i), read)| (file_prefix(p), d.clone(), i, read.as_slice()))
                .collect()
        };
        let mut out = Vec::new();
        for (prefix, desc, image, read) in images {
            let subject = Subject {
                name: self
                    .tags
                    .first()
                    .map_or_else(|| desc.digest.to_string(), |t| t.as_str().to_string()),
                manifest: desc.digest.clone(),
                created: image.config.created.clone().unwrap_or_default(),
            };
            let mut artifacts = Vec::new();
            if let Some(format) = a.sbom {
                let inv = inventory(layout, image, read)?;
                let bytes = sbom_bytes(format, &subject, &inv)
                    .map_err(|e| Error::Usage(format!("serializing the SBOM: {e}")))?;
                let name = format!("{prefix}sbom.{}", format.file_suffix());
                write_file(a.sbom_dir.as_deref(), &name, &bytes)?;
                artifacts.push(store(layout, &desc, format.media_type(), &bytes, &subject)?);
            }
            if let Some(mode) = a.provenance {
                let bytes = self.provenance_bytes(mode, &subject, built)?;
                let name = format!("{prefix}provenance.intoto.json");
                write_file(a.provenance_dir.as_deref(), &name, &bytes)?;
                artifacts.push(store(layout, &desc, MEDIA_TYPE_IN_TOTO, &bytes, &subject)?);
            }
            out.push(Attached {
                subject: desc,
                artifacts,
            });
        }
        Ok(out)
    }

    fn provenance_bytes(
        &self,
        mode: ProvenanceMode,
        subject: &Subject,
        built: &Built,
    ) -> Result<Vec<u8>, Error> {
        let opts = &self.options;
        let context = match mode {
            ProvenanceMode::Min => None,
            ProvenanceMode::Max => {
                let dockerfile = opts.dockerfile.as_deref();
                let files = provenance::context_files(&opts.context, dockerfile).map_err(|e| {
                    crate::executor::BuildError::other("hashing the build context for --provenance")
                        .caused(e)
                })?;
                Some((opts.context.as_path(), files))
            }
        };
        // relative to the context when inside it, so the statement does not
        // depend on where the checkout is
        let dockerfile = opts
            .dockerfile
            .as_ref()
            .map_or("Dockerfile".to_string(), |p| {
                p.strip_prefix(&opts.context)
                    .unwrap_or(p)
                    .display()
                    .to_string()
            });
        let platforms = match built.platforms.is_empty() {
            true => vec![built.image.platform().to_string()],
            false => built
                .platforms
                .iter()
                .map(|(p, _, _)| p.to_string())
                .collect(),
        };
        let inv = Invocation {
            dockerfile: (&dockerfile, &self.dockerfile),
            build_args: &opts.build_args,
            target: opts.target.as_deref(),
            platforms,
            source_date_epoch: opts.source_date_epoch,
            read: &built.read_images,
            fetched: &built.fetched,
            context,
        };
        let mut bytes = serde_json::to_vec_pretty(&provenance::statement(subject, &inv))
            .map_err(|e| Error::Usage(format!("serializing the provenance: {e}")))?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// Stores `bytes` as an artifact about `desc` and publishes it.
fn store(
    layout: &Layout,
    desc: &Descriptor,
    media_type: &str,
    bytes: &[u8],
    subject: &Subject,
) -> Result<Descriptor, Error> {
    let artifact = write_artifact(layout, desc, media_type, bytes, &subject.created)?;
    layout.publish(&artifact)?;
    Ok(artifact)
}

fn write_file(dir: Option<&Path>, name: &str, bytes: &[u8]) -> Result<(), Error> {
    let Some(dir) = dir else { return Ok(()) };
    let path = dir.join(name);
    std::fs::create_dir_all(dir)
        .and_then(|_| std::fs::write(&path, bytes))
        .map_err(Error::io(format!("writing {}", path.display())))
}
