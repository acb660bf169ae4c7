//! COPY and ADD, as BuildKit reads them: which files, where, with which
//! owner and mode. The result is the ordered list of [`Source`]s the layer
//! writer turns into one changeset layer.

use super::rootfs::{self, FsKind, FsMeta, RootFs};
use super::{meta, BuildError, Builder, Stage};
use crate::context::{ContextEntry, ContextKind};
use crate::ignore::PatternMatcher;
use crate::layer::{self, Data, Entry, EntryKind, Source};
use crate::span::Span;
use crate::syntax::ast::{Instruction, Paths};
use std::collections::BTreeMap;

/// Flags each instruction accepts (BuildKit's).
const COPY_FLAGS: &[&str] = &["from", "chown", "chmod", "link", "exclude", "parents"];
const ADD_FLAGS: &[&str] = &[
    "chown",
    "chmod",
    "link",
    "exclude",
    "keep-git-dir",
    "checksum",
    "unpack",
];

/// A `--chmod` value: octal, or symbolic (`u+x,go-w`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chmod {
    /// `0755`.
    Octal(u32),
    /// `u=rwx,g+x`: clauses applied in order.
    Symbolic(Vec<(u32, char, u32, bool)>),
}

impl Chmod {
    /// Parses a `--chmod` value.
    pub fn parse(s: &str) -> Result<Chmod, String> {
        if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
            return match u32::from_str_radix(s, 8) {
                Ok(m) if m <= 0o7777 => Ok(Chmod::Octal(m)),
                _ => Err(format!(
                    "invalid chmod parameter: '{s}'. it should be octal string and between 0 and 07777"
                )),
            };
        }
        let bad = || format!("invalid chmod parameter: '{s}'");
        let mut clauses = Vec::new();
        for clause in s.split(',') {
            let op_at = clause.find(['+', '-', '=']).ok_or_else(bad)?;
            let (who, rest) = clause.split_at(op_at);
            let mut who_mask = 0;
            for c in who.chars() {
                who_mask |= match c {
                    'u' => 0o4700,
                    'g' => 0o2070,
                    'o' => 0o1007,
                    'a' => 0o7777,
                    _ => return Err(bad()),
                };
            }
            let all = who_mask == 0;
            if all {
                who_mask = 0o7777;
            }
            let mut chars = rest.chars();
            let op = chars.next().ok_or_else(bad)?;
            let mut perm = 0;
            let mut cap_x = false;
            for c in chars {
                perm |= match c {
                    'r' => 0o444,
                    'w' => 0o222,
                    'x' => 0o111,
                    'X' => {
                        cap_x = true;
                        0
                    }
                    's' => 0o6000,
                    't' => 0o1000,
                    _ => return Err(bad()),
                };
            }
            clauses.push((who_mask, op, perm, cap_x));
        }
        Ok(Chmod::Symbolic(clauses))
    }

    /// The new mode of an entry with `mode`.
    pub fn apply(&self, mode: u32, is_dir: bool) -> u32 {
        match self {
            Chmod::Octal(m) => *m,
            Chmod::Symbolic(clauses) => {
                let mut mode = mode & 0o7777;
                for (who, op, perm, cap_x) in clauses {
                    let mut p = *perm;
                    if *cap_x && (is_dir || mode & 0o111 != 0) {
                        p |= 0o111;
                    }
                    let p = p & who;
                    match op {
                        '+' => mode |= p,
                        '-' => mode &= !p,
                        _ => mode = (mode & !who) | p,
                    }
                }
                mode
            }
        }
    }
}

