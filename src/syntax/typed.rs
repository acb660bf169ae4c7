//! From BuildKit's raw instruction (keyword, flags, argument strings) to a
//! typed [`Kind`], with the checks of BuildKit's `instructions/parse.go`.

use super::ast::{
    ArgDecl, Command, CopySource, Flag, Healthcheck, Heredoc, Instruction, KeyValue, Kind, Paths,
};
use super::dump::go_quote;
use super::parser::{heredoc_marker, ParseError};
use crate::span::{Span, Spanned};

/// An instruction as BuildKit's parser leaves it, before typing.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    /// The whole instruction.
    pub(crate) span: Span,
    /// The keyword as written.
    pub(crate) keyword: Spanned<String>,
    /// `--flags`.
    pub(crate) flags: Vec<Flag>,
    /// The arguments (see [`Instruction::args`]).
    pub(crate) args: Vec<Spanned<String>>,
    /// Whether the arguments were a JSON array.
    pub(crate) json: bool,
    /// The argument text after keyword and flags.
    pub(crate) rest: Span,
    /// ONBUILD's instruction.
    pub(crate) child: Option<Box<Raw>>,
    /// Heredoc bodies read after the line.
    pub(crate) heredocs: Vec<Heredoc>,
}

impl Raw {
    fn name(&self) -> String {
        self.keyword.value.to_ascii_lowercase()
    }

    /// BuildKit's `canContainHeredoc`: RUN, COPY and ADD in shell form,
    /// also as ONBUILD's instruction.
    pub(crate) fn can_contain_heredoc(&self) -> bool {
        let node = match (&self.child, self.name().as_str()) {
            (Some(child), "onbuild") => child,
            _ => self,
        };
        matches!(node.name().as_str(), "run" | "copy" | "add") && !node.json
    }

    /// The argument text, or the keyword when there is none.
    fn args_span(&self) -> Span {
        if self.rest.start < self.rest.end {
            self.rest
        } else {
            self.keyword.span
        }
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError::new(self.args_span(), message)
    }
}

/// Every instruction keyword, for suggestions.
const KEYWORDS: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// How BuildKit's `BFlags` reads a flag (`instructions/bflag.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlagType {
    /// `--link`, `--link=true`, `--link=false`.
    Bool,
    /// `--chown=1:1`: the `=` is required, the value may be empty.
    String,
    /// `--exclude=x`, repeatable.
    Strings,
}

/// The flags of each instruction, as its `parse*` function in BuildKit's
/// `instructions/parse.go` declares them. Flags not listed are left to the
/// executor, which names the instruction in its "unknown flag" error.
fn flag_types(name: &str) -> &'static [(&'static str, FlagType)] {
    use FlagType::{Bool, String, Strings};
    match name {
        "copy" => &[
            ("chown", String),
            ("from", String),
            ("chmod", String),
            ("link", Bool),
            ("exclude", Strings),
            ("parents", Bool),
        ],
        "add" => &[
            ("chown", String),
            ("chmod", String),
            ("link", Bool),
            ("keep-git-dir", Bool),
            ("checksum", String),
            ("unpack", Bool),
            ("exclude", Strings),
        ],
        "from" => &[("platform", String)],
        "healthcheck" => &[
            ("interval", String),
            ("timeout", String),
            ("start-period", String),
            ("start-interval", String),
            ("retries", String),
        ],
        _ => &[],
    }
}

