//! Fifos, sockets and devices named by a COPY source, and directories
//! that cannot be read (issue #15, item 9). minibuild does what BuildKit
//! does, never an empty layer without a word: fsutil sends a fifo and a
//! device as they are and COPY copies them; it clears a socket's type bit,
//! so a socket becomes an empty regular file. An unreadable directory is
//! an error naming it, whether the source names it or a wildcard walks it.

use crate::common::race::layer_headers;
use crate::common::{have, minibuild, stderr, validate, Work};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn mkfifo(p: &std::path::Path) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o640) }, 0, "mkfifo");
}

#[test]
fn named_fifos_sockets_and_devices_are_copied_as_buildkit_copies_them() {
    let w = Work::new();
    let ctx = w.ctx();
    mkfifo(&ctx.join("pipe"));
    let _l = std::os::unix::net::UnixListener::bind(ctx.join("sock")).unwrap();
    // a device needs CAP_MKNOD: as root, /dev/null's numbers
    let dev = std::process::Command::new("mknod")
        .arg(ctx.join("null"))
        .args(["c", "1", "3"])
        .status()
        .is_ok_and(|s| s.success());
    let mut df = String::from("FROM scratch\nCOPY pipe /p\nCOPY sock /s\n");
    if dev {
        df.push_str("COPY null /n\n");
    }
    w.dockerfile(&df);
    let out = w.build_oci("specials", &[]);
    validate(&out);
    let h = layer_headers(&out, "specials");
    assert_eq!(h[&b"p"[..]].entry_type(), tar::EntryType::Fifo);
    assert_eq!(h[&b"p"[..]].mode().unwrap(), 0o640);
    assert_eq!(h[&b"s"[..]].entry_type(), tar::EntryType::Regular);
    assert_eq!(h[&b"s"[..]].size().unwrap(), 0);
    if dev {
        let n = &h[&b"n"[..]];
        assert_eq!(n.entry_type(), tar::EntryType::Char);
        assert_eq!(n.device_major().unwrap(), Some(1));
        assert_eq!(n.device_minor().unwrap(), Some(3));
    }
}

/// minibuild without the capabilities that let root read any directory.
fn unprivileged() -> Option<Command> {
    if unsafe { libc::geteuid() } != 0 {
        return Some(minibuild());
    }
    if !have("setpriv") {
        return None;
    }
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--inh-caps=-dac_override,-dac_read_search",
        "--bounding-set=-dac_override,-dac_read_search",
        env!("CARGO_BIN_EXE_minibuild"),
    ]);
    Some(cmd)
}

#[test]
fn unreadable_directories_are_errors_never_empty_copies() {
    for (df, named) in [
        ("COPY closed/* /x/\n", "closed"),
        ("COPY closed /x/\n", "closed"),
        ("COPY open /x/\n", "open/closed"),
        ("COPY open/*/secret /x/\n", "open/closed"),
    ] {
        let w = Work::new();
        w.file("closed/secret", "s");
        w.file("open/closed/secret", "s");
        w.file("open/other", "o");
        w.dockerfile(&format!("FROM scratch\n{df}"));
        let Some(mut cmd) = unprivileged() else {
            return;
        };
        for d in ["closed", "open/closed"] {
            std::fs::set_permissions(w.ctx().join(d), PermissionsExt::from_mode(0o000)).unwrap();
        }
        let o = cmd
            .args(["build", "-o", "oci:out:x"])
            .arg(w.ctx())
            .env("MINIBUILD_STORE", w.path("store"))
            .current_dir(w.dir.path())
            .output()
            .unwrap();
        for d in ["closed", "open/closed"] {
            std::fs::set_permissions(w.ctx().join(d), PermissionsExt::from_mode(0o755)).unwrap();
        }
        assert!(
            !o.status.success(),
            "{df}: copied from an unreadable directory"
        );
        let err = stderr(&o);
        assert!(
            err.contains(&format!("reading build context directory {named}"))
                && err.contains("Permission denied"),
            "{df}: {err}"
        );
    }
}
