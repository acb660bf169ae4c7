//! ADD of local archives through the binary: the torture archive in each of
//! the five forms, at `/` and at `/opt/sub`, equals the archive entry by
//! entry and equals buildah's result; hostile archives fail with clear
//! errors and leave the store as it was.

use crate::common::torture::{compress, torture_tar};
use crate::common::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

const FORMATS: &[(&str, &str)] = &[
    ("tar", "rootfs.tar"),
    ("gzip", "rootfs.tar.gz"),
    ("bzip2", "rootfs.tar.bz2"),
    ("xz", "rootfs.tar.xz"),
    ("zstd", "rootfs.tar.zst"),
];

/// The archive's content as it should appear under `dest` ("/" or "/opt/sub").
fn expected_under(dest: &str) -> BTreeMap<String, Node> {
    let mut fs = BTreeMap::new();
    apply_tar(&mut fs, &torture_tar());
    let prefix = dest.trim_matches('/');
    if prefix.is_empty() {
        return fs;
    }
    fs.into_iter()
        .map(|(k, v)| (format!("{prefix}/{k}"), v))
        .collect()
}

fn diff(a: &BTreeMap<String, Node>, b: &BTreeMap<String, Node>, ignore: &[&str]) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| !ignore.contains(&k.as_str()))
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k}:\n  left  {:?}\n  right {:?}", a.get(k), b.get(k)))
        .collect()
}

#[test]
fn torture_archive_in_every_form_at_root_and_in_a_subdirectory() {
    let w = Work::new();
    let tar = torture_tar();
    for (format, name) in FORMATS {
        w.file(name, compress(&tar, format));
        for dest in ["/", "/opt/sub"] {
            w.dockerfile(&format!(
                "FROM scratch\nADD {name} {dest}\nCMD [\"/bin/sh\"]\n"
            ));
            let out = w.path(&format!("out-{format}-{}", dest.replace('/', "_")));
            let o = w.run(&[
                "-o",
                &format!("oci:{}:t", out.display()),
                w.ctx().to_str().unwrap(),
            ]);
            assert!(o.status.success(), "{format} at {dest}: {}", stderr(&o));
            validate(&out);
            let got = merged_fs(&out, "t");
            let mut want = expected_under(dest);
            if dest != "/" {
                // the destination's parents exist, as root-owned 0755 dirs
                for p in ["opt", "opt/sub"] {
                    let n = &got[p];
                    assert_eq!((n.kind.as_str(), n.mode, n.uid), ("dir", 0o755, 0), "{p}");
                    want.insert(p.to_string(), n.clone());
                }
                // the archive's own root entry becomes /opt/sub itself
                want.remove("opt/sub");
                want.insert("opt/sub".to_string(), got["opt/sub"].clone());
            }
            let d = diff(&got, &want, &[]);
            assert!(d.is_empty(), "{format} at {dest}:\n{}", d.join("\n"));
            // the hard link is a link to the retargeted path in the layer
            let m = manifest_of(&out, "t");
            let layer = layer_tar(&out, &m["layers"][0]);
            let mut ar = tar::Archive::new(&layer[..]);
            let link = ar
                .entries()
                .unwrap()
                .map(|e| e.unwrap())
                .find(|e| e.header().entry_type() == tar::EntryType::Link)
                .expect("a hard link in the layer");
            let target = String::from_utf8(link.link_name_bytes().unwrap().to_vec()).unwrap();
            let sub = dest.trim_matches('/');
            let expected = if sub.is_empty() {
                "bin/su".to_string()
            } else {
                format!("{sub}/bin/su")
            };
            assert_eq!(target, expected);
        }
    }
}

#[test]
fn torture_archive_matches_buildah() {
    if !have("buildah") {
        return;
    }
    let w = Work::new();
    let tar = torture_tar();
    for (format, name) in [("xz", "rootfs.tar.xz"), ("gzip", "rootfs.tar.gz")] {
        w.file(name, compress(&tar, format));
        for dest in ["/", "/opt/sub"] {
            w.dockerfile(&format!("FROM scratch\nADD {name} {dest}\n"));
            let tag = format!("t{}:{format}", dest.len());
            let ours = w.build_oci(&tag, &[]);
            let theirs = buildah_build(
                &w.path(&format!("b-{format}-{}", dest.len())),
                &w.ctx(),
                &tag,
                &[],
            );
            let a = merged_fs(&ours, &tag);
            let mut b = merged_fs(&theirs, &tag);
            // buildah's vfs diff keeps no user.* xattrs; compare those with the archive (above)
            for n in b.values_mut() {
                n.xattrs.retain(|(k, _)| !k.starts_with("user."));
            }
            let mut a2 = a.clone();
            for n in a2.values_mut() {
                n.xattrs.retain(|(k, _)| !k.starts_with("user."));
            }
            // buildah 1.28 extracts a symlink's mode (0777) onto its
            // target, bin/su (setuid 4755 in the archive, which minibuild
            // keeps, as the test above checks): compare everything else
            let su = format!("{}bin/su", if dest == "/" { "" } else { "opt/sub/" });
            for fs in [&mut a2, &mut b] {
                for k in [su.clone(), format!("{su}-hardlink")] {
                    if let Some(n) = fs.get_mut(&k) {
                        n.mode = 0;
                    }
                }
            }
            let d = diff(&a2, &b, &[]);
            assert!(
                d.is_empty(),
                "{format} at {dest}: minibuild (left) vs buildah (right)\n{}",
                d.join("\n")
            );
        }
    }
}

