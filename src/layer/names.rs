//! File names that are not UTF-8. Tar carries names as bytes, and so do
//! Linux and BuildKit; minibuild's paths are `String`s. A byte that is not
//! part of valid UTF-8 (always 0x80..=0xFF) is carried as the code point
//! `U+10FF00 + byte` (the end of Supplementary Private Use Area-B), and
//! turned back into that byte where a name leaves minibuild: a tar header,
//! a system call. So `n\xff` and `n\u{FFFD}` stay two names, and `*.txt`
//! matches `a\xff.txt` as BuildKit's matcher (one byte, one character)
//! does. A real name that holds one of those 128 code points is refused:
//! it could not be told apart.

use std::borrow::Cow;

/// The code point a byte 0x80..=0xFF stands as is `BASE + byte`.
const BASE: u32 = 0x10_FF00;

/// Whether `c` stands for a raw byte.
fn is_carried_byte(c: char) -> bool {
    (BASE + 0x80..=BASE + 0xFF).contains(&(c as u32))
}

/// A name's bytes as minibuild carries them; `Err` (the name shown
/// escaped) for a name that holds one of the reserved code points.
pub fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, String> {
    let reserved = || {
        format!(
            "{}: the name holds a character in U+10FF80..U+10FFFF, which minibuild \
             reserves for the bytes of names that are not UTF-8",
            String::from_utf8_lossy(bytes).escape_default()
        )
    };
    if let Ok(s) = std::str::from_utf8(bytes) {
        if s.chars().any(is_carried_byte) {
            return Err(reserved());
        }
        return Ok(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        if chunk.valid().chars().any(is_carried_byte) {
            return Err(reserved());
        }
        out.push_str(chunk.valid());
        for &b in chunk.invalid() {
            out.push(char::from_u32(BASE + u32::from(b)).unwrap_or('\u{FFFD}'));
        }
    }
    Ok(Cow::Owned(out))
}

/// The bytes a carried name stands for.
pub fn encode(name: &str) -> Cow<'_, [u8]> {
    if !name.chars().any(is_carried_byte) {
        return Cow::Borrowed(name.as_bytes());
    }
    let mut out = Vec::with_capacity(name.len());
    let mut buf = [0u8; 4];
    for c in name.chars() {
        if is_carried_byte(c) {
            out.push((c as u32 - BASE) as u8);
        } else {
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    Cow::Owned(out)
}

/// A carried name for messages: the raw bytes as `\xNN`.
pub fn shown(name: &str) -> Cow<'_, str> {
    if !name.chars().any(is_carried_byte) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if is_carried_byte(c) {
            out.push_str(&format!("\\x{:02x}", c as u32 - BASE));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_stay_apart_from_the_replacement_character() {
        let raw: &[u8] = b"n\xff";
        let replacement = "n\u{FFFD}".as_bytes();
        let a = decode(raw).unwrap();
        let b = decode(replacement).unwrap();
        assert_ne!(a, b);
        assert_eq!(&*encode(&a), raw);
        assert_eq!(&*encode(&b), replacement);
        assert_eq!(shown(&a), "n\\xff");
        let mixed: &[u8] = b"caf\xc3\xa9-\x80\xfe.txt";
        assert_eq!(&*encode(&decode(mixed).unwrap()), mixed);
        assert_eq!(shown(&decode(mixed).unwrap()), "café-\\x80\\xfe.txt");
        assert!(matches!(decode(b"plain"), Ok(Cow::Borrowed("plain"))));
    }

    #[test]
    fn reserved_code_points_are_refused() {
        let reserved = "x\u{10FFAB}y";
        assert!(decode(reserved.as_bytes()).is_err());
        let mut with_invalid = reserved.as_bytes().to_vec();
        with_invalid.push(0xff);
        assert!(decode(&with_invalid).is_err());
        // the code points just below are names like any other
        assert!(decode("\u{10FF7F}".as_bytes()).is_ok());
    }
}
