//! Differential tests: the same context and Dockerfile built by minibuild
//! and by buildah; the merged filesystems (type, mode, owner, size,
//! content, link target) and the configs must agree. Where BuildKit and
//! buildah differ, minibuild follows BuildKit and the case says so.

use crate::common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::Path;

/// Config fields both builders set from the Dockerfile.
const FIELDS: &[&str] = &[
    "Env",
    "Entrypoint",
    "Cmd",
    "User",
    "ExposedPorts",
    "Volumes",
    "Labels",
    "StopSignal",
    "WorkingDir",
    "Healthcheck",
];

fn normalized_config(cfg: &Value) -> BTreeMap<String, Value> {
    let c = &cfg["config"];
    let mut out = BTreeMap::new();
    for f in FIELDS {
        let mut v = c.get(*f).cloned().unwrap_or(Value::Null);
        if *f == "Labels" {
            if let Some(m) = v.as_object_mut() {
                m.remove("io.buildah.version");
                if m.is_empty() {
                    v = Value::Null;
                }
            }
        }
        // BuildKit sets WorkingDir "/" for scratch; buildah leaves it empty
        if *f == "WorkingDir" && (v.is_null() || v == "") {
            v = Value::String("/".into());
        }
        // BuildKit replaces an ENV in place, buildah moves it to the end:
        // compare the environment as a set
        if *f == "Env" {
            if let Some(a) = v.as_array_mut() {
                a.sort_by_key(|x| x.to_string());
            }
        }
        if v.as_array().is_some_and(|a| a.is_empty()) || v.as_object().is_some_and(|o| o.is_empty())
        {
            v = Value::Null;
        }
        out.insert(f.to_string(), v);
    }
    out
}

struct Case<'a> {
    files: &'a [(&'a str, &'a str)],
    links: &'a [(&'a str, &'a str)],
    dockerfile: &'a str,
    args: &'a [&'a str],
    /// (link, existing file) pairs made as hard links in the context.
    hardlinks: &'a [(&'a str, &'a str)],
    /// Paths whose directory entry only one side has (BuildKit's WORKDIR
    /// layer creates them, buildah does so only when something lands there).
    ignore_paths: &'a [&'a str],
}

const NO_FILES: &[(&str, &str)] = &[];

fn check(case: Case) {
    if !have("buildah") {
        return;
    }
    let w = Work::new();
    let ctx = w.ctx();
    for (p, c) in case.files {
        w.file(p, c);
    }
    for (link, target) in case.links {
        let p = ctx.join(link);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        symlink(target, p).unwrap();
    }
    if case.dockerfile.contains("layer.tar") {
        let mut b = tar::Builder::new(std::fs::File::create(ctx.join("layer.tar")).unwrap());
        for (name, body, mode) in [("top.txt", "top", 0o644), ("bin/tool", "#!/bin/sh", 0o755)] {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(mode);
            h.set_uid(1000);
            h.set_gid(1000);
            h.set_mtime(1_600_000_000);
            h.set_cksum();
            b.append_data(&mut h, name, body.as_bytes()).unwrap();
        }
        b.finish().unwrap();
    }
    for (link, target) in case.hardlinks {
        std::fs::hard_link(ctx.join(target), ctx.join(link)).unwrap();
    }
    w.dockerfile(case.dockerfile);
    let ours = w.build_oci("case:1", case.args);
    validate(&ours);
    let theirs = buildah_build(w.dir.path(), &ctx, "case:1", case.args);
    compare(&ours, &theirs, "case:1", case.ignore_paths);
}

fn compare(ours: &Path, theirs: &Path, name: &str, ignore: &[&str]) {
    let mut a = merged_fs(ours, name);
    let mut b = merged_fs(theirs, name);
    for p in ignore {
        a.remove(*p);
        b.remove(*p);
    }
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let mut diffs = Vec::new();
    for k in keys {
        match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) if x == y => {}
            (x, y) => diffs.push(format!("{k}:\n  minibuild {x:?}\n  buildah   {y:?}")),
        }
    }
    assert!(
        diffs.is_empty(),
        "filesystems differ:\n{}",
        diffs.join("\n")
    );
    let ca = normalized_config(&config_of(ours, name));
    let cb = normalized_config(&config_of(theirs, name));
    for f in FIELDS {
        assert_eq!(ca[*f], cb[*f], "config field {f} differs");
    }
}

macro_rules! case {
    ($name:ident, files: $files:expr, dockerfile: $df:expr $(, args: $args:expr)? $(, links: $links:expr)? $(, ignore: $ig:expr)? ) => {
        #[test]
        fn $name() {
            #[allow(unused_mut, unused_assignments)]
            let mut args: &[&str] = &[];
            $( args = $args; )?
            #[allow(unused_mut, unused_assignments)]
            let mut links: &[(&str, &str)] = &[];
            $( links = $links; )?
            #[allow(unused_mut, unused_assignments)]
            let mut ignore: &[&str] = &[];
            $( ignore = $ig; )?
            check(Case { files: $files, links, hardlinks: &[], dockerfile: $df, args, ignore_paths: ignore });
        }
    };
}

