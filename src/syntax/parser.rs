//! From source text to instructions, as BuildKit's parser reads them.
//!
//! The grammar does the reading in layers (see `grammar/dockerfile.pest`):
//! directives first, then one instruction at a time (continuations joined
//! into a [`Logical`] line), then that line's keyword, flags and arguments.
//! Heredoc bodies follow their instruction line and are read here, since
//! their terminator is only known once the line is read.

use pest::iterators::{Pair, Pairs};
use pest::Parser;

use super::ast::{Directives, Dockerfile, Flag, Heredoc};
use super::grammar::{DockerfileGrammar, Rule};
use super::line::Logical;
use super::typed::{self, Raw};
use crate::span::{Span, Spanned};

/// A Dockerfile that could not be read: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// The offending text.
    pub span: Span,
    /// A short reason.
    pub message: String,
    /// A suggestion, e.g. `did you mean COPY?`.
    pub help: Option<String>,
}

impl ParseError {
    /// An error at `span` without help.
    pub(crate) fn new(span: Span, message: impl Into<String>) -> Self {
        ParseError {
            span,
            message: message.into(),
            help: None,
        }
    }
}

/// Parses a whole Dockerfile into typed instructions.
pub fn parse(src: &str) -> Result<Dockerfile, ParseError> {
    let directives = read_directives(src)?;
    let escape = directives.escape;
    let mut pos = if src.starts_with('\u{feff}') { 3 } else { 0 };
    let mut instructions = Vec::new();
    while pos < src.len() {
        let Some((logical, span, next)) = next_logical(src, pos, escape)? else {
            break;
        };
        pos = next;
        let mut raw = read_line(&logical, 0, logical.text.len(), escape, false)?;
        raw.span = span;
        if raw.can_contain_heredoc() && logical.text.contains("<<") {
            for marker in heredoc_markers(&logical)? {
                let (heredoc, body_end, next) = read_heredoc(src, pos, &marker)?;
                raw.heredocs.push(heredoc);
                raw.span.end = body_end;
                pos = next;
            }
        }
        instructions.push(typed::instruction(raw)?);
    }
    if instructions.is_empty() {
        return Err(ParseError::new(
            Span::new(src.len(), src.len()),
            "file with no instructions",
        ));
    }
    Ok(Dockerfile {
        directives,
        instructions,
    })
}

/// Runs `rule` over `text`; grammar failures become errors at `base`.
fn run(rule: Rule, text: &str, base: usize) -> Result<Pairs<'_, Rule>, ParseError> {
    DockerfileGrammar::parse(rule, text).map_err(|e| {
        let at = match e.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((p, _)) => p,
        };
        ParseError::new(
            Span::new(base + at, base + at),
            format!("reading the Dockerfile: {}", e.variant.message()),
        )
    })
}

