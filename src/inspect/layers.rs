//! `inspect --layers`: every layer's tar entries, bottom first, each
//! marked added, modified (naming the lower layer whose entry it replaces)
//! or removed (a `.wh.` whiteout, or an opaque directory's `.wh..wh..opq`),
//! and the image's wasted bytes and efficiency.
//!
//! Layers are read as streams through the one layer reader
//! ([`crate::layer::uncompressed`]); only the headers are kept. The merged
//! view below the layer being read says, for every path, which layer wrote
//! it last.
//!
//! Wasted bytes are the bytes of files a later layer hides (replaces or
//! removes). Efficiency is dive's score (`filetree.Efficiency`): every
//! path's copies over all layers are summed, and the smallest copy of each
//! path over that sum is the score; a whiteout of a file counts 0 bytes, a
//! whiteout of a directory the bytes below it, an opaque marker nothing,
//! as dive counts them. dive's "wasted" sums every copy of a path written
//! more than once (the one that stays included); ours is what is hidden.

use super::json::{Change, Entry, ImageTotals, Inefficiency, LayerFiles, LayersReport};
use super::source::Opened;
use super::summary::{config_platform, layer_steps, manifest_and_config};
use crate::dest::BlobSource as _;
use crate::dest::DestError;
use crate::oci::{Descriptor, Platform};
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read};

/// The entry that last wrote a path, below the layer being read.
#[derive(Debug, Clone, Copy)]
struct Lower {
    layer: usize,
    /// Its position in that layer's entries.
    pos: usize,
    size: u64,
    is_dir: bool,
}

/// One path's copies, as dive counts them.
#[derive(Debug, Default)]
struct Copies {
    count: usize,
    cumulative: u64,
    min: Option<u64>,
}

/// The state of reading an image's layers, bottom first.
#[derive(Default)]
struct Stack {
    /// Path (no leading `/`; the root is "") → the entry that wrote it.
    merged: BTreeMap<String, Lower>,
    layers: Vec<LayerFiles>,
    copies: HashMap<String, Copies>,
}

/// Reads every layer of the image `opened` shows for `platform`; with
/// `path_glob`, only the entries it matches (a match on a directory
/// brings what is below it) are listed, but every figure counts them all.
pub fn analyze(
    opened: &Opened,
    platform: Option<&Platform>,
    path_glob: Option<&str>,
) -> Result<LayersReport, DestError> {
    let (desc, manifest, config) = manifest_and_config(opened, platform)?;
    let steps = layer_steps(&config, manifest.layers.len());
    let mut stack = Stack::default();
    for (n, layer) in manifest.layers.iter().enumerate() {
        let files = LayerFiles {
            created_by: steps[n].clone(),
            diff_id: config.rootfs.diff_ids.get(n).cloned(),
            ..LayerFiles::unread(
                n,
                layer.digest.clone(),
                layer.media_type.clone(),
                layer.size,
            )
        };
        stack.layers.push(files);
        stack.read_layer(opened, layer, n)?;
    }
    let totals = stack.totals();
    let mut layers = stack.layers;
    if let Some(glob) = path_glob {
        let pattern = absolute(glob);
        crate::ignore::fn_match(&pattern, "/")
            .map_err(|e| DestError::invalid(format!("using --path {glob:?}"), e.to_string()))?;
        for l in &mut layers {
            l.entries.retain(|e| shown(&pattern, e));
        }
    }
    Ok(LayersReport {
        source: opened.source.clone(),
        manifest: desc.digest,
        platform: config_platform(&config),
        path_filter: path_glob.map(str::to_string),
        layers,
        totals,
    })
}

/// `pattern` with a leading `/`, as entry paths have.
fn absolute(pattern: &str) -> String {
    if pattern.starts_with('/') {
        pattern.to_string()
    } else {
        format!("/{pattern}")
    }
}

/// Whether `--path` shows `e`: the glob matches its path, a directory
/// above it, or what it removes.
fn shown(pattern: &str, e: &Entry) -> bool {
    let matches = |path: &str| {
        let mut p = path.trim_end_matches('/');
        loop {
            if crate::ignore::fn_match(pattern, if p.is_empty() { "/" } else { p }).unwrap_or(false)
            {
                return true;
            }
            match p.rfind('/') {
                Some(i) if !p.is_empty() => p = &p[..i],
                _ => return false,
            }
        }
    };
    matches(&e.path) || e.removes.as_deref().is_some_and(matches)
}

