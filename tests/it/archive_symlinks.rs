//! Where the entries of an ADDed archive land when symlinks are on their
//! way: the base's (`var/run -> /run`, `lib -> usr/lib`), the archive's own
//! (`d -> ..`), hostile ones (`a -> ../../..`, `b -> /etc`) that must stay
//! inside the destination; hard links resolved the same way; symlink
//! modes; oversized tar headers and cut-short compressed archives.
//! Library-level tests build layers directly; binary-level ones build
//! images, and compare with buildah (which agrees on both the base's and
//! the hostile links).

use crate::common::*;
use minibuild::layer::{
    write_layer, Compression, DirMeta, LayerError, LayerOptions, Lower, LowerFs, PathKind, Source,
};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// A tar entry the tests write.
#[derive(Clone, Copy)]
enum E<'a> {
    File(&'a [u8]),
    Dir,
    /// A directory with this mode.
    DirMode(u32),
    Sym(&'a str),
    Hard(&'a str),
}

/// A tar of `entries`, names written raw (nothing cleans them on the way).
fn tar_of(entries: &[(&str, E<'_>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, e) in entries {
        let mut h = tar::Header::new_ustar();
        let (kind, link, data): (tar::EntryType, &str, &[u8]) = match e {
            E::File(d) => (tar::EntryType::Regular, "", d),
            E::Dir | E::DirMode(_) => (tar::EntryType::Directory, "", b""),
            E::Sym(t) => (tar::EntryType::Symlink, t, b""),
            E::Hard(t) => (tar::EntryType::Link, t, b""),
        };
        h.set_entry_type(kind);
        h.set_mode(match e {
            E::Dir => 0o755,
            E::DirMode(m) => *m,
            _ => 0o644,
        });
        h.set_mtime(1_600_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h.set_size(data.len() as u64);
        h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

/// A filesystem below the layer: `None` = directory, `Some("FILE")` = a
/// file, `Some(target)` = a symlink.
#[derive(Debug, Default)]
struct Below(BTreeMap<String, Option<String>>);

impl LowerFs for Below {
    fn kind(&self, path: &str) -> Option<PathKind<'_>> {
        self.0.get(path).map(|k| match k.as_deref() {
            None => PathKind::Dir,
            Some("FILE") => PathKind::Other,
            Some(t) => PathKind::Symlink(t),
        })
    }

    /// Directories are 0755, but `tmp`, which is 1777.
    fn dir_meta(&self, path: &str) -> Option<DirMeta> {
        matches!(self.kind(path), Some(PathKind::Dir)).then_some(DirMeta {
            mode: if path == "tmp" { 0o1777 } else { 0o755 },
            uid: 0,
            gid: 0,
            mtime: 7,
        })
    }
}

fn below(entries: &[(&str, Option<&str>)]) -> Lower {
    let map = entries
        .iter()
        .map(|(p, k)| (p.to_string(), k.map(str::to_string)))
        .collect();
    Lower::new(Arc::new(Below(map)))
}

/// A merged-/usr base with debian's /var/run.
fn debian_like() -> Lower {
    below(&[
        ("usr", None),
        ("usr/lib", None),
        ("usr/bin", None),
        ("lib", Some("usr/lib")),
        ("bin", Some("usr/bin")),
        ("run", None),
        ("tmp", None),
        ("var", None),
        ("var/run", Some("/run")),
        ("etc", None),
        ("etc/passwd", Some("FILE")),
        ("opt", None),
        ("opt/app", None),
        ("opt/app/c", Some("/etc")),
    ])
}

/// (path, type, link, mode) of every entry of the layer.
type Listing = Vec<(String, char, String, u32)>;

/// The layer made by unpacking `archive` at `dest` onto `lower`.
fn unpack(archive: &[u8], dest: &str, lower: Lower) -> Result<Listing, LayerError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.tar");
    std::fs::write(&path, archive).unwrap();
    let sources = [Source::Archive {
        file: path.into(),
        dest_dir: dest.to_string(),
        chown: None,
        lower,
    }];
    let opts = LayerOptions {
        compression: Compression::None,
        ..LayerOptions::default()
    };
    let (_, tar) = write_layer(&sources, || Ok(Vec::new()), &opts)?;
    let mut ar = tar::Archive::new(&tar[..]);
    Ok(ar
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            (
                String::from_utf8(e.path_bytes().to_vec())
                    .unwrap()
                    .trim_end_matches('/')
                    .to_string(),
                h.entry_type().as_byte() as char,
                e.link_name_bytes()
                    .map(|l| String::from_utf8(l.to_vec()).unwrap())
                    .unwrap_or_default(),
                h.mode().unwrap(),
            )
        })
        .collect())
}

fn paths(l: &Listing) -> Vec<&str> {
    l.iter().map(|e| e.0.as_str()).collect()
}

fn unpack_err(archive: &[u8], dest: &str, lower: Lower) -> String {
    let msg = unpack(archive, dest, lower).unwrap_err().to_string();
    // "archive /tmp/.../a.tar: entry ...": drop the temporary path
    msg.split_once("a.tar: ")
        .map_or(msg.clone(), |(_, m)| m.to_string())
}

#[test]
fn parents_resolve_through_the_base_symlinks() {
    let archive = tar_of(&[
        ("var/run/x/file", E::File(b"run")),
        ("./lib/y/libz.so", E::File(b"lib")),
        ("bin/tool", E::File(b"bin")),
    ]);
    let l = unpack(&archive, "/", debian_like()).unwrap();
    // the synthesized parents are the real directories: the base's
    // symlinks stay symlinks
    assert_eq!(
        paths(&l),
        [
            "run",
            "run/x",
            "run/x/file",
            "usr",
            "usr/lib",
            "usr/lib/y",
            "usr/lib/y/libz.so",
            "usr/bin",
            "usr/bin/tool"
        ]
    );
    // with nothing below, the same archive is taken as it is
    let l = unpack(&archive, "/", Lower::default()).unwrap();
    assert!(paths(&l).contains(&"var/run/x/file"), "{l:?}");
}

#[test]
fn parents_from_below_keep_their_metadata() {
    let archive = tar_of(&[("tmp/cache/x", E::File(b"x"))]);
    let l = unpack(&archive, "/", debian_like()).unwrap();
    let tmp = l.iter().find(|e| e.0 == "tmp").unwrap();
    // a sticky world-writable /tmp stays so
    assert_eq!(tmp.3, 0o1777, "{l:?}");
    let cache = l.iter().find(|e| e.0 == "tmp/cache").unwrap();
    assert_eq!(cache.3, 0o755, "{l:?}");
}

#[test]
fn links_made_by_the_archive_are_followed_and_stay_inside_the_destination() {
    // a link made earlier in the same archive: never written beneath
    let archive = tar_of(&[("d", E::Sym("..")), ("d/etc/f", E::File(b"f"))]);
    let l = unpack(&archive, "/", Lower::default()).unwrap();
    assert_eq!(paths(&l), ["d", "etc", "etc/f"]);
    // hostile links under /opt/app/ resolve inside /opt/app, as BuildKit's
    // unpacking chrooted at the destination does
    let archive = tar_of(&[
        ("a", E::Sym("../../..")),
        ("a/etc/passwd", E::File(b"evil")),
        ("b", E::Sym("/etc")),
        ("b/shadow", E::File(b"evil")),
        ("c/group", E::File(b"via the base's link")),
    ]);
    let l = unpack(&archive, "/opt/app/", debian_like()).unwrap();
    assert_eq!(
        paths(&l),
        [
            "opt",
            "opt/app",
            "opt/app/a",
            "opt/app/etc",
            "opt/app/etc/passwd",
            "opt/app/b",
            "opt/app/etc/shadow",
            "opt/app/etc/group"
        ]
    );
}

#[test]
fn an_entry_replaces_a_symlink_at_its_own_path() {
    let archive = tar_of(&[("var/run", E::Sym("/elsewhere")), ("lib", E::File(b"x"))]);
    let l = unpack(&archive, "/", debian_like()).unwrap();
    assert_eq!(
        l.iter().map(|e| (e.0.as_str(), e.1)).collect::<Vec<_>>(),
        [("var", '5'), ("var/run", '2'), ("lib", '0')]
    );
}

#[test]
fn hard_links_resolve_like_entries() {
    let archive = tar_of(&[
        ("real/f", E::File(b"f")),
        ("s", E::Sym("real")),
        ("h", E::Hard("s/f")),
        // a link to the symlink itself links the symlink (containerd's
        // hardlinkRootPath), not its target
        ("h2", E::Hard("./s")),
        ("lib/a.so", E::File(b"a")),
        ("b.so", E::Hard("lib/a.so")),
    ]);
    let l = unpack(&archive, "/", debian_like()).unwrap();
    let link = |p: &str| {
        l.iter()
            .find(|e| e.0 == p)
            .map(|e| (e.1, e.2.as_str()))
            .unwrap()
    };
    assert_eq!(link("h"), ('1', "real/f"));
    assert_eq!(link("h2"), ('1', "s"));
    assert_eq!(link("b.so"), ('1', "usr/lib/a.so"));
}

#[test]
fn refused_placements_name_the_entry() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            tar_of(&[("d", E::Dir), ("h", E::Hard("d"))]),
            "entry h: hard link to d, which is a directory",
        ),
        (
            tar_of(&[("etc/passwd/x", E::File(b"x"))]),
            "entry etc/passwd/x: its parent /etc/passwd is not a directory",
        ),
        (
            tar_of(&[("l", E::Sym("l")), ("l/x", E::File(b"x"))]),
            "entry l/x: more than 255 symbolic links on the way to its parent",
        ),
        (
            tar_of(&[("w", E::Sym(".wh.etc")), ("w/x", E::File(b"x"))]),
            "entry w/x: the name .wh.etc is an overlay whiteout, which an ADD/COPY cannot create",
        ),
        (
            tar_of(&[("h", E::Hard("var/run/nothing"))]),
            "entry h: hard link to var/run/nothing, which is not in the archive",
        ),
    ];
    for (archive, want) in cases {
        assert_eq!(unpack_err(&archive, "/", debian_like()), want);
    }
}

