//! A seeded fuzz test of the archive reader (issue #15, "a fuzz target for
//! the archive reader"): valid tar, tar.gz, tar.zst, tar.xz and tar.bz2
//! archives generated here are mutated (bit flips, truncations, header
//! fields rewritten with their checksum fixed, so the tar reader believes
//! them) and fed to ADD's archive-to-layer code, to archive detection and
//! to the layer reader (`layer::uncompressed`). Never a panic, never an
//! entry outside the destination, always a layer or an error that says
//! something. Bounded by a count and a time budget; the same inputs on
//! every run.

use crate::common::Rng;
use minibuild::layer::{
    detect_archive, uncompressed, write_layer_with_limits, ArchiveLimits, Compression,
    LayerOptions, Lower, LowerFs, PathKind, Source,
};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const DEST: &str = "opt/app";

/// An image below the layer whose links point out of the destination.
#[derive(Debug)]
struct Base;

impl LowerFs for Base {
    fn kind(&self, path: &str) -> Option<PathKind<'_>> {
        match path {
            "" | "opt" | "opt/app" | "usr" | "usr/lib" | "etc" => Some(PathKind::Dir),
            "opt/app/lib" => Some(PathKind::Symlink("/usr/lib")),
            "opt/app/up" => Some(PathKind::Symlink("../../..")),
            "opt/app/dir" => Some(PathKind::Symlink("/etc")),
            "opt/app/a.txt" | "etc/passwd" => Some(PathKind::Other),
            _ => None,
        }
    }
}

/// A tar header of `kind` at `path` with `size` bytes of content.
fn header(kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_uid(1);
    h.set_gid(2);
    h.set_mtime(1_700_000_000);
    h.set_size(size);
    h
}

/// The corpus: archives with every kind of entry, escaping links and
/// names (which the reader must contain), long names and PAX records.
fn corpus_tars() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let long = format!("deep/{}/file", "n".repeat(150));
    type Entry<'a> = (tar::EntryType, &'a str, &'a str, &'a [u8]);
    let sets: Vec<Vec<Entry>> = vec![
        vec![
            (tar::EntryType::Directory, "dir/", "", b""),
            (tar::EntryType::Regular, "dir/a.txt", "", b"hello\n"),
            (tar::EntryType::Regular, "./b", "", &[7u8; 700]),
            (tar::EntryType::Link, "dir/hard", "dir/a.txt", b""),
            (tar::EntryType::Symlink, "dir/rel", "a.txt", b""),
        ],
        vec![
            (tar::EntryType::Symlink, "up", "../../..", b""),
            (
                tar::EntryType::Regular,
                "up/etc/passwd",
                "",
                b"root::0:0::/:/bin/sh\n",
            ),
            (tar::EntryType::Symlink, "abs", "/etc", b""),
            (tar::EntryType::Regular, "abs/shadow", "", b"x"),
            (tar::EntryType::Link, "hl", "up/etc/passwd", b""),
        ],
        vec![
            (tar::EntryType::Regular, &long, "", b"long name"),
            (tar::EntryType::Symlink, "ln", &long, b""),
            (tar::EntryType::Fifo, "fifo", "", b""),
            (tar::EntryType::Char, "null", "", b""),
            (tar::EntryType::Directory, "empty/", "", b""),
        ],
    ];
    for set in &sets {
        let mut b = tar::Builder::new(Vec::new());
        for (kind, path, link, data) in set {
            let mut h = header(*kind, data.len() as u64);
            if !link.is_empty() {
                b.append_link(&mut h, path, link).unwrap();
            } else if path.len() > 100 {
                b.append_data(&mut h, path, *data).unwrap();
            } else {
                // set_path refuses `..`: write the name field directly
                let name = &mut h.as_old_mut().name;
                name.fill(0);
                name[..path.len()].copy_from_slice(path.as_bytes());
                h.set_cksum();
                b.append(&h, *data).unwrap();
            }
        }
        // PAX records: an xattr, an owner, and a path override
        let mut h = header(tar::EntryType::Regular, 3);
        b.append_pax_extensions([
            ("SCHILY.xattr.user.k", &b"v"[..]),
            ("uid", b"77"),
            ("path", b"pax/named"),
        ])
        .unwrap();
        h.set_path("ignored").unwrap();
        h.set_cksum();
        b.append(&h, &b"pax"[..]).unwrap();
        out.push(b.into_inner().unwrap());
    }
    out
}

