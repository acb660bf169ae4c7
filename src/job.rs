//! The whole build job as the `minibuild` command runs it: where the blobs
//! are written (straight into the store, or the first `oci:` output, or a
//! scratch layout), the holds that keep `prune` off them until they are
//! named, and the naming or exporting of the result.

use crate::dest::scratch;
mod attach;
mod merge;
pub mod multi;

pub use attach::{Attached, Attestations};
pub use merge::{IndexDone, IndexJob};

use crate::dest::{self, ImageName, Layout, Location};
use crate::events::Events;
use crate::executor::{self, BuildOptions, Built};
use crate::oci::{Descriptor, Platform};
use crate::Error;
use std::path::PathBuf;

/// A build and where its image goes.
#[derive(Debug, Clone)]
pub struct Job {
    /// The Dockerfile's text.
    pub dockerfile: String,
    /// How to build.
    pub options: BuildOptions,
    /// Names for the image (`-t`), parsed.
    pub tags: Vec<ImageName>,
    /// Where the image goes (`-o`); none: the store.
    pub outputs: Vec<Location>,
    /// The local store (an OCI layout): the default output, and where base
    /// images from registries are kept.
    pub store: PathBuf,
    /// `--platform` with several platforms: one image each, and an index
    /// listing them is the result (see [`multi`]). One platform or none:
    /// `options.platform` is built, a single image.
    pub platforms: Vec<Platform>,
    /// `--sbom`, `--provenance` and where their files go.
    pub attestations: Attestations,
}

/// What a job did.
#[derive(Debug, Clone)]
pub struct Done {
    /// The build's result.
    pub built: Built,
    /// One line per place the image went (`stored hello:scratch in DIR`,
    /// `wrote oci:out:hello`).
    pub wrote: Vec<String>,
    /// Warnings for the user.
    pub warnings: Vec<String>,
    /// The SBOM and provenance artifacts of each image.
    pub attached: Vec<Attached>,
}

impl Job {
    /// Builds the image and stores or exports it. What it does is
    /// reported to `events` (steps, layers, blobs pulled and pushed).
    ///
    /// Blobs are written into a staging area of the layout they go to (the
    /// store, or the first `oci:` output; a scratch layout for archives and
    /// registries) and only moved in once the image is built: a build that
    /// fails leaves nothing there, not even a layout it would have made.
    pub fn run(&self, events: &Events) -> Result<Done, Error> {
        multi::check_outputs(&self.platforms, &self.outputs)?;
        let to_store = self.outputs.is_empty();
        let first_oci = self.outputs.iter().find_map(|d| match d {
            Location::Oci { dir, .. } => Some(dir.clone()),
            _ => None,
        });
        let mut _scratch = None;
        let layout = if to_store {
            Layout::staging(&self.store)
        } else if let Some(dir) = first_oci {
            Layout::staging(&dir)
        } else {
            let (tmp, dir) = dest::scratch_layout_dir()?;
            let layout = Layout::create(&dir)?;
            _scratch = Some(tmp);
            layout
        };
        // the killed builds before this one leave nothing behind
        layout.sweep_temporaries();
        let _ = scratch::sweep(&std::env::temp_dir(), scratch::SCRATCH_PREFIX, false);
        // the store also caches FROM images pulled from registries; it is
        // only made (and held) when one is
        let store = (layout.root() != self.store).then(|| Layout::at(&self.store));
        // until the image is named, `prune` must not take the blobs it uses
        let _holds = (
            layout.hold()?,
            store.as_ref().map(Layout::hold).transpose()?,
        );
        let bases = store.as_ref().or(Some(&layout));
        let registry = self.registry_options(events);
        let mut options = self.options.clone();
        options.cache.imported = self.import_caches(&registry)?;
        let built = if self.platforms.len() > 1 {
            let (df, opts) = (&self.dockerfile, &options);
            multi::build_platforms(df, opts, &self.platforms, &layout, bases, events)?
        } else {
            executor::build(&self.dockerfile, &options, &layout, bases, events)?
        };
        // the layout may be new: make it and hold it now
        layout.ensure_created()?;
        let _hold = layout.hold()?;
        layout.publish(&built.manifest)?;
        let attached = self.attest(&layout, &built)?;
        let wrote = self.name_or_export(&layout, &built, &attached, events)?;
        let mut warnings = built.warnings.clone();
        // the blobs are stored: the cache may point at them now
        let cache_store = store.as_ref().unwrap_or(&layout);
        warnings.extend(crate::cache::commit(cache_store, &layout, &built.cache));
        // the platform the cache's layers were built for (the first one's,
        // for several)
        let platform = self.platforms.first().unwrap_or(&self.options.platform);
        for to in &self.options.cache.to {
            let source = if cache_store.root().join("oci-layout").is_file() {
                cache_store
            } else {
                &layout
            };
            let message = crate::cache::export(source, &built.cache, platform, to, &registry)?;
            events.emit(crate::events::Event::Output { message });
        }
        if to_store && self.tags.is_empty() {
            warnings.push("no -t given: the image is kept in the store untagged".to_string());
        }
        Ok(Done {
            built,
            wrote,
            warnings,
            attached,
        })
    }