#[test]
fn symlinks_are_written_0777_as_containerd_writes_them() {
    let archive = tar_of(&[("l", E::Sym("target")), ("f", E::File(b"x"))]);
    let l = unpack(&archive, "/", Lower::default()).unwrap();
    assert_eq!(l[0].3, 0o777, "{l:?}");
    assert_eq!(l[1].3, 0o644, "{l:?}");
}

/// The length of a PAX `path` record holding `n` bytes (it counts itself).
fn pax_path_record_len(n: usize) -> usize {
    let rest = " path=\n".len() + n;
    let mut total = rest + 1;
    while total != rest + total.to_string().len() {
        total = rest + total.to_string().len();
    }
    total
}

/// A tar whose first entry has a PAX `path` record of `n` bytes.
fn pax_path_tar(n: usize) -> Vec<u8> {
    let body = format!("{} path={}\n", pax_path_record_len(n), "p".repeat(n));
    let mut out = Vec::new();
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::XHeader);
    h.set_size(body.len() as u64);
    h.set_path("PaxHeaders/x").unwrap();
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(body.as_bytes());
    out.resize(out.len().next_multiple_of(512), 0);
    let mut h = tar::Header::new_ustar();
    h.set_path("short").unwrap();
    h.set_size(0);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(&[0u8; 1024]);
    out
}

