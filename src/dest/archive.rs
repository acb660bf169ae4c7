//! Image archives: `oci-archive` (a tar of an OCI layout that also carries a
//! Docker `manifest.json`) and `docker-archive` (the `docker save` format).
//!
//! Archives are written to a temporary file in a scratch directory beside
//! the target (held while written, removed on failure and on SIGINT or
//! SIGTERM, swept by the next write when its writer was killed) and renamed
//! into place; blobs are streamed from the source layout, never held in
//! memory, and checked against their digests as they stream.

use super::error::DestError;
use super::graph::{image_blobs, is_index, select_platform, ConfigFile, Index, Manifest};
use super::layout::{ImageName, Layout};
use super::scratch::{self, ScratchDir, SCRATCH_PREFIX};
use crate::digest::{Digest, HashingWriter};
use crate::events::{seconds_since, Blob, Direction, Event, Events, Meter, MeterReader, Task};
use crate::oci::{
    canonical_json, Descriptor, Platform, ANNOTATION_CONTAINERD_NAME, ANNOTATION_REF_NAME,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek};
use std::path::Path;

/// One image in a Docker `manifest.json`.
#[derive(Debug, Serialize)]
struct DockerManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags")]
    repo_tags: Vec<String>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// Writes `manifest` (and everything it reaches) from `src` as an OCI
