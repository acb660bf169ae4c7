//! Metadata instructions: each edits the config and adds a history entry
//! worded as BuildKit words it. WORKDIR also makes a layer with the
//! directory, as BuildKit does.

use super::{BuildError, Builder, Stage};
pub use workdir::normalize_workdir;
pub(crate) use workdir::workdir;

mod values;
mod workdir;
use crate::image::{self, Healthcheck};
use crate::span::{Span, Spanned};
use crate::syntax::ast::{self, Command, Instruction, Kind};
use serde_json::Value;
use std::collections::BTreeMap;
pub use values::{check_signal, go_duration, go_quote_list, parse_go_duration, parse_port};

/// Applies a metadata instruction to `stage`; a description of the change.
pub(crate) fn apply(
    b: &mut Builder<'_>,
    stage: &mut Stage,
    instr: &Instruction,
) -> Result<String, BuildError> {
    match &instr.kind {
        Kind::Env(pairs) => env(b, stage, pairs),
        Kind::Label(pairs) => label(b, stage, pairs),
        Kind::Cmd(c) => cmd(b, stage, c),
        Kind::Entrypoint(cmd) => entrypoint(b, stage, cmd),
        Kind::Shell(sh) => shell(b, stage, instr, sh),
        Kind::User(u) => user(b, stage, u),
        Kind::Volume(vols) => volume(b, stage, vols),
        Kind::Expose(ports) => expose(b, stage, instr, ports),
        Kind::StopSignal(sig) => stop_signal(b, stage, sig),
        Kind::Maintainer(m) => maintainer(b, stage, m),
        Kind::Healthcheck(hc) => healthcheck_step(b, stage, instr, hc),
        Kind::Arg(decls) => arg(b, stage, decls),
        _ => Err(BuildError::at(
            instr.keyword.span,
            format!(
                "{} is not supported by minibuild",
                instr.keyword.value.to_ascii_uppercase()
            ),
        )),
    }
}