const ABC: &[(&str, &str)] = &[("a.txt", "a\n"), ("b.txt", "bb\n"), ("c.md", "c\n")];

case!(copy_file_into_dir, files: ABC, dockerfile: "FROM scratch\nCOPY a.txt /dir/\n");
case!(copy_file_renamed, files: ABC, dockerfile: "FROM scratch\nCOPY a.txt /renamed\n");
case!(copy_file_into_deep_new_dir, files: ABC, dockerfile: "FROM scratch\nCOPY a.txt /x/y/z/\n");
case!(copy_relative_dest_uses_workdir, files: ABC,
      dockerfile: "FROM scratch\nWORKDIR /w\nCOPY a.txt rel/\nCOPY b.txt .\n");
case!(copy_several_sources, files: ABC, dockerfile: "FROM scratch\nCOPY a.txt b.txt /multi/\n");
case!(copy_wildcard, files: ABC, dockerfile: "FROM scratch\nCOPY *.txt /w/\n");
case!(copy_wildcard_classes, files: &[("f1.log", "1"), ("f2.log", "2"), ("fa.log", "a")],
      dockerfile: "FROM scratch\nCOPY f[0-9].log /logs/\n");
case!(copy_directory_contents, files: &[("d/a", "a"), ("d/sub/b", "b"), ("d/sub/deeper/c", "c")],
      dockerfile: "FROM scratch\nCOPY d /target/\nCOPY d /other\n");
case!(copy_context_root, files: &[("x/y", "y"), ("z", "z")],
      dockerfile: "FROM scratch\nCOPY . /app/\n");
case!(copy_chown_numeric, files: ABC,
      dockerfile: "FROM scratch\nCOPY --chown=1000:1000 a.txt /own/\nCOPY --chown=42 b.txt /own2/b\n");
case!(copy_chown_by_name_from_image_passwd,
      files: &[("passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1234:2345::/home/app:/bin/sh\n"),
               ("group", "root:x:0:\napp:x:2345:\nstaff:x:50:\n"), ("a.txt", "a")],
      dockerfile: "FROM scratch\nCOPY passwd group /etc/\nCOPY --chown=app a.txt /home/app/\nCOPY --chown=app:staff a.txt /home/app/b\n");
// /m exists first: BuildKit applies --chmod to the parents a COPY creates
// (its testCopyChmod, tests/it/corpus_buildkit.rs), buildah 1.28 makes them 0755
case!(copy_chmod_octal, files: ABC, dockerfile: "FROM scratch\nWORKDIR /m\nCOPY --chmod=0640 a.txt /m/\nCOPY --chmod=755 b.txt /m/\n");
case!(copy_symlink_source_is_followed, files: ABC,
      dockerfile: "FROM scratch\nCOPY link.txt /followed/\n", links: &[("link.txt", "a.txt")]);
case!(copy_symlinks_inside_directory_stay_links,
      files: &[("d/real", "r")],
      dockerfile: "FROM scratch\nCOPY d /d/\n",
      links: &[("d/rel", "real"), ("d/abs", "/etc/passwd"), ("d/dangling", "nowhere")]);
case!(copy_source_cannot_climb_out, files: ABC,
      dockerfile: "FROM scratch\nCOPY ../../a.txt /x/\nCOPY /b.txt /y/\n");
case!(multi_stage_named, files: ABC,
      dockerfile: "FROM scratch AS builder\nCOPY a.txt b.txt /out/\nFROM scratch\nCOPY --from=builder /out/a.txt /final/\n");
case!(multi_stage_by_index, files: ABC,
      dockerfile: "FROM scratch\nCOPY a.txt /one/\nFROM scratch\nCOPY --from=0 /one /two/\n");
case!(multi_stage_from_stage, files: ABC,
      dockerfile: "FROM scratch AS base\nCOPY a.txt /\nENV FROM_BASE=1\nCMD [\"/a.txt\"]\nFROM base\nCOPY b.txt /\n");
case!(target_stage, files: ABC,
      dockerfile: "FROM scratch AS first\nCOPY a.txt /\nLABEL stage=first\nFROM scratch\nCOPY b.txt /\n",
      args: &["--target", "first"]);
case!(entrypoint_resets_inherited_cmd, files: ABC,
      dockerfile: "FROM scratch AS base\nCMD [\"base-cmd\"]\nFROM base\nENTRYPOINT [\"/ep\"]\n");
case!(shell_form_cmd_and_entrypoint, files: NO_FILES,
      dockerfile: "FROM scratch\nENTRYPOINT echo hello\nCMD run --fast \"quoted arg\"\n");
case!(build_args_and_defaults, files: ABC,
      dockerfile: "ARG DIR=/default\nFROM scratch\nARG DIR\nARG FILE=a.txt\nARG UNSET\nCOPY $FILE ${DIR}/\nLABEL dir=$DIR unset=\"${UNSET:-none}\"\n",
      args: &["--build-arg", "FILE=b.txt"]);
case!(global_arg_in_from, files: ABC,
      dockerfile: "ARG BASE=scratch\nARG DIR=/from-global\nFROM ${BASE}\nARG DIR\nCOPY b.txt $DIR/\n");
