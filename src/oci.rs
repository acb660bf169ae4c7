//! OCI image-spec values shared by every part: media types, descriptors,
//! and canonical JSON.

use crate::digest::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `application/vnd.oci.image.index.v1+json`
pub const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// `application/vnd.oci.image.manifest.v1+json`
pub const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// `application/vnd.oci.image.config.v1+json`
pub const MEDIA_TYPE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// An uncompressed layer.
pub const MEDIA_TYPE_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// A gzip-compressed layer.
pub const MEDIA_TYPE_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// A zstd-compressed layer.
pub const MEDIA_TYPE_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// Docker schema 2 manifest (read from registries and old layouts).
pub const MEDIA_TYPE_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const MEDIA_TYPE_DOCKER_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker gzip layer.
pub const MEDIA_TYPE_DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// The annotation that names an image in an OCI layout's index.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// containerd's annotation with the fully qualified image name.
pub const ANNOTATION_CONTAINERD_NAME: &str = "io.containerd.image.name";

/// An OCI content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    /// The media type of the referenced content.
    #[serde(rename = "mediaType")]
    pub media_type: String,
    /// `sha256:<hex>`, serialized as that string.
    pub digest: Digest,
    /// Size in bytes.
    pub size: u64,
    /// Annotations, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Platform, for index entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// The artifact type of an artifact manifest (an SBOM, a provenance
    /// statement), in referrers indexes and `index.json`.
    #[serde(
        rename = "artifactType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub artifact_type: Option<String>,
}

impl Descriptor {
    /// A descriptor without annotations or platform.
    pub fn new(media_type: &str, digest: Digest, size: u64) -> Self {
        Descriptor {
            media_type: media_type.to_string(),
            digest,
            size,
            annotations: None,
            platform: None,
            artifact_type: None,
        }
    }
}

/// A platform, as in index entries and configs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// e.g. `amd64`.
    pub architecture: String,
    /// e.g. `linux`.
    pub os: String,
    /// e.g. `v8` for arm64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl std::str::FromStr for Platform {
    type Err = String;

    /// Parses `os/arch[/variant]`, `os` or `arch` as containerd's
    /// `platforms.Parse` followed by `platforms.Normalize` (what BuildKit
    /// does with `--platform`): `x86_64` is `amd64`, `aarch64` and
    /// `arm64/v8` are `arm64` (no variant), `arm` is `arm/v7`, `armhf`
    /// `arm/v7`, `armel` `arm/v6`. A missing os or arch is the host's.
    fn from_str(s: &str) -> Result<Platform, String> {
        let invalid = |why: &str| format!("invalid platform {s:?}: {why}");
        let parts: Vec<&str> = s.split('/').collect();
        let component = |p: &&str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        };
        if !parts.iter().all(component) {
            return Err(invalid("expected os/arch[/variant]"));
        }
        let host = Platform::host();
        let (os, arch, variant) = match parts.as_slice() {
            [one] if KNOWN_OS.contains(&normalize_os(one).as_str()) => {
                return Ok(Platform {
                    os: normalize_os(one),
                    ..host
                })
            }
            [one] if KNOWN_ARCH.contains(&normalize_arch(one, "").0.as_str()) => {
                (host.os.as_str(), *one, "")
            }
            [_] => return Err(invalid("unknown operating system or architecture")),
            [os, arch] => (*os, *arch, ""),
            [os, arch, variant] => (*os, *arch, *variant),
            _ => return Err(invalid("expected os/arch[/variant]")),
        };
        let (architecture, variant) = normalize_arch(arch, variant);
        Ok(Platform {
            os: normalize_os(os),
            architecture,
            variant,
        })
    }
}

/// Operating systems containerd knows (a lone `linux` is an os).
const KNOWN_OS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "linux",
    "nacl",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "windows",
    "zos",
];

/// Architectures containerd knows (a lone `arm64` is an architecture).
const KNOWN_ARCH: &[&str] = &[
    "386",
    "amd64",
    "amd64p32",
    "arm",
    "armbe",
    "arm64",
    "arm64be",
    "ppc64",
    "ppc64le",
    "loong64",
    "mips",
    "mipsle",
    "mips64",
    "mips64le",
    "mips64p32",
    "mips64p32le",
    "ppc",
    "riscv",
    "riscv64",
    "s390",
    "s390x",
    "sparc",
    "sparc64",
    "wasm",
];