/// ENV: its config field and history entry.
fn env(
    b: &mut Builder<'_>,
    stage: &mut Stage,
    pairs: &[ast::KeyValue],
) -> Result<String, BuildError> {
    // every value sees the variables as they were before this ENV:
    // all are expanded before any is set
    let mut expanded = Vec::new();
    for kv in pairs {
        let k = b.expand_word(kv.key.span, &kv.key.value, &stage.vars)?;
        let v = b.expand_word(kv.value.span, &kv.value.value, &stage.vars)?;
        if k.is_empty() {
            return Err(BuildError::at(kv.key.span, "ENV names can not be blank"));
        }
        expanded.push((k, v, kv.key.span));
    }
    let mut msg = String::from("ENV");
    for (k, v, span) in &expanded {
        stage.vars.set_bounded(*span, k, v)?;
        set_env(stage, k, v);
        msg.push_str(&format!(" {k}={v}"));
    }
    b.record(stage, msg);
    let done = format!(
        "config Env: {}",
        expanded
            .iter()
            .map(|(k, v, _)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(done)
}

/// LABEL: its config field and history entry.
fn label(
    b: &mut Builder<'_>,
    stage: &mut Stage,
    pairs: &[ast::KeyValue],
) -> Result<String, BuildError> {
    let mut msg = String::from("LABEL");
    let mut set = Vec::new();
    for kv in pairs {
        let k = b.expand_word(kv.key.span, &kv.key.value, &stage.vars)?;
        let v = b.expand_word(kv.value.span, &kv.value.value, &stage.vars)?;
        if k.is_empty() {
            return Err(BuildError::at(kv.key.span, "LABEL names can not be blank"));
        }
        msg.push_str(&format!(" {k}={v}"));
        set.push(format!("{k}={v}"));
        stage
            .image
            .config
            .config
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(k, v);
    }
    b.record(stage, msg);
    let done = format!("config Labels: {}", set.join(" "));
    Ok(done)
}

/// CMD: its config field and history entry.
fn cmd(b: &mut Builder<'_>, stage: &mut Stage, cmd: &Command) -> Result<String, BuildError> {
    let args = command_args(&stage.image.config, cmd);
    stage.image.config.config.cmd = Some(args.clone());
    args_escaped(&mut stage.image.config);
    stage.cmd_set = true;
    b.record(stage, format!("CMD {}", go_quote_list(&args)));
    let done = format!("config Cmd = {}", json(&args));
    Ok(done)
}

/// ENTRYPOINT: its config field and history entry.
fn entrypoint(b: &mut Builder<'_>, stage: &mut Stage, cmd: &Command) -> Result<String, BuildError> {
    let args = command_args(&stage.image.config, cmd);
    stage.image.config.config.entrypoint = Some(args.clone());
    let mut note = String::new();
    if !stage.cmd_set && stage.image.config.config.cmd.is_some() {
        // BuildKit: ENTRYPOINT resets a CMD inherited from the base
        stage.image.config.config.cmd = None;
        note = " (inherited Cmd reset)".to_string();
    }
    b.record(stage, format!("ENTRYPOINT {}", go_quote_list(&args)));
    let done = format!("config Entrypoint = {}{note}", json(&args));
    Ok(done)
}

/// SHELL: its config field and history entry.
fn shell(
    b: &mut Builder<'_>,
    stage: &mut Stage,
    instr: &Instruction,
    shell: &[String],
) -> Result<String, BuildError> {
    let span = instr.span;
    if shell.is_empty() {
        return Err(BuildError::at(span, "SHELL requires at least one argument"));
    }
    stage.image.config.config.shell = Some(shell.to_vec());
    b.record(stage, format!("SHELL [{}]", shell.join(" ")));
    let done = format!("config Shell = {}", json(shell));
    Ok(done)
}

/// USER: its config field and history entry.
fn user(
    b: &mut Builder<'_>,
    stage: &mut Stage,
    user: &Spanned<String>,
) -> Result<String, BuildError> {
    let u = b.expand_word(user.span, &user.value, &stage.vars)?;
    if u.is_empty() {
        return Err(BuildError::at(user.span, "USER requires a user name"));
    }
    stage.image.config.config.user = Some(u.clone());
    b.record(stage, format!("USER {u}"));
    let done = format!("config User = {u}");
    Ok(done)
}

/// VOLUME: its config field and history entry.
fn volume(
    b: &mut Builder<'_>,
    stage: &mut Stage,
    vols: &[Spanned<String>],
) -> Result<String, BuildError> {
    let mut list = Vec::new();
    for v in vols {
        let x = b.expand_word(v.span, &v.value, &stage.vars)?;
        if x.is_empty() {
            return Err(BuildError::at(
                v.span,
                "VOLUME specified can not be an empty string",
            ));
        }
        list.push(x);
    }
    let map = stage
        .image
        .config
        .config
        .volumes
        .get_or_insert_with(BTreeMap::new);
    for v in &list {
        map.insert(v.clone(), Value::Object(Default::default()));
    }
    b.record(stage, format!("VOLUME [{}]", list.join(" ")));
    let done = format!("config Volumes + {}", list.join(" "));
    Ok(done)
}

/// EXPOSE: its config field and history entry.
fn expose(
    b: &mut Builder<'_>,
    stage: &mut Stage,
    instr: &Instruction,
    ports: &[Spanned<String>],
) -> Result<String, BuildError> {
    let span = instr.span;
    // BuildKit sorts the words as written, before expanding them
    let mut ports: Vec<_> = ports.iter().collect();
    ports.sort_by(|a, b| a.value.cmp(&b.value));
    let mut words = Vec::new();
    for p in ports {
        words.extend(b.expand_words(p.span, &p.value, &stage.vars)?);
    }
    let mut specs = Vec::new();
    for w in &words {
        specs.extend(parse_port(w).map_err(|e| BuildError::at(span, e))?);
    }
    let map = stage
        .image
        .config
        .config
        .exposed_ports
        .get_or_insert_with(BTreeMap::new);
    for s in &specs {
        map.insert(s.clone(), Value::Object(Default::default()));
    }
    b.record(stage, format!("EXPOSE [{}]", specs.join(" ")));
    let done = format!("config ExposedPorts + {}", specs.join(" "));
    Ok(done)
}

/// STOPSIGNAL: its config field and history entry.
fn stop_signal(
    b: &mut Builder<'_>,
    stage: &mut Stage,
    sig: &Spanned<String>,
) -> Result<String, BuildError> {
    let s = b.expand_word(sig.span, &sig.value, &stage.vars)?;
    check_signal(&s).map_err(|e| BuildError::at(sig.span, e))?;
    stage.image.config.config.stop_signal = Some(s.clone());
    b.record(stage, format!("STOPSIGNAL {s}"));
    let done = format!("config StopSignal = {s}");
    Ok(done)
}

/// MAINTAINER: its config field and history entry.
fn maintainer(
    b: &mut Builder<'_>,
    stage: &mut Stage,
    m: &Spanned<String>,
) -> Result<String, BuildError> {
    stage.image.config.author = Some(m.value.clone());
    b.record(stage, format!("MAINTAINER {}", m.value));
    let done = format!("config author = {}", m.value);
    Ok(done)
}

/// HEALTHCHECK: its config field and history entry.
fn healthcheck_step(
    b: &mut Builder<'_>,
    stage: &mut Stage,
    instr: &Instruction,
    hc: &ast::Healthcheck,
) -> Result<String, BuildError> {
    let check = healthcheck(instr, hc)?;
    let desc = format!(
            "HEALTHCHECK {{Test:[{}] Interval:{} Timeout:{} StartPeriod:{} StartInterval:{} Retries:{}}}",
            check.test.join(" "),
            go_duration(check.interval.unwrap_or(0)),
            go_duration(check.timeout.unwrap_or(0)),
            go_duration(check.start_period.unwrap_or(0)),
            go_duration(check.start_interval.unwrap_or(0)),
            check.retries.unwrap_or(0)
        );
    let done = format!("config Healthcheck = {}", json(&check.test));
    stage.image.config.config.healthcheck = Some(check);
    b.record(stage, desc);
    Ok(done)
}

/// ARG: its config field and history entry.
fn arg(
    b: &mut Builder<'_>,
    stage: &mut Stage,
    decls: &[ast::ArgDecl],
) -> Result<String, BuildError> {
    let mut parts = Vec::new();
    let mut shown = Vec::new();
    for d in decls {
        let name = &d.name.value;
        b.declare_arg(name);
        let value = if let Some(v) = b.build_arg(name).map(str::to_string) {
            Some(v)
        } else if let Some(def) = &d.default {
            Some(b.expand_word(def.span, &def.value, &stage.vars)?)
        } else {
            b.global_arg(name).map(str::to_string)
        };
        match &value {
            Some(v) => {
                stage.vars.set_bounded(d.name.span, name, v)?;
                parts.push(format!("{name}={v}"));
                shown.push(format!("{name}={v}"));
            }
            None => {
                parts.push(name.clone());
                shown.push(format!("{name} (no value)"));
            }
        }
    }
    b.record(stage, format!("ARG {}", parts.join(" ")));
    let done = format!("build argument {}", shown.join(" "));
    Ok(done)
}

/// Sets `key` in the config's Env, in place when it is there already (as
/// `ContainerConfig::env_set`, through the stage's index of Env).
fn set_env(stage: &mut Stage, key: &str, value: &str) {
    let env = stage.image.config.config.env.get_or_insert_with(Vec::new);
    let entry = format!("{key}={value}");
    match stage.env_index.get(key) {
        Some(&i) if i < env.len() => env[i] = entry,
        _ => {
            stage.env_index.insert(key.to_string(), env.len());
            env.push(entry);
        }
    }
}

/// CMD/ENTRYPOINT arguments: exec form as is, shell form through the
/// image's SHELL (default `/bin/sh -c`).
fn command_args(config: &image::ImageConfig, cmd: &Command) -> Vec<String> {
    match cmd {
        Command::Exec(args) => args.clone(),
        Command::Shell(s) => {
            let mut shell = config
                .config
                .shell
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| vec!["/bin/sh".to_string(), "-c".to_string()]);
            shell.push(s.value.clone());
            shell
        }
    }
}

/// BuildKit marks CMD as already escaped (a Windows matter it records on
/// every platform).
fn args_escaped(config: &mut image::ImageConfig) {
    config
        .config
        .other
        .insert("ArgsEscaped".to_string(), Value::Bool(true));
}

fn json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn healthcheck(instr: &Instruction, hc: &ast::Healthcheck) -> Result<Healthcheck, BuildError> {
    let span = instr.span;
    let test = match hc {
        ast::Healthcheck::None => {
            return Ok(Healthcheck {
                test: vec!["NONE".to_string()],
                ..Healthcheck::default()
            })
        }
        ast::Healthcheck::Other(t) if t.value.is_empty() => {
            return Err(BuildError::at(
                span,
                "HEALTHCHECK requires at least one argument",
            ))
        }
        ast::Healthcheck::Other(t) if t.value.eq_ignore_ascii_case("CMD") => {
            return Err(BuildError::at(
                span,
                "Missing command after HEALTHCHECK CMD",
            ))
        }
        ast::Healthcheck::Other(t) => {
            return Err(BuildError::at(
                t.span,
                format!("Unknown type {:?} in HEALTHCHECK (try CMD)", t.value),
            ))
        }
        ast::Healthcheck::Cmd(Command::Exec(args)) => {
            if args.is_empty() {
                return Err(BuildError::at(
                    span,
                    "Missing command after HEALTHCHECK CMD",
                ));
            }
            let mut t = vec!["CMD".to_string()];
            t.extend(args.iter().cloned());
            t
        }
        ast::Healthcheck::Cmd(Command::Shell(s)) => {
            if s.value.trim().is_empty() {
                return Err(BuildError::at(
                    span,
                    "Missing command after HEALTHCHECK CMD",
                ));
            }
            vec!["CMD-SHELL".to_string(), s.value.clone()]
        }
    };
    let mut check = Healthcheck {
        test,
        ..Healthcheck::default()
    };
    for flag in &instr.flags {
        let value = flag.value.clone().unwrap_or_default();
        let dur = |v: &str| -> Result<Option<i64>, BuildError> {
            if v.is_empty() {
                return Ok(None);
            }
            let d = parse_go_duration(v).map_err(|e| BuildError::at(flag.span, e))?;
            if d < 0 {
                return Err(BuildError::at(
                    flag.span,
                    format!("--{} cannot be negative", flag.name),
                ));
            }
            if d != 0 && d < 1_000_000 {
                return Err(BuildError::at(
                    flag.span,
                    format!("Interval {:?} cannot be less than 1ms", flag.name),
                ));
            }
            Ok((d != 0).then_some(d))
        };
        match flag.name.as_str() {
            "interval" => check.interval = dur(&value)?,
            "timeout" => check.timeout = dur(&value)?,
            "start-period" => check.start_period = dur(&value)?,
            "start-interval" => check.start_interval = dur(&value)?,
            "retries" => {
                let r: i64 = value.parse().map_err(|_| {
                    BuildError::at(flag.span, format!("invalid --retries value {value:?}"))
                })?;
                if r < 0 {
                    return Err(BuildError::at(
                        flag.span,
                        format!("--retries cannot be negative ({r})"),
                    ));
                }
                check.retries = (r != 0).then_some(r);
            }
            other => {
                return Err(unknown_flag(flag.span, other, "HEALTHCHECK"));
            }
        }
    }
    Ok(check)
}

/// An error for a flag the instruction does not take.
pub(crate) fn unknown_flag(span: Span, name: &str, instr: &str) -> BuildError {
    BuildError::at(span, format!("unknown flag: --{name} (for {instr})"))
}