/// The first pair of a successful parse (the top rule's).
fn top(mut pairs: Pairs<'_, Rule>) -> Option<Pair<'_, Rule>> {
    pairs.next()
}

fn read_directives(src: &str) -> Result<Directives, ParseError> {
    let mut directives = Directives::default();
    let mut seen: Vec<String> = Vec::new();
    let Some(all) = top(run(Rule::directives, src, 0)?) else {
        return Ok(directives);
    };
    for directive in all.into_inner().filter(|p| p.as_rule() == Rule::directive) {
        let mut key = String::new();
        let mut value: Option<Pair<'_, Rule>> = None;
        for part in directive.into_inner() {
            match part.as_rule() {
                Rule::directive_key => key = part.as_str().to_ascii_lowercase(),
                Rule::directive_value => value = Some(part),
                _ => {}
            }
        }
        let Some(value) = value else { continue };
        let span = Span::new(value.as_span().start(), value.as_span().end());
        if seen.contains(&key) {
            return Err(ParseError::new(
                span,
                format!("only one {key} parser directive can be used"),
            ));
        }
        seen.push(key.clone());
        let v = value.as_str();
        match key.as_str() {
            "escape" => {
                directives.escape = match v {
                    "\\" => '\\',
                    "`" => '`',
                    _ => {
                        return Err(ParseError::new(
                            span,
                            format!("invalid escape token '{v}' does not match ` or \\"),
                        ))
                    }
                }
            }
            "syntax" => directives.syntax = Some(v.to_string()),
            _ => directives.check = Some(v.to_string()),
        }
    }
    Ok(directives)
}

/// Reads the next instruction from `pos` on: its joined line, its span, and
/// where reading goes on. `None` when only blank lines and comments remain.
fn next_logical(
    src: &str,
    pos: usize,
    escape: char,
) -> Result<Option<(Logical, Span, usize)>, ParseError> {
    let rule = if escape == '`' {
        Rule::chunk_backtick
    } else {
        Rule::chunk_backslash
    };
    let rest = &src[pos..];
    let Some(chunk) = top(run(rule, rest, pos)?) else {
        return Ok(None);
    };
    let Some(instr) = chunk
        .into_inner()
        .find(|p| p.as_rule() == Rule::instruction)
    else {
        return Ok(None);
    };
    let mut logical = Logical::default();
    let mut start = None;
    for part in instr.clone().into_inner() {
        if part.as_rule() == Rule::segment {
            let at = pos + part.as_span().start();
            start.get_or_insert(at);
            logical.push(part.as_str(), at);
        }
    }
    let text = instr.as_str();
    let trimmed = text.trim_end_matches(['\r', '\n']);
    let end = pos + instr.as_span().start() + trimmed.len();
    let start = start.unwrap_or(pos + instr.as_span().start());
    Ok(Some((
        logical,
        Span::new(start, end.max(start)),
        pos + instr.as_span().end(),
    )))
}

/// BuildKit's `newNodeFromLine` on `l.text[start..end]`: keyword, flags and
/// the arguments as its line parsers leave them.
fn read_line(
    l: &Logical,
    start: usize,
    end: usize,
    escape: char,
    nested: bool,
) -> Result<Raw, ParseError> {
    let text = &l.text[start..end];
    let lead = text.len() - text.trim_start().len();
    let text = text.trim();
    let base = start + lead;
    let rule = if escape == '`' {
        Rule::command_backtick
    } else {
        Rule::command_backslash
    };
    let mut raw = Raw {
        span: l.span(base, base + text.len()),
        keyword: Spanned::new(l.span(base, base), String::new()),
        flags: Vec::new(),
        args: Vec::new(),
        json: false,
        rest: l.span(base + text.len(), base + text.len()),
        child: None,
        heredocs: Vec::new(),
    };
    let Some(command) = top(run(rule, text, base)?) else {
        return Ok(raw);
    };
    let mut rest_at = text.len();
    let mut rest_text = "";
    for part in command.into_inner() {
        let s = part.as_span();
        match part.as_rule() {
            Rule::keyword => {
                raw.keyword = Spanned::new(
                    l.span(base + s.start(), base + s.end()),
                    part.as_str().into(),
                )
            }
            Rule::flags => {
                for flag in part.into_inner().filter(|p| p.as_rule() == Rule::flag) {
                    let fs = flag.as_span();
                    let span = l.span(base + fs.start(), base + fs.end());
                    raw.flags.push(decode_flag(flag, span));
                }
            }
            Rule::rest => {
                rest_at = s.start();
                rest_text = part.as_str().trim_end();
            }
            _ => {}
        }
    }
    let rest_base = base + rest_at;
    raw.rest = l.span(rest_base, rest_base + rest_text.len());
    let args = Args {
        l,
        escape,
        base: rest_base,
    };
    match raw.keyword.value.to_ascii_lowercase().as_str() {
        "add" | "copy" | "volume" => (raw.args, raw.json) = args.maybe_json_to_list(rest_text)?,
        "cmd" | "entrypoint" | "run" | "shell" => {
            (raw.args, raw.json) = args.maybe_json(rest_text)?
        }
        "arg" => raw.args = args.words(rest_text)?.into_iter().collect(),
        "env" => raw.args = args.name_val(rest_text, "ENV")?,
        "label" => raw.args = args.name_val(rest_text, "LABEL")?,
        "expose" | "from" => raw.args = args.ws_list(rest_text)?,
        "healthcheck" => (raw.args, raw.json) = args.health(rest_text)?,
        // parseString: the rest of the line, if any.
        "maintainer" | "stopsignal" | "user" | "workdir" if !rest_text.is_empty() => {
            raw.args = vec![args.spanned(0, rest_text)];
        }
        // parseSubCommand: the rest is an instruction of its own. Only one
        // level is read: `ONBUILD ONBUILD` is refused by its keyword alone,
        // and reading every level of `ONBUILD ONBUILD ...` again was
        // quadratic (and as deep as the line is long).
        "onbuild" if !rest_text.is_empty() => {
            raw.args = vec![args.spanned(0, rest_text)];
            if !nested {
                let child = read_line(l, rest_base, rest_base + rest_text.len(), escape, true)?;
                raw.child = Some(Box::new(child));
            }
        }
        _ => {}
    }
    Ok(raw)
}

/// A flag word with its quotes and escapes resolved, split at `=`.
fn decode_flag(flag: Pair<'_, Rule>, span: Span) -> Flag {
    let mut word = String::new();
    for part in flag.into_inner() {
        match part.as_rule() {
            Rule::flag_text | Rule::quoted_text_dq | Rule::quoted_text_sq => {
                word.push_str(part.as_str())
            }
            Rule::escaped => {
                for c in part.into_inner() {
                    word.push_str(c.as_str());
                }
            }
            _ => {}
        }
    }
    let (name, value) = match word.split_once('=') {
        Some((n, v)) => (n.to_string(), Some(v.to_string())),
        None => (word, None),
    };
    Flag { span, name, value }
}

/// BuildKit's line parsers, over the argument text of one instruction.
struct Args<'a> {
    l: &'a Logical,
    escape: char,
    /// Joined offset of the argument text.
    base: usize,
}

