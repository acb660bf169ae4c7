//! `.dockerignore` files and the wildcard matching they (and COPY sources)
//! use: Go's `path/filepath.Match` ([`fn_match`]), moby's
//! `ignorefile.ReadAll` ([`parse_dockerignore`]) and moby's
//! `patternmatcher` ([`PatternMatcher`]), with Unix rules (`/` separates,
//! `\` escapes).

/// A malformed wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatternError {
    /// The pattern's syntax is wrong (an unclosed `[`, a trailing `\`, a
    /// class such as `[z-a]` that moby's matcher cannot compile ...).
    #[error("syntax error in pattern {pattern:?}")]
    BadPattern {
        /// The pattern as written (after cleaning).
        pattern: String,
    },
    /// A `!` with nothing after it.
    #[error("illegal exclusion pattern: \"!\"")]
    LoneExclamation,
}

fn bad(pattern: &str) -> PatternError {
    PatternError::BadPattern {
        pattern: pattern.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Go's filepath.Match, byte for byte.

/// Go's path/filepath.Match (Unix): `*`, `?`, `[...]` classes with ranges and `^` negation, `\` escapes.
///
/// `*` and `?` never match `/`; the whole of `name` must match. As in Go,
/// a class is negated by `^` only (`[!a]` is the class of `!` and `a`), and
/// a malformed pattern is an error even when the match fails before
/// reaching the malformed part.
pub fn fn_match(pattern: &str, name: &str) -> Result<bool, PatternError> {
    go_match(pattern.as_bytes(), name.as_bytes()).map_err(|()| bad(pattern))
}

/// What matching a chunk at the start of a name gave.
enum Chunk<'a> {
    /// It matched; the rest of the name follows.
    Rest(&'a [u8]),
    /// It did not match.
    NoMatch,
}

fn go_match(mut pattern: &[u8], mut name: &[u8]) -> Result<bool, ()> {
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // A trailing `*` takes the rest of the name unless it has a `/`.
            return Ok(!name.contains(&b'/'));
        }
        if let Chunk::Rest(t) = match_chunk(chunk, name)? {
            if t.is_empty() || !pattern.is_empty() {
                name = t;
                continue;
            }
        }
        if star {
            // The star takes 1, 2, ... bytes, never a `/`.
            let mut i = 0;
            while i < name.len() && name[i] != b'/' {
                if let Chunk::Rest(t) = match_chunk(chunk, &name[i + 1..])? {
                    if t.is_empty() || !pattern.is_empty() {
                        name = t;
                        continue 'pattern;
                    }
                }
                i += 1;
            }
        }
        // No match; still, the rest of the pattern must be well formed.
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            match_chunk(chunk, b"")?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// The next chunk: leading stars, then everything up to the next star that
/// is not inside a class.
fn scan_chunk(mut pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut star = false;
    while let [b'*', rest @ ..] = pattern {
        pattern = rest;
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &pattern[..i], &pattern[i..])
}

/// Decodes one character as Go does: an invalid byte is U+FFFD, width 1.
fn decode(s: &[u8]) -> (char, usize) {
    let width = match s.first() {
        Some(0xc0..=0xdf) => 2,
        Some(0xe0..=0xef) => 3,
        Some(0xf0..=0xf7) => 4,
        _ => 1,
    };
    match s.get(..width).map(std::str::from_utf8) {
        Some(Ok(text)) => (text.chars().next().unwrap_or('\u{FFFD}'), width),
        _ => (char::REPLACEMENT_CHARACTER, 1),
    }
}

/// Matches a star-free chunk at the start of `s`. After a mismatch the rest
/// of the chunk is still parsed so that syntax errors are reported.
fn match_chunk<'a>(mut chunk: &[u8], mut s: &'a [u8]) -> Result<Chunk<'a>, ()> {
    let mut failed = false;
    while let Some(&c) = chunk.first() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match c {
            b'[' => {
                let mut r = '\0';
                if !failed {
                    let (ch, n) = decode(s);
                    r = ch;
                    s = &s[n..];
                }
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&b'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut ranges = 0;
                loop {
                    if chunk.first() == Some(&b']') && ranges > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&b'-') {
                        let (h, rest) = get_esc(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    ranges += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    if s[0] == b'/' {
                        failed = true;
                    }
                    let (_, n) = decode(s);
                    s = &s[n..];
                }
                chunk = &chunk[1..];
            }
            _ => {
                if c == b'\\' {
                    chunk = &chunk[1..];
                    if chunk.is_empty() {
                        return Err(());
                    }
                }
                if !failed {
                    if chunk[0] != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    Ok(if failed {
        Chunk::NoMatch
    } else {
        Chunk::Rest(s)
    })
}

/// One possibly escaped character of a class; it must not be the last
/// thing in the chunk (the class needs its `]`).
fn get_esc(mut chunk: &[u8]) -> Result<(char, &[u8]), ()> {
    match chunk.first() {
        None | Some(b'-' | b']') => return Err(()),
        Some(b'\\') => {
            chunk = &chunk[1..];
            if chunk.is_empty() {
                return Err(());
            }
        }
        Some(_) => {}
    }
    let (r, n) = decode(chunk);
    if r == char::REPLACEMENT_CHARACTER && n == 1 {
        return Err(());
    }
    let rest = &chunk[n..];
    if rest.is_empty() {
        return Err(());
    }
    Ok((r, rest))
}

// ---------------------------------------------------------------------------
// Go's filepath.Clean and filepath.Dir (Unix).

/// Go's `filepath.Clean`: the shortest equivalent path, lexically.
fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Go's `filepath.Dir`: everything before the last `/`, cleaned.
fn dir(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => clean(&path[..=i]),
        None => ".".to_string(),
    }
}

// ---------------------------------------------------------------------------
// .dockerignore files.

/// Reads a .dockerignore file the way moby's ignorefile.ReadAll does (comments `#`, trimming,
/// `!` exceptions, filepath.Clean, leading `/` stripped, empty lines skipped).
///
/// A UTF-8 byte-order mark at the start is dropped, and lines end at `\n`
/// with an optional `\r` before it. Only lines *starting* with `#` are
/// comments; `!` alone stays `!` (and [`PatternMatcher::new`] rejects it).
pub fn parse_dockerignore(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut patterns = Vec::new();
    for line in text.split_terminator('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with('#') {
            continue;
        }
        let mut pattern = line.trim();
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern.starts_with('!');
        if invert {
            pattern = pattern[1..].trim();
        }
        let mut cleaned = String::new();
        if !pattern.is_empty() {
            cleaned = clean(pattern);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
        }
        patterns.push(if invert {
            format!("!{cleaned}")
        } else {
            cleaned
        });
    }
    patterns
}

// ---------------------------------------------------------------------------
// moby/patternmatcher.

/// moby/patternmatcher semantics: `*`, `?`, `**`, `!` exceptions, last match wins.
///
/// `*` and `?` stay within one path component, `**` crosses any number of
/// them; a pattern also excludes everything below a directory it matches.
/// Patterns are tried in order, and an exception (`!pattern`) re-includes
/// what earlier patterns excluded.
#[derive(Debug, Clone)]
pub struct PatternMatcher {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
struct Pattern {
    /// The cleaned pattern, without its `!`.
    text: String,
    exception: bool,
    /// How moby would match it, or why moby's regexp would not compile.
    kind: Result<Kind, PatternError>,
}

/// moby's four ways of matching a pattern.
#[derive(Debug, Clone)]
enum Kind {
    /// No wildcards: the path is the pattern.
    Exact,
    /// `dir/**`: the path starts with `dir/`.
    Prefix(String),
    /// A leading `**` and no other wildcard: the path ends with the rest
    /// (or is the rest without its leading `/`).
    Suffix(String),
    /// Anything else: a regular expression, here as tokens.
    Regex(Vec<Tok>),
}

/// The pieces of moby's generated regular expression.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// One literal character.
    Lit(char),
    /// `[^/]` (from `?`).
    NotSlash,
    /// `[^/]*` (from `*`).
    NotSlashRun,
    /// `(.*/)?` (from `**/` or `**` not at the end).
    DirPrefix,
    /// `.*` (from a final `**`).
    AnyRun,
    /// A bracket expression, copied from the pattern.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// A bare `^`, which a regular expression reads as "start of text".
    Start,
}

impl PatternMatcher {
    /// Compiles `patterns` (as [`parse_dockerignore`] returns them: `!` marks
    /// an exception). Whitespace around each is trimmed, empty ones are
    /// skipped, and each is checked with [`fn_match`] for syntax errors.
    pub fn new(patterns: &[String]) -> Result<Self, PatternError> {
        let mut out = Vec::with_capacity(patterns.len());
        for p in patterns {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            let p = clean(p);
            let (exception, text) = match p.strip_prefix('!') {
                Some("") => return Err(PatternError::LoneExclamation),
                Some(rest) => (true, rest.to_string()),
                None => (false, p),
            };
            fn_match(&text, ".")?;
            let kind = compile(&text);
            out.push(Pattern {
                text,
                exception,
                kind,
            });
        }
        Ok(PatternMatcher { patterns: out })
    }

    /// MatchesOrParentMatches: true if `path` (relative, `/`-separated) is excluded, either
    /// by a pattern matching it or one of its parent directories (respecting exceptions).
    ///
    /// The path is cleaned first; the context root (`.`) is never excluded.
    pub fn excluded(&self, path: &str) -> Result<bool, PatternError> {
        let file = clean(path);
        if file == "." {
            return Ok(false);
        }
        let parent = dir(&file);
        let parents: Vec<&str> = parent.split('/').collect();
        let mut excluded = false;
        for pattern in &self.patterns {
            // Only an exception can undo an exclusion, and only an
            // ordinary pattern can exclude what is not yet excluded.
            if pattern.exception != excluded {
                continue;
            }
            let mut hit = pattern.matches(&file)?;
            if !hit && parent != "." {
                for i in 1..=parents.len() {
                    if pattern.matches(&parents[..i].join("/")).unwrap_or(false) {
                        hit = true;
                        break;
                    }
                }
            }
            if hit {
                excluded = !pattern.exception;
            }
        }
        Ok(excluded)
    }

    /// True if some exception pattern could match something below `dir`, so a walker must
    /// descend into an excluded directory to find re-included files.
    ///
    /// This is conservative: it compares the exception's leading components
    /// with `dir`'s, and any `**` among them counts as a possible match.
    pub fn has_exceptions_below(&self, dir: &str) -> bool {
        let dir = clean(dir);
        let dir_parts: Vec<&str> = if dir == "." {
            Vec::new()
        } else {
            dir.split('/').collect()
        };
        self.patterns.iter().filter(|p| p.exception).any(|p| {
            let parts: Vec<&str> = p.text.split('/').collect();
            for (pat, name) in parts.iter().zip(&dir_parts) {
                if pat.contains("**") {
                    return true;
                }
                // A malformed component might still match: descend.
                if !fn_match(pat, name).unwrap_or(true) {
                    return false;
                }
            }
            true
        })
    }

    /// True when there are no patterns at all (nothing is excluded).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

impl Pattern {
    fn matches(&self, path: &str) -> Result<bool, PatternError> {
        match &self.kind {
            Err(e) => Err(e.clone()),
            Ok(Kind::Exact) => Ok(path == self.text),
            Ok(Kind::Prefix(prefix)) => Ok(path.starts_with(prefix.as_str())),
            Ok(Kind::Suffix(suffix)) => Ok(path.ends_with(suffix.as_str())
                || suffix.strip_prefix('/').is_some_and(|s| s == path)),
            Ok(Kind::Regex(toks)) => Ok(regex_match(toks, path)),
        }
    }
}

/// moby's `Pattern.compile`: decides how a pattern is matched and, for the
/// regular-expression kind, what the expression is.
fn compile(pattern: &str) -> Result<Kind, PatternError> {
    #[derive(PartialEq)]
    enum Detected {
        Exact,
        Prefix,
        Suffix,
        Regex,
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut toks = Vec::new();
    let mut detected = Detected::Exact;
    let mut pos = 0;
    let mut first = true;
    while pos < chars.len() {
        let ch = chars[pos];
        pos += 1;
        match ch {
            '*' if chars.get(pos) == Some(&'*') => {
                pos += 1;
                // `**/` is `**`.
                if chars.get(pos) == Some(&'/') {
                    pos += 1;
                }
                if pos == chars.len() {
                    if detected == Detected::Exact {
                        detected = Detected::Prefix;
                    } else {
                        toks.push(Tok::AnyRun);
                        detected = Detected::Regex;
                    }
                } else {
                    toks.push(Tok::DirPrefix);
                    detected = Detected::Regex;
                }
                if first {
                    detected = Detected::Suffix;
                }
            }
            '*' => {
                toks.push(Tok::NotSlashRun);
                detected = Detected::Regex;
            }
            '?' => {
                toks.push(Tok::NotSlash);
                detected = Detected::Regex;
            }
            '\\' => match chars.get(pos) {
                Some(&next) => {
                    pos += 1;
                    toks.push(Tok::Lit(regex_escape(next).ok_or_else(|| bad(pattern))?));
                    detected = Detected::Regex;
                }
                None => toks.push(Tok::Lit('\\')),
            },
            '[' => {
                let (tok, used) = parse_class(&chars[pos..]).ok_or_else(|| bad(pattern))?;
                toks.push(tok);
                pos += used;
                detected = Detected::Regex;
            }
            ']' => {
                toks.push(Tok::Lit(']'));
                detected = Detected::Regex;
            }
            '^' => toks.push(Tok::Start),
            c => toks.push(Tok::Lit(c)),
        }
        first = false;
    }
    Ok(match detected {
        Detected::Exact => Kind::Exact,
        Detected::Prefix => Kind::Prefix(pattern[..pattern.len() - 2].to_string()),
        Detected::Suffix => Kind::Suffix(pattern[2..].to_string()),
        Detected::Regex => Kind::Regex(toks),
    })
}

/// What `\c` means in a Go regular expression, for the escapes a
/// .dockerignore can reasonably contain: punctuation is literal, and the
/// C control escapes are their characters. Perl classes (`\d`...) and
/// other escapes are not supported and count as bad patterns.
fn regex_escape(c: char) -> Option<char> {
    match c {
        c if c.is_ascii_punctuation() => Some(c),
        'a' => Some('\u{7}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        _ => None,
    }
}

/// A bracket expression after its `[`, read as Go's regexp reads it: an
/// optional `^`, then characters, `\`-escapes and `lo-hi` ranges up to `]`.
/// Returns the token and how many characters it used, or `None` if Go's
/// regexp would refuse it (unclosed, or a range whose ends are reversed).
fn parse_class(chars: &[char]) -> Option<(Tok, usize)> {
    let mut i = 0;
    let negated = chars.first() == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let one = |i: &mut usize| -> Option<char> {
        let c = *chars.get(*i)?;
        *i += 1;
        if c == '\\' {
            let e = regex_escape(*chars.get(*i)?)?;
            *i += 1;
            return Some(e);
        }
        Some(c)
    };
    loop {
        match chars.get(i) {
            None => return None,
            Some(']') if !ranges.is_empty() => {
                i += 1;
                break;
            }
            Some(_) => {}
        }
        let lo = one(&mut i)?;
        let mut hi = lo;
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&c| c != ']') {
            i += 1;
            hi = one(&mut i)?;
            if hi < lo {
                return None;
            }
        }
        ranges.push((lo, hi));
    }
    Some((Tok::Class { negated, ranges }, i))
}

/// Whether the anchored token sequence matches all of `path`.
fn regex_match(toks: &[Tok], path: &str) -> bool {
    let s: Vec<char> = path.chars().collect();
    let n = s.len();
    let mut set = vec![false; n + 1];
    set[0] = true;
    // Positions reachable from `set` through a run of characters that all
    // satisfy `ok`.
    let run = |set: &[bool], ok: &dyn Fn(char) -> bool| {
        let mut out = vec![false; n + 1];
        let mut open = false;
        for p in 0..=n {
            open = set[p] || (open && ok(s[p - 1]));
            out[p] = open;
        }
        out
    };
    for tok in toks {
        set = match tok {
            Tok::NotSlashRun => run(&set, &|c| c != '/'),
            Tok::AnyRun => run(&set, &|c| c != '\n'),
            Tok::DirPrefix => {
                let reach = run(&set, &|c| c != '\n');
                (0..=n)
                    .map(|q| set[q] || (q > 0 && s[q - 1] == '/' && reach[q - 1]))
                    .collect()
            }
            Tok::Start => (0..=n).map(|q| q == 0 && set[0]).collect(),
            single => {
                let mut next = vec![false; n + 1];
                for p in 0..n {
                    let ok = match single {
                        Tok::Lit(c) => s[p] == *c,
                        Tok::NotSlash => s[p] != '/',
                        Tok::Class { negated, ranges } => {
                            ranges.iter().any(|&(lo, hi)| lo <= s[p] && s[p] <= hi) != *negated
                        }
                        _ => false,
                    };
                    next[p + 1] = set[p] && ok;
                }
                next
            }
        };
    }
    set[n]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's own `filepath.Match` table (src/path/filepath/match_test.go);
    /// `None` is ErrBadPattern.
    const GO_MATCH: &[(&str, &str, Option<bool>)] = &[
        ("abc", "abc", Some(true)),
        ("*", "abc", Some(true)),
        ("*c", "abc", Some(true)),
        ("a*", "a", Some(true)),
        ("a*", "abc", Some(true)),
        ("a*", "ab/c", Some(false)),
        ("a*/b", "abc/b", Some(true)),
        ("a*/b", "a/c/b", Some(false)),
        ("a*b*c*d*e*/f", "axbxcxdxe/f", Some(true)),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Some(true)),
        ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Some(false)),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Some(false)),
        ("a*b?c*x", "abxbbxdbxebxczzx", Some(true)),
        ("a*b?c*x", "abxbbxdbxebxczzy", Some(false)),
        ("ab[c]", "abc", Some(true)),
        ("ab[b-d]", "abc", Some(true)),
        ("ab[e-g]", "abc", Some(false)),
        ("ab[^c]", "abc", Some(false)),
        ("ab[^b-d]", "abc", Some(false)),
        ("ab[^e-g]", "abc", Some(true)),
        ("a\\*b", "a*b", Some(true)),
        ("a\\*b", "ab", Some(false)),
        ("a?b", "a☺b", Some(true)),
        ("a[^a]b", "a☺b", Some(true)),
        ("a???b", "a☺b", Some(false)),
        ("a[^a][^a][^a]b", "a☺b", Some(false)),
        ("[a-ζ]*", "α", Some(true)),
        ("*[a-ζ]", "A", Some(false)),
        ("a?b", "a/b", Some(false)),
        ("a*b", "a/b", Some(false)),
        ("[\\]a]", "]", Some(true)),
        ("[\\-]", "-", Some(true)),
        ("[x\\-]", "x", Some(true)),
        ("[x\\-]", "-", Some(true)),
        ("[x\\-]", "z", Some(false)),
        ("[\\-x]", "x", Some(true)),
        ("[\\-x]", "-", Some(true)),
        ("[\\-x]", "a", Some(false)),
        ("[]a]", "]", None),
        ("[-]", "-", None),
        ("[x-]", "x", None),
        ("[x-]", "-", None),
        ("[x-]", "z", None),
        ("[-x]", "x", None),
        ("[-x]", "-", None),
        ("[-x]", "a", None),
        ("\\", "a", None),
        ("[a-b-c]", "a", None),
        ("[", "a", None),
        ("[^", "a", None),
        ("[^bc", "a", None),
        ("a[", "a", None),
        ("a[", "ab", None),
        ("a[", "x", None),
        ("a/b[", "x", None),
        ("*x", "xxx", Some(true)),
    ];

    #[test]
    fn fn_match_follows_gos_table() {
        let mut failures = Vec::new();
        for &(pattern, name, want) in GO_MATCH {
            let got = fn_match(pattern, name).ok();
            if got != want {
                failures.push(format!("{pattern:?} {name:?}: want {want:?}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn fn_match_negates_with_caret_only() {
        assert_eq!(fn_match("[!a]", "!"), Ok(true));
        assert_eq!(fn_match("[!a]", "b"), Ok(false));
        assert_eq!(fn_match("[^a]", "b"), Ok(true));
    }

    #[test]
    fn bad_pattern_error_names_the_pattern() {
        assert_eq!(
            fn_match("a[", "x").unwrap_err().to_string(),
            "syntax error in pattern \"a[\""
        );
    }

    fn excluded(patterns: &[&str], path: &str) -> Result<bool, PatternError> {
        let patterns: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
        PatternMatcher::new(&patterns)?.excluded(path)
    }

    /// moby/patternmatcher's TestMatches table, checked as
    /// MatchesOrParentMatches checks it (exact and inexact both match).
    const MOBY_MATCHES: &[(&str, &str, bool)] = &[
        ("**", "file", true),
        ("**", "file/", true),
        ("**/", "file", true),
        ("**/", "file/", true),
        ("**", "/", true),
        ("**/", "/", true),
        ("**", "dir/file", true),
        ("**/", "dir/file", true),
        ("**", "dir/file/", true),
        ("**/", "dir/file/", true),
        ("**/**", "dir/file", true),
        ("**/**", "dir/file/", true),
        ("dir/**", "dir/file", true),
        ("dir/**", "dir/file/", true),
        ("dir/**", "dir/dir2/file", true),
        ("dir/**", "dir/dir2/file/", true),
        ("**/dir", "dir", true),
        ("**/dir", "dir/file", true),
        ("**/dir2/*", "dir/dir2/file", true),
        ("**/dir2/*", "dir/dir2/file/", true),
        ("**/dir2/**", "dir/dir2/dir3/file", true),
        ("**/dir2/**", "dir/dir2/dir3/file/", true),
        ("**file", "file", true),
        ("**file", "dir/file", true),
        ("**/file", "dir/file", true),
        ("**file", "dir/dir/file", true),
        ("**/file", "dir/dir/file", true),
        ("**/file*", "dir/dir/file", true),
        ("**/file*", "dir/dir/file.txt", true),
        ("**/file*txt", "dir/dir/file.txt", true),
        ("**/file*.txt", "dir/dir/file.txt", true),
        ("**/file*.txt*", "dir/dir/file.txt", true),
        ("**/**/*.txt", "dir/dir/file.txt", true),
        ("**/**/*.txt2", "dir/dir/file.txt", false),
        ("**/*.txt", "file.txt", true),
        ("**/**/*.txt", "file.txt", true),
        ("a**/*.txt", "a/file.txt", true),
        ("a**/*.txt", "a/dir/file.txt", true),
        ("a**/*.txt", "a/dir/dir/file.txt", true),
        ("a/*.txt", "a/dir/file.txt", false),
        ("a/*.txt", "a/file.txt", true),
        ("a/*.txt**", "a/file.txt", true),
        ("a[b-d]e", "ae", false),
        ("a[b-d]e", "ace", true),
        ("a[b-d]e", "aae", false),
        ("a[^b-d]e", "aze", true),
        (".*", ".foo", true),
        (".*", "foo", false),
        ("abc.def", "abcdef", false),
        ("abc.def", "abc.def", true),
        ("abc.def", "abcZdef", false),
        ("abc?def", "abcZdef", true),
        ("abc?def", "abcdef", false),
        ("**/foo/bar", "foo/bar", true),
        ("**/foo/bar", "dir/foo/bar", true),
        ("**/foo/bar", "dir/dir2/foo/bar", true),
        ("abc/**", "abc", false),
        ("abc/**", "abc/def", true),
        ("abc/**", "abc/def/ghi", true),
        ("**/.foo", ".foo", true),
        ("**/.foo", "bar.foo", false),
        ("a(b)c/def", "a(b)c/def", true),
        ("a(b)c/def", "a(b)c/xyz", false),
        ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
        (
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            true,
        ),
        (
            "dist/*.whl",
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            true,
        ),
        ("a\\\\", "a\\", true),
        ("a\\*b", "a*b", true),
    ];

    #[test]
    fn pattern_matcher_follows_mobys_table() {
        let mut failures = Vec::new();
        for &(pattern, path, want) in MOBY_MATCHES {
            match excluded(&[pattern], path) {
                Ok(got) if got == want => {}
                got => failures.push(format!("{pattern:?} {path:?}: want {want}, got {got:?}")),
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn exceptions_and_order() {
        let cases: &[(&[&str], &str, bool)] = &[
            // moby's multiPatternTests
            (&["**", "!util/docker/web"], "util/docker/web/foo", false),
            (
                &["**", "!util/docker/web", "util/docker/web/foo"],
                "util/docker/web/foo",
                true,
            ),
            (
                &[
                    "**",
                    "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
                ],
                "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
                false,
            ),
            (
                &["**", "!dist/*.whl"],
                "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
                false,
            ),
            // moby's single tests
            (&["*"], "fileutils.go", true),
            (&["*.go"], "fileutils.go", true),
            (&["!fileutils.go", "*.go"], "fileutils.go", true),
            (&["docs", "!docs/README.md"], "docs/README.md", false),
            (&["docs/", "!docs/README.md"], "docs/README.md", false),
            (&["docs/*", "!docs/README.md"], "docs/README.md", false),
            (&["*.go", "!fileutils.go"], "fileutils.go", false),
            (&["*.go"], ".", false),
            (&[], "/any/path/there", false),
            (
                &["docs", "", "  !docs/README.md  "],
                "docs/README.md",
                false,
            ),
            (&["docs", "!docs/README.md"], "docs/other.md", true),
        ];
        for &(patterns, path, want) in cases {
            assert_eq!(excluded(patterns, path), Ok(want), "{patterns:?} {path:?}");
        }
    }

    /// moby's TestMatch: Go's match table through the matcher, where a
    /// parent directory matching counts too.
    #[test]
    fn pattern_matcher_on_gos_table() {
        let mut failures = Vec::new();
        for &(pattern, name, want) in GO_MATCH {
            // Parent matching: "a*" matches the parent "ab" of "ab/c".
            let want = if (pattern, name) == ("a*", "ab/c") {
                Some(true)
            } else {
                want
            };
            let got = excluded(&[pattern], name).ok();
            if got != want {
                failures.push(format!("{pattern:?} {name:?}: want {want:?}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn malformed_patterns() {
        assert_eq!(excluded(&["!"], "x"), Err(PatternError::LoneExclamation));
        assert!(matches!(
            excluded(&["["], "/any/path/there"),
            Err(PatternError::BadPattern { .. })
        ));
        // Passes Go's Match, but moby's regexp refuses the range l-O:
        // accepted at construction, an error when matching (every time).
        let pm = PatternMatcher::new(&["[Local-Only]/".to_string()]).unwrap();
        assert!(pm.excluded("x").is_err());
        assert!(pm.excluded("x").is_err());
    }

    #[test]
    fn compile_kinds_follow_moby() {
        let kind = |p: &str| match compile(&clean(p)) {
            Ok(Kind::Exact) => "exact",
            Ok(Kind::Prefix(_)) => "prefix",
            Ok(Kind::Suffix(_)) => "suffix",
            Ok(Kind::Regex(_)) => "regex",
            Err(_) => "error",
        };
        let cases = [
            ("*", "regex"),
            ("file*", "regex"),
            ("**", "suffix"),
            ("**/**", "regex"),
            ("dir/**", "prefix"),
            ("**/dir", "suffix"),
            ("**/dir2/*", "regex"),
            ("**file", "suffix"),
            ("a[b-d]e", "regex"),
            (".*", "regex"),
            ("abc.def", "exact"),
            ("abc?def", "regex"),
            ("**/foo/bar", "suffix"),
            ("a(b)c/def", "exact"),
        ];
        for (p, want) in cases {
            assert_eq!(kind(p), want, "{p}");
        }
    }

    #[test]
    fn dockerignore_lines() {
        let text = "\u{feff}# comment\n  node_modules  \n\n/abs/path\n!  /keep/me\r\n \
                    # not a comment\n./a/../b//c/\n!\n/\n*.log\n";
        assert_eq!(
            parse_dockerignore(text),
            [
                "node_modules",
                "abs/path",
                "!keep/me",
                "# not a comment",
                "b/c",
                "!",
                "/",
                "*.log"
            ]
        );
    }

    #[test]
    fn clean_follows_go() {
        let cases = [
            ("", "."),
            ("a/c", "a/c"),
            ("a//c", "a/c"),
            ("a/c/.", "a/c"),
            ("a/c/b/..", "a/c"),
            ("/../a/c", "/a/c"),
            ("../../a", "../../a"),
            ("a/../..", ".."),
            ("/", "/"),
            ("./", "."),
            ("abc/def/../../..", ".."),
        ];
        for (input, want) in cases {
            assert_eq!(clean(input), want, "{input:?}");
        }
        assert_eq!(dir("a/b/c"), "a/b");
        assert_eq!(dir("a"), ".");
    }

    #[test]
    fn a_realistic_dockerignore() {
        let text = "# dependencies\nnode_modules\n**/*.log\n!important.log\n/build\n.git\n\
                    *.md\n!README*.md\n";
        let pm = PatternMatcher::new(&parse_dockerignore(text)).unwrap();
        let cases = [
            ("node_modules", true),
            ("node_modules/x/y.js", true),
            ("a/b/c.log", true),
            ("c.log", true),
            ("important.log", false),
            ("sub/important.log", true),
            ("build/out.o", true),
            ("src/build", false),
            (".git/HEAD", true),
            ("README.md", false),
            ("README-dev.md", false),
            ("CHANGELOG.md", true),
            ("docs/guide.md", false),
            ("src/main.rs", false),
            ("./src/../c.log", true),
        ];
        for (path, want) in cases {
            assert_eq!(pm.excluded(path), Ok(want), "{path}");
        }
    }

    #[test]
    fn exceptions_below_directories() {
        let pm = PatternMatcher::new(&[
            "vendor".to_string(),
            "!vendor/keep/*.go".to_string(),
            "build".to_string(),
        ])
        .unwrap();
        assert!(pm.excluded("vendor/keep").unwrap());
        assert!(!pm.excluded("vendor/keep/a.go").unwrap());
        assert!(pm.has_exceptions_below("vendor"));
        assert!(pm.has_exceptions_below("vendor/keep"));
        assert!(!pm.has_exceptions_below("vendor/other"));
        assert!(!pm.has_exceptions_below("build"));
        let deep = PatternMatcher::new(&["*".to_string(), "!**/*.md".to_string()]).unwrap();
        assert!(deep.has_exceptions_below("anything/at/all"));
        assert!(!deep.is_empty());
        assert!(PatternMatcher::new(&[]).unwrap().is_empty());
    }
}
