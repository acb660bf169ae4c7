//! Running the binary as a person at a terminal would: under `script` (a
//! pseudo-terminal, the raw bytes recorded) inside a detached tmux session
//! (what the screen shows, by `capture-pane`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Quotes `s` for `sh -c`.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A tmux server of its own (killed when dropped), on a socket in the
/// test's directory: `-L NAME` would put it in the shared /tmp/tmux-UID,
/// which two tests starting at once race to create.
struct Tmux {
    socket: std::path::PathBuf,
}

impl Tmux {
    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket);
        c
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

/// What a terminal session showed.
pub struct Screen {
    /// The pane at the end (after the command exited).
    pub last: String,
    /// The pane as sampled while the command ran.
    pub samples: Vec<String>,
    /// Everything the command wrote to the terminal, escapes included.
    pub raw: Vec<u8>,
}

/// Runs `command` (a shell command line) on a `width`-column terminal in
/// `dir`, bounded by `limit`; its screens and raw output.
pub fn run_on_terminal(dir: &Path, command: &str, width: u16, limit: Duration) -> Screen {
    let raw_path = dir.join("terminal.raw");
    static SESSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmux = Tmux {
        socket: dir.join(format!("tmux-{n}.sock")),
    };
    let inner = format!(
        "cd {} && script -qfec {} {}; echo EXIT=$?; sleep 600",
        sh_quote(&dir.display().to_string()),
        sh_quote(command),
        sh_quote(&raw_path.display().to_string())
    );
    let started = tmux
        .cmd()
        .args(["new-session", "-d", "-x", &width.to_string(), "-y", "50"])
        .arg(inner)
        .output()
        .unwrap();
    assert!(
        started.status.success(),
        "tmux new-session failed: {}",
        String::from_utf8_lossy(&started.stderr)
    );
    let capture = || {
        let o = tmux.cmd().args(["capture-pane", "-p"]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let deadline = Instant::now() + limit;
    let mut samples = Vec::new();
    let last = loop {
        let screen = capture();
        if screen.lines().any(|l| l.starts_with("EXIT=")) {
            break screen;
        }
        assert!(
            Instant::now() < deadline,
            "{command} did not finish in {limit:?}:\n{screen}"
        );
        samples.push(screen);
        std::thread::sleep(Duration::from_millis(40));
    };
    let raw = std::fs::read(&raw_path).unwrap_or_default();
    Screen { last, samples, raw }
}

/// Writes `size` bytes that do not compress (xorshift) to `path`.
pub fn random_file(path: &Path, size: usize) {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut bytes = Vec::with_capacity(size + 8);
    while bytes.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(size);
    std::fs::write(path, bytes).unwrap();
}
