//! Hostile input (issue #15): Dockerfiles built to exhaust memory, the
//! stack or time must end quickly with a line-numbered error; what is not a
//! Dockerfile is refused by name; the Dockerfile's control characters never
//! reach the terminal; and seeded random mutations of BuildKit's parser
//! test files never make the parser or the expander panic.

use crate::common::Rng;
use crate::common::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// `ARG` lines, each doubling the one before: `ARG A0=xx`, `ARG A1=$A0$A0`...
fn doubling(n: usize) -> String {
    let mut s = "ARG A0=xx\n".to_string();
    for i in 1..n {
        let _ = writeln!(s, "ARG A{i}=$A{p}$A{p}", p = i - 1);
    }
    s
}

fn nested(n: usize) -> String {
    format!("{}x{}", "${A:-".repeat(n), "}".repeat(n))
}

/// Runs the build of `df`; its exit code and stderr.
fn build(w: &Work, df: &str) -> (Option<i32>, String) {
    w.dockerfile(df);
    let o = w.run(&[
        "-o",
        &format!("oci:{}:h", w.path("out").display()),
        w.ctx().to_str().unwrap(),
    ]);
    (o.status.code(), stderr(&o))
}

#[test]
fn language_bombs_end_with_a_located_error() {
    let a = "a".repeat(100_000);
    // (Dockerfile, the error line, where)
    let cases: Vec<(String, &str, &str)> = vec![
        // 447 bytes of these reached 14 GB
        (
            format!("FROM scratch\n{}", doubling(40)),
            "error: expanding \"$A19$A19\": the result would be longer than 1048576 bytes, the most one word may have\n",
            "Dockerfile:22:9",
        ),
        // the same before FROM (the global scope)
        (
            format!("{}FROM scratch\n", doubling(40)),
            "the most one word may have\n",
            "Dockerfile:21:9",
        ),
        // many variables of 512 KiB each: the total is bounded
        (
            format!(
                "FROM scratch\n{}{}",
                doubling(19),
                (0..40).map(|i| format!("ARG B{i}=$A18\n")).collect::<String>()
            ),
            "error: setting B29: the variables would hold more than 16777216 bytes, the most minibuild allows\n",
            "Dockerfile:50:5",
        ),
        // words of 1 MiB recorded over and over: the build's total is bounded
        (
            format!("FROM scratch\n{}{}", doubling(20), "LABEL a=$A19\n".repeat(300)),
            "error: the words of this Dockerfile expand to more than 268435456 bytes in all, the most minibuild allows\n",
            "Dockerfile:275:9",
        ),
        // 12,000 levels overflowed the stack (SIGABRT)
        (
            format!("FROM scratch\nENV A={}\n", nested(12_000)),
            ": variable substitutions nested more than 100 levels deep\n",
            "Dockerfile:2:7",
        ),
        // 100 KB doubled is fine (it took seconds); 12 times is too long
        (
            format!("FROM scratch\nENV X={a}\nENV Y=${{X//a/bb}}\nENV Z=${{X//a/bbbbbbbbbbbb}}\n"),
            "error: expanding \"${X//a/bbbbbbbbbbbb}\": the result would be longer than 1048576 bytes",
            "Dockerfile:4:7",
        ),
        // each level was parsed again: quadratic
        (
            format!("FROM scratch\n{}RUN x\n", "ONBUILD ".repeat(20_000)),
            "error: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed\n",
            "Dockerfile:2:9",
        ),
    ];
    let w = Work::new();
    let mut failures = Vec::new();
    for (df, msg, at) in &cases {
        let (code, err) = build(&w, df);
        if code != Some(1) || !err.contains(msg) || !err.contains(at) {
            let head: String = df.chars().take(60).collect();
            failures.push(format!(
                "{head:?}...: exit {code:?}\n{}",
                &err[..err.len().min(2000)]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

#[test]
fn many_variables_and_deep_json_build() {
    let w = Work::new();
    // 16,000 ENV took 27 s and 32,000 ARG 60 s (quadratic); half here
    let mut df = "FROM scratch\n".to_string();
    for i in 0..8_000usize {
        let _ = writeln!(df, "ENV E{i}=e{i}${{E{p}:+-set}}", p = i.saturating_sub(1));
        let _ = writeln!(df, "ARG A{i}=a{i}${{A{p}:+-set}}", p = i.saturating_sub(1));
    }
    // Go's encoding/json stops at depth 10,000, so BuildKit reads this as
    // the shell form; it must not take the stack either
    let _ = writeln!(df, "CMD {}{}", "[".repeat(50_000), "]".repeat(50_000));
    let (code, err) = build(&w, &df);
    assert_eq!(code, Some(0), "{}", &err[err.len().saturating_sub(2000)..]);
    let c = config_of(&w.path("out"), "h");
    let env = c["config"]["Env"].as_array().unwrap();
    assert_eq!(env.len(), 8_001, "PATH and E0..E7999");
    assert_eq!(env[8_000], "E7999=e7999-set");
}

#[test]
fn what_is_not_a_dockerfile_is_refused_by_name() {
    let w = Work::new();
    w.file("a.txt", "a");
    let ctx = w.ctx();
    let run = |file: &Path| {
        let o = w.run(&[
            "-f",
            file.to_str().unwrap(),
            "-o",
            &format!("oci:{}:h", w.path("out").display()),
            ctx.to_str().unwrap(),
        ]);
        (o.status.code(), stderr(&o))
    };
    let fifo = w.path("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let big = w.path("big");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(16 * 1024 * 1024 + 1)
        .unwrap();
    let bad = w.path("bad");
    std::fs::write(&bad, b"FROM scratch\n\nLABEL a=\xc3\x28\n").unwrap();
    let cases: [(PathBuf, String); 4] = [
        (
            "/dev/zero".into(),
            "error: reading Dockerfile /dev/zero: not a regular file\n".into(),
        ),
        (
            fifo.clone(),
            format!("error: reading Dockerfile {}: not a regular file\n", fifo.display()),
        ),
        (
            big.clone(),
            format!(
                "error: reading Dockerfile {}: larger than 16777216 bytes, the most minibuild reads\n",
                big.display()
            ),
        ),
        (
            bad.clone(),
            format!("error: reading Dockerfile {}: line 3 is not valid UTF-8\n", bad.display()),
        ),
    ];
    for (file, want) in cases {
        assert_eq!(run(&file), (Some(1), want), "{}", file.display());
    }
}

#[test]
fn control_characters_are_escaped_in_errors_and_progress() {
    let w = Work::new();
    let (code, err) = build(
        &w,
        "FROM scratch\nLABEL a=\"\x1b[31mred\"\nCOPY \x1b[2Jmissing /\n",
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(!err.contains('\x1b'), "{err:?}");
    assert!(err.contains("LABEL a=\"\\u{1b}[31mred\""), "{err}");
    assert!(err.contains("3 | COPY \\u{1b}[2Jmissing /\n"), "{err}");
}

/// Characters the grammar and the lexer treat specially, and a few others.
const ALPHABET: &[&str] = &[
    "$",
    "{",
    "}",
    ":",
    "-",
    "+",
    "?",
    "#",
    "%",
    "/",
    "\\",
    "`",
    "'",
    "\"",
    "\n",
    "\t",
    " ",
    "=",
    "[",
    "]",
    ",",
    "<<",
    "EOF",
    "--",
    "${A:-",
    "${A//",
    "\r",
    "\u{0}",
    "é",
    "\u{feff}",
    "*",
    "ONBUILD ",
    "COPY ",
    "ARG ",
    "ENV ",
    "RUN ",
    "FROM ",
    "# escape=`\n",
];

fn mutate(rng: &mut Rng, text: &str, other: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(chars.len() + 1);
        match rng.below(4) {
            0 => {
                let ins: Vec<char> = ALPHABET[rng.below(ALPHABET.len())].chars().collect();
                chars.splice(at..at, ins);
            }
            1 => {
                let end = (at + rng.below(8)).min(chars.len());
                chars.drain(at..end);
            }
            2 => {
                let end = (at + rng.below(16)).min(chars.len());
                let copy: Vec<char> = chars[at..end].to_vec();
                chars.splice(at..at, copy);
            }
            _ => {
                let o: Vec<char> = other.chars().collect();
                let from = rng.below(o.len() + 1);
                let end = (from + rng.below(40)).min(o.len());
                chars.splice(at..at, o[from..end].iter().copied());
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn seeded_mutations_never_panic_the_parser_or_the_expander() {
    use minibuild::expand::Lexer;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/conformance/buildkit/frontend/dockerfile");
    let mut seeds = Vec::new();
    for dir in ["parser/testfiles", "parser/testfiles-negative"] {
        let dir = root.join(dir);
        let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("BuildKit test files missing at {}: {e}", dir.display()))
            .map(|e| e.unwrap().path().join("Dockerfile"))
            .filter(|p| p.is_file())
            .collect();
        cases.sort();
        seeds.extend(cases.iter().map(|p| std::fs::read_to_string(p).unwrap()));
    }
    for f in ["shell/envVarTest", "shell/wordsTest"] {
        let text = std::fs::read_to_string(root.join(f)).unwrap();
        seeds.extend(
            text.lines()
                .map(|l| l.split('|').next().unwrap_or("").to_string()),
        );
    }
    assert!(seeds.len() > 50, "{} seeds", seeds.len());
    let vars: Vec<(String, String)> = [("A", "a*b"), ("PWD", "/home"), ("EMPTY", "")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..3_000 {
        let seed = &seeds[rng.below(seeds.len())];
        let other = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed, other);
        let outcome = std::panic::catch_unwind(|| {
            if let Ok(df) = minibuild::syntax::parse(&input) {
                for instr in &df.instructions {
                    let _ = minibuild::syntax::dump(instr);
                    for arg in &instr.args {
                        let lexer = Lexer::new(df.directives.escape);
                        let _ = lexer.process_words(&arg.value, &vars);
                        let _ = lexer
                            .skip_process_quotes(true)
                            .process_word(&arg.value, &vars);
                    }
                }
            }
            let _ = Lexer::new('\\').process_word(&input, &vars);
        });
        assert!(outcome.is_ok(), "input {i} panicked: {input:?}");
    }
}