/// The numeric owner for `spec` (`user[:group]`), names looked up in the
/// stage's own `/etc/passwd` and `/etc/group`.
pub(crate) fn owner_ids(
    b: &mut Builder<'_>,
    stage: &Stage,
    spec: &str,
    span: Span,
) -> Result<(u64, u64), BuildError> {
    let numeric = spec
        .split(':')
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    let (passwd, group) = if numeric && spec.contains(':') {
        (None, None)
    } else {
        let layers = &stage.image.layers;
        let read = |p: &str| -> Result<Option<String>, BuildError> {
            rootfs::read_file(b.layout(), layers, p)
                .map(|o| o.map(|v| String::from_utf8_lossy(&v).into_owned()))
                .map_err(|e| BuildError::at(span, format!("reading {p} of the image: {e}")))
        };
        (read("etc/passwd")?, read("etc/group")?)
    };
    super::users::resolve_owner(spec, passwd.as_deref(), group.as_deref())
        .map_err(|e| BuildError::at(span, e))
}

/// A layer entry with the metadata of an existing path.
pub(crate) fn entry_from_meta(path: &str, m: &FsMeta) -> Entry {
    let kind = match &m.kind {
        FsKind::Dir => EntryKind::Dir,
        FsKind::File { size } => EntryKind::File { size: *size },
        FsKind::Symlink { target } => EntryKind::Symlink {
            target: target.clone(),
        },
        FsKind::Hardlink { target } => EntryKind::Hardlink {
            target: target.clone(),
        },
        FsKind::Other => EntryKind::Dir,
    };
    Entry {
        path: path.to_string(),
        kind,
        mode: m.mode,
        uid: m.uid,
        gid: m.gid,
        mtime: m.mtime,
        xattrs: Vec::new(),
    }
}

/// BuildKit's `pathRelativeToWorkingDir`: an absolute, clean destination
/// that keeps a trailing `/`.
pub fn dest_path(workdir: &str, dest: &str) -> String {
    let mut clean = meta::normalize_workdir(workdir, dest);
    // "" and "." mean the working directory itself, as a directory
    let dir = dest.ends_with('/') || dest.is_empty() || dest == ".";
    if dir && !clean.ends_with('/') {
        clean.push('/');
    }
    clean
}

fn join(dir: &str, name: &str) -> String {
    match (dir.is_empty(), name.is_empty()) {
        (true, _) => name.to_string(),
        (_, true) => dir.to_string(),
        _ => format!("{dir}/{name}"),
    }
}

fn base_name(p: &str) -> &str {
    p.trim_end_matches('/').rsplit('/').next().unwrap_or(p)
}

/// One thing a source resolved to, before it is placed.
enum Item {
    /// A context entry (named directly, links followed) and what is below it.
    Context(ContextEntry),
    /// A path of another stage or image.
    Image(
        String,
        FsMeta,
        Option<std::path::PathBuf>,
        Vec<rootfs::Extracted>,
    ),
    /// A heredoc: name and content.
    Inline(String, String),
}

