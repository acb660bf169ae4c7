//! The values metadata instructions take, read and written as Docker
//! does: ports, signals, Go durations, Go's quoting.

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
    use crate::executor::meta::normalize_workdir;

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
