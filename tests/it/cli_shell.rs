//! The command line around the commands (issue #17): shell completions
//! that load in bash, a man page, help that ends with examples, and
//! `--format json` / `--filter` for scripts.

use crate::common::*;
use serde_json::Value;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs `script` in bash with the completion script loaded; its stdout.
fn bash_with_completions(w: &Work, script: &str) -> String {
    let o = w.run(&["completions", "bash"]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::write(w.path("minibuild.bash"), &o.stdout).unwrap();
    let o = std::process::Command::new("bash")
        .arg("--norc")
        .arg("-c")
        .arg(format!(
            "source {} && {script}",
            w.path("minibuild.bash").display()
        ))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

#[test]
fn the_bash_completion_loads_and_completes_subcommands_and_progress_modes() {
    if !have("bash") {
        return;
    }
    let w = Work::new();
    let registered = bash_with_completions(&w, "complete -p minibuild");
    assert!(
        registered.contains("-F _minibuild minibuild"),
        "{registered}"
    );
    // COMP_WORDS as bash sets them; the function gets (command, word, previous)
    let complete = |words: &[&str]| -> Vec<String> {
        let array = words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" ");
        let cword = words.len() - 1;
        let prev = words[cword - 1];
        let cur = words[cword];
        let out = bash_with_completions(
            &w,
            &format!(
                "COMP_WORDS=({array}); COMP_CWORD={cword}; _minibuild minibuild '{cur}' '{prev}'; printf '%s\\n' \"${{COMPREPLY[@]}}\""
            ),
        );
        out.lines().map(str::to_string).collect()
    };
    assert_eq!(complete(&["minibuild", "pu"]), ["push"]);
    assert_eq!(complete(&["minibuild", "com"]), ["completions"]);
    assert_eq!(
        complete(&["minibuild", "build", "--progress", ""]),
        ["auto", "tty", "plain", "quiet", "rawjson"]
    );
    assert_eq!(
        complete(&["minibuild", "push", "--progress", "r"]),
        ["rawjson"]
    );
    assert!(complete(&["minibuild", "build", "--pro"]).contains(&"--progress".to_string()));
}

#[test]
fn zsh_and_fish_scripts_and_the_man_page_are_written() {
    let w = Work::new();
    for (shell, mark) in [
        ("zsh", "#compdef minibuild"),
        ("fish", "complete -c minibuild"),
    ] {
        let o = w.run(&["completions", shell]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains(mark), "{shell}");
    }
    let o = w.run(&["man"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let page = stdout(&o);
    assert!(
        page.starts_with(".ie") || page.contains(".TH minibuild"),
        "{page}"
    );
    assert!(page.contains("completions"), "{page}");
    if have("man") {
        std::fs::write(w.path("minibuild.1"), &page).unwrap();
        let o = std::process::Command::new("man")
            .arg("-l")
            .arg(w.path("minibuild.1"))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        assert!(
            stdout(&o).contains("Build OCI container images"),
            "{}",
            stdout(&o)
        );
    }
}

#[test]
fn every_subcommand_help_ends_with_examples() {
    let w = Work::new();
    for sub in [
        "build",
        "images",
        "inspect",
        "rm",
        "prune",
        "save",
        "push",
        "completions",
        "man",
    ] {
        let o = w.run(&[sub, "--help"]);
        assert!(o.status.success(), "{sub}: {}", stderr(&o));
        let help = stdout(&o);
        let (_, examples) = help
            .rsplit_once("Examples:\n")
            .unwrap_or_else(|| panic!("{sub} --help has no examples:\n{help}"));
        let lines: Vec<&str> = examples.lines().filter(|l| !l.is_empty()).collect();
        assert!((2..=3).contains(&lines.len()), "{sub}: {lines:?}");
        for l in lines {
            assert!(
                l.starts_with("  ") && l.contains("minibuild "),
                "{sub}: {l}"
            );
        }
    }
}

#[test]
fn images_as_json_filtered_by_reference() {
    let w = Work::new();
    w.file("a.txt", "a");
    w.dockerfile("FROM scratch\nCOPY a.txt /\n");
    for tag in ["hello:1", "hello:2", "other:1"] {
        let o = w.run(&["build", "-q", "-t", tag, "ctx"]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = w.run(&["images", "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let all: Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["hello:1", "hello:2", "other:1"]);
    let first = &all[0];
    assert!(first["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(first["size"].as_u64().unwrap() > 0);
    assert!(first["created"].is_string());

    let filtered = |pattern: &str, format: &str| {
        let o = w.run(&[
            "images",
            "--format",
            format,
            "--filter",
            &format!("reference={pattern}"),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let json: Value = serde_json::from_str(&filtered("hello", "json")).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    let json: Value = serde_json::from_str(&filtered("*:1", "json")).unwrap();
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["hello:1", "other:1"]);
    let table = filtered("oth*", "table");
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows[0].starts_with("NAME"));
    assert!(rows[1].starts_with("other:1 "));
    let o = w.run(&["images", "--filter", "label=x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("expected reference=PATTERN"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn results_as_json_for_build_inspect_save_rm_and_prune() {
    let w = Work::new();
    w.file("a.txt", "a");
    w.dockerfile("FROM scratch\nCOPY a.txt /\nCMD [\"/a\"]\n");
    let o = w.run(&["build", "-q", "--format", "json", "-t", "t:1", "ctx"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stderr.is_empty(), "-q: {}", stderr(&o));
    let built: Value = serde_json::from_slice(&o.stdout).unwrap();
    let digest = built["digest"].as_str().unwrap().to_string();
    assert_eq!(built["layers"], 1);
    assert_eq!(built["tags"][0], "t:1");
    assert!(built["platform"].as_str().unwrap().starts_with("linux/"));

    let o = w.run(&["inspect", "--format", "json", "t:1"]);
    let inspected: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(inspected["entry"]["digest"], digest.as_str());
    assert_eq!(inspected["runtime"]["Cmd"][0], "/a");
    assert_eq!(inspected["layers"].as_array().unwrap().len(), 1);

    let archive = w.path("t.tar");
    let dest = format!("oci-archive:{}", archive.display());
    let o = w.run(&["save", "--format", "json", "t:1", &dest]);
    assert!(o.status.success(), "{}", stderr(&o));
    let saved: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(saved["digest"], digest.as_str());
    assert_eq!(saved["destination"], dest.as_str());
    assert!(archive.exists());

    let o = w.run(&["rm", "--format", "json", "t:1"]);
    let removed: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(removed["untagged"], "t:1");
    let o = w.run(&["prune", "--cache", "--format", "json"]);
    let pruned: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(pruned["blobs"], 3);
    assert!(pruned["bytes"].as_u64().unwrap() > 0);
}

#[test]
fn global_flags_go_before_a_subcommand_and_build_flags_do_not() {
    let w = Work::new();
    w.file("a.txt", "a");
    w.dockerfile("FROM scratch\nCOPY a.txt /\n");
    let store = w.path("elsewhere").display().to_string();
    let o = w.run(&["--store", &store, "build", "-q", "-t", "t:1", "ctx"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = w.run(&["--store", &store, "--color", "never", "images"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("t:1"), "{}", stdout(&o));
    let o = w.run(&["images", "--store", &store]);
    assert!(stdout(&o).contains("t:1"), "{}", stdout(&o));
    // a build flag before a subcommand would be ignored: refused instead
    let o = w.run(&["-t", "x:1", "images"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o)
            .contains("the build flag --tag goes after `minibuild build`, not before `images`"),
        "{}",
        stderr(&o)
    );
}
