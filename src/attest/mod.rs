//! Attestations of a built image: an SBOM (SPDX 2.3 or CycloneDX 1.5 JSON)
//! and a SLSA v1 provenance statement, made from what the build wrote and
//! read, attached to the image the OCI 1.1 way (see `dest::referrers`).

pub mod cyclonedx;
pub mod gobuild;
pub mod inventory;
pub mod packages;
pub mod provenance;
pub mod spdx;

use crate::digest::Digest;

/// The SBOM formats `--sbom` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbomFormat {
    /// SPDX 2.3 JSON (the default, as BuildKit and ko).
    Spdx,
    /// CycloneDX 1.5 JSON.
    CycloneDx,
}

impl SbomFormat {
    /// Parses `--sbom[=spdx|cyclonedx]`'s value.
    pub fn parse(s: &str) -> Result<SbomFormat, String> {
        match s {
            "" | "true" | "spdx" | "spdx-json" => Ok(SbomFormat::Spdx),
            "cyclonedx" | "cyclonedx-json" => Ok(SbomFormat::CycloneDx),
            _ => Err(format!(
                "unknown SBOM format {s:?}: expected spdx or cyclonedx"
            )),
        }
    }

    /// The media type of the document (also the artifact type).
    pub fn media_type(self) -> &'static str {
        match self {
            SbomFormat::Spdx => "application/spdx+json",
            SbomFormat::CycloneDx => "application/vnd.cyclonedx+json",
        }
    }

    /// The file name `--sbom-dir` gives it, after the image's digest.
    pub fn file_suffix(self) -> &'static str {
        match self {
            SbomFormat::Spdx => "spdx.json",
            SbomFormat::CycloneDx => "cdx.json",
        }
    }
}

/// The image an attestation is about.
#[derive(Debug, Clone)]
pub struct Subject {
    /// Its name (the first `-t`, else its digest).
    pub name: String,
    /// Its manifest's digest.
    pub manifest: Digest,
    /// When it was made (RFC 3339: the config's `created`, which is
    /// SOURCE_DATE_EPOCH when set), so the documents are reproducible.
    pub created: String,
}

/// The SBOM of `subject` as JSON bytes (pretty, with a final newline).
pub fn sbom_bytes(
    format: SbomFormat,
    subject: &Subject,
    inv: &inventory::Inventory,
) -> Result<Vec<u8>, serde_json::Error> {
    let doc = match format {
        SbomFormat::Spdx => spdx::document(subject, inv),
        SbomFormat::CycloneDx => cyclonedx::document(subject, inv),
    };
    let mut bytes = serde_json::to_vec_pretty(&doc)?;
    bytes.push(b'\n');
    Ok(bytes)
}