/// Rewrites one header field of a random header block, with a plausible
/// or a wild value, and fixes the checksum so that the reader takes it.
fn edit_header(rng: &mut Rng, tar: &mut [u8]) {
    let blocks: Vec<usize> = (0..tar.len() / 512)
        .filter(|&i| tar[i * 512 + 257..i * 512 + 262] == *b"ustar")
        .collect();
    if blocks.is_empty() {
        return;
    }
    let at = blocks[rng.below(blocks.len())] * 512;
    // (offset, length) of name, mode, uid, size, mtime, type, link, devmajor
    const FIELDS: [(usize, usize); 8] = [
        (0, 100),
        (100, 8),
        (108, 8),
        (124, 12),
        (136, 12),
        (156, 1),
        (157, 100),
        (329, 8),
    ];
    let (off, len) = FIELDS[rng.below(FIELDS.len())];
    let field = &mut tar[at + off..at + off + len];
    const NAMES: [&[u8]; 8] = [
        b"../../../etc/passwd",
        b"/etc/shadow",
        b"up/x",
        b"a/../../b",
        b".wh..wh..opq",
        b"dir/.wh.a.txt",
        b"",
        b"\xff\xfe",
    ];
    match rng.below(5) {
        0 if len >= 20 => {
            let v = NAMES[rng.below(NAMES.len())];
            field.fill(0);
            field[..v.len()].copy_from_slice(v);
        }
        1 => {
            // an octal number, maybe huge, maybe base-256
            let v = format!("{:o}", rng.next() >> rng.below(64));
            field.fill(0);
            let n = v.len().min(len.saturating_sub(1).max(1));
            field[..n].copy_from_slice(&v.as_bytes()[..n]);
            if rng.below(4) == 0 {
                field[0] = 0x80;
            }
        }
        2 => field[rng.below(len)] = b"0123456789LKxgSDA7"[rng.below(18)],
        _ => {
            for b in field.iter_mut() {
                *b = rng.next() as u8;
            }
        }
    }
    let block = &mut tar[at..at + 512];
    block[148..156].fill(b' ');
    let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
    block[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
}

fn flip_bits(rng: &mut Rng, data: &mut [u8]) {
    if data.is_empty() {
        return;
    }
    for _ in 0..1 + rng.below(8) {
        let i = rng.below(data.len());
        data[i] ^= 1 << rng.below(8);
    }
}

#[derive(Clone, Copy, Debug)]
enum Format {
    Tar,
    Gzip,
    Zstd,
    Xz,
    Bzip2,
}

fn compress(format: Format, tar: &[u8]) -> Vec<u8> {
    match format {
        Format::Tar => tar.to_vec(),
        Format::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(tar).unwrap();
            e.finish().unwrap()
        }
        Format::Zstd => zstd::encode_all(tar, 1).unwrap(),
        Format::Xz => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(tar).unwrap();
            e.finish().unwrap()
        }
        Format::Bzip2 => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(tar).unwrap();
            e.finish().unwrap()
        }
    }
}

/// One mutated archive: the tar edited (headers, bits), compressed, and
/// the compressed bytes perhaps flipped or cut short.
fn mutant(rng: &mut Rng, corpus: &[Vec<u8>]) -> (Format, Vec<u8>) {
    let mut tar = corpus[rng.below(corpus.len())].clone();
    for _ in 0..rng.below(3) {
        edit_header(rng, &mut tar);
    }
    if rng.below(3) == 0 {
        flip_bits(rng, &mut tar);
    }
    let format = [
        Format::Tar,
        Format::Gzip,
        Format::Zstd,
        Format::Xz,
        Format::Bzip2,
    ][rng.below(5)];
    let mut data = compress(format, &tar);
    match rng.below(4) {
        0 => flip_bits(rng, &mut data),
        1 => data.truncate(rng.below(data.len())),
        _ => {}
    }
    (format, data)
}

