//! Registry credentials (auth files as Docker and podman write them) and
//! the `WWW-Authenticate` challenge.

use super::layout::DestError;
use base64::Engine as _;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A user name and password for a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password or token.
    pub password: String,
}

impl Credentials {
    /// The `Authorization: Basic ...` header value.
    pub fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// The auth files searched, in order: `explicit`, `$REGISTRY_AUTH_FILE`,
/// `$XDG_RUNTIME_DIR/containers/auth.json`, `~/.docker/config.json`.
pub fn auth_files(explicit: Option<&Path>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(p) = explicit {
        files.push(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("REGISTRY_AUTH_FILE") {
        files.push(PathBuf::from(p));
    }
    if let Some(p) = std::env::var_os("XDG_RUNTIME_DIR") {
        files.push(PathBuf::from(p).join("containers").join("auth.json"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        files.push(PathBuf::from(home).join(".docker").join("config.json"));
    }
    files
}

/// Credentials for `registry` from the first auth file that has them.
/// Missing files are skipped; a file that cannot be parsed is an error.
pub fn credentials(
    registry: &str,
    explicit: Option<&Path>,
) -> Result<Option<Credentials>, DestError> {
    for file in auth_files(explicit) {
        let text = match std::fs::read(&file) {
            Ok(t) => t,
            Err(_) => continue,
        };
        if let Some(c) = lookup(&text, registry, &file)? {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// Finds `registry` in the `auths` of an auth file's contents.
fn lookup(text: &[u8], registry: &str, file: &Path) -> Result<Option<Credentials>, DestError> {
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(default)]
        auth: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct AuthFile {
        #[serde(default)]
        auths: BTreeMap<String, Entry>,
    }
    let what = format!("reading credentials from {}", file.display());
    let parsed: AuthFile = serde_json::from_slice(text).map_err(DestError::json(what.clone()))?;
    let wanted: Vec<&str> = if registry == "docker.io" {
        vec!["docker.io", "index.docker.io", "registry-1.docker.io"]
    } else {
        vec![registry]
    };
    for (key, entry) in &parsed.auths {
        let host = key
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        let host = host.split('/').next().unwrap_or(host);
        if !wanted.contains(&host) {
            continue;
        }
        let Some(auth) = &entry.auth else { continue };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|e| DestError::invalid(what.clone(), format!("auths.{key}.auth: {e}")))?;
        let raw = String::from_utf8(raw).map_err(|_| {
            DestError::invalid(what.clone(), format!("auths.{key}.auth is not UTF-8"))
        })?;
        let (user, pass) = raw.split_once(':').ok_or_else(|| {
            DestError::invalid(
                what.clone(),
                format!("auths.{key}.auth is not user:password"),
            )
        })?;
        return Ok(Some(Credentials {
            username: user.to_string(),
            password: pass.to_string(),
        }));
    }
    Ok(None)
}

/// A parsed `WWW-Authenticate` header: the scheme (`Basic`, `Bearer`) and
/// its parameters (`realm`, `service`, `scope`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `basic` or `bearer`, lowercased.
    pub scheme: String,
    /// The parameters, keys lowercased.
    pub params: BTreeMap<String, String>,
}

/// Parses `Bearer realm="https://a/token",service="reg",scope="repository:x:pull"`.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.is_empty() {
        return None;
    }
    let mut params = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if key.is_empty() {
            break;
        }
        if chars.next() != Some('=') {
            params.insert(key.trim().to_ascii_lowercase(), String::new());
            continue;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect();
        }
        params.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    Some(Challenge {
        scheme: scheme.to_ascii_lowercase(),
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_challenge() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/a:pull,push""#,
        )
        .unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.params["realm"], "https://auth.docker.io/token");
        assert_eq!(c.params["service"], "registry.docker.io");
        assert_eq!(c.params["scope"], "repository:library/a:pull,push");
        let b = parse_challenge(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!(b.scheme, "basic");
        assert_eq!(b.params["realm"], "Registry Realm");
    }

    #[test]
    fn finds_credentials_by_host() {
        let text = br#"{"auths":{"https://index.docker.io/v1/":{"auth":"dTpw"},"localhost:5000":{"auth":"YTpiOmM="}}}"#;
        let f = Path::new("auth.json");
        let c = lookup(text, "docker.io", f).unwrap().unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("u", "p"));
        let c = lookup(text, "localhost:5000", f).unwrap().unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("a", "b:c"));
        assert!(lookup(text, "quay.io", f).unwrap().is_none());
        assert_eq!(c.basic_header(), "Basic YTpiOmM=");
        let err = lookup(b"{", "x", f).unwrap_err().to_string();
        assert!(
            err.starts_with("reading credentials from auth.json"),
            "{err}"
        );
    }
}
