//! Helpers of the SBOM/provenance tests: a fake Debian root filesystem
//! (a realistic dpkg status file in a tar) and a static Go binary.

use super::{have, run_ok};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A dpkg status file as Debian 12 writes one (trimmed to a few packages,
/// one removed with its config files left, which is not installed).
pub const DPKG_STATUS: &str = "\
Package: base-files
Essential: yes
Status: install ok installed
Priority: required
Section: admin
Installed-Size: 341
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: amd64
Multi-Arch: foreign
Version: 12.4+deb12u5
Replaces: base, dpkg (<= 1.15.0), miscutils
Provides: base
Conffiles:
 /etc/debian_version 3c5ba7f1ee2f6ff2e6a3d7ab3b7e2a6f
 /etc/host.conf 4eb63731c9f5e30903ac4fc07a7fe3d6
Description: Debian base system miscellaneous files
 This package contains the basic filesystem hierarchy of a Debian system, and
 several important miscellaneous files.

Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12986
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Depends: libgcc-s1
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: libgcc-s1
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 140
Maintainer: Debian GCC Maintainers <debian-gcc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: gcc-12 (12.2.0-14)
Version: 12.2.0-14
Description: GCC support library

Package: vim-tiny
Status: deinstall ok config-files
Priority: important
Section: editors
Architecture: amd64
Source: vim
Version: 2:9.0.1378-2
Description: Vi IMproved - enhanced vi editor - compact version
";

/// The (name, version) of each installed package of a dpkg status file,
/// parsed here independently of minibuild.
pub fn installed_packages(status: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for para in status.split("\n\n") {
        let get = |k: &str| {
            para.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}: ")))
                .map(str::to_string)
        };
        if get("Status").is_some_and(|s| s == "install ok installed") {
            out.push((get("Package").unwrap(), get("Version").unwrap()));
        }
    }
    out.sort();
    out
}

/// A tar of a tiny Debian-like root filesystem holding `DPKG_STATUS`.
pub fn fake_debian_rootfs(path: &Path) {
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, body) in [
        ("etc/debian_version", "12.5\n"),
        (
            "etc/os-release",
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n",
        ),
        ("var/lib/dpkg/status", DPKG_STATUS),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        b.append_data(&mut h, name, body.as_bytes()).unwrap();
    }
    b.finish().unwrap();
}

/// A static Go binary of module `example.org/sbomdemo` built in `dir`
/// (offline, no dependencies), or None when go is missing outside CI.
pub fn go_binary(dir: &Path) -> Option<PathBuf> {
    if !have("go") {
        return None;
    }
    let src = dir.join("gosrc");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("go.mod"),
        "module example.org/sbomdemo\n\ngo 1.19\n",
    )
    .unwrap();
    std::fs::write(
        src.join("main.go"),
        "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"sbom demo\") }\n",
    )
    .unwrap();
    let out = dir.join("sbomdemo");
    run_ok(
        Command::new("go")
            .args(["build", "-trimpath", "-o"])
            .arg(&out)
            .arg(".")
            .current_dir(&src)
            .env("CGO_ENABLED", "0")
            .env("GOFLAGS", "-mod=mod")
            .env("GOPROXY", "off")
            .env("GOPATH", dir.join("gopath"))
            .env("GOCACHE", dir.join("gocache")),
    );
    Some(out)
}
