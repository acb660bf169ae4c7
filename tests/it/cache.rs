//! The build cache: an unchanged step is CACHED (mtime is not in its key),
//! each change misses exactly its step and those after it and says why, a
//! damaged cached blob is rebuilt, and concurrent builds with a prune all
//! land.

use crate::common::cache::{build_in, Built};
use crate::common::{stderr, validate, Work};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const DOCKERFILE: &str = "FROM base:1\nARG V=1\nCOPY a.txt /a.txt\nCOPY dir/ /dir/\nCOPY b.txt /b-$V\nENV E=1\nWORKDIR /w\n";

/// A store with `base:1` and a context with a Dockerfile of four layer
/// steps (three COPY, a WORKDIR).
fn setup(w: &Work) -> (PathBuf, PathBuf) {
    let store = w.path("store");
    let base = w.path("base");
    std::fs::create_dir_all(&base).unwrap();
    std::fs::write(base.join("base.txt"), "base one\n").unwrap();
    std::fs::write(base.join("Dockerfile"), "FROM scratch\nCOPY base.txt /\n").unwrap();
    build_in(w, &store, &base, &["-t", "base:1"]);
    w.file("a.txt", "a\n");
    w.file("b.txt", "b\n");
    w.file("dir/x", "x\n");
    w.file("dir/y", "y\n");
    w.dockerfile(DOCKERFILE);
    for f in ["a.txt", "b.txt", "dir/x", "dir/y"] {
        chmod(&w.ctx().join(f), 0o644);
    }
    (store, w.ctx())
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn build(w: &Work, store: &Path, ctx: &Path) -> Built {
    build_in(w, store, ctx, &["-t", "app:1"])
}

#[test]
fn an_unchanged_or_touched_context_is_all_cached_with_the_same_digest() {
    let w = Work::new();
    let (store, ctx) = setup(&w);
    let cold = build(&w, &store, &ctx);
    assert_eq!(cold.hits(), [false; 4], "{:?}", cold.steps);
    // base:1's step and these four: what lets a step that none was made
    // like key itself while its layer is written
    let heads = std::fs::read_dir(store.join("cache/heads")).unwrap();
    assert_eq!(heads.count(), 5);
    let again = build(&w, &store, &ctx);
    assert_eq!(again.hits(), [true; 4], "{:?}", again.steps);
    assert_eq!(again.digest, cold.digest);
    // a fresh checkout: every mtime new, nothing else
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    for f in ["a.txt", "b.txt", "dir/x", "dir/y", "Dockerfile"] {
        let file = std::fs::File::options()
            .write(true)
            .open(ctx.join(f))
            .unwrap();
        file.set_modified(later).unwrap();
    }
    let touched = build(&w, &store, &ctx);
    assert_eq!(touched.hits(), [true; 4], "{:?}", touched.steps);
    assert_eq!(touched.digest, cold.digest);
    // --no-cache builds every step again, to the same image
    let forced = build_in(&w, &store, &ctx, &["--no-cache", "-t", "app:1"]);
    assert_eq!(forced.hits(), [false; 4], "{:?}", forced.steps);
    assert_eq!(forced.digest, cold.digest);
    validate(&store);
}

/// One change to the context (or the build), the layer step that must be
/// the first to miss (0-based among the four), and what the miss must say.
type Change = (&'static str, Box<dyn Fn(&Work, &Path)>, usize, &'static str);

#[test]
fn each_change_misses_its_step_and_those_after_and_says_why() {
    let w = Work::new();
    let (store, ctx) = setup(&w);
    let root = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&ctx).unwrap()) == 0;
    let changes: Vec<Change> = vec![
        (
            "chmod",
            Box::new(|_, c| chmod(&c.join("a.txt"), 0o600)),
            0,
            "mode 0644→0600 of a.txt",
        ),
        (
            "content",
            Box::new(|_, c| std::fs::write(c.join("dir/x"), "X\n").unwrap()),
            1,
            "content of dir/x",
        ),
        (
            "size",
            Box::new(|_, c| std::fs::write(c.join("b.txt"), "bb\n").unwrap()),
            2,
            "size 2→3 of b-1",
        ),
        (
            "new file",
            Box::new(|_, c| std::fs::write(c.join("dir/z"), "z\n").unwrap()),
            1,
            "new file dir/z",
        ),
        (
            "removed file",
            Box::new(|_, c| std::fs::remove_file(c.join("dir/y")).unwrap()),
            1,
            "removed file dir/y",
        ),
        (
            ".dockerignore",
            Box::new(|_, c| std::fs::write(c.join(".dockerignore"), "dir/x\n").unwrap()),
            1,
            "removed file dir/x",
        ),
        (
            "Dockerfile",
            Box::new(|_, c| {
                let text = DOCKERFILE.replace("WORKDIR /w", "WORKDIR /v");
                std::fs::write(c.join("Dockerfile"), text).unwrap();
            }),
            3,
            "the instruction changed",
        ),
        (
            "base",
            Box::new(|w, _| {
                let base = w.path("base");
                std::fs::write(base.join("base.txt"), "base two\n").unwrap();
                build_in(w, &w.path("store"), &base, &["-t", "base:1"]);
            }),
            0,
            "the parent changed",
        ),
    ];
    let mut last = build(&w, &store, &ctx);
    for (what, change, first, said) in changes {
        change(&w, &ctx);
        let built = build(&w, &store, &ctx);
        let expected: Vec<bool> = (0..4).map(|i| i < first).collect();
        assert_eq!(built.hits(), expected, "{what}: {:?}", built.steps);
        let miss = built.first_miss().miss.clone().unwrap_or_default();
        assert!(
            miss.contains(said),
            "{what}: {miss:?} does not say {said:?}"
        );
        assert_ne!(built.digest, last.digest, "{what}");
        for later in &built.steps[first + 1..] {
            assert_eq!(
                later.miss.as_deref(),
                Some("the parent changed (the base image or an earlier step)"),
                "{what}"
            );
        }
        last = build(&w, &store, &ctx);
        assert_eq!(last.hits(), [true; 4], "{what} rebuilt: {:?}", last.steps);
    }
    // the owner of a context file: COPY gives root (as BuildKit) whoever
    // owns it, so the layer and its key stay the same
    if root {
        std::os::unix::fs::chown(ctx.join("a.txt"), Some(1000), Some(1000)).unwrap();
        assert_eq!(build(&w, &store, &ctx).hits(), [true; 4]);
    }
    // a build arg the step uses
    let v2 = build_in(&w, &store, &ctx, &["--build-arg", "V=2", "-t", "app:1"]);
    assert_eq!(v2.hits(), [true, true, false, false], "{:?}", v2.steps);
    let miss = v2.first_miss().miss.clone().unwrap_or_default();
    assert_eq!(miss, "build arg V changed: \"1\" → \"2\"");
    validate(&store);
}

