//! `minibuild verify SOURCE`: every blob the source's images reach is
//! checked by the layout checker ([`Layout::fsck`](crate::dest::Layout::fsck)):
//! its size, its sha256, a layer's diff_id against the config, and every
//! reference (a blob named but absent is missing). A layout or archive is
//! checked whole; one image of the store, or an image pulled from a
//! registry, from its manifest down.

use super::json::{VerifiedBlob, VerifyReport};
use super::source::{Opened, SourceKind};
use super::summary::out_err;
use crate::dest::fsck::{BlobCheck, FsckError};
use crate::dest::DestError;
use crate::oci::Platform;
use std::fmt::Write as _;
use std::io::Write;

/// Checks `opened`; `platform` picks the image of a registry index (the
/// one pulled).
pub fn verify(opened: &Opened, platform: Option<&Platform>) -> Result<VerifyReport, DestError> {
    let report = match opened.kind {
        SourceKind::Store => opened
            .blobs
            .fsck_images(std::slice::from_ref(opened.top()?)),
        SourceKind::Registry => {
            let image = opened.image(platform)?;
            opened.blobs.fsck_images(&[image])
        }
        _ => opened.blobs.fsck().map_err(|e| match e {
            FsckError::Dest(d) => d,
            other => DestError::invalid(format!("verifying {}", opened.source), other.to_string()),
        })?,
    };
    let blobs: Vec<VerifiedBlob> = report.blobs.iter().map(verified).collect();
    let ok = blobs.iter().all(|b| b.ok) && opened.problems.is_empty();
    Ok(VerifyReport {
        source: opened.source.clone(),
        ok,
        blobs,
        other_problems: opened.problems.clone(),
        unreferenced: report.unreferenced,
    })
}

fn verified(b: &BlobCheck) -> VerifiedBlob {
    VerifiedBlob {
        role: b.role.to_string(),
        digest: b.digest.clone(),
        ok: b.problem.is_none(),
        problem: b.problem.as_ref().map(|p| {
            let mut text = p.to_string();
            let mut cause = std::error::Error::source(p);
            while let Some(c) = cause {
                let _ = write!(text, ": {c}");
                cause = c.source();
            }
            text
        }),
    }
}

/// Prints each blob as `ok` or what is wrong with it, then a verdict.
pub fn print_verify(r: &VerifyReport, out: &mut dyn Write) -> Result<(), DestError> {
    let mut text = String::new();
    for b in &r.blobs {
        let state = b.problem.as_deref().unwrap_or("ok");
        let _ = writeln!(text, "{:<9} {}  {state}", b.role, b.digest);
    }
    for p in &r.other_problems {
        let _ = writeln!(text, "archive   {p}");
    }
    for u in &r.unreferenced {
        let _ = writeln!(text, "unreferenced {u} (not an error; prune removes it)");
    }
    let bad = r.blobs.iter().filter(|b| !b.ok).count() + r.other_problems.len();
    if bad == 0 {
        let _ = writeln!(text, "{}: all {} blobs verified", r.source, r.blobs.len());
    } else {
        let _ = writeln!(
            text,
            "{}: {bad} problems in {} blobs",
            r.source,
            r.blobs.len()
        );
    }
    out.write_all(text.as_bytes()).map_err(out_err)
}