type ArgList = Vec<Spanned<String>>;

impl Args<'_> {
    fn span(&self, start: usize, end: usize) -> Span {
        self.l.span(self.base + start, self.base + end)
    }

    fn spanned(&self, start: usize, text: &str) -> Spanned<String> {
        Spanned::new(self.span(start, start + text.len()), text.to_string())
    }

    /// `parseMaybeJSON`: a JSON array of strings, or the text as one arg.
    fn maybe_json(&self, rest: &str) -> Result<(ArgList, bool), ParseError> {
        if rest.is_empty() {
            return Ok((Vec::new(), false));
        }
        match self.json(rest)? {
            Some(items) => Ok((items, true)),
            None => Ok((vec![self.spanned(0, rest)], false)),
        }
    }

    /// `parseMaybeJSONToList`: a JSON array, or whitespace-separated words.
    fn maybe_json_to_list(&self, rest: &str) -> Result<(ArgList, bool), ParseError> {
        match self.json(rest)? {
            Some(items) => Ok((items, true)),
            None => Ok((self.ws_list(rest)?, false)),
        }
    }

    /// `parseJSON`: `None` when the text is not a JSON array.
    fn json(&self, rest: &str) -> Result<Option<ArgList>, ParseError> {
        if !rest.starts_with('[') || too_deep_for_json(rest) {
            return Ok(None);
        }
        let Ok(pairs) = DockerfileGrammar::parse(Rule::json_array, rest) else {
            return Ok(None);
        };
        let mut items = Vec::new();
        let values = pairs
            .flatten()
            .filter(|p| p.as_rule() == Rule::json_items)
            .take(1)
            .flat_map(|p| p.into_inner());
        for value in values {
            let s = value.as_span();
            match value.as_rule() {
                Rule::json_string => items.push(Spanned::new(
                    self.span(s.start(), s.end()),
                    json_string(value),
                )),
                _ => {
                    return Err(ParseError::new(
                        self.span(0, rest.len()),
                        "when using JSON array syntax, arrays must be comprised of strings only",
                    ))
                }
            }
        }
        Ok(Some(items))
    }

    /// `parseStringsWhitespaceDelimited`.
    fn ws_list(&self, rest: &str) -> Result<ArgList, ParseError> {
        if rest.is_empty() {
            return Ok(Vec::new());
        }
        let pairs = run(Rule::ws_list, rest, self.base)?;
        Ok(pairs
            .flatten()
            .filter(|p| p.as_rule() == Rule::ws_item)
            .map(|p| self.spanned(p.as_span().start(), p.as_str()))
            .collect())
    }

    /// `parseWords`: words with their quotes and escapes kept.
    fn words(&self, rest: &str) -> Result<ArgList, ParseError> {
        words(rest, self.escape, self.base)?
            .into_iter()
            .map(|(start, w)| Ok(self.spanned(start, &w)))
            .collect()
    }

    /// `parseNameVal` for ENV and LABEL: key, value, separator triples.
    fn name_val(&self, rest: &str, what: &str) -> Result<ArgList, ParseError> {
        let all = words(rest, self.escape, self.base)?;
        let Some((_, first)) = all.first() else {
            return Ok(Vec::new());
        };
        if !first.contains('=') {
            let Ok(pairs) = DockerfileGrammar::parse(Rule::legacy_kv, rest) else {
                return Err(ParseError::new(
                    self.span(0, rest.len()),
                    format!("{what} must have two arguments"),
                ));
            };
            let mut out = Vec::new();
            for p in pairs.flatten() {
                if matches!(p.as_rule(), Rule::legacy_key | Rule::legacy_value) {
                    out.push(self.spanned(p.as_span().start(), p.as_str()));
                }
            }
            let end = rest.len();
            out.push(Spanned::new(self.span(end, end), String::new()));
            return Ok(out);
        }
        let mut out = Vec::new();
        for (start, word) in all {
            let Some((key, value)) = word.split_once('=') else {
                return Err(ParseError::new(
                    self.span(start, start + word.len()),
                    format!(
                        "Syntax error - can't find = in {}. Must be of the form: name=value",
                        super::dump::go_quote(&word)
                    ),
                ));
            };
            let eq = start + key.len();
            out.push(self.spanned(start, key));
            out.push(self.spanned(eq + 1, value));
            out.push(self.spanned(eq, "="));
        }
        Ok(out)
    }

    /// `parseHealthConfig`: the type word, then exec or shell form.
    fn health(&self, rest: &str) -> Result<(ArgList, bool), ParseError> {
        if rest.is_empty() {
            return Ok((Vec::new(), false));
        }
        let pairs = run(Rule::health, rest, self.base)?;
        let mut args = Vec::new();
        let mut json = false;
        for p in pairs.flatten() {
            match p.as_rule() {
                Rule::health_type => args.push(self.spanned(p.as_span().start(), p.as_str())),
                Rule::health_rest => {
                    let sub = Args {
                        l: self.l,
                        escape: self.escape,
                        base: self.base + p.as_span().start(),
                    };
                    let (more, is_json) = sub.maybe_json(p.as_str())?;
                    args.extend(more);
                    json = is_json;
                }
                _ => {}
            }
        }
        Ok((args, json))
    }
}

