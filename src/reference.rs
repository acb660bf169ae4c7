//! Image references as Docker normalizes them: `hello:scratch` is
//! `docker.io/library/hello:scratch`; `localhost:5000/a/b@sha256:..`.
//! They name images wherever they live: `-t` tags, base images, registries.

use crate::digest::Digest;
use std::fmt;
use std::str::FromStr;

/// The default registry for names without one.
pub const DEFAULT_REGISTRY: &str = "docker.io";

/// A string that is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parsing image reference {input:?}: {reason}")]
pub struct ReferenceError {
    /// The string given.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// A parsed, normalized image reference. Its [`Display`](fmt::Display) is
/// the fully qualified name ([`Reference::full`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `docker.io`, `localhost:5000`, `quay.io`...
    pub registry: String,
    /// `library/hello`, `a/b`...
    pub repository: String,
    /// The tag, if one was given.
    pub tag: Option<String>,
    /// The digest (`sha256:<hex>`), if one was given.
    pub digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalizes `s` (`[REGISTRY/]REPO[:TAG][@DIGEST]`).
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        let bad = |reason| ReferenceError {
            input: s.to_string(),
            reason,
        };
        if s.is_empty() {
            return Err(bad("it is empty"));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((rest, d)) => match d.parse::<Digest>() {
                Ok(d) => (rest, Some(d)),
                Err(_) => return Err(bad("the digest is not sha256:<64 hex digits>")),
            },
            None => (s, None),
        };
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i + 1..].contains('/') => {
                (&rest[..i], Some(rest[i + 1..].to_string()))
            }
            _ => (rest, None),
        };
        if let Some(tag) = &tag {
            let ok = !tag.is_empty()
                && tag.len() <= 128
                && !tag.starts_with(['.', '-'])
                && tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if !ok {
                return Err(bad(
                    "the tag may hold only letters, digits, _ . - (not first), at most 128",
                ));
            }
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), path.to_string())
            }
            _ => (DEFAULT_REGISTRY.to_string(), name.to_string()),
        };
        let registry = if registry == "index.docker.io" {
            DEFAULT_REGISTRY.to_string()
        } else {
            registry
        };
        if registry.is_empty()
            || !registry
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        {
            return Err(bad("the registry is not a host name with an optional port"));
        }
        let valid_component = |c: &str| {
            !c.is_empty()
                && c.starts_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
                && c.ends_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
                && c.chars().all(|ch| {
                    ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-')
                })
        };
        if !repository.split('/').all(valid_component) {
            return Err(bad(
                "the repository must be lowercase letters, digits and . _ - separated by /",
            ));
        }
        let repository = if registry == DEFAULT_REGISTRY && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The tag, or `latest` when neither a tag nor a digest was given.
    pub fn tag_or_latest(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(t), _) => Some(t),
            (None, None) => Some("latest"),
            (None, Some(_)) => None,
        }
    }

    /// The short name Docker shows: `hello:scratch`, `quay.io/a/b:1`.
    pub fn familiar(&self) -> String {
        self.with_suffix(self.familiar_repository())
    }

    /// The familiar repository without tag or digest: `hello`, `quay.io/a/b`.
    pub fn familiar_repository(&self) -> String {
        if self.registry == DEFAULT_REGISTRY {
            self.repository
                .strip_prefix("library/")
                .unwrap_or(&self.repository)
                .to_string()
        } else {
            format!("{}/{}", self.registry, self.repository)
        }
    }

    /// The fully qualified name: `docker.io/library/hello:scratch`.
    pub fn full(&self) -> String {
        self.with_suffix(format!("{}/{}", self.registry, self.repository))
    }

    fn with_suffix(&self, mut name: String) -> String {
        if let Some(tag) = self.tag_or_latest() {
            name.push(':');
            name.push_str(tag);
        }
        if let Some(d) = &self.digest {
            name.push('@');
            name.push_str(&d.to_string());
        }
        name
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    /// [`Reference::parse`].
    fn from_str(s: &str) -> Result<Reference, ReferenceError> {
        Reference::parse(s)
    }
}

impl fmt::Display for Reference {
    /// The fully qualified name: `docker.io/library/hello:scratch`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_docker() {
        let cases = [
            ("hello", "docker.io/library/hello:latest", "hello:latest"),
            (
                "hello:scratch",
                "docker.io/library/hello:scratch",
                "hello:scratch",
            ),
            (
                "docker.io/library/hello:1",
                "docker.io/library/hello:1",
                "hello:1",
            ),
            ("index.docker.io/a/b", "docker.io/a/b:latest", "a/b:latest"),
            (
                "localhost:5000/x:y",
                "localhost:5000/x:y",
                "localhost:5000/x:y",
            ),
            ("localhost/x", "localhost/x:latest", "localhost/x:latest"),
            (
                "quay.io/a/b/c:v1.2",
                "quay.io/a/b/c:v1.2",
                "quay.io/a/b/c:v1.2",
            ),
        ];
        for (input, full, familiar) in cases {
            let r: Reference = input.parse().unwrap();
            assert_eq!(r.full(), full, "{input}");
            assert_eq!(r.to_string(), full, "{input}");
            // the full name names the same image (with its tag spelled out)
            assert_eq!(full.parse::<Reference>().unwrap().full(), full, "{input}");
            assert_eq!(r.familiar(), familiar, "{input}");
        }
    }

    #[test]
    fn digests() {
        let d = crate::digest::sha256(b"x");
        let r = Reference::parse(&format!("127.0.0.1:5000/a@{d}")).unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "a");
        assert_eq!(r.tag, None);
        assert_eq!(r.digest, Some(d.clone()));
        assert_eq!(r.full(), format!("127.0.0.1:5000/a@{d}"));
    }

    #[test]
    fn rejects_bad_references() {
        let cases = [
            ("", "it is empty"),
            ("Hello", "the repository must be lowercase"),
            ("a:b c", "the tag may hold only"),
            ("a@sha256:00", "the digest is not"),
            ("a//b", "the repository must be"),
            ("a:", "the tag may hold only"),
        ];
        for (input, msg) in cases {
            let err = Reference::parse(input).unwrap_err().to_string();
            assert!(err.contains(msg), "{input}: {err}");
            assert!(err.starts_with("parsing image reference"), "{err}");
        }
    }
}
