//! Reading a `docker save` archive (`docker-archive:`), as podman, skopeo
//! and Docker write it: a `manifest.json` listing each image's config
//! member and layer members (`<diff_id hex>.tar`, the legacy
//! `<id>/layer.tar` with symlinks between them, or Docker 25's
//! `blobs/sha256/<hex>`). The archive is read once; its members go to a
//! scratch directory and the image is put together there as an OCI layout
//! (the config and layers as they are, a manifest written for them), so
//! everything else reads it as any layout: `FROM docker-archive:` and
//! `inspect`.

use super::{DestError, ImageName, Layout};
use crate::digest::{Digest, HashingWriter};
use crate::oci::{self, Descriptor};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// One image in `manifest.json`.
#[derive(Debug, Deserialize)]
struct ManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// A member of the archive, as `inspect --tree` draws it.
#[derive(Debug, Clone)]
pub struct ArchiveMember {
    /// Its name in the archive.
    pub name: String,
    /// Its size (0 for directories and links).
    pub size: u64,
    /// The sha256 of its bytes (regular files only).
    pub digest: Option<Digest>,
    /// For a symlink or hard link: the member it stands for.
    pub link: Option<String>,
}

/// A docker-archive, read.
pub struct DockerArchive {
    /// The layout the image was put together in.
    pub layout: Layout,
    /// The manifest written for it (tagged with its RepoTag, if any).
    pub manifest: Descriptor,
    /// The archive's members, in archive order.
    pub members: Vec<ArchiveMember>,
    /// Members named for a digest they do not have.
    pub problems: Vec<String>,
}

/// Reads `file` into `dir`: the image `reference` names (one of its
/// RepoTags), or the archive's only image.
pub fn read(
    file: &Path,
    reference: Option<&ImageName>,
    dir: &Path,
) -> Result<DockerArchive, DestError> {
    let what = format!("reading docker archive {}", file.display());
    let files = dir.join("members");
    std::fs::create_dir_all(&files).map_err(DestError::io(what.clone()))?;
    let (members, stored) = unpack(file, &files, &what)?;
    let find = |name: &str| -> Result<(PathBuf, Digest), DestError> {
        let key = resolve(&members, name);
        stored
            .get(&key)
            .cloned()
            .ok_or_else(|| DestError::invalid(what.clone(), format!("no member {name}")))
    };
    let (list_path, _) = find("manifest.json")?;
    let bytes = std::fs::read(&list_path).map_err(DestError::io(what.clone()))?;
    let entries: Vec<ManifestEntry> = serde_json::from_slice(&bytes).map_err(DestError::json(
        format!("parsing manifest.json of {}", file.display()),
    ))?;
    let entry = choose(&entries, reference, &what)?;
    let layout = Layout::create(&dir.join("layout"))?;
    let mut problems = Vec::new();
    let (config_path, config_digest) = find(&entry.config)?;
    check_name(&entry.config, &config_digest, "config", &mut problems);
    let config_size = store_blob(&layout, &config_path, &config_digest)?;
    let mut layers = Vec::new();
    for (n, name) in entry.layers.iter().enumerate() {
        let (path, digest) = find(name)?;
        check_name(name, &digest, &format!("layer {n}"), &mut problems);
        let media_type = sniff(&path).map_err(DestError::io(what.clone()))?;
        let size = store_blob(&layout, &path, &digest)?;
        layers.push(Descriptor::new(media_type, digest, size));
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::MEDIA_TYPE_MANIFEST,
        "config": Descriptor::new(oci::MEDIA_TYPE_CONFIG, config_digest, config_size),
        "layers": layers,
    });
    let bytes = oci::canonical_json(&manifest).map_err(DestError::json("writing a manifest"))?;
    let digest = layout.put_blob(&bytes)?;
    let desc = Descriptor::new(oci::MEDIA_TYPE_MANIFEST, digest, bytes.len() as u64);
    match entry.repo_tags.as_ref().and_then(|t| t.first()) {
        Some(tag) => layout.tag(&desc, &ImageName::from(tag.as_str()))?,
        None => layout.add_untagged(&desc)?,
    }
    Ok(DockerArchive {
        layout,
        manifest: desc,
        members,
        problems,
    })
}

/// The entry of `manifest.json` for `reference`, or its only entry.
fn choose<'a>(
    entries: &'a [ManifestEntry],
    reference: Option<&ImageName>,
    what: &str,
) -> Result<&'a ManifestEntry, DestError> {
    let tags = |e: &ManifestEntry| e.repo_tags.clone().unwrap_or_default();
    match reference {
        Some(name) => entries
            .iter()
            .find(|e| tags(e).iter().any(|t| name.names(t)))
            .ok_or_else(|| DestError::NotFound {
                name: name.to_string(),
                layout: PathBuf::from(what.trim_start_matches("reading docker archive ")),
            }),
        None => match entries {
            [only] => Ok(only),
            _ => Err(DestError::invalid(
                what,
                format!(
                    "manifest.json lists {} images; name one (docker-archive:FILE:NAME) of: {}",
                    entries.len(),
                    entries.iter().flat_map(tags).collect::<Vec<_>>().join(", ")
                ),
            )),
        },
    }
}