#[test]
fn extended_headers_are_capped() {
    // 100 kB names are read (and kept, in a PAX record of the layer)
    let l = unpack(&pax_path_tar(100_000), "/", Lower::default());
    // (no long names in a failure message)
    assert_eq!(
        l.map(|l| l[0].0.len()).map_err(|e| e.to_string().len()),
        Ok(100_000)
    );
    let want = "the extended headers (PAX, GNU long name) of the entry after the start \
                take more than 1048576 bytes; refusing them";
    assert_eq!(
        unpack_err(&pax_path_tar(2 << 20), "/", Lower::default()),
        want
    );
    // a GNU long name of 2 MiB
    let mut gnu = Vec::new();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::GNULongName);
    h.set_size(2 << 20);
    h.set_path("././@LongLink").unwrap();
    h.set_cksum();
    gnu.extend_from_slice(h.as_bytes());
    gnu.extend(std::iter::repeat_n(b'n', 2 << 20));
    gnu.extend_from_slice(&[0u8; 1024]);
    assert_eq!(unpack_err(&gnu, "/", Lower::default()), want);
}

// ---- through the binary ----

/// A base stage made of `base.tar` (debian's links), then `ADD payload`.
fn two_stage(w: &Work, base: &[u8], payload: &[u8], dest: &str) {
    w.file("base.tar", base);
    w.file("payload.tar", payload);
    w.dockerfile(&format!(
        "FROM scratch AS base\nADD base.tar /\n\nFROM base\nADD payload.tar {dest}\n"
    ));
}