case!(expansion_in_every_expanding_instruction, files: ABC,
      dockerfile: "FROM scratch\nENV D=/data P=8080 U=1000 S=SIGINT F=a.txt\nWORKDIR ${D}/w\nCOPY $F ${D:-x}/\nADD ${F} $D/added/\nLABEL path=${D}/lib\nUSER $U\nEXPOSE $P ${P}/udp\nVOLUME $D/vol\nSTOPSIGNAL $S\n");
// SHELL and HEALTHCHECK are left out: buildah drops them from OCI-format
// configs (tests/language.rs checks them against BuildKit's format).
case!(every_metadata_instruction_with_variables, files: NO_FILES,
      dockerfile: "ARG BASE=scratch\nFROM $BASE\nARG VERSION=2.1\nARG PORT=8080\nENV APP=/opt/app VERSION=$VERSION\nLABEL org.opencontainers.image.version=$VERSION maintainer=\"ops team\"\nWORKDIR $APP\nUSER ${UID:-1000}:${GID:-100}\nEXPOSE $PORT ${PORT}/udp\nVOLUME $APP/data\nSTOPSIGNAL SIG${SIG:-QUIT}\nENTRYPOINT [\"/opt/app/bin/server\", \"--port\", \"8080\"]\nCMD server --verbose\n",
      args: &["--build-arg", "PORT=9090"]);
case!(env_values_see_variables_before_the_instruction, files: NO_FILES,
      dockerfile: "FROM scratch\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n");
case!(escape_directive_with_backtick, files: ABC,
      dockerfile: "# escape=`\nFROM scratch\nENV WINPATH=C:/dir `\n    OTHER=x\nCOPY a.txt `\n     /dest/\n");
case!(continuation_with_comments_inside, files: ABC,
      dockerfile: "FROM scratch\nLABEL a=1 \\\n# a comment inside\n      b=2 \\\n\n      c=3\nCOPY a.txt \\\n  # another\n  /x/\n");
case!(dockerignore_with_exceptions_and_double_star,
      files: &[(".dockerignore", "*.md\n!keep.md\n**/tmp\nbuild/\n"), ("a.md", "a"), ("keep.md", "k"),
               ("src/tmp", "t"), ("src/deep/tmp", "t"), ("src/ok", "o"), ("build/x", "x"), ("main.c", "m")],
      dockerfile: "FROM scratch\nCOPY . /ctx/\n");
case!(add_local_file_and_tar_archive,
      files: ABC,
      dockerfile: "FROM scratch\nADD a.txt /plain/\nADD layer.tar /unpacked/\n");
case!(labels_with_quotes_and_spaces, files: NO_FILES,
      dockerfile: "FROM scratch\nLABEL \"com.example.vendor\"=\"ACME Inc\" version=1.0 description=\"multi\\\nline\"\nLABEL legacy value with spaces\n");
case!(volume_expose_stopsignal_user, files: NO_FILES,
      dockerfile: "FROM scratch\nVOLUME [\"/a\", \"/b\"]\nVOLUME /c /d\nEXPOSE 80 443/tcp 53/udp\nSTOPSIGNAL 9\nUSER nobody:nogroup\n");

#[test]
fn hard_links_in_the_context_stay_hard_links() {
    check(Case {
        files: &[("d/a-first", "same inode\n"), ("d/z/other", "x")],
        links: &[],
        hardlinks: &[("d/b-second", "d/a-first"), ("d/z/third", "d/a-first")],
        dockerfile: "FROM scratch\nCOPY d /d/\n",
        args: &[],
        ignore_paths: &[],
    });
}

/// A base image made by buildah, used by both builders through `FROM oci:`.
#[test]
fn from_an_oci_layout_made_by_buildah() {
    if !have("buildah") {
        return;
    }
    let w = Work::new();
    let base_ctx = w.path("base");
    std::fs::create_dir_all(base_ctx.join("etc")).unwrap();
    std::fs::write(base_ctx.join("etc/os"), "base\n").unwrap();
    std::fs::write(
        base_ctx.join("Dockerfile"),
        "FROM scratch\nCOPY etc /etc/\nENV BASE=1 PATH=/base/bin\nWORKDIR /srv\nCMD [\"base\"]\nLABEL from=base\n",
    )
    .unwrap();
    let base = buildah_build(&w.path("b1"), &base_ctx, "base:1", &[]);
    w.file("app.txt", "app\n");
    w.dockerfile(&format!(
        "FROM oci:{}:base:1\nCOPY app.txt ./\nENV PATH=$PATH:/more\nENTRYPOINT [\"/srv/app.txt\"]\n",
        base.display()
    ));
    let ours = w.build_oci("case:1", &[]);
    validate(&ours);
    // the base's layers are reused as they are
    let base_layers = manifest_of(&base, "base:1")["layers"].clone();
    let our_layers = manifest_of(&ours, "case:1")["layers"].clone();
    assert_eq!(our_layers[0], base_layers[0]);
    let theirs = buildah_build(&w.path("b2"), &w.ctx(), "case:1", &[]);
    compare(&ours, &theirs, "case:1", &[]);
}
