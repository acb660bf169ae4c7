//! The one place a layer's tar headers are made: paths cleaned, owners
//! numeric, mtimes clamped, PAX records for what ustar cannot hold, and the
//! same bytes for the same entry every time.

use super::{Entry, EntryKind};

/// Tar block size.
pub(crate) const BLOCK: usize = 512;

/// Cleans a path for a layer: strips leading `/` and `./`, drops `.` and
/// empty components, refuses `..` and whiteout (`.wh.`) components.
/// The root gives "".
pub(crate) fn clean_path(path: &str) -> Result<String, String> {
    let mut out = String::with_capacity(path.len());
    for comp in path.split('/') {
        match comp {
            "" | "." => continue,
            ".." => return Err("a `..` component would climb out of the destination".to_string()),
            c if c.starts_with(".wh.") => {
                return Err(format!(
                    "the name {c} is an overlay whiteout, which an ADD/COPY cannot create"
                ))
            }
            c => {
                if c.contains('\0') {
                    return Err("the path contains a NUL byte".to_string());
                }
                if !out.is_empty() {
                    out.push('/');
                }
                out.push_str(c);
            }
        }
    }
    Ok(out)
}

/// Joins a cleaned relative path under a cleaned directory ("" = root).
pub(crate) fn join(dir: &str, rel: &str) -> String {
    match (dir.is_empty(), rel.is_empty()) {
        (true, _) => rel.to_string(),
        (false, true) => dir.to_string(),
        (false, false) => format!("{dir}/{rel}"),
    }
}

/// The parent of a cleaned path ("" for top-level entries).
pub(crate) fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[..i],
        None => "",
    }
}

/// Encodes the header block(s) of `entry` (whose path, and hard link target,
/// are already cleaned) into `out`: a PAX extended header when needed, then
/// the ustar header. `mtime` is clamped to `clamp` when given.
pub(crate) fn encode_header(
    entry: &Entry,
    clamp: Option<i64>,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    out.clear();
    let mut name = entry.path.clone();
    if entry.kind == EntryKind::Dir {
        name.push('/');
    }
    let mtime = match clamp {
        Some(c) if entry.mtime > c => c,
        _ => entry.mtime,
    }
    .max(0) as u64;
    let (flag, size, link, dev) = match &entry.kind {
        EntryKind::File { size } => (b'0', *size, None, None),
        EntryKind::Dir => (b'5', 0, None, None),
        EntryKind::Symlink { target } => (b'2', 0, Some(target.as_str()), None),
        EntryKind::Hardlink { target } => (b'1', 0, Some(target.as_str()), None),
        EntryKind::Char { major, minor } => (b'3', 0, None, Some((*major, *minor))),
        EntryKind::Block { major, minor } => (b'4', 0, None, Some((*major, *minor))),
        EntryKind::Fifo => (b'6', 0, None, None),
    };
    if let Some(link) = link {
        if link.is_empty() {
            return Err("a link with an empty target".to_string());
        }
        if link.contains('\0') {
            return Err("the link target contains a NUL byte".to_string());
        }
    }

    // names not UTF-8 are carried as code points (see `names`): their
    // bytes go into the PAX records, as Go's archive/tar writes them
    let name_bytes = super::names::encode(&name);
    let link_bytes = link.map(super::names::encode);
    // PAX records, sorted by key (the order of this list, then xattrs sorted).
    let mut records = xattr_records(entry)?;
    let fits = |s: &str, max: usize| s.len() <= max && s.is_ascii();
    let uid_s = entry.uid.to_string();
    let gid_s = entry.gid.to_string();
    let mtime_s = mtime.to_string();
    let size_s = size.to_string();
    if entry.gid > MAX_OCTAL_7 {
        records.push(("gid".to_string(), gid_s.as_bytes()));
    }
    if let (Some(link), Some(bytes)) = (link, &link_bytes) {
        if !fits(link, 100) {
            records.push(("linkpath".to_string(), bytes));
        }
    }
    if mtime > MAX_OCTAL_11 {
        records.push(("mtime".to_string(), mtime_s.as_bytes()));
    }
    if !fits(&name, 100) {
        records.push(("path".to_string(), &name_bytes));
    }
    if size > MAX_OCTAL_11 {
        records.push(("size".to_string(), size_s.as_bytes()));
    }
    if entry.uid > MAX_OCTAL_7 {
        records.push(("uid".to_string(), uid_s.as_bytes()));
    }
    records.sort_by(|a, b| a.0.cmp(&b.0));

    if !records.is_empty() {
        write_pax(out, &name, mtime, &records);
    }

    // A symlink's mode means nothing on Linux, which reports 0777 for every
    // one; containerd's and BuildKit's differ write what lstat says
    // (Go's tar.FileInfoHeader), so a symlink is 0777 whatever the source.
    let mode = match entry.kind {
        EntryKind::Symlink { .. } => 0o777,
        _ => entry.mode & 0o7777,
    };
    let mut block = [0u8; BLOCK];
    fill_ustar(
        &mut block,
        &ascii_prefix(&name, 100),
        mode,
        if entry.uid > MAX_OCTAL_7 {
            0
        } else {
            entry.uid
        },
        if entry.gid > MAX_OCTAL_7 {
            0
        } else {
            entry.gid
        },
        if size > MAX_OCTAL_11 { 0 } else { size },
        mtime.min(MAX_OCTAL_11),
        flag,
        &ascii_prefix(link.unwrap_or(""), 100),
        dev,
    );
    out.extend_from_slice(&block);
    Ok(())
}