fn base_tar() -> Vec<u8> {
    tar_of(&[
        ("usr/", E::Dir),
        ("usr/lib/", E::Dir),
        ("usr/lib/libc.so", E::File(b"libc")),
        ("lib", E::Sym("usr/lib")),
        ("run/", E::Dir),
        ("tmp/", E::DirMode(0o1777)),
        ("var/", E::Dir),
        ("var/run", E::Sym("/run")),
        ("etc/", E::Dir),
        ("etc/passwd", E::File(b"root:x:0:0::/root:/bin/sh\n")),
        ("opt/", E::Dir),
        ("opt/app/", E::Dir),
    ])
}

/// The merged filesystems of two layouts differ nowhere.
fn same_fs(ours: &Path, theirs: &Path, name: &str) {
    let a = merged_fs(ours, name);
    let b = merged_fs(theirs, name);
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let diffs: Vec<String> = keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            format!(
                "{k}:\n  minibuild {:?}\n  buildah   {:?}",
                a.get(k),
                b.get(k)
            )
        })
        .collect();
    assert!(
        diffs.is_empty(),
        "filesystems differ:\n{}",
        diffs.join("\n")
    );
}

#[test]
fn add_onto_base_symlinks_lands_where_they_lead_and_matches_buildah() {
    let w = Work::new();
    let payload = tar_of(&[
        ("var/run/x/file", E::File(b"run")),
        ("lib/y/libz.so", E::File(b"lib")),
        ("tmp/cache/x", E::File(b"tmp")),
    ]);
    two_stage(&w, &base_tar(), &payload, "/");
    let ours = w.build_oci("case:1", &[]);
    validate(&ours);
    let fs = merged_fs(&ours, "case:1");
    assert_eq!(fs["lib"].kind, "symlink");
    assert_eq!(fs["var/run"].kind, "symlink");
    assert_eq!(fs["run/x/file"].kind, "file");
    assert_eq!(fs["usr/lib/y/libz.so"].kind, "file");
    assert_eq!(fs["usr/lib/libc.so"].kind, "file");
    assert!(!fs.contains_key("var/run/x/file"));
    assert_eq!(fs["tmp"].mode, 0o1777);
    if have("buildah") {
        let theirs = buildah_build(w.dir.path(), &w.ctx(), "case:1", &[]);
        same_fs(&ours, &theirs, "case:1");
    }
}

#[test]
fn hostile_links_in_an_archive_stay_in_the_destination() {
    let w = Work::new();
    let payload = tar_of(&[
        ("a", E::Sym("../../..")),
        ("a/etc/passwd", E::File(b"evil")),
        ("b", E::Sym("/etc")),
        ("b/shadow", E::File(b"evil")),
        ("d", E::Sym("..")),
        ("d/f", E::File(b"up one, still inside")),
    ]);
    two_stage(&w, &base_tar(), &payload, "/opt/app/");
    let ours = w.build_oci("case:1", &[]);
    validate(&ours);
    let fs = merged_fs(&ours, "case:1");
    assert_eq!(fs["etc/passwd"].size, 26, "the base's /etc/passwd is kept");
    assert!(!fs.contains_key("etc/shadow"));
    assert!(!fs.contains_key("opt/f"));
    for p in ["opt/app/etc/passwd", "opt/app/etc/shadow", "opt/app/f"] {
        assert_eq!(fs[p].kind, "file", "{p}");
    }
    // buildah 1.28's copier contains them in the destination the same way
    if have("buildah") {
        let theirs = buildah_build(w.dir.path(), &w.ctx(), "case:1", &[]);
        same_fs(&ours, &theirs, "case:1");
    }
}

