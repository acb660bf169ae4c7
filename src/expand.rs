//! ARG/ENV substitution in instruction arguments, following BuildKit's shell
//! lexer (`frontend/dockerfile/shell/lex.go`) rule for rule.
//!
//! A word is scanned once, left to right. `$NAME` and `${NAME...}` are
//! replaced by values looked up through [`Vars`]; single quotes keep
//! everything literal; double quotes keep everything but `$` and a few
//! escapes; the escape character (`\` or the `# escape=` directive's
//! character) makes the next character literal. Quotes and escapes are
//! removed from the result. Only the Unix rules are implemented: variable
//! names are case-sensitive.
//!
//! Supported forms inside `${...}`: `${V}`, `${V:-w}`, `${V-w}`, `${V:+w}`,
//! `${V+w}`, `${V:?msg}`, `${V?msg}`, `${V#pat}`, `${V##pat}`, `${V%pat}`,
//! `${V%%pat}`, `${V/pat/rep}` and `${V//pat/rep}`, where patterns know `*`
//! and `?` (no bracket expressions, as in BuildKit).

use pattern::{replace_all, trim_prefix, trim_suffix, Glob};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Where the lexer looks variables up.
pub trait Vars {
    /// The value of `name`, or `None` when it is not set (which is not the
    /// same as set to the empty string).
    fn lookup(&self, name: &str) -> Option<String>;
}