/// Counts what goes through it.
struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// The path of a tar entry without `./` and slashes at the ends ("" is the root).
pub fn clean_path(raw: &str) -> String {
    raw.split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// The name JSON and listings give an entry type.
pub fn kind_name(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Regular | tar::EntryType::Continuous => "file",
        tar::EntryType::Directory => "dir",
        tar::EntryType::Symlink => "symlink",
        tar::EntryType::Link => "hardlink",
        tar::EntryType::Char => "char",
        tar::EntryType::Block => "block",
        tar::EntryType::Fifo => "fifo",
        _ => "other",
    }
}

impl Stack {
    fn read_layer(
        &mut self,
        opened: &Opened,
        desc: &Descriptor,
        n: usize,
    ) -> Result<(), DestError> {
        let what = format!("reading layer {n} ({})", desc.digest);
        let blob = opened.blobs.open_blob(&desc.digest)?;
        let reader = crate::layer::uncompressed(&desc.media_type, blob)
            .map_err(DestError::io(what.clone()))?;
        let mut archive = tar::Archive::new(Counting {
            inner: reader,
            count: 0,
        });
        for entry in archive.entries().map_err(DestError::io(what.clone()))? {
            let entry = entry.map_err(DestError::io(what.clone()))?;
            let h = entry.header();
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let path = clean_path(&raw);
            let kind = h.entry_type();
            let e = Entry {
                path: format!("/{path}"),
                kind: kind_name(kind),
                mode: h.mode().unwrap_or(0) & 0o7777,
                uid: h.uid().unwrap_or(0),
                gid: h.gid().unwrap_or(0),
                size: entry.size(),
                link: entry
                    .link_name_bytes()
                    .map(|l| String::from_utf8_lossy(&l).into_owned()),
                change: Change::Added,
                replaces: None,
                removes: None,
                opaque: false,
                removed_entries: 0,
                hidden_by: None,
            };
            self.apply(n, path, e);
        }
        let mut rest = archive.into_inner();
        crate::digest::copy(&mut rest, &mut io::sink()).map_err(DestError::io(what))?;
        self.layers[n].uncompressed_size = rest.count;
        Ok(())
    }

    /// Marks `e` (at `path`, in layer `n`) against the merged view, and
    /// applies it there.
    fn apply(&mut self, n: usize, path: String, mut e: Entry) {
        let (dir, name) = match path.rsplit_once('/') {
            Some((d, b)) => (d.to_string(), b.to_string()),
            None => (String::new(), path.clone()),
        };
        let pos = self.layers[n].entries.len();
        if name == ".wh..wh..opq" {
            // the directory stays; what lower layers put in it goes
            let (count, _) = self.hide_below(&dir, n, n);
            e.change = Change::Removed;
            e.removes = Some(format!("/{dir}"));
            e.opaque = true;
            e.removed_entries = count;
        } else if let Some(victim) = name.strip_prefix(".wh.") {
            let victim = if dir.is_empty() {
                victim.to_string()
            } else {
                format!("{dir}/{victim}")
            };
            let mut count = 0;
            let mut was_dir = false;
            if let Some(lower) = self.merged.get(&victim).copied().filter(|l| l.layer < n) {
                self.merged.remove(&victim);
                self.hide(lower, n);
                count += 1;
                was_dir = lower.is_dir;
            }
            let (below, bytes) = self.hide_below(&victim, n, n);
            count += below;
            // dive: a removed file counts nothing, a removed directory
            // what was below it
            self.copy_of(&victim, if was_dir || below > 0 { bytes } else { 0 });
            e.change = Change::Removed;
            e.removes = Some(format!("/{victim}"));
            e.removed_entries = count;
        } else {
            let is_dir = e.kind == "dir";
            if let Some(lower) = self.merged.get(&path).copied() {
                e.change = Change::Modified;
                e.replaces = Some(lower.layer);
                self.hide(lower, n);
                if lower.is_dir && !is_dir {
                    self.hide_below(&path, n + 1, n);
                }
            }
            if !is_dir {
                self.copy_of(&path, e.size);
            }
            let size = if e.kind == "file" { e.size } else { 0 };
            self.merged.insert(
                path,
                Lower {
                    layer: n,
                    pos,
                    size,
                    is_dir,
                },
            );
        }
        let layer = &mut self.layers[n];
        match e.change {
            Change::Added => layer.added += 1,
            Change::Modified => layer.modified += 1,
            Change::Removed => layer.removed += 1,
        }
        layer.entry_count += 1;
        layer.entries.push(e);
    }

    /// Marks `lower` as hidden by layer `n`.
    fn hide(&mut self, lower: Lower, n: usize) {
        let layer = &mut self.layers[lower.layer];
        layer.wasted_bytes += lower.size;
        if let Some(e) = layer.entries.get_mut(lower.pos) {
            e.hidden_by = Some(n);
        }
    }

