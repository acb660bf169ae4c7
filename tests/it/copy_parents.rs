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
fn without_parents_the_paths_are_flattened_and_from_is_refused() {
    let w = Work::new();
    context(&w);
    w.dockerfile("FROM scratch\nCOPY ./x/y/*.txt /flat/\n");
    w.build_oci("f", &[]);
    assert_eq!(files(&w, "f"), ["flat/a.txt", "flat/b.txt"]);
    w.dockerfile("FROM scratch AS s\nCOPY x /x\nFROM scratch\nCOPY --parents --from=s /x /y/\n");
    let ctx = w.ctx().display().to_string();
    let o = w.run(&["build", &ctx]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--parents --from"), "{}", stderr(&o));
}
