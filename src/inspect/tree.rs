//! `inspect --tree`: the layout as the walkthroughs draw it — the
//! directory tree (`oci-layout`, `index.json`, `blobs/sha256/<hex>`) with
//! every blob labelled by what it is (index, manifest for which platform,
//! config, layer n, or unreferenced) and its size — and the references
//! drawn from `index.json` down to configs and layers. A docker-archive is
//! drawn as its members, referenced from its `manifest.json`.

use super::json::{LayoutTree, TreeEdge, TreeFile};
use super::source::{Opened, SourceKind};
use super::summary::out_err;
use crate::dest::commands::human_size;
use crate::dest::graph::{is_index, is_manifest, ConfigFile, Index, Manifest};
use crate::dest::layout::ref_name;
use crate::dest::DestError;
use crate::digest::Digest;
use crate::oci::Descriptor;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

/// What the blobs are, found by walking the references.
#[derive(Default)]
struct Roles {
    /// digest → (role, labels).
    of: BTreeMap<Digest, (String, Vec<String>)>,
    edges: Vec<TreeEdge>,
}

impl Roles {
    fn set(&mut self, digest: &Digest, role: &str, label: String) {
        let slot = self
            .of
            .entry(digest.clone())
            .or_insert_with(|| (role.to_string(), Vec::new()));
        if !slot.1.contains(&label) {
            slot.1.push(label);
        }
    }

    fn edge(&mut self, from: String, to: &Digest, label: String) {
        self.edges.push(TreeEdge {
            from,
            to: to.clone(),
            label,
        });
    }

    /// Walks an index entry (at most 8 indexes deep).
    fn walk(&mut self, opened: &Opened, desc: &Descriptor, from: String, how: String, depth: u8) {
        self.edge(from, &desc.digest, how);
        let here = desc.digest.to_string();
        if is_index(&desc.media_type) && depth < 8 {
            self.set(&desc.digest, "index", "image index".into());
            let Ok(index) = opened.blobs.read_json::<Index>(&desc.digest) else {
                return;
            };
            for m in &index.manifests {
                self.walk(opened, m, here.clone(), "manifest".into(), depth + 1);
            }
        } else if is_manifest(&desc.media_type) {
            let Ok(m) = opened.blobs.read_json::<Manifest>(&desc.digest) else {
                self.set(&desc.digest, "manifest", "manifest (unreadable)".into());
                return;
            };
            let platform = match &desc.platform {
                Some(p) => p.to_string(),
                None => opened
                    .blobs
                    .read_json::<ConfigFile>(&m.config.digest)
                    .map(|c| super::summary::config_platform(&c))
                    .unwrap_or_else(|_| "?".into()),
            };
            let short = desc.digest.short();
            self.set(&desc.digest, "manifest", format!("manifest for {platform}"));
            self.set(
                &m.config.digest,
                "config",
                format!("config of manifest {short}"),
            );
            self.edge(here.clone(), &m.config.digest, "config".into());
            for (n, l) in m.layers.iter().enumerate() {
                self.set(&l.digest, "layer", format!("layer {n} of manifest {short}"));
                self.edge(here.clone(), &l.digest, format!("layer {n}"));
            }
        } else {
            self.set(&desc.digest, "other", desc.media_type.clone());
        }
    }
}

/// Gathers the drawing of `opened`.
pub fn layout_tree(opened: &Opened) -> Result<LayoutTree, DestError> {
    if opened.kind == SourceKind::DockerArchive {
        return Ok(archive_tree(opened));
    }
    let mut roles = Roles::default();
    let entries = match opened.kind {
        SourceKind::Store => vec![opened.top()?.clone()],
        _ => opened.blobs.index()?.manifests,
    };
    for e in &entries {
        let how = match ref_name(e) {
            Some(name) => format!("ref {name}"),
            None => "entry".to_string(),
        };
        roles.walk(opened, e, "index.json".into(), how, 0);
    }
    let listing = opened.blobs.files()?;
    let mut files = top_files(&listing);
    files.extend(blob_files(opened, &roles, &listing));
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(LayoutTree {
        source: opened.source.clone(),
        root: opened.shown_root().display().to_string(),
        files,
        edges: roles.edges,
    })
}

