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
    /// Anything else: moby's regular expression, compiled by the `regex`
    /// crate (RE2 semantics, as Go's regexp).
    Regex(regex::Regex),
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
            Ok(Kind::Regex(re)) => Ok(re.is_match(path)),
        }
    }
}

/// moby's `Pattern.compile`: decides how a pattern is matched and, for the
/// regular-expression kind, builds moby's expression (in Go's syntax) and
/// compiles it.
fn compile(pattern: &str) -> Result<Kind, PatternError> {
    #[derive(PartialEq)]
    enum Detected {
        Exact,
        Prefix,
        Suffix,
        Regex,
    }
    let mut re = String::from("^");
    let mut detected = Detected::Exact;
    let mut chars = pattern.chars().peekable();
    let mut first = true;
    while let Some(ch) = chars.next() {
        match ch {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                // `**/` is `**`.
                chars.next_if_eq(&'/');
                if chars.peek().is_none() {
                    if detected == Detected::Exact {
                        detected = Detected::Prefix;
                    } else {
                        re.push_str(".*");
                        detected = Detected::Regex;
                    }
                } else {
                    re.push_str("(.*/)?");
                    detected = Detected::Regex;
                }
                if first {
                    detected = Detected::Suffix;
                }
            }
            '*' => {
                re.push_str("[^/]*");
                detected = Detected::Regex;
            }
            '?' => {
                re.push_str("[^/]");
                detected = Detected::Regex;
            }
            // Regexp metacharacters that mean nothing to filepath.Match.
            '.' | '+' | '(' | ')' | '{' | '}' | '$' | '|' => {
                re.push('\\');
                re.push(ch);
            }
            '\\' => {
                re.push('\\');
                if let Some(next) = chars.next() {
                    re.push(next);
                    detected = Detected::Regex;
                }
            }
            '[' | ']' => {
                re.push(ch);
                detected = Detected::Regex;
            }
            c => re.push(c),
        }
        first = false;
    }
    Ok(match detected {
        Detected::Exact => Kind::Exact,
        Detected::Prefix => Kind::Prefix(pattern[..pattern.len() - 2].to_string()),
        Detected::Suffix => Kind::Suffix(pattern[2..].to_string()),
        Detected::Regex => {
            re.push('$');
            let rust = go_regex_to_rust(&re).ok_or_else(|| bad(pattern))?;
            Kind::Regex(regex::Regex::new(&rust).map_err(|_| bad(pattern))?)
        }
    })
}

// ---------------------------------------------------------------------------
// Go's regexp syntax, respelled for the regex crate.
//
// Both are RE2, but they spell a few things differently: Go's `\d`, `\s`,
// `\w` and `\b` are ASCII (the crate's are Unicode), a `[` inside a class is
// a literal unless it opens `[:name:]` (the crate nests classes), `&&`, `--`
// and `~~` inside a class are literal (the crate's set operations), `\Q...\E`
// quotes, `\123` is octal and any escaped punctuation is itself. Literals are
// therefore re-escaped for the crate, and everything else passes through.

/// A regular expression in Go's syntax as the regex crate reads it; `None`
/// where Go's regexp would refuse it (or uses what the crate cannot match on
/// text, `\C`).
fn go_regex_to_rust(re: &str) -> Option<String> {
    let s: Vec<char> = re.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            '\\' if s.get(i + 1) == Some(&'Q') => {
                // Literal text up to `\E` or the end.
                i += 2;
                while i < s.len() && !(s[i] == '\\' && s.get(i + 1) == Some(&'E')) {
                    push_literal(&mut out, s[i]);
                    i += 1;
                }
                i += 2;
            }
            '\\' => {
                let (esc, used) = go_escape(&s[i + 1..])?;
                match esc {
                    Escape::Char(c) => push_literal(&mut out, c),
                    Escape::Class(class) => out.push_str(&class),
                    Escape::Assertion(a) => out.push_str(a),
                }
                i += 1 + used;
            }
            '[' => {
                let used = go_class(&s[i..], &mut out)?;
                i += used;
            }
            c @ ('^' | '$' | '.' | '(' | ')' | '*' | '?' | '+' | '|') => {
                out.push(c);
                i += 1;
            }
            c => {
                push_literal(&mut out, c);
                i += 1;
            }
        }
    }
    Some(out)
}