/// containerd's `normalizeOS`: lower case, `macos` is `darwin`.
fn normalize_os(os: &str) -> String {
    match os.to_ascii_lowercase().as_str() {
        "macos" => "darwin".to_string(),
        other => other.to_string(),
    }
}

/// containerd's `normalizeArch`: Go's architecture names, and the variant
/// each implies (`arm64/v8` is plain `arm64`, plain `arm` is `arm/v7`).
fn normalize_arch(arch: &str, variant: &str) -> (String, Option<String>) {
    let (arch, variant) = (arch.to_ascii_lowercase(), variant.to_ascii_lowercase());
    let (arch, variant) = match arch.as_str() {
        "i386" => ("386".to_string(), String::new()),
        "x86_64" | "x86-64" | "amd64" => {
            let v = if variant == "v1" {
                String::new()
            } else {
                variant
            };
            ("amd64".to_string(), v)
        }
        "aarch64" | "arm64" => {
            let v = match variant.as_str() {
                "8" | "v8" | "v8.0" => String::new(),
                "9" | "9.0" | "v9.0" => "v9".to_string(),
                _ => variant,
            };
            ("arm64".to_string(), v)
        }
        "armhf" => ("arm".to_string(), "v7".to_string()),
        "armel" => ("arm".to_string(), "v6".to_string()),
        "arm" => {
            let v = match variant.as_str() {
                "" | "7" => "v7".to_string(),
                "5" | "6" | "8" => format!("v{variant}"),
                _ => variant,
            };
            ("arm".to_string(), v)
        }
        _ => (arch, variant),
    };
    (arch, Some(variant).filter(|v| !v.is_empty()))
}

impl std::fmt::Display for Platform {
    /// `os/arch[/variant]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        match &self.variant {
            Some(v) => write!(f, "/{v}"),
            None => Ok(()),
        }
    }
}

impl Platform {
    /// The platform minibuild runs on, named and normalized as containerd's
    /// `platforms.DefaultSpec` and `Normalize` name it.
    pub fn host() -> Self {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            other => other,
        };
        let (architecture, variant) = normalize_arch(architecture, "");
        Platform {
            architecture,
            os: std::env::consts::OS.to_string(),
            variant,
        }
    }

    /// This platform as containerd's `Normalize` leaves it.
    pub fn normalized(&self) -> Platform {
        let (architecture, variant) =
            normalize_arch(&self.architecture, self.variant.as_deref().unwrap_or(""));
        Platform {
            os: normalize_os(&self.os),
            architecture,
            variant,
        }
    }

    /// True when both name the same platform once normalized (containerd's
    /// `NewMatcher(a).Match(b)`): `linux/arm64/v8` is `linux/arm64`.
    pub fn same_as(&self, other: &Platform) -> bool {
        self.normalized() == other.normalized()
    }

    /// The platforms an image for this one may be taken from, best first:
    /// containerd's `platforms.Only` (`amd64/v3` runs `v2`, `v1` and `386`;
    /// `arm64` runs `arm/v8` down to `arm/v5`; `arm/v7` runs `v6`, `v5`).
    pub fn compatible(&self) -> Vec<Platform> {
        let p = self.normalized();
        let with = |architecture: &str, variant: Option<String>| Platform {
            os: p.os.clone(),
            architecture: architecture.to_string(),
            variant,
        };
        let version = |v: &Option<String>| {
            v.as_deref()
                .and_then(|v| v.strip_prefix('v'))
                .and_then(|n| n.parse::<u32>().ok())
        };
        let mut out = vec![p.clone()];
        match p.architecture.as_str() {
            "amd64" => {
                if let Some(n) = version(&p.variant).filter(|n| *n > 1) {
                    out.extend((1..n).rev().map(|k| with("amd64", Some(format!("v{k}")))));
                }
                out.push(with("386", None));
            }
            "arm" => {
                if let Some(n) = version(&p.variant).filter(|n| *n > 5) {
                    out.extend((5..n).rev().map(|k| with("arm", Some(format!("v{k}")))));
                }
            }
            "arm64" => {
                out = arm64_versions(p.variant.as_deref().unwrap_or("v8"))
                    .into_iter()
                    .map(|v| with("arm64", Some(v)))
                    .collect();
                let arm = match p.variant.as_deref() {
                    None => "v8".to_string(),
                    Some(v) if v.starts_with("v8") || v.starts_with("v9") => "v8".to_string(),
                    Some(v) => v.to_string(),
                };
                out.extend(with("arm", Some(arm)).compatible());
            }
            _ => {}
        }
        out
    }
}