    /// Hides (by layer `hider`) and forgets what layers below `below` put
    /// under `dir`; how many entries and bytes that was.
    fn hide_below(&mut self, dir: &str, below: usize, hider: usize) -> (usize, u64) {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let gone: Vec<(String, Lower)> = self
            .merged
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter(|(p, l)| !p.is_empty() && l.layer < below)
            .map(|(p, l)| (p.clone(), *l))
            .collect();
        let mut bytes = 0;
        for (p, l) in &gone {
            self.merged.remove(p);
            self.hide(*l, hider);
            bytes += l.size;
        }
        (gone.len(), bytes)
    }

    fn copy_of(&mut self, path: &str, size: u64) {
        let c = self.copies.entry(path.to_string()).or_default();
        c.count += 1;
        c.cumulative += size;
        c.min = Some(c.min.map_or(size, |m| m.min(size)));
    }

    fn totals(&self) -> ImageTotals {
        let (mut minimum, mut discovered) = (0u64, 0u64);
        for c in self.copies.values() {
            minimum += c.min.unwrap_or(0);
            discovered += c.cumulative;
        }
        let mut inefficiencies: Vec<Inefficiency> = self
            .copies
            .iter()
            .filter(|(_, c)| c.count > 1)
            .map(|(p, c)| Inefficiency {
                path: format!("/{p}"),
                count: c.count,
                cumulative_size: c.cumulative,
            })
            .collect();
        inefficiencies.sort_by(|a, b| {
            b.cumulative_size
                .cmp(&a.cumulative_size)
                .then(a.path.cmp(&b.path))
        });
        let files_size = self
            .layers
            .iter()
            .flat_map(|l| &l.entries)
            .filter(|e| e.kind == "file")
            .map(|e| e.size)
            .sum();
        ImageTotals {
            compressed_size: self.layers.iter().map(|l| l.compressed_size).sum(),
            uncompressed_size: self.layers.iter().map(|l| l.uncompressed_size).sum(),
            files_size,
            wasted_bytes: self.layers.iter().map(|l| l.wasted_bytes).sum(),
            efficiency: if discovered == 0 {
                1.0
            } else {
                minimum as f64 / discovered as f64
            },
            inefficiencies,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, kind: &'static str, size: u64) -> Entry {
        Entry {
            path: format!("/{path}"),
            kind,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size,
            link: None,
            change: Change::Added,
            replaces: None,
            removes: None,
            opaque: false,
            removed_entries: 0,
            hidden_by: None,
        }
    }

    fn stack_of(layers: &[&[(&str, &'static str, u64)]]) -> Stack {
        let mut s = Stack::default();
        for (n, entries) in layers.iter().enumerate() {
            let digest = crate::digest::sha256(&[n as u8]);
            s.layers
                .push(LayerFiles::unread(n, digest, String::new(), 0));
            for (path, kind, size) in entries.iter() {
                s.apply(n, path.to_string(), entry(path, kind, *size));
            }
        }
        s
    }

    #[test]
    fn an_opaque_marker_keeps_what_its_own_layer_put_there() {
        let s = stack_of(&[
            &[("d", "dir", 0), ("d/old", "file", 4)],
            &[("d/new", "file", 2), ("d/.wh..wh..opq", "file", 0)],
        ]);
        assert!(s.merged.contains_key("d/new"), "same layer: kept");
        assert!(!s.merged.contains_key("d/old"));
        assert_eq!(s.layers[1].entries[1].removed_entries, 1);
        assert_eq!(s.totals().wasted_bytes, 4);
    }

    #[test]
    fn a_file_over_a_directory_hides_what_was_below_it() {
        let s = stack_of(&[
            &[("x", "dir", 0), ("x/a", "file", 3), ("x/b", "file", 5)],
            &[("x", "file", 1)],
        ]);
        let top = &s.layers[1].entries[0];
        assert_eq!((top.change, top.replaces), (Change::Modified, Some(0)));
        assert_eq!(s.layers[0].entries[2].hidden_by, Some(1));
        assert_eq!(s.totals().wasted_bytes, 8);
        assert_eq!(s.merged.len(), 1);
    }

    #[test]
    fn path_globs_match_the_path_or_a_directory_above_it() {
        let e = entry("etc/apt/sources.list", "file", 1);
        assert!(shown("/etc", &e));
        assert!(shown("/etc/ap?", &e));
        assert!(shown("/etc/*/sources.list", &e));
        assert!(!shown("/usr", &e));
        assert!(!shown("/et", &e));
        let mut wh = entry("etc/.wh.motd", "file", 0);
        wh.removes = Some("/etc/motd".into());
        assert!(shown("/etc/motd", &wh));
        assert_eq!(absolute("etc/*"), "/etc/*");
    }
}
