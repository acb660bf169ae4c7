//! Names that are not UTF-8 (issue #15, item 9): tar carries names as
//! bytes, and so does BuildKit; `n\xff` and `n\u{FFFD}` are two files, and
//! `COPY *.txt` matches `a\xff.txt`. Nothing is dropped or merged.

use crate::common::race::layer_entries;
use crate::common::{stderr, validate, Work};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn write(ctx: &Path, rel: &[u8], content: &str) {
    let p = ctx.join(OsStr::from_bytes(rel));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

#[test]
fn names_that_are_not_utf8_are_copied_as_bytes() {
    let w = Work::new();
    let ctx = w.ctx();
    write(&ctx, b"d/n\xff", "raw byte");
    write(&ctx, "d/n\u{FFFD}".as_bytes(), "replacement character");
    write(&ctx, b"a\xff.txt", "a");
    write(&ctx, b"b.txt", "b");
    std::os::unix::fs::symlink(OsStr::from_bytes(b"t\xfe"), ctx.join("d/link")).unwrap();
    // an archive entry named with the same byte lands as it is
    let mut archive = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    archive
        .append_data(&mut h, OsStr::from_bytes(b"in\xfa"), &b"arc"[..])
        .unwrap();
    std::fs::write(ctx.join("names.tar"), archive.into_inner().unwrap()).unwrap();
    w.dockerfile(
        "FROM scratch AS first\nCOPY d /d/\nCOPY *.txt /t/\nADD names.tar /arc/\n\
         FROM scratch\nCOPY --from=first /d /again/\n",
    );
    let out = w.build_oci("names", &["--target", "first"]);
    validate(&out);
    let e = layer_entries(&out, "names");
    assert_eq!(e[&b"d/n\xff"[..]], (b'0', b"raw byte".to_vec()));
    assert_eq!(
        e["d/n\u{FFFD}".as_bytes()],
        (b'0', b"replacement character".to_vec())
    );
    assert_eq!(e[&b"d/link"[..]], (b'2', b"t\xfe".to_vec()));
    assert_eq!(e[&b"t/a\xff.txt"[..]], (b'0', b"a".to_vec()));
    assert_eq!(e[&b"t/b.txt"[..]], (b'0', b"b".to_vec()));
    assert_eq!(e[&b"arc/in\xfa"[..]], (b'0', b"arc".to_vec()));

    // from one stage to the next, the bytes stay
    let w2_out = w.build_oci("again", &[]);
    let e = layer_entries(&w2_out, "again");
    assert_eq!(e[&b"again/n\xff"[..]], (b'0', b"raw byte".to_vec()));
    assert_eq!(
        e["again/n\u{FFFD}".as_bytes()],
        (b'0', b"replacement character".to_vec())
    );
}

/// The 128 code points that stand for raw bytes cannot be real names:
/// such a name is refused, named, rather than turned into another.
#[test]
fn a_name_holding_a_reserved_code_point_is_refused() {
    let w = Work::new();
    w.file("d/x\u{10FFAB}", "x");
    w.dockerfile("FROM scratch\nCOPY d /d/\n");
    let o = w.run(&["build", "-o", "oci:out:x", &w.ctx().to_string_lossy()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("U+10FF80..U+10FFFF") && err.contains("d"),
        "{err}"
    );
}

/// buildah (Go, whose strings are bytes) copies the same names from a
/// directory. Its wildcards differ: `COPY *.txt` with `a\xff.txt` fails
/// there ("globs [/a\u{FFFD}.txt] matched nothing"); BuildKit's fsutil
/// matches the bytes, and minibuild follows BuildKit.
#[test]
fn buildah_copies_the_same_names() {
    if !crate::common::have("buildah") {
        return;
    }
    let w = Work::new();
    let ctx = w.ctx();
    write(&ctx, b"d/n\xff", "raw byte");
    write(&ctx, "d/n\u{FFFD}".as_bytes(), "replacement character");
    w.dockerfile("FROM scratch\nCOPY d /d/\n");
    let ours = w.build_oci("names", &[]);
    let theirs = crate::common::buildah_build(w.dir.path(), &ctx, "names", &[]);
    let files = |layout: &Path| -> Vec<(Vec<u8>, Vec<u8>)> {
        layer_entries(layout, "names")
            .into_iter()
            .filter(|(_, (flag, _))| *flag == b'0')
            .map(|(p, (_, data))| (p, data))
            .collect()
    };
    assert_eq!(files(&ours), files(&theirs));
    assert_eq!(files(&ours).len(), 2);
}
