//! ADD of local archives: a torture archive, in every compression, written
//! into a layer at `/` and at `/opt/sub`, then compared entry by entry; and
//! hostile archives, each refused with its own error.

use crate::common::torture::{big_content, tar_only_torture_tar, T0};
use minibuild::layer::{
    detect_archive, write_layer, write_layer_with_limits, ArchiveFormat, ArchiveLimits,
    Compression, LayerError, LayerOptions, Lower, Source,
};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// A tar header of `kind` with owner, mode and mtime set.
fn header(kind: tar::EntryType, mode: u32, owner: (u64, u64), n: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(owner.0);
    h.set_gid(owner.1);
    h.set_mtime(T0 + n);
    h.set_size(0);
    h
}

/// What one entry is, for comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rec {
    path: String,
    kind: char,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    link: Option<String>,
    dev: (u32, u32),
    xattrs: Vec<(String, Vec<u8>)>,
    data: Vec<u8>,
}

fn records(tar: &[u8]) -> Vec<Rec> {
    let mut ar = tar::Archive::new(tar);
    let mut out = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let mut xattrs = Vec::new();
        if let Some(exts) = e.pax_extensions().unwrap() {
            for ext in exts {
                let ext = ext.unwrap();
                if let Some(k) = ext.key().unwrap().strip_prefix("SCHILY.xattr.") {
                    xattrs.push((k.to_string(), ext.value_bytes().to_vec()));
                }
            }
        }
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        let h = e.header();
        out.push(Rec {
            path: String::from_utf8(e.path_bytes().to_vec())
                .unwrap()
                .trim_end_matches('/')
                .to_string(),
            kind: h.entry_type().as_byte() as char,
            mode: h.mode().unwrap(),
            uid: h.uid().unwrap(),
            gid: h.gid().unwrap(),
            mtime: h.mtime().unwrap(),
            link: e
                .link_name_bytes()
                .map(|l| String::from_utf8(l.to_vec()).unwrap()),
            dev: (
                h.device_major().ok().flatten().unwrap_or(0),
                h.device_minor().ok().flatten().unwrap_or(0),
            ),
            xattrs,
            data,
        });
    }
    out
}

/// What the layer should hold for the torture archive unpacked at `dest`
/// ("" or "opt/sub"), by the rules: `./` stripped, the root skipped (or
/// given to `dest`), hard links retargeted, the repeated directory kept at
/// its first place with its last metadata, missing parents as 0755 root
/// directories with the time of the child that needs them.
fn expected(archive: &[u8], dest: &str) -> Vec<Rec> {
    let mut out: Vec<Rec> = Vec::new();
    let under = |p: &str| {
        let p = p.trim_start_matches("./");
        let p = if p == "." { "" } else { p };
        match (dest.is_empty(), p.is_empty()) {
            (true, _) => p.to_string(),
            (false, true) => dest.to_string(),
            (false, false) => format!("{dest}/{p}"),
        }
    };
    for mut r in records(archive) {
        r.path = under(&r.path);
        if r.path.is_empty() {
            continue;
        }
        if r.kind == '1' {
            r.link = r.link.map(|l| under(&l));
        }
        if let Some(first) = out.iter_mut().find(|o| o.path == r.path) {
            *first = r;
            continue;
        }
        let mut missing = Vec::new();
        let mut p = r.path.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            if out.iter().any(|o| o.path == parent) {
                break;
            }
            missing.push(parent.to_string());
            p = parent;
        }
        for path in missing.into_iter().rev() {
            out.push(Rec {
                path,
                kind: '5',
                mode: 0o755,
                uid: 0,
                gid: 0,
                mtime: r.mtime,
                link: None,
                dev: (0, 0),
                xattrs: vec![],
                data: vec![],
            });
        }
        out.push(r);
    }
    out
}

