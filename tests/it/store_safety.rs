//! The store under faults and concurrency, through the binary: a build
//! killed with SIGKILL in the middle of a large ADD, and builds running at
//! the same time into one store. Afterwards the store must validate, every
//! earlier tag must still name its old image, and every blob must hash to
//! its name.

use crate::common::{minibuild, static_hello, tags, validate, Work};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every file under blobs/sha256 hashes to its name: nothing half-written
/// was ever renamed into place.
fn assert_blobs_intact(layout: &Path) {
    for e in std::fs::read_dir(layout.join("blobs/sha256")).unwrap() {
        let e = e.unwrap();
        let mut f = std::fs::File::open(e.path()).unwrap();
        let mut h = Sha256::new();
        std::io::copy(&mut f, &mut h).unwrap();
        assert_eq!(
            hex::encode(h.finalize()),
            e.file_name().to_string_lossy(),
            "blob {} does not match its name",
            e.path().display()
        );
    }
}

/// A context with the static hello and a file `msg`, in `dir`.
fn context(w: &Work, dir: &str, msg: &str) -> PathBuf {
    let ctx = w.path(dir);
    std::fs::create_dir_all(&ctx).unwrap();
    static_hello(&ctx);
    std::fs::write(ctx.join("msg"), msg).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM scratch\nCOPY hello /hello\nCOPY msg /msg\nCMD [\"/hello\"]\n",
    )
    .unwrap();
    ctx
}

fn build(w: &Work, tag: &str, ctx: &Path) -> Command {
    let mut c = minibuild();
    c.args(["build", "-q", "-t", tag])
        .arg(ctx)
        .env("MINIBUILD_STORE", w.path("store"))
        .current_dir(w.dir.path());
    c
}

/// A tar of `files` files of `each` noisy bytes.
fn big_tar(path: &Path, files: usize, each: u64) {
    let parts: Vec<(String, u64)> = (0..files)
        .map(|i| (format!("big/part{i}.bin"), each))
        .collect();
    crate::common::hygiene::noise_tar(path, &parts);
}

