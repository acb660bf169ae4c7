//! Pushing artifacts about an image (SBOM, provenance) to a registry: each
//! artifact manifest by digest after its blobs; then, when the registry has
//! no referrers API, the fallback tag `sha256-<hex of the subject>` is
//! (re)written as an index listing every artifact about the subject, those
//! it listed before kept (the OCI distribution spec's referrers tag schema).

use super::client::{Client, ManifestRef};
use super::push;
use crate::dest::error::DestError;
use crate::dest::graph::Index;
use crate::dest::layout::Layout;
use crate::dest::options::RegistryOptions;
use crate::dest::referrers::{fallback_tag, referrers_index};
use crate::oci::{canonical_json, Descriptor, MEDIA_TYPE_INDEX};
use crate::reference::Reference;

/// How the referrers were made findable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferrersPushed {
    /// The registry lists them itself (it has the referrers API).
    Api,
    /// Through the fallback tag named here.
    FallbackTag(String),
}

impl std::fmt::Display for ReferrersPushed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReferrersPushed::Api => f.write_str("the registry lists them"),
            ReferrersPushed::FallbackTag(t) => write!(f, "no referrers API: listed by tag {t}"),
        }
    }
}

/// Pushes `artifacts` (in `src`) about `subject` to `reference`'s
/// repository.
pub fn push_referrers(
    src: &Layout,
    subject: &Descriptor,
    artifacts: &[Descriptor],
    reference: &Reference,
    opts: &RegistryOptions,
) -> Result<ReferrersPushed, DestError> {
    for a in artifacts {
        let by_digest = Reference {
            tag: None,
            digest: Some(a.digest.clone()),
            ..reference.clone()
        };
        push(src, a, &by_digest, opts)?;
    }
    let client = Client::connect(reference, opts, "pull,push")?;
    if client.referrers(&subject.digest)?.is_some() {
        return Ok(ReferrersPushed::Api);
    }
    let tag = fallback_tag(&subject.digest);
    let by_tag = ManifestRef::Tag(tag.clone());
    // what the tag listed before (other tools' artifacts) stays
    let mut listed: Vec<Descriptor> = match client.has_tag(&tag)? {
        true => {
            let (bytes, _, _) = client.get_manifest(&by_tag, None)?;
            let before: Index = serde_json::from_slice(&bytes)
                .map_err(DestError::json(format!("parsing the referrers tag {tag}")))?;
            before.manifests
        }
        false => Vec::new(),
    };
    for a in artifacts {
        if !listed.iter().any(|d| d.digest == a.digest) {
            listed.push(a.clone());
        }
    }
    let index = referrers_index(listed);
    let bytes = canonical_json(&index).map_err(DestError::json("serializing a referrers index"))?;
    client.put_manifest(&bytes, MEDIA_TYPE_INDEX, &by_tag)?;
    Ok(ReferrersPushed::FallbackTag(tag))
}
