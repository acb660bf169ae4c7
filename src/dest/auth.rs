//! Registry credentials, found as Docker and podman find them (auth files,
//! `credsStore` and `credHelpers` credential helpers, identity tokens), and
//! the `WWW-Authenticate` challenge.

use super::error::DestError;
use base64::Engine as _;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What proves to a registry who we are. Its `Debug` never shows a secret.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// A user name and password, sent as Basic auth to the registry or to
    /// its token service.
    Password {
        /// The user name.
        username: String,
        /// The password (or a personal access token used as one).
        password: String,
    },
    /// An identity token (`identitytoken` in an auth file, or a credential
    /// helper's `<token>` user): an OAuth2 refresh token for the
    /// registry's token service.
    IdentityToken(String),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Password { username, .. } => f
                .debug_struct("Password")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

impl Credentials {
    /// A user name and password.
    pub fn password(username: &str, password: &str) -> Credentials {
        Credentials::Password {
            username: username.to_string(),
            password: password.to_string(),
        }
    }

    /// The `Authorization: Basic ...` header value; `None` for an identity
    /// token, which only a token service accepts.
    pub fn basic_header(&self) -> Option<String> {
        let Credentials::Password { username, password } = self else {
            return None;
        };
        let raw = format!("{username}:{password}");
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ))
    }
}

/// The auth files searched, in order: `explicit`, `$REGISTRY_AUTH_FILE`,
/// `$XDG_RUNTIME_DIR/containers/auth.json`, then Docker's
/// `$DOCKER_CONFIG/config.json` (`~/.docker/config.json` without it).
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
    if let Some(p) = std::env::var_os("DOCKER_CONFIG").filter(|p| !p.is_empty()) {
        files.push(PathBuf::from(p).join("config.json"));
    } else if let Some(home) = std::env::var_os("HOME") {
        files.push(PathBuf::from(home).join(".docker").join("config.json"));
    }
    files
}

