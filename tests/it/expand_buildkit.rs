//! BuildKit's own expansion and word-splitting tables
//! (`frontend/dockerfile/shell/envVarTest` and `wordsTest`), run against
//! [`minibuild::expand::Lexer`]. The files live beside the project in
//! `../shared/conformance/buildkit`; a missing file is a failure.

use minibuild::expand::Lexer;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn conformance_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/conformance/buildkit/frontend/dockerfile/shell")
        .join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => panic!("reading conformance file {}: {e}", path.display()),
    }
}

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn env_var_test_table() {
    let text = conformance_file("envVarTest");
    let env = vars(&[
        ("PWD", "/home"),
        ("SHELL", "bash"),
        ("KOREAN", "한국어"),
        ("NULL", ""),
    ]);
    let lexer = Lexer::new('\\');
    let mut failures = Vec::new();
    let mut ran = 0;
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('|').collect();
        if fields.len() != 3 {
            failures.push(format!("line {lineno}: malformed: {line:?}"));
            continue;
        }
        let (platform, input, expected) = (fields[0].trim(), fields[1].trim(), fields[2].trim());
        if platform != "A" && platform != "U" {
            continue;
        }
        ran += 1;
        let got = lexer.process_word(input, &env);
        match (expected, got) {
            ("error", Err(_)) => {}
            ("error", Ok(v)) => failures.push(format!(
                "line {lineno}: {input:?}: expected an error, got {v:?}"
            )),
            (want, Ok(v)) if v == want => {}
            (want, got) => failures.push(format!(
                "line {lineno}: {input:?}: expected {want:?}, got {got:?}"
            )),
        }
    }
    assert!(ran > 200, "only {ran} cases ran: is envVarTest complete?");
    assert!(
        failures.is_empty(),
        "{} of {ran} envVarTest cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn words_test_table() {
    let text = conformance_file("wordsTest");
    let mut env = BTreeMap::new();
    let lexer = Lexer::new('\\');
    let mut failures = Vec::new();
    let mut ran = 0;
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        if line.starts_with('#') {
            continue;
        }
        if let Some(def) = line.strip_prefix("ENV ").map(|d| d.trim_start_matches(' ')) {
            match def.split_once('=') {
                Some((k, v)) => {
                    env.insert(k.to_string(), v.to_string());
                }
                None => failures.push(format!("line {lineno}: malformed ENV: {line:?}")),
            }
            continue;
        }
        let Some((input, expected)) = line.split_once('|') else {
            if !line.trim().is_empty() {
                failures.push(format!("line {lineno}: malformed: {line:?}"));
            }
            continue;
        };
        // BuildKit trims the input but only the leading space of the
        // expected words (trailing spaces there are significant).
        let input = input.trim();
        let expected = expected.trim_start();
        ran += 1;
        let got = lexer.process_words(input, &env);
        match (expected, got) {
            ("error", Err(_)) => {}
            ("error", Ok(v)) => failures.push(format!(
                "line {lineno}: {input:?}: expected an error, got {v:?}"
            )),
            (want, Ok(v)) if v == want.split(',').collect::<Vec<_>>() => {}
            (want, got) => failures.push(format!(
                "line {lineno}: {input:?}: expected {want:?}, got {got:?}"
            )),
        }
    }
    assert!(ran > 20, "only {ran} cases ran: is wordsTest complete?");
    assert!(
        failures.is_empty(),
        "{} of {ran} wordsTest cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
