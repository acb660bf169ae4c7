//! The torture archive of the ADD tests, generated (no binary fixture):
//! every kind of entry a root filesystem tarball holds, owners and modes
//! that only root could create on disk, xattrs, long and non-ASCII names,
//! and a duplicated directory entry. One generator for the layer tests
//! (which read the tar) and the ADD tests (which also unpack it with buildah).

use tar::EntryType as T;

/// A few MB of content that deflate cannot squeeze to nothing.
pub fn big_content() -> Vec<u8> {
    (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

/// The mtime of the first entry; each next entry is a second later, so a
/// clamp can tell them apart.
pub const T0: u64 = 1_600_000_000;

/// The torture archive as an uncompressed tar: every entry can be unpacked
/// to a directory as it is listed (what buildah and a merged view compare).
pub fn torture_tar() -> Vec<u8> {
    generate(false)
}

/// The torture archive with two more entries that only a tar holds as
/// listed: a file whose parent directory the archive lacks, and a name
/// longer than a filesystem allows (NAME_MAX, 255). For the tests that
/// read layers as tars and never unpack them.
pub fn tar_only_torture_tar() -> Vec<u8> {
    generate(true)
}

fn generate(tar_only: bool) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut n = 0;
    let mut next = || {
        n += 1;
        T0 + n
    };
    let root = (0, 0);
    let user = (1000, 1000);
    let header = |kind: T, mode, owner: (u64, u64), mtime, size| {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(owner.0);
        h.set_gid(owner.1);
        h.set_mtime(mtime);
        h.set_size(size);
        h
    };
    let add = |b: &mut tar::Builder<Vec<u8>>, kind, path: &str, mode, owner, t, data: &[u8]| {
        let mut h = header(kind, mode, owner, t, data.len() as u64);
        b.append_data(&mut h, path, data).unwrap();
    };
    // a hard link's mode is its target's: buildah applies it to the target
    let link = |b: &mut tar::Builder<Vec<u8>>, kind, path: &str, mode, t, target: &str| {
        let mut h = header(kind, mode, (0, 0), t, 0);
        b.append_link(&mut h, path, target).unwrap();
    };
    let dev = |b: &mut tar::Builder<Vec<u8>>, kind, path: &str, mode, t, major, minor| {
        let mut h = header(kind, mode, (0, 0), t, 0);
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        b.append_data(&mut h, path, std::io::empty()).unwrap();
    };
    let dirs = [
        ("./", 0o755, root),
        ("./bin/", 0o755, root),
        ("./home/", 0o755, root),
        ("./home/user/", 0o700, user),
        ("./etc/", 0o755, root),
        ("./tmp/", 0o1777, root),
        ("./srv/", 0o2775, (0, 50)),
        ("./usr/", 0o755, root),
        ("./usr/bin/", 0o755, root),
        ("./dev/", 0o755, root),
    ];
    for (path, mode, owner) in dirs {
        add(&mut b, T::Directory, path, mode, owner, next(), b"");
    }
    add(
        &mut b,
        T::Regular,
        "./bin/su",
        0o4755,
        root,
        next(),
        b"setuid",
    );
    add(
        &mut b,
        T::Regular,
        "./usr/bin/sg",
        0o2755,
        (0, 42),
        next(),
        b"setgid",
    );
    add(
        &mut b,
        T::Regular,
        "./etc/passwd",
        0o644,
        root,
        next(),
        b"root:x:0:0::/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n",
    );
    add(
        &mut b,
        T::Regular,
        "./home/user/secret",
        0o600,
        user,
        next(),
        b"s3cret",
    );
    add(
        &mut b,
        T::Regular,
        "./home/user/empty",
        0o644,
        user,
        next(),
        b"",
    );
    add(
        &mut b,
        T::Regular,
        "./home/user/café ünïcødé.txt",
        0o644,
        user,
        next(),
        b"utf8",
    );
    if tar_only {
        let missing_parent = format!("./home/user/{}/f", "l".repeat(120));
        let too_long = format!("./home/user/{}", "m".repeat(270));
        add(
            &mut b,
            T::Regular,
            &missing_parent,
            0o644,
            user,
            next(),
            b"long",
        );
        add(
            &mut b,
            T::Regular,
            &too_long,
            0o644,
            user,
            next(),
            b"longer",
        );
    }
    add(
        &mut b,
        T::Regular,
        "./usr/big.bin",
        0o644,
        (33, 33),
        next(),
        &big_content(),
    );
    link(
        &mut b,
        T::Link,
        "./bin/su-hardlink",
        0o777,
        next(),
        "./bin/su",
    );
    link(
        &mut b,
        T::Link,
        "./etc/passwd.hard",
        0o644,
        next(),
        "./etc/passwd",
    );
    link(&mut b, T::Symlink, "./bin/sh", 0o777, next(), "/bin/su");
    link(
        &mut b,
        T::Symlink,
        "./etc/abs",
        0o777,
        next(),
        "/etc/passwd",
    );
    link(
        &mut b,
        T::Symlink,
        "./etc/rel",
        0o777,
        next(),
        "../etc/passwd",
    );
    link(
        &mut b,
        T::Symlink,
        "./etc/dangling",
        0o777,
        next(),
        "no/such/file",
    );
    dev(&mut b, T::Char, "./dev/null", 0o666, next(), 1, 3);
    dev(&mut b, T::Block, "./dev/sda", 0o660, next(), 8, 0);
    dev(&mut b, T::Fifo, "./dev/fifo", 0o620, next(), 0, 0);
    // xattrs, as GNU tar and BuildKit write them: PAX SCHILY.xattr.*
    b.append_pax_extensions([
        ("SCHILY.xattr.security.capability", &b"\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"[..]),
        ("SCHILY.xattr.user.foo", &b"bar"[..]),
    ])
    .unwrap();
    add(
        &mut b,
        T::Regular,
        "./bin/ping",
        0o755,
        root,
        next(),
        b"ping",
    );
    // a path over 100 bytes and one over 255, every directory listed
    let dir = format!("./srv/{}/", "d".repeat(120));
    add(&mut b, T::Directory, &dir, 0o755, root, next(), b"");
    add(
        &mut b,
        T::Regular,
        &format!("{dir}file"),
        0o644,
        root,
        next(),
        b"long",
    );
    let a = format!("./srv/{}/", "a".repeat(150));
    let longer_dir = format!("{a}{}/", "b".repeat(150));
    add(&mut b, T::Directory, &a, 0o755, root, next(), b"");
    add(&mut b, T::Directory, &longer_dir, 0o755, root, next(), b"");
    let longer = format!("{longer_dir}{}", "c".repeat(40));
    add(&mut b, T::Regular, &longer, 0o644, root, next(), b"longer");
    // the same directory again, with other metadata: the last one wins
    add(&mut b, T::Directory, "./etc/", 0o750, (0, 4), next(), b"");
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