/// Plans a COPY or ADD: the layer's sources, and the history text.
pub(crate) fn plan(
    b: &mut Builder<'_>,
    index: usize,
    stage: &mut Stage,
    instr: &Instruction,
    paths: &Paths,
    is_add: bool,
) -> Result<(Vec<Source>, String), BuildError> {
    let name = if is_add { "ADD" } else { "COPY" };
    let allowed = if is_add { ADD_FLAGS } else { COPY_FLAGS };
    let mut from = None;
    let mut chown = None;
    let mut chmod = None;
    let mut unpack = is_add;
    let mut link = false;
    let mut excludes = Vec::new();
    for flag in &instr.flags {
        if !allowed.contains(&flag.name.as_str()) {
            return Err(meta::unknown_flag(flag.span, &flag.name, name));
        }
        let raw = flag.value.clone().unwrap_or_default();
        let value = b.expand_word(flag.span, &raw, &stage.vars)?;
        match flag.name.as_str() {
            "from" => from = Some((value, flag.span)),
            "chown" => chown = Some((value, flag.span)),
            "chmod" => {
                chmod = Some((
                    Chmod::parse(&value).map_err(|e| BuildError::at(flag.span, e))?,
                    value,
                ))
            }
            "exclude" => excludes.push(value),
            "unpack" => unpack = flag.value.is_none() || value == "true",
            "link" => link = flag.value.is_none() || value == "true",
            "parents" | "keep-git-dir" | "checksum" => {
                return Err(BuildError::at(
                    flag.span,
                    format!("{name} --{} is not supported by minibuild", flag.name),
                ))
            }
            _ => {}
        }
    }
    let exclude = PatternMatcher::new(&excludes)
        .map_err(|e| BuildError::at(instr.span, format!("bad --exclude pattern: {e}")))?;

    // expand sources and destination
    let mut sources = Vec::new();
    for s in &paths.sources {
        if let Some(name) = s.value.strip_prefix("<<") {
            let name = name.trim_start_matches('-').trim_matches(['"', '\'']);
            let heredoc = instr
                .heredocs
                .iter()
                .find(|h| h.name == name)
                .ok_or_else(|| BuildError::at(s.span, format!("no heredoc body for <<{name}")))?;
            let content = if heredoc.expand {
                b.expand_heredoc(s.span, &heredoc.content, &stage.vars)?
            } else {
                heredoc.content.clone()
            };
            sources.push((s.span, None, Some((heredoc.name.clone(), content))));
            continue;
        }
        let v = b.expand_word(s.span, &s.value, &stage.vars)?;
        if v.contains("://") || v.starts_with("git@") {
            return Err(BuildError::at(
                s.span,
                format!("{name} of remote sources ({v}) is not supported: minibuild builds offline from local files"),
            ));
        }
        sources.push((s.span, Some(v), None));
    }
    let dest_raw = b.expand_word(paths.dest.span, &paths.dest.value, &stage.vars)?;
    let workdir = stage
        .image
        .config
        .config
        .working_dir
        .clone()
        .unwrap_or_else(|| "/".to_string());
    let dest = dest_path(&workdir, &dest_raw);

    // the owner of what is copied, and of directories created for it
    let owner = match &chown {
        Some((spec, span)) if !spec.is_empty() => Some(owner_ids(b, stage, spec, *span)?),
        _ => None,
    };

    // resolve every source to items
    let mut items: Vec<(Span, Item)> = Vec::new();
    let from_image = match &from {
        Some((f, span)) if !f.is_empty() => Some((b.stage_image_for_copy(index, f, *span)?, *span)),
        _ => None,
    };
    for (span, path, inline) in &sources {
        if let Some((n, c)) = inline {
            items.push((*span, Item::Inline(n.clone(), c.clone())));
            continue;
        }
        let path = path.as_deref().unwrap_or_default();
        match &from_image {
            None => {
                let found = b
                    .context()
                    .resolve_source(path)
                    .map_err(|e| BuildError::at(*span, format!("{name} failed: {e}")))?;
                for e in found {
                    items.push((*span, Item::Context(e)));
                }
            }
            Some((img, _)) => {
                for it in resolve_in_image(b, img, path, *span)? {
                    items.push((*span, it));
                }
            }
        }
    }

    // --link: the files are copied onto an empty filesystem and the layer
    // stacked on the image, so the base's directories and symlinks play no
    // part in where they land (BuildKit's meaning)
    let empty = RootFs::default();
    let fs = if link {
        &empty
    } else {
        stage
            .rootfs(b.layout())
            .map_err(|e| BuildError::at(instr.span, e))?
    };
    let dest_key = rootfs::key(&fs.resolve(&dest));
    let several = sources.len() > 1 || items.len() > 1;
    let dest_is_dir = dest.ends_with('/') || fs.is_dir(&dest_key);
    if several && !dest_is_dir {
        return Err(BuildError::at(
            paths.dest.span,
            format!("When using {name} with more than one source file, the destination must be a directory and end with a /"),
        ));
    }

    let epoch = b.epoch().unwrap_or(0);
    let (uid, gid) = owner.unwrap_or((0, 0));
    let new_dir = |path: &str| Entry {
        path: path.to_string(),
        kind: EntryKind::Dir,
        mode: 0o755,
        uid,
        gid,
        mtime: epoch,
        xattrs: Vec::new(),
    };
    let mut planned: BTreeMap<String, (Entry, Data)> = BTreeMap::new();
    let mut archives = Vec::new();
    // files of the context with several links, to keep them hard links
    let mut inode_of: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let fix = |mut e: Entry, keep_owner: bool| -> Entry {
        if let Some((u, g)) = owner {
            e.uid = u;
            e.gid = g;
        } else if !keep_owner {
            e.uid = 0;
            e.gid = 0;
        }
        if let Some((c, _)) = &chmod {
            if !matches!(e.kind, EntryKind::Symlink { .. }) {
                e.mode = c.apply(e.mode, matches!(e.kind, EntryKind::Dir));
            }
        }
        e
    };
    for (_span, item) in items {
        match item {
            Item::Inline(n, content) => {
                let target = if dest_is_dir {
                    join(&dest_key, &n)
                } else {
                    dest_key.clone()
                };
                let e = Entry {
                    path: target.clone(),
                    kind: EntryKind::File {
                        size: content.len() as u64,
                    },
                    mode: 0o644,
                    uid: 0,
                    gid: 0,
                    mtime: epoch,
                    xattrs: Vec::new(),
                };
                planned.insert(target, (fix(e, false), Data::Bytes(content.into_bytes())));
            }
            Item::Context(entry) => match &entry.kind {
                ContextKind::Dir => {
                    if !fs.is_dir(&dest_key) && !dest_key.is_empty() {
                        let e = Entry {
                            mode: entry.mode,
                            mtime: entry.mtime,
                            ..new_dir(&dest_key)
                        };
                        planned.insert(dest_key.clone(), (fix(e, false), Data::None));
                    }
                    let below = b
                        .context()
                        .walk(&entry)
                        .map_err(|e| BuildError::at(instr.span, format!("{name} failed: {e}")))?;
                    for sub in below {
                        if !exclude.is_empty() && exclude.excluded(&sub.rel).unwrap_or(false) {
                            continue;
                        }
                        let target = join(&dest_key, &sub.rel);
                        if let Some(inode) = sub.inode {
                            inode_of.insert(target.clone(), inode);
                        }
                        if let Some((e, d)) = context_entry(&target, &sub) {
                            planned.insert(target, (fix(e, false), d));
                        }
                    }
                }
                ContextKind::File { .. } => {
                    if !exclude.is_empty()
                        && exclude.excluded(base_name(&entry.rel)).unwrap_or(false)
                    {
                        continue;
                    }
                    let archive = if unpack {
                        layer::detect_archive(&entry.path).map_err(|e| {
                            BuildError::at(instr.span, format!("reading {}: {e}", entry.rel))
                        })?
                    } else {
                        None
                    };
                    if archive.is_some() {
                        archives.push(Source::Archive {
                            path: entry.path.clone(),
                            dest_dir: format!("/{dest_key}"),
                            chown: owner,
                            lower: fs.lower(),
                        });
                        if !dest_key.is_empty() && !fs.is_dir(&dest_key) {
                            planned.insert(dest_key.clone(), (new_dir(&dest_key), Data::None));
                        }
                        continue;
                    }
                    let target = if dest_is_dir {
                        join(&dest_key, base_name(&entry.rel))
                    } else {
                        dest_key.clone()
                    };
                    if let Some((e, d)) = context_entry(&target, &entry) {
                        planned.insert(target, (fix(e, false), d));
                    }
                }
                ContextKind::Symlink { .. } | ContextKind::Other => {}
            },
            Item::Image(path, m, data, below) => {
                if m.kind == FsKind::Dir {
                    if !fs.is_dir(&dest_key) && !dest_key.is_empty() {
                        let mut e = entry_from_meta(&dest_key, &m);
                        e.path = dest_key.clone();
                        planned.insert(dest_key.clone(), (fix(e, true), Data::None));
                    }
                    let prefix = if path.is_empty() {
                        String::new()
                    } else {
                        format!("{path}/")
                    };
                    for x in below {
                        let rel = x.path.strip_prefix(&prefix).unwrap_or(&x.path).to_string();
                        if rel.is_empty() || rel == path {
                            continue;
                        }
                        if !exclude.is_empty() && exclude.excluded(&rel).unwrap_or(false) {
                            continue;
                        }
                        let target = join(&dest_key, &rel);
                        let e = entry_from_meta(&target, &x.meta);
                        let e = retarget_hardlink(e, &prefix, &dest_key);
                        let d = x.data.map(Data::Path).unwrap_or(Data::None);
                        planned.insert(target, (fix(e, true), d));
                    }
                } else {
                    let target = if dest_is_dir {
                        join(&dest_key, base_name(&path))
                    } else {
                        dest_key.clone()
                    };
                    let mut e = entry_from_meta(&target, &m);
                    if let EntryKind::Hardlink { .. } = e.kind {
                        // a hard link named as a source is copied as the file
                        e.kind = EntryKind::File {
                            size: data
                                .as_ref()
                                .and_then(|p| std::fs::metadata(p).ok())
                                .map(|m| m.len())
                                .unwrap_or(0),
                        };
                    }
                    let d = data.map(Data::Path).unwrap_or(Data::None);
                    planned.insert(target, (fix(e, true), d));
                }
            }
        }
    }

    // BuildKit keeps hard links among the files one COPY copies: the first
    // path (in layer order) holds the content, the others link to it
    let mut first_of_inode: BTreeMap<(u64, u64), String> = BTreeMap::new();
    for (path, inode) in &inode_of {
        match first_of_inode.get(inode) {
            Some(first) => {
                if let Some((e, d)) = planned.get_mut(path) {
                    e.kind = EntryKind::Hardlink {
                        target: first.clone(),
                    };
                    *d = Data::None;
                }
            }
            None => {
                first_of_inode.insert(*inode, path.clone());
            }
        }
    }

    // parent directories: existing ones keep their metadata
    let mut parents: BTreeMap<String, (Entry, Data)> = BTreeMap::new();
    for path in planned.keys() {
        let mut p = path.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            if !planned.contains_key(parent) && !parents.contains_key(parent) {
                let e = match fs.get(parent) {
                    Some(m) if m.kind == FsKind::Dir => entry_from_meta(parent, m),
                    _ => new_dir(parent),
                };
                parents.insert(parent.to_string(), (e, Data::None));
            }
            p = parent;
        }
    }
    planned.extend(parents);
    let mut out: Vec<Source> = planned
        .into_values()
        .map(|(e, d)| Source::Entry(e, d))
        .collect();
    out.extend(archives);

    // BuildKit's history text
    let mut created_by = String::from(name);
    if let Some((c, _)) = &chown {
        created_by.push_str(&format!(" --chown={c}"));
    }
    if let Some((_, c)) = &chmod {
        created_by.push_str(&format!(" --chmod={c}"));
    }
    for (_, path, _) in &sources {
        if let Some(p) = path {
            created_by.push(' ');
            created_by.push_str(p);
        }
    }
    for (_, _, inline) in &sources {
        if let Some((n, _)) = inline {
            created_by.push_str(&format!(" <<{n}"));
        }
    }
    created_by.push(' ');
    created_by.push_str(&dest_raw);
    Ok((out, created_by))
}

