//! One authenticated connection to one repository of a registry, and the
//! requests push and pull make through it. Every answer is checked against
//! what was asked for (digests, sizes, media types).

use super::super::auth::{credentials, parse_challenge, Challenge, Credentials};
use super::super::error::DestError;
use super::super::layout::{BlobWriter, Layout};
use super::super::options::{RegistryOptions, Timeouts, TIMEOUT_ENV};
use super::checks::manifest_media_type;
use crate::digest::{sha256, Digest};
use crate::events::{Meter, MeterReader};
use crate::oci::{
    Descriptor, MEDIA_TYPE_DOCKER_LIST, MEDIA_TYPE_DOCKER_MANIFEST, MEDIA_TYPE_INDEX,
    MEDIA_TYPE_MANIFEST,
};
use crate::reference::Reference;
use std::io::Read as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use ureq::http::Response;
use ureq::Body;

/// The largest manifest or index read (containers/image allows 4 MiB).
const MAX_MANIFEST: u64 = 8 << 20;
impl Timeouts {
    /// The limit a ureq timeout of this kind comes from.
    fn limit_for(&self, kind: ureq::Timeout) -> Duration {
        match kind {
            ureq::Timeout::Resolve | ureq::Timeout::Connect => self.connect,
            ureq::Timeout::Global | ureq::Timeout::PerCall => self.request,
            _ => self.idle,
        }
    }

    fn agent(&self) -> ureq::Agent {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Never carry Authorization across a redirect (Docker and
            // containers/image drop it off the registry's host too).
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::Never)
            .timeout_resolve(Some(self.connect))
            .timeout_connect(Some(self.connect))
            .timeout_per_read(Some(self.idle))
            .timeout_per_write(Some(self.idle))
            // A registry that trickles its headers a line at a time.
            .timeout_recv_response(Some(self.idle))
            .timeout_per_call(Some(self.request))
            .build();
        ureq::Agent::new_with_config(config)
    }
}

/// A connection to one repository of one registry, authenticated.
pub(super) struct Client {
    agent: ureq::Agent,
    timeouts: Timeouts,
    base: String,
    repo: String,
    /// Sent only to `base`'s origin.
    authorization: Option<String>,
}

/// The URL scheme and host for `registry`: plain HTTP for localhost and
/// 127.0.0.1 or when TLS verification is off, HTTPS otherwise.
pub fn base_url(registry: &str, tls_verify: Option<bool>) -> String {
    let host = registry.rsplit_once(':').map_or(registry, |(h, p)| {
        if p.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            registry
        }
    });
    let local = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    let registry = if registry == "docker.io" {
        "registry-1.docker.io"
    } else {
        registry
    };
    if tls_verify == Some(false) || (local && tls_verify != Some(true)) {
        format!("http://{registry}")
    } else {
        format!("https://{registry}")
    }
}

/// The origin of an absolute `http(s)` URL: scheme, lowercased host, and
/// port (the scheme's default when absent). `None` for anything else.
fn origin(url: &str) -> Option<(String, String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (h, after) = bracketed.split_once(']')?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => default_port,
    };
    Some((scheme, host.to_ascii_lowercase(), port))
}

/// `location` (absolute, or a path on `base`) as an absolute URL.
fn resolve_location(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        location.to_string()
    } else {
        format!("{base}{location}")
    }
}

fn header<'a>(resp: &'a Response<Body>, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// An error for an unexpected answer, with the start of its body.
fn unexpected(what: &str, mut resp: Response<Body>) -> DestError {
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(2048)
        .read_to_string()
        .unwrap_or_default();
    DestError::Registry {
        what: what.to_string(),
        status,
        body: body.trim().to_string(),
    }
}

impl Client {
    /// Connects to the reference's registry and authenticates for `actions`
    /// (`pull` or `pull,push`) on its repository.
    pub(super) fn connect(
        reference: &Reference,
        opts: &RegistryOptions,
        actions: &str,
    ) -> Result<Client, DestError> {
        let timeouts = opts.timeouts.from_env()?;
        let mut client = Client {
            agent: timeouts.agent(),
            timeouts,
            base: base_url(&reference.registry, opts.tls_verify),
            repo: reference.repository.clone(),
            authorization: None,
        };
        let creds = credentials(&reference.registry, opts.auth_file.as_deref())?;
        client.authenticate(creds.as_ref(), actions)?;
        Ok(client)
    }

