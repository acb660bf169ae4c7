//! BuildKit's AST dump of an instruction, with Go's `%q` quoting.

use super::ast::{Instruction, Kind};

/// BuildKit's AST dump of one instruction: `(copy ["--from=a"] "src" "/dst")`.
///
/// The name is lower case, flags (if any) come as a quoted list, then each
/// argument quoted as Go's `strconv.Quote` does; ONBUILD nests its
/// instruction: `(onbuild (run "echo"))`.
pub fn dump(instr: &Instruction) -> String {
    format!("({})", inner(instr))
}

fn inner(instr: &Instruction) -> String {
    let mut out = instr.name();
    if !instr.flags.is_empty() {
        let flags: Vec<String> = instr
            .flags
            .iter()
            .map(|f| {
                let word = match &f.value {
                    Some(v) => format!("--{}={}", f.name, v),
                    None => format!("--{}", f.name),
                };
                go_quote(&word)
            })
            .collect();
        out.push_str(&format!(" [{}]", flags.join(" ")));
    }
    if let Kind::Onbuild(child) = &instr.kind {
        out.push_str(&format!(" ({})", inner(child)));
    } else {
        for arg in &instr.args {
            out.push(' ');
            out.push_str(&go_quote(&arg.value));
        }
    }
    out.trim().to_string()
}

/// `s` quoted as Go's `strconv.Quote` does: `\"` and `\\`, printable
/// characters as they are, `\n`-style escapes, then `\xHH`, `\uHHHH`,
/// `\UHHHHHHHH`.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_go_printable(c) => out.push(c),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0B}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7F}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and
/// the ASCII space. Without Unicode tables at hand, this excludes controls,
/// spaces other than U+0020, the format characters, private use and
/// non-characters; unassigned code points count as printable.
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    let format = matches!(
        u,
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x890..=0x891
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    );
    let private = matches!(u, 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD);
    let nonchar = (0xFDD0..=0xFDEF).contains(&u) || (u & 0xFFFE) == 0xFFFE;
    !(format || private || nonchar)
}

#[cfg(test)]
mod tests {
    use super::go_quote;

    #[test]
    fn quotes_as_go_does() {
        let cases = [
            ("plain", r#""plain""#),
            ("a\"b\\c", r#""a\"b\\c""#),
            (
                "\0\x07\x08\x0c\n\r\t\x0b\x1b\x7f",
                r#""\x00\a\b\f\n\r\t\v\x1b\x7f""#,
            ),
            ("☃ é 한", "\"☃ é 한\""),
            ("\u{a0}\u{85}\u{200b}", r#""\u00a0\u0085\u200b""#),
            ("\u{f0000}", r#""\U000f0000""#),
        ];
        for (input, want) in cases {
            assert_eq!(go_quote(input), want, "{input:?}");
        }
    }
}
