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
    // the caret covers the span on its first line (at least one column),
    // measured on the line as shown (control characters escaped)
    let before: String = text.chars().take(col - 1).collect();
    let first_line_rest = text.chars().count().saturating_sub(col - 1);
    let span_chars = src
        .get(span.start..span.end.max(span.start))
        .map(|s| s.split('\n').next().unwrap_or(""))
        .map(|s| s.chars().take(first_line_rest).collect::<String>())
        .unwrap_or_default();
    let carets = escape_controls(&span_chars).chars().count().max(1);
    let mut out = format!(
        "error: {}\n{pad}--> {file}:{line}:{col}\n{pad} |\n{line} | {}\n{pad} | {}{}\n",
        escape_controls(message),
        escape_controls(text),
        " ".repeat(escape_controls(&before).chars().count()),
        "^".repeat(carets)
    );
    if let Some(help) = help {
        out.push_str(&format!("{pad} = help: {}\n", escape_controls(help)));
    }
    out
}

const BOLD: &str = "\u{1b}[1m";
const RED: &str = "\u{1b}[1;31m";
const YELLOW: &str = "\u{1b}[1;33m";
const BLUE: &str = "\u{1b}[1;34m";
const RESET: &str = "\u{1b}[0m";

/// Colours rendered diagnostics (from [`render`] or `error: ...` lines) as
/// rustc does on a terminal: `error` red and `warning` yellow with the
/// message bold, the gutter (`-->`, line numbers, `|`, `=`) blue, the
/// carets red. Only the renderer's own structure is coloured; the text it
/// quotes was escaped when rendered.
pub fn paint(rendered: &str) -> String {
    let mut out = String::with_capacity(rendered.len() + 64);
    for line in rendered.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        out.push_str(&paint_line(body));
        out.push_str(nl);
    }
    out
}

fn paint_line(line: &str) -> String {
    for (label, colour) in [("error", RED), ("warning", YELLOW)] {
        if let Some(msg) = line.strip_prefix(label).and_then(|r| r.strip_prefix(": ")) {
            return format!("{colour}{label}{RESET}{BOLD}: {msg}{RESET}");
        }
    }
    let indent = line.len() - line.trim_start().len();
    let (pad, rest) = line.split_at(indent);
    if let Some(loc) = rest.strip_prefix("--> ") {
        return format!("{pad}{BLUE}-->{RESET} {loc}");
    }
    if let Some(help) = rest.strip_prefix("= help: ") {
        return format!("{pad}{BLUE}={RESET} {BOLD}help{RESET}: {help}");
    }
    // a gutter: `2 | text`, `  | ^^^`
    let Some(bar) = line.find('|') else {
        return line.to_string();
    };
    let (gutter, text) = line.split_at(bar);
    if !gutter.chars().all(|c| c.is_ascii_digit() || c == ' ') {
        return line.to_string();
    }
    let text = &text[1..];
    let carets = !text.trim().is_empty() && text.trim().chars().all(|c| c == '^');
    let text = if carets && gutter.trim().is_empty() {
        let lead = text.len() - text.trim_start().len();
        format!("{}{RED}{}{RESET}", &text[..lead], &text[lead..])
    } else {
        text.to_string()
    };
    format!("{BLUE}{gutter}|{RESET}{text}")
}

