//! How to talk to registries: TLS, credentials, the platform to pick, and
//! timeouts. Shared by registry pushes and pulls and by fetching base images.

use super::error::DestError;
use crate::oci::Platform;
use std::path::PathBuf;
use std::time::Duration;

/// How to talk to registries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryOptions {
    /// `Some(false)`: plain HTTP; `Some(true)`: HTTPS even for localhost;
    /// `None`: plain HTTP for localhost/127.0.0.1 only.
    pub tls_verify: Option<bool>,
    /// An auth file to search before the usual ones.
    pub auth_file: Option<PathBuf>,
    /// The platform picked from an index (pulls, archives that hold one
    /// image); `None`: the host's.
    pub platform: Option<Platform>,
    /// How long to wait for a registry.
    pub timeouts: Timeouts,
    /// Where blob transfers and their progress are reported.
    pub events: crate::events::Events,
    /// Repositories that may hold the blobs a push needs (a build cache
    /// pulled or pushed, another output): a blob the target lacks is
    /// mounted from one on the same registry (`?mount=&from=`) before it
    /// is uploaded.
    pub mount_from: Vec<crate::reference::Reference>,
}

/// The name these options had when only pushes used them.
pub type PushOptions = RegistryOptions;

impl RegistryOptions {
    /// The platform to pick from an index.
    pub fn platform(&self) -> Platform {
        self.platform.clone().unwrap_or_else(Platform::host)
    }
}

/// The environment variable that overrides every [`Timeouts`] limit, in
/// seconds (for slow links, and for tests).
pub const TIMEOUT_ENV: &str = "MINIBUILD_REGISTRY_TIMEOUT";

/// How long to wait for a registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Resolving the host and connecting to it (30 s).
    pub connect: Duration,
    /// Without progress: between two reads or writes of a connection, and
    /// for the whole of an answer's headers (60 s).
    pub idle: Duration,
    /// One request, bodies included (1 h: a large layer on a slow link).
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(30),
            idle: Duration::from_secs(60),
            request: Duration::from_secs(3600),
        }
    }
}

impl Timeouts {
    /// These limits, or all of them set to `$MINIBUILD_REGISTRY_TIMEOUT`
    /// seconds when that is set.
    pub fn from_env(self) -> Result<Timeouts, DestError> {
        let Some(raw) = std::env::var_os(TIMEOUT_ENV) else {
            return Ok(self);
        };
        let raw = raw.to_string_lossy();
        let secs = raw
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0)
            .ok_or_else(|| {
                DestError::invalid(
                    format!("reading {TIMEOUT_ENV}={raw:?}"),
                    "expected a positive number of seconds",
                )
            })?;
        let all = Duration::from_secs_f64(secs);
        Ok(Timeouts {
            connect: all,
            idle: all,
            request: all,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_from_the_environment_parse() {
        // The variable is not set in unit tests; the defaults stand.
        if std::env::var_os(TIMEOUT_ENV).is_none() {
            let t = Timeouts::default().from_env().unwrap();
            assert_eq!(t, Timeouts::default());
            assert_eq!(t.connect, Duration::from_secs(30));
            assert_eq!(t.idle, Duration::from_secs(60));
        }
    }
}