#[test]
fn explain_cache_names_the_cause_even_without_an_earlier_build() {
    let w = Work::new();
    let (store, ctx) = setup(&w);
    let cold = build_in(&w, &store, &ctx, &["--explain-cache"]);
    let said: Vec<_> = cold.steps.iter().map(|s| s.miss.clone()).collect();
    assert_eq!(
        said,
        vec![Some("no earlier build of this step".to_string()); 4]
    );
    let run = |args: &[&str]| {
        crate::common::minibuild()
            .args(args)
            .arg(&ctx)
            .env("MINIBUILD_STORE", &store)
            .env("SOURCE_DATE_EPOCH", "0")
            .output()
            .unwrap()
    };
    let o = run(&["build", "--progress", "plain", "--explain-cache"]);
    let text = stderr(&o);
    assert!(text.contains("COPY a.txt /a.txt → CACHED [key "), "{text}");
    let o = run(&["build", "--explain", "--explain-cache", "--no-cache"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("cache miss (key sha256:"), "{text}");
    assert!(text.contains("--no-cache"), "{text}");
}

#[test]
fn a_damaged_cached_blob_is_rebuilt_with_a_warning() {
    let w = Work::new();
    let (store, ctx) = setup(&w);
    let cold = build(&w, &store, &ctx);
    // the first COPY's layer: the image's second
    let manifest = crate::common::manifest_of(&store, "app:1");
    let layer = manifest["layers"][1]["digest"].as_str().unwrap()[7..].to_string();
    let path = store.join("blobs/sha256").join(&layer);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let rebuilt = build(&w, &store, &ctx);
    assert_eq!(
        rebuilt.hits(),
        [false, true, true, true],
        "{:?}",
        rebuilt.steps
    );
    assert!(
        rebuilt
            .warnings
            .iter()
            .any(|m| m.contains("is damaged") && m.contains(&layer)),
        "{:?}",
        rebuilt.warnings
    );
    assert_eq!(rebuilt.digest, cold.digest);
    validate(&store);
    assert_eq!(build(&w, &store, &ctx).hits(), [true; 4]);
}

#[test]
fn prune_keeps_the_cache_and_prune_cache_drops_it() {
    let w = Work::new();
    let (store, ctx) = setup(&w);
    build(&w, &store, &ctx);
    w.ok(&["rm", "app:1"]);
    w.ok(&["prune"]);
    validate(&store);
    assert_eq!(build(&w, &store, &ctx).hits(), [true; 4]);
    w.ok(&["rm", "app:1"]);
    w.ok(&["prune", "--cache"]);
    assert!(!store.join("cache").exists());
    assert_eq!(build(&w, &store, &ctx).hits(), [false; 4]);
    validate(&store);
}

#[test]
fn concurrent_builds_sharing_a_cache_with_a_prune_running_all_land() {
    let w = Work::new();
    let (store, ctx) = setup(&w);
    build(&w, &store, &ctx);
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let pruner = s.spawn(|| {
            let mut rounds = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && rounds < 200 {
                w.ok(&["prune"]);
                rounds += 1;
            }
        });
        let builds: Vec<_> = (0..4)
            .map(|i| {
                let (w, store, ctx) = (&w, &store, &ctx);
                s.spawn(move || {
                    let arg = format!("V={}", i % 2);
                    let tag = format!("app:{i}");
                    build_in(w, store, ctx, &["--build-arg", &arg, "-t", &tag])
                })
            })
            .collect();
        let done: Vec<Built> = builds.into_iter().map(|b| b.join().unwrap()).collect();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        pruner.join().unwrap();
        for (i, built) in done.iter().enumerate() {
            assert_eq!(
                built.hits()[..2],
                [true, true],
                "build {i}: {:?}",
                built.steps
            );
        }
    });
    validate(&store);
    for i in 0..4 {
        let again = build_in(
            &w,
            &store,
            &ctx,
            &["--build-arg", &format!("V={}", i % 2), "-t", "x:1"],
        );
        assert_eq!(again.hits(), [true; 4], "{i}: {:?}", again.steps);
    }
}

#[test]
fn a_copy_from_is_keyed_by_the_content_of_the_stage_files_it_takes() {
    let w = Work::new();
    let store = w.path("store");
    w.file("b", "b\n");
    w.file("c", "c\n");
    w.dockerfile("FROM scratch AS one\nCOPY b c /\nFROM scratch\nCOPY --from=one /b /copied\n");
    let cold = build(&w, &store, &w.ctx());
    assert_eq!(cold.hits(), [false; 2], "{:?}", cold.steps);
    let again = build(&w, &store, &w.ctx());
    assert_eq!(again.hits(), [true; 2], "{:?}", again.steps);
    assert_eq!(again.digest, cold.digest);
    // the stage's layer changes with c, the file taken from it does not
    w.file("c", "c2\n");
    let other = build(&w, &store, &w.ctx());
    assert_eq!(other.hits(), [false, true], "{:?}", other.steps);
    w.file("b", "B\n");
    let changed = build(&w, &store, &w.ctx());
    assert_eq!(changed.hits(), [false; 2], "{:?}", changed.steps);
    let said = changed.steps[1].miss.as_deref().unwrap_or_default();
    assert_eq!(said, "content of copied", "{:?}", changed.steps);
}
