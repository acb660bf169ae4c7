//! An image being built: its config, its layers and its history, which only
//! change together through [`Image::append`], so they never drift apart.

pub mod config;

pub use config::{ContainerConfig, Healthcheck, History, ImageConfig, RootFs};

use crate::digest::Digest;
use crate::oci::{self, Descriptor, Platform};
use serde::{Deserialize, Serialize};

/// A layer as the manifest and config see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// The compressed blob's descriptor (media type, digest, size).
    pub descriptor: Descriptor,
    /// `sha256:` of the uncompressed tar.
    pub diff_id: Digest,
}

/// What one Dockerfile step adds to an image: maybe a layer, always a
/// history entry.
#[derive(Debug, Clone)]
pub struct Addendum {
    /// The layer the step made, if any.
    pub layer: Option<Layer>,
    /// The step's history entry (`empty_layer` is set from `layer`).
    pub history: History,
}

/// An image: config plus the layers its manifest lists.
#[derive(Debug, Clone)]
pub struct Image {
    /// The config (rootfs and history included).
    pub config: ImageConfig,
    /// The manifest's layer descriptors, bottom first.
    pub layers: Vec<Descriptor>,
    /// The manifest's annotations (`--annotation manifest:K=V`); a base's
    /// are not inherited, as in BuildKit.
    pub annotations: std::collections::BTreeMap<String, String>,
}

/// The image manifest (`application/vnd.oci.image.manifest.v1+json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always 2.
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    /// The manifest's own media type.
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layer blobs, bottom first.
    pub layers: Vec<Descriptor>,
    /// Annotations, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
}

/// The environment every image built `FROM scratch` starts with (BuildKit's
/// default for Linux).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

impl Image {
    /// The image `FROM scratch` starts from, as BuildKit makes it: no layers,
    /// the host platform, `PATH` set, working directory `/`.
    pub fn scratch(platform: &Platform) -> Image {
        let mut config = ImageConfig {
            architecture: platform.architecture.clone(),
            os: platform.os.clone(),
            variant: platform.variant.clone(),
            ..ImageConfig::default()
        };
        config.config.env_set("PATH", DEFAULT_PATH);
        config.config.working_dir = Some("/".to_string());
        Image {
            config,
            layers: Vec::new(),
            annotations: Default::default(),
        }
    }

    /// An image from a base's manifest and config, to build on.
    pub fn from_base(manifest: &Manifest, config: ImageConfig) -> Image {
        Image {
            config,
            layers: manifest.layers.clone(),
            annotations: Default::default(),
        }
    }

    /// Adds a step: its layer (descriptor and diff_id) and its history entry.
    pub fn append(&mut self, addendum: Addendum) {
        let mut history = addendum.history;
        history.empty_layer = addendum.layer.is_none();
        if let Some(layer) = addendum.layer {
            self.config.rootfs.diff_ids.push(layer.diff_id);
            self.layers.push(layer.descriptor);
        }
        self.config.history.push(history);
    }

    /// Gives an image that has no layer the empty one (an empty tar) that
    /// the image-spec's manifest schema requires, attributed to the last
    /// step, as buildah does.
    pub fn add_empty_layer(&mut self, layer: Layer) {
        self.config.rootfs.diff_ids.push(layer.diff_id);
        self.layers.push(layer.descriptor);
        match self.config.history.last_mut() {
            Some(h) => h.empty_layer = false,
            None => self.config.history.push(History {
                created_by: Some("minibuild: empty layer".to_string()),
                ..History::default()
            }),
        }
    }

    /// The config blob's bytes (canonical JSON).
    pub fn config_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        oci::canonical_json(&self.config)
    }

    /// The manifest for a config blob of `config_digest` and `config_size`.
    pub fn manifest(&self, config_digest: Digest, config_size: u64) -> Manifest {
        Manifest {
            schema_version: 2,
            media_type: Some(oci::MEDIA_TYPE_MANIFEST.to_string()),
            config: Descriptor::new(oci::MEDIA_TYPE_CONFIG, config_digest, config_size),
            layers: self.layers.clone(),
            annotations: Some(self.annotations.clone()).filter(|a| !a.is_empty()),
        }
    }

    /// The platform the config states.
    pub fn platform(&self) -> Platform {
        Platform {
            architecture: self.config.architecture.clone(),
            os: self.config.os.clone(),
            variant: self.config.variant.clone(),
        }
    }
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC (`2024-01-02T03:04:05Z`).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a (year, month, day) date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_values() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn append_keeps_layers_diff_ids_and_history_together() {
        let mut img = Image::scratch(&Platform::host());
        img.append(Addendum {
            layer: None,
            history: History {
                created_by: Some("CMD [\"x\"]".into()),
                ..History::default()
            },
        });
        img.append(Addendum {
            layer: Some(Layer {
                descriptor: Descriptor::new(
                    oci::MEDIA_TYPE_LAYER_GZIP,
                    crate::digest::sha256(b"aa"),
                    3,
                ),
                diff_id: crate::digest::sha256(b"bb"),
            }),
            history: History::default(),
        });
        assert_eq!(img.layers.len(), 1);
        assert_eq!(
            img.config.rootfs.diff_ids,
            vec![crate::digest::sha256(b"bb")]
        );
        assert!(img.config.history[0].empty_layer);
        assert!(!img.config.history[1].empty_layer);
        assert_eq!(img.config.config.working_dir.as_deref(), Some("/"));
    }
}
