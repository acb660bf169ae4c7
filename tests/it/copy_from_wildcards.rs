//! `COPY --from` sources with wildcards in any component, matched by the
//! same matcher as context sources. Cases from BuildKit's
//! frontend/dockerfile/dockerfile_test.go testCopyWildcards, with the
//! context copied into a stage first so every source is read `--from` it.

use crate::common::{merged_fs, Work};

#[test]
fn wildcards_in_any_component_of_a_from_source() {
    let w = Work::new();
    // testCopyWildcards' context
    w.file("foo.go", "foo-contents");
    w.file("bar.go", "bar-contents");
    w.file("sub/dir1/dir2/foo", "foo-contents");
    w.dockerfile(
        "FROM scratch AS src\nCOPY . /s/\n\
         FROM scratch\n\
         COPY --from=src /s/*.go /gofiles/\n\
         COPY --from=src /s/f*.go /foo2.go\n\
         COPY --from=src /s/sub/* /subdest/\n\
         COPY --from=src /s/sub/*/dir2/foo /subdest2/\n\
         COPY --from=src /s/sub/*/dir2/foo /subdest3/bar\n\
         COPY --from=src /s/s?b/dir1/*/foo /subdest4/\n\
         COPY --from=src /s/*/nothing /none/\n",
    );
    let out = w.build_oci("wild", &[]);
    let fs = merged_fs(&out, "wild");
    let has = |p: &str| fs.contains_key(p);
    for p in [
        "gofiles/foo.go",
        "gofiles/bar.go",
        "foo2.go",
        "subdest/dir2/foo",
        "subdest2/foo",
        "subdest3/bar",
        "subdest4/foo",
    ] {
        assert!(has(p), "{p} in {:?}", fs.keys().collect::<Vec<_>>());
    }
    // a matched directory's contents land, as for a context source
    assert!(!has("subdest/dir1"), "{:?}", fs.keys().collect::<Vec<_>>());
    assert!(!has("none/nothing"));
}

/// BuildKit's testCopyRelativeParents `/test/a/./*/c` case: a wildcard
/// after the pivot, read `--from` a stage.
#[test]
fn parents_with_a_wildcard_below_the_pivot() {
    let w = Work::new();
    w.file("test/a/b/c/d", "d");
    w.file("test/a/e/c/f", "f");
    w.file("test/a/g/h", "h");
    w.dockerfile(
        "FROM scratch AS base\nCOPY test /test\n\
         FROM scratch\nCOPY --from=base --parents /test/a/./*/c /out/\n",
    );
    let out = w.build_oci("par", &[]);
    let fs = merged_fs(&out, "par");
    let keys: Vec<&String> = fs.keys().collect();
    assert!(fs.contains_key("out/b/c/d"), "{keys:?}");
    assert!(fs.contains_key("out/e/c/f"), "{keys:?}");
    assert!(!fs.keys().any(|k| k.contains("g")), "{keys:?}");
}