const MAX_OCTAL_7: u64 = 0o7777777;
const MAX_OCTAL_11: u64 = 0o77777777777;

/// The `SCHILY.xattr.*` records of `entry`, sorted. Attributes that belong
/// to the host that made the files and mean nothing in an image
/// (`security.selinux` labels, overlayfs' `trusted.overlay.*`) are dropped,
/// as umoci's tar generator drops them.
fn xattr_records(entry: &Entry) -> Result<Vec<(String, &[u8])>, String> {
    let mut xattrs: Vec<&(String, Vec<u8>)> = entry
        .xattrs
        .iter()
        .filter(|(k, _)| !is_host_xattr(k))
        .collect();
    xattrs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut records = Vec::new();
    for (key, value) in xattrs {
        if key.is_empty() || key.contains('=') || key.contains('\0') {
            return Err(format!("the xattr name {key:?} cannot be stored in a tar"));
        }
        records.push((format!("SCHILY.xattr.{key}"), value.as_slice()));
    }
    Ok(records)
}

/// Whether `key` is an attribute of the host's filesystem, not the image's.
pub(crate) fn is_host_xattr(key: &str) -> bool {
    key == "security.selinux" || key.starts_with("trusted.overlay.")
}

/// A PAX extended header holding `records` for the entry `name`.
fn write_pax(out: &mut Vec<u8>, name: &str, mtime: u64, records: &[(String, &[u8])]) {
    let mut body = Vec::new();
    for (key, value) in records {
        pax_record(&mut body, key, value);
    }
    let pax_name = format!("PaxHeaders.0/{}", ascii_prefix(name, 87));
    let mut block = [0u8; BLOCK];
    fill_ustar(
        &mut block,
        &pax_name,
        0o644,
        0,
        0,
        body.len() as u64,
        mtime.min(MAX_OCTAL_11),
        b'x',
        "",
        None,
    );
    out.extend_from_slice(&block);
    out.extend_from_slice(&body);
    out.resize(out.len().next_multiple_of(BLOCK), 0);
}

/// The first bytes (at most `max`) of `s` with non-ASCII bytes replaced by
/// `_`, for the ustar fields of entries whose real name is in a PAX record.
fn ascii_prefix(s: &str, max: usize) -> String {
    s.bytes()
        .take(max)
        .map(|b| {
            if b.is_ascii() && b != 0 {
                b as char
            } else {
                '_'
            }
        })
        .collect()
}

