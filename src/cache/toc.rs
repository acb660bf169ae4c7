//! Tables of contents of layers, kept in the store by layer blob digest
//! (`cache/toc/<hex>.json`), so that an unchanged `COPY --from` is keyed
//! without reading its source layers. A blob digest fixes the layer's
//! bytes, so a table never goes stale; a missing or unreadable one is
//! read again from the layer and rewritten.

use crate::digest::Digest;
use crate::executor::rootfs::Toc;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

fn dir(store: &Path) -> PathBuf {
    store.join("cache").join("toc")
}

/// The table of contents of layer `layer` kept in the store at `store`
/// (none when missing, unreadable, or about another layer).
pub fn load(store: &Path, layer: &Digest) -> Option<Toc> {
    let bytes = fs::read(dir(store).join(format!("{}.json", layer.hex()))).ok()?;
    let toc: Toc = serde_json::from_slice(&bytes).ok()?;
    (toc.layer == *layer).then_some(toc)
}

/// Keeps `toc` in the store at `store` (written atomically: concurrent
/// builds write the same bytes, and a reader never sees half a table).
pub fn save(store: &Path, toc: &Toc) -> io::Result<()> {
    let bytes = serde_json::to_vec(toc).map_err(io::Error::other)?;
    let name = format!("{}.json", toc.layer.hex());
    super::write_atomic(&dir(store), &name, &bytes)
}

/// For `prune`: removes the tables of layers `has_blob` says the store no
/// longer has (and leftovers that name no layer).
pub fn prune(store: &Path, has_blob: impl Fn(&Digest) -> bool) -> io::Result<usize> {
    let entries = match fs::read_dir(dir(store)) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        other => other?,
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let layer = name
            .strip_suffix(".json")
            .and_then(|hex| format!("sha256:{hex}").parse::<Digest>().ok());
        if layer.is_some_and(|d| has_blob(&d)) {
            continue;
        }
        match fs::remove_file(entry.path()) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => removed += 1,
        }
    }
    Ok(removed)
}
