//! `COPY --from` keyed without extracting: the files a copy takes from
//! another stage or image are selected in the tables of contents of its
//! layers (kept in the store), their content digests come from there, and
//! they are extracted only when the step misses.

use super::rootfs::{self, Extracted, FsKind, RootFs, Toc};
use super::{BuildError, Builder};
use crate::cache::toc;
use crate::image::Image;
use crate::oci::Descriptor;
use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::rc::Rc;

/// Files planned from tables of contents, to extract on a miss.
pub(super) struct Deferred {
    /// The layers they come from.
    layers: Vec<Descriptor>,
    /// Each file's path in them and where its content goes.
    files: Vec<(String, PathBuf)>,
}

impl Builder<'_> {
    /// The table of contents of layer `desc`: from the store, else read
    /// from the layer and kept (`None` for a build without a store).
    fn layer_toc(&mut self, desc: &Descriptor) -> io::Result<Option<Rc<Toc>>> {
        let Some(store) = self.cache.as_ref().map(|c| c.store().to_path_buf()) else {
            return Ok(None);
        };
        if let Some(known) = self.tocs.get(&desc.digest) {
            return Ok(Some(known.clone()));
        }
        let found = match toc::load(&store, &desc.digest) {
            Some(t) => t,
            None => {
                let read = rootfs::read_toc(self.layout, desc)?;
                // a table that cannot be kept only costs a read next time
                let _ = toc::save(&store, &read);
                read
            }
        };
        let found = Rc::new(found);
        self.tocs.insert(desc.digest.clone(), found.clone());
        Ok(Some(found))
    }

    /// The tables of contents of every layer of `layers` (`None` for a
    /// build without a store).
    fn layer_tocs(&mut self, layers: &[Descriptor]) -> io::Result<Option<Vec<Rc<Toc>>>> {
        let mut tocs = Vec::new();
        for desc in layers {
            match self.layer_toc(desc)? {
                Some(t) => tocs.push(t),
                None => return Ok(None),
            }
        }
        Ok(Some(tocs))
    }

    /// The merged filesystem of `layers`, from their tables of contents
    /// when the build has a store.
    pub(super) fn merged_fs(&mut self, layers: &[Descriptor]) -> io::Result<RootFs> {
        let mut fs = RootFs::default();
        match self.layer_tocs(layers)? {
            Some(tocs) => tocs.iter().for_each(|t| fs.apply_toc(t)),
            None => fs.update(self.layout, layers)?,
        }
        Ok(fs)
    }

    /// What extracting `names` of `img` would give, planned from the
    /// tables of contents of its layers: each file's content is extracted
    /// (to the path given here) only when the step misses, and its digest
    /// is known now. `None` when it cannot be planned (no store, a damaged
    /// table, a hard link named as a source, whose size is its target's):
    /// then it is extracted now.
    pub(crate) fn plan_extraction(
        &mut self,
        img: &Image,
        names: &[String],
    ) -> io::Result<Option<Vec<Extracted>>> {
        let Some(tocs) = self.layer_tocs(&img.layers)? else {
            return Ok(None);
        };
        let Some(selected) = rootfs::select_in_tocs(&tocs, names) else {
            return Ok(None);
        };
        let named_link = selected.iter().any(|(p, m, _)| {
            matches!(m.kind, FsKind::Hardlink { .. }) && names.iter().any(|n| rootfs::key(n) == *p)
        });
        if named_link {
            return Ok(None);
        }
        let mut files = Vec::new();
        let mut planned = Vec::new();
        let mut out = Vec::new();
        for (path, meta, digest) in selected {
            let data = match digest {
                Some(d) => {
                    // named, not created: a hit never touches the disk
                    self.planned_files += 1;
                    let file = self
                        .tmp
                        .path()
                        .join(format!("planned-{}", self.planned_files));
                    files.push((path.clone(), file.clone()));
                    planned.push((file.clone(), d));
                    Some(file)
                }
                None => None,
            };
            out.push(Extracted { path, meta, data });
        }
        if let Some(cache) = self.cache.as_mut() {
            cache.plan_extracted(planned.into_iter());
        }
        self.deferred.push(Deferred {
            layers: img.layers.clone(),
            files,
        });
        Ok(Some(out))
    }

    /// Extracts the files planned for the current step (it missed).
    pub(super) fn extract_deferred(&mut self) -> Result<(), BuildError> {
        for d in std::mem::take(&mut self.deferred) {
            let roots: Vec<String> = d.files.iter().map(|(p, _)| p.clone()).collect();
            let got = rootfs::extract(self.layout, &d.layers, &roots, self.tmp.path())
                .map_err(|e| BuildError::other("reading the source image").caused(e))?;
            let by_path: HashMap<&str, &PathBuf> = got
                .iter()
                .filter_map(|x| x.data.as_ref().map(|f| (x.path.as_str(), f)))
                .collect();
            for (path, file) in &d.files {
                let Some(from) = by_path.get(path.as_str()) else {
                    let layer = d.layers.last().map(|l| l.digest.to_string());
                    return Err(BuildError::other(format!(
                        "the table of contents of the layers up to {} names {path}, which they do not hold: remove the store's cache/toc to have it read again",
                        layer.unwrap_or_default()
                    )));
                };
                std::fs::rename(from, file).map_err(|e| {
                    BuildError::other(format!("placing {path} of the source image")).caused(e)
                })?;
            }
        }
        Ok(())
    }

    /// The current step hit: what it planned is not needed.
    pub(super) fn drop_deferred(&mut self) {
        self.deferred.clear();
    }
}
