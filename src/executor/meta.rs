//! Metadata instructions: each edits the config and adds a history entry
//! worded as BuildKit words it. WORKDIR also makes a layer with the
//! directory, as BuildKit does.

use super::{BuildError, Builder, Stage};
use crate::image::{self, Addendum, Healthcheck};
use crate::layer::{Data, Entry, EntryKind, Source};
use crate::span::Span;
use crate::syntax::ast::{self, Command, Instruction, Kind};
use serde_json::Value;
use std::collections::BTreeMap;

/// Applies a metadata instruction to `stage`; a description of the change.
pub(crate) fn apply(
    b: &mut Builder<'_>,
    stage: &mut Stage,
    instr: &Instruction,
) -> Result<String, BuildError> {
    let span = instr.span;
    let cfg_done;
    match &instr.kind {
        Kind::Env(pairs) => {
            // every value sees the variables as they were before this ENV
            let before = stage.vars.clone();
            let mut expanded = Vec::new();
            for kv in pairs {
                let k = b.expand_word(kv.key.span, &kv.key.value, &before)?;
                let v = b.expand_word(kv.value.span, &kv.value.value, &before)?;
                if k.is_empty() {
                    return Err(BuildError::at(kv.key.span, "ENV names can not be blank"));
                }
                expanded.push((k, v));
            }
            let mut msg = String::from("ENV");
            for (k, v) in &expanded {
                stage.vars.set(k, v);
                stage.image.config.config.env_set(k, v);
                msg.push_str(&format!(" {k}={v}"));
            }
            b.record(stage, msg);
            cfg_done = format!(
                "config Env: {}",
                expanded
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        Kind::Label(pairs) => {
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
            cfg_done = format!("config Labels: {}", set.join(" "));
        }
        Kind::Cmd(cmd) => {
            let args = command_args(&stage.image.config, cmd);
            stage.image.config.config.cmd = Some(args.clone());
            args_escaped(&mut stage.image.config);
            stage.cmd_set = true;
            b.record(stage, format!("CMD {}", go_quote_list(&args)));
            cfg_done = format!("config Cmd = {}", json(&args));
        }
        Kind::Entrypoint(cmd) => {
            let args = command_args(&stage.image.config, cmd);
            stage.image.config.config.entrypoint = Some(args.clone());
            let mut note = String::new();
            if !stage.cmd_set && stage.image.config.config.cmd.is_some() {
                // BuildKit: ENTRYPOINT resets a CMD inherited from the base
                stage.image.config.config.cmd = None;
                note = " (inherited Cmd reset)".to_string();
            }
            b.record(stage, format!("ENTRYPOINT {}", go_quote_list(&args)));
            cfg_done = format!("config Entrypoint = {}{note}", json(&args));
        }
        Kind::Shell(shell) => {
            if shell.is_empty() {
                return Err(BuildError::at(span, "SHELL requires at least one argument"));
            }
            stage.image.config.config.shell = Some(shell.clone());
            b.record(stage, format!("SHELL [{}]", shell.join(" ")));
            cfg_done = format!("config Shell = {}", json(shell));
        }
        Kind::User(user) => {
            let u = b.expand_word(user.span, &user.value, &stage.vars)?;
            if u.is_empty() {
                return Err(BuildError::at(user.span, "USER requires a user name"));
            }
            stage.image.config.config.user = Some(u.clone());
            b.record(stage, format!("USER {u}"));
            cfg_done = format!("config User = {u}");
        }
        Kind::Volume(vols) => {
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
            cfg_done = format!("config Volumes + {}", list.join(" "));
        }
        Kind::Expose(ports) => {
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
            cfg_done = format!("config ExposedPorts + {}", specs.join(" "));
        }
        Kind::StopSignal(sig) => {
            let s = b.expand_word(sig.span, &sig.value, &stage.vars)?;
            check_signal(&s).map_err(|e| BuildError::at(sig.span, e))?;
            stage.image.config.config.stop_signal = Some(s.clone());
            b.record(stage, format!("STOPSIGNAL {s}"));
            cfg_done = format!("config StopSignal = {s}");
        }
        Kind::Maintainer(m) => {
            stage.image.config.author = Some(m.value.clone());
            b.record(stage, format!("MAINTAINER {}", m.value));
            cfg_done = format!("config author = {}", m.value);
        }
        Kind::Healthcheck(hc) => {
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
            cfg_done = format!("config Healthcheck = {}", json(&check.test));
            stage.image.config.config.healthcheck = Some(check);
            b.record(stage, desc);
        }
        Kind::Arg(decls) => {
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
                        stage.vars.set(name, v);
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
            cfg_done = format!("build argument {}", shown.join(" "));
        }
        _ => {
            return Err(BuildError::at(
                instr.keyword.span,
                format!(
                    "{} is not supported by minibuild",
                    instr.keyword.value.to_ascii_uppercase()
                ),
            ))
        }
    }
    Ok(cfg_done)
}

/// WORKDIR: sets the working directory (relative to the previous one) and
/// makes a layer that creates it, unless it already exists.
pub(crate) fn workdir(
    b: &mut Builder<'_>,
    stage: &mut Stage,
    instr: &Instruction,
) -> Result<String, BuildError> {
    let Kind::Workdir(path) = &instr.kind else {
        return Err(BuildError::at(instr.span, "not a WORKDIR instruction"));
    };
    let p = b.expand_word(path.span, &path.value, &stage.vars)?;
    let current = stage
        .image
        .config
        .config
        .working_dir
        .clone()
        .unwrap_or_else(|| "/".to_string());
    let wd = normalize_workdir(&current, &p);
    stage.image.config.config.working_dir = Some(wd.clone());
    let created_by = format!("WORKDIR {wd}");
    if wd == "/" {
        b.record(stage, created_by);
        return Ok("config WorkingDir = /".to_string());
    }
    let owner = match stage.image.config.config.user.clone() {
        Some(u) if !u.is_empty() => super::copy::owner_ids(b, stage, &u, path.span)?,
        _ => (0, 0),
    };
    let layout = b.layout();
    let fs = stage
        .rootfs(layout)
        .map_err(|e| BuildError::at(instr.span, e))?;
    let key = super::rootfs::key(&fs.resolve(&wd));
    if fs.is_dir(&key) {
        b.record(stage, created_by);
        return Ok(format!("config WorkingDir = {wd} (directory exists)"));
    }
    let mtime = b.epoch().unwrap_or(0);
    let mut sources = Vec::new();
    let mut prefix = String::new();
    for part in key.split('/') {
        prefix = if prefix.is_empty() {
            part.to_string()
        } else {
            format!("{prefix}/{part}")
        };
        let entry = match fs.get(&prefix) {
            Some(m) => super::copy::place::entry_from_meta(&prefix, m),
            None => Entry {
                path: prefix.clone(),
                kind: EntryKind::Dir,
                mode: 0o755,
                uid: owner.0,
                gid: owner.1,
                mtime,
                xattrs: Vec::new(),
            },
        };
        sources.push(Source::Entry(entry, Data::None));
    }
    let (layer, desc) = b.write_layer(&sources, instr.span)?;
    let history = b.history(created_by);
    stage.image.append(Addendum {
        layer: Some(layer),
        history,
    });
    Ok(format!(
        "config WorkingDir = {wd}; layer {} ({})",
        desc.digest.short(),
        crate::dest::commands::human_size(desc.size)
    ))
}

/// BuildKit's `NormalizeWorkdir`: a relative path joins the current one;
/// the result is clean and absolute.
pub fn normalize_workdir(current: &str, new: &str) -> String {
    let joined = if new.starts_with('/') {
        new.to_string()
    } else {
        format!("{current}/{new}")
    };
    format!("/{}", crate::context::clean_rel(&joined))
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

/// Go's `%q` of a string slice: `["a" "b"]`.
pub fn go_quote_list(args: &[String]) -> String {
    let quoted: Vec<String> = args
        .iter()
        .map(|a| serde_json::to_string(a).unwrap_or_default())
        .collect();
    format!("[{}]", quoted.join(" "))
}

/// Parses an EXPOSE word: `80`, `80/udp`, `8000-8002/tcp` (each port of a
/// range listed).
pub fn parse_port(word: &str) -> Result<Vec<String>, String> {
    let (ports, proto) = match word.split_once('/') {
        Some((p, proto)) => (p, proto.to_ascii_lowercase()),
        None => (word, "tcp".to_string()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let parse = |s: &str| {
        s.parse::<u16>()
            .map_err(|_| format!("invalid containerPort: {s}"))
    };
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => {
            let p = parse(ports)?;
            (p, p)
        }
    };
    if hi < lo {
        return Err(format!(
            "invalid range specified for containerPort: {ports}"
        ));
    }
    Ok((lo..=hi).map(|p| format!("{p}/{proto}")).collect())
}

const SIGNALS: &[&str] = &[
    "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL",
    "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP",
    "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ",
];

/// Checks a STOPSIGNAL value as Docker's `signal.ParseSignal` does.
pub fn check_signal(s: &str) -> Result<(), String> {
    if let Ok(n) = s.parse::<u32>() {
        return if n == 0 {
            Err(format!("invalid signal: {s}"))
        } else {
            Ok(())
        };
    }
    let name = s.strip_prefix("SIG").unwrap_or(s);
    if SIGNALS.contains(&name) {
        return Ok(());
    }
    if let Some(rt) = name
        .strip_prefix("RTMIN")
        .or_else(|| name.strip_prefix("RTMAX"))
    {
        if rt.is_empty()
            || rt
                .strip_prefix(['+', '-'])
                .is_some_and(|n| n.parse::<u8>().is_ok())
        {
            return Ok(());
        }
    }
    Err(format!("invalid signal: {s}"))
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

/// Parses a Go duration (`1h2m3.5s`, `300ms`) into nanoseconds.
pub fn parse_go_duration(s: &str) -> Result<i64, String> {
    let bad = || format!("time: invalid duration {s:?}");
    if s == "0" {
        return Ok(0);
    }
    let mut rest = s;
    let mut total: f64 = 0.0;
    let neg = rest.starts_with('-');
    rest = rest.trim_start_matches(['-', '+']);
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let num: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        total += num * mult;
        rest = &rest[unit_end..];
    }
    Ok(if neg { -(total as i64) } else { total as i64 })
}

/// Go's `time.Duration.String()` for whole-second-ish values.
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let secs = ns as f64 / 1e9;
    if ns % 1_000_000_000 != 0 && ns < 1_000_000_000 {
        return format!("{}ms", ns as f64 / 1e6);
    }
    let h = (secs / 3600.0).floor() as i64;
    let m = ((secs - h as f64 * 3600.0) / 60.0).floor() as i64;
    let s = secs - h as f64 * 3600.0 - m as f64 * 60.0;
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{s}s"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workdir_normalization() {
        assert_eq!(normalize_workdir("/", "app"), "/app");
        assert_eq!(normalize_workdir("/app", "../srv/./x/"), "/srv/x");
        assert_eq!(normalize_workdir("/app", "/abs"), "/abs");
    }

    #[test]
    fn ports() {
        assert_eq!(parse_port("80"), Ok(vec!["80/tcp".to_string()]));
        assert_eq!(parse_port("53/UDP"), Ok(vec!["53/udp".to_string()]));
        assert_eq!(parse_port("8000-8001").unwrap().len(), 2);
        assert!(parse_port("http").is_err());
        assert!(parse_port("80/xyz").is_err());
    }

    #[test]
    fn signals() {
        assert!(check_signal("SIGTERM").is_ok());
        assert!(check_signal("KILL").is_ok());
        assert!(check_signal("9").is_ok());
        assert!(check_signal("SIGRTMIN+3").is_ok());
        assert!(check_signal("SIGFOO").is_err());
        assert!(check_signal("0").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_go_duration("5s"), Ok(5_000_000_000));
        assert_eq!(parse_go_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_go_duration("300ms"), Ok(300_000_000));
        assert!(parse_go_duration("5").is_err());
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(5_000_000_000), "5s");
    }

    #[test]
    fn go_quoting() {
        assert_eq!(
            go_quote_list(&["/bin/sh".into(), "-c".into(), "echo \"hi\"".into()]),
            r#"["/bin/sh" "-c" "echo \"hi\""]"#
        );
    }
}