/// BuildKit's `BFlags.Parse` checks, before any expansion: a value is
/// required after `=` for string flags (`COPY --chown 1:1` is a flag
/// without value, then a source), booleans are `true`/`false`, and only
/// repeatable flags may be given twice. The messages are BuildKit's.
fn check_flags(raw: &Raw) -> Result<(), ParseError> {
    let types = flag_types(&raw.name());
    let mut seen: Vec<&str> = Vec::new();
    for flag in &raw.flags {
        let Some(&(_, typ)) = types.iter().find(|(n, _)| *n == flag.name) else {
            continue;
        };
        let name = format!("--{}", flag.name);
        let err = |message: String| Err(ParseError::new(flag.span, message));
        if typ != FlagType::Strings && seen.contains(&flag.name.as_str()) {
            return err(format!("duplicate flag specified: {name}"));
        }
        seen.push(&flag.name);
        match (typ, flag.value.as_deref()) {
            (FlagType::Bool, Some("")) | (FlagType::String | FlagType::Strings, None) => {
                return err(format!("missing a value on flag: {name}"))
            }
            (FlagType::Bool, Some(v))
                if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") =>
            {
                return err(format!("expecting boolean value for flag {name}, not: {v}"))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Types `raw`, or says why it is not a valid instruction.
pub(crate) fn instruction(raw: Raw) -> Result<Instruction, ParseError> {
    let name = raw.name();
    check_flags(&raw)?;
    let upper = name.to_ascii_uppercase();
    let kind = match name.as_str() {
        "from" => from(&raw)?,
        "run" => Kind::Run(command(&raw)),
        "cmd" => Kind::Cmd(command(&raw)),
        "entrypoint" => Kind::Entrypoint(command(&raw)),
        "shell" => {
            if raw.args.is_empty() {
                return Err(raw.error("SHELL requires at least one argument"));
            }
            if !raw.json {
                return Err(raw.error("SHELL requires the arguments to be in JSON form"));
            }
            Kind::Shell(raw.args.iter().map(|a| a.value.clone()).collect())
        }
        "healthcheck" => Kind::Healthcheck(healthcheck(&raw)?),
        "env" => Kind::Env(key_values(&raw, "ENV")?),
        "label" => Kind::Label(key_values(&raw, "LABEL")?),
        "arg" => Kind::Arg(arg(&raw)?),
        "copy" => Kind::Copy(paths(&raw, "COPY")?),
        "add" => Kind::Add(paths(&raw, "ADD")?),
        "workdir" => Kind::Workdir(exactly_one(&raw, &upper)?),
        "user" => Kind::User(exactly_one(&raw, &upper)?),
        "stopsignal" => Kind::StopSignal(exactly_one(&raw, &upper)?),
        "maintainer" => Kind::Maintainer(exactly_one(&raw, &upper)?),
        "volume" => {
            if raw.args.is_empty() {
                return Err(raw.error("VOLUME requires at least one argument"));
            }
            if let Some(empty) = raw.args.iter().find(|a| a.value.is_empty()) {
                return Err(ParseError::new(
                    empty.span,
                    "VOLUME specified can not be an empty string",
                ));
            }
            Kind::Volume(raw.args.clone())
        }
        "expose" => {
            if raw.args.is_empty() {
                return Err(raw.error("EXPOSE requires at least one argument"));
            }
            Kind::Expose(raw.args.clone())
        }
        "onbuild" => onbuild(&raw)?,
        _ => return Err(unknown(&raw)),
    };
    Ok(Instruction {
        span: raw.span,
        keyword: raw.keyword,
        flags: raw.flags,
        args: raw.args,
        json: raw.json,
        heredocs: raw.heredocs,
        kind,
    })
}

/// `unknown instruction: X`, with BuildKit's suggestion rule: the first
/// keyword at edit distance below 3, in the case the word was written in.
fn unknown(raw: &Raw) -> ParseError {
    let written = &raw.keyword.value;
    let word = written.to_ascii_uppercase();
    let mut best: Option<(&str, usize)> = None;
    for k in KEYWORDS {
        let d = edit_distance(&word, k);
        if d < best.map_or(3, |(_, b)| b) {
            best = Some((k, d));
        }
    }
    let help = best.map(|(k, _)| {
        let k = if *written == written.to_ascii_lowercase() {
            k.to_ascii_lowercase()
        } else {
            k.to_string()
        };
        format!("did you mean {k}?")
    });
    ParseError {
        span: raw.keyword.span,
        message: format!("unknown instruction: {written}"),
        help,
    }
}

/// Levenshtein distance over characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

fn from(raw: &Raw) -> Result<Kind, ParseError> {
    match raw.args.as_slice() {
        [image] => Ok(Kind::From {
            image: image.clone(),
            stage_name: None,
        }),
        [image, as_, name] if as_.value.eq_ignore_ascii_case("as") => {
            let lower = name.value.to_ascii_lowercase();
            let valid = lower.starts_with(|c: char| c.is_ascii_lowercase())
                && lower
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
            if !valid {
                return Err(ParseError::new(
                    name.span,
                    format!(
                        "invalid name for build stage: {}, name can't start with a number or contain symbols",
                        go_quote(&name.value)
                    ),
                ));
            }
            Ok(Kind::From {
                image: image.clone(),
                stage_name: Some(Spanned::new(name.span, lower)),
            })
        }
        _ => Err(raw.error("FROM requires either one or three arguments")),
    }
}

/// Exec form when JSON, else the shell form's one string.
fn command(raw: &Raw) -> Command {
    command_of(raw, &raw.args)
}

fn command_of(raw: &Raw, args: &[Spanned<String>]) -> Command {
    if raw.json {
        return Command::Exec(args.iter().map(|a| a.value.clone()).collect());
    }
    match args.first() {
        Some(a) => Command::Shell(a.clone()),
        None => Command::Shell(Spanned::new(raw.args_span(), String::new())),
    }
}

fn healthcheck(raw: &Raw) -> Result<Healthcheck, ParseError> {
    // BuildKit's parser accepts a bare `HEALTHCHECK` and `HEALTHCHECK CMD`
    // (its conformance files have both); its instruction parser then
    // rejects them. They are kept here as `Other`, refused at build time.
    let Some(typ) = raw.args.first() else {
        return Ok(Healthcheck::Other(Spanned::new(
            raw.keyword.span,
            String::new(),
        )));
    };
    match typ.value.to_ascii_uppercase().as_str() {
        "NONE" => {
            if raw.args.len() > 1 {
                return Err(raw.error("HEALTHCHECK NONE takes no arguments"));
            }
            Ok(Healthcheck::None)
        }
        "CMD" => {
            if raw.args.len() < 2 {
                return Ok(Healthcheck::Other(typ.clone()));
            }
            Ok(Healthcheck::Cmd(command_of(raw, &raw.args[1..])))
        }
        _ => Ok(Healthcheck::Other(typ.clone())),
    }
}

fn key_values(raw: &Raw, what: &str) -> Result<Vec<KeyValue>, ParseError> {
    if raw.args.is_empty() {
        return Err(raw.error(format!("{what} requires at least one argument")));
    }
    let mut out = Vec::new();
    for triple in raw.args.chunks(3) {
        let [key, value, sep] = triple else {
            return Err(raw.error(format!("Bad input to {what}, too many arguments")));
        };
        if key.value.is_empty() {
            return Err(ParseError::new(
                key.span,
                format!("{what} names can not be blank"),
            ));
        }
        out.push(KeyValue {
            key: key.clone(),
            value: value.clone(),
            legacy: sep.value.is_empty(),
        });
    }
    Ok(out)
}

fn arg(raw: &Raw) -> Result<Vec<ArgDecl>, ParseError> {
    if raw.args.is_empty() {
        return Err(raw.error("ARG requires at least one argument"));
    }
    let mut out = Vec::new();
    for a in &raw.args {
        let decl = match a.value.split_once('=') {
            Some((name, default)) => {
                let eq = a.span.start + name.len();
                ArgDecl {
                    name: Spanned::new(Span::new(a.span.start, eq), name.to_string()),
                    default: Some(Spanned::new(
                        Span::new(eq + 1, a.span.end.max(eq + 1)),
                        default.to_string(),
                    )),
                }
            }
            None => ArgDecl {
                name: a.clone(),
                default: None,
            },
        };
        if decl.name.value.is_empty() {
            return Err(ParseError::new(a.span, "ARG names can not be blank"));
        }
        out.push(decl);
    }
    Ok(out)
}

fn paths(raw: &Raw, what: &str) -> Result<Paths, ParseError> {
    let Some((dest, sources)) = raw.args.split_last().filter(|(_, s)| !s.is_empty()) else {
        return Err(raw.error(format!(
            "{what} requires at least two arguments, but only one was provided. Destination could not be determined"
        )));
    };
    if matches!(heredoc_marker(&dest.value), Ok(Some(_))) {
        return Err(ParseError::new(
            dest.span,
            format!("{what} cannot accept a heredoc as a destination"),
        ));
    }
    let mut typed = Vec::new();
    for s in sources {
        typed.push(match heredoc_marker(&s.value) {
            Ok(Some((name, _, _))) => {
                let body = raw
                    .heredocs
                    .iter()
                    .find(|h| h.name == name)
                    .ok_or_else(|| {
                        ParseError::new(s.span, format!("no heredoc body for <<{name}"))
                    })?;
                CopySource::Heredoc(s.clone(), body.clone())
            }
            _ => CopySource::Path(s.clone()),
        });
    }
    Ok(Paths {
        sources: typed,
        dest: dest.clone(),
    })
}

fn exactly_one(raw: &Raw, what: &str) -> Result<Spanned<String>, ParseError> {
    match raw.args.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(raw.error(format!("{what} requires exactly one argument"))),
    }
}

fn onbuild(raw: &Raw) -> Result<Kind, ParseError> {
    let Some(child) = &raw.child else {
        return Err(raw.error("ONBUILD requires at least one argument"));
    };
    let trigger = child.keyword.value.to_ascii_uppercase();
    match trigger.as_str() {
        "ONBUILD" => Err(ParseError::new(
            child.keyword.span,
            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
        )),
        "MAINTAINER" | "FROM" => Err(ParseError::new(
            child.keyword.span,
            format!("{trigger} isn't allowed as an ONBUILD trigger"),
        )),
        _ => Ok(Kind::Onbuild(Box::new(instruction((**child).clone())?))),
    }
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn flags_buildkit_accepts() {
        for src in [
            "FROM a\nCOPY --link --chown= f /x",
            "FROM a\nCOPY --link=FALSE f /x",
            "FROM a\nCOPY --exclude=a --exclude=b f /x",
            "FROM a\nADD --keep-git-dir=true --checksum=sha256:x f /x",
            "FROM a\nCOPY --bogus f /x",
        ] {
            assert!(crate::syntax::parse(src).is_ok(), "{src}");
        }
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("COPPY", "COPY"), 1);
        assert_eq!(edit_distance("FORM", "FROM"), 2);
        assert_eq!(edit_distance("", "RUN"), 3);
        assert_eq!(edit_distance("RUN", "RUN"), 0);
    }
}
