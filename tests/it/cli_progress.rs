//! Progress as people and CI tools see it (issue #17): live bars on a
//! terminal that end in a clean screen, BuildKit's plain `DONE 0.9s` step
//! lines, a JSON event stream, and no escape codes where none belong.

use crate::common::terminal::{random_file, run_on_terminal, sh_quote};
use crate::common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// A three-step build of the static hello binary.
fn hello(w: &Work) {
    static_hello(&w.ctx());
    w.dockerfile("FROM scratch\nCOPY hello /\nENV GREETING=hi\nENTRYPOINT [\"/hello\"]\n");
}

/// Every line of `text` parsed as JSON (panics on one that is not).
fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}\n{text}"))
        })
        .collect()
}

/// The `N` of each `N MiB/95.37 MiB`-style byte count of the layer's bar.
fn layer_byte_counts(raw: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for chunk in raw.split(['\r', '\n']) {
        let Some(at) = chunk.find("pushing layer") else {
            continue;
        };
        let rest = &chunk[at..];
        if let Some(close) = rest.find("] ") {
            if let Some(count) = rest[close + 2..].split('/').next() {
                out.insert(count.trim().to_string());
            }
        }
    }
    out
}

#[test]
fn a_push_on_a_terminal_shows_moving_bytes_and_ends_on_a_clean_screen() {
    if !have("docker-registry") || !have("tmux") || !have("script") {
        return;
    }
    let w = Work::new();
    random_file(&w.ctx().join("big.bin"), 100_000_000);
    w.dockerfile("FROM scratch\nCOPY big.bin /\n");
    let store = sh_quote(&w.path("store").display().to_string());
    let bin = sh_quote(env!("CARGO_BIN_EXE_minibuild"));
    // the build: its bar for the layer's bytes, then only whole step lines
    let build = format!("MINIBUILD_STORE={store} {bin} build --compression none -t big:1 ctx");
    let screen = run_on_terminal(w.dir.path(), &build, 200, Duration::from_secs(120));
    assert!(
        String::from_utf8_lossy(&screen.raw).contains("writing the layer 0/1 files ["),
        "{}",
        String::from_utf8_lossy(&screen.raw).escape_debug()
    );
    let lines: Vec<&str> = screen
        .last
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 6, "{}", screen.last);
    assert!(lines[0].starts_with("[1/2] FROM scratch → empty base (scratch)  DONE "));
    assert!(lines[1].starts_with("[2/2] COPY big.bin / → layer sha256:"));
    assert!(lines[1].contains("(100MB, 1 entry)  DONE "), "{}", lines[1]);
    assert!(lines[2].starts_with("image sha256:"));
    assert!(lines[3].starts_with("stored big:1 in "));
    assert!(lines[4].starts_with("sha256:"));
    assert_eq!(lines[5], "EXIT=0");
    let reg = Registry::start();
    let command = format!(
        "MINIBUILD_STORE={store} {bin} push big:1 docker://{}/big:1",
        reg.host()
    );
    let screen = run_on_terminal(w.dir.path(), &command, 200, Duration::from_secs(120));
    let raw = String::from_utf8_lossy(&screen.raw);
    // the byte count moved: several counts between nothing and all of it
    let counts = layer_byte_counts(&raw);
    let moving: Vec<&String> = counts
        .iter()
        .filter(|c| !c.starts_with("0 ") && !c.starts_with("95.37"))
        .collect();
    assert!(
        moving.len() >= 2,
        "no moving byte count: {counts:?}\n{}",
        raw.escape_debug()
    );
    // the final screen: what was pushed, the result, no bar left over,
    // every line whole
    let lines: Vec<&str> = screen
        .last
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    assert!(lines.contains(&"EXIT=0"), "{}", screen.last);
    for l in &lines {
        assert!(
            l.starts_with("pushed config sha256:")
                || l.starts_with("pushed layer sha256:")
                || l.starts_with("pushed manifest sha256:")
                || l.starts_with("big:1 → docker://")
                || *l == "EXIT=0",
            "unexpected line {l:?} on the final screen:\n{}",
            screen.last
        );
    }
    let layer = lines
        .iter()
        .find(|l| l.starts_with("pushed layer"))
        .unwrap();
    assert!(layer.contains("(100MB) to 127.0.0.1:"), "{layer}");
    assert!(lines
        .iter()
        .any(|l| l.contains("(2 blobs uploaded, 0 already there)")));
    // while it ran, the screen showed the bar
    assert!(
        screen.samples.iter().any(|s| s.contains("pushing layer")),
        "no bar was ever on screen"
    );
}