fn compress(tar: &[u8], format: ArchiveFormat) -> Vec<u8> {
    match format {
        ArchiveFormat::Tar => tar.to_vec(),
        ArchiveFormat::Gzip => {
            let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            w.write_all(tar).unwrap();
            w.finish().unwrap()
        }
        ArchiveFormat::Bzip2 => {
            let mut w = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            w.write_all(tar).unwrap();
            w.finish().unwrap()
        }
        ArchiveFormat::Xz => {
            let mut w = liblzma::write::XzEncoder::new(Vec::new(), 0);
            w.write_all(tar).unwrap();
            w.finish().unwrap()
        }
        ArchiveFormat::Zstd => zstd::encode_all(tar, 1).unwrap(),
        _ => unreachable!(),
    }
}

fn decompress_layer(blob: &[u8], c: Compression) -> Vec<u8> {
    let mut out = Vec::new();
    match c {
        Compression::None => out = blob.to_vec(),
        Compression::Gzip { .. } => {
            flate2::read::MultiGzDecoder::new(blob)
                .read_to_end(&mut out)
                .unwrap();
        }
        Compression::Zstd { .. } => out = zstd::decode_all(blob).unwrap(),
        _ => unreachable!(),
    }
    out
}

fn add(path: &Path, dest: &str) -> Vec<Source> {
    vec![Source::Archive {
        file: path.to_path_buf().into(),
        dest_dir: dest.to_string(),
        chown: None,
        lower: Lower::default(),
    }]
}

fn opts(c: Compression) -> LayerOptions {
    LayerOptions {
        compression: c,
        clamp_mtime: None,
        events: minibuild::events::Events::silent(),
    }
}

/// Writes a layer into a Vec; also checks the descriptor against the bytes.
fn layer(sources: &[Source], o: &LayerOptions) -> Result<(Vec<u8>, String), LayerError> {
    let (desc, blob) = write_layer(sources, || Ok(Vec::new()), o)?;
    assert_eq!(desc.digest, minibuild::digest::sha256(&blob));
    assert_eq!(desc.size, blob.len() as u64);
    assert_eq!(desc.media_type, o.compression.media_type());
    let tar = decompress_layer(&blob, o.compression);
    assert_eq!(desc.diff_id, minibuild::digest::sha256(&tar));
    assert_eq!(desc.entries as usize, records(&tar).len());
    Ok((tar, desc.digest.to_string()))
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn torture_archive_in_every_form_at_root_and_under_a_dir() {
    let dir = tempfile::tempdir().unwrap();
    let tar = tar_only_torture_tar();
    let formats = [
        (ArchiveFormat::Tar, Compression::None),
        (ArchiveFormat::Gzip, Compression::Gzip { level: 1 }),
        (ArchiveFormat::Bzip2, Compression::Zstd { level: 1 }),
        (ArchiveFormat::Xz, Compression::Gzip { level: 6 }),
        (ArchiveFormat::Zstd, Compression::Zstd { level: 3 }),
    ];
    for (format, c) in formats {
        let path = write_file(dir.path(), &format!("{format:?}"), &compress(&tar, format));
        assert_eq!(detect_archive(&path).unwrap(), Some(format));
        for dest in ["/", "/opt/sub"] {
            let (out, _) = layer(&add(&path, dest), &opts(c)).unwrap();
            let got = records(&out);
            let want = expected(&tar, dest.trim_start_matches('/'));
            assert_eq!(got.len(), want.len(), "{format:?} at {dest}");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g, w, "{format:?} at {dest}");
            }
            // names are numeric only, and no path repeats
            let mut ar = tar::Archive::new(&out[..]);
            let mut paths = std::collections::HashSet::new();
            for e in ar.entries().unwrap() {
                let e = e.unwrap();
                assert_eq!(e.header().username_bytes(), Some(&b""[..]));
                assert_eq!(e.header().groupname_bytes(), Some(&b""[..]));
                assert!(paths.insert(e.path_bytes().to_vec()));
            }
        }
    }
}

