//! Issue 16: layers whose bytes do not depend on the number of compression
//! workers, gzip layers every reader accepts (one member joined from
//! libdeflate's blocks) at pigz's size or smaller, and parallel-friendly
//! archives (multi-block xz, multi-frame zstd) that give the same layer as
//! their single-block forms.

use crate::common::{have, layer_tar, manifest_of, podman_run, run_ok, Work};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

const EPOCH: &str = "1700000000";

/// Text-like bytes (words from a small vocabulary), `len` long.
fn words(len: usize, seed: u64) -> Vec<u8> {
    let mut s = seed;
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let w = (s >> 40) % 300;
        out.extend_from_slice(format!("word{w:x}{}", "z".repeat((w % 4) as usize)).as_bytes());
        out.push(if s.is_multiple_of(13) { b'\n' } else { b' ' });
    }
    out.truncate(len);
    out
}

/// Builds `work`'s context into `oci:out-NAME:NAME` with `threads` workers.
fn build(work: &Work, name: &str, threads: &str, extra: &[&str]) -> std::path::PathBuf {
    let out = work.path(&format!("out-{name}"));
    let ctx = work.ctx();
    let o = crate::common::minibuild()
        .args(["build", "-o", &format!("oci:{}:{name}", out.display())])
        .args(extra)
        .arg(&ctx)
        .env("MINIBUILD_STORE", work.path("store"))
        .env("MINIBUILD_COMPRESS_THREADS", threads)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// The layer descriptors of `oci:layout:name`.
fn layers(layout: &Path, name: &str) -> Vec<serde_json::Value> {
    manifest_of(layout, name)["layers"]
        .as_array()
        .unwrap()
        .clone()
}

/// The path of `layer`'s blob in the layout `out`.
fn blob_of(out: &Path, layer: &serde_json::Value) -> std::path::PathBuf {
    let digest = layer["digest"].as_str().unwrap();
    out.join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

#[test]
fn layer_bytes_do_not_depend_on_the_number_of_workers() {
    let work = Work::new();
    // a few MiB: several gzip blocks and more than one zstd job
    for i in 0..3 {
        work.file(&format!("data/part{i}.txt"), words(3 << 20, i));
    }
    work.dockerfile("FROM scratch\nCOPY data /data\n");
    for compression in ["gzip", "zstd"] {
        let flags = ["--compression", compression];
        let digests: Vec<String> = ["1", "2", "4"]
            .iter()
            .map(|threads| {
                let name = format!("{compression}{threads}");
                let out = build(&work, &name, threads, &flags);
                layers(&out, &name)[0]["digest"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        if digests[0] != digests[1] {
            let _ = Command::new("cp")
                .args(["-a", work.dir.path().to_str().unwrap(), "/tmp/speed/dbg"])
                .status();
        }
        assert_eq!(digests[0], digests[1], "{compression}: 1 vs 2 workers");
        assert_eq!(digests[0], digests[2], "{compression}: 1 vs 4 workers");
    }
}

#[test]
fn gzip_layers_are_read_by_python_pigz_go_and_minibuild() {
    let work = Work::new();
    work.hello_context("gzip readers");
    work.file("data/words.txt", words(2 << 20, 9));
    work.dockerfile(
        "FROM scratch\nCOPY hello /hello\nCOPY msg /msg\nCOPY data /data\nCMD [\"/hello\"]\n",
    );
    let out = build(&work, "readers", "2", &[]);
    let layer = &layers(&out, "readers")[2];
    let blob = blob_of(&out, layer);
    let tar = layer_tar(&out, layer);
    // one member: Python's single-stream reader (zlib's inflate) reads it whole
    let py = run_ok(Command::new("python3").args([
        "-c",
        "import gzip,sys,zlib; d=open(sys.argv[1],'rb').read(); o=zlib.decompressobj(31); \
         t=o.decompress(d); assert o.eof and not o.unused_data; \
         assert gzip.decompress(d)==t; sys.stdout.buffer.write(t)",
        blob.to_str().unwrap(),
    ]));
    assert!(py.stdout == tar, "python3 read other bytes");
    if have("pigz") {
        let pigz = run_ok(Command::new("pigz").arg("-dc").arg(&blob));
        assert!(pigz.stdout == tar, "pigz -d read other bytes");
    }
    // minibuild reads it back and checks its diff_id
    let verify = crate::common::minibuild()
        .args(["verify", &format!("oci:{}:readers", out.display())])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    // Go's reader: podman unpacks every layer and runs the image
    if have("podman") {
        let said = podman_run(work.dir.path(), &out, "readers", &[]);
        assert!(said.contains("Hello from a minibuild image!"), "{said}");
    }
}

/// libdeflate's 384 KiB blocks come out no bigger than pigz -6's output of
/// the same tar (the issue's bound: 1.005×) on real files: this project's
/// Rust sources and a static binary. (On synthetic text of uniformly drawn
/// words, like `words`, libdeflate's level 6 is 4% bigger than zlib's;
/// on tars of /usr/bin, /usr/share/doc, Python's library and Rust crates
/// it is 0.2-0.8% smaller.)
#[test]
fn gzip_layers_are_no_bigger_than_pigz() {
    if !have("pigz") {
        return;
    }
    let work = Work::new();
    let ctx = work.hello_context("pigz size");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    run_ok(
        Command::new("cp")
            .arg("-r")
            .arg(root.join("src"))
            .arg(root.join("tests"))
            .arg(&ctx),
    );
    work.dockerfile("FROM scratch\nCOPY hello src tests /data/\n");
    let out = build(&work, "pigz", "2", &[]);
    let layer = &layers(&out, "pigz")[0];
    let ours = std::fs::read(blob_of(&out, layer)).unwrap();
    let tar = layer_tar(&out, layer);
    let mut pigz = Command::new("pigz")
        .args(["-6", "-n", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = pigz.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(&tar).unwrap());
    let theirs = pigz.wait_with_output().unwrap().stdout;
    feeder.join().unwrap();
    let ratio = ours.len() as f64 / theirs.len() as f64;
    assert!(
        ratio <= 1.005,
        "{} bytes vs pigz's {}",
        ours.len(),
        theirs.len()
    );
}

/// A tar of a few MiB with files in directories, made with the tar crate.
fn rootfs_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for i in 0..40u64 {
        let data = words(150_000 + (i as usize * 977), i);
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_600_000_000 + i);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, format!("usr/share/d{}/f{i}.txt", i % 5), &data[..])
            .unwrap();
    }
    b.into_inner().unwrap()
}

/// xz of `data`: one block, or blocks of 1 MiB (as `xz -T0` cuts them).
fn xz(data: &[u8], blocks: bool) -> Vec<u8> {
    use liblzma::stream::{Check, MtStreamBuilder, Stream};
    let stream = if blocks {
        MtStreamBuilder::new()
            .threads(2)
            .preset(1)
            .block_size(1 << 20)
            .encoder()
            .unwrap()
    } else {
        Stream::new_easy_encoder(1, Check::Crc64).unwrap()
    };
    let mut e = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// zstd of `data`: one frame, or one frame per MiB (as pzstd writes).
fn zstd(data: &[u8], frames: bool) -> Vec<u8> {
    if !frames {
        return zstd::encode_all(data, 3).unwrap();
    }
    data.chunks(1 << 20)
        .flat_map(|part| zstd::encode_all(part, 3).unwrap())
        .collect()
}

#[test]
fn multi_block_xz_and_multi_frame_zstd_give_the_layer_of_one_block() {
    let tar = rootfs_tar();
    let work = Work::new();
    let archives = [
        ("one.tar.xz", xz(&tar, false)),
        ("blocks.tar.xz", xz(&tar, true)),
        ("one.tar.zst", zstd(&tar, false)),
        ("frames.tar.zst", zstd(&tar, true)),
    ];
    let mut digests = Vec::new();
    for (file, bytes) in &archives {
        work.file(file, bytes);
        work.dockerfile(&format!("FROM scratch\nADD {file} /\n"));
        let name = file.replace('.', "-");
        let out = build(&work, &name, "2", &[]);
        digests.push(layers(&out, &name)[0]["digest"].clone());
    }
    if have("xz") {
        // the xz tool's own multi-block output (xz ≥ 5.4 with -T0)
        let mut child = Command::new("xz")
            .args(["-T2", "--block-size=1MiB", "-1", "-c"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let input = tar.clone();
        let feeder = std::thread::spawn(move || stdin.write_all(&input).unwrap());
        let o = child.wait_with_output().unwrap();
        feeder.join().unwrap();
        work.file("tool.tar.xz", &o.stdout);
        work.dockerfile("FROM scratch\nADD tool.tar.xz /\n");
        let out = build(&work, "tool", "2", &[]);
        digests.push(layers(&out, "tool")[0]["digest"].clone());
    }
    for (i, d) in digests.iter().enumerate() {
        assert_eq!(d, &digests[0], "archive {i} gave another layer");
    }
}
