//! The inventory as a CycloneDX 1.5 JSON BOM: the image as the metadata's
//! component, the images read as `container` components, each layer
//! minibuild wrote as a `data` component holding its files (`file`
//! components with SHA-256 hashes), the packages found as `library`
//! components with purls. Derived from the image only: reproducible.

use super::inventory::Inventory;
use super::Subject;
use serde_json::{json, Value};

/// The BOM for `subject` with `inv`.
pub fn document(subject: &Subject, inv: &Inventory) -> Value {
    let mut components = Vec::new();
    for base in &inv.bases {
        components.push(json!({
            "type": "container",
            "bom-ref": format!("base:{}", base.manifest.digest),
            "name": base.name,
            "version": base.manifest.digest.to_string(),
            "hashes": [{"alg": "SHA-256", "content": base.manifest.digest.hex()}],
        }));
    }
    for layer in &inv.layers {
        let files: Vec<Value> = layer
            .files
            .iter()
            .map(|f| {
                json!({
                    "type": "file",
                    "bom-ref": format!("file:{}:{}", layer.digest, f.path),
                    "name": f.path,
                    "hashes": [{"alg": "SHA-256", "content": f.sha256.hex()}],
                })
            })
            .collect();
        components.push(json!({
            "type": "data",
            "bom-ref": format!("layer:{}", layer.digest),
            "name": format!("layer {}", layer.digest),
            "hashes": [{"alg": "SHA-256", "content": layer.digest.hex()}],
            "components": files,
        }));
    }
    for p in &inv.packages {
        let mut c = json!({
            "type": "library",
            "bom-ref": p.purl(),
            "name": p.name,
            "version": p.version,
            "purl": p.purl(),
            "properties": [{"name": "minibuild:found-in", "value": p.found_in}],
        });
        if let (Some(src), Some(props)) = (&p.source, c["properties"].as_array_mut()) {
            props.push(json!({"name": "minibuild:source-package", "value": src}));
        }
        components.push(c);
    }
    let hex = subject.manifest.hex();
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!(
            // a name-based (version 5, RFC 4122 variant) form of the digest
            "urn:uuid:{}-{}-5{}-8{}-{}",
            &hex[0..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..32]
        ),
        "version": 1,
        "metadata": {
            "timestamp": subject.created,
            "tools": {"components": [{
                "type": "application",
                "name": "minibuild",
                "version": env!("CARGO_PKG_VERSION"),
            }]},
            "component": {
                "type": "container",
                "bom-ref": format!("image:{}", subject.manifest),
                "name": subject.name,
                "version": subject.manifest.to_string(),
            },
        },
        "components": components,
    })
}
