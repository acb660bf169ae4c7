//! What a layer step's cache key covers, as BuildKit computes its keys:
//! the layers below, the instruction with its flags, the values of the
//! variables it names, how the layer is written, and a checksum of every
//! source entry — path, type, size, mode, owner, xattrs, link target and
//! content digest, never the mtime (a fresh checkout must hit).
//!
//! The resolved sources carry every decision that shapes the layer:
//! `.dockerignore` and `--exclude` (what is in the list), `--chown` names
//! resolved through the image's passwd (the owners), heredoc bodies (the
//! bytes), so the key of two builds is the same exactly when they would
//! write the same layer.

use crate::digest::{sha256, Digest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped when what a key covers changes: older entries then never hit.
const KEY_FORMAT: &str = "minibuild cache key v1";

/// Everything a layer step's key covers, kept in its cache entry so a
/// later miss can name the first input that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    /// The layers below (their digests hashed), or `scratch`.
    pub parent: String,
    /// The instruction as written, flags and heredoc bodies included.
    pub instruction: String,
    /// The build args and variables the instruction names, with their values.
    pub args: BTreeMap<String, String>,
    /// Compression, level and mtime clamp.
    pub layer_options: String,
    /// Every source, in the order the layer takes them.
    pub sources: Vec<SourceSum>,
}

/// One source entry as the key sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceSum {
    /// The path in the layer (for an archive: where it is unpacked).
    pub path: String,
    /// `file`, `dir`, `symlink -> T`, `hardlink -> T`, `archive NAME`...
    pub kind: String,
    /// Content length (files).
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Owner `uid:gid`.
    pub owner: String,
    /// Extended attributes, hashed (empty when none).
    pub xattrs: String,
    /// The content's digest (empty when it has none).
    pub content: String,
}

impl Inputs {
    /// The key: a digest over all the inputs.
    pub fn key(&self) -> Digest {
        let mut bytes = KEY_FORMAT.as_bytes().to_vec();
        bytes.push(b'\n');
        // serializing plain strings and numbers cannot fail
        bytes.extend(serde_json::to_vec(self).unwrap_or_default());
        sha256(&bytes)
    }

    /// The first input that differs from `old`'s, said for people:
    /// `content of app/a.txt changed`, `mode of a 0664→0644`, `build arg
    /// V changed "1" → "2"`. `None` when they are the same.
    pub fn first_difference(&self, old: &Inputs) -> Option<String> {
        if self.parent != old.parent {
            return Some("the parent changed (the base image or an earlier step)".into());
        }
        if self.instruction != old.instruction {
            return Some(format!(
                "the instruction changed: {:?} → {:?}",
                old.instruction, self.instruction
            ));
        }
        if self.args != old.args {
            return Some(args_difference(&old.args, &self.args));
        }
        if self.layer_options != old.layer_options {
            return Some(format!(
                "the layer options changed: {} → {}",
                old.layer_options, self.layer_options
            ));
        }
        sources_difference(&old.sources, &self.sources)
    }
}

fn args_difference(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> String {
    let names = old.keys().chain(new.keys());
    for name in names {
        match (old.get(name), new.get(name)) {
            (Some(a), Some(b)) if a != b => {
                return format!("build arg {name} changed: {a:?} → {b:?}")
            }
            (None, Some(b)) => return format!("build arg {name} is now set ({b:?})"),
            (Some(a), None) => return format!("build arg {name} is no longer set (was {a:?})"),
            _ => {}
        }
    }
    "the build args changed".into()
}

fn sources_difference(old: &[SourceSum], new: &[SourceSum]) -> Option<String> {
    let by_path = |list: &[SourceSum]| -> BTreeMap<String, SourceSum> {
        list.iter().map(|s| (s.path.clone(), s.clone())).collect()
    };
    let (before, after) = (by_path(old), by_path(new));
    for (path, n) in &after {
        let Some(o) = before.get(path) else {
            return Some(format!("new file {path}"));
        };
        if let Some(field) = field_difference(o, n) {
            return Some(format!("{field} of {path}"));
        }
    }
    if let Some(path) = before.keys().find(|p| !after.contains_key(*p)) {
        return Some(format!("removed file {path}"));
    }
    (old != new).then(|| "the order of the sources changed".into())
}

/// Which field of one source differs, first the type, last the content.
fn field_difference(o: &SourceSum, n: &SourceSum) -> Option<String> {
    if o.kind != n.kind {
        return Some(format!("type {} → {}", o.kind, n.kind));
    }
    if o.mode != n.mode {
        return Some(format!("mode {:04o}→{:04o}", o.mode, n.mode));
    }
    if o.owner != n.owner {
        return Some(format!("owner {}→{}", o.owner, n.owner));
    }
    if o.size != n.size {
        return Some(format!("size {}→{}", o.size, n.size));
    }
    if o.xattrs != n.xattrs {
        return Some("extended attributes".into());
    }
    if o.content != n.content {
        return Some("content".into());
    }
    None
}

/// The variable names `text` refers to (`$NAME`, `${NAME...}`).
pub fn referenced_names(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut names = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        i += 1;
        if bytes.get(i) == Some(&b'{') {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        if i > start {
            names.push(text[start..i].to_string());
        }
    }
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, mode: u32, content: &str) -> SourceSum {
        SourceSum {
            path: path.into(),
            kind: "file".into(),
            size: content.len() as u64,
            mode,
            owner: "0:0".into(),
            xattrs: String::new(),
            content: sha256(content.as_bytes()).to_string(),
        }
    }

    fn inputs(sources: Vec<SourceSum>) -> Inputs {
        Inputs {
            parent: "scratch".into(),
            instruction: "COPY . /".into(),
            args: BTreeMap::new(),
            layer_options: "gzip".into(),
            sources,
        }
    }

    #[test]
    fn the_first_difference_is_named() {
        let old = inputs(vec![file("a", 0o664, "x"), file("b", 0o644, "y")]);
        assert_eq!(old.first_difference(&old.clone()), None);
        let cases = [
            (
                vec![file("a", 0o644, "x"), file("b", 0o644, "y")],
                "mode 0664→0644 of a",
            ),
            (
                vec![file("a", 0o664, "x"), file("b", 0o644, "z")],
                "content of b",
            ),
            (
                vec![file("a", 0o664, "x"), file("b", 0o644, "yy")],
                "size 1→2 of b",
            ),
            (vec![file("a", 0o664, "x")], "removed file b"),
            (
                vec![
                    file("a", 0o664, "x"),
                    file("b", 0o644, "y"),
                    file("c", 0, ""),
                ],
                "new file c",
            ),
        ];
        for (sources, said) in cases {
            let new = inputs(sources);
            assert_eq!(new.first_difference(&old).as_deref(), Some(said));
            assert_ne!(new.key(), old.key());
        }
        let mut new = old.clone();
        new.args.insert("V".into(), "2".into());
        let said = new.first_difference(&old).unwrap_or_default();
        assert_eq!(said, "build arg V is now set (\"2\")");
    }

    #[test]
    fn names_an_instruction_refers_to() {
        let names = referenced_names("COPY --chown=$U ${SRC:-x} /$DEST_1/ $ $");
        assert_eq!(names, ["DEST_1", "SRC", "U"]);
    }
}