    /// Wraps a ureq error with what was being done; a timeout also says
    /// which limit ran out.
    fn http<'a>(&'a self, what: &'a str) -> impl FnOnce(ureq::Error) -> DestError + 'a {
        move |e| {
            let what = match &e {
                ureq::Error::Timeout(kind) => format!(
                    "{what}: no answer within {:?} (see {TIMEOUT_ENV})",
                    self.timeouts.limit_for(*kind)
                ),
                _ => what.to_string(),
            };
            DestError::Http {
                what,
                source: Box::new(e),
            }
        }
    }

    /// `GET /v2/`; on 401, answers the challenge (Basic or Bearer token).
    fn authenticate(
        &mut self,
        creds: Option<&Credentials>,
        actions: &str,
    ) -> Result<(), DestError> {
        let url = format!("{}/v2/", self.base);
        let what = format!("checking registry API at {url}");
        let resp = self.agent.get(&url).call().map_err(self.http(&what))?;
        match resp.status().as_u16() {
            200..=299 => return Ok(()),
            401 => {}
            _ => return Err(unexpected(&what, resp)),
        }
        let challenge = header(&resp, "www-authenticate")
            .and_then(parse_challenge)
            .ok_or_else(|| {
                DestError::invalid(what.clone(), "401 without a WWW-Authenticate challenge")
            })?;
        let authorization = match challenge.scheme.as_str() {
            "basic" => self.basic(creds, &what)?,
            "bearer" => format!("Bearer {}", self.token(&challenge, creds, actions, &what)?),
            other => {
                return Err(DestError::invalid(
                    what,
                    format!("unsupported auth scheme {other}"),
                ))
            }
        };
        self.authorization = Some(authorization);
        Ok(())
    }

    /// The Basic header for a registry that asks for one.
    fn basic(&self, creds: Option<&Credentials>, what: &str) -> Result<String, DestError> {
        let creds = creds.ok_or_else(|| {
            DestError::invalid(
                what,
                format!(
                    "{} needs credentials and none were found in the auth files",
                    self.base
                ),
            )
        })?;
        creds.basic_header().ok_or_else(|| {
            DestError::invalid(
                what,
                format!(
                    "{} wants a password, and its credentials are an identity token",
                    self.base
                ),
            )
        })
    }