impl Vars for BTreeMap<String, String> {
    fn lookup(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl Vars for HashMap<String, String> {
    fn lookup(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// A list of `(name, value)` pairs; when a name occurs more than once, the
/// last occurrence wins (as in an environment built up by successive ENV).
impl Vars for [(String, String)] {
    fn lookup(&self, name: &str) -> Option<String> {
        self.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

/// The same list, owned.
impl Vars for Vec<(String, String)> {
    fn lookup(&self, name: &str) -> Option<String> {
        self.as_slice().lookup(name)
    }
}

/// Through a reference, so that an unsized `[(String, String)]` can be passed
/// as `&dyn Vars` (`&pairs.as_slice()`).
impl<T: Vars + ?Sized> Vars for &T {
    fn lookup(&self, name: &str) -> Option<String> {
        (**self).lookup(name)
    }
}

/// Why a word could not be expanded. The messages are BuildKit's, so that
/// users see what `docker build` would tell them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExpandError {
    /// A `'` without its closing partner.
    #[error("unexpected end of statement while looking for matching single-quote")]
    UnterminatedSingleQuote,
    /// A `"` without its closing partner.
    #[error("unexpected end of statement while looking for matching double-quote")]
    UnterminatedDoubleQuote,
    /// The word ended while looking for `stop` (`}` or `/`) inside `${...}`.
    #[error("unexpected end of statement while looking for matching {stop}")]
    UnexpectedEnd {
        /// The character that was being looked for.
        stop: char,
    },
    /// `${` without a closing `}`.
    #[error("syntax error: missing '}}'")]
    MissingBrace,
    /// `${V/pattern` without the `/` that ends the pattern.
    #[error("syntax error: missing '/' in ${{}}")]
    MissingSlash,
    /// `${}`, `${{...}`, `${:...}` and the like.
    #[error("syntax error: bad substitution")]
    BadSubstitution,
    /// A modifier BuildKit does not know, such as `${V:=w}`.
    #[error("unsupported modifier ({modifier}) in substitution")]
    UnsupportedModifier {
        /// The modifier as written (`:=`, `:Y`, `.` ...).
        modifier: String,
    },
    /// `${V?msg}` with `V` unset, or `${V:?msg}` with `V` unset or empty.
    #[error("{name}: {message}")]
    Required {
        /// The variable's name.
        name: String,
        /// The message from the word, or BuildKit's default one.
        message: String,
    },
    /// A word whose expansion grew past [`MAX_WORD_BYTES`] or the lexer's
    /// [`Lexer::word_limit`] (a variable
    /// doubling another one, a replacement longer than what it replaces).
    #[error("the result would be longer than {limit} bytes, the most one word may have")]
    TooLong {
        /// The limit, in bytes.
        limit: usize,
    },
    /// `${...}` nested in the default or pattern of another more than
    /// [`MAX_DEPTH`] times.
    #[error("variable substitutions nested more than {limit} levels deep")]
    TooDeep {
        /// The limit on nesting.
        limit: usize,
    },
    /// A `#`, `%` or `/` pattern with an escape BuildKit refuses.
    #[error("invalid pattern ({pattern}) in substitution: {reason}")]
    InvalidPattern {
        /// The pattern as it was after expansion.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The most bytes one expanded word may have. BuildKit has no limit; 1 MiB
/// is far beyond any path, label or variable a Dockerfile needs, and keeps a
/// few lines of `ARG B=$A$A` from filling the memory.
pub const MAX_WORD_BYTES: usize = 1 << 20;

/// The deepest `${V:-${W:-...}}` nesting the lexer follows; checked before
/// each recursion, so that a hostile word cannot overflow the stack.
pub const MAX_DEPTH: usize = 100;

/// `word` quoted for an error message (control characters escaped), its
/// middle left out when it is long: a hostile word can be megabytes.
pub fn quoted_for_message(word: &str) -> String {
    const KEEP: usize = 40;
    if word.chars().count() <= 2 * KEEP {
        return format!("{word:?}");
    }
    let head: String = word.chars().take(KEEP).collect();
    let tail: Vec<char> = word.chars().rev().take(KEEP).collect();
    let tail: String = tail.into_iter().rev().collect();
    format!("{:?}", format!("{head}…{tail}"))
}

/// The shell-word lexer, configured with the Dockerfile's escape character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lexer {
    escape: char,
    skip_quotes: bool,
    max_word: usize,
}

impl Default for Lexer {
    fn default() -> Self {
        Lexer::new('\\')
    }
}

impl Lexer {
    /// A lexer whose escape character is `escape` (`\` unless the
    /// Dockerfile says `# escape=` otherwise).
    pub fn new(escape: char) -> Self {
        Lexer {
            escape,
            skip_quotes: false,
            max_word: MAX_WORD_BYTES,
        }
    }

    /// Allows expanded words of up to `bytes` instead of
    /// [`MAX_WORD_BYTES`] (heredoc bodies are whole files).
    pub fn word_limit(mut self, bytes: usize) -> Self {
        self.max_word = bytes;
        self
    }

    /// BuildKit's `SkipProcessQuotes`: quotes stay as written (used for
    /// heredoc bodies, where only variables are substituted).
    pub fn skip_process_quotes(mut self, skip: bool) -> Self {
        self.skip_quotes = skip;
        self
    }

    /// ProcessWord: expand and remove quotes/escapes; one resulting string.
    pub fn process_word(&self, word: &str, vars: &dyn Vars) -> Result<String, ExpandError> {
        Ok(self.run(word, vars, false)?.0)
    }

    /// ProcessWords: expand and split into words (as BuildKit, for wordsTest).
    ///
    /// Splitting happens on whitespace that came from the word itself or from
    /// an unquoted variable's value; quoted and escaped whitespace stays.
    pub fn process_words(&self, word: &str, vars: &dyn Vars) -> Result<Vec<String>, ExpandError> {
        Ok(self.run(word, vars, true)?.1)
    }

    /// ProcessWordWithMatches: also the set of variable names that were referenced and found.
    pub fn process_word_with_matches(
        &self,
        word: &str,
        vars: &dyn Vars,
    ) -> Result<(String, BTreeSet<String>), ExpandError> {
        let (result, _, matches) = self.run(word, vars, false)?;
        Ok((result, matches))
    }

    /// Expands `word`; the split words are only worked out with `split`.
    fn run(
        &self,
        word: &str,
        vars: &dyn Vars,
        split: bool,
    ) -> Result<(String, Vec<String>, BTreeSet<String>), ExpandError> {
        let mut scan = Scan {
            chars: word.chars().collect(),
            pos: 0,
            escape: self.escape,
            skip_quotes: self.skip_quotes,
            raw_escapes: false,
            split,
            max_word: self.max_word,
            depth: 0,
            vars,
            matches: BTreeSet::new(),
        };
        let (result, words) = scan.process_until(None, false)?;
        Ok((result, words, scan.matches))
    }
}

/// Builds the split words alongside the single result, as BuildKit does.
#[derive(Default)]
struct Words {
    word: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    /// A character that splits on whitespace.
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() {
            if self.in_word && !self.word.is_empty() {
                self.words.push(std::mem::take(&mut self.word));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(ch);
        }
    }

    /// A character kept as it is, whitespace included.
    fn add_raw_char(&mut self, ch: char) {
        self.word.push(ch);
        self.in_word = true;
    }

    /// Text whose whitespace splits words (an unquoted variable's value).
    fn add_str(&mut self, s: &str) {
        s.chars().for_each(|c| self.add_char(c));
    }

    /// Quoted text: one piece of the current word, even when empty.
    fn add_raw_str(&mut self, s: &str) {
        self.word.push_str(s);
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        if !self.word.is_empty() {
            self.words.push(self.word);
        }
        self.words
    }
}

/// The scanning state over one word.
struct Scan<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    /// Quotes are ordinary characters (heredoc bodies).
    skip_quotes: bool,
    /// Keep escape characters in the result (inside `#`, `%` and `/`
    /// patterns, where the pattern converter interprets them).
    raw_escapes: bool,
    /// Split variable values into words (ProcessWords only: splitting a
    /// value character by character is most of the work on long ones).
    split: bool,
    /// The most bytes the word may expand to.
    max_word: usize,
    /// How many `process_until` calls are running (nesting of `${...}`).
    depth: usize,
    vars: &'a dyn Vars,
    matches: BTreeSet<String>,
}

impl Scan<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn lookup(&mut self, name: &str) -> Option<String> {
        let value = self.vars.lookup(name);
        if value.is_some() {
            self.matches.insert(name.to_string());
        }
        value
    }

    /// Processes up to `stop` (consumed) or, with `None`, to the end of the
    /// word; returns the joined result and the split words.
    fn process_until(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), ExpandError> {
        if self.depth > MAX_DEPTH {
            return Err(ExpandError::TooDeep { limit: MAX_DEPTH });
        }
        self.depth += 1;
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let out = self.process_until_inner(stop);
        self.raw_escapes = saved;
        self.depth -= 1;
        out
    }

    fn process_until_inner(
        &mut self,
        stop: Option<char>,
    ) -> Result<(String, Vec<String>), ExpandError> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if stop == Some(ch) {
                self.pos += 1;
                return Ok((result, words.finish()));
            }
            match ch {
                '$' => {
                    let value = self.dollar()?;
                    result.push_str(&value);
                    if self.split {
                        words.add_str(&value);
                    }
                }
                '\'' if !self.skip_quotes => {
                    let value = self.single_quoted()?;
                    result.push_str(&value);
                    words.add_raw_str(&value);
                }
                '"' if !self.skip_quotes => {
                    let value = self.double_quoted()?;
                    result.push_str(&value);
                    words.add_raw_str(&value);
                }
                _ => {
                    self.pos += 1;
                    if ch == self.escape {
                        if self.raw_escapes {
                            words.add_raw_char(ch);
                            result.push(ch);
                        }
                        // An escape at the very end is dropped.
                        let Some(escaped) = self.next() else { break };
                        words.add_raw_char(escaped);
                        result.push(escaped);
                    } else {
                        words.add_char(ch);
                        result.push(ch);
                    }
                }
            }
            check_len(&result, self.max_word)?;
        }
        match stop {
            Some(stop) => Err(ExpandError::UnexpectedEnd { stop }),
            None => Ok((result, words.finish())),
        }
    }

    /// `'...'`: everything literal, no escapes at all.
    fn single_quoted(&mut self) -> Result<String, ExpandError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.next() {
                None => return Err(ExpandError::UnterminatedSingleQuote),
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    /// `"..."`: `$` expands; the escape character escapes only `"`, `$`
    /// and itself, and is kept literally before anything else.
    fn double_quoted(&mut self) -> Result<String, ExpandError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(ExpandError::UnterminatedDoubleQuote),
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('$') => {
                    let value = self.dollar()?;
                    out.push_str(&value);
                    check_len(&out, self.max_word)?;
                }
                Some(mut c) => {
                    self.pos += 1;
                    if c == self.escape {
                        if self.raw_escapes {
                            out.push(c);
                        }
                        match self.peek() {
                            // An escape right before the end of the word is dropped.
                            None => continue,
                            Some(n) if n == '"' || n == '$' || n == self.escape => {
                                self.pos += 1;
                                c = n;
                            }
                            Some(_) => {}
                        }
                    }
                    out.push(c);
                }
            }
        }
    }