/// What a Go escape sequence stands for.
enum Escape {
    /// One character (`\.`, `\n`, `\x41`, `\101`).
    Char(char),
    /// A class, in the crate's syntax (`\d` is `[0-9]`, `\pL` stays).
    Class(String),
    /// A zero-width assertion, in the crate's syntax (outside classes only).
    Assertion(&'static str),
}

/// Reads the escape after a `\` (`s` starts after it), as Go's parser does:
/// what it means and how many characters it used.
fn go_escape(s: &[char]) -> Option<(Escape, usize)> {
    let c = *s.first()?;
    let perl = |class: &str| Some((Escape::Class(class.to_string()), 1));
    match c {
        'd' => perl("[0-9]"),
        'D' => perl("[^0-9]"),
        's' => perl("[\\t\\n\\x0C\\r ]"),
        'S' => perl("[^\\t\\n\\x0C\\r ]"),
        'w' => perl("[0-9A-Za-z_]"),
        'W' => perl("[^0-9A-Za-z_]"),
        'b' => Some((Escape::Assertion("(?-u:\\b)"), 1)),
        'B' => Some((Escape::Assertion("(?-u:\\B)"), 1)),
        'A' => Some((Escape::Assertion("\\A"), 1)),
        'z' => Some((Escape::Assertion("\\z"), 1)),
        // `\pL`: moby escapes `{`, so `\p{Greek}` never reaches the parser
        // as a name in braces (and Go refuses what it becomes).
        'p' | 'P' => {
            let name = *s.get(1)?;
            if !name.is_ascii_alphabetic() {
                return None;
            }
            Some((Escape::Class(format!("\\{c}{name}")), 2))
        }
        'a' => Some((Escape::Char('\u{7}'), 1)),
        'f' => Some((Escape::Char('\u{c}'), 1)),
        'n' => Some((Escape::Char('\n'), 1)),
        'r' => Some((Escape::Char('\r'), 1)),
        't' => Some((Escape::Char('\t'), 1)),
        'v' => Some((Escape::Char('\u{b}'), 1)),
        // Octal: `\0` and up to two more digits, or `\1`-`\7` followed by
        // one (a single non-zero digit would be a backreference).
        '0'..='7' => {
            if c != '0' && !s.get(1).is_some_and(|d| ('0'..='7').contains(d)) {
                return None;
            }
            let digits: String = s
                .iter()
                .take(3)
                .take_while(|d| ('0'..='7').contains(*d))
                .collect();
            let code = u32::from_str_radix(&digits, 8).ok()?;
            Some((Escape::Char(char::from_u32(code)?), digits.len()))
        }
        // `\x41` (the braced form cannot survive moby's escaping of `{`).
        'x' => {
            let hex: String = s.get(1..3)?.iter().collect();
            let code = u32::from_str_radix(&hex, 16).ok()?;
            Some((Escape::Char(char::from_u32(code)?), 3))
        }
        c if c.is_ascii_punctuation() => Some((Escape::Char(c), 1)),
        _ => None,
    }
}

/// Go's POSIX class names (`[:alpha:]`...); the crate knows the same ones.
const POSIX_CLASSES: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// Reads a Go class (`s` starts at its `[`) into `out` in the crate's
/// syntax; how many characters it used.
fn go_class(s: &[char], out: &mut String) -> Option<usize> {
    let mut i = 1;
    out.push('[');
    if s.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    // `]` (and `-`) right after the `[` or `[^` is a literal.
    let mut first = true;
    loop {
        match s.get(i)? {
            ']' if !first => break,
            '[' if s.get(i + 1) == Some(&':') => {
                let rest: String = s[i + 2..].iter().collect();
                if let Some(end) = rest.find(":]") {
                    let name = &rest[..end];
                    let bare = name.strip_prefix('^').unwrap_or(name);
                    if !POSIX_CLASSES.contains(&bare) {
                        return None;
                    }
                    out.push_str(&format!("[:{name}:]"));
                    i += 2 + name.chars().count() + 2;
                    first = false;
                    continue;
                }
            }
            _ => {}
        }
        first = false;
        let lo = match class_char(s, &mut i)? {
            Ok(c) => c,
            Err(class) => {
                out.push_str(&class);
                continue;
            }
        };
        if s.get(i) == Some(&'-') && s.get(i + 1).is_some_and(|&c| c != ']') {
            i += 1;
            let hi = class_char(s, &mut i)?.ok()?;
            if hi < lo {
                return None;
            }
            push_literal(out, lo);
            out.push('-');
            push_literal(out, hi);
        } else {
            push_literal(out, lo);
        }
    }
    out.push(']');
    Some(i + 1)
}

/// One member of a class at `s[*i]`: a character, or (`Err`) a class such
/// as `\d` in the crate's syntax. `None` for an escape Go refuses in a class.
fn class_char(s: &[char], i: &mut usize) -> Option<Result<char, String>> {
    let c = *s.get(*i)?;
    if c != '\\' {
        *i += 1;
        return Some(Ok(c));
    }
    let (esc, used) = go_escape(&s[*i + 1..])?;
    *i += 1 + used;
    match esc {
        Escape::Char(c) => Some(Ok(c)),
        Escape::Class(class) => Some(Err(class)),
        Escape::Assertion(_) => None,
    }
}

/// Appends `c` as a literal, escaped for the crate (in or out of a class).
fn push_literal(out: &mut String, c: char) {
    let mut buf = [0; 4];
    out.push_str(&regex::escape(c.encode_utf8(&mut buf)));
}

#[cfg(test)]
mod tests;