    /// A token from the challenge's realm for `actions` on the repository:
    /// with an identity token, the OAuth2 refresh-token grant (a POST, as
    /// Docker does); else a GET, with Basic credentials when there are any.
    fn token(
        &self,
        challenge: &Challenge,
        creds: Option<&Credentials>,
        actions: &str,
        what: &str,
    ) -> Result<String, DestError> {
        let realm = challenge
            .params
            .get("realm")
            .ok_or_else(|| DestError::invalid(what, "Bearer challenge without a realm"))?;
        let scope = format!("repository:{}:{}", self.repo, actions);
        let service = challenge.params.get("service").map_or("", String::as_str);
        let what = format!("getting a token from {realm} for {scope}");
        let resp = match creds {
            Some(Credentials::IdentityToken(refresh)) => {
                let form = [
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.as_str()),
                    ("service", service),
                    ("scope", scope.as_str()),
                    ("client_id", "minibuild"),
                ];
                self.agent.post(realm).send_form(form)
            }
            _ => {
                let mut req = self.agent.get(realm).query("scope", &scope);
                if !service.is_empty() {
                    req = req.query("service", service);
                }
                if let Some(basic) = creds.and_then(Credentials::basic_header) {
                    req = req.header("Authorization", basic);
                }
                req.call()
            }
        };
        let mut resp = resp.map_err(self.http(&what))?;
        if !resp.status().is_success() {
            return Err(unexpected(&what, resp));
        }
        #[derive(serde::Deserialize)]
        struct Token {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
        }
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(self.http(&what))?;
        let t: Token = serde_json::from_slice(&bytes).map_err(DestError::json(what.clone()))?;
        t.token
            .or(t.access_token)
            .ok_or_else(|| DestError::invalid(what, "the answer has no token"))
    }

    fn url(&self, tail: &str) -> String {
        format!("{}/v2/{}/{}", self.base, self.repo, tail)
    }

    /// Adds the Authorization header when `url` is on the registry's own
    /// origin (scheme, host and port); another origin, such as an upload
    /// `Location` on a storage host, never sees the user's credentials.
    fn auth<B>(&self, url: &str, req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.authorization {
            Some(a) if origin(url).is_some() && origin(url) == origin(&self.base) => {
                req.header("Authorization", a)
            }
            _ => req,
        }
    }

    /// True when the registry has the blob.
    pub(super) fn has_blob(&self, digest: &Digest) -> Result<bool, DestError> {
        let url = self.url(&format!("blobs/{digest}"));
        let what = format!("checking for blob at {url}");
        let resp = self
            .auth(&url, self.agent.head(&url))
            .call()
            .map_err(self.http(&what))?;
        match resp.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(unexpected(&what, resp)),
        }
    }

    /// True when the registry answers 200 for the manifest `digest` (an
    /// index's child pushed before): anything else means push it.
    pub(super) fn has_manifest(&self, digest: &Digest) -> Result<bool, DestError> {
        self.has_tag(&digest.to_string())
    }

    /// The referrers of `subject` through the OCI 1.1 referrers API (an
    /// index's bytes), or `None` when the registry has no such API (a 404,
    /// as the CNCF distribution 2.8 answers).
    pub(super) fn referrers(&self, subject: &Digest) -> Result<Option<Vec<u8>>, DestError> {
        let url = self.url(&format!("referrers/{subject}"));
        let what = format!("listing referrers at {url}");
        let mut resp = self
            .auth(&url, self.agent.get(&url))
            .header("Accept", crate::oci::MEDIA_TYPE_INDEX)
            .call()
            .map_err(self.http(&what))?;
        match resp.status().as_u16() {
            200 => resp
                .body_mut()
                .with_config()
                .limit(MAX_MANIFEST)
                .read_to_vec()
                .map(Some)
                .map_err(self.http(&what)),
            404 => Ok(None),
            _ => Err(unexpected(&what, resp)),
        }
    }

    /// Whether the repository has a manifest under `tag` (or a digest).
    pub(super) fn has_tag(&self, tag: &str) -> Result<bool, DestError> {
        let url = self.url(&format!("manifests/{tag}"));
        let what = format!("checking for a manifest at {url}");
        let accept = manifest_accept();
        let resp = self
            .auth(&url, self.agent.head(&url))
            .header("Accept", &accept)
            .call()
            .map_err(self.http(&what))?;
        Ok(resp.status().as_u16() == 200)
    }

    /// Starts an upload session; the absolute URL to PUT the blob to.
    fn start_upload(&self, desc: &Descriptor) -> Result<String, DestError> {
        let url = self.url("blobs/uploads/");
        let what = format!("starting an upload of {} at {url}", desc.digest);
        let resp = self
            .auth(&url, self.agent.post(&url))
            .send_empty()
            .map_err(self.http(&what))?;
        if resp.status().as_u16() != 202 {
            return Err(unexpected(&what, resp));
        }
        let location = header(&resp, "location")
            .ok_or_else(|| DestError::invalid(what.clone(), "202 without a Location"))?;
        let mut put_url = resolve_location(&self.base, location);
        put_url.push(if put_url.contains('?') { '&' } else { '?' });
        put_url.push_str("digest=");
        put_url.push_str(desc.digest.algorithm().name());
        put_url.push_str("%3A");
        put_url.push_str(desc.digest.hex());
        Ok(put_url)
    }

    /// Asks the registry to mount `desc` from each repository of
    /// `candidates` on this registry (the push's own one skipped) into this
    /// one; true once one did (201), false when none could.
    pub(super) fn mount_blob(
        &self,
        desc: &Descriptor,
        registry: &str,
        candidates: &[Reference],
    ) -> Result<bool, DestError> {
        let from = candidates
            .iter()
            .filter(|r| r.registry == registry && r.repository != self.repo);
        for source in from {
            let url = self.url("blobs/uploads/");
            let what = format!(
                "mounting {} from {} at {url}",
                desc.digest, source.repository
            );
            let resp = self
                .auth(&url, self.agent.post(&url))
                .query("mount", desc.digest.to_string())
                .query("from", &source.repository)
                .send_empty()
                .map_err(self.http(&what))?;
            // 202: the registry opened an upload instead (left to expire)
            if resp.status().as_u16() == 201 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Uploads one blob from `src`, streamed: POST a session, PUT the
    /// bytes, counted on `meter` as they go. Returns how many bytes were sent.
    pub(super) fn upload_blob(
        &self,
        src: &Layout,
        desc: &Descriptor,
        meter: &Meter,
    ) -> Result<u64, DestError> {
        let put_url = self.start_upload(desc)?;
        let what = format!(
            "uploading blob {} to {}",
            desc.digest,
            self.url("blobs/uploads/")
        );
        // the blob's reader checks its digest at its end: a blob that
        // changed in the store fails the upload before the registry has it
        let blob = src.open_blob(&desc.digest)?;
        let size = blob.len();
        let mut body = MeterReader { inner: blob, meter };
        let resp = self
            .auth(&put_url, self.agent.put(&put_url))
            .header("Content-Type", "application/octet-stream")
            // set here, ureq sends the metered reader with this length
            // instead of chunked
            .header("Content-Length", size.to_string())
            .send(ureq::SendBody::from_reader(&mut body))
            .map_err(self.http(&what))?;
        if resp.status().as_u16() != 201 {
            return Err(unexpected(&what, resp));
        }
        check_digest(&what, &resp, &desc.digest)?;
        Ok(size)
    }

    /// PUTs manifest bytes under `reference` (a tag or a digest).
    pub(super) fn put_manifest(
        &self,
        bytes: &[u8],
        media_type: &str,
        reference: &ManifestRef,
    ) -> Result<Digest, DestError> {
        let url = self.url(&format!("manifests/{reference}"));
        let what = format!("putting manifest at {url}");
        let resp = self
            .auth(&url, self.agent.put(&url))
            .header("Content-Type", media_type)
            .send(bytes)
            .map_err(self.http(&what))?;
        if resp.status().as_u16() != 201 {
            return Err(unexpected(&what, resp));
        }
        let digest = sha256(bytes);
        check_digest(&what, &resp, &digest)?;
        Ok(digest)
    }

    /// GETs a manifest or index: its bytes, media type and digest. When an
    /// index entry (`expected`) named it, its size must match too.
    pub(super) fn get_manifest(
        &self,
        reference: &ManifestRef,
        expected: Option<&Descriptor>,
    ) -> Result<(Vec<u8>, String, Digest), DestError> {
        let url = self.url(&format!("manifests/{reference}"));
        let what = format!("getting manifest {url}");
        let accept = manifest_accept();
        let mut resp = self
            .auth(&url, self.agent.get(&url))
            .header("Accept", &accept)
            .call()
            .map_err(self.http(&what))?;
        if resp.status().as_u16() != 200 {
            return Err(unexpected(&what, resp));
        }
        let content_type = header(&resp, "content-type")
            .map(|c| c.split(';').next().unwrap_or(c).trim().to_string());
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(MAX_MANIFEST)
            .read_to_vec()
            .map_err(self.http(&what))?;
        let digest = sha256(&bytes);
        check_digest(&what, &resp, &digest)?;
        if let ManifestRef::Digest(wanted) = reference {
            if *wanted != digest {
                return Err(DestError::DigestMismatch {
                    what,
                    expected: wanted.clone(),
                    actual: digest,
                });
            }
        }
        if let Some(d) = expected.filter(|d| d.size != bytes.len() as u64) {
            return Err(DestError::invalid(
                what,
                format!("{} bytes, the index says {}", bytes.len(), d.size),
            ));
        }
        let media_type = manifest_media_type(&bytes, content_type, &what)?;
        Ok((bytes, media_type, digest))
    }

    /// GETs the blob `desc` into `into`: at most its declared size is read,
    /// and it must hash to its digest; the bytes are counted on `meter`.
    pub(super) fn get_blob(
        &self,
        into: &Layout,
        desc: &Descriptor,
        meter: &Meter,
    ) -> Result<(), DestError> {
        let writer = self.get_blob_uncommitted(into, desc, meter, None)?;
        commit_fetched(writer, desc, &self.url(&format!("blobs/{}", desc.digest)))
    }

    /// Fetches the blob `desc` into a new blob of `into`, its size checked
    /// but not yet committed (nor its digest checked): [`commit_fetched`]
    /// does both. Stops with an error as soon as `cancel` is set.
    pub(super) fn get_blob_uncommitted(
        &self,
        into: &Layout,
        desc: &Descriptor,
        meter: &Meter,
        cancel: Option<&AtomicBool>,
    ) -> Result<BlobWriter, DestError> {
        let url = self.url(&format!("blobs/{}", desc.digest));
        let what = format!("getting blob {url}");
        let resp = self
            .auth(&url, self.agent.get(&url))
            .call()
            .map_err(self.http(&what))?;
        if resp.status().as_u16() != 200 {
            return Err(unexpected(&what, resp));
        }
        check_digest(&what, &resp, &desc.digest)?;
        // One byte more than declared, to tell "too long" from "just right".
        let body = Cancellable {
            inner: resp.into_body().into_reader().take(desc.size + 1),
            cancel,
        };
        let mut reader = MeterReader { inner: body, meter };
        let mut writer = into.new_blob_for(desc.size)?;
        let got =
            crate::digest::copy(&mut reader, &mut writer).map_err(DestError::io(what.clone()))?;
        if got != desc.size {
            let reason = if got > desc.size {
                format!("more than the {} bytes the manifest declares", desc.size)
            } else {
                format!("{got} bytes, the manifest declares {}", desc.size)
            };
            return Err(DestError::invalid(what, reason));
        }
        Ok(writer)
    }
}

/// Commits a blob [`Client::get_blob_uncommitted`] fetched from `url`,
/// checking its digest.
pub(super) fn commit_fetched(
    writer: BlobWriter,
    desc: &Descriptor,
    url: &str,
) -> Result<(), DestError> {
    writer.commit(&desc.digest).map_err(|e| match e {
        DestError::DigestMismatch {
            expected, actual, ..
        } => DestError::DigestMismatch {
            what: format!("getting blob {url}"),
            expected,
            actual,
        },
        e => e,
    })
}

/// A reader that fails once `cancel` is set (a fetch nobody needs any
/// more stops at its next read).
struct Cancellable<'c, R> {
    inner: R,
    cancel: Option<&'c AtomicBool>,
}

