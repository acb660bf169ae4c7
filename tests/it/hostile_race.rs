//! A context that changes while COPY reads it (issue #15, item 1): a thread
//! keeps swapping a directory and a file of the copied tree for symbolic
//! links to a directory outside the context. No byte of that directory may
//! reach the image; each build either succeeds with context bytes only or
//! fails saying the context changed during the build.
//!
//! `RACE_MINIBUILD=/path/to/minibuild` runs the same test against another
//! binary (to show that an older one leaks).

use crate::common::{minibuild, stderr, Work};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// In every file outside the context, and in no file inside it.
const MARKER: &[u8] = b"OUTSIDE_MARKER_0123456\n";
/// The content of the swapped files inside the context: the same length
/// as the marker, so that a file followed through a link is not caught
/// by its size alone.
const INSIDE: &[u8] = b"inside_context_0123456\n";
/// A name only the outside directory has.
const OUTSIDE_NAME: &str = "only-outside-name";

fn binary() -> Command {
    match std::env::var_os("RACE_MINIBUILD") {
        Some(bin) => {
            let mut c = Command::new(bin);
            c.env_remove("SOURCE_DATE_EPOCH");
            c
        }
        None => minibuild(),
    }
}

/// The context: `dir/` with 3,000 files, a directory `dir/sub` and a file
/// `dir/swap` (both swapped during the builds); the outside directory
/// holds the same names as `dir/sub` (so that a path followed through the
/// link opens), one more, and `secret` (the swapped file's link target).
fn context(w: &Work) -> PathBuf {
    for i in 0..3000 {
        w.file(&format!("dir/f{i:04}"), format!("file {i}\n"));
    }
    let outside = w.path("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    for i in 0..40 {
        w.file(&format!("dir/sub/s{i:02}"), INSIDE);
        std::fs::write(outside.join(format!("s{i:02}")), MARKER).unwrap();
    }
    std::fs::write(outside.join(OUTSIDE_NAME), MARKER).unwrap();
    std::fs::write(outside.join("secret"), MARKER).unwrap();
    w.file("dir/swap", INSIDE);
    std::fs::create_dir_all(w.ctx().join("parked")).unwrap();
    w.dockerfile("FROM scratch\nCOPY dir /x/\n");
    outside
}

/// Swaps `dir/sub` for a link to `outside` and back (the real directory
/// parked out of `dir` meanwhile), and `dir/swap` for a link to
/// `outside/secret` and back (by rename, so the name is never missing),
/// until `stop`.
fn swap(ctx: &Path, outside: &Path, stop: &AtomicBool, swaps: &AtomicU64) {
    let sub = ctx.join("dir/sub");
    let parked = ctx.join("parked/sub");
    let file = ctx.join("dir/swap");
    let tmp_link = ctx.join("parked/link");
    let tmp_file = ctx.join("parked/file");
    while !stop.load(Ordering::Relaxed) {
        std::fs::rename(&sub, &parked).unwrap();
        symlink(outside, &sub).unwrap();
        symlink(outside.join("secret"), &tmp_link).unwrap();
        std::fs::rename(&tmp_link, &file).unwrap();
        std::thread::sleep(Duration::from_micros(200));
        std::fs::remove_file(&sub).unwrap();
        std::fs::rename(&parked, &sub).unwrap();
        std::fs::write(&tmp_file, INSIDE).unwrap();
        std::fs::rename(&tmp_file, &file).unwrap();
        std::thread::sleep(Duration::from_micros(200));
        swaps.fetch_add(1, Ordering::Relaxed);
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every blob of the layout at `out`, concatenated.
fn blobs(out: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    let Ok(dir) = std::fs::read_dir(out.join("blobs/sha256")) else {
        return all;
    };
    for e in dir {
        all.extend(std::fs::read(e.unwrap().path()).unwrap());
    }
    all
}

#[test]
fn links_swapped_in_during_copy_never_leak_outside_bytes() {
    let w = Work::new();
    let outside = context(&w);
    let ctx = w.ctx();
    let stop = AtomicBool::new(false);
    let swaps = AtomicU64::new(0);
    let (mut ok, mut changed) = (0, 0);
    std::thread::scope(|s| {
        s.spawn(|| swap(&ctx, &outside, &stop, &swaps));
        let start = Instant::now();
        let mut i = 0;
        // bounded: at most 40 builds, and no new one after 8 s
        while i < 40 && start.elapsed() < Duration::from_secs(8) {
            let out = w.path(&format!("out-{i}"));
            let o = binary()
                .args(["build", "--compression", "none", "-o"])
                .arg(format!("oci:{}:race", out.display()))
                .arg(&ctx)
                .env("MINIBUILD_STORE", w.path("store"))
                .output()
                .unwrap();
            let found = blobs(&out);
            let leaked = contains(&found, MARKER) || contains(&found, OUTSIDE_NAME.as_bytes());
            if leaked {
                stop.store(true, Ordering::Relaxed);
            }
            assert!(
                !leaked,
                "build {i}: bytes from outside the context reached the image"
            );
            if o.status.success() {
                ok += 1;
            } else {
                let err = stderr(&o);
                if !err.contains("changed during the build") {
                    stop.store(true, Ordering::Relaxed);
                }
                assert!(err.contains("changed during the build"), "build {i}: {err}");
                if changed == 0 {
                    eprintln!("{err}");
                }
                changed += 1;
            }
            std::fs::remove_dir_all(&out).ok();
            i += 1;
        }
        stop.store(true, Ordering::Relaxed);
    });
    eprintln!(
        "{ok} builds succeeded, {changed} saw the context change, {} swaps",
        swaps.load(Ordering::Relaxed)
    );
    assert!(ok + changed >= 3, "too few builds ran");
}