#[test]
fn torture_listing_spot_checks() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "t.tar", &tar_only_torture_tar());
    let (out, _) = layer(&add(&path, "/opt/sub"), &opts(Compression::None)).unwrap();
    let by_path: BTreeMap<String, Rec> = records(&out)
        .into_iter()
        .map(|r| (r.path.clone(), r))
        .collect();
    assert_eq!(by_path["opt/sub/bin/su"].mode, 0o4755);
    assert_eq!(by_path["opt/sub/usr/bin/sg"].mode, 0o2755);
    assert_eq!(by_path["opt/sub/tmp"].mode, 0o1777);
    assert_eq!(by_path["opt/sub/etc"].mode, 0o750);
    assert_eq!(by_path["opt/sub/etc"].gid, 4);
    assert_eq!(
        (
            by_path["opt/sub/home/user"].uid,
            by_path["opt/sub/home/user"].gid
        ),
        (1000, 1000)
    );
    let hard = &by_path["opt/sub/etc/passwd.hard"];
    assert_eq!(hard.kind, '1');
    assert_eq!(hard.link.as_deref(), Some("opt/sub/etc/passwd"));
    assert_eq!(
        by_path["opt/sub/etc/abs"].link.as_deref(),
        Some("/etc/passwd")
    );
    assert_eq!(
        by_path["opt/sub/etc/dangling"].link.as_deref(),
        Some("no/such/file")
    );
    assert_eq!(by_path["opt/sub/dev/null"].dev, (1, 3));
    assert_eq!(by_path["opt/sub/dev/sda"].kind, '4');
    assert_eq!(by_path["opt/sub/dev/fifo"].kind, '6');
    assert_eq!(by_path["opt/sub/bin/ping"].xattrs.len(), 2);
    assert_eq!(by_path["opt/sub/usr/big.bin"].data, big_content());
    assert!(by_path.contains_key("opt/sub/home/user/café ünïcødé.txt"));
    assert!(by_path
        .keys()
        .any(|k| k.len() > 255 && k.ends_with(&"m".repeat(270))));
}

#[test]
fn chown_overrides_owners() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "t.tar", &tar_only_torture_tar());
    let sources = [Source::Archive {
        file: path.into(),
        dest_dir: "/".into(),
        chown: Some((7, 8)),
        lower: Lower::default(),
    }];
    let (out, _) = layer(&sources, &opts(Compression::None)).unwrap();
    let recs = records(&out);
    for r in &recs {
        // the one directory the archive lacks is made, root-owned
        let synthesized = r.path == format!("home/user/{}", "l".repeat(120));
        let want = if synthesized { (0, 0) } else { (7, 8) };
        assert_eq!((r.uid, r.gid), want, "{}", r.path);
    }
    assert_eq!(recs.len(), records(&tar_only_torture_tar()).len() - 1);
}

#[test]
fn same_input_same_digest_and_clamp() {
    let dir = tempfile::tempdir().unwrap();
    let tar = tar_only_torture_tar();
    let path = write_file(dir.path(), "t.tar.gz", &compress(&tar, ArchiveFormat::Gzip));
    for c in [
        Compression::Gzip { level: 6 },
        Compression::Zstd { level: 3 },
    ] {
        let (_, a) = layer(&add(&path, "/"), &opts(c)).unwrap();
        let (_, b) = layer(&add(&path, "/"), &opts(c)).unwrap();
        assert_eq!(a, b, "{c:?}");
    }
    let clamp = T0 as i64 + 20;
    let o = LayerOptions {
        clamp_mtime: Some(clamp),
        ..opts(Compression::None)
    };
    let (out, _) = layer(&add(&path, "/"), &o).unwrap();
    let recs = records(&out);
    assert!(recs.iter().all(|r| r.mtime <= clamp as u64));
    // older entries keep their own time
    assert!(recs.iter().any(|r| r.mtime == T0 + 3));
    assert!(recs.iter().any(|r| r.mtime == clamp as u64));
}

