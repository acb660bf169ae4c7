//! The crate error, and the rustc-style rendering of errors that point into
//! a Dockerfile: `Dockerfile:3:1`, the line, a caret, the reason.

use crate::span::Span;

/// Renders a diagnostic about `span` of `src` (the text of `file`):
///
/// ```text
/// error: unknown instruction: COPPY
///  --> Dockerfile:2:1
///   |
/// 2 | COPPY hello /
///   | ^^^^^
///   = help: did you mean COPY?
/// ```
pub fn render(file: &str, src: &str, span: Span, message: &str, help: Option<&str>) -> String {
    let (line, col) = span.line_col(src);
    let text = src.lines().nth(line - 1).unwrap_or("");
    let width = line.to_string().len();
    let pad = " ".repeat(width);
    // the caret covers the span on its first line (at least one column)
    let first_line_rest = text.chars().count().saturating_sub(col - 1);
    let span_chars = src
        .get(span.start..span.end.max(span.start))
        .map(|s| s.split('\n').next().unwrap_or("").chars().count())
        .unwrap_or(1);
    let carets = span_chars.clamp(1, first_line_rest.max(1));
    let mut out = format!(
        "error: {message}\n{pad}--> {file}:{line}:{col}\n{pad} |\n{line} | {text}\n{pad} | {}{}\n",
        " ".repeat(col - 1),
        "^".repeat(carets)
    );
    if let Some(help) = help {
        out.push_str(&format!("{pad} = help: {help}\n"));
    }
    out
}

/// Everything that can go wrong, by stage of the pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The command line was wrong (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// A build failed (exit code 1).
    #[error(transparent)]
    Build(#[from] crate::executor::BuildError),
    /// Storing or exporting failed.
    #[error(transparent)]
    Dest(#[from] crate::dest::DestError),
    /// Anything else, with what was being done.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The failure.
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_line_caret_and_help() {
        let src = "FROM scratch\nCOPPY hello /\n";
        let out = render(
            "Dockerfile",
            src,
            Span::new(13, 18),
            "unknown instruction: COPPY",
            Some("did you mean COPY?"),
        );
        assert_eq!(
            out,
            "error: unknown instruction: COPPY\n --> Dockerfile:2:1\n  |\n2 | COPPY hello /\n  | ^^^^^\n  = help: did you mean COPY?\n"
        );
    }
}