    /// `$NAME`, `${NAME}` and `${NAME<modifier>...}`, the `$` not yet consumed.
    fn dollar(&mut self) -> Result<String, ExpandError> {
        self.pos += 1;
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".to_string());
            }
            return Ok(self.lookup(&name).unwrap_or_default());
        }
        self.pos += 1;
        match self.peek() {
            None => return Err(ExpandError::MissingBrace),
            Some('{' | '}' | ':') => return Err(ExpandError::BadSubstitution),
            Some(_) => {}
        }
        let name = self.name();
        let first = self.next();
        let modifier: String = first.map_or('\u{FFFD}', |c| c).to_string();
        match first {
            Some('}') => Ok(self.lookup(&name).unwrap_or_default()),
            // BuildKit reports "unsupported modifier (\u{FFFD})" here; the
            // missing brace is what the user needs to hear.
            None => Err(ExpandError::MissingBrace),
            Some(':' | '+' | '-' | '?' | '#' | '%') => self.modifier(name, first, modifier),
            Some('/') => self.substitution(name),
            _ => Err(ExpandError::UnsupportedModifier { modifier }),
        }
    }

    /// `${NAME:-word}` and the other modifiers after the name; `first` is
    /// the character after the name, `modifier` what was read of it.
    fn modifier(
        &mut self,
        name: String,
        first: Option<char>,
        mut modifier: String,
    ) -> Result<String, ExpandError> {
        let null_is_unset = first == Some(':');
        let op = if null_is_unset {
            let second = self.next();
            modifier.push(second.map_or('\u{FFFD}', |c| c));
            second
        } else {
            first
        };
        let raw = matches!(op, Some('#' | '%'));
        let word = self.process_until(Some('}'), raw).map_err(|e| {
            if self.peek().is_none() {
                ExpandError::MissingBrace
            } else {
                e
            }
        })?;
        let word = word.0;
        let value = self.lookup(&name);
        let empty = |v: &Option<String>| v.as_deref().is_none_or(|s| s.is_empty());
        let unset = |v: &Option<String>| v.is_none() || (null_is_unset && empty(v));
        match op {
            Some('-') => Ok(if unset(&value) {
                word
            } else {
                value.unwrap_or_default()
            }),
            Some('+') => Ok(if unset(&value) { String::new() } else { word }),
            Some('?') => match value {
                None => Err(required(name, word, "is not allowed to be unset")),
                Some(v) if null_is_unset && v.is_empty() => {
                    Err(required(name, word, "is not allowed to be empty"))
                }
                Some(v) => Ok(v),
            },
            Some(c @ ('#' | '%')) => {
                let (greedy, pattern) = match word.strip_prefix(c) {
                    Some(rest) => (true, rest.to_string()),
                    None => (false, word),
                };
                let value = value.unwrap_or_default();
                if c == '%' {
                    trim_suffix(&pattern, &value, greedy)
                } else {
                    trim_prefix(&pattern, &value, greedy)
                }
            }
            _ => Err(ExpandError::UnsupportedModifier { modifier }),
        }
    }

    /// `${NAME/pattern/replacement}` and `${NAME//pattern/replacement}`,
    /// the first `/` consumed.
    fn substitution(&mut self, name: String) -> Result<String, ExpandError> {
        let all = self.peek() == Some('/');
        if all {
            self.pos += 1;
        }
        let (pattern, _) = self.process_until(Some('/'), true).map_err(|e| {
            if self.peek().is_none() {
                ExpandError::MissingSlash
            } else {
                e
            }
        })?;
        let (replacement, _) = self.process_until(Some('}'), true).map_err(|e| {
            if self.peek().is_none() {
                ExpandError::MissingBrace
            } else {
                e
            }
        })?;
        let value = self.lookup(&name).unwrap_or_default();
        let tokens = Glob::parse(&pattern)?;
        let chars: Vec<char> = value.chars().collect();
        Ok(if all {
            replace_all(&tokens, &chars, &replacement, self.max_word)?
        } else {
            match tokens.find(&chars, 0) {
                Some((s, e)) => {
                    let mut out: String = chars[..s].iter().collect();
                    out.push_str(&replacement);
                    out.extend(&chars[e..]);
                    out
                }
                None => value,
            }
        })
    }

    /// A variable name: letters, digits and `_`; or a run of digits (a
    /// positional parameter); or one special parameter character.
    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && is_digit(ch) {
                while let Some(d) = self.peek().filter(|&d| is_digit(d)) {
                    self.pos += 1;
                    name.push(d);
                }
                return name;
            }
            if name.is_empty() && is_special_param(ch) {
                self.pos += 1;
                return ch.to_string();
            }
            if !ch.is_alphabetic() && !is_digit(ch) && ch != '_' {
                break;
            }
            self.pos += 1;
            name.push(ch);
        }
        name
    }
}

/// Refuses a word that has grown past `limit`.
fn check_len(s: &str, limit: usize) -> Result<(), ExpandError> {
    if s.len() > limit {
        return Err(ExpandError::TooLong { limit });
    }
    Ok(())
}

fn required(name: String, word: String, default: &str) -> ExpandError {
    let message = if word.is_empty() {
        default.to_string()
    } else {
        word
    };
    ExpandError::Required { name, message }
}

/// Go's `unicode.IsDigit`, as near as std allows: decimal digits, which
/// std exposes as numeric characters that are not letters-like numerals.
fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric() && !c.is_alphabetic())
}

/// The POSIX special parameters (`$@`, `$*`, `$#`, `$?`, `$-`, `$$`, `$!`, `$0`).
fn is_special_param(c: char) -> bool {
    matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0')
}

mod pattern;

#[cfg(test)]
mod tests;