/// A tar of (path, type, link target) entries with small contents.
fn small_tar(entries: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, kind, target) in entries {
        let mut h = header(*kind, 0o644, (0, 0), 1);
        // write names raw so nothing cleans them on the way in
        let name = path.as_bytes();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        if !target.is_empty() {
            h.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
        }
        let data: &[u8] = if *kind == tar::EntryType::Regular {
            b"data"
        } else {
            b""
        };
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn hostile_archives_are_refused() {
    use tar::EntryType as T;
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "escape.tar",
            small_tar(&[("a/../../etc/x", T::Regular, "")]),
            "entry a/../../etc/x: a `..` component would climb out of the destination".into(),
        ),
        (
            "escape2.tar",
            small_tar(&[("../x", T::Regular, "")]),
            "entry ../x: a `..` component would climb out of the destination".into(),
        ),
        (
            "abslink.tar",
            small_tar(&[("a", T::Regular, ""), ("l", T::Link, "/etc/shadow")]),
            "entry l: hard link to /etc/shadow, which is not in the archive".into(),
        ),
        (
            "outlink.tar",
            small_tar(&[("l", T::Link, "../../etc/shadow")]),
            "entry l: a `..` component would climb out of the destination".into(),
        ),
        (
            "whiteout.tar",
            small_tar(&[("d/.wh.x", T::Regular, "")]),
            "entry d/.wh.x: the name .wh.x is an overlay whiteout, which an ADD/COPY cannot create"
                .into(),
        ),
    ];
    for (name, bytes, msg) in cases {
        let path = write_file(dir.path(), name, &bytes);
        let err = layer(&add(&path, "/"), &opts(Compression::None)).unwrap_err();
        let want = format!("archive {}: {msg}", path.display());
        assert_eq!(err.to_string(), want);
    }
}

#[test]
fn an_absolute_hard_link_inside_the_archive_is_retargeted() {
    use tar::EntryType as T;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(
        dir.path(),
        "ok.tar",
        &small_tar(&[("etc/a", T::Regular, ""), ("b", T::Link, "/etc/a")]),
    );
    let (out, _) = layer(&add(&path, "/srv"), &opts(Compression::None)).unwrap();
    let recs = records(&out);
    let b = recs.iter().find(|r| r.path == "srv/b").unwrap();
    assert_eq!(b.link.as_deref(), Some("srv/etc/a"));
}

#[test]
fn truncated_and_corrupt_archives_fail() {
    let dir = tempfile::tempdir().unwrap();
    let tar = tar_only_torture_tar();
    for format in [
        ArchiveFormat::Tar,
        ArchiveFormat::Gzip,
        ArchiveFormat::Bzip2,
        ArchiveFormat::Xz,
        ArchiveFormat::Zstd,
    ] {
        let mut bytes = compress(&tar, format);
        bytes.truncate(bytes.len() * 2 / 3);
        let path = write_file(dir.path(), &format!("cut-{format:?}"), &bytes);
        let err = layer(&add(&path, "/"), &opts(Compression::Gzip { level: 1 })).unwrap_err();
        assert!(
            matches!(err, LayerError::Archive { .. }),
            "{format:?}: {err}"
        );
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("archive {}: ", path.display())),
            "{msg}"
        );
    }
    // a bad header checksum in the middle of a plain tar
    let mut bytes = tar.clone();
    bytes[512 * 3 + 10] ^= 0x55;
    let path = write_file(dir.path(), "corrupt.tar", &bytes);
    let err = layer(&add(&path, "/"), &opts(Compression::None)).unwrap_err();
    assert!(matches!(err, LayerError::Archive { .. }), "{err}");
    // not an archive at all
    let path = write_file(dir.path(), "notes.txt", b"just text");
    let err = layer(&add(&path, "/"), &opts(Compression::None)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "archive {}: not a tar archive (nor gzip, bzip2, xz or zstd)",
            path.display()
        )
    );
}

