//! moby compiles `.dockerignore` patterns into Go regular expressions;
//! this respells such an expression in the `regex` crate's syntax where
//! the two differ (ASCII classes, `[` in classes, `\Q..\E`, octal).

/// A regular expression in Go's syntax as the regex crate reads it; `None`
/// where Go's regexp would refuse it (or uses what the crate cannot match on
/// text, `\C`).
pub(super) fn go_regex_to_rust(re: &str) -> Option<String> {
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
