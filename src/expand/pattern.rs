//! The patterns of `${V#pat}`, `${V%pat}` and `${V/pat/rep}`: `*` and
//! `?` (no bracket expressions, as in BuildKit), matched in one pass.

use super::{check_len, ExpandError};

/// One element of a `#`/`%`/`/` pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GlobTok {
    /// `*`: any run of characters except newline.
    Star,
    /// `?`: one character except newline.
    Any,
    /// A literal character.
    Lit(char),
}

/// A shell pattern as BuildKit converts it to a regular expression: `*`,
/// `?`, literals, and `\` before `*`, `?`, `\` (or before `}` and `/`,
/// where the backslash is dropped).
pub(super) struct Glob(Vec<GlobTok>);

impl Glob {
    pub(super) fn parse(pattern: &str) -> Result<Glob, ExpandError> {
        let mut toks = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            toks.push(match c {
                '*' => GlobTok::Star,
                '?' => GlobTok::Any,
                '\\' => {
                    if matches!(chars.peek(), Some('}' | '/')) {
                        continue;
                    }
                    match chars.next() {
                        Some(e @ ('*' | '?' | '\\')) => GlobTok::Lit(e),
                        other => {
                            return Err(ExpandError::InvalidPattern {
                                pattern: pattern.to_string(),
                                reason: format!(
                                    "invalid escape '\\{}'",
                                    other.unwrap_or('\u{FFFD}')
                                ),
                            })
                        }
                    }
                }
                c => GlobTok::Lit(c),
            });
        }
        Ok(Glob(toks))
    }

    /// Follows the patterns tokens that match the empty string: a `*` at
    /// token `i` lets a thread at `i` go on to `i + 1`. `at[i]` is the
    /// earliest start of a thread that has matched tokens `..i`.
    fn close(&self, at: &mut [Option<usize>]) {
        for (i, tok) in self.0.iter().enumerate() {
            if *tok == GlobTok::Star {
                at[i + 1] = earliest(at[i + 1], at[i]);
            }
        }
    }

    /// The threads after reading `c`.
    fn step(&self, at: &[Option<usize>], c: char) -> Vec<Option<usize>> {
        let mut next = vec![None; at.len()];
        for (i, tok) in self.0.iter().enumerate() {
            let Some(start) = at[i] else { continue };
            match tok {
                GlobTok::Star if c != '\n' => next[i] = earliest(next[i], Some(start)),
                GlobTok::Any if c != '\n' => next[i + 1] = earliest(next[i + 1], Some(start)),
                GlobTok::Lit(l) if *l == c => next[i + 1] = earliest(next[i + 1], Some(start)),
                _ => {}
            }
        }
        self.close(&mut next);
        next
    }

    /// A match anchored at `start`: the longest (`greedy`) or shortest end,
    /// which is what Go's leftmost-first regexp picks for these patterns.
    /// One pass over the value, following every token position at once.
    fn match_at(&self, s: &[char], start: usize, greedy: bool) -> Option<usize> {
        let done = self.0.len();
        let mut at = vec![None; done + 1];
        at[0] = Some(start);
        self.close(&mut at);
        let mut found = None;
        for p in start..=s.len() {
            if at[done].is_some() {
                found = Some(p);
                if !greedy {
                    break;
                }
            }
            if p == s.len() || at.iter().all(Option::is_none) {
                break;
            }
            at = self.step(&at, s[p]);
        }
        found
    }

    /// The leftmost (then longest) match at or after `from`, in one pass:
    /// a thread starts at each position until a match is found, and of
    /// the threads on one token position only the earliest start is kept
    /// (a later one can only end where the earlier one ends).
    pub(super) fn find(&self, s: &[char], from: usize) -> Option<(usize, usize)> {
        let done = self.0.len();
        let mut at: Vec<Option<usize>> = vec![None; done + 1];
        let mut best: Option<(usize, usize)> = None;
        for p in from..=s.len() {
            if best.is_none() {
                at[0] = earliest(at[0], Some(p));
                self.close(&mut at);
            }
            if let Some(st) = at[done] {
                match best {
                    Some((b, _)) if st > b => {}
                    _ => best = Some((st, p)),
                }
            }
            if let Some((b, _)) = best {
                at.iter_mut()
                    .filter(|t| t.is_some_and(|st| st > b))
                    .for_each(|t| *t = None);
                if at.iter().all(Option::is_none) {
                    break;
                }
            }
            if p == s.len() {
                break;
            }
            at = self.step(&at, s[p]);
        }
        best
    }
}

/// The earlier of two thread starts.
pub(super) fn earliest(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

pub(super) fn trim_prefix(pattern: &str, value: &str, greedy: bool) -> Result<String, ExpandError> {
    let glob = Glob::parse(pattern)?;
    let chars: Vec<char> = value.chars().collect();
    Ok(match glob.match_at(&chars, 0, greedy) {
        Some(end) => chars[end..].iter().collect(),
        None => value.to_string(),
    })
}

/// Suffix trimming is prefix trimming of the reversed value with the
/// reversed pattern (escapes kept in front of what they escape).
pub(super) fn trim_suffix(pattern: &str, value: &str, greedy: bool) -> Result<String, ExpandError> {
    let reversed: String = value.chars().rev().collect();
    let trimmed = trim_prefix(&reverse_pattern(pattern), &reversed, greedy)?;
    Ok(trimmed.chars().rev().collect())
}

pub(super) fn reverse_pattern(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut units: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && i + 1 < chars.len() {
            units.push(chars[i..i + 2].iter().collect());
            i += 2;
        } else {
            units.push(chars[i].to_string());
            i += 1;
        }
    }
    units.into_iter().rev().collect()
}

/// Go's `Regexp.ReplaceAllString`: non-overlapping matches left to right, an
/// empty match right after a previous match skipped, and `$` templates in
/// the replacement expanded (there are no groups, so `$x` is empty).
pub(super) fn replace_all(
    glob: &Glob,
    s: &[char],
    replacement: &str,
    limit: usize,
) -> Result<String, ExpandError> {
    let repl = expand_template(replacement);
    let mut out = String::new();
    let mut last_end = 0;
    let mut search = 0;
    while search <= s.len() {
        let Some((start, end)) = glob.find(s, search) else {
            break;
        };
        out.extend(&s[last_end..start]);
        if end > last_end || start == 0 {
            out.push_str(&repl);
        }
        check_len(&out, limit)?;
        last_end = end;
        search = if search + 1 > end { search + 1 } else { end };
    }
    out.extend(&s[last_end.min(s.len())..]);
    check_len(&out, limit)?;
    Ok(out)
}

/// Go's `Regexp.Expand` for a regexp without capture groups.
pub(super) fn expand_template(template: &str) -> String {
    let chars: Vec<char> = template.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let is_name = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        if chars[i] != '$' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        match chars.get(i + 1) {
            Some('$') => {
                out.push('$');
                i += 2;
            }
            Some('{') => match chars[i + 2..].iter().position(|&c| c == '}') {
                Some(len) if len > 0 && chars[i + 2..i + 2 + len].iter().all(|&c| is_name(c)) => {
                    i += len + 3;
                }
                _ => {
                    out.push('$');
                    i += 1;
                }
            },
            Some(&c) if is_name(c) => {
                i += 1;
                while i < chars.len() && is_name(chars[i]) {
                    i += 1;
                }
            }
            _ => {
                out.push('$');
                i += 1;
            }
        }
    }
    out
}