/// Every path of the layer `tar` is the destination, one of its parents,
/// or below it; so is every hard link's target.
fn assert_contained(tar: &[u8], case: usize) {
    let inside = |p: &str| {
        let p = p.trim_end_matches('/');
        p == "opt"
            || p == DEST
            || (p.starts_with("opt/app/") && !p.split('/').any(|c| c == ".." || c == "."))
    };
    let mut archive = tar::Archive::new(tar);
    for e in archive.entries().unwrap() {
        let e = e.unwrap();
        let path = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        assert!(inside(&path), "case {case}: entry {path} outside /{DEST}");
        assert!(
            !path.contains(".wh."),
            "case {case}: whiteout {path} in a layer"
        );
        if e.header().entry_type() == tar::EntryType::Link {
            let target = String::from_utf8_lossy(&e.link_name_bytes().unwrap()).into_owned();
            assert!(inside(&target), "case {case}: hard link {path} -> {target}");
        }
    }
}

/// Feeds one archive through detection, ADD's archive-to-layer code and
/// the layer reader.
fn feed(case: usize, format: Format, data: &[u8], dir: &std::path::Path) -> Result<(), String> {
    let path = dir.join(format!("case-{case}"));
    std::fs::write(&path, data).unwrap();
    let _ = detect_archive(&path);
    let sources = [Source::Archive {
        file: path.clone().into(),
        dest_dir: format!("/{DEST}/"),
        chown: None,
        // every other case over a base with links out of the destination
        lower: if case.is_multiple_of(2) {
            Lower::new(std::sync::Arc::new(Base))
        } else {
            Lower::default()
        },
    }];
    let opts = LayerOptions {
        compression: Compression::None,
        clamp_mtime: None,
        events: minibuild::events::Events::silent(),
    };
    // small limits: a mutated length must not make a test read gigabytes
    let limits = ArchiveLimits {
        max_ratio: 1000,
        min_bytes: 16 << 20,
    };
    let written = write_layer_with_limits(&sources, || Ok(Vec::new()), &opts, &limits);
    let outcome = match &written {
        Ok((_, layer)) => {
            assert_contained(layer, case);
            Ok(())
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.len() > 10,
                "case {case} ({format:?}): unclear error {msg:?}"
            );
            Err(msg)
        }
    };
    // the layer reader, by the media type the format would have
    let media_type = match format {
        Format::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
        Format::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        _ => "application/vnd.oci.image.layer.v1.tar",
    };
    if let Ok(reader) = uncompressed(media_type, data) {
        let mut archive = tar::Archive::new(reader.take(64 << 20));
        if let Ok(entries) = archive.entries() {
            for e in entries.take(10_000) {
                let Ok(mut e) = e else { break };
                if std::io::copy(&mut e, &mut std::io::sink()).is_err() {
                    break;
                }
            }
        }
    }
    std::fs::remove_file(&path).unwrap();
    outcome
}

#[test]
fn mutated_archives_never_panic_or_escape_the_destination() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus_tars();
    // the unmutated corpus goes in whole, in every format
    for (i, tar) in corpus.iter().enumerate() {
        for format in [
            Format::Tar,
            Format::Gzip,
            Format::Zstd,
            Format::Xz,
            Format::Bzip2,
        ] {
            if let Err(e) = feed(i, format, &compress(format, tar), dir.path()) {
                panic!("corpus archive {i} ({format:?}) was refused: {e}");
            }
        }
    }
    // a longer run by hand: ARCHIVE_FUZZ_CASES=100000 ARCHIVE_FUZZ_SEED=7
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let max_cases = env("ARCHIVE_FUZZ_CASES").unwrap_or(3_000) as usize;
    let mut rng = Rng(env("ARCHIVE_FUZZ_SEED").unwrap_or(0x5DEE_CE66_D1CE_4E5B) | 1);
    let budget = Duration::from_secs(if max_cases > 3_000 { 3_600 } else { 20 });
    let start = Instant::now();
    let (mut ok, mut refused, mut cases) = (0, 0, 0);
    // bounded: 3,000 inputs, or 20 s on a slow machine
    while cases < max_cases && start.elapsed() < budget {
        let (format, data) = mutant(&mut rng, &corpus);
        let outcome = std::panic::catch_unwind(|| feed(100 + cases, format, &data, dir.path()));
        match outcome {
            Ok(Ok(())) => ok += 1,
            Ok(Err(_)) => refused += 1,
            Err(_) => {
                let keep = dir.path().join("panicked");
                std::fs::write(&keep, &data).unwrap();
                panic!(
                    "case {cases} ({format:?}) panicked; input kept at {}",
                    keep.display()
                );
            }
        }
        cases += 1;
    }
    eprintln!("{cases} mutated archives: {ok} written, {refused} refused");
    assert!(ok > 0 && refused > 0, "{ok} written, {refused} refused");
}
