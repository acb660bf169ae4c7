//! BuildKit's own parser test vectors: every `testfiles/*` case must dump
//! exactly as its `result`, every `testfiles-negative/*` case must be
//! rejected, and `testfile-line` must give BuildKit's line numbers.
//!
//! The vectors live beside the project, in
//! `../shared/conformance/buildkit/frontend/dockerfile/parser/`; the test
//! fails (it does not skip) when they are missing.

use std::fs;
use std::path::{Path, PathBuf};

use minibuild::syntax::{dump, parse};

fn vectors() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/conformance/buildkit/frontend/dockerfile/parser");
    assert!(
        dir.is_dir(),
        "BuildKit parser test vectors missing at {}",
        dir.display()
    );
    dir
}

fn cases(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Compares one case; `None` when it matches, else what differs.
fn check_case(case: &Path) -> Option<String> {
    let src = read(&case.join("Dockerfile"));
    let want = read(&case.join("result"));
    let df = match parse(&src) {
        Ok(df) => df,
        Err(e) => return Some(format!("rejected: {e} at {:?}", e.span.line_col(&src))),
    };
    let got: Vec<String> = df.instructions.iter().map(dump).collect();
    let want: Vec<&str> = want.lines().collect();
    let mut diffs = Vec::new();
    for i in 0..got.len().max(want.len()) {
        let g = got.get(i).map(String::as_str).unwrap_or("<none>");
        let w = want.get(i).copied().unwrap_or("<none>");
        if g != w {
            diffs.push(format!("  #{}\n    want {w}\n    got  {g}", i + 1));
        }
    }
    (!diffs.is_empty()).then(|| diffs.join("\n"))
}

#[test]
fn every_testfile_dumps_as_buildkit() {
    let all = cases(&vectors().join("testfiles"));
    assert_eq!(all.len(), 33, "expected BuildKit's 33 parser test files");
    let failures: Vec<String> = all
        .iter()
        .filter_map(|case| {
            let name = case.file_name().unwrap().to_string_lossy().into_owned();
            check_case(case).map(|d| format!("{name}:\n{d}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn every_negative_testfile_is_rejected() {
    let all = cases(&vectors().join("testfiles-negative"));
    assert_eq!(all.len(), 4, "expected BuildKit's 4 negative test files");
    let accepted: Vec<String> = all
        .iter()
        .filter(|case| parse(&read(&case.join("Dockerfile"))).is_ok())
        .map(|case| case.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(accepted.is_empty(), "accepted: {accepted:?}");
}

#[test]
fn instruction_lines_match_buildkit() {
    let src = read(&vectors().join("testfile-line/Dockerfile"));
    let df = parse(&src).unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<(usize, usize)> = df
        .instructions
        .iter()
        .map(|i| (i.span.line_col(&src).0, i.span.end_line(&src)))
        .collect();
    assert_eq!(lines, [(5, 5), (11, 12), (17, 31)]);
}