/// archive at `file`, its index entries named `names`. A Docker
/// `manifest.json` for the host-platform image is added so that Docker-style
/// loaders accept the same file.
pub fn write_oci_archive(
    src: &Layout,
    manifest: &Descriptor,
    artifacts: &[Descriptor],
    names: &[ImageName],
    file: &Path,
    platform: &Platform,
    events: &Events,
) -> Result<(), DestError> {
    let mut index = Index::empty();
    for entry in index_entries(manifest, names) {
        index.manifests.push(entry);
    }
    // artifacts about the image (SBOM, provenance), unnamed
    index.manifests.extend(artifacts.iter().cloned());
    let index_bytes = canonical_json(&index).map_err(DestError::json("serializing index.json"))?;
    let image = select_platform(src, manifest, platform).ok();
    let docker = match image {
        Some(image) if !is_index(&image.media_type) => {
            let m: Manifest = src.read_json(&image.digest)?;
            let entry = DockerManifestEntry {
                config: blob_name(&m.config.digest),
                repo_tags: repo_tags(names),
                layers: m.layers.iter().map(|l| blob_name(&l.digest)).collect(),
            };
            Some(canonical_json(&[entry]).map_err(DestError::json("serializing manifest.json"))?)
        }
        _ => None,
    };
    write_tar_atomically(file, |tar, _| {
        append_bytes(tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        append_bytes(tar, "index.json", &index_bytes)?;
        if let Some(docker) = &docker {
            append_bytes(tar, "manifest.json", docker)?;
        }
        append_dir(tar, "blobs/")?;
        append_dir(tar, "blobs/sha256/")?;
        let mut blobs = image_blobs(src, manifest)?;
        for a in artifacts {
            for b in image_blobs(src, a)? {
                if !blobs.iter().any(|x| x.digest == b.digest) {
                    blobs.push(b);
                }
            }
        }
        for blob in blobs {
            let started = std::time::Instant::now();
            let f = src.open_blob(&blob.digest)?;
            let name = blob_name(&blob.digest);
            let size = f.len();
            let meter = save_meter(events, &blob);
            let what = format!("adding blob {}", blob.digest);
            append_file(tar, &name, f, size, &what, Some(&meter))?;
            meter.finish();
            report_saved(events, &blob, file, started);
        }
        Ok(())
    })
}

/// Writes the host-platform image of `manifest` as a `docker save` archive:
/// `manifest.json`, the config as `<hex>.json`, each layer uncompressed as
/// `<diff_id hex>.tar` (checked against the config's diff_ids), and
/// `repositories`.
pub fn write_docker_archive(
    src: &Layout,
    manifest: &Descriptor,
    names: &[ImageName],
    file: &Path,
    platform: &Platform,
    events: &Events,
) -> Result<(), DestError> {
    let image = select_platform(src, manifest, platform)?;
    let m: Manifest = src.read_json(&image.digest)?;
    let config_bytes = src.read_blob(&m.config.digest)?;
    let config: ConfigFile = serde_json::from_slice(&config_bytes).map_err(DestError::json(
        format!("parsing config {}", m.config.digest),
    ))?;
    if !config.rootfs.diff_ids.is_empty() && config.rootfs.diff_ids.len() != m.layers.len() {
        return Err(DestError::invalid(
            format!("exporting {} as a docker archive", image.digest),
            format!(
                "the manifest has {} layers but the config {} diff_ids",
                m.layers.len(),
                config.rootfs.diff_ids.len()
            ),
        ));
    }
    let config_name = format!("{}.json", m.config.digest.hex());
    write_tar_atomically(file, |tar, scratch| {
        append_bytes(tar, &config_name, &config_bytes)?;
        let mut layer_names = Vec::new();
        let mut written = BTreeSet::new();
        for (i, layer) in m.layers.iter().enumerate() {
            let what = format!("uncompressing layer {}", layer.digest);
            let started = std::time::Instant::now();
            let meter = save_meter(events, layer);
            let mut blob = MeterReader {
                inner: src.open_blob(&layer.digest)?,
                meter: &meter,
            };
            let tmp_path = scratch.join(format!("layer-{i}"));
            let tmp = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&tmp_path)
                .map_err(DestError::io(format!("creating {}", tmp_path.display())))?;
            let mut out = HashingWriter::new(BufWriter::new(tmp));
            {
                let mut reader = decompressor(&layer.media_type, &mut blob, &what)?;
                crate::digest::copy(&mut reader, &mut out).map_err(DestError::io(what.clone()))?;
            }
            // to its end, where the blob's reader checks its digest (a
            // decompressor may stop before it)
            crate::digest::copy(&mut blob, &mut io::sink()).map_err(DestError::io(what.clone()))?;
            let (buf, diff_id, _) = out.finish();
            let mut tmp = buf
                .into_inner()
                .map_err(|e| DestError::io(what.clone())(e.into_error()))?;
            if let Some(expected) = config.rootfs.diff_ids.get(i) {
                if *expected != diff_id {
                    return Err(DestError::DigestMismatch {
                        what: format!("{what} (diff_id {i} in config {})", m.config.digest),
                        expected: expected.clone(),
                        actual: diff_id,
                    });
                }
            }
            let name = format!("{}.tar", diff_id.hex());
            if written.insert(name.clone()) {
                tmp.rewind().map_err(DestError::io(what.clone()))?;
                let size = tmp.metadata().map_err(DestError::io(what.clone()))?.len();
                append_file(tar, &name, tmp, size, &format!("adding layer {name}"), None)?;
            }
            meter.finish();
            report_saved(events, layer, file, started);
            // Free the space now; the scratch directory goes at the end anyway.
            let _ = std::fs::remove_file(&tmp_path);
            layer_names.push(name);
        }
        let tags = repo_tags(names);
        let entry = DockerManifestEntry {
            config: config_name.clone(),
            repo_tags: tags.clone(),
            layers: layer_names.clone(),
        };
        let manifest_json =
            canonical_json(&[entry]).map_err(DestError::json("serializing manifest.json"))?;
        append_bytes(tar, "manifest.json", &manifest_json)?;
        if let Some(last) = layer_names.last() {
            let repos = repositories(names, last.trim_end_matches(".tar"));
            if !repos.is_empty() {
                let bytes =
                    canonical_json(&repos).map_err(DestError::json("serializing repositories"))?;
                append_bytes(tar, "repositories", &bytes)?;
            }
        }
        Ok(())
    })
}

/// A `docker save` `repositories` file: familiar repository → tag → the
/// top layer's id, for each name that is an image reference.
fn repositories(names: &[ImageName], top: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut repos: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for r in names.iter().filter_map(|n| n.reference().ok()) {
        if let Some(tag) = r.tag_or_latest() {
            repos
                .entry(r.familiar_repository())
                .or_default()
                .insert(tag.to_string(), top.to_string());
        }
    }
    repos
}