fn retarget_hardlink(mut e: Entry, prefix: &str, dest_key: &str) -> Entry {
    if let EntryKind::Hardlink { target } = &e.kind {
        let rel = target.strip_prefix(prefix).unwrap_or(target);
        e.kind = EntryKind::Hardlink {
            target: join(dest_key, rel),
        };
    }
    e
}

/// A layer entry for a context entry placed at `target`.
fn context_entry(target: &str, c: &ContextEntry) -> Option<(Entry, Data)> {
    let (kind, data) = match &c.kind {
        ContextKind::File { size } => (EntryKind::File { size: *size }, Data::Path(c.path.clone())),
        ContextKind::Dir => (EntryKind::Dir, Data::None),
        ContextKind::Symlink { target } => (
            EntryKind::Symlink {
                target: target.clone(),
            },
            Data::None,
        ),
        ContextKind::Other => return None,
    };
    Some((
        Entry {
            path: target.to_string(),
            kind,
            mode: c.mode,
            uid: 0,
            gid: 0,
            mtime: c.mtime,
            xattrs: Vec::new(),
        },
        data,
    ))
}

/// Resolves a source path (wildcards in its last component allowed) in
/// another stage's or image's filesystem, extracting what it names.
fn resolve_in_image(
    b: &mut Builder<'_>,
    img: &crate::image::Image,
    path: &str,
    span: Span,
) -> Result<Vec<Item>, BuildError> {
    let mut fs = RootFs::default();
    fs.update(b.layout(), &img.layers)
        .map_err(|e| BuildError::at(span, format!("reading the source image: {e}")))?;
    let clean = rootfs::key(path);
    let (dir, last) = match clean.rsplit_once('/') {
        Some((d, l)) => (d.to_string(), l.to_string()),
        None => (String::new(), clean.clone()),
    };
    let mut names = Vec::new();
    if crate::context::has_wildcard(&last) {
        let dir_key = fs.resolve(&dir);
        let prefix = if dir_key.is_empty() {
            String::new()
        } else {
            format!("{dir_key}/")
        };
        for (p, _) in fs.below(&dir_key) {
            // direct children of the directory only
            let name = p.strip_prefix(&prefix).unwrap_or(&p);
            if name.contains('/') {
                continue;
            }
            if crate::ignore::fn_match(&last, name)
                .map_err(|e| BuildError::at(span, e.to_string()))?
            {
                names.push(p.clone());
            }
        }
    } else {
        let resolved = fs.resolve(&clean);
        if !resolved.is_empty() && fs.get(&resolved).is_none() {
            return Err(BuildError::at(
                span,
                format!("COPY failed: {path}: not found in the source stage or image"),
            ));
        }
        names.push(resolved);
    }
    // one pass over the layers for every name
    let extracted = rootfs::extract(b.layout(), &img.layers, &names, b.tmp.path())
        .map_err(|e| BuildError::at(span, format!("reading {path} of the source image: {e}")))?;
    let mut out = Vec::new();
    for p in names {
        let meta = fs.get(&p).cloned().unwrap_or(FsMeta {
            kind: FsKind::Dir,
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime: 0,
        });
        let below: Vec<rootfs::Extracted> = extracted
            .iter()
            .filter(|x| rootfs::is_at_or_below(&x.path, &p))
            .cloned()
            .collect();
        let data = below
            .iter()
            .find(|x| x.path == p)
            .and_then(|x| x.data.clone());
        out.push(Item::Image(p, meta, data, below));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        assert_eq!(dest_path("/", "/app/"), "/app/");
        assert_eq!(dest_path("/app", "x"), "/app/x");
        assert_eq!(dest_path("/app", "."), "/app/");
        assert_eq!(dest_path("/app", "../etc/"), "/etc/");
        assert_eq!(dest_path("/", "/"), "/");
    }

    #[test]
    fn chmod_octal_and_symbolic() {
        assert_eq!(Chmod::parse("755").unwrap().apply(0o644, false), 0o755);
        assert!(Chmod::parse("8").is_err());
        assert!(Chmod::parse("17777").is_err());
        let c = Chmod::parse("u+x,go-w").unwrap();
        assert_eq!(c.apply(0o666, false), 0o744);
        let c = Chmod::parse("a=rX").unwrap();
        assert_eq!(c.apply(0o600, true), 0o555);
        assert_eq!(c.apply(0o600, false), 0o444);
        assert!(Chmod::parse("z+x").is_err());
    }
}
