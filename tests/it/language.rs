//! The Dockerfile language beyond what buildah 1.28 can be compared with:
//! heredocs, SHELL, HEALTHCHECK, MAINTAINER, --platform on scratch, the
//! escape directive as BuildKit reads it, --exclude and symbolic --chmod,
//! ignore-file precedence, and the errors, each with its file, line and
//! column.

use crate::common::*;
use serde_json::json;

#[test]
fn heredocs_shell_healthcheck_and_maintainer() {
    let w = Work::new();
    w.dockerfile(concat!(
        "FROM scratch\n",
        "MAINTAINER Jane <jane@example.com>\n",
        "ARG NAME=world\n",
        "COPY <<EOF /greeting.txt\n",
        "hello $NAME \"quoted\" 'single'\n",
        "EOF\n",
        "COPY <<\"RAW\" <<-TABS /dir/\n",
        "keep $NAME\n",
        "RAW\n",
        "\ttabbed\n",
        "\tTABS\n",
        "SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n",
        "CMD echo hi\n",
        "HEALTHCHECK --interval=30s --timeout=3s --start-period=1m --retries=2 CMD curl -f http://localhost/ || exit 1\n",
    ));
    let out = w.build_oci("lang:1", &[]);
    validate(&out);
    let c = config_of(&out, "lang:1");
    assert_eq!(c["author"], "Jane <jane@example.com>");
    assert_eq!(
        c["config"]["Shell"],
        json!(["/bin/bash", "-o", "pipefail", "-c"])
    );
    assert_eq!(
        c["config"]["Cmd"],
        json!(["/bin/bash", "-o", "pipefail", "-c", "echo hi"])
    );
    assert_eq!(
        c["config"]["Healthcheck"],
        json!({"Test": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
               "Interval": 30_000_000_000u64, "Timeout": 3_000_000_000u64,
               "StartPeriod": 60_000_000_000u64, "Retries": 2})
    );
    let fs = merged_fs(&out, "lang:1");
    let content = |p: &str| {
        let n = &fs[p];
        assert_eq!((n.kind.as_str(), n.mode), ("file", 0o644), "{p}");
        n.size
    };
    // expanded, quotes kept; quoted delimiter: not expanded; <<-: tabs stripped
    assert_eq!(
        content("greeting.txt"),
        "hello world \"quoted\" 'single'\n".len() as u64
    );
    assert_eq!(content("dir/RAW"), "keep $NAME\n".len() as u64);
    assert_eq!(content("dir/TABS"), "tabbed\n".len() as u64);
    let hist: Vec<String> = c["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["created_by"].as_str().unwrap().to_string())
        .collect();
    assert!(
        hist.contains(&"COPY <<EOF /greeting.txt # buildkit".to_string()),
        "{hist:?}"
    );
    assert!(
        hist.contains(&"MAINTAINER Jane <jane@example.com>".to_string()),
        "{hist:?}"
    );
}

#[test]
fn healthcheck_none_and_exec_form() {
    let w = Work::new();
    w.dockerfile(
        "FROM scratch AS base\nHEALTHCHECK CMD [\"/check\"]\nFROM base\nHEALTHCHECK NONE\n",
    );
    let out = w.build_oci("hc:1", &[]);
    assert_eq!(
        config_of(&out, "hc:1")["config"]["Healthcheck"],
        json!({"Test": ["NONE"]})
    );
    let out = w.build_oci("hc:2", &["--target", "base"]);
    assert_eq!(
        config_of(&out, "hc:2")["config"]["Healthcheck"],
        json!({"Test": ["CMD", "/check"]})
    );
}

#[test]
fn escape_directive_backtick_keeps_backslashes_as_buildkit() {
    let w = Work::new();
    w.file("a.txt", "a");
    w.dockerfile("# escape=`\nFROM scratch\nENV WINPATH=C:\\dir `\n    OTHER=`$HOME\nCOPY a.txt `\n    C:\\dest\\\n");
    let out = w.build_oci("esc:1", &[]);
    let c = config_of(&out, "esc:1");
    let env = c["config"]["Env"].as_array().unwrap();
    assert!(env.contains(&json!("WINPATH=C:\\dir")), "{env:?}");
    assert!(env.contains(&json!("OTHER=$HOME")), "{env:?}");
    assert!(merged_fs(&out, "esc:1").contains_key("C:\\dest\\"));
}

#[test]
fn platform_of_a_scratch_stage() {
    let w = Work::new();
    w.dockerfile("FROM --platform=linux/arm64 scratch\nARG TARGETARCH\nLABEL arch=$TARGETARCH\n");
    let out = w.build_oci("plat:1", &[]);
    let c = config_of(&out, "plat:1");
    assert_eq!(c["architecture"], "arm64");
    // containerd normalizes arm64/v8 to plain arm64, as BuildKit states it
    assert!(c.get("variant").is_none(), "{c}");
    let index = read_json(&out.join("index.json"));
    assert_eq!(index["manifests"][0]["platform"]["architecture"], "arm64");
}

#[test]
fn exclude_symbolic_chmod_and_link() {
    let w = Work::new();
    w.file("src/a.txt", "a");
    w.file("src/b.md", "b");
    w.file("src/sub/c.md", "c");
    w.file("run.sh", "#!/bin/sh\n");
    w.dockerfile("FROM scratch\nCOPY --link --exclude=*.md --exclude=sub src /src/\nCOPY --chmod=u+x,go-w run.sh /bin/\n");
    let out = w.build_oci("ex:1", &[]);
    let fs = merged_fs(&out, "ex:1");
    assert!(fs.contains_key("src/a.txt"));
    assert!(
        !fs.contains_key("src/b.md") && !fs.contains_key("src/sub/c.md"),
        "{fs:?}"
    );
    let mode = std::fs::metadata(w.ctx().join("run.sh")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let expected = (mode.permissions().mode() & 0o7777 | 0o100) & !0o022;
    assert_eq!(fs["bin/run.sh"].mode, expected);
}

#[test]
fn link_copies_onto_an_empty_filesystem() {
    use std::os::unix::fs::PermissionsExt;
    let w = Work::new();
    w.file("a.txt", "a");
    w.file("root/opt/keep", "k");
    std::fs::set_permissions(
        w.ctx().join("root/opt"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    // the base has /opt as a 0700 directory (a directory's contents keep
    // their modes; the directory a COPY creates for them is 0755)
    w.dockerfile(concat!(
        "FROM scratch AS base\n",
        "COPY root/ /\n",
        "FROM base\n",
        "COPY a.txt /opt/plain/\n",
        "COPY --link a.txt /opt/linked/\n",
    ));
    let out = w.build_oci("ln:1", &[]);
    let m = manifest_of(&out, "ln:1");
    let layers = m["layers"].as_array().unwrap().len();
    let layer = |i: usize| {
        let mut fs = std::collections::BTreeMap::new();
        apply_tar(&mut fs, &layer_tar(&out, &m["layers"][i]));
        fs
    };
    // without --link the existing /opt keeps its metadata in the new layer;
    // with --link the parent is a fresh 0755 directory, as on scratch
    let plain = layer(layers - 2);
    let linked = layer(layers - 1);
    assert_eq!(plain["opt"].mode, 0o700);
    assert_eq!(linked["opt"].mode, 0o755);
    assert!(linked.contains_key("opt/linked/a.txt"));
}

#[test]
fn dockerfile_specific_ignore_file_takes_precedence() {
    let w = Work::new();
    w.file("a.txt", "a");
    w.file("b.txt", "b");
    w.file(".dockerignore", "a.txt\n");
    w.file("build.Dockerfile", "FROM scratch\nCOPY . /c/\n");
    w.file("build.Dockerfile.dockerignore", "b.txt\n");
    let out = w.path("out");
    let o = w.run(&[
        "-f",
        w.ctx().join("build.Dockerfile").to_str().unwrap(),
        "-o",
        &format!("oci:{}:ig", out.display()),
        w.ctx().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let fs = merged_fs(&out, "ig");
    assert!(
        fs.contains_key("c/a.txt") && !fs.contains_key("c/b.txt"),
        "{fs:?}"
    );
}

#[test]
fn unused_build_arg_is_a_warning() {
    let w = Work::new();
    w.dockerfile("FROM scratch\nARG USED\nLABEL u=$USED\n");
    let out = w.path("out");
    let o = w.run(&[
        "--build-arg",
        "USED=1",
        "--build-arg",
        "NOT_DECLARED=2",
        "-o",
        &format!("oci:{}:w", out.display()),
        w.ctx().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: one or more build-args were not consumed: NOT_DECLARED"),
        "{}",
        stderr(&o)
    );
}

/// (Dockerfile, expected message part, expected `file:line:col`)
const ERRORS: &[(&str, &str, &str)] = &[
    (
        "FROM scratch\nCOPY --bogus a.txt /\n",
        "unknown flag: --bogus (for COPY)",
        "Dockerfile:2:6",
    ),
    (
        "FROM scratch\nENV --foo=1 A=b\n",
        "unknown flag: --foo (for ENV)",
        "Dockerfile:2:5",
    ),
    (
        "FROM scratch\nCOPY --from=nowhere /a /b\n",
        "no stage is named \"nowhere\"",
        "Dockerfile:2:6",
    ),
    (
        "FROM scratch AS a\nCOPY --from=b /x /y\nFROM scratch AS b\n",
        "cannot copy from stage \"b\", it needs to be defined before current stage \"a\"",
        "Dockerfile:2:6",
    ),
    (
        "FROM scratch AS a\nCOPY --from=a /x /y\n",
        "is the stage it is in",
        "Dockerfile:2:6",
    ),
    (
        "FROM scratch\nCOPY --chown=app a.txt /\n",
        "unable to find user app",
        "Dockerfile:2:6",
    ),
    (
        "FROM scratch\nCOPY missing.txt /\n",
        "missing.txt: not found in the build context",
        "Dockerfile:2:6",
    ),
    (
        // BuildKit copies the sources in turn (tests/it/copy_fidelity.rs);
        // a directory onto the file the first one made is refused
        "FROM scratch\nCOPY a.txt sub /single\n",
        "cannot copy a directory to non-directory: /single",
        "Dockerfile:2:1",
    ),
    (
        "FROM scratch\nCOPY --chmod=999 a.txt /\n",
        "invalid chmod parameter",
        "Dockerfile:2:6",
    ),
    // BuildKit's BFlags.Parse (frontend/dockerfile/instructions/bflag.go):
    // the flag is named with its dashes
    (
        "FROM scratch\nCOPY --chown 1:1 a.txt /x\n",
        "error: missing a value on flag: --chown\n",
        "Dockerfile:2:6",
    ),
    (
        "FROM scratch\nCOPY --chmod 777 a.txt /x\n",
        "error: missing a value on flag: --chmod\n",
        "Dockerfile:2:6",
    ),
    (
        "FROM scratch\nCOPY --link=yes a.txt /x\n",
        "error: expecting boolean value for flag --link, not: yes\n",
        "Dockerfile:2:6",
    ),
    // BuildKit's testCopyInvalidChmod (frontend/dockerfile/dockerfile_copy_test.go)
    (
        "FROM scratch\nCOPY --chmod=64a a.txt /\n",
        "error: invalid chmod parameter: '64a'. it should be octal string and between 0 and 07777\n",
        "Dockerfile:2:6",
    ),
    (
        "FROM scratch\nSTOPSIGNAL SIGNOPE\n",
        "invalid signal: SIGNOPE",
        "Dockerfile:2:12",
    ),
    (
        "FROM scratch\nEXPOSE 80/xyz\n",
        "invalid proto: xyz",
        "Dockerfile:2:1",
    ),
    (
        "FROM scratch\nHEALTHCHECK CONNECT TCP 7000\n",
        "Unknown type \"CONNECT\" in HEALTHCHECK",
        "Dockerfile:2:13",
    ),
    (
        "FROM scratch\nONBUILD COPY a /\n",
        "ONBUILD is not supported",
        "Dockerfile:2:1",
    ),
    (
        "FROM scratch\nLABEL x=${UNSET:?required}\n",
        "UNSET: required",
        "Dockerfile:2:",
    ),
    (
        "FROM scratch\nCMD [\"a\", [\"nested\"]]\n",
        "",
        "Dockerfile:2:",
    ),
    (
        "ENV A=1\nFROM scratch\n",
        "before the first FROM",
        "Dockerfile:1:1",
    ),
    (
        "FROM --platform=linux/arm64 oci:/nonexistent:x\n",
        "loading base image oci:/nonexistent:x for linux/arm64",
        "Dockerfile:1:",
    ),
];

#[test]
fn errors_name_file_line_and_column() {
    let w = Work::new();
    w.file("a.txt", "a");
    w.file("sub/in", "i");
    let mut failures = Vec::new();
    for (df, msg, at) in ERRORS {
        w.dockerfile(df);
        let o = w.run(&[
            "-o",
            &format!("oci:{}:e", w.path("out").display()),
            w.ctx().to_str().unwrap(),
        ]);
        let err = stderr(&o);
        if o.status.code() != Some(1)
            || !err.contains(msg)
            || !err.contains(at)
            || !err.contains('^')
        {
            failures.push(format!("{df:?}: exit {:?}\n{err}", o.status.code()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

#[test]
fn a_wildcard_that_matches_nothing_is_allowed() {
    let w = Work::new();
    w.file("a.txt", "a");
    w.dockerfile("FROM scratch\nCOPY *.none a.txt /d/\n");
    let out = w.build_oci("wc:1", &[]);
    assert!(merged_fs(&out, "wc:1").contains_key("d/a.txt"));
}

#[test]
fn only_the_stages_the_target_needs_are_built() {
    let w = Work::new();
    w.file("a.txt", "a");
    // the unused stage would fail (its source does not exist): it must not run
    w.dockerfile("FROM scratch AS unused\nCOPY does-not-exist /\nFROM scratch AS dep\nCOPY a.txt /\nFROM scratch\nCOPY --from=dep /a.txt /b.txt\n");
    let out = w.path("out");
    let o = w.run(&[
        "-o",
        &format!("oci:{}:s", out.display()),
        w.ctx().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(!err.contains("does-not-exist"), "{err}");
    assert!(merged_fs(&out, "s").contains_key("b.txt"));
    // and --target picks a stage by name, building what it needs only
    let o = w.run(&[
        "--target",
        "unused",
        "-o",
        &format!("oci:{}:u", out.display()),
        w.ctx().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("does-not-exist"));
}

#[test]
fn hard_links_among_copied_files_stay_links_in_the_layer() {
    let w = Work::new();
    w.file("d/a-first", "same inode\n");
    w.file("d/z/other", "x");
    std::fs::hard_link(w.ctx().join("d/a-first"), w.ctx().join("d/b-second")).unwrap();
    std::fs::hard_link(w.ctx().join("d/a-first"), w.ctx().join("d/z/third")).unwrap();
    w.dockerfile("FROM scratch\nCOPY d /d/\n");
    let out = w.build_oci("hl:1", &[]);
    validate(&out);
    let m = manifest_of(&out, "hl:1");
    let tar = layer_tar(&out, &m["layers"][0]);
    let mut ar = tar::Archive::new(&tar[..]);
    let mut links = Vec::new();
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        if e.header().entry_type() == tar::EntryType::Link {
            let from = String::from_utf8(e.path_bytes().to_vec()).unwrap();
            let to = String::from_utf8(e.link_name_bytes().unwrap().to_vec()).unwrap();
            links.push((from, to));
        }
    }
    assert_eq!(
        links,
        vec![
            ("d/b-second".to_string(), "d/a-first".to_string()),
            ("d/z/third".to_string(), "d/a-first".to_string())
        ]
    );
}

/// `ARG ${src}=f1` declares an ARG named `${src}`: BuildKit has not expanded
/// ARG names since dockerfile/1.10.0 (commit 47a52a17b "avoid evaluating ARG
/// default if unused": `dispatch` in dockerfile2llb/convert.go skips
/// `ArgCommand.Expand`, and `dispatchArg` uses the key as written). buildah
/// 1.28 (imagebuilder) expands it to `file3`; minibuild follows BuildKit.
#[test]
fn arg_names_are_not_expanded_as_in_buildkit() {
    let w = Work::new();
    w.file("f1", "f1");
    w.dockerfile("FROM scratch\nENV src file3\nARG ${src}=f1\nLABEL got=[$file3]\n");
    let out = w.build_oci("argname:1", &[]);
    let c = config_of(&out, "argname:1");
    assert_eq!(c["config"]["Labels"]["got"], "[]");
    let hist: Vec<&str> = c["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["created_by"].as_str())
        .collect();
    assert!(hist.contains(&"ARG ${src}=f1"), "{hist:?}");
}