/// The index entries for `manifest` named `names` (one unnamed entry when
/// there are no names).
pub(crate) fn index_entries(manifest: &Descriptor, names: &[ImageName]) -> Vec<Descriptor> {
    // the descriptor's own annotations (`--annotation manifest-descriptor:`)
    // stay; its names are replaced
    let mut plain = manifest.clone();
    if let Some(a) = plain.annotations.as_mut() {
        a.retain(|k, _| k != ANNOTATION_REF_NAME && k != ANNOTATION_CONTAINERD_NAME);
    }
    plain.annotations = plain.annotations.filter(|a| !a.is_empty());
    if names.is_empty() {
        return vec![plain];
    }
    names
        .iter()
        .map(|name| {
            let mut d = plain.clone();
            d.annotations
                .get_or_insert_with(Default::default)
                .extend(name.annotations());
            d
        })
        .collect()
}

/// `RepoTags` for Docker: the fully qualified `registry/repo:tag` of each
/// name that is an image name, as skopeo writes them. Docker shows them
/// familiar again; podman would otherwise put short names under `localhost/`.
fn repo_tags(names: &[ImageName]) -> Vec<String> {
    names
        .iter()
        .filter_map(|n| n.reference().ok())
        .filter(|r| r.tag.is_some() || r.digest.is_none())
        .map(|r| {
            let mut r = r.clone();
            r.digest = None;
            r.full()
        })
        .collect()
}

fn blob_name(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm().name(), digest.hex())
}

fn parent_dir(file: &Path) -> std::path::PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}

/// A reader that uncompresses a layer of `media_type`.
fn decompressor<'a>(
    media_type: &str,
    blob: &'a mut (dyn Read + Send),
    what: &str,
) -> Result<Box<dyn Read + 'a>, DestError> {
    // the one layer reader refuses a media type it does not know
    crate::layer::uncompressed(media_type, blob).map_err(DestError::io(what.to_string()))
}

type Tar = tar::Builder<BufWriter<File>>;

/// Builds a tar in a temporary file in a scratch directory beside `file`
/// (which `fill` may use for more), then renames it there. On failure, or
/// a signal, nothing is left beside `file`; the leftovers of a writer that
/// was killed are removed first. `file` `-` is stdout: the tar is built in
/// the temporary directory and copied there whole once complete, so a
/// failed build never leaves half an archive in the pipe.
fn write_tar_atomically(
    file: &Path,
    fill: impl FnOnce(&mut Tar, &Path) -> Result<(), DestError>,
) -> Result<(), DestError> {
    let to_stdout = file == Path::new(STDOUT);
    let parent = if to_stdout {
        std::env::temp_dir()
    } else {
        parent_dir(file)
    };
    let what = match to_stdout {
        true => "writing the archive to stdout".to_string(),
        false => format!("writing {}", file.display()),
    };
    let _ = scratch::sweep(&parent, SCRATCH_PREFIX, false);
    let dir = ScratchDir::new_in(&parent, false).map_err(DestError::io(what.clone()))?;
    let tmp_path = dir.path().join("archive.tar");
    let tmp = {
        use std::os::unix::fs::OpenOptionsExt;
        // 0666 less the umask, as any file a tool writes
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o666)
            .open(&tmp_path)
            .map_err(DestError::io(what.clone()))?
    };
    let mut tar = tar::Builder::new(BufWriter::new(tmp));
    tar.mode(tar::HeaderMode::Deterministic);
    fill(&mut tar, dir.path())?;
    let buf = tar.into_inner().map_err(DestError::io(what.clone()))?;
    let tmp = buf
        .into_inner()
        .map_err(|e| DestError::io(what.clone())(e.into_error()))?;
    if to_stdout {
        drop(tmp);
        let mut done = File::open(&tmp_path).map_err(DestError::io(what.clone()))?;
        let mut out = std::io::stdout().lock();
        crate::digest::copy(&mut done, &mut out).map_err(DestError::io(what.clone()))?;
        return std::io::Write::flush(&mut out).map_err(DestError::io(what));
    }
    tmp.sync_all().map_err(DestError::io(what.clone()))?;
    std::fs::rename(&tmp_path, file).map_err(DestError::io(what))?;
    Ok(())
}

