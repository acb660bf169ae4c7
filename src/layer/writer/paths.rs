//! The paths a layer's tar stream has put so far: what each is (for
//! resolving later entries' parents) and whether it is in the layer (for
//! duplicates and missing parents).
//!
//! A path is kept as 128 bits of a salted SHA-256 of its bytes, not as the
//! bytes: a rootfs of 113,000 files held ~400 bytes per entry in two maps
//! of strings (41 MB at 4.5 GB), where an entry here takes ~40. Two paths
//! would have to collide in 128 bits for one to be taken for the other:
//! by chance ~n²/2¹²⁹ (10⁻²⁷ for a million entries), and a crafted archive
//! cannot aim at it, as the salt is drawn afresh by each process. Symlink
//! targets, which resolving needs, are kept whole.

use super::super::resolve::PathKind;
use super::EntryKind;
use sha2::{Digest as _, Sha256};
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};

/// A path's identity: 128 bits of SHA-256(salt ‖ path), from
/// [`Paths::id`]; the tar stream takes it once per entry.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct PathId(u64, u64);

impl Hash for PathId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0);
    }
}

/// A [`PathId`]'s first word is already uniformly spread: the table hashes
/// it no further.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type IdMap<V> = HashMap<PathId, V, BuildHasherDefault<IdHasher>>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    Symlink,
    Other,
}

#[derive(Clone, Copy)]
struct Mark {
    kind: Kind,
    /// The path is in the layer.
    emitted: bool,
}

/// See the module documentation.
pub(super) struct Paths {
    salt: [u8; 16],
    marks: IdMap<Mark>,
    targets: IdMap<String>,
}

impl Default for Paths {
    fn default() -> Self {
        let word = |n: u8| RandomState::new().hash_one(n).to_le_bytes();
        let mut salt = [0; 16];
        salt[..8].copy_from_slice(&word(0));
        salt[8..].copy_from_slice(&word(1));
        Paths {
            salt,
            marks: IdMap::default(),
            targets: IdMap::default(),
        }
    }
}

impl Paths {
    /// The identity of `path` in this set.
    pub(super) fn id(&self, path: &str) -> PathId {
        let sum = Sha256::new()
            .chain_update(self.salt)
            .chain_update(path.as_bytes())
            .finalize();
        let word = |i: usize| u64::from_le_bytes(sum[i..i + 8].try_into().unwrap_or_default());
        PathId(word(0), word(8))
    }

    /// Notes that `path` is now `kind` (a later entry of the same path
    /// replaces what an earlier one was), in the layer or not as before.
    pub(super) fn put(&mut self, id: PathId, kind: &EntryKind) {
        let kind = match kind {
            EntryKind::Dir => Kind::Dir,
            EntryKind::Symlink { target } => {
                self.targets.insert(id, target.clone());
                Kind::Symlink
            }
            _ => Kind::Other,
        };
        if kind != Kind::Symlink {
            self.targets.remove(&id);
        }
        let mark = self.marks.entry(id).or_insert(Mark {
            kind,
            emitted: false,
        });
        mark.kind = kind;
    }

    /// Notes the directory `path`, unless something is there already, as
    /// in the layer.
    pub(super) fn put_parent(&mut self, id: PathId) {
        let mark = self.marks.entry(id).or_insert(Mark {
            kind: Kind::Dir,
            emitted: false,
        });
        mark.emitted = true;
    }

    /// Marks `path`, already put, as in the layer.
    pub(super) fn emit(&mut self, id: PathId) {
        if let Some(mark) = self.marks.get_mut(&id) {
            mark.emitted = true;
        }
    }

    /// Whether `path` is in the layer.
    pub(super) fn emitted(&self, id: PathId) -> bool {
        self.marks.get(&id).is_some_and(|m| m.emitted)
    }

    /// Whether `path` is in the layer.
    pub(super) fn has(&self, path: &str) -> bool {
        self.emitted(self.id(path))
    }

    /// What `path` is so far.
    pub(super) fn kind(&self, path: &str) -> Option<PathKind<'_>> {
        let id = self.id(path);
        self.marks.get(&id).map(|m| match m.kind {
            Kind::Dir => PathKind::Dir,
            Kind::Symlink => PathKind::Symlink(self.targets.get(&id).map_or("", String::as_str)),
            Kind::Other => PathKind::Other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(target: &str) -> EntryKind {
        EntryKind::Symlink {
            target: target.into(),
        }
    }

    #[test]
    fn a_later_entry_replaces_what_a_path_is_and_keeps_whether_it_is_in() {
        let mut p = Paths::default();
        assert!(p.kind("lib").is_none() && !p.has("lib"));
        p.put(p.id("lib"), &link("usr/lib"));
        assert!(matches!(p.kind("lib"), Some(PathKind::Symlink("usr/lib"))));
        assert!(!p.has("lib"), "put is not emitted");
        p.emit(p.id("lib"));
        assert!(p.has("lib"));
        p.put(p.id("lib"), &EntryKind::Dir);
        assert!(matches!(p.kind("lib"), Some(PathKind::Dir)));
        assert!(p.has("lib"), "still in the layer");
        p.put(p.id("lib"), &EntryKind::File { size: 1 });
        assert!(matches!(p.kind("lib"), Some(PathKind::Other)));
        assert!(p.targets.is_empty(), "the old target goes");
        // a parent never replaces what is there
        p.put_parent(p.id("lib"));
        assert!(matches!(p.kind("lib"), Some(PathKind::Other)));
        p.put_parent(p.id("usr"));
        assert!(matches!(p.kind("usr"), Some(PathKind::Dir)) && p.has("usr"));
    }

    #[test]
    fn paths_are_told_apart_and_each_set_has_its_own_salt() {
        let mut p = Paths::default();
        let names: Vec<String> = (0..20_000).map(|i| format!("usr/lib/f{i}")).collect();
        for n in names.iter().step_by(2) {
            p.put(p.id(n), &EntryKind::File { size: 0 });
            p.emit(p.id(n));
        }
        for (i, n) in names.iter().enumerate() {
            assert_eq!(p.has(n), i % 2 == 0, "{n}");
        }
        assert!(!p.has("usr/lib/f1\0") && !p.has(""));
        assert_ne!(Paths::default().salt, p.salt);
        assert!(Paths::default().id("a") != p.id("a"));
    }
}
