//! Go's `filepath.Match`, rule for rule: the matching COPY wildcards and
//! BuildKit's `**`-free patterns use.

use super::{bad, PatternError};

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
