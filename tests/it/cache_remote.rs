//! The cache across machines: one store writes its cache to a layout or a
//! registry (`--cache-to`), another, empty, builds from it
//! (`--cache-from`): every layer step CACHED, the same image, and nothing
//! the registry has is uploaded again.

use crate::common::cache::build_in;
use crate::common::{have, validate, Registry, Work};
use std::collections::BTreeMap;
use std::path::Path;

/// A context of two stages and three layer steps, under `dir`.
fn context(w: &Work, dir: &str) -> std::path::PathBuf {
    let ctx = w.path(dir);
    std::fs::create_dir_all(ctx.join("src")).unwrap();
    std::fs::write(ctx.join("src/a"), "a\n").unwrap();
    std::fs::write(ctx.join("b"), "b\n").unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM scratch AS one\nCOPY b /b\nFROM scratch\nCOPY src/ /src/\nCOPY --from=one /b /c\n",
    )
    .unwrap();
    ctx
}

#[test]
fn a_second_store_builds_from_the_first_ones_oci_cache() {
    let w = Work::new();
    let cache = format!("oci:{}", w.path("cache").display());
    let first = build_in(
        &w,
        &w.path("one"),
        &context(&w, "ctx1"),
        &["--cache-to", &cache],
    );
    assert_eq!(first.hits(), [false; 3]);
    let store = w.path("two");
    let second = build_in(&w, &store, &context(&w, "ctx2"), &["--cache-from", &cache]);
    assert_eq!(second.hits(), [true; 3], "{:?}", second.steps);
    assert_eq!(second.digest, first.digest);
    validate(&store);
    // the cache is an OCI 1.1 artifact the image-spec validator accepts:
    // fsck and oci-validate check every cached layer against the diff_ids
    // its config lists
    validate(&w.path("cache"));
    let layout = minibuild::dest::Layout::open(&w.path("cache")).unwrap();
    let top = layout.resolve(&"cache".into()).unwrap();
    let manifest: serde_json::Value = layout.read_json(&top.digest).unwrap();
    assert_eq!(
        manifest["artifactType"],
        minibuild::cache::ARTIFACT_TYPE_CACHE
    );
    let config = &manifest["config"]["mediaType"];
    assert_eq!(config, minibuild::cache::MEDIA_TYPE_CACHE_CONFIG);
}

#[test]
fn a_cache_from_anything_but_a_layout_or_registry_is_refused() {
    let w = Work::new();
    w.dockerfile("FROM scratch\n");
    let o = w.run(&["build", "--cache-from", "oci-archive:x.tar", "ctx"]);
    assert!(!o.status.success());
    let text = crate::common::stderr(&o);
    assert!(
        text.contains("a cache goes to oci:DIR[:REF] or docker://HOST/REPO:TAG"),
        "{text}"
    );
}

#[test]
fn a_second_store_builds_from_a_registry_cache_uploading_nothing_twice() {
    if !have("docker-registry") {
        return;
    }
    let reg = Registry::start();
    let host = reg.host();
    let w = Work::new();
    let to = |tag: &str| format!("docker://{host}/app:{tag}");
    let one = w.path("one");
    // the cache in another repository: its layers are mounted, not sent
    let cache = format!("docker://{host}/ci/cache:app");
    let flags = ["-o", &to("1"), "--cache-to", &cache];
    let first = build_in(&w, &one, &context(&w, "ctx1"), &flags);
    assert_eq!(first.hits(), [false; 3]);
    let two = w.path("two");
    let flags = ["-o", &to("2"), "--cache-from", &cache];
    let second = build_in(&w, &two, &context(&w, "ctx2"), &flags);
    assert_eq!(second.hits(), [true; 3], "{:?}", second.steps);
    assert_eq!(second.digest, first.digest);
    let twice: Vec<_> = uploads(&reg.log())
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .collect();
    assert!(twice.is_empty(), "uploaded more than once: {twice:?}");
    // the image's two layers, sent to app, are mounted into ci/cache by
    // --cache-to; the second machine's push finds them all in app
    let mounted = reg
        .log()
        .lines()
        .filter(|l| {
            l.contains("\"POST /v2/ci/cache/blobs/uploads/?mount=sha256") && l.contains("\" 201 ")
        })
        .count();
    assert_eq!(mounted, 2, "{}", reg.log());
    validate(&two);
    assert!(Path::new(&two).join("cache").is_dir());
}

