//! The flags of COPY and ADD, read once into a typed value, and `--chmod`.

use super::super::{meta, BuildError, Builder, Stage};
use crate::span::{Span, Spanned};
use crate::syntax::ast::Instruction;
use std::fmt;
use std::str::FromStr;

/// Flags each instruction accepts (BuildKit's).
const COPY_FLAGS: &[&str] = &["from", "chown", "chmod", "link", "exclude", "parents"];
const ADD_FLAGS: &[&str] = &[
    "chown",
    "chmod",
    "link",
    "exclude",
    "keep-git-dir",
    "checksum",
    "unpack",
];

/// What the flags of one COPY or ADD say, expanded.
#[derive(Debug, Clone, Default)]
pub(crate) struct CopyFlags {
    /// `--from`: a stage name or index, or an image.
    pub(crate) from: Option<Spanned<String>>,
    /// `--chown` as written after expansion (`user[:group]`).
    pub(crate) chown: Option<Spanned<String>>,
    /// `--chmod`, and the text written (for the history).
    pub(crate) chmod: Option<(Chmod, String)>,
    /// `--exclude` patterns.
    pub(crate) excludes: Vec<String>,
    /// Archives are unpacked (ADD, unless `--unpack=false`).
    pub(crate) unpack: bool,
    /// `--link`: copied onto an empty filesystem.
    pub(crate) link: bool,
    /// COPY `--parents`: each source keeps its path (below a `/./` pivot).
    pub(crate) parents: bool,
    /// ADD `--checksum`: what a URL's body must hash to (`sha256:...`), or the
    /// commit a git ref must resolve to.
    pub(crate) checksum: Option<Spanned<String>>,
    /// ADD `--keep-git-dir`: a git source keeps its `.git`.
    pub(crate) keep_git_dir: bool,
}

impl CopyFlags {
    /// Reads and expands the flags of `instr` (`is_add` for ADD).
    pub(crate) fn parse(
        b: &Builder<'_>,
        stage: &Stage,
        instr: &Instruction,
        is_add: bool,
    ) -> Result<CopyFlags, BuildError> {
        let name = if is_add { "ADD" } else { "COPY" };
        let allowed = if is_add { ADD_FLAGS } else { COPY_FLAGS };
        let mut flags = CopyFlags {
            unpack: is_add,
            ..CopyFlags::default()
        };
        for flag in &instr.flags {
            if !allowed.contains(&flag.name.as_str()) {
                return Err(meta::unknown_flag(flag.span, &flag.name, name));
            }
            let raw = flag.value.clone().unwrap_or_default();
            let value = if flag.name == "from" {
                // BuildKit (dockerfile2llb toCommand) refuses any variable
                // in --from: the name must read the same unexpanded
                let bare = b.expand_word(flag.span, &raw, &super::super::Vars::default())?;
                if bare != raw {
                    return Err(BuildError::at(
                        flag.span,
                        "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround",
                    ));
                }
                raw
            } else {
                b.expand_word(flag.span, &raw, &stage.vars)?
            };
            let spanned = || Spanned::new(flag.span, value.clone());
            let boolean = flag.value.is_none() || value.eq_ignore_ascii_case("true");
            match flag.name.as_str() {
                "from" => flags.from = Some(spanned()),
                "chown" => flags.chown = Some(spanned()),
                "chmod" => {
                    let mode = value.parse().map_err(|e| BuildError::at(flag.span, e))?;
                    flags.chmod = Some((mode, value));
                }
                "exclude" => flags.excludes.push(value),
                "unpack" => flags.unpack = boolean,
                "link" => flags.link = boolean,
                "checksum" => flags.checksum = Some(spanned()),
                "parents" => flags.parents = boolean,
                "keep-git-dir" => flags.keep_git_dir = boolean,
                _ => return Err(unsupported(flag.span, name, &flag.name)),
            }
        }
        Ok(flags)
    }
}

fn unsupported(span: Span, instr: &str, flag: &str) -> BuildError {
    BuildError::at(
        span,
        format!("{instr} --{flag} is not supported by minibuild"),
    )
}