impl<R: std::io::Read> std::io::Read for Cancellable<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(std::io::Error::other("the fetch was cancelled"));
        }
        self.inner.read(buf)
    }
}

/// Checks the registry's `Docker-Content-Digest`, when it sends one.
fn check_digest(what: &str, resp: &Response<Body>, expected: &Digest) -> Result<(), DestError> {
    let Some(header) = header(resp, "docker-content-digest") else {
        return Ok(());
    };
    let what = format!("{what} (Docker-Content-Digest)");
    let actual: Digest = header.parse().map_err(|source| DestError::BadDigest {
        what: what.clone(),
        source,
    })?;
    if actual != *expected {
        return Err(DestError::DigestMismatch {
            what,
            expected: expected.clone(),
            actual,
        });
    }
    Ok(())
}

/// What a manifest is asked for by in `/v2/<repo>/manifests/<this>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ManifestRef {
    /// A tag: whatever the registry has under it.
    Tag(String),
    /// A digest: the answer must hash to it.
    Digest(Digest),
}

impl ManifestRef {
    /// The digest when `reference` names one, else its tag (`latest` when
    /// it names neither).
    pub(super) fn of(reference: &Reference) -> ManifestRef {
        match (&reference.digest, &reference.tag) {
            (Some(d), _) => ManifestRef::Digest(d.clone()),
            (None, Some(t)) => ManifestRef::Tag(t.clone()),
            (None, None) => ManifestRef::Tag("latest".to_string()),
        }
    }
}

