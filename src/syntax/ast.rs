//! Typed Dockerfile instructions, each carrying the spans it was read from.
//!
//! The parser first reads an instruction the way BuildKit's parser does
//! (keyword, `--flags`, a list of argument strings, JSON or not), and then
//! types it into a [`Kind`]. Both are kept: the raw form for conformance
//! dumps and error positions, the typed form for the executor.

use crate::span::{Span, Spanned};

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// Parser directives found at the top of the file.
    pub directives: Directives,
    /// The instructions, in file order.
    pub instructions: Vec<Instruction>,
}

/// Parser directives (`# syntax=`, `# escape=`, `# check=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    /// The escape character: `\` (default) or `` ` ``.
    pub escape: char,
    /// The `syntax` directive's value, if any (recorded, not acted upon).
    pub syntax: Option<String>,
    /// The `check` directive's value, if any.
    pub check: Option<String>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            escape: '\\',
            syntax: None,
            check: None,
        }
    }
}

/// One instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// The whole instruction, from its keyword to the end of its last
    /// continuation line (heredoc bodies included).
    pub span: Span,
    /// The keyword as written (any case).
    pub keyword: Spanned<String>,
    /// `--name[=value]` flags, in order.
    pub flags: Vec<Flag>,
    /// The arguments as BuildKit's parser leaves them (after continuation
    /// joining, before variable expansion). ENV and LABEL give
    /// key, value, separator triples; JSON forms give the decoded items.
    pub args: Vec<Spanned<String>>,
    /// Whether the arguments were written as a JSON array.
    pub json: bool,
    /// Heredocs attached to this instruction (`<<EOF` ... `EOF`).
    pub heredocs: Vec<Heredoc>,
    /// The typed instruction.
    pub kind: Kind,
}

impl Instruction {
    /// The keyword in lower case (`copy`, `from`, ...).
    pub fn name(&self) -> String {
        self.keyword.value.to_ascii_lowercase()
    }

    /// The value of flag `--name`, if given (the last one wins).
    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().rev().find(|f| f.name == name)
    }
}

/// A `--name[=value]` flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// Where the flag was written.
    pub span: Span,
    /// The name without the leading `--`.
    pub name: String,
    /// The value after `=`, if any.
    pub value: Option<String>,
}

/// A heredoc body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter word (`EOF`), without quotes.
    pub name: String,
    /// The body, up to (not including) the closing delimiter line; tabs
    /// already stripped for `<<-`.
    pub content: String,
    /// False when the delimiter was quoted: then no variable expansion.
    pub expand: bool,
    /// Where the body was written.
    pub span: Span,
}

/// One source of a COPY or ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopySource {
    /// A path of the context (or of `--from`), unexpanded.
    Path(Spanned<String>),
    /// A heredoc: `<<NAME` as written, and its body.
    Heredoc(Spanned<String>, Heredoc),
}

impl CopySource {
    /// The source as written in the Dockerfile.
    pub fn written(&self) -> &Spanned<String> {
        match self {
            CopySource::Path(p) | CopySource::Heredoc(p, _) => p,
        }
    }
}

/// The instruction's meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// `FROM image [AS name]`.
    From {
        /// The base: `scratch`, a stage name, or an image reference.
        image: Spanned<String>,
        /// The stage name after `AS`.
        stage_name: Option<Spanned<String>>,
    },
    /// `RUN` (parsed, refused at build time).
    Run(Command),
    /// `CMD`.
    Cmd(Command),
    /// `ENTRYPOINT`.
    Entrypoint(Command),
    /// `SHELL ["exe", "arg"]` (JSON form only).
    Shell(Vec<String>),
    /// `HEALTHCHECK NONE` or `HEALTHCHECK [flags] CMD ...`.
    Healthcheck(Healthcheck),
    /// `ENV k=v ...` or legacy `ENV k v`.
    Env(Vec<KeyValue>),
    /// `LABEL k=v ...`.
    Label(Vec<KeyValue>),
    /// `ARG name[=default] ...`.
    Arg(Vec<ArgDecl>),
    /// `COPY [flags] src... dest`.
    Copy(Paths),
    /// `ADD [flags] src... dest`.
    Add(Paths),
    /// `WORKDIR path`.
    Workdir(Spanned<String>),
    /// `USER user[:group]`.
    User(Spanned<String>),
    /// `VOLUME path...` or `VOLUME ["path", ...]`.
    Volume(Vec<Spanned<String>>),
    /// `EXPOSE port[/proto]...`.
    Expose(Vec<Spanned<String>>),
    /// `STOPSIGNAL signal`.
    StopSignal(Spanned<String>),
    /// `MAINTAINER name` (deprecated; sets the author).
    Maintainer(Spanned<String>),
    /// `ONBUILD instruction` (parsed, refused at build time).
    Onbuild(Box<Instruction>),
}

/// Exec form (JSON array) or shell form (one string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `["exe", "arg"]`.
    Exec(Vec<String>),
    /// `exe arg`, to be run by the image's shell.
    Shell(Spanned<String>),
}

/// A HEALTHCHECK instruction's test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: disable any inherited check.
    None,
    /// `HEALTHCHECK [flags] CMD ...`.
    Cmd(Command),
    /// Any other type word (`CONNECT ...`); refused at build time.
    Other(Spanned<String>),
}

/// A `key=value` pair of ENV or LABEL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key, unexpanded.
    pub key: Spanned<String>,
    /// The value, unexpanded and still quoted as written.
    pub value: Spanned<String>,
    /// True for the legacy `ENV key value` form (separator "").
    pub legacy: bool,
}

/// One name declared by ARG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    /// The name.
    pub name: Spanned<String>,
    /// The default after `=`, unexpanded.
    pub default: Option<Spanned<String>>,
}

/// Sources and destination of COPY or ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Sources, unexpanded, each a path or a heredoc with its body.
    pub sources: Vec<CopySource>,
    /// The destination, unexpanded.
    pub dest: Spanned<String>,
}