/// A context whose Dockerfile copies `a` then `second` (files a, b, c).
fn two_steps(w: &Work, dir: &str, second: &str) -> std::path::PathBuf {
    let ctx = w.path(dir);
    std::fs::create_dir_all(&ctx).unwrap();
    for f in ["a", "b", "c"] {
        std::fs::write(ctx.join(f), format!("{f}\n")).unwrap();
    }
    let dockerfile = format!("FROM scratch\nCOPY a /a\nCOPY {second} /{second}\n");
    std::fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
    ctx
}

/// The layer digests of the cache manifest tagged `cache` in the layout `dir`.
fn cache_layers(dir: &Path) -> Vec<String> {
    let layout = minibuild::dest::Layout::open(dir).unwrap();
    let top = layout.resolve(&"cache".into()).unwrap();
    let manifest: minibuild::image::Manifest = layout.read_json(&top.digest).unwrap();
    let layers = manifest.layers.iter().map(|l| l.digest.to_string());
    layers.collect()
}

#[test]
fn a_cache_from_fetches_only_the_layers_of_the_steps_that_hit() {
    let w = Work::new();
    let dir = w.path("cache");
    let cache = format!("oci:{}", dir.display());
    let one = two_steps(&w, "ctx1", "b");
    build_in(&w, &w.path("one"), &one, &["--cache-to", &cache]);
    let [used, unused] = <[String; 2]>::try_from(cache_layers(&dir)).unwrap();
    let store = w.path("two");
    let second = build_in(
        &w,
        &store,
        &two_steps(&w, "ctx2", "c"),
        &["--cache-from", &cache],
    );
    assert_eq!(second.hits(), [true, false], "{:?}", second.steps);
    let two = minibuild::dest::Layout::open(&store).unwrap();
    assert!(two.has_blob(&used.parse().unwrap()));
    assert!(
        !two.has_blob(&unused.parse().unwrap()),
        "{unused} was fetched"
    );
    validate(&store);
}

#[test]
fn a_registry_cache_from_gets_only_the_blobs_of_the_steps_that_hit() {
    if !have("docker-registry") {
        return;
    }
    let reg = Registry::start();
    let w = Work::new();
    let dir = w.path("cache");
    let layout = format!("oci:{}", dir.display());
    let cache = format!("docker://{}/ci/cache:app", reg.host());
    let flags = ["--cache-to", &layout, "--cache-to", &cache];
    build_in(&w, &w.path("one"), &two_steps(&w, "ctx1", "b"), &flags);
    let [used, unused] = <[String; 2]>::try_from(cache_layers(&dir)).unwrap();
    let ctx = two_steps(&w, "ctx2", "c");
    let second = build_in(&w, &w.path("two"), &ctx, &["--cache-from", &cache]);
    assert_eq!(second.hits(), [true, false], "{:?}", second.steps);
    let gets = |digest: &str| {
        let get = format!("\"GET /v2/ci/cache/blobs/{digest} ");
        reg.log().lines().filter(|l| l.contains(&get)).count()
    };
    assert_eq!(gets(&used), 1, "{}", reg.log());
    assert_eq!(gets(&unused), 0, "{}", reg.log());
    validate(&dir);
}

/// How often each blob digest was uploaded (any repository), from the
/// registry's access log.
fn uploads(log: &str) -> BTreeMap<String, usize> {
    let mut n = BTreeMap::new();
    for line in log.lines().filter(|l| l.contains("\"PUT /v2/")) {
        if let Some(digest) = line
            .split(['?', '&', ' '])
            .find_map(|kv| kv.strip_prefix("digest="))
        {
            let digest = digest.replace("%3A", ":").replace("%3a", ":");
            *n.entry(digest).or_insert(0) += 1;
        }
    }
    n
}

/// The files under `dir` whose name starts with `.tmp` (temporaries a
/// fetch or a write left), at any depth.
fn temporaries(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with(".tmp") {
            found.push(path.display().to_string());
        } else if path.is_dir() {
            found.extend(temporaries(&path));
        }
    }
    found
}

