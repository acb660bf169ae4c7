//! Helpers of the race helper's tests: layer entries by their raw bytes.

use super::{layer_tar, manifest_of};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// Calls `each` on every entry of every layer of `name`, bottom first.
fn for_each_entry(layout: &Path, name: &str, mut each: impl FnMut(tar::Entry<&[u8]>)) {
    let manifest = manifest_of(layout, name);
    for layer in manifest["layers"].as_array().unwrap() {
        let bytes = layer_tar(layout, layer);
        let mut archive = tar::Archive::new(&bytes[..]);
        for e in archive.entries().unwrap() {
            each(e.unwrap());
        }
    }
}

/// path bytes → (type flag, content or link target), of every layer.
pub fn layer_entries(layout: &Path, name: &str) -> BTreeMap<Vec<u8>, (u8, Vec<u8>)> {
    let mut out = BTreeMap::new();
    for_each_entry(layout, name, |mut e| {
        let path = e.path_bytes().into_owned();
        let flag = e.header().entry_type().as_byte();
        let mut data = Vec::new();
        match e.link_name_bytes() {
            Some(l) => data = l.into_owned(),
            None => {
                e.read_to_end(&mut data).unwrap();
            }
        }
        out.insert(path, (flag, data));
    });
    out
}

/// path bytes → header, of every layer.
pub fn layer_headers(layout: &Path, name: &str) -> BTreeMap<Vec<u8>, tar::Header> {
    let mut out = BTreeMap::new();
    for_each_entry(layout, name, |e| {
        out.insert(e.path_bytes().into_owned(), e.header().clone());
    });
    out
}
