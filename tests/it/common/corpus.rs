//! A differential corpus taken from other builders' own test suites
//! (BuildKit's `frontend/dockerfile` integration tests, buildah's
//! `tests/bud.bats`): each case writes its context, builds it with
//! minibuild and checks what the reference's own assertion says.

use super::*;
use serde_json::Value;

/// The `PATH` BuildKit puts in a scratch image's config.
pub const PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One thing a case puts in its context.
pub enum Entry {
    /// A regular file: path, content, mode.
    File(&'static str, &'static str, u32),
    /// A regular file with computed bytes (an archive, say).
    Bytes(&'static str, Vec<u8>, u32),
    /// A directory: path, mode.
    Dir(&'static str, u32),
    /// A symbolic link: path, target.
    Link(&'static str, &'static str),
    /// A hard link: path, the (earlier) entry it is a link to.
    HardLink(&'static str, &'static str),
}

/// One assertion of the reference, on the built image.
pub enum Check {
    /// A regular file with this content.
    Content(&'static str, &'static str),
    /// A symbolic link to this target.
    Symlink(&'static str, &'static str),
    /// A directory.
    Directory(&'static str),
    /// A directory with no entries under it.
    EmptyDir(&'static str),
    /// Nothing at this path.
    Absent(&'static str),
    /// Exactly these paths, no others, in the merged filesystem.
    Paths(Vec<&'static str>),
    /// A layer entry at the path that is a hard link to the target.
    SameFile(&'static str, &'static str),
    /// Permission bits (the low 12) of a path.
    Mode(&'static str, u32),
    /// Numeric owner of a path.
    Owner(&'static str, u64, u64),
    /// The image config's value at a JSON pointer (`/config/Env`).
    Config(&'static str, Value),
    /// The build fails, and its message contains this (every `Fails`
    /// of a case; its other checks are not looked at).
    Fails(&'static str),
}

/// A case: where it comes from, its context, its Dockerfile, the build
/// arguments and what the reference asserts.
pub struct Case {
    /// The reference test (file and function, or bats test name).
    pub source: &'static str,
    pub files: Vec<Entry>,
    pub dockerfile: &'static str,
    /// Write the Dockerfile outside the context (as BuildKit's tests that
    /// pass it as its own local do).
    pub dockerfile_outside: bool,
    /// The Dockerfile's name in the context.
    pub dockerfile_name: &'static str,
    pub args: Vec<&'static str>,
    pub expect: Vec<Check>,
}

impl Case {
    /// A case with a Dockerfile in the context and no build arguments.
    pub fn new(source: &'static str, dockerfile: &'static str) -> Case {
        Case {
            source,
            files: Vec::new(),
            dockerfile,
            dockerfile_outside: false,
            dockerfile_name: "Dockerfile",
            args: Vec::new(),
            expect: Vec::new(),
        }
    }
    pub fn files(mut self, files: Vec<Entry>) -> Case {
        self.files = files;
        self
    }
    pub fn args(mut self, args: &[&'static str]) -> Case {
        self.args = args.to_vec();
        self
    }
    pub fn outside(mut self) -> Case {
        self.dockerfile_outside = true;
        self
    }
    pub fn named(mut self, name: &'static str) -> Case {
        self.dockerfile_name = name;
        self
    }
    pub fn expect(mut self, expect: Vec<Check>) -> Case {
        self.expect = expect;
        self
    }

    /// Builds the case; the differences from the reference, one a line
    /// (empty when it agrees).
    pub fn differences(&self) -> Vec<String> {
        let w = Work::new();
        let ctx = w.ctx();
        for e in &self.files {
            write_entry(&ctx, e);
        }
        let df = if self.dockerfile_outside {
            let p = w.path("Dockerfile.outside");
            std::fs::write(&p, self.dockerfile).unwrap();
            p
        } else {
            w.file(self.dockerfile_name, self.dockerfile)
        };
        let dest = format!("oci:{}:case", w.path("out").display());
        let df_s = df.to_string_lossy().into_owned();
        let ctx_s = ctx.to_string_lossy().into_owned();
        let mut args = vec!["build", "-f", &df_s, "-o", &dest];
        args.extend(self.args.iter().copied());
        args.push(&ctx_s);
        let o = w.run(&args);
        let err = stderr(&o);
        let fails: Vec<&str> = self
            .expect
            .iter()
            .filter_map(|c| match c {
                Check::Fails(m) => Some(*m),
                _ => None,
            })
            .collect();
        if !fails.is_empty() {
            if o.status.success() {
                return vec![format!("built, the reference fails with {fails:?}")];
            }
            return fails
                .iter()
                .filter(|m| !err.contains(*m))
                .map(|m| format!("failed without {m:?}:\n{err}"))
                .collect();
        }
        if !o.status.success() {
            return vec![format!("failed, the reference builds:\n{err}")];
        }
        let out = w.path("out");
        let fs = merged_fs(&out, "case");
        let config = config_of(&out, "case");
        let links = hard_links(&out);
        self.expect
            .iter()
            .filter_map(|c| check(&fs, &links, &config, c))
            .collect()
    }

    /// Panics with the case's differences, if any.
    pub fn assert(&self) {
        let d = self.differences();
        assert!(d.is_empty(), "{}:\n  {}", self.source, d.join("\n  "));
    }
}

/// Runs every case and panics listing each that differs.
pub fn assert_all(cases: Vec<Case>) {
    let failed: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            let d = c.differences();
            (!d.is_empty()).then(|| format!("{}:\n  {}", c.source, d.join("\n  ")))
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} cases differ from the reference:\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n")
    );
}

/// A tar of entries with owners, for contexts whose reference made them
/// with `RUN chown`: (path, directory?, uid, gid, mode), parents first.
pub fn owned_tar(entries: &[(&str, bool, u64, u64, u32)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, dir, uid, gid, mode) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(if *dir {
            tar::EntryType::Directory
        } else {
            tar::EntryType::Regular
        });
        h.set_uid(*uid);
        h.set_gid(*gid);
        h.set_mode(*mode);
        h.set_mtime(0);
        h.set_size(0);
        b.append_data(&mut h, path, &[][..]).unwrap();
    }
    b.into_inner().unwrap()
}

fn write_entry(ctx: &Path, e: &Entry) {
    use std::os::unix::fs::PermissionsExt;
    let (path, mode) = match e {
        Entry::File(p, content, mode) => {
            write_file(&ctx.join(p), content.as_bytes());
            (p, *mode)
        }
        Entry::Bytes(p, content, mode) => {
            write_file(&ctx.join(p), content);
            (p, *mode)
        }
        Entry::Dir(p, mode) => {
            std::fs::create_dir_all(ctx.join(p)).unwrap();
            (p, *mode)
        }
        Entry::Link(p, target) => {
            let at = ctx.join(p);
            std::fs::create_dir_all(at.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(target, at).unwrap();
            return;
        }
        Entry::HardLink(p, target) => {
            let at = ctx.join(p);
            std::fs::create_dir_all(at.parent().unwrap()).unwrap();
            std::fs::hard_link(ctx.join(target), at).unwrap();
            return;
        }
    };
    std::fs::set_permissions(ctx.join(path), std::fs::Permissions::from_mode(mode)).unwrap();
}

fn write_file(p: &Path, content: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// path → target of every hard link entry, over all the image's layers.
fn hard_links(layout: &Path) -> BTreeMap<String, String> {
    let mut links = BTreeMap::new();
    for layer in manifest_of(layout, "case")["layers"].as_array().unwrap() {
        let tar = layer_tar(layout, layer);
        for e in tar::Archive::new(&tar[..]).entries().unwrap() {
            let e = e.unwrap();
            if e.header().entry_type() == tar::EntryType::Link {
                let name = |b: &[u8]| String::from_utf8_lossy(b).trim_matches('/').to_string();
                let target = e.link_name_bytes().map(|l| name(&l)).unwrap_or_default();
                links.insert(name(&e.path_bytes()), target);
            }
        }
    }
    links
}

fn check(
    fs: &BTreeMap<String, Node>,
    links: &BTreeMap<String, String>,
    config: &Value,
    c: &Check,
) -> Option<String> {
    let node = |p: &str| fs.get(p.trim_matches('/'));
    match c {
        Check::Content(p, content) => {
            let want = hex::encode(Sha256::digest(content.as_bytes()));
            match node(p) {
                Some(n) if n.kind == "file" && n.sha256 == want => None,
                other => Some(format!("{p}: want a file {content:?}, got {other:?}")),
            }
        }
        Check::Symlink(p, target) => match node(p) {
            Some(n) if n.kind == "symlink" && n.link == *target => None,
            other => Some(format!("{p}: want a symlink to {target}, got {other:?}")),
        },
        Check::Directory(p) => match node(p) {
            Some(n) if n.kind == "dir" => None,
            other => Some(format!("{p}: want a directory, got {other:?}")),
        },
        Check::EmptyDir(p) => {
            let prefix = format!("{}/", p.trim_matches('/'));
            let under: Vec<&String> = fs.keys().filter(|k| k.starts_with(&prefix)).collect();
            match node(p) {
                Some(n) if n.kind == "dir" && under.is_empty() => None,
                other => Some(format!(
                    "{p}: want an empty directory, got {other:?} holding {under:?}"
                )),
            }
        }
        Check::Absent(p) => node(p).map(|n| format!("{p}: want nothing, got {n:?}")),
        Check::Paths(want) => {
            let got: Vec<&str> = fs.keys().map(String::as_str).collect();
            let mut want = want.clone();
            want.sort();
            (got != want).then(|| format!("want exactly the paths {want:?}, got {got:?}"))
        }
        Check::SameFile(p, target) => match links.get(p.trim_matches('/')) {
            Some(t) if t == target.trim_matches('/') => None,
            other => Some(format!("{p}: want a hard link to {target}, got {other:?}")),
        },
        Check::Mode(p, mode) => match node(p) {
            Some(n) if n.mode == *mode => None,
            other => Some(format!("{p}: want mode {mode:o}, got {other:?}")),
        },
        Check::Owner(p, uid, gid) => match node(p) {
            Some(n) if n.uid == *uid && n.gid == *gid => None,
            other => Some(format!("{p}: want owner {uid}:{gid}, got {other:?}")),
        },
        Check::Config(ptr, want) => {
            let got = config.pointer(ptr).cloned().unwrap_or(Value::Null);
            (got != *want).then(|| format!("config {ptr}: want {want}, got {got}"))
        }
        Check::Fails(_) => None,
    }
}
