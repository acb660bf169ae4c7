//! The package databases an SBOM lists: Debian's `/var/lib/dpkg/status`
//! and Alpine's `/lib/apk/db/installed`, as the package managers write them.

/// One package found in an image.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Package {
    /// `deb`, `apk` or `golang` (the purl type).
    pub kind: &'static str,
    /// The package (or module) name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its architecture, when the database states one.
    pub arch: Option<String>,
    /// The source package (dpkg `Source:`, apk origin `o:`), if other.
    pub source: Option<String>,
    /// Where it was found (the database file or binary, absolute).
    pub found_in: String,
}

impl Package {
    /// Its package URL (purl spec): `pkg:deb/debian/NAME@VERSION?arch=ARCH`,
    /// `pkg:apk/alpine/NAME@VERSION?arch=ARCH`, `pkg:golang/PATH@VERSION`.
    pub fn purl(&self) -> String {
        let namespace = match self.kind {
            "deb" => "debian/",
            "apk" => "alpine/",
            _ => "",
        };
        let mut out = format!(
            "pkg:{}/{namespace}{}@{}",
            self.kind,
            purl_escape(&self.name, true),
            purl_escape(&self.version, false)
        );
        let mut qualifiers = Vec::new();
        if let Some(a) = &self.arch {
            qualifiers.push(format!("arch={}", purl_escape(a, false)));
        }
        if let Some(s) = self.source.as_ref().filter(|_| self.kind == "deb") {
            qualifiers.push(format!("upstream={}", purl_escape(s, false)));
        }
        if !qualifiers.is_empty() {
            out.push('?');
            out.push_str(&qualifiers.join("&"));
        }
        out
    }
}

/// Percent-encodes what a purl component may not hold (`/` kept in names,
/// Go module paths being namespaces).
fn purl_escape(s: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        let plain = b.is_ascii_alphanumeric()
            || matches!(b, b'.' | b'-' | b'_' | b'~')
            || (keep_slash && b == b'/');
        if plain {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The paragraphs of a deb822 file (dpkg status, apk's uses its own
/// format), each as (field, value) pairs; continuation lines appended.
fn paragraphs(text: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut current: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = current.last_mut() {
                v.push('\n');
                v.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            current.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The installed packages of a dpkg status file (`Status: install ok
/// installed`, or no Status field as in `status.d` files).
pub fn dpkg_status(text: &str, found_in: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for p in paragraphs(text) {
        let field = |name: &str| {
            p.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let installed = field("Status").is_none_or(|s| s.ends_with(" installed"));
        let (Some(name), Some(version)) = (field("Package"), field("Version")) else {
            continue;
        };
        if !installed {
            continue;
        }
        // `Source: name (version)` when the source's version differs
        let source = field("Source")
            .map(|s| s.split_whitespace().next().unwrap_or_default().to_string())
            .filter(|s| !s.is_empty() && *s != name);
        out.push(Package {
            kind: "deb",
            name,
            version,
            arch: field("Architecture"),
            source,
            found_in: found_in.to_string(),
        });
    }
    out
}

/// The packages of an apk `installed` database (`P:` name, `V:` version,
/// `A:` architecture, `o:` origin), blank-line separated.
pub fn apk_installed(text: &str, found_in: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let field = |key: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
                .map(str::to_string)
        };
        if let (Some(name), Some(version)) = (field("P"), field("V")) {
            let source = field("o").filter(|o| *o != name);
            out.push(Package {
                kind: "apk",
                name,
                version,
                arch: field("A"),
                source,
                found_in: found_in.to_string(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status_lists_installed_packages_only() {
        let text = "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\nVersion: 2.36-9\nDescription: GNU C Library\n multi-line\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: bash\nStatus: install ok installed\nVersion: 5.2-2\nArchitecture: amd64\n";
        let p = dpkg_status(text, "/var/lib/dpkg/status");
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[0].purl(),
            "pkg:deb/debian/libc6@2.36-9?arch=amd64&upstream=glibc"
        );
        assert_eq!(p[1].purl(), "pkg:deb/debian/bash@5.2-2?arch=amd64");
    }

    #[test]
    fn apk_installed_reads_each_block() {
        let text = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\no:musl\n\nP:busybox-binsh\nV:1.36.1-r5\nA:x86_64\no:busybox\n";
        let p = apk_installed(text, "/lib/apk/db/installed");
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].purl(), "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64");
        assert_eq!(p[1].source.as_deref(), Some("busybox"));
    }
}