#[test]
fn a_layer_fetched_while_the_key_is_computed_lands_only_when_the_step_hits() {
    if !have("docker-registry") {
        return;
    }
    let reg = Registry::start();
    let w = Work::new();
    let cache = format!("docker://{}/ci/cache:app", reg.host());
    let layout = format!("oci:{}", w.path("cache").display());
    // a file large enough that its layer is still streaming while the key
    // of the next build's step is computed
    let big = |dir: &str, seed: u8| {
        let ctx = two_steps(&w, dir, "b");
        let bytes: Vec<u8> = (0..6u32 << 20).map(|i| (i % 251) as u8 ^ seed).collect();
        std::fs::write(ctx.join("a"), bytes).unwrap();
        ctx
    };
    let flags = ["--cache-to", &cache, "--cache-to", &layout];
    build_in(&w, &w.path("one"), &big("ctx1", 0), &flags);
    let [first, second] = <[String; 2]>::try_from(cache_layers(&w.path("cache"))).unwrap();

    // the same instructions over another `a`: the first step's layer is
    // likely, fetched aside, and dropped when the key says otherwise
    let store = w.path("two");
    let changed = build_in(&w, &store, &big("ctx2", 1), &["--cache-from", &cache]);
    assert_eq!(changed.hits(), [false, false], "{:?}", changed.steps);
    let two = minibuild::dest::Layout::open(&store).unwrap();
    assert!(!two.has_blob(&first.parse().unwrap()), "{first} was stored");
    // (the second step's layer is rebuilt: the same bytes as `second`)
    assert_eq!(temporaries(&store), Vec::<String>::new());
    validate(&store);

    // the same context: both layers come from the registry, each fetched
    // once and reported as any pull is
    let store = w.path("three");
    let o = crate::common::minibuild()
        .args(["build", "--progress", "rawjson", "--cache-from", &cache])
        .arg(big("ctx3", 0))
        .env("MINIBUILD_STORE", &store)
        .env("SOURCE_DATE_EPOCH", "0")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", crate::common::stderr(&o));
    let events = String::from_utf8_lossy(&o.stderr).to_string();
    for layer in [&first, &second] {
        let pulled = events.lines().any(|l| {
            l.contains("\"event\":\"blob_transferred\"")
                && l.contains(layer.as_str())
                && l.contains("\"direction\":\"download\"")
        });
        assert!(pulled, "no download of {layer} reported:\n{events}");
        let get = format!("\"GET /v2/ci/cache/blobs/{layer} ");
        let gets = reg.log().lines().filter(|l| l.contains(&get)).count();
        let expected = if layer == &first { 2 } else { 1 };
        assert!(
            gets <= expected,
            "{layer} fetched {gets} times\n{}",
            reg.log()
        );
    }
    let three = minibuild::dest::Layout::open(&store).unwrap();
    assert!(three.has_blob(&first.parse().unwrap()));
    assert_eq!(temporaries(&store), Vec::<String>::new());
    validate(&store);
}

#[test]
fn the_likely_layer_is_requested_before_the_key_and_fetched_only_once() {
    if !have("docker-registry") {
        return;
    }
    let reg = Registry::start();
    let w = Work::new();
    let cache = format!("docker://{}/ci/cache:app", reg.host());
    let layout = format!("oci:{}", w.path("cache").display());
    let flags = ["--cache-to", &cache, "--cache-to", &layout];
    build_in(&w, &w.path("one"), &two_steps(&w, "ctx1", "b"), &flags);
    let [first, _] = <[String; 2]>::try_from(cache_layers(&w.path("cache"))).unwrap();
    let gets = |log: &str| {
        let get = format!("\"GET /v2/ci/cache/blobs/{first} ");
        log.lines().filter(|l| l.contains(&get)).count()
    };
    // `COPY a /a` over scratch again, with another `a`: the entry of the
    // same instruction and parent is requested while the key is computed
    // (and dropped when it differs); without the overlap nothing would ask
    let ctx = two_steps(&w, "ctx2", "b");
    std::fs::write(ctx.join("a"), "another a\n").unwrap();
    let missed = build_in(&w, &w.path("two"), &ctx, &["--cache-from", &cache]);
    assert_eq!(missed.hits(), [false, false], "{:?}", missed.steps);
    assert_eq!(gets(&reg.log()), 1, "{}", reg.log());
    // a hit takes the blob the overlap fetched: one more GET, not two
    let ctx = two_steps(&w, "ctx3", "b");
    let hit = build_in(&w, &w.path("three"), &ctx, &["--cache-from", &cache]);
    assert_eq!(hit.hits(), [true, true], "{:?}", hit.steps);
    assert_eq!(gets(&reg.log()), 2, "{}", reg.log());
}
