//! Helpers for the store hygiene tests: incompressible files, snapshots of
//! a directory tree, special files in a layout, and running minibuild as a
//! user who cannot write the store.

use super::{manifest_of, minibuild, read_json, Work};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Flags of a build whose ADD of a few hundred MB of noise stays busy for
/// tens of seconds, for tests that kill it during its layer: zstd's level
/// 19 (gzip's level 9, since libdeflate, writes 300 MB in 1.8 s and could
/// end before the kill).
pub const SLOW_LAYER: [&str; 4] = ["--compression", "zstd", "--compression-level", "19"];

/// Incompressible bytes, fast (xorshift64*), `left` of them.
pub struct Noise {
    state: u64,
    left: u64,
}

impl Noise {
    /// `size` bytes from `seed`.
    pub fn new(size: u64, seed: u64) -> Noise {
        Noise {
            state: 0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_add(1),
            left: size,
        }
    }
}

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize / 8 * 8;
        let n = if n == 0 {
            (self.left as usize).min(buf.len())
        } else {
            n
        };
        for chunk in buf[..n].chunks_mut(8) {
            self.state ^= self.state >> 12;
            self.state ^= self.state << 25;
            self.state ^= self.state >> 27;
            let word = self.state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Writes `size` noisy bytes to `path`.
pub fn noise_file(path: &Path, size: u64, seed: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    std::io::copy(&mut Noise::new(size, seed), &mut f).unwrap();
    f.flush().unwrap();
}

/// Writes a tar of files of noisy bytes to `path`: `(name, size)` each, the
/// n-th seeded with n.
pub fn noise_tar(path: &Path, files: &[(String, u64)]) {
    let f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut tar = tar::Builder::new(f);
    for (i, (name, size)) in files.iter().enumerate() {
        let mut h = tar::Header::new_gnu();
        h.set_size(*size);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, name, Noise::new(*size, i as u64))
            .unwrap();
    }
    tar.into_inner().unwrap().flush().unwrap();
}

/// `bytes` gzip-compressed.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Every path under `dir` (relative, sorted) with its type and size; empty
/// when `dir` does not exist. A layout's lock files are left out: taking a
/// lock writes nothing that is stored.
pub fn tree(dir: &Path) -> Vec<String> {
    walk(dir, false)
}

/// [`tree`] with modes and modification times too.
pub fn tree_with_times(dir: &Path) -> Vec<String> {
    walk(dir, true)
}

fn walk(dir: &Path, times: bool) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with(".minibuild.") || times)
        .map(|e| {
            let m = e.path().symlink_metadata().unwrap();
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            let mut line = format!("{rel} {:?} {}", m.file_type(), m.len());
            if times {
                line.push_str(&format!(" {:o} {}.{}", m.mode(), m.mtime(), m.mtime_nsec()));
            }
            line
        })
        .collect();
    out.sort();
    out
}

/// Sets every directory under `dir` (itself too) to `dirs`, every file to `files`.
pub fn chmod_tree(dir: &Path, dirs: u32, files: u32) {
    for e in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
    {
        let mode = if e.file_type().is_dir() { dirs } else { files };
        std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

/// Runs minibuild as a user who cannot write what root owns: root itself
/// ignores file modes, so as root (a container, CI) it drops to `nobody`
/// with setpriv.
pub struct ReadOnlyRunner {
    as_nobody: bool,
    tmp: PathBuf,
}

impl ReadOnlyRunner {
    /// None (the test skips) when running as root without setpriv.
    pub fn new(w: &Work) -> Option<ReadOnlyRunner> {
        let root = std::fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false);
        if root && !super::have("setpriv") {
            return None;
        }
        // the user must reach the context and write the outputs
        std::fs::set_permissions(w.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = w.path("out");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o777)).unwrap();
        let tmp = w.path("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o777)).unwrap();
        chmod_tree(&w.ctx(), 0o755, 0o644);
        Some(ReadOnlyRunner {
            as_nobody: root,
            tmp,
        })
    }

    /// Runs minibuild with `args`.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut c = if self.as_nobody {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(minibuild().get_program());
            c
        } else {
            minibuild()
        };
        c.args(args)
            .env_remove("SOURCE_DATE_EPOCH")
            .env("TMPDIR", &self.tmp)
            .env("HOME", &self.tmp)
            .output()
            .unwrap()
    }
}

/// Which blob of an image [`store_blob`] gives.
pub enum Blob {
    /// The manifest.
    Manifest,
    /// The first layer.
    Layer,
}

/// The path of a blob of the image `name` in the layout `store`.
pub fn store_blob(store: &Path, name: &str, which: Blob) -> PathBuf {
    let digest = match which {
        Blob::Manifest => {
            let index = read_json(&store.join("index.json"));
            let entry = index["manifests"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == name)
                .unwrap()
                .clone();
            entry["digest"].as_str().unwrap().to_string()
        }
        Blob::Layer => manifest_of(store, name)["layers"][0]["digest"]
            .as_str()
            .unwrap()
            .to_string(),
    };
    store.join("blobs/sha256").join(&digest[7..])
}

/// What [`make_special`] puts where a layout file was.
#[derive(Debug, Clone, Copy)]
pub enum Special {
    /// A fifo nobody writes.
    Fifo,
    /// A symbolic link to a file outside the layout.
    SymlinkOut,
}

/// Makes `path` a special file (`outside` is where a symbolic link points).
pub fn make_special(path: &Path, special: Special, outside: &Path) {
    match special {
        Special::Fifo => {
            let ok = Command::new("mkfifo").arg(path).status().unwrap();
            assert!(ok.success());
        }
        Special::SymlinkOut => std::os::unix::fs::symlink(outside, path).unwrap(),
    }
}
