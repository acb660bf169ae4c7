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

mod fnmatch;
mod goregex;

pub use fnmatch::fn_match;
use goregex::go_regex_to_rust;

#[cfg(test)]
mod tests;