impl std::fmt::Display for ManifestRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ManifestRef::Tag(t) => f.write_str(t),
            ManifestRef::Digest(d) => d.fmt(f),
        }
    }
}

/// The `Accept` header of manifest requests: every manifest and index type.
fn manifest_accept() -> String {
    [
        MEDIA_TYPE_MANIFEST,
        MEDIA_TYPE_INDEX,
        MEDIA_TYPE_DOCKER_MANIFEST,
        MEDIA_TYPE_DOCKER_LIST,
    ]
    .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_by_host() {
        assert_eq!(base_url("127.0.0.1:5000", None), "http://127.0.0.1:5000");
        assert_eq!(base_url("localhost", None), "http://localhost");
        assert_eq!(base_url("quay.io", None), "https://quay.io");
        assert_eq!(base_url("quay.io", Some(false)), "http://quay.io");
        assert_eq!(base_url("docker.io", None), "https://registry-1.docker.io");
    }

    #[test]
    fn origins() {
        let o = |u| origin(u);
        let of = |s: &str, h: &str, p| Some((s.to_string(), h.to_string(), p));
        assert_eq!(
            o("http://127.0.0.1:5000/v2/"),
            of("http", "127.0.0.1", 5000)
        );
        assert_eq!(o("https://Quay.io"), of("https", "quay.io", 443));
        assert_eq!(o("http://u:p@h?x"), of("http", "h", 80));
        assert_eq!(o("http://[::1]:8/x"), of("http", "::1", 8));
        assert_eq!(o("http://[::1]/x"), of("http", "::1", 80));
        assert_eq!(o("ftp://h/"), None);
        assert_eq!(o("/v2/x"), None);
        assert_eq!(o("http://h:/x"), None);
        // Same host, another port or scheme: another origin.
        assert_ne!(o("http://h:5000"), o("http://h:5001"));
        assert_ne!(o("http://h"), o("https://h"));
        assert_eq!(o("http://h"), o("http://h:80/v2/"));
    }

    #[test]
    fn timeouts_name_the_limit_that_ran_out() {
        let t = Timeouts::default();
        assert_eq!(t.limit_for(ureq::Timeout::Connect), t.connect);
        assert_eq!(t.limit_for(ureq::Timeout::RecvResponse), t.idle);
        assert_eq!(t.limit_for(ureq::Timeout::PerCall), t.request);
    }
}
