//! `COPY --parents`, the cases of BuildKit's documentation: sources keep
//! their context path under the destination, below a `/./` pivot when
//! there is one.

use crate::common::{merged_fs, stderr, Work};

fn context(w: &Work) {
    for (p, body) in [
        ("x/a.txt", "xa"),
        ("y/a.txt", "ya"),
        ("x/y/a.txt", "xya"),
        ("x/y/b.txt", "xyb"),
        ("src/lib/m.rs", "m"),
    ] {
        w.file(p, body);
    }
}

fn files(w: &Work, name: &str) -> Vec<String> {
    let out = w.path("out");
    let mut v: Vec<String> = merged_fs(&out, name)
        .into_iter()
        .filter(|(_, n)| n.kind == "file")
        .map(|(p, _)| p)
        .collect();
    v.sort();
    v
}

#[test]
fn parents_are_kept_from_the_root_or_the_pivot() {
    let w = Work::new();
    context(&w);
    w.dockerfile(
        "FROM scratch\nCOPY --parents ./x/a.txt ./y/a.txt /no_pivot/\nCOPY --parents ./x/./y/*.txt /pivot/\nCOPY --parents src /tree/\n",
    );
    w.build_oci("p", &[]);
    assert_eq!(
        files(&w, "p"),
        [
            "no_pivot/x/a.txt",
            "no_pivot/y/a.txt",
            "pivot/y/a.txt",
            "pivot/y/b.txt",
            "tree/src/lib/m.rs",
        ]
    );
}

#[test]
fn without_parents_the_paths_are_flattened() {
    let w = Work::new();
    context(&w);
    w.dockerfile("FROM scratch\nCOPY ./x/y/*.txt /flat/\n");
    w.build_oci("f", &[]);
    assert_eq!(files(&w, "f"), ["flat/a.txt", "flat/b.txt"]);
}

/// BuildKit's testCopyRelativeParents and testCopyParentsMissingDirectory
/// (their RUN-made tree made by COPY here): with --from, the paths kept are
/// the source stage's, from its root or its pivot.
#[test]
fn parents_from_a_stage_keep_its_paths() {
    let w = Work::new();
    for p in [
        "a/b/c/d/foo",
        "a/b/c/d/e/bay",
        "a/b2/c/d/e/bar",
        "a/b/c2/d/e/baz",
    ] {
        w.file(p, p);
    }
    let base = "FROM scratch AS base\nCOPY a /test/a\nFROM scratch\n";
    for (copy, want) in [
        // middle: a pivot
        ("/test/a/b/./c/d", vec!["out/c/d/e/bay", "out/c/d/foo"]),
        // end, normal: no pivot, the whole path kept
        (
            "/test/a/b/c/d/.",
            vec!["out/test/a/b/c/d/e/bay", "out/test/a/b/c/d/foo"],
        ),
        (
            "./test/a/b/c/d",
            vec!["out/test/a/b/c/d/e/bay", "out/test/a/b/c/d/foo"],
        ),
        // double: the first pivot counts
        ("/test/a/./b/./c", vec!["out/b/c/d/e/bay", "out/b/c/d/foo"]),
        // a wildcard after the pivot
        (
            "/test/a/./b*",
            vec![
                "out/b/c/d/e/bay",
                "out/b/c/d/foo",
                "out/b/c2/d/e/baz",
                "out/b2/c/d/e/bar",
            ],
        ),
        // a file keeps its directories
        ("/test/a/b/c/./d/foo", vec!["out/d/foo"]),
        // wildcard-nonexistent, wildcard-afterpivot: nothing, no error
        ("/test/a/b/./c3*", vec![]),
    ] {
        w.dockerfile(&format!("{base}COPY --from=base --parents {copy} /out/\n"));
        w.build_oci("p", &[]);
        assert_eq!(files(&w, "p"), want, "COPY --parents {copy}");
    }
    // nonexistentfile: an error naming the path
    w.dockerfile(&format!(
        "{base}COPY --from=base --parents /test/nonexistent-file /out/\n"
    ));
    let ctx = w.ctx().display().to_string();
    let o = w.run(&["build", &ctx]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("/test/nonexistent-file"),
        "{}",
        stderr(&o)
    );
}
