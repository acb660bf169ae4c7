//! How progress and errors are shown: `--progress` (BuildKit's modes) and
//! `--color`, turned into the [`Events`] reporter the command uses.

use clap::{Args, ValueEnum};
use minibuild::events::render::{Explain, Plain, RawJson, Tee, Tty};
use minibuild::events::{Events, Reporter};
use std::io::IsTerminal;

/// `--progress`, with BuildKit's names and meanings.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum ProgressMode {
    /// tty on a terminal, plain otherwise.
    #[default]
    Auto,
    /// Live bars for what is running; finished steps printed above them.
    Tty,
    /// One line per step with its duration, one per blob transferred.
    Plain,
    /// Nothing but the result and errors.
    Quiet,
    /// One JSON object per line (see the README for the keys).
    Rawjson,
}

/// The progress flags build, push and save share.
#[derive(Args, Debug, Default, Clone)]
pub(crate) struct ProgressArgs {
    /// How progress goes to stderr: auto (tty on a terminal, else plain),
    /// tty, plain, quiet, rawjson.
    #[arg(long, value_enum, default_value_t, value_name = "MODE")]
    pub(crate) progress: ProgressMode,
    /// Print only the result (the same as --progress quiet).
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

impl ProgressArgs {
    /// The mode in effect: `-q` is quiet; auto is tty on a terminal; tty
    /// asked for off a terminal is plain (bars cannot be drawn there).
    pub(crate) fn mode(&self) -> ProgressMode {
        let terminal = std::io::stderr().is_terminal();
        match self.progress {
            _ if self.quiet => ProgressMode::Quiet,
            ProgressMode::Auto | ProgressMode::Tty if terminal => ProgressMode::Tty,
            ProgressMode::Auto | ProgressMode::Tty => ProgressMode::Plain,
            other => other,
        }
    }

    pub(crate) fn is_rawjson(&self) -> bool {
        self.mode() == ProgressMode::Rawjson
    }

    /// The reporter for this mode; with `explain`, the explanation goes to
    /// stdout, and progress too only when a mode was asked for.
    pub(crate) fn events(&self, color: bool, explain: bool) -> Events {
        let progress: Option<Box<dyn Reporter>> = match self.mode() {
            _ if explain && self.progress == ProgressMode::Auto => None,
            ProgressMode::Quiet => None,
            ProgressMode::Tty => Some(Box::new(Tty::new(color))),
            ProgressMode::Rawjson => Some(Box::new(RawJson::new(Box::new(std::io::stderr())))),
            ProgressMode::Auto | ProgressMode::Plain => {
                Some(Box::new(Plain::new(Box::new(std::io::stderr()), color)))
            }
        };
        let mut all: Vec<Box<dyn Reporter>> = progress.into_iter().collect();
        if explain {
            all.push(Box::new(Explain::new(Box::new(std::io::stdout()))));
        }
        match all.len() {
            0 => Events::silent(),
            _ => Events::new(Tee(all)),
        }
    }
}

/// `--color`.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set (or TERM is dumb).
    #[default]
    Auto,
    /// Always (even when piped, and over NO_COLOR).
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// The `--color` among raw arguments, for clap's own messages (printed
    /// before the arguments are parsed).
    pub(crate) fn in_args(args: &[std::ffi::OsString]) -> Option<ColorChoice> {
        let args: Vec<&str> = args.iter().filter_map(|a| a.to_str()).collect();
        let value = args.iter().enumerate().rev().find_map(|(i, a)| {
            a.strip_prefix("--color=").or_else(|| {
                (*a == "--color")
                    .then(|| args.get(i + 1).copied())
                    .flatten()
            })
        })?;
        ColorChoice::from_str(value, false).ok()
    }

    /// The same choice for clap's usage errors and help.
    pub(crate) fn for_clap(self) -> clap::ColorChoice {
        match self {
            ColorChoice::Auto => clap::ColorChoice::Auto,
            ColorChoice::Always => clap::ColorChoice::Always,
            ColorChoice::Never => clap::ColorChoice::Never,
        }
    }

    /// Whether what goes to stderr is coloured.
    pub(crate) fn stderr(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
                let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
                !no_color && !dumb && std::io::stderr().is_terminal()
            }
        }
    }
}