/// The archive file name that means stdout (`-o oci-archive:-`).
pub const STDOUT: &str = "-";

fn header(size: u64, mode: u32, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(mode);
    h.set_entry_type(kind);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn append_bytes(tar: &mut Tar, name: &str, bytes: &[u8]) -> Result<(), DestError> {
    let mut h = header(bytes.len() as u64, 0o644, tar::EntryType::Regular);
    tar.append_data(&mut h, name, bytes)
        .map_err(DestError::io(format!("adding {name} to the archive")))
}

fn append_dir(tar: &mut Tar, name: &str) -> Result<(), DestError> {
    let mut h = header(0, 0o755, tar::EntryType::Directory);
    tar.append_data(&mut h, name, io::empty())
        .map_err(DestError::io(format!("adding {name} to the archive")))
}

/// Appends `size` bytes read from `file`, which must end there (a blob's
/// reader checks its digest at its end, so it is read to the end), its
/// bytes counted on `meter` when given.
fn append_file(
    tar: &mut Tar,
    name: &str,
    file: impl Read,
    size: u64,
    what: &str,
    meter: Option<&Meter>,
) -> Result<(), DestError> {
    let mut h = header(size, 0o644, tar::EntryType::Regular);
    let mut reader = io::BufReader::new(file);
    let data = (&mut reader).take(size);
    let result = match meter {
        Some(meter) => tar.append_data(&mut h, name, MeterReader { inner: data, meter }),
        None => tar.append_data(&mut h, name, data),
    };
    result.map_err(DestError::io(what.to_string()))?;
    // at the end: a blob that grew, or does not hash to its name, fails here
    let mut rest = [0u8; 1];
    match reader
        .read(&mut rest)
        .map_err(DestError::io(what.to_string()))?
    {
        0 => Ok(()),
        _ => Err(DestError::invalid(what, "the file grew while it was added")),
    }
}

/// Progress of writing one blob into an archive.
fn save_meter(events: &Events, blob: &Descriptor) -> Meter {
    let label = format!(
        "saving {} {}",
        super::registry::blob_kind(&blob.media_type),
        blob.digest.short()
    );
    events.meter(Task::Save, label, Some(blob.size), None)
}

/// Reports one blob written into the archive `file`.
fn report_saved(events: &Events, blob: &Descriptor, file: &Path, started: std::time::Instant) {
    events.emit(Event::BlobTransferred(Blob {
        digest: blob.digest.to_string(),
        bytes: blob.size,
        direction: Direction::Write,
        kind: super::registry::blob_kind(&blob.media_type),
        peer: file.display().to_string(),
        skipped: false,
        seconds: seconds_since(started),
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::{ANNOTATION_CONTAINERD_NAME, ANNOTATION_REF_NAME};

    #[test]
    fn repo_tags_are_familiar() {
        let names: Vec<ImageName> = vec![
            "hello:scratch".into(),
            "docker.io/library/x".into(),
            "NOT A NAME".into(),
        ];
        assert_eq!(
            repo_tags(&names),
            vec![
                "docker.io/library/hello:scratch",
                "docker.io/library/x:latest"
            ]
        );
    }

    #[test]
    fn index_entries_name_each() {
        let d = Descriptor::new(
            crate::oci::MEDIA_TYPE_MANIFEST,
            crate::digest::sha256(b"m"),
            1,
        );
        assert_eq!(index_entries(&d, &[]).len(), 1);
        let e = index_entries(&d, &["a:b".into(), "c".into()]);
        assert_eq!(e[1].annotations.as_ref().unwrap()[ANNOTATION_REF_NAME], "c");
        assert_eq!(
            e[0].annotations.as_ref().unwrap()[ANNOTATION_CONTAINERD_NAME],
            "docker.io/library/a:b"
        );
    }
}
