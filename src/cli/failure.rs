//! A failure of the command and the exit code it gives.

use minibuild::dest;

/// A failure: its text (rendered, uncoloured) and exit code.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) text: String,
}

impl Failure {
    /// A wrong request (exit 2).
    pub(crate) fn usage(text: impl Into<String>) -> Self {
        Failure {
            code: 2,
            text: format!("error: {}\n", text.into()),
        }
    }

    /// Exit 1, the reason already printed (`verify`'s report).
    pub(crate) fn build_quiet() -> Self {
        Failure {
            code: 1,
            text: String::new(),
        }
    }

    /// A failed operation (exit 1).
    pub(crate) fn build(text: impl Into<String>) -> Self {
        Failure {
            code: 1,
            text: format!("error: {}\n", text.into()),
        }
    }
}

impl From<minibuild::Error> for Failure {
    /// The error with its causes; a closed stdout (the reader went away,
    /// as `minibuild images | head -1`) ends quietly.
    fn from(e: minibuild::Error) -> Self {
        if e.is_broken_pipe() {
            return Failure {
                code: 0,
                text: String::new(),
            };
        }
        Failure {
            code: e.exit_code(),
            text: e.render("", ""),
        }
    }
}

impl From<dest::DestError> for Failure {
    fn from(e: dest::DestError) -> Self {
        minibuild::Error::from(e).into()
    }
}

impl From<std::io::Error> for Failure {
    /// Writing a result to stdout failed (a closed pipe ends quietly).
    fn from(e: std::io::Error) -> Self {
        minibuild::Error::Io {
            what: "writing the result".to_string(),
            source: e,
        }
        .into()
    }
}