/// The files at the top of a layout (of `listing`): `oci-layout`,
/// `index.json`, and any other (an oci-archive's Docker `manifest.json`).
fn top_files(listing: &[(String, u64)]) -> Vec<TreeFile> {
    let size_of = |name: &str| listing.iter().find(|(n, _)| n == name).map_or(0, |f| f.1);
    let mut files = Vec::new();
    for (name, label) in [
        ("oci-layout", "says this is an OCI layout (version 1.0.0)"),
        (
            "index.json",
            "the entry point: names → manifests (or indexes)",
        ),
    ] {
        files.push(TreeFile {
            path: name.into(),
            size: size_of(name),
            digest: None,
            role: name.into(),
            label: label.into(),
        });
    }
    // other files at the top (an oci-archive's Docker manifest.json)
    for (name, size) in listing {
        if name.contains('/') || ["oci-layout", "index.json"].contains(&name.as_str()) {
            continue;
        }
        let label = match name.as_str() {
            "manifest.json" => "Docker's image list, so docker-style loaders read the archive too",
            _ => "not part of the OCI layout",
        };
        files.push(TreeFile {
            path: name.clone(),
            size: *size,
            digest: None,
            role: "other".into(),
            label: label.into(),
        });
    }
    files
}

/// The blobs of a layout (of `listing`), labelled by `roles` (a store's
/// blobs of other images are left out).
fn blob_files(opened: &Opened, roles: &Roles, listing: &[(String, u64)]) -> Vec<TreeFile> {
    let mut files = Vec::new();
    for (path, size) in listing {
        let Some(name) = path.strip_prefix("blobs/sha256/") else {
            continue;
        };
        let digest = format!("sha256:{name}").parse::<Digest>().ok();
        let (role, label) = match digest.as_ref().and_then(|d| roles.of.get(d)) {
            Some((role, labels)) => (role.clone(), labels.join("; ")),
            // a store holds other images: only this one's blobs are drawn
            None if opened.kind == SourceKind::Store => continue,
            None => (
                "unreferenced".to_string(),
                "nothing references it".to_string(),
            ),
        };
        files.push(TreeFile {
            path: path.clone(),
            size: *size,
            digest,
            role,
            label,
        });
    }
    files
}

/// A docker-archive's members, and what its `manifest.json` references.
fn archive_tree(opened: &Opened) -> LayoutTree {
    let manifest: Option<Manifest> = opened
        .top()
        .ok()
        .and_then(|top| opened.blobs.read_json(&top.digest).ok());
    let mut roles: BTreeMap<Digest, (String, String)> = BTreeMap::new();
    let mut edges = Vec::new();
    if let Some(m) = &manifest {
        roles.insert(m.config.digest.clone(), ("config".into(), "config".into()));
        edges.push(TreeEdge {
            from: "manifest.json".into(),
            to: m.config.digest.clone(),
            label: "config".into(),
        });
        for (n, l) in m.layers.iter().enumerate() {
            let label = format!("layer {n} (uncompressed tar: its name is its diff_id)");
            roles
                .entry(l.digest.clone())
                .or_insert(("layer".into(), label));
            edges.push(TreeEdge {
                from: "manifest.json".into(),
                to: l.digest.clone(),
                label: format!("layer {n}"),
            });
        }
    }
    let files = opened
        .members
        .iter()
        .map(|m| {
            let (role, label) = match (&m.link, &m.digest) {
                (Some(target), _) => ("link".to_string(), format!("link to {target}")),
                _ if m.name == "manifest.json" => (
                    "manifest.json".to_string(),
                    "the image list: config and layers of each image".to_string(),
                ),
                _ if m.name == "repositories" => (
                    "repositories".to_string(),
                    "docker's old tag list: repository → tag → top layer".to_string(),
                ),
                (None, Some(d)) => roles
                    .get(d)
                    .cloned()
                    .unwrap_or_else(|| ("other".into(), String::new())),
                (None, None) => ("dir".into(), String::new()),
            };
            TreeFile {
                path: m.name.clone(),
                size: m.size,
                digest: m.digest.clone(),
                role,
                label,
            }
        })
        .collect();
    LayoutTree {
        source: opened.source.clone(),
        root: opened.shown_root().display().to_string(),
        files,
        edges,
    }
}

