//! The images a build reads: the base each stage starts from (scratch, an
//! earlier stage, or an image from the store, a layout, an archive or a
//! registry) and the images `COPY --from` reads.

use super::rootfs::RootFs;
use super::{meta, BuildError, Builder};
use crate::dest::{self, PushOptions};
use crate::digest::Digest;
use crate::image::Image;
use crate::oci::Platform;
use crate::span::Span;
use std::rc::Rc;

impl<'a> Builder<'a> {
    /// The image stage `index` starts from.
    pub(super) fn base_image(&mut self, index: usize) -> Result<Image, BuildError> {
        let from = self.stages.stages[index].from;
        let base = self.bases[index].clone();
        let span = from.span;
        let mut platform = self.opts.platform.clone();
        for flag in &from.flags {
            if flag.name != "platform" {
                return Err(meta::unknown_flag(flag.span, &flag.name, "FROM"));
            }
            let raw = flag.value.clone().unwrap_or_default();
            let value = self.expand_word(flag.span, &raw, &self.global.clone())?;
            if value.is_empty() {
                return Err(BuildError::at(
                    flag.span,
                    format!("empty platform value from expression {raw}"),
                ));
            }
            platform = value
                .parse::<Platform>()
                .map_err(|e| BuildError::at(flag.span, e))?;
        }
        if base.eq_ignore_ascii_case("scratch") {
            return Ok(Image::scratch(&platform));
        }
        if !base.chars().all(|c| c.is_ascii_digit()) {
            if let Some(dep) = self.stages.by_name(&base, index) {
                return self.build_stage(dep);
            }
        }
        self.fetch_image(&base, span, &platform)
    }

    /// Brings an image from a store, a layout or a registry into the build
    /// layout: from an index, the image for `platform`, chosen as
    /// containerd's matcher chooses it.
    pub(crate) fn fetch_image(
        &mut self,
        spec: &str,
        span: Span,
        platform: &Platform,
    ) -> Result<Image, BuildError> {
        let store = self.store.unwrap_or(self.layout);
        let registry = PushOptions {
            platform: Some(platform.clone()),
            events: self.events.clone(),
            ..self.opts.registry.clone()
        };
        let policy = if self.opts.pull {
            dest::PullPolicy::Pull
        } else {
            dest::PullPolicy::Cached
        };
        let desc =
            dest::fetch_image_with(spec, store, self.layout, &registry, policy).map_err(|e| {
                let hint = match (&e, dest::Reference::parse(spec)) {
                    (dest::DestError::NotFound { .. }, Ok(r)) => Some(format!(
                        "add --pull to fetch {} from its registry, or write FROM docker://{}",
                        r.full(),
                        r.full()
                    )),
                    _ => None,
                };
                let what = format!("loading base image {spec} for {platform}");
                let err = BuildError::at(span, what).caused(e);
                match hint {
                    Some(h) => err.with_help(h),
                    None => err,
                }
            })?;
        let image = self
            .layout
            .read_image(&desc)
            .map_err(|e| BuildError::at(span, format!("loading base image {spec}")).caused(e))?;
        let read = super::ReadImage {
            name: spec.to_string(),
            manifest: desc,
            layers: image.layers.iter().map(|l| l.digest.clone()).collect(),
        };
        if !self.read_images.contains(&read) {
            self.read_images.push(read);
        }
        Ok(image)
    }

    /// The image `COPY --from=from` in stage `index` reads: an earlier
    /// stage (by name or index), or an image.
    pub(crate) fn stage_image_for_copy(
        &mut self,
        index: usize,
        from: &str,
        span: Span,
    ) -> Result<Image, BuildError> {
        if let Some(dep) = self.stages.by_ref(from, index) {
            return self.build_stage(dep);
        }
        if self.stages.by_ref(from, self.stages.stages.len()).is_some() {
            return Err(BuildError::at(
                span,
                format!(
                    "cannot copy from stage {from:?}, it needs to be defined before the current stage"
                ),
            ));
        }
        if let Ok(n) = from.parse::<usize>() {
            return Err(BuildError::at(
                span,
                format!("COPY --from={from}: there is no stage {n}"),
            ));
        }
        // an image (not a stage) is read for the platform being built, as
        // BuildKit reads it: a stage of its own without FROM --platform
        let target = self.opts.platform.clone();
        self.fetch_image(from, span, &target).map_err(|e| match e {
            BuildError::At {
                span,
                message,
                cause,
                ..
            } => BuildError::At {
                span,
                message: format!("COPY --from={from}: no stage is named {from:?}, and {message}"),
                help: Some(
                    "name a stage defined earlier (FROM ... AS name), its index, or an image"
                        .into(),
                ),
                cause,
            },
            other => other,
        })
    }

    /// The merged filesystem of `img`, read from its layers once per build.
    pub(crate) fn image_fs(&mut self, img: &Image) -> Result<Rc<RootFs>, BuildError> {
        let key: Vec<Digest> = img.layers.iter().map(|l| l.digest.clone()).collect();
        if let Some(fs) = self.image_fs.get(&key) {
            return Ok(fs.clone());
        }
        let fs = self.merged_fs(&img.layers).map_err(|e| {
            BuildError::other("reading the layers of a COPY --from source").caused(e)
        })?;
        let fs = Rc::new(fs);
        self.image_fs.insert(key, fs.clone());
        Ok(fs)
    }
}
