//! Unit tests of the `archive` module.

use super::*;
use std::io::Write;

fn tar_bytes() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(3);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "a.txt", &b"abc"[..]).unwrap();
    b.into_inner().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn detects_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let tar = tar_bytes();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::encode_all(&tar[..], 1).unwrap();
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 1);
    xz.write_all(&tar).unwrap();
    let xz = xz.finish().unwrap();
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    bz.write_all(&tar).unwrap();
    let bz = bz.finish().unwrap();
    let cases: Vec<(&str, Vec<u8>, Option<ArchiveFormat>)> = vec![
        ("t", tar.clone(), Some(ArchiveFormat::Tar)),
        ("g", gz, Some(ArchiveFormat::Gzip)),
        ("z", zst, Some(ArchiveFormat::Zstd)),
        ("x", xz, Some(ArchiveFormat::Xz)),
        ("b", bz, Some(ArchiveFormat::Bzip2)),
        ("text", b"hello world\n".to_vec(), None),
        ("zeros", vec![0u8; 1024], None),
        (
            "gztext",
            {
                let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                g.write_all(&[b'x'; 600]).unwrap();
                g.finish().unwrap()
            },
            None,
        ),
        // "BZh" alone is not bzip2
        ("bztext", b"BZh is how this text starts\n".to_vec(), None),
    ];
    for (name, bytes, want) in cases.iter().cloned() {
        let p = write(dir.path(), name, &bytes);
        assert_eq!(detect_archive(&p).unwrap(), want, "{name}");
    }
    // a compressed archive cut short, even within its first block, is
    // an error naming the format, never a plain file
    for (name, bytes, want) in &cases[1..5] {
        let format = want.unwrap().name();
        let p = write(dir.path(), name, &bytes[..bytes.len() / 2]);
        let err = detect_archive(&p).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("it is {format} data that does not decompress: ")),
            "{name}: {err}"
        );
    }
    let p = write(dir.path(), "badgz", &[0x1f, 0x8b, 0x08, 0, 1, 2, 3]);
    assert!(detect_archive(&p).is_err());
    let mut broken = tar.clone();
    broken[0] ^= 1;
    let p = write(dir.path(), "broken", &broken);
    assert_eq!(detect_archive(&p).unwrap(), None);
}

#[test]
fn channel_reader_passes_bytes_and_errors() {
    let (tx, rx) = sync_channel(2);
    let bomb = AtomicBool::new(false);
    let data: Vec<u8> = (0..(CHUNK * 2 + 10)).map(|i| i as u8).collect();
    std::thread::scope(|s| {
        let d = data.clone();
        let bomb = &bomb;
        s.spawn(move || decompress(Box::new(io::Cursor::new(d)), tx, u64::MAX, bomb));
        let mut r = ChannelReader {
            rx,
            chunk: Vec::new(),
            pos: 0,
            done: false,
        };
        let mut back = Vec::new();
        r.read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
    });
    let (tx, rx) = sync_channel(2);
    std::thread::scope(|s| {
        let d = data.clone();
        let bomb = &bomb;
        s.spawn(move || decompress(Box::new(io::Cursor::new(d)), tx, 1000, bomb));
        let mut r = ChannelReader {
            rx,
            chunk: Vec::new(),
            pos: 0,
            done: false,
        };
        assert!(r.read_to_end(&mut Vec::new()).is_err());
    });
    assert!(bomb.load(Ordering::SeqCst));
}

#[test]
fn limits() {
    let l = ArchiveLimits::default();
    assert_eq!(l.limit_for(10), 1 << 30);
    assert_eq!(l.limit_for(10 << 20), 1000 * (10 << 20));
}

#[test]
fn a_zstd_layer_leaves_its_decoder_the_smaller_budget() {
    use crate::layer::Compression;
    assert_eq!(
        decode_memory(Compression::Zstd { level: 3 }),
        xz::MEMLIMIT_THREADING_ZSTD
    );
    for layer in [Compression::None, Compression::Gzip { level: 6 }] {
        assert_eq!(decode_memory(layer), xz::MEMLIMIT_THREADING);
    }
}