/// A directory of a drawing: the lines for this path (a tar may hold a
/// path twice: every entry is drawn) and what is below.
#[derive(Default)]
struct Node {
    lines: Vec<String>,
    children: BTreeMap<String, Node>,
}

/// Draws `items` (path, what to say after its name) as a tree under
/// `root_line`, `├──`/`└──` style; directories without an item of their
/// own are named with a trailing `/`.
pub fn draw_paths<'a>(
    items: impl IntoIterator<Item = (&'a str, String)>,
    root_line: &str,
    indent: &str,
    text: &mut String,
) {
    let mut root = Node::default();
    for (path, line) in items {
        let mut node = &mut root;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            node = node.children.entry(part.to_string()).or_default();
        }
        node.lines.push(line);
    }
    match root.lines.as_slice() {
        [] => {
            let _ = writeln!(text, "{indent}{root_line}");
        }
        lines => lines.iter().for_each(|l| {
            let _ = writeln!(text, "{indent}{root_line}{l}");
        }),
    }
    draw_children(&root, indent, text);
}

fn draw_children(node: &Node, prefix: &str, text: &mut String) {
    let last = node.children.len().saturating_sub(1);
    for (i, (name, child)) in node.children.iter().enumerate() {
        let (branch, more) = if i == last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        if child.lines.is_empty() {
            let _ = writeln!(text, "{prefix}{branch}{name}/");
        }
        for line in &child.lines {
            let _ = writeln!(text, "{prefix}{branch}{name}{line}");
        }
        draw_children(child, &format!("{prefix}{more}"), text);
    }
}

/// Prints the drawing: the files, then the references.
pub fn print_tree(t: &LayoutTree, out: &mut dyn Write) -> Result<(), DestError> {
    let mut text = String::new();
    let items = t.files.iter().map(|f| {
        let label = if f.label.is_empty() || f.label == f.role {
            f.role.clone()
        } else if ["layer", "config", "manifest", f.path.as_str()].contains(&f.role.as_str()) {
            f.label.clone()
        } else {
            format!("{}: {}", f.role, f.label)
        };
        (
            f.path.as_str(),
            format!("  ({})  {label}", human_size(f.size)),
        )
    });
    draw_paths(items, &format!("{}/", t.root), "", &mut text);
    let _ = writeln!(text, "\nReferences:");
    let sizes: BTreeMap<&Digest, u64> = t
        .files
        .iter()
        .filter_map(|f| f.digest.as_ref().map(|d| (d, f.size)))
        .collect();
    let root = if t.edges.iter().any(|e| e.from == "manifest.json") {
        "manifest.json"
    } else {
        "index.json"
    };
    let _ = writeln!(text, "{root}");
    draw_edges(t, root, "", &sizes, 0, &mut text);
    out.write_all(text.as_bytes()).map_err(out_err)
}

fn draw_edges(
    t: &LayoutTree,
    from: &str,
    prefix: &str,
    sizes: &BTreeMap<&Digest, u64>,
    depth: u8,
    text: &mut String,
) {
    let edges: Vec<&TreeEdge> = t.edges.iter().filter(|e| e.from == from).collect();
    let last = edges.len().saturating_sub(1);
    for (i, e) in edges.iter().enumerate() {
        let (branch, more) = if i == last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        let size = match sizes.get(&e.to) {
            Some(s) => human_size(*s),
            None => "not in the layout".to_string(),
        };
        let _ = writeln!(text, "{prefix}{branch}{}  {}  ({size})", e.label, e.to);
        if depth < 8 {
            let next = e.to.to_string();
            draw_edges(t, &next, &format!("{prefix}{more}"), sizes, depth + 1, text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_drawn_even_a_path_given_twice() {
        let mut text = String::new();
        let items = [
            ("/a/b", " first".to_string()),
            ("/a/b", " again".to_string()),
            ("/c", " c".to_string()),
        ];
        draw_paths(
            items.iter().map(|(p, l)| (*p, l.clone())),
            "/",
            "",
            &mut text,
        );
        assert_eq!(
            text,
            "/\n├── a/\n│   └── b first\n│   └── b again\n└── c c\n"
        );
    }
}
