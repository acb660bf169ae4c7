//! Reading a Dockerfile from disk, refusing what is not one: a device or a
//! FIFO (`-f /dev/zero` would be read forever), a file too large to be a
//! Dockerfile, bytes that are not UTF-8 (named by line).

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The largest Dockerfile read. BuildKit's own limit on a Dockerfile sent
/// to the frontend is in this range; real ones are a few KiB.
pub const MAX_DOCKERFILE_BYTES: u64 = 16 << 20;

/// Why a Dockerfile could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The path is a directory, device, FIFO or socket.
    #[error("reading Dockerfile {}: not a regular file", path.display())]
    NotAFile {
        /// The path given.
        path: PathBuf,
    },
    /// The file is larger than [`MAX_DOCKERFILE_BYTES`].
    #[error("reading Dockerfile {}: larger than {limit} bytes, the most minibuild reads", path.display())]
    TooLarge {
        /// The path given.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
    },
    /// Bytes that are not UTF-8.
    #[error("reading Dockerfile {}: line {line} is not valid UTF-8", path.display())]
    InvalidUtf8 {
        /// The path given.
        path: PathBuf,
        /// The line (from 1) of the first invalid byte.
        line: usize,
    },
    /// Opening or reading failed.
    #[error("reading Dockerfile {}", path.display())]
    Io {
        /// The path given.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
}

/// Reads the Dockerfile at `path` as text.
pub fn read_dockerfile(path: &Path) -> Result<String, SourceError> {
    let io = |source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let not_a_file = || SourceError::NotAFile {
        path: path.to_path_buf(),
    };
    // checked before opening, since opening a FIFO waits for a writer; and
    // opened non-blocking in case the path changes in between
    if !std::fs::metadata(path).map_err(io)?.is_file() {
        return Err(not_a_file());
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io)?;
    if !file.metadata().map_err(io)?.is_file() {
        return Err(not_a_file());
    }
    let mut bytes = Vec::new();
    file.take(MAX_DOCKERFILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_DOCKERFILE_BYTES {
        return Err(SourceError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_DOCKERFILE_BYTES,
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        SourceError::InvalidUtf8 {
            path: path.to_path_buf(),
            line: valid.iter().filter(|&&b| b == b'\n').count() + 1,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_devices_fifos_large_files_and_bad_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let msg = |p: &Path| read_dockerfile(p).unwrap_err().to_string();
        assert_eq!(
            msg(Path::new("/dev/zero")),
            "reading Dockerfile /dev/zero: not a regular file"
        );
        assert_eq!(
            msg(dir.path()),
            format!(
                "reading Dockerfile {}: not a regular file",
                dir.path().display()
            )
        );
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        assert!(msg(&fifo).ends_with("fifo: not a regular file"));

        let big = dir.path().join("big");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_DOCKERFILE_BYTES + 1).unwrap();
        assert!(msg(&big).ends_with("big: larger than 16777216 bytes, the most minibuild reads"));

        let bad = dir.path().join("bad");
        std::fs::write(&bad, b"FROM scratch\nLABEL a=b\nLABEL x=\xff\n").unwrap();
        assert!(msg(&bad).ends_with("bad: line 3 is not valid UTF-8"));

        let good = dir.path().join("good");
        std::fs::write(&good, "FROM scratch\n").unwrap();
        assert_eq!(read_dockerfile(&good).unwrap(), "FROM scratch\n");
        let missing = dir.path().join("missing");
        let e = read_dockerfile(&missing).unwrap_err();
        assert!(matches!(e, SourceError::Io { .. }), "{e}");
    }
}
