//! Shared helpers for the integration tests: run the binary on contexts the
//! tests write, read the layouts it makes, and drive the peers (buildah,
//! podman, skopeo, umoci, the OCI validator).

pub mod cache;
pub mod ci;
pub mod corpus;
pub mod handmade;
pub mod hygiene;
pub mod inspect;
pub mod platform;
pub mod race;
pub mod terminal;
pub mod torture;

use flate2::read::MultiGzDecoder;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The minibuild binary under test.
pub fn minibuild() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_minibuild"));
    c.env_remove("SOURCE_DATE_EPOCH");
    c
}

/// A temporary directory with a build context, a store and outputs.
pub struct Work {
    pub dir: tempfile::TempDir,
}

impl Work {
    pub fn new() -> Work {
        // podman derives a name from an oci: path, which must be lower case
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let prefix = format!("mbt-{}-{n}-{nanos:x}", std::process::id());
        Work {
            dir: tempfile::Builder::new()
                .prefix(&prefix)
                .rand_bytes(0)
                .tempdir()
                .unwrap(),
        }
    }
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    /// The build context directory (`ctx/`).
    pub fn ctx(&self) -> PathBuf {
        let p = self.path("ctx");
        std::fs::create_dir_all(&p).unwrap();
        p
    }
    /// Writes a file under the context.
    pub fn file(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.ctx().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        p
    }
    /// Writes the Dockerfile.
    pub fn dockerfile(&self, text: &str) -> PathBuf {
        self.file("Dockerfile", text)
    }
    /// Runs minibuild with `args`, the store inside the work dir.
    pub fn run(&self, args: &[&str]) -> Output {
        minibuild()
            .args(args)
            .env("MINIBUILD_STORE", self.path("store"))
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }
    /// Builds the context into `oci:out:NAME`; panics with the output on failure.
    pub fn build_oci(&self, name: &str, extra: &[&str]) -> PathBuf {
        let out = self.path("out");
        let dest = format!("oci:{}:{name}", out.display());
        let ctx = self.ctx();
        let mut args = vec!["build", "-o", &dest];
        args.extend_from_slice(extra);
        let ctx_s = ctx.to_string_lossy().to_string();
        args.push(&ctx_s);
        let o = self.run(&args);
        assert!(
            o.status.success(),
            "minibuild failed:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        out
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Whether the interop peers must be present (in CI they must).
pub fn in_ci() -> bool {
    std::env::var("CI").map(|v| v == "true").unwrap_or(false)
}

/// True if `tool` is on PATH; in CI a missing tool fails the test.
pub fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        assert!(!in_ci(), "{tool} is required in CI but is not installed");
        eprintln!("skipping: {tool} is not installed (run .ci/run to install the peers)");
    }
    found
}

/// The path of the shared validator, if usable.
pub fn validator() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/oci-validate");
    let usable = p.exists()
        && Command::new("python3")
            .args(["-c", "import jsonschema, referencing"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
    if !usable {
        assert!(
            !in_ci(),
            "the OCI validator and its python packages are required in CI"
        );
        eprintln!("skipping validation: ../shared/tools/oci-validate or jsonschema missing");
        return None;
    }
    Some(p)
}

/// Validates a layout: minibuild's own fsck (every blob reached, its
/// size, digest and diff_id), then ../shared/tools/oci-validate (when usable).
pub fn validate(layout: &Path) {
    let opened = minibuild::dest::Layout::open(layout)
        .unwrap_or_else(|e| panic!("opening {}: {e}", layout.display()));
    let report = opened
        .fsck()
        .unwrap_or_else(|e| panic!("fsck of {}: {e:?}", layout.display()));
    assert!(
        report.is_clean(),
        "fsck found problems in {}:\n{report}",
        layout.display()
    );
    if let Some(v) = validator() {
        let o = Command::new("python3").arg(v).arg(layout).output().unwrap();
        assert!(
            o.status.success(),
            "oci-validate rejected {}:\n{}{}",
            layout.display(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

pub fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

pub fn blob(layout: &Path, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").unwrap();
    std::fs::read(layout.join("blobs/sha256").join(hex)).unwrap()
}

/// The manifest of `name` (by ref.name) in a layout.
pub fn manifest_of(layout: &Path, name: &str) -> Value {
    let index = read_json(&layout.join("index.json"));
    let m = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {index}"));
    serde_json::from_slice(&blob(layout, m["digest"].as_str().unwrap())).unwrap()
}

/// ref.name → manifest digest, from a layout's index.json.
pub fn tags(layout: &Path) -> BTreeMap<String, String> {
    let index = read_json(&layout.join("index.json"));
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["annotations"]["org.opencontainers.image.ref.name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                m["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The config of `name` in a layout.
pub fn config_of(layout: &Path, name: &str) -> Value {
    let m = manifest_of(layout, name);
    serde_json::from_slice(&blob(layout, m["config"]["digest"].as_str().unwrap())).unwrap()
}

/// One path of a merged filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: String,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    pub sha256: String,
    pub link: String,
    /// (major, minor) of devices.
    pub dev: (u32, u32),
    /// Extended attributes, sorted.
    pub xattrs: Vec<(String, Vec<u8>)>,
}

/// Decompresses a layer blob by media type.
pub fn layer_tar(layout: &Path, layer: &Value) -> Vec<u8> {
    let data = blob(layout, layer["digest"].as_str().unwrap());
    let mt = layer["mediaType"].as_str().unwrap();
    if mt.ends_with("gzip") {
        let mut out = Vec::new();
        MultiGzDecoder::new(&data[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else if mt.ends_with("zstd") {
        zstd::decode_all(&data[..]).unwrap()
    } else {
        data
    }
}

/// Applies tar entries (with whiteouts) to a merged view.
pub fn apply_tar(fs: &mut BTreeMap<String, Node>, tar_bytes: &[u8]) {
    let mut ar = tar::Archive::new(tar_bytes);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let raw = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let path = raw.trim_start_matches("./").trim_matches('/').to_string();
        let (dir, name) = match path.rsplit_once('/') {
            Some((d, n)) => (d.to_string(), n.to_string()),
            None => (String::new(), path.clone()),
        };
        if name == ".wh..wh..opq" {
            let prefix = format!("{dir}/");
            fs.retain(|p, _| !p.starts_with(&prefix));
            continue;
        }
        if let Some(h) = name.strip_prefix(".wh.") {
            let victim = if dir.is_empty() {
                h.to_string()
            } else {
                format!("{dir}/{h}")
            };
            let prefix = format!("{victim}/");
            fs.retain(|p, _| p != &victim && !p.starts_with(&prefix));
            continue;
        }
        if path.is_empty() {
            continue;
        }
        let mut xattrs: Vec<(String, Vec<u8>)> = e
            .pax_extensions()
            .unwrap()
            .map(|exts| {
                exts.filter_map(|x| x.ok())
                    .filter_map(|x| {
                        let k = x.key().ok()?;
                        k.strip_prefix("SCHILY.xattr.")
                            .map(|n| (n.to_string(), x.value_bytes().to_vec()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        xattrs.sort();
        let h = e.header().clone();
        let link = e
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned())
            .unwrap_or_default();
        let kind = match h.entry_type() {
            tar::EntryType::Directory => "dir",
            tar::EntryType::Regular => "file",
            tar::EntryType::Symlink => "symlink",
            tar::EntryType::Link => "hardlink",
            tar::EntryType::Char => "char",
            tar::EntryType::Block => "block",
            tar::EntryType::Fifo => "fifo",
            _ => "other",
        };
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        let mut node = Node {
            kind: kind.to_string(),
            mode: h.mode().unwrap() & 0o7777,
            uid: h.uid().unwrap(),
            gid: h.gid().unwrap(),
            size: data.len() as u64,
            sha256: hex::encode(Sha256::digest(&data)),
            link: link.trim_start_matches("./").to_string(),
            dev: (
                h.device_major().ok().flatten().unwrap_or(0),
                h.device_minor().ok().flatten().unwrap_or(0),
            ),
            xattrs,
        };
        if !matches!(kind, "char" | "block") {
            node.dev = (0, 0);
        }
        if kind == "hardlink" {
            // a hard link is the same file as its target: compare it as such
            let target = node.link.trim_start_matches('/').to_string();
            if let Some(t) = fs.get(&target) {
                node = Node {
                    link: String::new(),
                    ..t.clone()
                };
            }
        }
        if kind != "dir" {
            let prefix = format!("{path}/");
            fs.retain(|p, _| !p.starts_with(&prefix));
        }
        fs.insert(path, node);
    }
}

/// The merged filesystem of image `name` in `layout`.
pub fn merged_fs(layout: &Path, name: &str) -> BTreeMap<String, Node> {
    let m = manifest_of(layout, name);
    let mut fs = BTreeMap::new();
    for layer in m["layers"].as_array().unwrap() {
        apply_tar(&mut fs, &layer_tar(layout, layer));
    }
    fs
}

/// Runs a peer command, panicking with its output on failure.
pub fn run_ok(cmd: &mut Command) -> Output {
    let o = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Builds `ctx` with buildah (vfs, chroot isolation, its own storage under
/// `work`) and pushes the result to `oci:<work>/buildah-out:NAME`.
pub fn buildah_build(work: &Path, ctx: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let root = work.join("buildah-root");
    let runroot = work.join("buildah-runroot");
    let out = work.join("buildah-out");
    let mut bud = Command::new("buildah");
    bud.arg("--root")
        .arg(&root)
        .arg("--runroot")
        .arg(&runroot)
        .args([
            "--storage-driver",
            "vfs",
            "bud",
            "--isolation",
            "chroot",
            "-t",
            name,
        ])
        .args(extra)
        .arg(ctx);
    run_ok(&mut bud);
    let mut push = Command::new("buildah");
    push.arg("--root")
        .arg(&root)
        .arg("--runroot")
        .arg(&runroot)
        .args(["--storage-driver", "vfs", "push", name])
        .arg(format!("oci:{}:{name}", out.display()));
    run_ok(&mut push);
    out
}

/// Runs `oci:LAYOUT:NAME` with podman; its stdout.
pub fn podman_run(work: &Path, layout: &Path, name: &str, args: &[&str]) -> String {
    let mut c = podman(work);
    c.args(PODMAN_RUN)
        .arg(format!("oci:{}:{name}", layout.display()))
        .args(args);
    stdout_ok(&mut c)
}

/// A static hello binary compiled from examples/hello/hello.c into `dir`.
pub fn static_hello(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello/hello.c");
    let out = dir.join("hello");
    run_ok(
        Command::new("cc")
            .args(["-static", "-Os", "-o"])
            .arg(&out)
            .arg(src),
    );
    out
}

/// A CNCF `docker-registry` on 127.0.0.1 and a free port, with its storage
/// and log in a temporary directory; killed when dropped.
pub struct Registry {
    child: std::process::Child,
    /// The port it listens on.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Registry {
    /// Starts one and waits (at most 20 s) until `/v2/` answers.
    pub fn start() -> Registry {
        Registry::start_with(|_| String::new())
    }

    /// Starts one that wants `user`/`password` (htpasswd, bcrypt through
    /// python3's crypt), over plain HTTP.
    pub fn start_with_login(user: &str, password: &str) -> Registry {
        let hash = Command::new("python3")
            .args([
                "-W",
                "ignore",
                "-c",
                "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))",
                password,
            ])
            .output()
            .unwrap();
        assert!(
            hash.status.success(),
            "bcrypt with python3: {}",
            stderr(&hash)
        );
        let hash = String::from_utf8(hash.stdout).unwrap();
        let line = format!("{user}:{}\n", hash.trim());
        Registry::start_with(|dir| {
            let path = dir.join("htpasswd");
            std::fs::write(&path, &line).unwrap();
            format!(
                "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                path.display()
            )
        })
    }

    /// Starts one with `extra(its directory)` appended to its config.
    fn start_with(extra: impl FnOnce(&Path) -> String) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let extra = extra(dir.path());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n{extra}",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let reg = Registry { child, port, dir };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let url = format!("http://127.0.0.1:{port}/v2/");
        // any answer will do (401 when a login is wanted)
        while !matches!(
            ureq::get(&url).call(),
            Ok(_) | Err(ureq::Error::StatusCode(_))
        ) {
            assert!(
                std::time::Instant::now() < deadline,
                "registry on port {port} did not answer in 20s:\n{}",
                reg.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        reg
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// What the registry logged so far (access log included).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// Stops it now (later pulls must do without it).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `podman` with its own root and runroot under `work`, vfs, runc, cgroupfs.
pub fn podman(work: &Path) -> Command {
    let mut c = Command::new("podman");
    c.arg("--root")
        .arg(work.join("podman-root"))
        .arg("--runroot")
        .arg(work.join("podman-runroot"))
        .args([
            "--storage-driver",
            "vfs",
            "--cgroup-manager",
            "cgroupfs",
            "--runtime",
            "runc",
        ]);
    c
}

/// The arguments `podman run` needs here, up to (not including) the image.
pub const PODMAN_RUN: &[&str] = &[
    "run",
    "--rm",
    "--network",
    "none",
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
];

/// The stdout of a command run with `run_ok`.
pub fn stdout_ok(cmd: &mut Command) -> String {
    String::from_utf8_lossy(&run_ok(cmd).stdout).into_owned()
}

impl Work {
    /// A context whose image prints `Hello from a minibuild image!` and
    /// then `msg` (a file `/msg` is added, so each `msg` is its own image).
    pub fn hello_context(&self, msg: &str) -> PathBuf {
        let ctx = self.ctx();
        if !ctx.join("hello").exists() {
            static_hello(&ctx);
        }
        self.file("msg", msg);
        self.dockerfile("FROM scratch\nCOPY hello /hello\nCOPY msg /msg\nCMD [\"/hello\"]\n");
        ctx
    }

    /// Runs minibuild and asserts that it succeeded; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "minibuild {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

/// xorshift64*: the same inputs on every run (the seeded fuzz tests).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