/// `parseWords` over `text`: each word with its offset in `text`.
fn words(text: &str, escape: char, base: usize) -> Result<Vec<(usize, String)>, ParseError> {
    let rule = if escape == '`' {
        Rule::words_backtick
    } else {
        Rule::words_backslash
    };
    let pairs = run(rule, text, base)?;
    let mut out = Vec::new();
    for word in pairs.flatten().filter(|p| p.as_rule() == Rule::word) {
        let mut w = word.as_str();
        if word
            .clone()
            .into_inner()
            .any(|p| p.as_rule() == Rule::trailing_escape)
        {
            w = &w[..w.len() - escape.len_utf8()];
        }
        if !w.is_empty() {
            out.push((word.as_span().start(), w.to_string()));
        }
    }
    Ok(out)
}

/// A decoded JSON string literal (Go's rules: lone surrogates become U+FFFD).
/// Go's `encoding/json` refuses a value nested deeper than this, so
/// BuildKit reads such an argument as the shell form.
const MAX_JSON_DEPTH: usize = 10_000;

/// Whether `text` opens more than [`MAX_JSON_DEPTH`] arrays and objects at
/// once (outside strings). Checked before the grammar, whose recursion
/// would otherwise decide by the stack left: deeper text parsed as JSON in
/// a release build and failed in a debug one.
fn too_deep_for_json(text: &str) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for b in text.bytes() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if in_string => escaped = true,
            b'"' => in_string = !in_string,
            _ if in_string => {}
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