/// A `--chmod` value: octal, or symbolic (`u+x,go-w`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chmod {
    /// `0755`.
    Octal(u32),
    /// `u=rwx,g+x`: clauses applied in order, as written.
    Symbolic(String, Vec<ModeClause>),
}

/// One clause of a symbolic mode: `who` `op` `perm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeClause {
    /// The bits the clause may change (`u`, `g`, `o`, `a`).
    who: u32,
    /// `+`, `-` or `=`.
    op: char,
    /// The permission bits named.
    perm: u32,
    /// `X`: execute for directories and already-executable files.
    cap_x: bool,
}

impl FromStr for Chmod {
    type Err = String;

    fn from_str(s: &str) -> Result<Chmod, String> {
        // BuildKit (dockerfile2llb/convert_copy.go) gives its full sentence
        // to any value that starts like a number (`64a`, `999`)
        if s.starts_with(|c: char| c.is_ascii_digit()) {
            return match u32::from_str_radix(s, 8) {
                Ok(m) if m <= 0o7777 => Ok(Chmod::Octal(m)),
                _ => Err(format!(
                    "invalid chmod parameter: '{s}'. it should be octal string and between 0 and 07777"
                )),
            };
        }
        let clauses = s
            .split(',')
            .map(parse_clause)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("invalid chmod parameter: '{s}'"))?;
        Ok(Chmod::Symbolic(s.to_string(), clauses))
    }
}

fn parse_clause(clause: &str) -> Option<ModeClause> {
    let op_at = clause.find(['+', '-', '='])?;
    let (who, rest) = clause.split_at(op_at);
    let mut who_mask = 0;
    for c in who.chars() {
        who_mask |= match c {
            'u' => 0o4700,
            'g' => 0o2070,
            'o' => 0o1007,
            'a' => 0o7777,
            _ => return None,
        };
    }
    if who_mask == 0 {
        who_mask = 0o7777;
    }
    let mut chars = rest.chars();
    let op = chars.next()?;
    let (mut perm, mut cap_x) = (0, false);
    for c in chars {
        perm |= match c {
            'r' => 0o444,
            'w' => 0o222,
            'x' => 0o111,
            'X' => {
                cap_x = true;
                0
            }
            's' => 0o6000,
            't' => 0o1000,
            _ => return None,
        };
    }
    Some(ModeClause {
        who: who_mask,
        op,
        perm,
        cap_x,
    })
}

impl fmt::Display for Chmod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Chmod::Octal(m) => write!(f, "{m:o}"),
            Chmod::Symbolic(text, _) => f.write_str(text),
        }
    }
}

impl Chmod {
    /// The new mode of an entry with `mode`.
    pub fn apply(&self, mode: u32, is_dir: bool) -> u32 {
        match self {
            Chmod::Octal(m) => *m,
            Chmod::Symbolic(_, clauses) => {
                let mut mode = mode & 0o7777;
                for c in clauses {
                    let mut p = c.perm;
                    if c.cap_x && (is_dir || mode & 0o111 != 0) {
                        p |= 0o111;
                    }
                    let p = p & c.who;
                    match c.op {
                        '+' => mode |= p,
                        '-' => mode &= !p,
                        _ => mode = (mode & !c.who) | p,
                    }
                }
                mode
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chmod(s: &str) -> Chmod {
        s.parse().unwrap()
    }

    #[test]
    fn chmod_octal_and_symbolic() {
        assert_eq!(chmod("755").apply(0o644, false), 0o755);
        assert!("8".parse::<Chmod>().is_err());
        assert!("17777".parse::<Chmod>().is_err());
        let c = chmod("u+x,go-w");
        assert_eq!(c.apply(0o666, false), 0o744);
        let c = chmod("a=rX");
        assert_eq!(c.apply(0o600, true), 0o555);
        assert_eq!(c.apply(0o600, false), 0o444);
        assert!("z+x".parse::<Chmod>().is_err());
    }

    #[test]
    fn chmod_displays_as_written() {
        assert_eq!(chmod("0755").to_string(), "755");
        assert_eq!(chmod("u+x,go-w").to_string(), "u+x,go-w");
    }
}
