//! Stages and names as BuildKit reads them (issue #10): an empty name is
//! never a reference, `--from` takes no variables, a duplicate stage name
//! is a warning, RUN is reported before any base image is fetched, and a
//! lowercase `dockerfile` is found.

use crate::common::*;

fn build_err(w: &Work) -> String {
    let o = w.run(&["build", "-t", "t:1", w.ctx().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    stderr(&o)
}

/// BuildKit: frontend/dockerfile/dockerfile_copy_test.go
/// testDockerfileCopyFromArgs (`COPY --from=$FOO . .` is refused, it used
/// to copy the context).
#[test]
fn copy_from_takes_no_variables() {
    let w = Work::new();
    w.file("a", "a");
    w.dockerfile("FROM scratch\nARG FOO=x\nCOPY --from=$FOO . .\n");
    let err = build_err(&w);
    assert!(
        err.contains("variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround"),
        "{err}"
    );
    assert!(err.contains("Dockerfile:3:6"), "{err}");
}

/// BuildKit: dockerfile2llb "base name (%s) should not be blank" — with
/// one image in the store, `FROM $UNSET` used to build on it.
#[test]
fn an_empty_base_name_is_refused() {
    let w = Work::new();
    w.file("a", "a");
    w.dockerfile("FROM scratch\nCOPY a /\n");
    let o = w.run(&["build", "-t", "only:1", w.ctx().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    w.dockerfile("ARG BASE\nFROM $BASE\nCOPY a /b\n");
    let err = build_err(&w);
    assert!(
        err.contains("base name ($BASE) should not be blank"),
        "{err}"
    );
    assert!(err.contains("Dockerfile:2:6"), "{err}");
}

/// BuildKit's linter (DuplicateStageName) warns; the later stage of the
/// name is the one a later reference means.
#[test]
fn a_duplicate_stage_name_is_a_warning() {
    let w = Work::new();
    w.file("one", "1");
    w.file("two", "22");
    w.dockerfile(concat!(
        "FROM scratch AS s\nCOPY one /f\n",
        "FROM scratch AS s\nCOPY two /f\n",
        "FROM scratch\nCOPY --from=s /f /f\n",
    ));
    let o = w.run(&["build", "-o", "oci:out:dup", w.ctx().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("warning: line 3: Duplicate stage name \"s\", stage names should be unique"),
        "{err}"
    );
    let fs = merged_fs(&w.path("out"), "dup");
    assert_eq!(fs["f"].size, 2);
}

/// A RUN anywhere in the stages the target needs is refused before a base
/// image is looked for (the user learns first that the Dockerfile is out
/// of minibuild's subset, not that a registry is unreachable).
#[test]
fn run_is_refused_before_any_base_is_fetched() {
    let w = Work::new();
    w.dockerfile("FROM docker://127.0.0.1:9/nothing/here:1\nENV A=1\nRUN make\n");
    let err = build_err(&w);
    assert!(err.contains("RUN is not supported"), "{err}");
    assert!(err.contains("Dockerfile:3:1"), "{err}");
    assert!(!err.contains("[1/3]"), "nothing was started: {err}");
}

/// As docker build: with no -f and no `Dockerfile`, `dockerfile` is used.
#[test]
fn a_lowercase_dockerfile_is_found() {
    let w = Work::new();
    w.file("a", "a");
    w.file("dockerfile", "FROM scratch\nCOPY a /lower\n");
    let o = w.run(&["build", "-o", "oci:out:low", w.ctx().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(merged_fs(&w.path("out"), "low").contains_key("lower"));
}
