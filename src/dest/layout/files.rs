//! Reading a layout's own files (`oci-layout`, `index.json`, blobs) as a
//! hostile layout may have them: each must be a regular file, never a
//! symbolic link (it could name any file of the host), a fifo (reading
//! would wait forever) or a device; and the one check of `oci-layout` every
//! command goes through.

use super::{DestError, Layout};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;

/// The `imageLayoutVersion` this implementation reads and writes.
pub(super) const LAYOUT_VERSION: &str = "1.0.0";

/// At most this much of `oci-layout` or `index.json` is read.
const MAX_METADATA_BYTES: u64 = 64 << 20;

/// Whether a directory is a layout yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Nothing there yet (no directory, or one without any layout file):
    /// a layout to create.
    Absent,
    /// A layout whose `oci-layout` names the version this reads.
    Present,
}

/// Opens `path` for reading when it is a regular file, without following a
/// symbolic link and without waiting on a fifo.
pub(super) fn open_regular(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => not_regular("a symbolic link"),
            _ => e,
        })?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        use std::os::unix::fs::FileTypeExt;
        let what = if kind.is_fifo() {
            "a fifo"
        } else if kind.is_dir() {
            "a directory"
        } else if kind.is_block_device() || kind.is_char_device() {
            "a device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(not_regular(what));
    }
    Ok(file)
}

fn not_regular(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("not a regular file ({what})"),
    )
}

/// Reads a layout metadata file whole (bounded), as [`open_regular`] opens it.
pub(super) fn read_regular(path: &Path) -> Result<Vec<u8>, DestError> {
    let what = || format!("reading {}", path.display());
    let file = open_regular(path).map_err(DestError::io(what()))?;
    let mut bytes = Vec::new();
    file.take(MAX_METADATA_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(DestError::io(what()))?;
    if bytes.len() as u64 > MAX_METADATA_BYTES {
        return Err(DestError::invalid(
            what(),
            format!("larger than {} MiB", MAX_METADATA_BYTES >> 20),
        ));
    }
    Ok(bytes)
}

impl Layout {
    /// The one check of a layout every command makes before reading or
    /// writing it: `oci-layout` must be there (when anything of a layout
    /// is) and name version 1.0.0, and `index.json` must be there.
    pub(super) fn state(&self) -> Result<State, DestError> {
        let refuse = |reason: String| DestError::NotALayout {
            path: self.root.clone(),
            reason,
        };
        match fs::metadata(&self.root) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(State::Absent),
            Err(e) => return Err(refuse(format!("{e}"))),
            Ok(m) if !m.is_dir() => return Err(refuse("not a directory".to_string())),
            Ok(_) => {}
        }
        let marker = self.root.join("oci-layout");
        let index = self.root.join("index.json");
        let there = |p: &Path| fs::symlink_metadata(p).is_ok();
        if !there(&marker) {
            if there(&index) || there(&self.root.join("blobs")) {
                return Err(refuse(format!("{} is missing", marker.display())));
            }
            return Ok(State::Absent);
        }
        let text = read_regular(&marker).map_err(|e| match e {
            DestError::Io { source, .. } => refuse(format!("{}: {source}", marker.display())),
            other => refuse(other.to_string()),
        })?;
        let value: serde_json::Value = serde_json::from_slice(&text)
            .map_err(|e| refuse(format!("{}: {e}", marker.display())))?;
        match value.get("imageLayoutVersion").and_then(|v| v.as_str()) {
            Some(LAYOUT_VERSION) => {}
            Some(other) => {
                return Err(refuse(format!(
                    "{}: imageLayoutVersion {other:?} is not {LAYOUT_VERSION}, the version minibuild reads",
                    marker.display()
                )))
            }
            None => {
                return Err(refuse(format!(
                    "{} has no imageLayoutVersion",
                    marker.display()
                )))
            }
        }
        if !there(&index) {
            return Err(refuse(format!("{} is missing", index.display())));
        }
        Ok(State::Present)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_layout_check() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("l");
        let l = Layout::at(&root);
        assert_eq!(l.state().unwrap(), State::Absent, "no directory");
        fs::create_dir(&root).unwrap();
        fs::write(root.join("notes.txt"), b"").unwrap();
        assert_eq!(l.state().unwrap(), State::Absent, "nothing of a layout");
        fs::write(
            root.join("index.json"),
            br#"{"schemaVersion":2,"manifests":[]}"#,
        )
        .unwrap();
        let marker = root.join("oci-layout").display().to_string();
        let cases: [(&[u8], String); 4] = [
            (b"", format!("{marker}: EOF while parsing")),
            (
                br#"{"imageLayoutVersion":"1.1.0"}"#,
                format!("{marker}: imageLayoutVersion \"1.1.0\" is not 1.0.0"),
            ),
            (
                br#"{"imageLayoutVersion":1}"#,
                format!("{marker} has no imageLayoutVersion"),
            ),
            (br#"{"imageLayoutVersion":"1.0.0"}"#, String::new()),
        ];
        let err = l.state().unwrap_err().to_string();
        assert!(err.ends_with(&format!("{marker} is missing")), "{err}");
        for (content, expected) in cases {
            fs::write(root.join("oci-layout"), content).unwrap();
            match l.state() {
                Ok(state) => assert!(expected.is_empty() && state == State::Present),
                Err(e) => assert!(e.to_string().contains(&expected), "{e} / {expected}"),
            }
        }
        fs::remove_file(root.join("oci-layout")).unwrap();
        std::os::unix::fs::symlink(root.join("index.json"), root.join("oci-layout")).unwrap();
        let err = l.state().unwrap_err().to_string();
        assert!(
            err.contains("not a regular file (a symbolic link)"),
            "{err}"
        );
    }
}