#[test]
fn a_bomb_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = header(tar::EntryType::Regular, 0o644, (0, 0), 1);
    let zeros = vec![0u8; 8 << 20];
    h.set_size(zeros.len() as u64);
    b.append_data(&mut h, "zeros", &zeros[..]).unwrap();
    let bomb = zstd::encode_all(&b.into_inner().unwrap()[..], 3).unwrap();
    let path = write_file(dir.path(), "bomb.tar.zst", &bomb);
    let limits = ArchiveLimits {
        max_ratio: 100,
        min_bytes: 1 << 20,
    };
    let err = write_layer_with_limits(
        &add(&path, "/"),
        || Ok(Vec::new()),
        &opts(Compression::Gzip { level: 1 }),
        &limits,
    )
    .unwrap_err();
    assert!(matches!(err, LayerError::Bomb { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("refusing it as a decompression bomb"), "{msg}");
    // the same archive within limits is fine
    let limits = ArchiveLimits {
        max_ratio: 100,
        min_bytes: 16 << 20,
    };
    let (desc, _) = write_layer_with_limits(
        &add(&path, "/"),
        || Ok(Vec::new()),
        &opts(Compression::Gzip { level: 1 }),
        &limits,
    )
    .unwrap();
    assert_eq!(desc.entries, 1);
}

#[test]
fn duplicates_use_a_fresh_sink() {
    use tar::EntryType as T;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(
        dir.path(),
        "dup.tar",
        &small_tar(&[
            ("a", T::Regular, ""),
            ("b", T::Regular, ""),
            ("a", T::Symlink, "b"),
        ]),
    );
    let mut calls = 0;
    let (desc, out) = write_layer(
        &add(&path, "/"),
        || {
            calls += 1;
            Ok(Vec::new())
        },
        &opts(Compression::None),
    )
    .unwrap();
    assert_eq!(calls, 2);
    let recs = records(&out);
    let names: Vec<_> = recs.iter().map(|r| (r.path.as_str(), r.kind)).collect();
    assert_eq!(names, [("b", '0'), ("a", '2')]);
    assert_eq!(desc.entries, 2);

    // without duplicates: one sink
    let path = write_file(dir.path(), "t.tar", &tar_only_torture_tar());
    let mut calls = 0;
    write_layer(
        &add(&path, "/"),
        || {
            calls += 1;
            Ok(Vec::new())
        },
        &opts(Compression::None),
    )
    .unwrap();
    // the torture archive repeats etc/
    assert_eq!(calls, 2);
    let path = write_file(
        dir.path(),
        "nodup.tar",
        &small_tar(&[("a", T::Regular, ""), ("b", T::Regular, "")]),
    );
    let mut calls = 0;
    write_layer(
        &add(&path, "/"),
        || {
            calls += 1;
            Ok(Vec::new())
        },
        &opts(Compression::None),
    )
    .unwrap();
    assert_eq!(calls, 1);
}

/// Other tar readers agree with ours: GNU tar lists the layer without a
/// warning, and Python's tarfile sees the same names and xattrs.
#[test]
fn other_readers_agree() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "t.tar", &tar_only_torture_tar());
    let (out, _) = layer(&add(&path, "/opt/sub"), &opts(Compression::None)).unwrap();
    let layer_path = write_file(dir.path(), "layer.tar", &out);
    let ours: Vec<String> = records(&out)
        .into_iter()
        .map(|r| match r.kind {
            '5' => format!("{}/", r.path),
            _ => r.path,
        })
        .collect();
    let Ok(gnu) = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&layer_path)
        .output()
    else {
        eprintln!("no tar: skipped");
        return;
    };
    assert!(
        gnu.status.success(),
        "{}",
        String::from_utf8_lossy(&gnu.stderr)
    );
    assert!(
        gnu.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&gnu.stderr)
    );
    let listed: Vec<String> = String::from_utf8(gnu.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(listed, ours);
    let script = "import sys, tarfile\n\
        t = tarfile.open(sys.argv[1], encoding='utf-8')\n\
        for m in t.getmembers():\n\
        \x20   x = sorted(k for k in m.pax_headers if k.startswith('SCHILY.xattr.'))\n\
        \x20   print(m.name + ('/' if m.isdir() else ''), m.uname == '' and m.gname == '', ','.join(x))\n";
    let Ok(py) = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&layer_path)
        .output()
    else {
        eprintln!("no python3: skipped");
        return;
    };
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let text = String::from_utf8(py.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), ours.len());
    for (line, name) in lines.iter().zip(&ours) {
        assert!(
            line.starts_with(&format!("{name} True")),
            "{line} vs {name}"
        );
    }
    assert!(text
        .contains("opt/sub/bin/ping True SCHILY.xattr.security.capability,SCHILY.xattr.user.foo"));
}

