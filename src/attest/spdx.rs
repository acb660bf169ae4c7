//! The inventory as an SPDX 2.3 JSON document: the image as the package the
//! document describes, a package per layer minibuild wrote (CONTAINS its
//! files, each with its SHA256), the packages found (with `pkg:` purls) and
//! the images read (the image DESCENDANT_OF them). Everything is derived
//! from the image, so the same image gives the same bytes.

use super::inventory::{Inventory, WrittenFile};
use super::packages::Package;
use super::Subject;
use serde_json::{json, Value};

/// The SPDX document for `subject` with `inv`.
pub fn document(subject: &Subject, inv: &Inventory) -> Value {
    let mut packages = vec![json!({
        "SPDXID": "SPDXRef-Image",
        "name": subject.name,
        "versionInfo": subject.manifest.to_string(),
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": "CONTAINER",
        "checksums": [{"algorithm": "SHA256", "checksumValue": subject.manifest.hex()}],
    })];
    let mut files = Vec::new();
    let mut relationships = vec![relation("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image")];
    for (i, base) in inv.bases.iter().enumerate() {
        let id = format!("SPDXRef-Base-{i}");
        packages.push(json!({
            "SPDXID": id,
            "name": base.name,
            "versionInfo": base.manifest.digest.to_string(),
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "checksums": [{"algorithm": "SHA256", "checksumValue": base.manifest.digest.hex()}],
        }));
        relationships.push(relation("SPDXRef-Image", "DESCENDANT_OF", &id));
    }
    for (i, layer) in inv.layers.iter().enumerate() {
        let id = format!("SPDXRef-Layer-{i}");
        packages.push(json!({
            "SPDXID": id,
            "name": format!("layer {}", layer.digest),
            "versionInfo": layer.digest.to_string(),
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": !layer.files.is_empty(),
            "packageVerificationCode": {"packageVerificationCodeValue": verification_code(&layer.files)},
            "checksums": [{"algorithm": "SHA256", "checksumValue": layer.digest.hex()}],
        }));
        relationships.push(relation("SPDXRef-Image", "CONTAINS", &id));
        for (j, f) in layer.files.iter().enumerate() {
            let file_id = format!("SPDXRef-File-{i}-{j}");
            files.push(json!({
                "SPDXID": file_id,
                "fileName": format!(".{}", f.path),
                "checksums": [
                    {"algorithm": "SHA1", "checksumValue": f.sha1},
                    {"algorithm": "SHA256", "checksumValue": f.sha256.hex()},
                ],
            }));
            relationships.push(relation(&id, "CONTAINS", &file_id));
        }
    }
    for (i, p) in inv.packages.iter().enumerate() {
        let id = format!("SPDXRef-Package-{}-{i}", p.kind);
        packages.push(package(p, &id));
        relationships.push(relation("SPDXRef-Image", "CONTAINS", &id));
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": subject.name,
        "documentNamespace": format!("https://minibuild.invalid/spdx/{}", subject.manifest.hex()),
        "creationInfo": {
            "created": subject.created,
            "creators": [format!("Tool: minibuild-{}", env!("CARGO_PKG_VERSION"))],
        },
        "packages": packages,
        "files": files,
        "relationships": relationships,
    })
}

fn package(p: &Package, id: &str) -> Value {
    let mut v = json!({
        "SPDXID": id,
        "name": p.name,
        "versionInfo": p.version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "sourceInfo": format!("found in {}", p.found_in),
        "externalRefs": [{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": p.purl(),
        }],
    });
    if let Some(src) = &p.source {
        v["comment"] = json!(format!("source package {src}"));
    }
    v
}

/// SPDX's package verification code: the SHA1 of the files' SHA1s, sorted
/// and concatenated.
fn verification_code(files: &[WrittenFile]) -> String {
    use sha1::Digest as _;
    let mut sums: Vec<&str> = files.iter().map(|f| f.sha1.as_str()).collect();
    sums.sort_unstable();
    super::inventory::hex(sha1::Sha1::digest(sums.concat().as_bytes()).as_slice())
}

fn relation(from: &str, kind: &str, to: &str) -> Value {
    json!({"spdxElementId": from, "relationshipType": kind, "relatedSpdxElement": to})
}
