//! The torture archive of the ADD tests, generated (no binary fixture):
//! every kind of entry a root filesystem tarball holds, owners and modes
//! that only root could create on disk, xattrs, long and non-ASCII names,
//! and a duplicated directory entry.

use tar::EntryType as T;

/// A few MB of content that deflate cannot squeeze to nothing.
pub fn big_content() -> Vec<u8> {
    (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

fn header(kind: T, mode: u32, owner: (u64, u64), mtime: u64, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(owner.0);
    h.set_gid(owner.1);
    h.set_mtime(mtime);
    h.set_size(size);
    h
}

/// The torture archive as an uncompressed tar.
pub fn torture_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let t = 1_600_000_000;
    let root = (0, 0);
    let user = (1000, 1000);
    let add = |b: &mut tar::Builder<Vec<u8>>, kind, path: &str, mode, owner, data: &[u8]| {
        let mut h = header(kind, mode, owner, t, data.len() as u64);
        b.append_data(&mut h, path, data).unwrap();
    };
    let link = |b: &mut tar::Builder<Vec<u8>>, kind, path: &str, target: &str| {
        let mut h = header(kind, 0o777, (0, 0), t, 0);
        b.append_link(&mut h, path, target).unwrap();
    };
    let dev = |b: &mut tar::Builder<Vec<u8>>, kind, path: &str, major, minor| {
        let mut h = header(kind, 0o666, (0, 0), t, 0);
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        b.append_data(&mut h, path, std::io::empty()).unwrap();
    };
    add(&mut b, T::Directory, "./", 0o755, root, b"");
    add(&mut b, T::Directory, "./bin/", 0o755, root, b"");
    add(&mut b, T::Directory, "./etc/", 0o755, root, b"");
    add(&mut b, T::Directory, "./home/", 0o755, root, b"");
    add(&mut b, T::Directory, "./home/user/", 0o700, user, b"");
    add(&mut b, T::Directory, "./tmp/", 0o1777, root, b"");
    add(&mut b, T::Directory, "./srv/", 0o2775, (0, 50), b"");
    add(&mut b, T::Directory, "./dev/", 0o755, root, b"");
    add(&mut b, T::Regular, "./bin/su", 0o4755, root, b"setuid");
    add(&mut b, T::Regular, "./bin/wall", 0o2755, (0, 5), b"setgid");
    add(
        &mut b,
        T::Regular,
        "./etc/passwd",
        0o644,
        root,
        b"root:x:0:0::/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n",
    );
    add(
        &mut b,
        T::Regular,
        "./home/user/secret",
        0o600,
        user,
        b"s3cret",
    );
    add(&mut b, T::Regular, "./home/user/empty", 0o644, user, b"");
    add(
        &mut b,
        T::Regular,
        "./srv/big.bin",
        0o644,
        (33, 33),
        &big_content(),
    );
    link(&mut b, T::Link, "./bin/su-hardlink", "./bin/su");
    link(&mut b, T::Symlink, "./bin/sh", "/bin/su");
    link(&mut b, T::Symlink, "./etc/relative", "../bin/su");
    link(&mut b, T::Symlink, "./etc/dangling", "/no/such/target");
    dev(&mut b, T::Char, "./dev/null", 1, 3);
    dev(&mut b, T::Block, "./dev/loop0", 7, 0);
    let mut h = header(T::Fifo, 0o620, root, t, 0);
    b.append_data(&mut h, "./tmp/fifo", std::io::empty())
        .unwrap();
    // xattrs, as GNU tar and BuildKit write them: PAX SCHILY.xattr.*
    b.append_pax_extensions([
        ("SCHILY.xattr.security.capability", &b"\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"[..]),
        ("SCHILY.xattr.user.note", &b"hello"[..]),
    ])
    .unwrap();
    add(&mut b, T::Regular, "./bin/ping", 0o755, root, b"ping");
    // a path over 100 bytes and one over 255, and a non-ASCII name
    let long = format!("./srv/{}/file", "d".repeat(120));
    add(
        &mut b,
        T::Directory,
        &format!("./srv/{}/", "d".repeat(120)),
        0o755,
        root,
        b"",
    );
    add(&mut b, T::Regular, &long, 0o644, root, b"long");
    let longer_dir = format!("./srv/{}/{}/", "a".repeat(150), "b".repeat(150));
    add(
        &mut b,
        T::Directory,
        &format!("./srv/{}/", "a".repeat(150)),
        0o755,
        root,
        b"",
    );
    add(&mut b, T::Directory, &longer_dir, 0o755, root, b"");
    add(
        &mut b,
        T::Regular,
        &format!("{longer_dir}{}", "c".repeat(40)),
        0o644,
        root,
        b"longer",
    );
    add(
        &mut b,
        T::Regular,
        "./srv/héllo wörld ✓.txt",
        0o644,
        root,
        b"unicode",
    );
    // a duplicated directory entry: the last one wins
    add(&mut b, T::Directory, "./srv/", 0o2775, (0, 50), b"");
    b.into_inner().unwrap()
}

/// `tar` compressed as `format` (gzip, bzip2, xz, zstd or tar) with the
/// system tools the peers use.
pub fn compress(tar: &[u8], format: &str) -> Vec<u8> {
    use std::io::Write;
    let tool = match format {
        "tar" => return tar.to_vec(),
        "gzip" => "gzip",
        "bzip2" => "bzip2",
        "xz" => "xz",
        "zstd" => "zstd",
        other => panic!("unknown format {other}"),
    };
    let mut child = std::process::Command::new(tool)
        .args(["-c", "-q"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {tool}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let data = tar.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    out.stdout
}
