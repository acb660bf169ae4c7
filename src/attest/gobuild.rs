//! The module list Go embeds in its binaries (`runtime/debug.BuildInfo`):
//! the `.go.buildinfo` data starts with a 32-byte header, `\xff Go
//! buildinf:`, the pointer size and flags; with flag 2 (Go 1.18 and later)
//! the Go version and the module info follow inline, each a uvarint length
//! and its bytes, the module info framed by 16 sentinel bytes each side.

use super::packages::Package;

const MAGIC: &[u8] = b"\xff Go buildinf:";
const HEADER: usize = 32;
const FLAG_INLINE: u8 = 2;

/// What a Go binary says it was built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoBuildInfo {
    /// `go1.19.8`.
    pub go_version: String,
    /// The main module and each dependency, as packages (`pkg:golang`).
    pub modules: Vec<Package>,
}

/// The build info of the binary `bytes` (at `path`), if it has one in the
/// inline format.
pub fn read(bytes: &[u8], path: &str) -> Option<GoBuildInfo> {
    if !bytes.starts_with(b"\x7fELF") {
        return None;
    }
    // the section is 16-byte aligned
    let start = (0..bytes.len().saturating_sub(HEADER))
        .step_by(16)
        .find(|&i| bytes[i..].starts_with(MAGIC))?;
    let header = &bytes[start..start + HEADER];
    if header[15] & FLAG_INLINE == 0 {
        return None;
    }
    let mut rest = &bytes[start + HEADER..];
    let go_version = String::from_utf8(take_bytes(&mut rest)?.to_vec()).ok()?;
    // the sentinels are not text
    let modinfo = take_bytes(&mut rest)?;
    let modinfo = modinfo.get(16..modinfo.len().checked_sub(16)?)?;
    let modinfo = std::str::from_utf8(modinfo).ok()?;
    Some(GoBuildInfo {
        go_version,
        modules: modules(modinfo, path),
    })
}

/// uvarint-length-prefixed bytes.
fn take_bytes<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (mut len, mut shift, mut used) = (0usize, 0u32, 0usize);
    for &b in rest.iter().take(10) {
        used += 1;
        len |= usize::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            let s = rest.get(used..used.checked_add(len)?)?;
            *rest = &rest[used + len..];
            return Some(s);
        }
        shift += 7;
    }
    None
}

/// The `mod` and `dep` lines (a `=>` line replaces the one before it).
fn modules(modinfo: &str, path: &str) -> Vec<Package> {
    let mut out: Vec<Package> = Vec::new();
    for line in modinfo.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["mod" | "dep", name, version, ..] => out.push(Package {
                kind: "golang",
                name: name.to_string(),
                version: version.to_string(),
                arch: None,
                source: None,
                found_in: path.to_string(),
            }),
            ["=>", name, version, ..] => {
                if let Some(last) = out.last_mut() {
                    last.name = name.to_string();
                    last.version = version.to_string();
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_build_info_is_read() {
        let modinfo = format!(
            "{}path\texample.org/hello\nmod\texample.org/hello\t(devel)\t\ndep\tgolang.org/x/text\tv0.3.0\th1:abc=\n=>\t./text\t\nbuild\tCGO_ENABLED=0\n{}",
            "0".repeat(16),
            "1".repeat(16)
        )
        .into_bytes();
        let mut bin = b"\x7fELF".to_vec();
        bin.resize(64, 0);
        bin.extend_from_slice(MAGIC);
        bin.push(8);
        bin.push(FLAG_INLINE);
        bin.resize(64 + HEADER, 0);
        let mut modinfo = modinfo;
        // the real sentinels are binary
        modinfo[0] = 0xaf;
        for s in [&b"go1.19.8"[..], &modinfo[..]] {
            let mut n = s.len();
            while n >= 0x80 {
                bin.push((n as u8) | 0x80);
                n >>= 7;
            }
            bin.push(n as u8);
            bin.extend_from_slice(s);
        }
        let info = read(&bin, "/hello").unwrap();
        assert_eq!(info.go_version, "go1.19.8");
        let names: Vec<(&str, &str)> = info
            .modules
            .iter()
            .map(|m| (m.name.as_str(), m.version.as_str()))
            .collect();
        assert_eq!(names, [("example.org/hello", "(devel)"), ("./text", "")]);
        assert!(read(b"not elf", "/x").is_none());
    }
}