/// Appends one PAX record, `"<len> <key>=<value>\n"`, whose length counts itself.
fn pax_record(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    let rest = key.len() + value.len() + 3;
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key.as_bytes());
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// Writes `value` as zero-padded octal, NUL-terminated, into `field`.
fn octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let s = format!("{value:0digits$o}");
    field[..digits].copy_from_slice(&s.as_bytes()[s.len() - digits..]);
    field[digits] = 0;
}

#[allow(clippy::too_many_arguments)]
fn fill_ustar(
    b: &mut [u8; BLOCK],
    name: &str,
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
    mtime: u64,
    flag: u8,
    link: &str,
    dev: Option<(u32, u32)>,
) {
    b[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut b[100..108], u64::from(mode));
    octal(&mut b[108..116], uid);
    octal(&mut b[116..124], gid);
    octal(&mut b[124..136], size);
    octal(&mut b[136..148], mtime);
    b[156] = flag;
    b[157..157 + link.len()].copy_from_slice(link.as_bytes());
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    // uname/gname stay blank: owners are numeric only.
    let (major, minor) = dev.unwrap_or((0, 0));
    octal(&mut b[329..337], u64::from(major).min(MAX_OCTAL_7));
    octal(&mut b[337..345], u64::from(minor).min(MAX_OCTAL_7));
    b[148..156].fill(b' ');
    let sum: u32 = b.iter().map(|&x| u32::from(x)).sum();
    let s = format!("{sum:06o}");
    b[148..154].copy_from_slice(s.as_bytes());
    b[154] = 0;
    b[155] = b' ';
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, kind: EntryKind) -> Entry {
        Entry {
            path: path.to_string(),
            kind,
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: 1_700_000_000,
            xattrs: Vec::new(),
        }
    }

    /// Reads the headers back with the tar crate: (path, link, pax keys).
    fn read_back(bytes: &[u8]) -> tar::Entry<'static, std::io::Cursor<Vec<u8>>> {
        let mut data = bytes.to_vec();
        data.resize(data.len() + 1024, 0);
        let archive = Box::leak(Box::new(tar::Archive::new(std::io::Cursor::new(data))));
        archive.entries().unwrap().next().unwrap().unwrap()
    }

    #[test]
    fn clean_path_cases() {
        let ok = [
            ("/usr/bin/ls", "usr/bin/ls"),
            ("./etc/passwd", "etc/passwd"),
            ("a//b/./c/", "a/b/c"),
            ("/", ""),
            (".", ""),
            ("./", ""),
            ("é/ü", "é/ü"),
        ];
        for (input, want) in ok {
            assert_eq!(clean_path(input).unwrap(), want, "{input}");
        }
        let bad = [
            (
                "../etc",
                "a `..` component would climb out of the destination",
            ),
            (
                "a/../../b",
                "a `..` component would climb out of the destination",
            ),
            (
                "a/.wh.b",
                "the name .wh.b is an overlay whiteout, which an ADD/COPY cannot create",
            ),
            (
                ".wh..wh..opq",
                "the name .wh..wh..opq is an overlay whiteout, which an ADD/COPY cannot create",
            ),
        ];
        for (input, want) in bad {
            assert_eq!(clean_path(input).unwrap_err(), want, "{input}");
        }
    }

    #[test]
    fn join_and_parent() {
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("opt/sub", "a"), "opt/sub/a");
        assert_eq!(join("opt/sub", ""), "opt/sub");
        assert_eq!(parent("a/b/c"), "a/b");
        assert_eq!(parent("a"), "");
    }

    #[test]
    fn plain_file_header_is_one_ustar_block() {
        let mut e = entry("etc/hosts", EntryKind::File { size: 5 });
        e.mode = 0o4755;
        e.uid = 1000;
        e.gid = 1001;
        let mut out = Vec::new();
        encode_header(&e, None, &mut out).unwrap();
        assert_eq!(out.len(), 512);
        assert_eq!(&out[..10], b"etc/hosts\0");
        assert_eq!(&out[100..108], b"0004755\0");
        assert_eq!(&out[108..116], b"0001750\0");
        assert_eq!(&out[124..136], b"00000000005\0");
        assert_eq!(out[156], b'0');
        assert_eq!(&out[257..265], b"ustar\x0000");
        // blank user and group names
        assert!(out[265..329].iter().all(|&b| b == 0));
        let h = tar::Header::from_byte_slice(&out);
        assert_eq!(h.cksum().unwrap(), {
            let mut sum = 0u32;
            for (i, b) in out.iter().enumerate() {
                sum += if (148..156).contains(&i) {
                    32
                } else {
                    u32::from(*b)
                };
            }
            sum
        });
        assert_eq!(h.mode().unwrap(), 0o4755);
        assert_eq!(h.mtime().unwrap(), 1_700_000_000);
    }

    #[test]
    fn directory_gets_trailing_slash() {
        let mut out = Vec::new();
        encode_header(&entry("usr/lib", EntryKind::Dir), None, &mut out).unwrap();
        assert_eq!(&out[..9], b"usr/lib/\0");
        assert_eq!(out[156], b'5');
    }

    #[test]
    fn mtime_is_clamped_and_never_negative() {
        let mut out = Vec::new();
        encode_header(&entry("a", EntryKind::Fifo), Some(100), &mut out).unwrap();
        assert_eq!(tar::Header::from_byte_slice(&out).mtime().unwrap(), 100);
        let mut old = entry("a", EntryKind::Fifo);
        old.mtime = 50;
        encode_header(&old, Some(100), &mut out).unwrap();
        assert_eq!(tar::Header::from_byte_slice(&out).mtime().unwrap(), 50);
        old.mtime = -5;
        encode_header(&old, None, &mut out).unwrap();
        assert_eq!(tar::Header::from_byte_slice(&out).mtime().unwrap(), 0);
    }

    #[test]
    fn devices_and_links() {
        let mut out = Vec::new();
        encode_header(
            &entry("dev/null", EntryKind::Char { major: 1, minor: 3 }),
            None,
            &mut out,
        )
        .unwrap();
        let h = tar::Header::from_byte_slice(&out);
        assert_eq!(out[156], b'3');
        assert_eq!(h.device_major().unwrap(), Some(1));
        assert_eq!(h.device_minor().unwrap(), Some(3));
        let link = EntryKind::Symlink {
            target: "../x".into(),
        };
        encode_header(&entry("a/l", link), None, &mut out).unwrap();
        assert_eq!(out[156], b'2');
        assert_eq!(&out[157..162], b"../x\0");
        let err = encode_header(
            &entry("l", EntryKind::Hardlink { target: "".into() }),
            None,
            &mut out,
        )
        .unwrap_err();
        assert_eq!(err, "a link with an empty target");
    }

    #[test]
    fn long_and_non_ascii_names_use_pax() {
        let long = format!("d/{}", "x".repeat(300));
        let mut out = Vec::new();
        encode_header(&entry(&long, EntryKind::File { size: 0 }), None, &mut out).unwrap();
        assert_eq!(out[156], b'x');
        assert!(out.len() >= 3 * 512);
        assert_eq!(read_back(&out).path().unwrap().to_str().unwrap(), long);

        let name = "home/zoë/café";
        encode_header(&entry(name, EntryKind::File { size: 0 }), None, &mut out).unwrap();
        assert_eq!(out[156], b'x');
        assert_eq!(read_back(&out).path().unwrap().to_str().unwrap(), name);

        let target = format!("/{}", "t".repeat(150));
        let e = entry(
            "l",
            EntryKind::Symlink {
                target: target.clone(),
            },
        );
        encode_header(&e, None, &mut out).unwrap();
        let back = read_back(&out);
        assert_eq!(back.link_name().unwrap().unwrap().to_str().unwrap(), target);
    }

    #[test]
    fn exactly_100_bytes_needs_no_pax() {
        let name = "n".repeat(100);
        let mut out = Vec::new();
        encode_header(&entry(&name, EntryKind::File { size: 0 }), None, &mut out).unwrap();
        assert_eq!(out.len(), 512);
        assert_eq!(out[156], b'0');
    }

    #[test]
    fn host_xattrs_are_dropped() {
        let mut e = entry("etc/hosts", EntryKind::File { size: 0 });
        e.xattrs = vec![
            (
                "security.selinux".into(),
                b"system_u:object_r:etc_t:s0".to_vec(),
            ),
            ("trusted.overlay.opaque".into(), b"y".to_vec()),
            ("user.keep".into(), b"1".to_vec()),
        ];
        let mut out = Vec::new();
        encode_header(&e, None, &mut out).unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("SCHILY.xattr.user.keep"), "{text}");
        assert!(
            !text.contains("selinux") && !text.contains("overlay"),
            "{text}"
        );
    }

    #[test]
    fn xattrs_are_sorted_schily_records() {
        let mut e = entry("bin/ping", EntryKind::File { size: 0 });
        e.xattrs = vec![
            ("user.foo".into(), b"bar".to_vec()),
            (
                "security.capability".into(),
                vec![1, 0, 0, 2, 0x20, 0, 0, 0],
            ),
        ];
        let mut out = Vec::new();
        encode_header(&e, None, &mut out).unwrap();
        let body_len = tar::Header::from_byte_slice(&out[..512]).size().unwrap() as usize;
        let body = &out[512..512 + body_len];
        let sec = b"SCHILY.xattr.security.capability=";
        let user = b"SCHILY.xattr.user.foo=bar\n";
        let at = |needle: &[u8]| body.windows(needle.len()).position(|w| w == needle);
        assert!(at(sec).unwrap() < at(user).unwrap());
        let mut back = read_back(&out);
        let mut seen = Vec::new();
        for ext in back.pax_extensions().unwrap().unwrap() {
            let ext = ext.unwrap();
            seen.push((ext.key().unwrap().to_string(), ext.value_bytes().to_vec()));
        }
        assert_eq!(
            seen,
            vec![
                (
                    "SCHILY.xattr.security.capability".to_string(),
                    vec![1, 0, 0, 2, 0x20, 0, 0, 0]
                ),
                ("SCHILY.xattr.user.foo".to_string(), b"bar".to_vec()),
            ]
        );
        e.xattrs = vec![("a=b".into(), vec![])];
        assert!(encode_header(&e, None, &mut out).is_err());
    }

    #[test]
    fn big_ids_and_sizes_go_to_pax() {
        let mut e = entry("big", EntryKind::File { size: 9 << 30 });
        e.uid = 5_000_000;
        let mut out = Vec::new();
        encode_header(&e, None, &mut out).unwrap();
        let body_len = tar::Header::from_byte_slice(&out[..512]).size().unwrap() as usize;
        let body = String::from_utf8_lossy(&out[512..512 + body_len]).to_string();
        assert!(body.contains(" size=9663676416\n"), "{body}");
        assert!(body.contains(" uid=5000000\n"), "{body}");
    }

    #[test]
    fn pax_record_length_counts_itself() {
        let mut out = Vec::new();
        pax_record(&mut out, "path", b"abc");
        assert_eq!(out, b"12 path=abc\n");
        out.clear();
        // 9 + 1 digit would be 10, which has 2 digits: 11.
        pax_record(&mut out, "a", b"bcdef");
        assert_eq!(out, b"11 a=bcdef\n");
        assert_eq!(out.len(), 11);
    }

    #[test]
    fn same_entry_same_bytes() {
        let mut e = entry("x/y", EntryKind::File { size: 3 });
        e.xattrs = vec![
            ("user.b".into(), b"2".to_vec()),
            ("user.a".into(), b"1".to_vec()),
        ];
        let (mut a, mut b) = (Vec::new(), Vec::new());
        encode_header(&e, Some(5), &mut a).unwrap();
        e.xattrs.reverse();
        encode_header(&e, Some(5), &mut b).unwrap();
        assert_eq!(a, b);
    }
}
