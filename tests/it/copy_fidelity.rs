//! COPY and ADD as BuildKit places files (issue #10): several sources from
//! another stage or image, destinations without a trailing `/`, wildcards
//! counted after they expand, and the mode of the directory a COPY makes.
//! Each case names the BuildKit test or source its expected result is
//! taken from.

use crate::common::*;
use sha2::{Digest, Sha256};

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Several sources from another stage each keep their own bytes, whether
/// their sizes match or not, from one layer or two, and from an `oci:`
/// image as well as from a stage (a source's content used to be looked up
/// by a temporary name that the next source's extraction reused).
#[test]
fn copy_from_with_several_sources_keeps_each_files_bytes() {
    for (f1, f2) in [("one\n", "two\n"), ("1234", "1234567")] {
        for same_layer in [false, true] {
            let w = Work::new();
            w.file("f1", f1);
            w.file("f2", f2);
            let copies = if same_layer {
                "COPY f1 f2 /\n"
            } else {
                "COPY f1 /f1\nCOPY f2 /f2\n"
            };
            w.dockerfile(&format!(
                "FROM scratch AS a\n{copies}FROM scratch\nCOPY --from=a /f1 /f2 /x/\n"
            ));
            let out = w.build_oci("multi:1", &[]);
            validate(&out);
            let fs = merged_fs(&out, "multi:1");
            assert_eq!(fs["x/f1"].sha256, sha(f1.as_bytes()), "{f1:?} {f2:?}");
            assert_eq!(fs["x/f2"].sha256, sha(f2.as_bytes()), "{f1:?} {f2:?}");

            // the same image, read back as an `oci:` base
            let w2 = Work::new();
            w2.dockerfile(&format!(
                "FROM scratch\nCOPY --from=oci:{}:multi:1 /x/f1 /x/f2 /y/\n",
                out.display()
            ));
            let out2 = w2.build_oci("multi:2", &[]);
            let fs = merged_fs(&out2, "multi:2");
            assert_eq!(fs["y/f1"].sha256, sha(f1.as_bytes()));
            assert_eq!(fs["y/f2"].sha256, sha(f2.as_bytes()));
        }
    }
}

/// Entries of the image's top layer: path → (type, mode, size).
fn top_layer(out: &std::path::Path, name: &str) -> Vec<(String, char, u32, u64)> {
    let m = manifest_of(out, name);
    let layers = m["layers"].as_array().unwrap();
    let tar = layer_tar(out, layers.last().unwrap());
    let mut a = tar::Archive::new(&tar[..]);
    a.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            let kind = match h.entry_type() {
                tar::EntryType::Directory => 'd',
                tar::EntryType::Regular => 'f',
                tar::EntryType::Symlink => 'l',
                _ => '?',
            };
            (
                String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                kind,
                h.mode().unwrap(),
                h.size().unwrap(),
            )
        })
        .collect()
}

/// Several sources and a destination without a trailing `/`: BuildKit
/// copies each source in turn onto the destination (dockerfile2llb's
/// dispatchCopy adds one copy action per source; fsutil's
/// prepareTargetDir appends the base name only when the destination is a
/// directory by then). So two files make `/testdir` the last one, a
/// wildcard that matches nothing counts for nothing, and a directory
/// source makes the destination a directory for the sources after it.
/// Expected results as BuildKit v0.8 (docker 20.10) builds them.
#[test]
fn several_sources_onto_a_destination_without_a_slash() {
    let w = Work::new();
    w.file("a.txt", "aaa\n");
    w.file("b.txt", "bbbbb\n");
    w.file("f1", "f1data\n");
    w.file("dir/in", "x\n");
    w.dockerfile(concat!(
        "FROM scratch\n",
        "COPY *.txt /testdir\n",
        "COPY nomatch* f1 hello\n",
        "COPY dir a.txt /z\n",
    ));
    let out = w.build_oci("several:1", &[]);
    validate(&out);
    let fs = merged_fs(&out, "several:1");
    assert_eq!(fs["testdir"].kind, "file");
    assert_eq!(fs["testdir"].sha256, sha(b"bbbbb\n"));
    assert_eq!(fs["hello"].sha256, sha(b"f1data\n"));
    assert_eq!(fs["z"].kind, "dir");
    assert_eq!(fs["z/in"].sha256, sha(b"x\n"));
    assert_eq!(fs["z/a.txt"].sha256, sha(b"aaa\n"));
    // the history keeps the sources as written
    let c = config_of(&out, "several:1");
    let h = c["history"].as_array().unwrap();
    assert!(h
        .iter()
        .any(|h| h["created_by"] == "COPY *.txt /testdir # buildkit"));
}

/// A file then a directory onto one destination: BuildKit refuses
/// ("cannot copy to non-directory"), with the line named here.
#[test]
fn a_directory_onto_a_file_just_copied_is_refused() {
    let w = Work::new();
    w.file("a.txt", "aaa\n");
    w.file("dir/in", "x\n");
    w.dockerfile("FROM scratch\nCOPY a.txt dir /y\n");
    let o = w.run(&["build", "-t", "t:1", w.ctx().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("cannot copy a directory to non-directory: /y"),
        "{err}"
    );
    assert!(err.contains("Dockerfile:2:1"), "{err}");
}

/// The directory `COPY dir /x` creates is 0755 whatever the source
/// directory's mode (fsutil's prepareTargetDir makes it with MkdirAll
/// 0755 and copies only the contents); the contents keep their modes.
/// BuildKit v0.8 gives `drwxr-xr-x x/` for a 0700 `dir`.
#[test]
fn the_directory_a_copy_creates_is_0755() {
    use std::os::unix::fs::PermissionsExt;
    let w = Work::new();
    w.file("dir/in", "x\n");
    w.file("dir/sub/deep", "y\n");
    std::fs::set_permissions(
        w.ctx().join("dir/sub"),
        std::fs::Permissions::from_mode(0o750),
    )
    .unwrap();
    std::fs::set_permissions(w.ctx().join("dir"), std::fs::Permissions::from_mode(0o700)).unwrap();
    w.dockerfile("FROM scratch AS a\nCOPY dir /x\nFROM scratch\nCOPY --from=a /x /y\n");
    let out = w.build_oci("mode:1", &["--target", "a"]);
    let top = top_layer(&out, "mode:1");
    let mode = |p: &str| top.iter().find(|e| e.0 == p).map(|e| e.2);
    assert_eq!(mode("x/"), Some(0o755), "{top:?}");
    assert_eq!(mode("x/sub/"), Some(0o750), "{top:?}");
    // from another stage, likewise
    let w2 = Work::new();
    std::fs::create_dir_all(w2.ctx()).unwrap();
    for (rel, _) in [("dir/in", ()), ("dir/sub/deep", ())] {
        let p = w2.ctx().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::copy(w.ctx().join(rel), p).unwrap();
    }
    std::fs::set_permissions(w2.ctx().join("dir"), std::fs::Permissions::from_mode(0o700)).unwrap();
    w2.dockerfile("FROM scratch AS a\nCOPY dir /x\nFROM scratch\nCOPY --from=a /x /y\n");
    let out = w2.build_oci("mode:2", &[]);
    let top = top_layer(&out, "mode:2");
    assert_eq!(
        top.iter().find(|e| e.0 == "y/").map(|e| e.2),
        Some(0o755),
        "{top:?}"
    );
}