/// The arm64 variants an arm64 `variant` CPU runs, best first (containerd's
/// `arm64variantToVersion`: `v9.2` runs `v9.1`, `v9`, then `v8.7` … `v8`).
fn arm64_versions(variant: &str) -> Vec<String> {
    let parse = |s: &str| -> Option<(u32, u32)> {
        let s = s.strip_prefix('v')?;
        let (major, minor) = match s.split_once('.') {
            Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
            None => (s.parse().ok()?, 0),
        };
        let ok = (major == 8 && minor <= 9) || (major == 9 && minor <= 7);
        ok.then_some((major, minor))
    };
    let Some((major, minor)) = parse(variant) else {
        return Vec::new();
    };
    // v9.x also runs v8.(x+5), at most v8.9
    let mut chain = vec![(major, minor)];
    if major == 9 {
        chain.push((8, (minor + 5).min(9)));
    }
    let mut out = Vec::new();
    for (major, top) in chain {
        for minor in (0..=top).rev() {
            out.push(if minor == 0 {
                format!("v{major}")
            } else {
                format!("v{major}.{minor}")
            });
        }
    }
    out
}

/// Serializes `value` as canonical JSON: object keys sorted, no spaces, so
/// that the same value always gives the same bytes (and digest).
pub fn canonical_json<T: Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    // serde_json's Map is a BTreeMap (the crate's `preserve_order` feature is
    // not enabled), so going through Value sorts every object's keys.
    let value = serde_json::to_value(value)?;
    serde_json::to_vec(&value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_parse_and_normalize_as_containerd() {
        let cases = [
            ("linux/aarch64", "linux/arm64"),
            ("linux/arm64/v8", "linux/arm64"),
            ("linux/arm64/v9.0", "linux/arm64/v9"),
            ("linux/arm", "linux/arm/v7"),
            ("linux/armhf", "linux/arm/v7"),
            ("linux/arm/6", "linux/arm/v6"),
            ("linux/x86_64", "linux/amd64"),
            ("linux/amd64/v1", "linux/amd64"),
            ("Linux/AMD64/v3", "linux/amd64/v3"),
            ("linux/i386", "linux/386"),
        ];
        for (input, want) in cases {
            let p: Platform = input.parse().unwrap();
            assert_eq!(p.to_string(), want, "{input}");
        }
        assert_eq!("linux".parse::<Platform>().unwrap().os, "linux");
        assert_eq!("arm64".parse::<Platform>().unwrap().architecture, "arm64");
        for bad in ["linux//v7", "", "a/b/c/d", "linux/a b", "nonsense"] {
            assert!(bad.parse::<Platform>().is_err(), "{bad}");
        }
    }

    #[test]
    fn compatible_platforms_follow_containerds_only() {
        let list = |s: &str| {
            let p: Platform = s.parse().unwrap();
            p.compatible()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(list("linux/amd64"), ["linux/amd64", "linux/386"]);
        assert_eq!(
            list("linux/amd64/v3"),
            [
                "linux/amd64/v3",
                "linux/amd64/v2",
                "linux/amd64/v1",
                "linux/386"
            ]
        );
        assert_eq!(
            list("linux/arm/v7"),
            ["linux/arm/v7", "linux/arm/v6", "linux/arm/v5"]
        );
        assert_eq!(
            list("linux/arm64"),
            [
                "linux/arm64/v8",
                "linux/arm/v8",
                "linux/arm/v7",
                "linux/arm/v6",
                "linux/arm/v5"
            ]
        );
        let v92 = list("linux/arm64/v9.2");
        assert_eq!(
            v92[..4],
            [
                "linux/arm64/v9.2",
                "linux/arm64/v9.1",
                "linux/arm64/v9",
                "linux/arm64/v8.7"
            ]
        );
        assert!(v92.contains(&"linux/arm64/v8".to_string()));
        let a: Platform = "linux/arm64/v8".parse().unwrap();
        assert!(a.same_as(&Platform {
            architecture: "arm64".into(),
            os: "linux".into(),
            variant: None
        }));
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let d = Descriptor::new(MEDIA_TYPE_CONFIG, crate::digest::sha256(b""), 2);
        let s = String::from_utf8(canonical_json(&d).unwrap()).unwrap();
        assert_eq!(
            s,
            r#"{"digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","mediaType":"application/vnd.oci.image.config.v1+json","size":2}"#
        );
    }
}
