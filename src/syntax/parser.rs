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
        if !rest.starts_with('[') {
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
mod tests {
    use super::*;
    use crate::syntax::ast::{Command, Kind};

    fn one(src: &str) -> crate::syntax::ast::Instruction {
        let mut df = parse(src).unwrap();
        assert_eq!(df.instructions.len(), 1, "{src:?}");
        df.instructions.remove(0)
    }

    #[test]
    fn directives_are_read_until_the_first_other_line() {
        let df =
            parse("# syntax=docker/dockerfile:1\n#ESCAPE = `\n# check=skip=all\nFROM a\n").unwrap();
        assert_eq!(df.directives.escape, '`');
        assert_eq!(df.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
        assert_eq!(df.directives.check.as_deref(), Some("skip=all"));
        let df = parse("# hello\n# escape=`\nFROM a\n").unwrap();
        assert_eq!(df.directives.escape, '\\');
    }

    #[test]
    fn continuation_spans_cover_all_lines() {
        let src = "FROM a\nRUN echo \\\n  # dropped\n\n  hi\n";
        let df = parse(src).unwrap();
        let run = &df.instructions[1];
        assert_eq!(run.args[0].value, "echo   hi");
        assert_eq!(run.span.line_col(src), (2, 1));
        assert_eq!(run.span.end_line(src), 5);
        let a = run.args[0].span;
        assert_eq!(&src[a.start..a.end], "echo \\\n  # dropped\n\n  hi");
    }

    #[test]
    fn flags_and_their_spans() {
        let src = "COPY --from=build --chown=\"a b\" src /dst";
        let i = one(src);
        assert_eq!(i.flags.len(), 2);
        assert_eq!(i.flags[0].name, "from");
        assert_eq!(i.flags[0].value.as_deref(), Some("build"));
        assert_eq!(i.flags[1].value.as_deref(), Some("a b"));
        let s = i.flags[1].span;
        assert_eq!(&src[s.start..s.end], "--chown=\"a b\"");
        let s = i.args[0].span;
        assert_eq!(&src[s.start..s.end], "src");
    }

    #[test]
    fn heredocs_follow_their_line() {
        let src = "FROM a\nRUN <<EOF\necho hi\nEOF\nCOPY <<-\"X\" /x\n\tbody $v\n\tX\nUSER me\n";
        let df = parse(src).unwrap();
        let run = &df.instructions[1];
        assert_eq!(run.heredocs.len(), 1);
        assert_eq!(run.heredocs[0].name, "EOF");
        assert_eq!(run.heredocs[0].content, "echo hi\n");
        assert!(run.heredocs[0].expand);
        assert_eq!(run.span.end_line(src), 4);
        let copy = &df.instructions[2];
        assert_eq!(copy.heredocs[0].name, "X");
        assert_eq!(copy.heredocs[0].content, "body $v\n");
        assert!(!copy.heredocs[0].expand);
        match &copy.kind {
            Kind::Copy(p) => {
                assert_eq!(p.sources[0].value, "<<-\"X\"");
                assert_eq!(p.dest.value, "/x");
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(df.instructions[3].name(), "user");
    }

    #[test]
    fn heredoc_in_a_quoted_string_is_not_one() {
        let i = one("RUN echo \"<<EOF\"");
        assert!(i.heredocs.is_empty());
    }

    #[test]
    fn shell_and_exec_forms() {
        match one("CMD [\"a\", \"b\\u00e9\"]").kind {
            Kind::Cmd(Command::Exec(v)) => assert_eq!(v, ["a", "bé"]),
            k => panic!("{k:?}"),
        }
        match one("ENTRYPOINT [\"a\" \"b\"]").kind {
            Kind::Entrypoint(Command::Shell(s)) => assert_eq!(s.value, "[\"a\" \"b\"]"),
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn json_surrogates_decode_as_go_does() {
        let i = one("CMD [\"\\ud83d\\ude00\", \"\\ud83d\"]");
        let v: Vec<_> = i.args.iter().map(|a| a.value.as_str()).collect();
        assert_eq!(v, ["😀", "\u{FFFD}"]);
    }

    #[test]
    fn chained_onbuild_is_read_one_level_deep() {
        // 20,000 levels were each parsed again (quadratic, and as deep)
        let src = format!("FROM a\n{}RUN x\n", "ONBUILD ".repeat(20_000));
        let e = parse(&src).unwrap_err();
        assert_eq!(
            e.message,
            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
        );
        assert_eq!(e.span.line_col(&src), (2, 9));
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let i = one("\u{feff}FROM a");
        assert_eq!(i.keyword.value, "FROM");
        assert_eq!(i.keyword.span, Span::new(3, 7));
    }

    #[test]
    fn backtick_escape_continues_lines() {
        let df = parse("# escape=`\nFROM a\nRUN dir c:\\ `\n  /w\n").unwrap();
        assert_eq!(df.instructions[1].args[0].value, "dir c:\\   /w");
    }

    /// Input, exact message, line:col of the error span, help.
    type ErrorCase = (
        &'static str,
        &'static str,
        (usize, usize),
        Option<&'static str>,
    );

    const ERRORS: &[ErrorCase] = &[
        ("", "file with no instructions", (1, 1), None),
        ("# only\n\n", "file with no instructions", (3, 1), None),
        ("FROM a\nENV PATH\n", "ENV must have two arguments", (2, 5), None),
        (
            "CMD [ \"echo\", [ \"nested json\" ] ]",
            "when using JSON array syntax, arrays must be comprised of strings only",
            (1, 5),
            None,
        ),
        ("FROM a\nCOPPY . /\n", "unknown instruction: COPPY", (2, 1), Some("did you mean COPY?")),
        ("FRM a", "unknown instruction: FRM", (1, 1), Some("did you mean FROM?")),
        (
            "FROM a\nfoo bar",
            "unknown instruction: foo",
            (2, 1),
            Some("did you mean from?"),
        ),
        ("FROM a\nXYZZY", "unknown instruction: XYZZY", (2, 1), None),
        ("FROM a b", "FROM requires either one or three arguments", (1, 6), None),
        ("FROM", "FROM requires either one or three arguments", (1, 1), None),
        (
            "FROM a AS 1x",
            "invalid name for build stage: \"1x\", name can't start with a number or contain symbols",
            (1, 11),
            None,
        ),
        (
            "FROM a\nCOPY x",
            "COPY requires at least two arguments, but only one was provided. Destination could not be determined",
            (2, 6),
            None,
        ),
        (
            "FROM a\nADD [\"x\"]",
            "ADD requires at least two arguments, but only one was provided. Destination could not be determined",
            (2, 5),
            None,
        ),
        ("FROM a\nSHELL /bin/sh -c", "SHELL requires the arguments to be in JSON form", (2, 7), None),
        // BuildKit's BFlags.Parse (instructions/bflag.go)
        ("FROM a\nCOPY --chown 1:1 f /x", "missing a value on flag: --chown", (2, 6), None),
        ("FROM a\nADD --chmod 777 f /x", "missing a value on flag: --chmod", (2, 5), None),
        ("FROM a\nCOPY --exclude f /x", "missing a value on flag: --exclude", (2, 6), None),
        ("FROM a\nCOPY --link= f /x", "missing a value on flag: --link", (2, 6), None),
        (
            "FROM a\nADD --unpack=yes f /x",
            "expecting boolean value for flag --unpack, not: yes",
            (2, 5),
            None,
        ),
        (
            "FROM a\nCOPY --from=a --from=b f /x",
            "duplicate flag specified: --from",
            (2, 15),
            None,
        ),
        ("FROM --platform a", "missing a value on flag: --platform", (1, 6), None),
        ("FROM a\nWORKDIR", "WORKDIR requires exactly one argument", (2, 1), None),
        (
            "FROM a\nENV a=b c",
            "Syntax error - can't find = in \"c\". Must be of the form: name=value",
            (2, 9),
            None,
        ),
        ("FROM a\nLABEL =x", "LABEL names can not be blank", (2, 7), None),
        (
            "FROM a\nONBUILD ONBUILD RUN x",
            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
            (2, 9),
            None,
        ),
        ("FROM a\nONBUILD FROM b", "FROM isn't allowed as an ONBUILD trigger", (2, 9), None),
        ("FROM a\nONBUILD", "ONBUILD requires at least one argument", (2, 1), None),
        ("FROM a\nRUN <<EOF\nx\n", "unterminated heredoc", (2, 5), None),
        (
            "FROM a\nCOPY <<EOF <<EOT\nx\nEOF\ny\nEOT\n",
            "COPY cannot accept a heredoc as a destination",
            (2, 12),
            None,
        ),
        (
            "# escape=x\nFROM a",
            "invalid escape token 'x' does not match ` or \\",
            (1, 10),
            None,
        ),
        (
            "# escape=\\\n# Escape=`\nFROM a",
            "only one escape parser directive can be used",
            (2, 10),
            None,
        ),
        ("FROM a\nHEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments", (2, 13), None),
        ("FROM a\nVOLUME [\"\"]", "VOLUME specified can not be an empty string", (2, 9), None),
        ("FROM a\nEXPOSE", "EXPOSE requires at least one argument", (2, 1), None),
        ("FROM a\nARG", "ARG requires at least one argument", (2, 1), None),
        ("FROM a\nARG =x", "ARG names can not be blank", (2, 5), None),
    ];

    #[test]
    fn error_table() {
        let mut wrong = Vec::new();
        for (src, message, at, help) in ERRORS {
            match parse(src) {
                Ok(_) => wrong.push(format!("{src:?}: accepted")),
                Err(e) => {
                    let got = (e.message.as_str(), e.span.line_col(src), e.help.as_deref());
                    if got != (*message, *at, *help) {
                        wrong.push(format!("{src:?}: got {got:?}"));
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn heredoc_rules_follow_buildkit() {
        // JSON form never has heredocs; ONBUILD's instruction may.
        let df = parse("FROM a\nRUN [\"<<EOF\"]\nONBUILD RUN <<X\nhi\nX\n").unwrap();
        assert!(df.instructions[1].heredocs.is_empty());
        let onbuild = &df.instructions[2];
        assert_eq!(onbuild.heredocs.len(), 1);
        assert_eq!(onbuild.heredocs[0].content, "hi\n");
        assert!(matches!(&onbuild.kind, Kind::Onbuild(child) if child.name() == "run"));
        // Two heredocs on one line: bodies in order.
        let df = parse("FROM a\nRUN <<A cat - <<B\n1\nA\n2\nB\nUSER x\n").unwrap();
        let names: Vec<_> = df.instructions[1]
            .heredocs
            .iter()
            .map(|h| (h.name.as_str(), h.content.as_str()))
            .collect();
        assert_eq!(names, [("A", "1\n"), ("B", "2\n")]);
    }

    /// BuildKit's `TestParseExtractsHeredoc` (without its `USER <<INVALID`,
    /// which only BuildKit's raw parser accepts); bodies of `<<-` come with
    /// their tabs already stripped here.
    #[test]
    fn buildkit_heredoc_cases() {
        let src = "FROM alpine:3.6\n\nENV NAME=me\n\nRUN ls\n\n\
            RUN <<EMPTY\nEMPTY\n\nRUN 3<<EMPTY2\nEMPTY2\n\nRUN \"<<NOHEREDOC\"\n\n\
            RUN <<INDENT\n\tfoo\n\tbar\nINDENT\n\n\
            RUN <<-UNINDENT\n\tbaz\n\tquux\nUNINDENT\n\n\
            RUN <<-UNINDENT2\n\tbaz\n\tquux\n\tUNINDENT2\n\n\
            RUN <<-EXPAND\n\texpand $NAME\nEXPAND\n\n\
            RUN <<-'NOEXPAND'\n\tdon't expand $NAME\nNOEXPAND\n\n\
            RUN <<COMMENT\n# internal comment\necho hello world\necho foo bar # trailing comment\nCOMMENT\n\n\
            RUN --mount=type=cache,target=/foo <<MOUNT\necho hello\nMOUNT\n\n\
            COPY <<FILE1 <<FILE2 /dest\ncontent 1\nFILE1\ncontent 2\nFILE2\n\n\
            COPY <<EOF /quotes\n\"foo\"\n'bar'\nEOF\n\n\
            COPY <<X <<Y /dest\nY\nX\nX\nY\n\n\
            RUN <<COMPLEX python3\nprint('hello world')\nCOMPLEX\n\n\
            COPY <<file.txt /dest\nhello world\nfile.txt\n\n\
            RUN <<eo'f'\necho foo\neof\n\n\
            RUN <<eo\\'f\necho foo\neo'f\n\n\
            RUN <<'e'o\\'f\necho foo\neo'f\n\n\
            RUN <<'one two'\necho bar\none two\n\n\
            RUN <<$EOF\n$EOF\n\n\
            RUN <<  EOF\nEOF\n\n\
            RUN <<  EOF  > foo\nEOF\n\t";
        type Doc = (&'static str, &'static str, bool);
        let want: &[&[Doc]] = &[
            &[],
            &[],
            &[("EMPTY", "", true)],
            &[("EMPTY2", "", true)],
            &[],
            &[("INDENT", "\tfoo\n\tbar\n", true)],
            &[("UNINDENT", "baz\nquux\n", true)],
            &[("UNINDENT2", "baz\nquux\n", true)],
            &[("EXPAND", "expand $NAME\n", true)],
            &[("NOEXPAND", "don't expand $NAME\n", false)],
            &[(
                "COMMENT",
                "# internal comment\necho hello world\necho foo bar # trailing comment\n",
                true,
            )],
            &[("MOUNT", "echo hello\n", true)],
            &[
                ("FILE1", "content 1\n", true),
                ("FILE2", "content 2\n", true),
            ],
            &[("EOF", "\"foo\"\n'bar'\n", true)],
            &[("X", "Y\n", true), ("Y", "X\n", true)],
            &[("COMPLEX", "print('hello world')\n", true)],
            &[("file.txt", "hello world\n", true)],
            &[("eof", "echo foo\n", false)],
            &[("eo'f", "echo foo\n", true)],
            &[("eo'f", "echo foo\n", false)],
            &[("one two", "echo bar\n", false)],
            &[("$EOF", "", true)],
            &[("EOF", "", true)],
            &[("EOF", "", true)],
        ];
        let df = parse(src).unwrap();
        assert_eq!(df.instructions.len(), want.len() + 1);
        for (i, want) in df.instructions[1..].iter().zip(want) {
            let got: Vec<(String, String, bool)> = i
                .heredocs
                .iter()
                .map(|h| (h.name.clone(), h.content.clone(), h.expand))
                .collect();
            let want: Vec<(String, String, bool)> = want
                .iter()
                .map(|(n, c, e)| (n.to_string(), c.to_string(), *e))
                .collect();
            assert_eq!(got, want, "{}", crate::syntax::dump(i));
        }
    }

    #[test]
    fn heredoc_delimiters_as_buildkit_reads_them() {
        for word in [
            "<<EOF",
            "<<'EOF'",
            "<<\"EOF\"",
            "<<-EOF",
            "<<-'EOF'",
            "<<-\"EOF\"",
            "<<EO\"F\"",
            "<< EOF",
            "<<- EOF",
        ] {
            let got = heredoc_marker(word);
            assert!(
                matches!(&got, Ok(Some((n, _, _))) if n == "EOF"),
                "{word}: {got:?}"
            );
        }
        for word in ["<<'EOF", "<<\"EOF", "<<EOF'", "<<EOF\""] {
            assert!(heredoc_marker(word).is_err(), "{word}");
        }
        for word in ["", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"] {
            assert_eq!(heredoc_marker(word), Ok(None), "{word}");
        }
    }

    fn values(i: &crate::syntax::ast::Instruction) -> Vec<&str> {
        i.args.iter().map(|a| a.value.as_str()).collect()
    }

    /// BuildKit's `TestJSONArraysOfStrings`.
    #[test]
    fn json_arrays_of_strings() {
        let valid: &[(&str, &[&str])] = &[
            ("[]", &[]),
            ("[\"\"]", &[""]),
            ("[\"a\"]", &["a"]),
            ("[\"a\",\"b\"]", &["a", "b"]),
            ("[ \"a\", \"b\" ]", &["a", "b"]),
            ("[\t\"a\",\t\"b\"\t]", &["a", "b"]),
            ("\t[\t\"a\",\t\"b\"\t]\t", &["a", "b"]),
            (
                r#"["abc 123", "♥", "☃", "\" \\ \/ \b \f \n \r \t \u0000"]"#,
                &["abc 123", "♥", "☃", "\" \\ / \u{8} \u{c} \n \r \t \0"],
            ),
        ];
        for (json, want) in valid {
            let i = one(&format!("CMD {json}"));
            assert!(i.json, "{json}");
            assert_eq!(values(&i), *want, "{json}");
        }
        for json in [
            r#"["a",42,"b"]"#,
            r#"["a",123.456,"b"]"#,
            r#"["a",{},"b"]"#,
            r#"["a",{"c": "d"},"b"]"#,
            r#"["a",["c"],"b"]"#,
            r#"["a",true,"b"]"#,
            r#"["a",false,"b"]"#,
            r#"["a",null,"b"]"#,
        ] {
            let e = parse(&format!("CMD {json}")).unwrap_err();
            assert!(e.message.contains("comprised of strings only"), "{json}");
        }
        // Not JSON at all: shell form, whatever it looks like.
        for text in ["[\"a\"] x", "['a']", "[\"a\",]", "[\"a\\x\"]", "[01]"] {
            let i = one(&format!("RUN {text}"));
            assert!(!i.json, "{text}");
            assert_eq!(values(&i), [text]);
        }
    }

    /// BuildKit's `TestParseWords` (ARG keeps its words as parsed).
    #[test]
    fn words_keep_quotes_and_escapes() {
        let cases: &[(&str, &[&str])] = &[
            ("foo", &["foo"]),
            ("foo bar", &["foo", "bar"]),
            ("foo\\ bar", &["foo\\ bar"]),
            ("foo=bar", &["foo=bar"]),
            ("foo bar 'abc xyz'", &["foo", "bar", "'abc xyz'"]),
            ("foo bar \"abc xyz\"", &["foo", "bar", "\"abc xyz\""]),
            ("àöû", &["àöû"]),
            ("föo bàr \"âbc xÿz\"", &["föo", "bàr", "\"âbc xÿz\""]),
            ("a\"b c\"d 'e\\' f", &["a\"b c\"d", "'e\\'", "f"]),
        ];
        for (input, want) in cases {
            assert_eq!(values(&one(&format!("ARG {input}"))), *want, "{input}");
        }
    }

    /// BuildKit's `TestParseNameVal*`.
    #[test]
    fn name_value_forms() {
        assert_eq!(values(&one("LABEL foo bar")), ["foo", "bar", ""]);
        assert_eq!(
            values(&one("LABEL foo=bar thing=star")),
            ["foo", "bar", "=", "thing", "star", "="]
        );
        assert_eq!(values(&one("ENV a  b  c")), ["a", "b  c", ""]);
        match one("ENV a=\"x y\" b=z").kind {
            Kind::Env(kv) => {
                assert_eq!(kv[0].value.value, "\"x y\"");
                assert!(!kv[0].legacy);
                assert_eq!(kv[1].key.value, "b");
            }
            k => panic!("{k:?}"),
        }
        assert!(parse("ENV foo").is_err());
    }

    #[test]
    fn typed_forms() {
        match one("FROM --platform=linux/amd64 golang:1 As Build").kind {
            Kind::From { image, stage_name } => {
                assert_eq!(image.value, "golang:1");
                assert_eq!(stage_name.map(|s| s.value).as_deref(), Some("build"));
            }
            k => panic!("{k:?}"),
        }
        match one("ARG a b=c d=").kind {
            Kind::Arg(decls) => {
                let got: Vec<_> = decls
                    .iter()
                    .map(|d| {
                        (
                            d.name.value.as_str(),
                            d.default.as_ref().map(|v| v.value.as_str()),
                        )
                    })
                    .collect();
                assert_eq!(got, [("a", None), ("b", Some("c")), ("d", Some(""))]);
            }
            k => panic!("{k:?}"),
        }
        match one("HEALTHCHECK --interval=5s CMD [\"curl\", \"-f\"]").kind {
            Kind::Healthcheck(crate::syntax::ast::Healthcheck::Cmd(Command::Exec(v))) => {
                assert_eq!(v, ["curl", "-f"])
            }
            k => panic!("{k:?}"),
        }
        assert!(matches!(
            one("healthcheck none").kind,
            Kind::Healthcheck(crate::syntax::ast::Healthcheck::None)
        ));
        match one("SHELL [\"pwsh\", \"-c\"]").kind {
            Kind::Shell(v) => assert_eq!(v, ["pwsh", "-c"]),
            k => panic!("{k:?}"),
        }
        match one("VOLUME [\"/a\", \"/b\"]").kind {
            Kind::Volume(v) => assert_eq!(v.len(), 2),
            k => panic!("{k:?}"),
        }
        match one("EXPOSE 80/tcp 53/udp").kind {
            Kind::Expose(v) => assert_eq!(v[1].value, "53/udp"),
            k => panic!("{k:?}"),
        }
        match one("ADD --chmod=644 a b [c] /d/").kind {
            Kind::Add(p) => {
                assert_eq!(p.sources.len(), 3);
                assert_eq!(p.dest.value, "/d/");
            }
            k => panic!("{k:?}"),
        }
        match one("user  me:grp  ").kind {
            Kind::User(u) => assert_eq!(u.value, "me:grp"),
            k => panic!("{k:?}"),
        }
        match one("MAINTAINER A B <a@b>").kind {
            Kind::Maintainer(m) => assert_eq!(m.value, "A B <a@b>"),
            k => panic!("{k:?}"),
        }
        match one("STOPSIGNAL SIGKILL").kind {
            Kind::StopSignal(s) => assert_eq!(s.value, "SIGKILL"),
            k => panic!("{k:?}"),
        }
        match one("ONBUILD ADD --chown=a . /").kind {
            Kind::Onbuild(child) => {
                assert_eq!(child.flags[0].name, "chown");
                assert!(matches!(child.kind, Kind::Add(_)));
            }
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn crlf_line_endings() {
        let src = "FROM a\r\nRUN x \\\r\n  y\r\nENV k=v\r\n";
        let df = parse(src).unwrap();
        assert_eq!(df.instructions[1].args[0].value, "x   y");
        assert_eq!(df.instructions[1].span.end_line(src), 3);
        assert_eq!(values(&df.instructions[2]), ["k", "v", "="]);
    }

    #[test]
    fn env_value_span_crosses_lines() {
        let src = "ENV a=1 \\\n  b=\"x \\\n y\"";
        let i = one(src);
        let v = &i.args[4];
        assert_eq!(v.value, "\"x  y\"");
        assert_eq!(&src[v.span.start..v.span.end], "\"x \\\n y\"");
        let k = &i.args[3];
        assert_eq!(&src[k.span.start..k.span.end], "b");
    }

    #[test]
    fn large_files_parse_in_linear_time() {
        let mut src = String::from("FROM a\n");
        for n in 0..5000 {
            src.push_str(&format!("RUN echo {n} \\\n  && true\n# c\n"));
        }
        let start = std::time::Instant::now();
        let df = parse(&src).unwrap();
        assert_eq!(df.instructions.len(), 5001);
        assert!(start.elapsed().as_secs() < 10, "{:?}", start.elapsed());
    }
}