/// Credentials for `registry` from the first auth file that has them.
/// Missing files are skipped; a file that cannot be parsed, or a
/// credential helper that fails, is an error.
pub fn credentials(
    registry: &str,
    explicit: Option<&Path>,
) -> Result<Option<Credentials>, DestError> {
    for file in auth_files(explicit) {
        let text = match std::fs::read(&file) {
            Ok(t) => t,
            Err(_) => continue,
        };
        let parsed = AuthFile::parse(&text, &file)?;
        if let Some(c) = parsed.credentials(registry, &file, &run_helper)? {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// One entry of `auths`.
#[derive(serde::Deserialize, Default)]
struct Entry {
    /// base64 of `user:password`.
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// An auth file: containers' `auth.json` or Docker's `config.json`.
#[derive(serde::Deserialize, Default)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, Entry>,
    /// The helper for every registry without its own in `credHelpers`.
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    /// Registry host → helper name (`docker-credential-<name>`).
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
}

/// Runs a credential helper: (helper name, server URL) → its answer.
type Helper<'a> = &'a dyn Fn(&str, &str) -> Result<Option<Credentials>, DestError>;

/// The keys an auth file may file `registry` under, by their host.
fn wanted_hosts(registry: &str) -> Vec<&str> {
    if registry == "docker.io" {
        vec!["docker.io", "index.docker.io", "registry-1.docker.io"]
    } else {
        vec![registry]
    }
}

/// The host of an auth file key (`https://index.docker.io/v1/` → `index.docker.io`).
fn key_host(key: &str) -> &str {
    let host = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    host.split('/').next().unwrap_or(host)
}

/// The server URL a credential helper is asked about: Docker files Docker
/// Hub under its old index URL, every other registry under its host.
fn helper_server(registry: &str) -> String {
    if registry == "docker.io" {
        "https://index.docker.io/v1/".to_string()
    } else {
        registry.to_string()
    }
}

impl AuthFile {
    fn parse(text: &[u8], file: &Path) -> Result<AuthFile, DestError> {
        let what = format!("reading credentials from {}", file.display());
        serde_json::from_slice(text).map_err(DestError::json(what))
    }

    /// `registry`'s credentials in this file: its `credHelpers` helper, else
    /// the `credsStore` helper, else (when the helper has none) `auths`.
    fn credentials(
        &self,
        registry: &str,
        file: &Path,
        helper: Helper<'_>,
    ) -> Result<Option<Credentials>, DestError> {
        let wanted = wanted_hosts(registry);
        let own = self
            .cred_helpers
            .iter()
            .find(|(key, _)| wanted.contains(&key_host(key)))
            .map(|(_, name)| name);
        if let Some(name) = own.or(self.creds_store.as_ref()) {
            if let Some(c) = helper(name, &helper_server(registry))? {
                return Ok(Some(c));
            }
        }
        let what = format!("reading credentials from {}", file.display());
        for (key, entry) in &self.auths {
            if wanted.contains(&key_host(key)) {
                if let Some(c) = entry.credentials(key, &what)? {
                    return Ok(Some(c));
                }
            }
        }
        Ok(None)
    }
}

impl Entry {
    /// The identity token if there is one (Docker prefers it), else the
    /// decoded `auth`.
    fn credentials(&self, key: &str, what: &str) -> Result<Option<Credentials>, DestError> {
        if let Some(token) = self.identitytoken.as_ref().filter(|t| !t.is_empty()) {
            return Ok(Some(Credentials::IdentityToken(token.clone())));
        }
        let Some(auth) = &self.auth else {
            return Ok(None);
        };
        let bad = |reason: String| DestError::invalid(what, format!("auths.{key}.auth {reason}"));
        let raw = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|e| bad(format!("is not base64: {e}")))?;
        let raw = String::from_utf8(raw).map_err(|_| bad("is not UTF-8".into()))?;
        let (user, pass) = raw
            .split_once(':')
            .ok_or_else(|| bad("is not user:password".into()))?;
        Ok(Some(Credentials::password(user, pass)))
    }
}

/// What `docker-credential-<name> get` prints.
#[derive(serde::Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Runs `docker-credential-<name> get` with `server` on its stdin, as
/// Docker does. "credentials not found" is `None`.
fn run_helper(name: &str, server: &str) -> Result<Option<Credentials>, DestError> {
    let program = format!("docker-credential-{name}");
    let what = format!("getting credentials for {server} from {program}");
    if name.is_empty() || name.contains(['/', '\\']) {
        return Err(DestError::invalid(what, "not a credential helper name"));
    }
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(DestError::io(what.clone()))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading is judged by its answer.
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(DestError::io(what.clone()))?;
    parse_helper_answer(&out, &what)
}

/// A helper's output: its JSON answer, or why it had none.
fn parse_helper_answer(
    out: &std::process::Output,
    what: &str,
) -> Result<Option<Credentials>, DestError> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // The message docker-credential-helpers' `ErrCredentialsNotFound` prints.
        if stdout.contains("credentials not found") {
            return Ok(None);
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(DestError::invalid(
            what,
            format!(
                "it failed ({}): {}",
                out.status,
                format!("{stdout} {stderr}").trim()
            ),
        ));
    }
    let answer: HelperAnswer =
        serde_json::from_slice(&out.stdout).map_err(DestError::json(what))?;
    Ok(match (answer.username.as_str(), answer.secret) {
        (_, secret) if secret.is_empty() => None,
        ("<token>", secret) => Some(Credentials::IdentityToken(secret)),
        (user, secret) => Some(Credentials::password(user, &secret)),
    })
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
    use std::cell::RefCell;

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

    fn no_helper(name: &str, _: &str) -> Result<Option<Credentials>, DestError> {
        panic!("helper {name} must not run")
    }

    fn lookup(text: &[u8], registry: &str) -> Result<Option<Credentials>, DestError> {
        let f = Path::new("auth.json");
        AuthFile::parse(text, f)?.credentials(registry, f, &no_helper)
    }

    #[test]
    fn finds_credentials_by_host() {
        let text = br#"{"auths":{"https://index.docker.io/v1/":{"auth":"dTpw"},"localhost:5000":{"auth":"YTpiOmM="}}}"#;
        let c = lookup(text, "docker.io").unwrap().unwrap();
        assert_eq!(c, Credentials::password("u", "p"));
        let c = lookup(text, "localhost:5000").unwrap().unwrap();
        assert_eq!(c, Credentials::password("a", "b:c"));
        assert!(lookup(text, "quay.io").unwrap().is_none());
        assert_eq!(c.basic_header().unwrap(), "Basic YTpiOmM=");
        let err = lookup(b"{", "x").unwrap_err().to_string();
        assert!(
            err.starts_with("reading credentials from auth.json"),
            "{err}"
        );
        let err = lookup(br#"{"auths":{"x":{"auth":"eA=="}}}"#, "x")
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("auths.x.auth is not user:password"), "{err}");
    }

    #[test]
    fn an_identity_token_wins_over_auth() {
        let text = br#"{"auths":{"r.example":{"auth":"dTpw","identitytoken":"REFRESH"}}}"#;
        let c = lookup(text, "r.example").unwrap().unwrap();
        assert_eq!(c, Credentials::IdentityToken("REFRESH".into()));
        assert_eq!(c.basic_header(), None);
    }

    #[test]
    fn helpers_come_first_own_helper_before_store() {
        let text = br#"{"credsStore":"store","credHelpers":{"own.example":"own"},"auths":{"own.example":{"auth":"dTpw"},"other.example":{"auth":"dTpw"},"hub.example":{}}}"#;
        let f = Path::new("config.json");
        let file = AuthFile::parse(text, f).unwrap();
        let asked = RefCell::new(Vec::new());
        let helper = |name: &str, server: &str| {
            asked.borrow_mut().push(format!("{name} {server}"));
            Ok(match name {
                "own" => Some(Credentials::password("own", "secret")),
                _ => None,
            })
        };
        let own = file.credentials("own.example", f, &helper).unwrap();
        assert_eq!(own, Some(Credentials::password("own", "secret")));
        // The store has nothing for it: auths answers.
        let other = file.credentials("other.example", f, &helper).unwrap();
        assert_eq!(other, Some(Credentials::password("u", "p")));
        let hub = file.credentials("docker.io", f, &helper).unwrap();
        assert_eq!(hub, None);
        assert_eq!(
            *asked.borrow(),
            [
                "own own.example",
                "store other.example",
                "store https://index.docker.io/v1/"
            ]
        );
    }

    fn output(code: i32, stdout: &str) -> std::process::Output {
        use std::os::unix::process::ExitStatusExt;
        std::process::Output {
            status: std::process::ExitStatus::from_raw(code << 8),
            stdout: stdout.as_bytes().to_vec(),
            stderr: b"oops".to_vec(),
        }
    }

    #[test]
    fn helper_answers() {
        let parse = |code, stdout| parse_helper_answer(&output(code, stdout), "asking h");
        let token = parse(0, r#"{"ServerURL":"r","Username":"<token>","Secret":"RT"}"#);
        assert_eq!(
            token.unwrap(),
            Some(Credentials::IdentityToken("RT".into()))
        );
        let user = parse(0, r#"{"ServerURL":"r","Username":"u","Secret":"p"}"#);
        assert_eq!(user.unwrap(), Some(Credentials::password("u", "p")));
        assert_eq!(
            parse(1, "credentials not found in native keychain\n").unwrap(),
            None
        );
        let err = parse(1, "keychain locked").unwrap_err().to_string();
        assert!(err.starts_with("asking h: it failed"), "{err}");
        assert!(err.contains("keychain locked oops"), "{err}");
        let err = parse(0, "not json").unwrap_err().to_string();
        assert!(err.starts_with("asking h: "), "{err}");
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let shown = format!(
            "{:?} {:?} {:#?}",
            Credentials::password("alice", "hunter2"),
            Credentials::IdentityToken("REFRESH-T0K".into()),
            Some(Credentials::password("bob", "pa55")),
        );
        assert!(shown.contains("alice") && shown.contains("bob"), "{shown}");
        for secret in ["hunter2", "REFRESH-T0K", "pa55"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