/// Writes a tar header whose name is `name` verbatim (the tar crate refuses
/// `..`, which is the point here).
fn raw_entry(out: &mut Vec<u8>, name: &str, kind: tar::EntryType, link: &str, data: &[u8]) {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(data.len() as u64);
    h.set_mtime(1_600_000_000);
    {
        let bytes = h.as_mut_bytes();
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        bytes[157..157 + link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

fn finish(mut t: Vec<u8>) -> Vec<u8> {
    t.extend_from_slice(&[0u8; 1024]);
    t
}

/// Everything under a layout, with sizes: to see that nothing changed.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.insert(rel, std::fs::read(e.path()).unwrap());
        }
    }
    out
}

#[test]
fn hostile_archives_fail_clearly_and_leave_the_store_unchanged() {
    let w = Work::new();
    let ctx = w.ctx();
    static_hello(&ctx);
    w.dockerfile("FROM scratch\nCOPY hello /\n");
    let o = w.run(&["-t", "safe:1", ctx.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let store = w.path("store");
    let before = snapshot(&store);

    let mut escape = Vec::new();
    raw_entry(
        &mut escape,
        "../../etc/evil",
        tar::EntryType::Regular,
        "",
        b"x",
    );
    let mut abs_link = Vec::new();
    raw_entry(
        &mut abs_link,
        "ok",
        tar::EntryType::Link,
        "/etc/shadow",
        b"",
    );
    let mut whiteout = Vec::new();
    raw_entry(
        &mut whiteout,
        "dir/.wh.file",
        tar::EntryType::Regular,
        "",
        b"",
    );
    let truncated = {
        let full = compress(&torture_tar(), "gzip");
        full[..full.len() / 2].to_vec()
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("escape.tar", finish(escape), "../../etc/evil"),
        ("hardlink.tar", finish(abs_link), "/etc/shadow"),
        ("whiteout.tar", finish(whiteout), ".wh.file"),
        ("truncated.tar.gz", truncated, "truncated.tar.gz"),
    ];
    for (name, bytes, mention) in cases {
        w.file(name, bytes);
        w.dockerfile(&format!("FROM scratch\nADD {name} /\n"));
        let o = w.run(&["-t", "safe:1", ctx.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert!(
            err.contains(mention),
            "{name}: error should name {mention}: {err}"
        );
        assert!(err.contains("Dockerfile:2:1"), "{name}: {err}");
        assert_eq!(snapshot(&store), before, "{name} changed the store");
        std::fs::remove_file(ctx.join(name)).unwrap();
    }
    validate(&store);
}

#[test]
fn a_decompression_bomb_is_refused() {
    if !have("zstd") {
        return;
    }
    let w = Work::new();
    // one 2 GiB file of zeros, zstd-compressed to a few hundred kB
    let path = w.ctx().join("bomb.tar.zst");
    let mut child = std::process::Command::new("zstd")
        .args(["-1", "-q", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::fs::File::create(&path).unwrap())
        .spawn()
        .unwrap();
    {
        let stdin = child.stdin.as_mut().unwrap();
        let size: u64 = 2 << 30;
        let mut h = tar::Header::new_gnu();
        h.set_path("zeros").unwrap();
        h.set_size(size);
        h.set_mode(0o644);
        h.set_cksum();
        stdin.write_all(h.as_bytes()).unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..(size >> 20) {
            stdin.write_all(&chunk).unwrap();
        }
        stdin.write_all(&[0u8; 1024]).unwrap();
    }
    assert!(child.wait().unwrap().success());
    assert!(std::fs::metadata(&path).unwrap().len() < 2 << 20);
    w.dockerfile("FROM scratch\nADD bomb.tar.zst /\n");
    let out = w.path("out");
    let o = w.run(&[
        "-o",
        &format!("oci:{}:b", out.display()),
        w.ctx().to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.to_lowercase().contains("bomb") || err.contains("ratio"),
        "{err}"
    );
}

#[test]
fn chown_overrides_the_archives_owners_and_copy_never_unpacks() {
    let w = Work::new();
    w.file("rootfs.tar.gz", compress(&torture_tar(), "gzip"));
    w.dockerfile("FROM scratch\nADD --chown=5:6 rootfs.tar.gz /x\nCOPY rootfs.tar.gz /copied/\n");
    let out = w.build_oci("own:1", &[]);
    let fs = merged_fs(&out, "own:1");
    let under_x: Vec<_> = fs.iter().filter(|(k, _)| k.starts_with("x/")).collect();
    assert!(under_x.len() > 20);
    for (k, n) in under_x {
        assert_eq!((n.uid, n.gid), (5, 6), "{k}");
    }
    // modes stay as the archive has them
    assert_eq!(fs["x/bin/su"].mode, 0o4755);
    assert_eq!(fs["x/tmp"].mode, 0o1777);
    // COPY keeps the archive a file
    assert_eq!(fs["copied/rootfs.tar.gz"].kind, "file");
}