/// Reads every member once: regular files to `files/<n>` (hashed on the
/// way), links remembered. Returns the members and name → (file, digest).
#[allow(clippy::type_complexity)]
fn unpack(
    file: &Path,
    files: &Path,
    what: &str,
) -> Result<(Vec<ArchiveMember>, BTreeMap<String, (PathBuf, Digest)>), DestError> {
    let f = File::open(file).map_err(DestError::io(format!("opening {}", file.display())))?;
    let mut archive = tar::Archive::new(io::BufReader::new(f));
    let mut members = Vec::new();
    let mut stored = BTreeMap::new();
    for (n, entry) in archive
        .entries()
        .map_err(DestError::io(what.to_string()))?
        .enumerate()
    {
        let mut entry = entry.map_err(DestError::io(what.to_string()))?;
        let name = clean(&String::from_utf8_lossy(&entry.path_bytes()));
        let kind = entry.header().entry_type();
        let mut member = ArchiveMember {
            name: name.clone(),
            size: 0,
            digest: None,
            link: None,
        };
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default();
            member.link = Some(if kind.is_symlink() {
                join_relative(&name, &target)
            } else {
                clean(&target)
            });
        } else if kind.is_file() {
            let path = files.join(n.to_string());
            let out = File::create(&path).map_err(DestError::io(what.to_string()))?;
            let mut out = HashingWriter::new(BufWriter::new(out));
            io::copy(&mut entry, &mut out)
                .map_err(DestError::io(format!("{what}: member {name}")))?;
            let (mut buf, digest, size) = out.finish();
            buf.flush().map_err(DestError::io(what.to_string()))?;
            member.size = size;
            member.digest = Some(digest.clone());
            stored.insert(name.clone(), (path, digest));
        }
        members.push(member);
    }
    Ok((members, stored))
}

/// A member name without `./` or slashes at the ends.
fn clean(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// A symlink's target, relative to the member's directory, as a member name.
fn join_relative(member: &str, target: &str) -> String {
    if target.starts_with('/') {
        return clean(target);
    }
    match member.rsplit_once('/') {
        Some((dir, _)) => clean(&format!("{dir}/{target}")),
        None => clean(target),
    }
}

/// The member `name` stands for, links followed (at most 16).
fn resolve(members: &[ArchiveMember], name: &str) -> String {
    let mut name = clean(name);
    for _ in 0..16 {
        match members
            .iter()
            .find(|m| m.name == name)
            .and_then(|m| m.link.clone())
        {
            Some(next) => name = next,
            None => break,
        }
    }
    name
}

/// A member named `<hex>.json`, `<hex>.tar` or `blobs/sha256/<hex>` must
/// hash to that hex (a layer's name is its diff_id: it is uncompressed).
fn check_name(name: &str, digest: &Digest, role: &str, problems: &mut Vec<String>) {
    let base = name.rsplit('/').next().unwrap_or(name);
    let stem = base
        .strip_suffix(".json")
        .or_else(|| base.strip_suffix(".tar"))
        .unwrap_or(base);
    let named = stem.len() == 64 && stem.bytes().all(|b| b.is_ascii_hexdigit());
    if named && stem != digest.hex() {
        problems.push(format!(
            "{role} member {name}: the content has digest {digest}, its name says sha256:{stem}"
        ));
    }
}

/// The layer media type a member's first bytes say.
fn sniff(path: &Path) -> io::Result<&'static str> {
    let mut magic = [0u8; 4];
    let n = File::open(path)?.read(&mut magic)?;
    Ok(match &magic[..n] {
        [0x1f, 0x8b, ..] => oci::MEDIA_TYPE_LAYER_GZIP,
        [0x28, 0xb5, 0x2f, 0xfd] => oci::MEDIA_TYPE_LAYER_ZSTD,
        _ => oci::MEDIA_TYPE_LAYER_TAR,
    })
}

/// Moves a member into the layout as the blob `digest` (a copy when a
/// second member is the same blob); its size.
fn store_blob(layout: &Layout, path: &Path, digest: &Digest) -> Result<u64, DestError> {
    let what = format!("storing blob {digest}");
    let size = std::fs::metadata(path)
        .map_err(DestError::io(what.clone()))?
        .len();
    if !layout.has_blob(digest) {
        let mut writer = layout.new_blob()?;
        let mut src = File::open(path).map_err(DestError::io(what.clone()))?;
        io::copy(&mut src, &mut writer).map_err(DestError::io(what))?;
        writer.commit(digest)?;
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_and_links() {
        assert_eq!(clean("./a//b/"), "a/b");
        assert_eq!(
            join_relative("x/layer.tar", "../y/layer.tar"),
            "y/layer.tar"
        );
        let mut problems = Vec::new();
        let d = crate::digest::sha256(b"x");
        check_name(&format!("{}.json", d.hex()), &d, "config", &mut problems);
        check_name("manifest-ish.tar", &d, "layer 0", &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        let other = crate::digest::sha256(b"y");
        check_name(
            &format!("{}.tar", other.hex()),
            &d,
            "layer 0",
            &mut problems,
        );
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("layer 0"), "{problems:?}");
    }
}
