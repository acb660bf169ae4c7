//! The text of `inspect --layers`: each layer's header, its entries as a
//! tree (the default) or one full path a line (`--flat`), then the image's
//! figures. Nothing is cut: with `--path` the listing says how many
//! entries it left out.

use super::json::{Change, Entry, LayerFiles, LayersReport};
use super::summary::out_err;
use super::tree::draw_paths;
use crate::dest::commands::human_size;
use crate::dest::DestError;
use std::fmt::Write as _;
use std::io::Write;

/// How entries are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Indented under their directories.
    Tree,
    /// One full path a line.
    Flat,
}

/// `drwxr-xr-x`, as `ls -l` and `tar -tv` write modes.
pub fn mode_string(kind: &str, mode: u32) -> String {
    let mut s = String::with_capacity(10);
    s.push(match kind {
        "dir" => 'd',
        "symlink" => 'l',
        "hardlink" => 'h',
        "char" => 'c',
        "block" => 'b',
        "fifo" => 'p',
        _ => '-',
    });
    let special = [(0o4000, 's', 'S'), (0o2000, 's', 'S'), (0o1000, 't', 'T')];
    for (i, (bit, set_x, set_no_x)) in special.iter().enumerate() {
        let shift = 6 - 3 * i;
        let rwx = (mode >> shift) & 7;
        s.push(if rwx & 4 != 0 { 'r' } else { '-' });
        s.push(if rwx & 2 != 0 { 'w' } else { '-' });
        s.push(match (mode & bit != 0, rwx & 1 != 0) {
            (true, true) => *set_x,
            (true, false) => *set_no_x,
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}

fn mark(e: &Entry) -> char {
    match e.change {
        Change::Added => '+',
        Change::Modified => '~',
        Change::Removed => '-',
    }
}

/// What follows an entry: its link, what it replaces or removes, what hides it.
fn notes(e: &Entry) -> String {
    let mut s = String::new();
    if let Some(link) = &e.link {
        let arrow = if e.kind == "hardlink" {
            "link to"
        } else {
            "->"
        };
        let _ = write!(s, " {arrow} {link}");
    }
    if let Some(n) = e.replaces {
        let _ = write!(s, "  (modified: replaces layer {n}'s)");
    }
    if let Some(victim) = &e.removes {
        let what = if e.opaque {
            format!("opaque: empties {victim} of lower layers' entries")
        } else {
            format!("whiteout: removes {victim}")
        };
        let _ = write!(s, "  ({what}, {} entries)", e.removed_entries);
    }
    if let Some(n) = e.hidden_by {
        let _ = write!(s, "  [hidden by layer {n}]");
    }
    s
}

fn attributes(e: &Entry) -> String {
    format!(
        "{} {:>5}/{:<5} {:>9}",
        mode_string(e.kind, e.mode),
        e.uid,
        e.gid,
        e.size
    )
}

/// Prints the report as text.
pub fn print_layers(r: &LayersReport, shape: Shape, out: &mut dyn Write) -> Result<(), DestError> {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Layers of {} ({}, manifest {}), bottom first; + added, ~ modified, - removed",
        r.source, r.platform, r.manifest
    );
    for l in &r.layers {
        layer_header(l, &mut text);
        if let Some(glob) = &r.path_filter {
            let _ = writeln!(
                text,
                "  {} of {} entries match --path {glob}",
                l.entries.len(),
                l.entry_count
            );
        }
        match shape {
            Shape::Flat => {
                for e in &l.entries {
                    let _ = writeln!(
                        text,
                        "  {} {} {}{}",
                        mark(e),
                        attributes(e),
                        e.path,
                        notes(e)
                    );
                }
            }
            Shape::Tree => draw_tree(&l.entries, &mut text),
        }
    }
    let t = &r.totals;
    let _ = writeln!(
        text,
        "Image: {} layers, {} compressed, {} uncompressed, {} in files",
        r.layers.len(),
        human_size(t.compressed_size),
        human_size(t.uncompressed_size),
        human_size(t.files_size)
    );
    let _ = writeln!(
        text,
        "  wasted {} ({} bytes hidden by later layers); efficiency {:.6} ({:.4}%, as dive scores it)",
        human_size(t.wasted_bytes),
        t.wasted_bytes,
        t.efficiency,
        t.efficiency * 100.0
    );
    if !t.inefficiencies.is_empty() {
        let _ = writeln!(text, "  paths written by more than one layer:");
        for i in &t.inefficiencies {
            let _ = writeln!(
                text,
                "    {} copies, {} bytes  {}",
                i.count, i.cumulative_size, i.path
            );
        }
    }
    out.write_all(text.as_bytes()).map_err(out_err)
}

fn layer_header(l: &LayerFiles, text: &mut String) {
    let step = l.created_by.as_deref().unwrap_or("(no history entry)");
    let _ = writeln!(text, "layer {}: {step}", l.index);
    let _ = writeln!(
        text,
        "  blob    {} ({} compressed, {} uncompressed, {})",
        l.digest,
        human_size(l.compressed_size),
        human_size(l.uncompressed_size),
        l.media_type
    );
    if let Some(d) = &l.diff_id {
        let _ = writeln!(text, "  diff_id {d}");
    }
    let _ = writeln!(
        text,
        "  {} entries: {} added, {} modified, {} removed; {} of its file bytes hidden by later layers",
        l.entry_count,
        l.added,
        l.modified,
        l.removed,
        human_size(l.wasted_bytes)
    );
}

/// Draws `entries` under `/`, each line with its mark and attributes
/// (directories the layer has no entry for are named only).
fn draw_tree(entries: &[Entry], text: &mut String) {
    let items = entries.iter().map(|e| {
        (
            e.path.as_str(),
            format!("  {} {}{}", mark(e), attributes(e), notes(e)),
        )
    });
    draw_paths(items, "/", "  ", text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_as_ls_writes_them() {
        assert_eq!(mode_string("dir", 0o755), "drwxr-xr-x");
        assert_eq!(mode_string("file", 0o4755), "-rwsr-xr-x");
        assert_eq!(mode_string("file", 0o2644), "-rw-r-Sr--");
        assert_eq!(mode_string("dir", 0o1777), "drwxrwxrwt");
        assert_eq!(mode_string("symlink", 0o777), "lrwxrwxrwx");
    }
}