fn json_string(pair: Pair<'_, Rule>) -> String {
    let mut out = String::new();
    let mut high: Option<u32> = None;
    for part in pair.into_inner() {
        let mut unit = None;
        match part.as_rule() {
            Rule::json_plain => {}
            _ => {
                for e in part.clone().into_inner() {
                    if e.as_rule() == Rule::json_hex4 {
                        unit = u32::from_str_radix(e.as_str(), 16).ok();
                    }
                }
            }
        }
        if let Some(u) = unit {
            if (0xDC00..0xE000).contains(&u) {
                if let Some(h) = high.take() {
                    let c = 0x10000 + ((h - 0xD800) << 10) + (u - 0xDC00);
                    out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
                } else {
                    out.push('\u{FFFD}');
                }
                continue;
            }
            if high.take().is_some() {
                out.push('\u{FFFD}');
            }
            if (0xD800..0xDC00).contains(&u) {
                high = Some(u);
            } else {
                out.push(char::from_u32(u).unwrap_or('\u{FFFD}'));
            }
            continue;
        }
        if high.take().is_some() {
            out.push('\u{FFFD}');
        }
        match part.as_rule() {
            Rule::json_plain => out.push_str(part.as_str()),
            _ => out.push(match part.as_str().as_bytes().get(1) {
                Some(b'b') => '\u{08}',
                Some(b'f') => '\u{0C}',
                Some(b'n') => '\n',
                Some(b'r') => '\r',
                Some(b't') => '\t',
                Some(b'/') => '/',
                Some(b'\\') => '\\',
                _ => '"',
            }),
        }
    }
    if high.is_some() {
        out.push('\u{FFFD}');
    }
    out
}

/// A `<<NAME` word found on an instruction line.
struct Marker {
    name: String,
    expand: bool,
    chomp: bool,
    span: Span,
}

/// Whether `word` opens a heredoc: its delimiter, whether the body is
/// expanded (no quotes in the delimiter) and whether tabs are chomped
/// (`<<-`). An error when the delimiter has an unterminated quote.
pub(crate) fn heredoc_marker(word: &str) -> Result<Option<(String, bool, bool)>, &'static str> {
    let Ok(pairs) = DockerfileGrammar::parse(Rule::heredoc_marker, word) else {
        if DockerfileGrammar::parse(Rule::heredoc_like, word).is_ok() {
            return Err("unterminated quote in heredoc delimiter");
        }
        return Ok(None);
    };
    let mut name = String::new();
    let mut chomp = false;
    let mut expand = true;
    for p in pairs.flatten() {
        match p.as_rule() {
            Rule::heredoc_chomp => chomp = true,
            Rule::heredoc_quoted_dq | Rule::heredoc_quoted_sq => expand = false,
            Rule::heredoc_text_dq
            | Rule::heredoc_text_sq
            | Rule::heredoc_plain
            | Rule::heredoc_plain_char => name.push_str(p.as_str()),
            _ => {}
        }
    }
    Ok(Some((name, expand, chomp)))
}

/// The heredocs an instruction line opens, in order.
fn heredoc_markers(l: &Logical) -> Result<Vec<Marker>, ParseError> {
    let mut out = Vec::new();
    let pairs = run(Rule::shell_words, &l.text, 0)?;
    for word in pairs.flatten().filter(|p| p.as_rule() == Rule::shell_word) {
        let s = word.as_span();
        let span = l.span(s.start(), s.end());
        match heredoc_marker(word.as_str()) {
            Ok(Some((name, expand, chomp))) => out.push(Marker {
                name,
                expand,
                chomp,
                span,
            }),
            Ok(None) => {}
            Err(message) => return Err(ParseError::new(span, message)),
        }
    }
    Ok(out)
}

/// Reads one heredoc body from `pos`: the heredoc, where its terminator
/// line ends (without newline), and where reading goes on.
fn read_heredoc(
    src: &str,
    pos: usize,
    marker: &Marker,
) -> Result<(Heredoc, usize, usize), ParseError> {
    let mut content = String::new();
    let mut at = pos;
    while at < src.len() {
        let next = src[at..]
            .find('\n')
            .map(|i| at + i + 1)
            .unwrap_or(src.len());
        let line = &src[at..next];
        let bare = line.trim_end_matches(['\r', '\n']);
        let candidate = if marker.chomp {
            bare.trim_start_matches('\t')
        } else {
            bare
        };
        if candidate == marker.name {
            let content = if marker.chomp {
                content
                    .split_inclusive('\n')
                    .map(|l| l.trim_start_matches('\t'))
                    .collect()
            } else {
                content
            };
            let heredoc = Heredoc {
                name: marker.name.clone(),
                content,
                expand: marker.expand,
                span: Span::new(pos, at),
            };
            return Ok((heredoc, at + bare.len(), next));
        }
        content.push_str(line);
        at = next;
    }
    Err(ParseError::new(marker.span, "unterminated heredoc"))
}

#[cfg(test)]
mod tests;