#[test]
fn plain_progress_gives_every_step_line_a_duration() {
    let w = Work::new();
    hello(&w);
    let o = w.run(&["build", "--progress", "plain", "-t", "hello:1", "ctx"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let steps: Vec<&str> = err.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(steps.len(), 4, "{err}");
    for (i, line) in steps.iter().enumerate() {
        assert!(line.starts_with(&format!("[{}/4] ", i + 1)), "{line}");
        let (_, done) = line
            .rsplit_once("  DONE ")
            .unwrap_or_else(|| panic!("{line}"));
        let secs = done.strip_suffix('s').unwrap_or_else(|| panic!("{line}"));
        assert!(secs.parse::<f64>().is_ok(), "{line}");
    }
    assert!(steps[1].contains("COPY hello / → layer sha256:"), "{err}");
    assert!(steps[3].contains("→ config Entrypoint"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

#[test]
fn rawjson_is_one_event_per_line_with_each_step_and_each_uploaded_blob() {
    if !have("docker-registry") {
        return;
    }
    let w = Work::new();
    hello(&w);
    let o = w.run(&["build", "--progress", "rawjson", "-t", "hello:1", "ctx"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let events = json_lines(&stderr(&o));
    let mut per_step: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    for e in &events {
        let kind = e["event"].as_str().unwrap();
        if kind.starts_with("step_") {
            assert_eq!(e["total"], 4);
            per_step
                .entry(e["index"].as_u64().unwrap())
                .or_default()
                .push(kind);
        }
    }
    assert_eq!(per_step.len(), 4, "{events:?}");
    for (i, kinds) in &per_step {
        assert_eq!(kinds, &["step_started", "step_finished"], "step {i}");
    }
    let finished: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "step_finished")
        .collect();
    assert!(finished.iter().all(|e| e["seconds"].is_f64()));
    assert_eq!(finished[1]["result"]["layer"]["entries"], 1);
    assert_eq!(finished[2]["result"]["config"][0]["field"], "Env");
    let digest = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let written = events
        .iter()
        .find(|e| e["event"] == "image_written")
        .unwrap();
    assert_eq!(written["digest"], digest.as_str());

    let reg = Registry::start();
    let dest = format!("docker://{}/hello:1", reg.host());
    let o = w.run(&["push", "--progress", "rawjson", "hello:1", &dest]);
    assert!(o.status.success(), "{}", stderr(&o));
    let events = json_lines(&stderr(&o));
    let uploaded: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "blob_transferred" && e["direction"] == "upload")
        .collect();
    let m = manifest_of(&w.path("store"), "hello:1");
    let mut wanted: Vec<String> = vec![m["config"]["digest"].as_str().unwrap().to_string()];
    wanted.extend(
        m["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["digest"].as_str().unwrap().to_string()),
    );
    wanted.push(digest);
    let got: Vec<String> = uploaded
        .iter()
        .map(|e| e["digest"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, wanted, "one event per uploaded blob, in order");
    assert!(uploaded.iter().all(|e| e["skipped"] == false));
    assert_eq!(uploaded[0]["kind"], "config");
    assert_eq!(uploaded[1]["kind"], "layer");
    assert_eq!(uploaded[1]["bytes"], m["layers"][0]["size"]);
    // a second push finds the blobs there: each reported as skipped
    let o = w.run(&["push", "--progress", "rawjson", "hello:1", &dest]);
    let events = json_lines(&stderr(&o));
    let skipped = events
        .iter()
        .filter(|e| e["event"] == "blob_transferred" && e["skipped"] == true)
        .count();
    assert_eq!(skipped, 2);
    // FROM the registry in a fresh store: one event per downloaded blob
    let pulled = Work::new();
    pulled.dockerfile(&format!("FROM docker://{}/hello:1\nENV B=1\n", reg.host()));
    let o = pulled.run(&["build", "--progress", "rawjson", "ctx"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let events = json_lines(&stderr(&o));
    let downloaded: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "blob_transferred" && e["direction"] == "download")
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(downloaded, ["config", "layer"], "{events:?}");
    let progress = events
        .iter()
        .filter(|e| e["event"] == "progress" && e["task"] == "download")
        .count();
    assert!(progress >= 4, "a start and a finish per blob: {events:?}");
}

#[test]
fn rawjson_failures_are_an_error_event() {
    let w = Work::new();
    w.dockerfile("FROM scratch\nRUN true\n");
    let o = w.run(&["build", "--progress", "rawjson", "ctx"]);
    assert_eq!(o.status.code(), Some(1));
    let events = json_lines(&stderr(&o));
    let last = events.last().unwrap();
    assert_eq!(last["event"], "error");
    let message = last["message"].as_str().unwrap();
    assert!(message.contains("RUN is not supported"), "{message}");
    assert!(message.contains("Dockerfile:2:1"), "{message}");
}

/// SGR sequences (`ESC [ ... m`): colour, as opposed to the cursor moves
/// a live bar needs.
fn has_colour(raw: &[u8]) -> bool {
    let text = String::from_utf8_lossy(raw);
    text.split('\u{1b}').skip(1).any(|seq| {
        seq.strip_prefix('[').and_then(|s| {
            s.find(|c: char| c.is_ascii_alphabetic())
                .map(|i| &s[i..i + 1])
        }) == Some("m")
    })
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color_or_a_pipe() {
    let w = Work::new();
    w.dockerfile("FROM scratch\nCOPPY a /\n");
    // piped: no escape codes at all, with colour asked for by --color only
    let o = w.run(&["build", "ctx"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!o.stderr.contains(&0x1b), "{}", stderr(&o));
    let o = w.run(&["build", "--color", "always", "ctx"]);
    assert!(
        stderr(&o).contains("\u{1b}[1;31merror\u{1b}[0m"),
        "{}",
        stderr(&o)
    );
    let o = minibuild()
        .args(["build", "--color", "never", "ctx"])
        .env("MINIBUILD_STORE", w.path("store"))
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    assert!(!o.stderr.contains(&0x1b));
    // clap's own usage errors follow --color too
    let o = w.run(&["--bogus"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!o.stderr.contains(&0x1b), "{}", stderr(&o));
    let o = w.run(&["--bogus", "--color=always"]);
    assert!(o.stderr.contains(&0x1b), "{}", stderr(&o));
    if !have("tmux") || !have("script") {
        return;
    }
    let bin = sh_quote(env!("CARGO_BIN_EXE_minibuild"));
    let store = sh_quote(&w.path("store").display().to_string());
    // on a terminal: rustc's colours; with NO_COLOR=1: none
    let coloured = run_on_terminal(
        w.dir.path(),
        &format!("MINIBUILD_STORE={store} {bin} build ctx"),
        120,
        Duration::from_secs(60),
    );
    assert!(
        String::from_utf8_lossy(&coloured.raw).contains("\u{1b}[1;31merror"),
        "{}",
        String::from_utf8_lossy(&coloured.raw).escape_debug()
    );
    assert!(coloured.last.contains("error: unknown instruction"));
    let plain = run_on_terminal(
        w.dir.path(),
        &format!("NO_COLOR=1 MINIBUILD_STORE={store} {bin} build ctx"),
        120,
        Duration::from_secs(60),
    );
    assert!(
        !has_colour(&plain.raw),
        "{}",
        String::from_utf8_lossy(&plain.raw).escape_debug()
    );
    assert!(plain.last.contains("error: unknown instruction"));
    // a successful build on a terminal with NO_COLOR: bars, but no colour
    hello(&w);
    let built = run_on_terminal(
        w.dir.path(),
        &format!("NO_COLOR=1 MINIBUILD_STORE={store} {bin} build -t hello:1 ctx"),
        120,
        Duration::from_secs(60),
    );
    assert!(built.last.contains("[4/4] ENTRYPOINT"), "{}", built.last);
    assert!(!has_colour(&built.raw));
}

#[test]
fn save_reports_each_blob_it_writes() {
    let w = Work::new();
    hello(&w);
    let o = w.run(&["build", "-q", "-t", "hello:1", "ctx"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for (kind, blobs) in [("oci-archive", 3), ("docker-archive", 1)] {
        let file = w.path(&format!("{kind}.tar"));
        let dest = format!("{kind}:{}", file.display());
        let o = w.run(&["save", "--progress", "plain", "hello:1", &dest]);
        assert!(o.status.success(), "{}", stderr(&o));
        let err = stderr(&o);
        let wrote: Vec<&str> = err.lines().filter(|l| l.starts_with("wrote ")).collect();
        assert_eq!(wrote.len(), blobs, "{kind}: {err}");
        assert!(
            wrote.iter().any(|l| l.starts_with("wrote layer sha256:")
                && l.contains(&format!(" to {} in ", file.display()))),
            "{err}"
        );
        let o = w.run(&["save", "--progress", "rawjson", "hello:1", &dest]);
        let events = json_lines(&stderr(&o));
        let written = events
            .iter()
            .filter(|e| e["event"] == "blob_transferred" && e["direction"] == "write")
            .count();
        assert_eq!(written, blobs, "{kind}");
        let o = w.run(&["save", "-q", "hello:1", &dest]);
        assert!(o.stderr.is_empty(), "{}", stderr(&o));
    }
}