/// `git archive` starts with a PAX global header; old tars mark directories
/// with a trailing slash only. Neither is a file.
#[test]
fn global_headers_and_old_style_directories() {
    let mut b = tar::Builder::new(Vec::new());
    let comment = b"52 comment=0123456789012345678901234567890123456789\n";
    let mut h = header(tar::EntryType::XGlobalHeader, 0o666, (0, 0), 1);
    h.set_size(comment.len() as u64);
    b.append_data(&mut h, "pax_global_header", &comment[..])
        .unwrap();
    let mut h = header(tar::EntryType::Regular, 0o711, (0, 0), 1);
    // raw, as the tar crate's set_path would drop the slash
    h.as_old_mut().name[..4].copy_from_slice(b"old/");
    h.set_cksum();
    b.append(&h, std::io::empty()).unwrap();
    let mut h = header(tar::EntryType::Regular, 0o644, (0, 0), 1);
    h.set_size(1);
    b.append_data(&mut h, "old/f", &b"x"[..]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "git.tar", &b.into_inner().unwrap());
    assert_eq!(detect_archive(&path).unwrap(), Some(ArchiveFormat::Tar));
    let (out, _) = layer(&add(&path, "/"), &opts(Compression::None)).unwrap();
    let got: Vec<_> = records(&out)
        .into_iter()
        .map(|r| (r.path, r.kind, r.mode))
        .collect();
    assert_eq!(
        got,
        [
            ("old".to_string(), '5', 0o711),
            ("old/f".to_string(), '0', 0o644)
        ]
    );
}

/// One layer from an ADD of an archive and entries around it: given entries
/// and archive entries share the parents, and a later entry replaces an
/// archive file.
#[test]
fn entries_and_archives_in_one_layer() {
    use minibuild::layer::{Data, Entry, EntryKind};
    use tar::EntryType as T;
    let dir = tempfile::tempdir().unwrap();
    let archive = write_file(
        dir.path(),
        "a.tar",
        &small_tar(&[("x", T::Regular, ""), ("y", T::Regular, "")]),
    );
    let ctx_file = write_file(dir.path(), "ctx", b"from the context");
    let entry = |path: &str, kind| Entry {
        path: path.into(),
        kind,
        mode: 0o640,
        uid: 1,
        gid: 2,
        mtime: 5,
        xattrs: vec![],
    };
    let sources = vec![
        Source::Entry(
            entry("/srv/readme", EntryKind::File { size: 16 }),
            Data::Path(ctx_file),
        ),
        Source::Archive {
            file: archive.into(),
            dest_dir: "/srv/data".into(),
            chown: None,
            lower: Lower::default(),
        },
        Source::Entry(
            entry("/srv/data/x", EntryKind::File { size: 3 }),
            Data::Bytes(b"new".to_vec()),
        ),
        Source::Entry(
            entry(
                "/srv/link",
                EntryKind::Hardlink {
                    target: "/srv/readme".into(),
                },
            ),
            Data::None,
        ),
    ];
    let (out, _) = layer(&sources, &opts(Compression::Zstd { level: 1 })).unwrap();
    let got: Vec<_> = records(&out)
        .into_iter()
        .map(|r| (r.path, r.kind, r.link, r.data))
        .collect();
    let s = |x: &str| x.to_string();
    assert_eq!(
        got,
        [
            (s("srv"), '5', None, vec![]),
            (s("srv/readme"), '0', None, b"from the context".to_vec()),
            (s("srv/data"), '5', None, vec![]),
            (s("srv/data/y"), '0', None, b"data".to_vec()),
            (s("srv/data/x"), '0', None, b"new".to_vec()),
            (s("srv/link"), '1', Some(s("srv/readme")), vec![]),
        ]
    );
}

/// Progress reported: the same layer as without it.
#[test]
fn progress_does_not_change_the_layer() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(
        dir.path(),
        "t.tar.xz",
        &compress(&tar_only_torture_tar(), ArchiveFormat::Xz),
    );
    let quiet = opts(Compression::Gzip { level: 1 });
    let loud = LayerOptions {
        events: minibuild::events::Events::new(minibuild::events::render::Plain::new(
            Box::new(std::io::sink()),
            false,
        )),
        ..quiet.clone()
    };
    let (_, a) = layer(&add(&path, "/"), &quiet).unwrap();
    let (_, b) = layer(&add(&path, "/"), &loud).unwrap();
    assert_eq!(a, b);
}