    /// How to reach registries: a push may mount blobs from any repository
    /// this job reads or writes (an output, a cache), on the same registry.
    fn registry_options(&self, events: &Events) -> dest::RegistryOptions {
        let cache = &self.options.cache;
        let places = self.outputs.iter().chain(&cache.from).chain(&cache.to);
        let mount_from = places
            .filter_map(|l| match l {
                Location::Registry { reference } => Some(reference.clone()),
                _ => None,
            })
            .collect();
        dest::RegistryOptions {
            events: events.clone(),
            mount_from,
            ..self.options.registry.clone()
        }
    }

    /// Reads the `--cache-from` caches (their manifests and configs, kept
    /// in the store when they come from a registry): their entries, whose
    /// blobs a step that hits one fetches.
    fn import_caches(
        &self,
        registry: &dest::RegistryOptions,
    ) -> Result<Vec<crate::cache::RemoteEntry>, Error> {
        let mut imported = Vec::new();
        if self.options.cache.from.is_empty() {
            return Ok(imported);
        }
        let store = Layout::at(&self.store);
        store.ensure_created()?;
        let _hold = store.hold()?;
        for from in &self.options.cache.from {
            let entries = crate::cache::import(from, &store, registry)?;
            registry.events.emit(crate::events::Event::Output {
                message: format!(
                    "cache of {} layer steps from {}",
                    entries.len(),
                    describe(from)
                ),
            });
            imported.extend(entries);
        }
        Ok(imported)
    }

    /// Names the built image in the store, or exports it to every output.
    fn name_or_export(
        &self,
        layout: &Layout,
        built: &Built,
        attached: &[Attached],
        events: &Events,
    ) -> Result<Vec<String>, Error> {
        let mut wrote = Vec::new();
        let names = &self.tags;
        let artifacts: Vec<Descriptor> = attached
            .iter()
            .flat_map(|a| a.artifacts.iter().cloned())
            .collect();
        if self.outputs.is_empty() {
            if names.is_empty() {
                layout.tag(&built.manifest, &ImageName::from(""))?;
            }
            for n in names {
                layout.tag(&built.manifest, n)?;
                wrote.push(format!("stored {n} in {}", self.store.display()));
            }
            for a in &artifacts {
                layout.add_untagged(a)?;
            }
            return Ok(wrote);
        }
        let registry = self.registry_options(events);
        for d in &self.outputs {
            let done = dest::export_with(layout, &built.manifest, &artifacts, names, d, &registry)?;
            wrote.push(format!("wrote {done}"));
            if let Location::Registry { reference } = d {
                for a in attached.iter().filter(|a| !a.artifacts.is_empty()) {
                    let how = dest::registry::referrers::push_referrers(
                        layout,
                        &a.subject,
                        &a.artifacts,
                        reference,
                        &registry,
                    )?;
                    wrote.push(format!(
                        "attached {} referrers to {} ({how})",
                        a.artifacts.len(),
                        a.subject.digest.short()
                    ));
                }
            }
        }
        Ok(wrote)
    }
}

/// A cache location for messages.
fn describe(location: &Location) -> String {
    match location {
        Location::Oci { dir, .. } => format!("oci:{}", dir.display()),
        Location::Registry { reference } => format!("docker://{}", reference.full()),
        other => format!("{other:?}"),
    }
}
