//! What can go wrong in `dest`: one error for every place images live
//! (layouts, archives, registries), so that none of them imports another
//! for it.

use crate::digest::{Digest, DigestError};
use crate::reference::ReferenceError;
use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while storing, exporting or fetching images.
/// Each message says what was being done and on which path, digest or URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DestError {
    /// A filesystem operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// JSON could not be read or written.
    #[error("{what}: {source}")]
    Json {
        /// What was being done.
        what: String,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A digest read from somewhere (an archive, a registry's answer, a
    /// file name) is not of the form `sha256:<64 lowercase hex>`.
    #[error("{what}")]
    BadDigest {
        /// What was being read.
        what: String,
        /// What is wrong with the digest.
        #[source]
        source: DigestError,
    },
    /// Content did not hash to the digest it was stored or announced under.
    #[error("{what}: content has digest {actual}, expected {expected}")]
    DigestMismatch {
        /// What was being checked.
        what: String,
        /// The digest the content should have.
        expected: Digest,
        /// The digest it has.
        actual: Digest,
    },
    /// A directory is not an OCI image layout.
    #[error("opening OCI layout {}: {reason}", path.display())]
    NotALayout {
        /// The directory.
        path: PathBuf,
        /// Why it is not one.
        reason: String,
    },
    /// No image of that name is in the layout.
    #[error("no image named {name:?} in {}", layout.display())]
    NotFound {
        /// The name looked for.
        name: String,
        /// The layout searched.
        layout: PathBuf,
    },
    /// Input (a reference, destination, manifest...) is malformed or unsupported.
    #[error("{what}: {reason}")]
    Invalid {
        /// What was being parsed or checked.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An HTTP request could not be made or answered.
    #[error("{what}: {source}")]
    Http {
        /// The request, with its URL.
        what: String,
        /// The underlying error.
        #[source]
        source: Box<ureq::Error>,
    },
    /// A string is not an image reference.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// A registry answered with an unexpected status.
    #[error("{what}: registry answered {status}: {body}")]
    Registry {
        /// The request, with its URL.
        what: String,
        /// The HTTP status.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
}

impl DestError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> DestError {
        let what = what.into();
        move |source| DestError::Io { what, source }
    }

    pub(crate) fn json(what: impl Into<String>) -> impl FnOnce(serde_json::Error) -> DestError {
        let what = what.into();
        move |source| DestError::Json { what, source }
    }

    pub(crate) fn invalid(what: impl Into<String>, reason: impl Into<String>) -> DestError {
        DestError::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }
}
