//! An unchanged `COPY --from` is keyed from the tables of contents of its
//! source layers (kept in the store's cache/toc): CACHED without reading
//! those layers, a change to a file it takes misses, a change to one it
//! does not take still hits, and a lost table is read again.

use crate::common::cache::{build_in, Built};
use crate::common::{validate, Work};
use std::path::{Path, PathBuf};

/// A store with `base:1`, whose one layer holds d/a.txt, d/b.txt, d/x.log.
fn base(w: &Work, a: &str, x: &str) -> PathBuf {
    let store = w.path("store");
    let dir = w.path("base");
    std::fs::create_dir_all(dir.join("d")).unwrap();
    std::fs::write(dir.join("d/a.txt"), a).unwrap();
    std::fs::write(dir.join("d/b.txt"), "b\n").unwrap();
    std::fs::write(dir.join("d/x.log"), x).unwrap();
    std::fs::write(dir.join("Dockerfile"), "FROM scratch\nCOPY d /d\n").unwrap();
    build_in(w, &store, &dir, &["-t", "base:1"]);
    store
}

fn build(w: &Work, store: &Path) -> Built {
    build_in(w, store, &w.ctx(), &["-t", "app:1"])
}

/// The tables of contents kept in `store`, by file name.
fn tocs(store: &Path) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(store.join("cache/toc")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = dir
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const COPY_FROM: &str = "FROM scratch\nCOPY --from=base:1 /d/*.txt /out/\n";

/// The first build of [`COPY_FROM`] over a fresh `base:1`: a miss.
fn cold(w: &Work) -> (PathBuf, Built) {
    let store = base(w, "a\n", "x\n");
    w.dockerfile(COPY_FROM);
    let cold = build(w, &store);
    assert_eq!(cold.hits(), [false], "{:?}", cold.steps);
    (store, cold)
}

#[test]
fn an_unchanged_copy_from_hits_without_reading_its_source_layer() {
    let w = Work::new();
    let (store, cold) = cold(&w);
    let kept = tocs(&store);
    assert_eq!(kept.len(), 1, "{kept:?}");
    // the source layer's bytes are gone: a step that read them would fail
    let blob = store
        .join("blobs/sha256")
        .join(kept[0].trim_end_matches(".json"));
    let len = std::fs::metadata(&blob).unwrap().len() as usize;
    std::fs::write(&blob, vec![0u8; len]).unwrap();
    let again = build(&w, &store);
    assert_eq!(again.hits(), [true], "{:?}", again.steps);
    assert_eq!(again.digest, cold.digest);
}

#[test]
fn a_copy_from_misses_on_a_file_it_takes_and_hits_on_one_it_leaves() {
    let w = Work::new();
    let (store, cold) = cold(&w);
    // base:1 gets a new layer blob, whose x.log (not taken) changed
    base(&w, "a\n", "x2\n");
    let other = build(&w, &store);
    assert_eq!(other.hits(), [true], "{:?}", other.steps);
    assert_eq!(other.digest, cold.digest);
    base(&w, "A\n", "x2\n");
    let changed = build(&w, &store);
    assert_eq!(changed.hits(), [false], "{:?}", changed.steps);
    let said = changed.steps[0].miss.as_deref().unwrap_or_default();
    assert_eq!(said, "content of out/a.txt", "{:?}", changed.steps);
    validate(&store);
}

#[test]
fn a_lost_or_damaged_table_of_contents_is_read_again_and_still_hits() {
    let w = Work::new();
    let (store, cold) = cold(&w);
    let kept = tocs(&store);
    std::fs::remove_dir_all(store.join("cache/toc")).unwrap();
    let again = build(&w, &store);
    assert_eq!(again.hits(), [true], "{:?}", again.steps);
    assert_eq!(again.digest, cold.digest);
    assert_eq!(tocs(&store), kept);
    let toc = store.join("cache/toc").join(&kept[0]);
    std::fs::write(&toc, "{\"layer\": 1").unwrap();
    let damaged = build(&w, &store);
    assert_eq!(damaged.hits(), [true], "{:?}", damaged.steps);
    assert_eq!(damaged.digest, cold.digest);
    let rewritten: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&toc).unwrap()).unwrap();
    assert!(rewritten["entries"].is_array(), "{rewritten}");
}

#[test]
fn prune_drops_the_tables_of_contents_of_layers_the_store_no_longer_has() {
    let w = Work::new();
    let (store, _) = cold(&w);
    let kept = tocs(&store);
    assert_eq!(kept.len(), 1);
    // the table of a layer another build read, since pruned
    let gone = format!("{}.json", "ab".repeat(32));
    let toc = std::fs::read(store.join("cache/toc").join(&kept[0])).unwrap();
    std::fs::write(store.join("cache/toc").join(&gone), toc).unwrap();
    std::fs::write(store.join("cache/toc/.tmp-left"), "half").unwrap();
    w.ok(&["prune"]);
    assert_eq!(tocs(&store), kept);
    assert_eq!(build(&w, &store).hits(), [true]);
    validate(&store);
}