#[test]
fn a_build_killed_during_a_large_add_leaves_the_store_intact() {
    let w = Work::new();
    let store = w.path("store");
    let mut before = BTreeMap::new();
    for (tag, msg) in [("keep:1", "one"), ("keep:2", "two")] {
        let ctx = context(&w, &format!("ctx-{msg}"), msg);
        let o = build(&w, tag, &ctx).output().unwrap();
        assert!(o.status.success(), "{}", crate::common::stderr(&o));
        before.insert(
            tag.to_string(),
            String::from_utf8_lossy(&o.stdout).trim().to_string(),
        );
    }
    assert_eq!(tags(&store), before);

    // 300 MB that gzip cannot shrink, ADDed (and so unpacked) into a layer.
    let big = context(&w, "ctx-big", "big");
    big_tar(&big.join("big.tar"), 6, 50 << 20);
    std::fs::write(
        big.join("Dockerfile"),
        "FROM scratch\nCOPY hello /hello\nADD big.tar /data/\n",
    )
    .unwrap();
    for (round, delay) in [300u64, 1000, 2000].into_iter().enumerate() {
        // The killed build reuses an existing tag: it must not take it over.
        let mut child = minibuild()
            .arg("build")
            .args(crate::common::hygiene::SLOW_LAYER)
            .args(["-t", "keep:1"])
            .arg(&big)
            .env("MINIBUILD_STORE", &store)
            .current_dir(w.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(delay) {
            if child.try_wait().unwrap().is_some() {
                let mut err = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                panic!("round {round}: the build ended before it could be killed:\n{err}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(!status.success());
        let mut log = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut log)
            .unwrap();
        if delay >= 1000 {
            // killed while the ADD's layer was being written
            assert!(
                // plain progress names a step when it ends: the COPY before
                // it ended, the image was not written
                log.contains("[2/3] COPY hello") && !log.contains("image sha256:"),
                "round {round}: {log}"
            );
        }

        assert_eq!(tags(&store), before, "round {round}");
        validate(&store);
        assert_blobs_intact(&store);
        let text = String::from_utf8_lossy(
            &minibuild()
                .arg("images")
                .env("MINIBUILD_STORE", &store)
                .output()
                .unwrap()
                .stdout,
        )
        .into_owned();
        for (tag, digest) in &before {
            let row = text
                .lines()
                .find(|l| l.starts_with(&format!("{tag} ")))
                .unwrap_or_else(|| panic!("{tag} missing from {text}"));
            assert!(row.contains(&digest[7..19]), "{row}");
        }
    }

    // The store is not left locked or broken: the next build lands, and
    // prune keeps every tagged image.
    let ctx = context(&w, "ctx-three", "three");
    let o = build(&w, "keep:3", &ctx).output().unwrap();
    assert!(o.status.success(), "{}", crate::common::stderr(&o));
    let o = minibuild()
        .arg("prune")
        .env("MINIBUILD_STORE", &store)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", crate::common::stderr(&o));
    let after = tags(&store);
    for (tag, digest) in &before {
        assert_eq!(after.get(tag), Some(digest));
    }
    assert!(after.contains_key("keep:3"));
    validate(&store);
    assert_blobs_intact(&store);
}

#[test]
fn builds_running_at_the_same_time_all_land() {
    let w = Work::new();
    let store = w.path("store");
    let ctx = context(&w, "ctx-base", "base");
    let o = build(&w, "base:1", &ctx).output().unwrap();
    assert!(o.status.success(), "{}", crate::common::stderr(&o));
    let base = String::from_utf8_lossy(&o.stdout).trim().to_string();

    // Four builds at once, two of them sharing every blob but the last.
    let contexts: Vec<(String, PathBuf)> = (0..4)
        .map(|i| {
            let msg = format!("concurrent {}", i % 3);
            (format!("par:{i}"), context(&w, &format!("ctx-{i}"), &msg))
        })
        .collect();
    let children: Vec<_> = contexts
        .iter()
        .map(|(tag, ctx)| {
            build(&w, tag, ctx)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut expected = BTreeMap::from([("base:1".to_string(), base)]);
    for ((tag, _), child) in contexts.iter().zip(children) {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{tag}: {}", crate::common::stderr(&o));
        expected.insert(
            tag.clone(),
            String::from_utf8_lossy(&o.stdout).trim().to_string(),
        );
    }
    assert_eq!(tags(&store), expected);
    validate(&store);
    assert_blobs_intact(&store);
    // no temporary file outlives a build that finished
    let leftovers: Vec<_> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn prune_during_a_build_waits_and_keeps_its_blobs() {
    let w = Work::new();
    let store = w.path("store");
    let old = context(&w, "ctx-old", "old");
    let o = build(&w, "old:1", &old).output().unwrap();
    assert!(o.status.success(), "{}", crate::common::stderr(&o));

    // A build whose first layer no tag reaches, then a slow ADD: a prune
    // that ran now would take that first layer away from it.
    let ctx = context(&w, "ctx-slow", "only this build has this layer");
    big_tar(&ctx.join("noise.tar"), 1, 6 << 20);
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM scratch\nCOPY msg /msg\nADD noise.tar /data/\nCOPY hello /hello\n",
    )
    .unwrap();
    let mut child = minibuild()
        .args(["build", "-t", "slow:1"])
        .arg(&ctx)
        .env("MINIBUILD_STORE", &store)
        .current_dir(w.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    while !log.contains("ADD noise.tar") {
        let mut line = String::new();
        let n = std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
        assert!(n > 0, "the build ended early:\n{log}");
        log.push_str(&line);
    }
    let pruner = minibuild()
        .arg("prune")
        .env("MINIBUILD_STORE", &store)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{log}{rest}");
    let pruned = pruner.wait_with_output().unwrap();
    assert!(
        pruned.status.success(),
        "{}",
        crate::common::stderr(&pruned)
    );
    let t = tags(&store);
    assert!(t.contains_key("old:1") && t.contains_key("slow:1"), "{t:?}");
    validate(&store);
    assert_blobs_intact(&store);
    let m = crate::common::manifest_of(&store, "slow:1");
    for layer in m["layers"].as_array().unwrap() {
        let hex = &layer["digest"].as_str().unwrap()[7..];
        assert!(
            store.join("blobs/sha256").join(hex).is_file(),
            "prune removed layer {hex} of the build it raced"
        );
    }
}
