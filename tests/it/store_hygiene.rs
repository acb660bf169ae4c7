//! Store and output hygiene (issue #15): a failed build writes nothing, the
//! temporaries of killed builds are swept at once, an archive output leaves
//! nothing behind on SIGINT/SIGTERM, global flags go anywhere, a read-only
//! store can be built from, one layout check for every command, special
//! files in a layout are refused by name, and a blob that changed in the
//! store is refused as it streams out.

use crate::common::hygiene::*;
use crate::common::*;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn a_failed_build_writes_nothing_to_the_store() {
    let w = Work::new();
    w.file("a.txt", "a\n");
    w.file("b.txt", "b\n");
    // a gzip cut short: refused while its layer is written, after two
    // layers of this build were already complete
    let tar = w.path("big.tar");
    noise_tar(&tar, &[("big.bin".to_string(), 1 << 20)]);
    let gz = gzip(&std::fs::read(&tar).unwrap());
    w.file("cut.tar.gz", &gz[..gz.len() / 2]);
    let ctx = w.ctx();
    let ctx = ctx.to_str().unwrap();
    let parse_error = "FROM scratch\nCOPY a.txt /\nBOGUS x\n";
    let mid_build = "FROM scratch\nCOPY a.txt /\nCOPY b.txt /\nADD cut.tar.gz /x/\n";

    // into a store that does not exist yet: it is not made
    for df in [parse_error, mid_build] {
        w.dockerfile(df);
        let o = w.run(&["build", "-t", "x:1", ctx]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(
            !w.path("store").exists(),
            "{df}: {:?}",
            tree(&w.path("store"))
        );
        let out = w.path("out");
        let o = w.run(&["build", "-o", &format!("oci:{}", out.display()), ctx]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(!out.exists(), "{df}: {:?}", tree(&out));
    }
    // into a store that has an image: the store is as it was, byte for byte
    w.dockerfile("FROM scratch\nCOPY a.txt /\n");
    let o = w.run(&["build", "-t", "keep:1", ctx]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = tree(&w.path("store"));
    w.dockerfile(mid_build);
    let o = w.run(&["build", "-t", "keep:1", ctx]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("cut.tar.gz"), "{}", stderr(&o));
    assert_eq!(tree(&w.path("store")), before);
}

#[test]
fn a_base_pulled_by_a_build_that_then_fails_stays_whole_in_the_store() {
    if !have("docker-registry") {
        return;
    }
    let reg = Registry::start();
    let w = Work::new();
    let ctx = w.hello_context("pulled");
    let c = ctx.to_str().unwrap();
    let base = format!("{}/base:1", reg.host());
    let elsewhere = w.path("elsewhere").display().to_string();
    let o = w.run(&["build", "--store", &elsewhere, "-t", &base, c]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = w.run(&["push", "--store", &elsewhere, &base]);
    assert!(o.status.success(), "{}", stderr(&o));
    let tar = w.path("big.tar");
    noise_tar(&tar, &[("big.bin".to_string(), 1 << 20)]);
    let gz = gzip(&std::fs::read(&tar).unwrap());
    w.file("cut.tar.gz", &gz[..gz.len() / 2]);
    w.dockerfile(&format!(
        "FROM docker://{base}\nCOPY msg /again\nADD cut.tar.gz /x/\n"
    ));
    let o = w.run(&["build", "-t", "fails:1", c]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // the pulled base is cached under its name with every blob it needs;
    // nothing of the failed build is there
    let store = w.path("store");
    assert_eq!(tags(&store).keys().collect::<Vec<_>>(), vec![&base]);
    validate(&store);
    let o = w.run(&["prune"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("removed 0 blobs,"));
}

#[test]
fn temporaries_of_killed_builds_go_at_once_with_the_next_build_or_prune() {
    let w = Work::new();
    let tmp = w.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    w.file("a.txt", "a\n");
    let ctx = w.ctx();
    noise_tar(&ctx.join("big.tar"), &[("big.bin".to_string(), 96 << 20)]);
    let ctx = ctx.to_str().unwrap();
    let store = w.path("store");
    w.dockerfile("FROM scratch\nCOPY a.txt /\n");
    let o = w.run(&["build", "-t", "keep:1", ctx]);
    assert!(o.status.success(), "{}", stderr(&o));
    for next in ["build", "prune"] {
        w.dockerfile("FROM scratch\nCOPY a.txt /\nADD big.tar /data/\n");
        let mut child = minibuild()
            .arg("build")
            .args(SLOW_LAYER)
            .args(["-t", "big:1", ctx])
            .env("MINIBUILD_STORE", &store)
            .env("TMPDIR", &tmp)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(w.path("log")).unwrap())
            .spawn()
            .unwrap();
        // killed (SIGKILL: nothing of it runs) once its ADD layer is on its way
        let started = Instant::now();
        // (the ADD's cache key, a checksum of big.tar, comes first)
        while temporary_bytes(&store) < 1 << 20 || tree(&tmp).is_empty() {
            assert!(child.try_wait().unwrap().is_none(), "the build ended first");
            assert!(started.elapsed() < Duration::from_secs(60));
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(300));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            !temporaries(&store).is_empty(),
            "{next}: {:?} {}",
            tree(&store),
            std::fs::read_to_string(w.path("log")).unwrap()
        );
        let o = match next {
            "build" => {
                w.dockerfile("FROM scratch\nCOPY a.txt /\n");
                minibuild()
                    .args(["build", "-t", "keep:2", ctx])
                    .env("MINIBUILD_STORE", &store)
                    .env("TMPDIR", &tmp)
                    .output()
                    .unwrap()
            }
            _ => minibuild()
                .arg("prune")
                .env("MINIBUILD_STORE", &store)
                .env("TMPDIR", &tmp)
                .output()
                .unwrap(),
        };
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(temporaries(&store), Vec::<String>::new(), "after {next}");
        assert_eq!(tree(&tmp), Vec::<String>::new(), "after {next}");
        if next == "prune" {
            // `removed 0 blobs and 1 temporary, 12.3MB freed`
            let said = String::from_utf8_lossy(&o.stdout).into_owned();
            assert!(said.starts_with("removed 0 blobs and "), "{said}");
            assert!(said.contains("MB freed"), "{said}");
        }
        validate(&store);
    }
}

#[test]
fn an_archive_output_leaves_nothing_behind_on_sigterm_or_sigint() {
    for (signal, name) in [(15, "TERM"), (2, "INT")] {
        for format in ["oci-archive", "docker-archive"] {
            let w = Work::new();
            let tmp = w.path("tmp");
            let out = w.path("out");
            std::fs::create_dir_all(&tmp).unwrap();
            std::fs::create_dir_all(&out).unwrap();
            noise_file(&w.ctx().join("big.bin"), 64 << 20, 11);
            w.dockerfile("FROM scratch\nCOPY big.bin /\n");
            let file = out.join("image.tar");
            let mut child = minibuild()
                .args(["build", "--compression", "none", "-o"])
                .arg(format!("{format}:{}", file.display()))
                .arg(w.ctx())
                .env("MINIBUILD_STORE", w.path("store"))
                .env("TMPDIR", &tmp)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            // signalled while the archive is being written beside its place
            let started = Instant::now();
            while std::fs::read_dir(&out).unwrap().count() == 0 {
                assert!(
                    child.try_wait().unwrap().is_none(),
                    "{format}: the build ended first"
                );
                assert!(started.elapsed() < Duration::from_secs(60));
                std::thread::sleep(Duration::from_millis(2));
            }
            let kill = std::process::Command::new("kill")
                .arg(format!("-{name}"))
                .arg(child.id().to_string())
                .status()
                .unwrap();
            assert!(kill.success());
            let status = child.wait().unwrap();
            // as a process the signal ended: a shell shows 128 + signal
            assert!(
                status.signal() == Some(signal) || status.code() == Some(128 + signal),
                "SIG{name} {format}: {status:?}"
            );
            assert_eq!(tree(&out), Vec::<String>::new(), "SIG{name} {format}");
            assert_eq!(tree(&tmp), Vec::<String>::new(), "SIG{name} {format}");
            assert!(!w.path("store").exists(), "SIG{name} {format}");
        }
    }
}

#[test]
fn global_flags_work_in_any_position() {
    let w = Work::new();
    let ctx = w.hello_context("flags");
    let ctx = ctx.to_str().unwrap();
    let store = w.path("elsewhere");
    let store = store.to_str().unwrap();
    let out = |n: &str| format!("oci:{}", w.path(n).display());
    // (subcommand words, what the output must say)
    let cases: Vec<(Vec<String>, &str)> = vec![
        (words(&["build", "-q", "-t", "one:1", ctx]), "sha256:"),
        (words(&["images"]), "one:1"),
        (words(&["inspect", "one:1"]), "Image one:1"),
        (words(&["save", "one:1", &out("saved")]), "oci:"),
        (words(&["push", "one:1", &out("pushed")]), "oci:"),
        (words(&["rm", "one:1"]), "untagged one:1"),
        (words(&["prune", "--cache"]), "removed 4 blobs"),
    ];
    let run = |args: Vec<String>| {
        let o = minibuild()
            .args(&args)
            .env("MINIBUILD_STORE", w.path("default-store"))
            .current_dir(w.dir.path())
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
        assert!(o.status.success(), "{args:?}: {text}");
        text
    };
    for position in ["first", "after the subcommand", "last"] {
        for (sub, said) in &cases {
            let mut args = sub.clone();
            let at = match position {
                "first" => 0,
                "after the subcommand" => 1,
                _ => args.len(),
            };
            args.splice(at..at, words(&["--store", store]));
            let text = run(args.clone());
            assert!(text.contains(said), "{args:?}: {text}");
        }
    }
    // the build without its subcommand word too
    for args in [
        words(&["--store", store, "-q", "-t", "two:1", ctx]),
        words(&["-q", "--store", store, "-t", "two:1", ctx]),
        words(&["-q", "-t", "two:1", ctx, "--store", store]),
    ] {
        assert!(run(args.clone()).starts_with("sha256:"), "{args:?}");
    }
    // the flag went to the store named, never to the default one
    assert!(!w.path("default-store").exists());
    // a build flag before another subcommand would be lost: refused
    let o = w.run(&["-t", "x:1", "images"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("not before `images`"), "{}", stderr(&o));
}

#[test]
fn a_read_only_store_is_built_from_and_listed_but_never_written() {
    let w = Work::new();
    let ctx = w.hello_context("base");
    let o = w.run(&["build", "-t", "base:1", ctx.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let store = w.path("store");
    let Some(runner) = ReadOnlyRunner::new(&w) else {
        return;
    };
    // with the lock files an earlier build left, and without any
    for lock_files in [true, false] {
        if !lock_files {
            chmod_tree(&store, 0o755, 0o644);
            for name in [".minibuild.lock", ".minibuild.users.lock"] {
                let _ = std::fs::remove_file(store.join(name));
            }
        }
        chmod_tree(&store, 0o555, 0o444);
        let before = tree_with_times(&store);
        w.dockerfile("FROM base:1\nENV ON=top\n");
        let out = w.path(&format!("out/{lock_files}"));
        let dest = format!("oci:{}:on", out.display());
        let s = store.to_str().unwrap();
        let c = ctx.to_str().unwrap();
        let o = runner.run(&["build", "--store", s, "-o", &dest, c]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(config_of(&out, "on")["config"]["Env"][1], "ON=top");
        for args in [
            vec!["images", "--store", s],
            vec!["inspect", "--store", s, "base:1"],
        ] {
            let o = runner.run(&args);
            assert!(o.status.success(), "{args:?}: {}", stderr(&o));
            assert!(String::from_utf8_lossy(&o.stdout).contains("base:1"));
        }
        assert_eq!(tree_with_times(&store), before, "the store was written");
    }
    chmod_tree(&store, 0o755, 0o644);
}

#[test]
fn a_missing_or_unknown_layout_version_is_refused_by_every_command() {
    let w = Work::new();
    let ctx = w.hello_context("version");
    let ctx = ctx.to_str().unwrap();
    let o = w.run(&["build", "-t", "v:1", ctx]);
    assert!(o.status.success(), "{}", stderr(&o));
    let store = w.path("store");
    let marker = store.join("oci-layout");
    let good = std::fs::read(&marker).unwrap();
    let cases = [
        (None, format!("{} is missing", marker.display())),
        (
            Some(r#"{"imageLayoutVersion":"9.9.9"}"#),
            format!(
                "{}: imageLayoutVersion \"9.9.9\" is not 1.0.0",
                marker.display()
            ),
        ),
        (
            Some(r#"{"other":1}"#),
            format!("{} has no imageLayoutVersion", marker.display()),
        ),
    ];
    let s = store.to_str().unwrap();
    let from_oci = w.path("from-oci");
    std::fs::create_dir_all(&from_oci).unwrap();
    std::fs::write(
        from_oci.join("Dockerfile"),
        format!("FROM oci:{s}:v:1\nENV X=1\n"),
    )
    .unwrap();
    let commands: Vec<Vec<String>> = vec![
        words(&["images"]),
        words(&["inspect", "v:1"]),
        words(&["rm", "v:1"]),
        words(&["prune"]),
        words(&["save", "v:1", &format!("oci:{}", w.path("saved").display())]),
        words(&["push", "v:1", "docker://127.0.0.1:1/v:1"]),
        words(&["build", "-t", "again:1", ctx]),
        words(&["build", "-o", &format!("oci:{s}:v:2"), ctx]),
        words(&[
            "build",
            "-o",
            &format!("oci:{}", w.path("o").display()),
            from_oci.to_str().unwrap(),
        ]),
    ];
    for (content, text) in &cases {
        match content {
            None => std::fs::remove_file(&marker).unwrap(),
            Some(c) => std::fs::write(&marker, c).unwrap(),
        }
        let before = tree(&store);
        let expected = format!("opening OCI layout {s}: {text}");
        for args in &commands {
            let o = w.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
            assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
            assert!(
                stderr(&o).contains(&expected),
                "{args:?}: {}\nwanted: {expected}",
                stderr(&o)
            );
            assert_eq!(tree(&store), before, "{args:?} wrote to the store");
        }
    }
    std::fs::write(&marker, good).unwrap();
    validate(&store);
}

#[test]
fn special_files_in_a_layout_are_refused_by_name_without_hanging() {
    let w = Work::new();
    let ctx = w.hello_context("special");
    let o = w.run(&["build", "-t", "s:1", ctx.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let store = w.path("store");
    let outside = w.path("outside.json");
    let manifest = store_blob(&store, "s:1", Blob::Manifest);
    let layer = store_blob(&store, "s:1", Blob::Layer);
    let cases = [
        (store.join("index.json"), Special::Fifo, "a fifo"),
        (
            store.join("index.json"),
            Special::SymlinkOut,
            "a symbolic link",
        ),
        (store.join("oci-layout"), Special::Fifo, "a fifo"),
        (manifest, Special::Fifo, "a fifo"),
        (layer.clone(), Special::Fifo, "a fifo"),
        (layer, Special::SymlinkOut, "a symbolic link"),
    ];
    for (path, special, what) in cases {
        let saved = std::fs::read(&path).unwrap();
        std::fs::write(&outside, &saved).unwrap();
        std::fs::remove_file(&path).unwrap();
        make_special(&path, special, &outside);
        let commands = [
            words(&["inspect", "s:1"]),
            words(&[
                "save",
                "s:1",
                &format!("oci-archive:{}", w.path("s.tar").display()),
            ]),
            words(&["save", "s:1", &format!("oci:{}", w.path("saved").display())]),
        ];
        for args in commands {
            let o = run_bounded(&w, &args, Duration::from_secs(20));
            let text = stderr(&o);
            // a layer is only read by save: inspect may succeed then
            if o.status.success() {
                assert!(
                    args[0] == "inspect" && path.starts_with(store.join("blobs")),
                    "{args:?}"
                );
                continue;
            }
            assert!(
                text.contains(&path.display().to_string())
                    && text.contains(&format!("not a regular file ({what})")),
                "{args:?} {}: {text}",
                path.display()
            );
            assert!(!w.path("s.tar").exists() && !w.path("saved").exists());
        }
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, saved).unwrap();
    }
    validate(&store);
}

#[test]
fn a_flipped_bit_in_a_stored_blob_fails_every_export_by_name() {
    let w = Work::new();
    let ctx = w.hello_context("flipped");
    let o = w.run(&["build", "-t", "f:1", ctx.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let store = w.path("store");
    let layer = store_blob(&store, "f:1", Blob::Layer);
    let hex = layer.file_name().unwrap().to_string_lossy().into_owned();
    // the gzip header's MTIME: every gzip reader takes the stream as valid,
    // only the digest tells
    let mut bytes = std::fs::read(&layer).unwrap();
    bytes[4] ^= 1;
    std::fs::write(&layer, &bytes).unwrap();
    let out = w.path("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut destinations = vec![
        format!("oci:{}", out.join("layout").display()),
        format!("oci-archive:{}", out.join("oci.tar").display()),
        format!("docker-archive:{}", out.join("docker.tar").display()),
    ];
    let mut registry = None;
    if have("docker-registry") {
        let reg = Registry::start();
        destinations.push(format!("docker://{}/flipped:1", reg.host()));
        registry = Some(reg);
    }
    for dest in &destinations {
        let o = w.run(&["push", "f:1", dest]);
        assert_eq!(o.status.code(), Some(1), "{dest}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("blob sha256:{hex}")) && stderr(&o).contains("expected"),
            "{dest}: {}",
            stderr(&o)
        );
        assert_eq!(tree(&out), Vec::<String>::new(), "{dest}");
    }
    if let Some(reg) = &registry {
        let url = format!("http://{}/v2/flipped/manifests/1", reg.host());
        let o = std::process::Command::new("python3")
            .args(["-c", "import sys,urllib.request\ntry: urllib.request.urlopen(sys.argv[1]); print(200)\nexcept Exception as e: print(getattr(e, 'code', e))", &url])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&o.stdout).trim(),
            "404",
            "a manifest was pushed"
        );
    }
}

fn words(w: &[&str]) -> Vec<String> {
    w.iter().map(|s| s.to_string()).collect()
}

/// Runs minibuild with `args` (the store in the work dir); a run still
/// going after `limit` is killed and fails the test.
fn run_bounded(w: &Work, args: &[String], limit: Duration) -> std::process::Output {
    let mut child = minibuild()
        .args(args)
        .env("MINIBUILD_STORE", w.path("store"))
        .current_dir(w.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            panic!("{args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// The names of the `.tmp-*` entries in `dir`.
/// The bytes of the files in `dir`'s temporaries.
fn temporary_bytes(dir: &Path) -> u64 {
    fn size(path: &Path) -> u64 {
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => std::fs::read_dir(path)
                .map(|es| es.filter_map(Result::ok).map(|e| size(&e.path())).sum())
                .unwrap_or(0),
            Ok(m) => m.len(),
            Err(_) => 0,
        }
    }
    temporaries(dir).iter().map(|n| size(&dir.join(n))).sum()
}

fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".tmp-"))
                .collect()
        })
        .unwrap_or_default()
}
