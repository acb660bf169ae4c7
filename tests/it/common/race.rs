//! Helpers of the race helper's tests: layer entries by their raw bytes.

use super::{layer_tar, manifest_of};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// path bytes → (type flag, content or link target), of every layer.
pub fn layer_entries(layout: &Path, name: &str) -> BTreeMap<Vec<u8>, (u8, Vec<u8>)> {
    let manifest = manifest_of(layout, name);
    let mut out = BTreeMap::new();
    for layer in manifest["layers"].as_array().unwrap() {
        let bytes = layer_tar(layout, layer);
        let mut archive = tar::Archive::new(&bytes[..]);
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
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
        }
    }
    out
}

/// path bytes → header, of every layer.
pub fn layer_headers(layout: &Path, name: &str) -> BTreeMap<Vec<u8>, tar::Header> {
    let manifest = manifest_of(layout, name);
    let mut out = BTreeMap::new();
    for layer in manifest["layers"].as_array().unwrap() {
        let bytes = layer_tar(layout, layer);
        let mut archive = tar::Archive::new(&bytes[..]);
        for e in archive.entries().unwrap() {
            let e = e.unwrap();
            out.insert(e.path_bytes().into_owned(), e.header().clone());
        }
    }
    out
}
