//! The executor's error: where in the Dockerfile a build failed, what was
//! being done, and the typed cause from the stage below (layer writing,
//! the destination, the build context, variable expansion).

use crate::span::Span;

/// A build error. Errors about an instruction carry its span; the cause,
/// when there is one, is kept as a typed source (never flattened into the
/// message, so a chain printer shows it once).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The Dockerfile does not parse.
    #[error(transparent)]
    Parse(#[from] crate::syntax::ParseError),
    /// An instruction failed.
    #[error("{message}")]
    At {
        /// The offending text.
        span: Span,
        /// What was being done, or what is wrong.
        message: String,
        /// A hint, if any.
        help: Option<String>,
        /// What failed below.
        #[source]
        cause: Option<Box<Cause>>,
    },
    /// A failure not tied to one instruction.
    #[error("{message}")]
    Other {
        /// What was being done, or what is wrong.
        message: String,
        /// What failed below.
        #[source]
        cause: Option<Box<Cause>>,
    },
}

/// The failure below the executor that made a step fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Cause {
    /// Writing a layer, or reading an archive into one.
    #[error(transparent)]
    Layer(#[from] crate::layer::LayerError),
    /// A layout, archive or registry.
    #[error(transparent)]
    Dest(#[from] crate::dest::DestError),
    /// The build context.
    #[error(transparent)]
    Context(#[from] crate::context::ContextError),
    /// Variable expansion.
    #[error(transparent)]
    Expand(#[from] crate::expand::ExpandError),
    /// A pattern (`--exclude`, wildcards).
    #[error(transparent)]
    Pattern(#[from] crate::ignore::PatternError),
    /// The filesystem.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl BuildError {
    /// An error about `span`.
    pub fn at(span: Span, message: impl Into<String>) -> Self {
        BuildError::At {
            span,
            message: message.into(),
            help: None,
            cause: None,
        }
    }

    /// An error not tied to one instruction.
    pub fn other(message: impl Into<String>) -> Self {
        BuildError::Other {
            message: message.into(),
            cause: None,
        }
    }

    /// The same error, caused by `cause`.
    pub fn caused(mut self, cause: impl Into<Cause>) -> Self {
        match &mut self {
            BuildError::At { cause: c, .. } | BuildError::Other { cause: c, .. } => {
                *c = Some(Box::new(cause.into()))
            }
            BuildError::Parse(_) => {}
        }
        self
    }

    /// The same error with a hint.
    pub fn with_help(mut self, text: impl Into<String>) -> Self {
        if let BuildError::At { help, .. } = &mut self {
            *help = Some(text.into());
        }
        self
    }

    /// The span and help to show, if the error points into the Dockerfile.
    pub fn location(&self) -> Option<(Span, Option<&str>)> {
        match self {
            BuildError::Parse(e) => Some((e.span, e.help.as_deref())),
            BuildError::At { span, help, .. } => Some((*span, help.as_deref())),
            BuildError::Other { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_is_a_source_not_part_of_the_message() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let e = BuildError::at(Span::new(1, 2), "reading hello").caused(io);
        assert_eq!(e.to_string(), "reading hello");
        let source = std::error::Error::source(&e).map(|s| s.to_string());
        assert_eq!(source.as_deref(), Some("gone"));
        assert_eq!(crate::error::chain(&e), "reading hello: gone");
    }
}