#[test]
fn a_cut_short_compressed_archive_is_refused_not_copied() {
    let w = Work::new();
    // one small file: the whole archive is one compressed block
    let tar = tar_of(&[("hello", E::File(b"hello\n"))]);
    let mut forms: Vec<(&str, Vec<u8>)> = Vec::new();
    forms.push(("a.tar.zst", zstd::encode_all(&tar[..], 3).unwrap()));
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
    bz.write_all(&tar).unwrap();
    forms.push(("a.tar.bz2", bz.finish().unwrap()));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&tar).unwrap();
    forms.push(("a.tar.gz", gz.finish().unwrap()));
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(&tar).unwrap();
    forms.push(("a.tar.xz", xz.finish().unwrap()));
    for (name, bytes) in forms {
        w.file(name, &bytes[..bytes.len() / 2]);
        w.dockerfile(&format!("FROM scratch\nADD {name} /\n"));
        let o = w.run(&["-o", "oci:out:t", w.ctx().to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(name), "{name}: {err}");
        assert!(err.contains("does not decompress"), "{name}: {err}");
        assert!(err.contains("Dockerfile:2:1"), "{name}: {err}");
    }
}

/// Runs `cmd` and returns its status, its stderr and its peak memory (kB).
///
/// The peak is taken by a small python3 parent: a child's `ru_maxrss` keeps
/// the high-water mark of the process it was spawned from (Linux records the
/// old address space's peak at exec), so measured straight from this test
/// process it would include the test harness's own peak, which depends on
/// what other tests ran before.
fn run_measured(cmd: &mut std::process::Command) -> (std::process::ExitStatus, String, i64) {
    const SCRIPT: &str = "import resource, subprocess, sys\n\
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n\
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n\
sys.exit(p.returncode if p.returncode >= 0 else 128 - p.returncode)\n";
    let mut wrapped = std::process::Command::new("python3");
    wrapped.arg("-c").arg(SCRIPT).arg(cmd.get_program());
    wrapped.args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => wrapped.env(key, v),
            None => wrapped.env_remove(key),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        wrapped.current_dir(dir);
    }
    let out = wrapped.output().unwrap();
    let max_kb = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse::<i64>()
        .unwrap_or_else(|e| panic!("the measuring parent printed no peak ({e}): {out:?}"));
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        max_kb,
    )
}

#[test]
fn a_gigabyte_pax_record_is_refused_in_bounded_memory() {
    let w = Work::new();
    let n: usize = 1 << 30;
    // the same tar as pax_path_tar(1 GiB), streamed through zstd
    let path = w.ctx().join("huge.tar.zst");
    let mut z =
        zstd::stream::write::Encoder::new(std::fs::File::create(&path).unwrap(), 1).unwrap();
    let body_len = pax_path_record_len(n);
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::XHeader);
    h.set_size(body_len as u64);
    h.set_path("PaxHeaders/x").unwrap();
    h.set_cksum();
    z.write_all(h.as_bytes()).unwrap();
    z.write_all(format!("{body_len} path=").as_bytes()).unwrap();
    let chunk = vec![b'p'; 1 << 20];
    for _ in 0..(n >> 20) {
        z.write_all(&chunk).unwrap();
    }
    z.write_all(b"\n").unwrap();
    z.write_all(&vec![0u8; body_len.next_multiple_of(512) - body_len])
        .unwrap();
    z.write_all(&[0u8; 1024]).unwrap();
    z.finish().unwrap();
    w.dockerfile("FROM scratch\nADD huge.tar.zst /\n");
    let (status, err, max_kb) = run_measured(
        minibuild()
            .args(["-o", "oci:out:t", w.ctx().to_str().unwrap()])
            .env("MINIBUILD_STORE", w.path("store"))
            .current_dir(w.dir.path()),
    );
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("huge.tar.zst"), "{err}");
    assert!(err.contains("take more than 1048576 bytes"), "{err}");
    assert!(err.contains("Dockerfile:2:1"), "{err}");
    eprintln!("peak memory refusing a 1 GiB PAX record: {max_kb} kB");
    assert!(max_kb < 200_000, "{max_kb} kB");
}