/// Text from a Dockerfile as it may be shown on a terminal: control
/// characters (an escape sequence, a carriage return, a NUL) are written as
/// `\u{1b}`; tabs and newlines stay.
pub fn escape_controls(text: &str) -> String {
    // C0 controls and DEL are single bytes; C1 controls start with 0xC2
    let maybe = |b: &u8| (*b < 0x20 && *b != b'\t' && *b != b'\n') || *b == 0x7f || *b == 0xc2;
    if !text.as_bytes().iter().any(maybe) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\t' && c != '\n' {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// Everything that can go wrong, by stage of the pipeline: what the
/// library returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request was wrong (the command line: exit code 2).
    #[error("{0}")]
    Usage(String),
    /// A build failed; its span points into the Dockerfile when it can.
    #[error(transparent)]
    Build(#[from] crate::executor::BuildError),
    /// Storing, exporting or reading an image failed.
    #[error(transparent)]
    Dest(#[from] crate::dest::DestError),
    /// Anything else, with what was being done.
    #[error("{what}")]
    Io {
        /// What was being done.
        what: String,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// An I/O failure while doing `what`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }

    /// The exit code for this error: 2 for usage errors, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            _ => 1,
        }
    }

    /// Whether a closed pipe (the reader of the output went away) is what
    /// failed: then the program ends quietly.
    pub fn is_broken_pipe(&self) -> bool {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(e) = cur {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return true;
                }
            }
            cur = e.source();
        }
        false
    }

    /// The error as the user sees it: rustc-style with the Dockerfile's
    /// line when it points into `src` (the text of `file`), else one
    /// `error: ...` line with its causes.
    pub fn render(&self, file: &str, src: &str) -> String {
        if let Error::Build(b) = self {
            if let Some((span, help)) = b.location() {
                return render(file, src, span, &chain(b), help);
            }
        }
        format!("error: {}\n", chain(self))
    }
}

/// An error and its causes, `what: why: why`. A cause whose text the error
/// already ends with (a message that repeats its source) is not repeated.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let text = c.to_string();
        if !text.is_empty() && !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_caret_follows() {
        let src = "FROM scratch\nLABEL \u{1b}[2J=x\u{7}\n";
        let out = render("Dockerfile", src, Span::new(19, 26), "bad \u{1b}[2J", None);
        assert_eq!(
            out,
            "error: bad \\u{1b}[2J\n --> Dockerfile:2:7\n  |\n2 | LABEL \\u{1b}[2J=x\\u{7}\n  |       ^^^^^^^^^^^^^^^^\n"
        );
        assert!(!out.contains('\u{1b}'));
    }

    #[test]
    fn chains_print_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("{what}: {source}")]
        struct Repeats {
            what: String,
            source: std::io::Error,
        }
        let io = || std::io::Error::new(std::io::ErrorKind::BrokenPipe, "pipe closed");
        let e = Error::Io {
            what: "writing the listing".into(),
            source: io(),
        };
        assert_eq!(chain(&e), "writing the listing: pipe closed");
        assert!(e.is_broken_pipe());
        let r = Repeats {
            what: "reading x".into(),
            source: io(),
        };
        assert_eq!(chain(&r), "reading x: pipe closed");
        assert_eq!(Error::Usage("bad".into()).exit_code(), 2);
    }

    #[test]
    fn paint_colours_the_structure_only() {
        let src = "FROM scratch\nCOPPY hello | x /\n";
        let plain = render(
            "Dockerfile",
            src,
            Span::new(13, 18),
            "unknown instruction: COPPY",
            Some("did you mean COPY?"),
        );
        let painted = paint(&plain);
        assert!(painted.starts_with("\u{1b}[1;31merror\u{1b}[0m\u{1b}[1m: unknown"));
        assert!(painted.contains("\u{1b}[1;34m-->\u{1b}[0m Dockerfile:2:1"));
        assert!(painted.contains("\u{1b}[1;34m2 |\u{1b}[0m COPPY hello | x /\n"));
        assert!(painted.contains("\u{1b}[1;31m^^^^^\u{1b}[0m"));
        assert!(painted.contains("\u{1b}[1mhelp\u{1b}[0m: did you mean COPY?"));
        // without the escapes, the same text
        let stripped = painted
            .replace("\u{1b}[1;31m", "")
            .replace("\u{1b}[1;34m", "")
            .replace("\u{1b}[1m", "")
            .replace("\u{1b}[0m", "");
        assert_eq!(stripped, plain);
        assert_eq!(
            paint("warning: w\n"),
            "\u{1b}[1;33mwarning\u{1b}[0m\u{1b}[1m: w\u{1b}[0m\n"
        );
    }

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
