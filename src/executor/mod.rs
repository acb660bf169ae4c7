//! The executor: stages, variables, and one step per instruction. Each
//! filesystem instruction (ADD, COPY, WORKDIR) becomes a layer; each
//! metadata instruction a config edit; both through [`Image::append`].

mod base;
mod cached;
pub mod copy;
mod deferred;
mod error;
pub mod meta;
mod report;
pub mod rootfs;
pub(crate) mod shared;
mod stamp;
pub mod users;
mod vars;
mod words;

use crate::dest::annotation::LeveledAnnotation;
use crate::dest::{Layout, PushOptions};
use crate::events::Events;
use crate::expand::Lexer;
use crate::image::{self, Addendum, History, Image, Layer};
use crate::layer::{self, Compression, LayerOptions, Source};
use crate::oci::{Descriptor, Platform};
use crate::span::Span;
use crate::syntax::ast::{Dockerfile, Instruction, Kind};
use crate::syntax::stages::Stages;
pub use error::{BuildError, Cause};
use rootfs::RootFs;
pub use shared::SharedWork;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::rc::Rc;
pub use vars::{Vars, MAX_VARS_BYTES};

/// The most bytes all expanded words of one build may add up to: each is
/// recorded (history, config, progress), so `LABEL a=$BIG` repeated would
/// otherwise turn a small Dockerfile into gigabytes of history.
pub const MAX_EXPANDED_BYTES: usize = 256 << 20;

/// What a build needs besides the Dockerfile.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The build context directory.
    pub context: PathBuf,
    /// The Dockerfile's path (for `<Dockerfile>.dockerignore`), if a file.
    pub dockerfile: Option<PathBuf>,
    /// `--build-arg` values, in order.
    pub build_args: Vec<(String, String)>,
    /// `--target` stage.
    pub target: Option<String>,
    /// `SOURCE_DATE_EPOCH`: creation times are set to it and file mtimes
    /// clamped to it.
    pub source_date_epoch: Option<i64>,
    /// The current time (seconds since the epoch), used when no epoch is set.
    pub now: i64,
    /// How layers are compressed.
    pub compression: Compression,
    /// The platform to build for (`TARGETPLATFORM`).
    pub platform: Platform,
    /// The platform was asked for (`--platform`): the image's config then
    /// states it whatever the base says, as BuildKit does; otherwise the
    /// base's platform stands.
    pub platform_chosen: bool,
    /// How to reach registries for FROM images.
    pub registry: PushOptions,
    /// `--pull`: FROM names missing from the store come from their registry.
    pub pull: bool,
    /// `--label KEY=VALUE`: set on the built image's config, over the
    /// Dockerfile's LABELs.
    pub labels: Vec<(String, String)>,
    /// `--annotation`: the manifest and descriptor ones are set here, the
    /// index ones by the multi-platform build.
    pub annotations: Vec<LeveledAnnotation>,
    /// How the build cache is used.
    pub cache: crate::cache::CacheOptions,
}

impl BuildOptions {
    /// Options for building `context` at time `now` (seconds since the
    /// epoch) with the defaults `minibuild` uses: `Dockerfile` in the
    /// context, no build args, the last stage, gzip layers, the host's
    /// platform, bases from the store only.
    pub fn new(context: impl Into<PathBuf>, now: i64) -> BuildOptions {
        BuildOptions {
            context: context.into(),
            dockerfile: None,
            build_args: Vec::new(),
            target: None,
            source_date_epoch: None,
            now,
            compression: Compression::default(),
            platform: Platform::host(),
            platform_chosen: false,
            registry: PushOptions::default(),
            pull: false,
            labels: Vec::new(),
            annotations: Vec::new(),
            cache: crate::cache::CacheOptions::default(),
        }
    }
}

/// The result of a build.
#[derive(Debug, Clone)]
pub struct Built {
    /// The manifest's descriptor (blobs are in the build layout).
    pub manifest: Descriptor,
    /// The image.
    pub image: Image,
    /// Warnings (e.g. unused build args).
    pub warnings: Vec<String>,
    /// For a multi-platform build (`manifest` is then the index): each
    /// platform's image, in the order asked for. Empty otherwise.
    pub platforms: Vec<(Platform, Descriptor, Image)>,
    /// The images the build read (FROM and `COPY --from` images), in the
    /// order first read; for a multi-platform build, every platform's.
    pub read_images: Vec<ReadImage>,
    /// For a multi-platform build: the images each platform's build read,
    /// in the order of `platforms` (its SBOM lists those only). Empty
    /// otherwise.
    pub platform_reads: Vec<Vec<ReadImage>>,
    /// The URLs ADD fetched, each with its body's digest.
    pub fetched: Vec<(String, crate::digest::Digest)>,
    /// The cache entries to write once the image's blobs are stored
    /// ([`crate::cache::commit`]).
    pub cache: crate::cache::CacheWrites,
}

/// An image a build read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadImage {
    /// As the Dockerfile named it (expanded).
    pub name: String,
    /// Its manifest.
    pub manifest: Descriptor,
    /// Its layers' digests.
    pub layers: Vec<crate::digest::Digest>,
}

/// The state of a stage being built.
pub(crate) struct Stage {
    pub(crate) image: Image,
    pub(crate) vars: Vars,
    pub(crate) rootfs: RootFs,
    /// CMD was set in this stage (ENTRYPOINT then keeps it).
    pub(crate) cmd_set: bool,
    /// Where each name's entry is in the config's Env (ENV stays linear).
    pub(crate) env_index: HashMap<String, usize>,
}

impl Stage {
    /// The working directory (`/` when none is set).
    pub(crate) fn workdir(&self) -> String {
        let wd = self.image.config.config.working_dir.as_deref();
        wd.unwrap_or("/").to_string()
    }

    /// The merged filesystem, brought up to date with the image's layers.
    pub(crate) fn rootfs(&mut self, layout: &Layout) -> std::io::Result<&RootFs> {
        self.rootfs.update(layout, &self.image.layers)?;
        Ok(&self.rootfs)
    }
}

/// A build in progress.
pub struct Builder<'a> {
    src: &'a str,
    opts: &'a BuildOptions,
    layout: &'a Layout,
    store: Option<&'a Layout>,
    events: &'a Events,
    lexer: Lexer,
    context: Rc<shared::ScannedContext>,
    shared: &'a SharedWork,
    global: Vars,
    declared_args: BTreeSet<String>,
    stages: Stages<'a>,
    /// The base of each stage, expanded with the global ARGs.
    bases: Vec<String>,
    built: BTreeMap<usize, Image>,
    building: BTreeSet<usize>,
    step: usize,
    steps: usize,
    /// The merged filesystems of images COPY --from reads, by their layers.
    image_fs: BTreeMap<Vec<crate::digest::Digest>, Rc<RootFs>>,
    /// Tables of contents of the layers read, by blob digest.
    tocs: std::collections::HashMap<crate::digest::Digest, Rc<rootfs::Toc>>,
    /// `COPY --from` files the current step extracts only if it misses.
    deferred: Vec<deferred::Deferred>,
    /// How many files `COPY --from` planned (each one's name in `tmp`).
    planned_files: usize,
    /// Bytes expanded so far (see [`MAX_EXPANDED_BYTES`]).
    expanded: std::cell::Cell<usize>,
    /// The layer the current step wrote, for its report.
    written: Option<report::Written>,
    /// The store's build cache (none without a store).
    cache: Option<crate::cache::Cache>,
    /// The current step, as the cache knows it (layer steps).
    cache_step: Option<cached::CacheStep>,
    /// A miss whose layer is being written.
    pending: Option<cached::Pending>,
    /// A certain miss: its key is computed while its layer is written.
    key_later: Option<cached::KeyLater>,
    /// What the cache did for the current step, for its report.
    cache_note: Option<crate::events::CacheResult>,
    /// The entries this build made or used.
    cache_records: Vec<crate::cache::Record>,
    pub(crate) tmp: crate::dest::scratch::ScratchDir,
    /// The images read (bases, `COPY --from` images), for SBOM and provenance.
    read_images: Vec<ReadImage>,
    /// The URLs ADD fetched, with their bodies' digests (for provenance).
    fetched: Vec<(String, crate::digest::Digest)>,
}

/// Parses and builds the Dockerfile text `src` with `opts`. Blobs are
/// written into `layout`; FROM names are looked up in `store`. What each
/// step does is reported to `events`.
pub fn build(
    src: &str,
    opts: &BuildOptions,
    layout: &Layout,
    store: Option<&Layout>,
    events: &Events,
) -> Result<Built, crate::Error> {
    build_shared(src, opts, layout, store, &SharedWork::new(), events)
}

/// [`build`], sharing the build context and identical layers with the
/// other builds given the same `shared` (the platforms of one command).
pub fn build_shared(
    src: &str,
    opts: &BuildOptions,
    layout: &Layout,
    store: Option<&Layout>,
    shared: &SharedWork,
    events: &Events,
) -> Result<Built, crate::Error> {
    let df: Dockerfile = crate::syntax::parse(src).map_err(BuildError::from)?;
    let stages = df.stages().map_err(BuildError::from)?;
    let context = shared.context(&opts.context, opts.dockerfile.as_deref())?;
    // swept by the next build when this one is killed
    let tmp = crate::dest::scratch::ScratchDir::new_in(&std::env::temp_dir(), false)
        .map_err(|e| BuildError::other("creating a temporary directory").caused(e))?;
    let mut b = Builder {
        src,
        opts,
        layout,
        store,
        events,
        lexer: Lexer::new(df.directives.escape),
        context,
        shared,
        global: Vars::default(),
        declared_args: BTreeSet::new(),
        stages,
        bases: Vec::new(),
        built: BTreeMap::new(),
        building: BTreeSet::new(),
        step: 0,
        steps: 0,
        image_fs: BTreeMap::new(),
        tocs: std::collections::HashMap::new(),
        deferred: Vec::new(),
        planned_files: 0,
        expanded: std::cell::Cell::new(0),
        written: None,
        cache: store.map(|s| crate::cache::Cache::of(s.root()).with_remote(&opts.cache.imported)),
        cache_step: None,
        pending: None,
        key_later: None,
        cache_note: None,
        cache_records: Vec::new(),
        tmp,
        read_images: Vec::new(),
        fetched: Vec::new(),
    };
    let target = b.plan()?;
    let mut image = b.build_stage(target)?;
    image.config.created = Some(b.created());
    if opts.platform_chosen {
        state_platform(&mut image, &opts.platform);
    }
    if image.layers.is_empty() {
        let span = b.stages.stages[target].from.span;
        let (layer, _) = b.write_layer(&[], &[], span)?;
        image.add_empty_layer(layer);
    }
    stamp::label_and_annotate(&mut image, opts);
    let mut manifest = layout
        .write_image(&image)
        .map_err(|e| BuildError::other("writing the image").caused(e))?;
    stamp::annotate_descriptor(&mut manifest, opts);
    Ok(Built {
        manifest,
        image,
        warnings: b.warnings(),
        platforms: Vec::new(),
        platform_reads: Vec::new(),
        read_images: std::mem::take(&mut b.read_images),
        fetched: std::mem::take(&mut b.fetched),
        cache: match b.cache.as_mut() {
            Some(cache) => cache.writes(std::mem::take(&mut b.cache_records)),
            None => crate::cache::CacheWrites::default(),
        },
    })
}

/// The predefined platform ARGs BuildKit puts in the global scope
/// (dockerfile2llb `defaultArgs`): `BUILD*` the platform minibuild runs
/// on, `TARGET*` the one it builds for. Usable in FROM; inside a stage
/// after `ARG TARGETARCH` (without a value) declares them.
fn platform_args(target: &Platform, build: &Platform) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (prefix, p) in [("BUILD", build), ("TARGET", target)] {
        out.push((format!("{prefix}PLATFORM"), p.to_string()));
        out.push((format!("{prefix}OS"), p.os.clone()));
        out.push((format!("{prefix}OSVERSION"), String::new()));
        out.push((format!("{prefix}ARCH"), p.architecture.clone()));
        out.push((
            format!("{prefix}VARIANT"),
            p.variant.clone().unwrap_or_default(),
        ));
    }
    out
}

/// BuildKit's rule for a build with `--platform`: the config's os and
/// architecture are the target's; its variant too, unless the target has
/// none and the base is the same os and architecture.
fn state_platform(image: &mut Image, target: &Platform) {
    let config = &mut image.config;
    let same = config.os == target.os && config.architecture == target.architecture;
    config.os = target.os.clone();
    config.architecture = target.architecture.clone();
    if target.variant.is_some() || !same {
        config.variant = target.variant.clone();
    }
}

impl<'a> Builder<'a> {
    /// The `--build-arg` value of `name` (the last one given wins).
    pub(crate) fn build_arg(&self, name: &str) -> Option<&str> {
        self.opts
            .build_args
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets the global ARGs, expands every stage's base, checks the
    /// references between stages and that the stages the target needs are
    /// in minibuild's subset; the target stage.
    fn plan(&mut self) -> Result<usize, BuildError> {
        // a --build-arg overrides a predefined value, as in BuildKit
        for (k, v) in platform_args(&self.opts.platform, &Platform::host()) {
            let v = self.build_arg(&k).map_or(v, str::to_string);
            self.global.set(&k, &v);
        }
        // BuildKit's TARGETSTAGE (dockerfile2llb defaultArgs): the target,
        // else the last stage's name, else "default"
        let target_stage = match (&self.opts.target, self.stages.stages.last()) {
            (Some(t), _) => t.to_ascii_lowercase(),
            (None, Some(s)) => s
                .name
                .as_ref()
                .map_or("default".into(), |n| n.value.clone()),
            (None, None) => "default".to_string(),
        };
        self.global.set("TARGETSTAGE", &target_stage);
        for instr in self.stages.args.clone() {
            if let Kind::Arg(decls) = &instr.kind {
                for d in decls {
                    self.declared_args.insert(d.name.value.clone());
                    let value = match (self.build_arg(&d.name.value), &d.default) {
                        (Some(v), _) => Some(v.to_string()),
                        (None, Some(def)) => {
                            Some(self.expand_word(def.span, &def.value, &self.global)?)
                        }
                        (None, None) => None,
                    };
                    if let Some(v) = value {
                        self.global.set_bounded(d.name.span, &d.name.value, &v)?;
                    }
                }
            }
        }
        for stage in self.stages.stages.clone() {
            let base =
                self.expand_word(stage.base.span, &stage.base.value, &self.global.clone())?;
            if base.is_empty() {
                // BuildKit: an empty name is never a reference
                return Err(BuildError::at(
                    stage.base.span,
                    format!("base name ({}) should not be blank", stage.base.value),
                ));
            }
            self.bases.push(base);
        }
        self.stages
            .check_references(&self.bases)
            .map_err(|(span, message)| BuildError::at(span, message))?;
        let target = self
            .stages
            .target(self.opts.target.as_deref())
            .map_err(BuildError::other)?;
        if let Some(instr) = self.stages.first_unsupported(target, &self.bases) {
            return Err(unsupported(instr));
        }
        self.steps = self.stages.count_steps(target, &self.bases);
        Ok(target)
    }

    /// Warnings for the user: duplicate stage names, unused build args.
    fn warnings(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .stages
            .warnings
            .iter()
            .map(|(span, w)| format!("line {}: {w}", span.line_col(self.src).0))
            .collect();
        let unused: Vec<&str> = self
            .opts
            .build_args
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !self.declared_args.contains(*k))
            .collect();
        if !unused.is_empty() {
            out.push(format!(
                "one or more build-args were not consumed: {}",
                unused.join(", ")
            ));
        }
        out
    }

    /// The image of stage `index`, building it (and what it needs) first.
    fn build_stage(&mut self, index: usize) -> Result<Image, BuildError> {
        if let Some(img) = self.built.get(&index) {
            return Ok(img.clone());
        }
        let from = self.stages.stages[index].from;
        if !self.building.insert(index) {
            return Err(BuildError::at(
                from.span,
                format!("circular dependency detected on stage {index}"),
            ));
        }
        // a stage this one builds on is built (and shown) first
        let base = self.bases[index].clone();
        if !base.chars().all(|c| c.is_ascii_digit()) {
            if let Some(dep) = self.stages.by_name(&base, index) {
                self.build_stage(dep)?;
            }
        }
        self.step += 1;
        let step = self.start_step(index, from.span, one_line(&self.df_text(from.span)));
        let image = self.base_image(index)?;
        self.finish_base_step(step, index, &image);
        let mut vars = Vars::default();
        let mut env_index = HashMap::new();
        for (i, (k, v)) in image.config.config.env_pairs().into_iter().enumerate() {
            vars.set(&k, &v);
            env_index.entry(k).or_insert(i);
        }
        let mut stage = Stage {
            image,
            vars,
            rootfs: RootFs::default(),
            cmd_set: false,
            env_index,
        };
        for (position, instr) in self.stages.stages[index].body.clone().iter().enumerate() {
            // a stage COPY --from reads is built (and reported) before this
            // step starts, so the steps are reported in their order
            let from = instr.flags.iter().find(|f| f.name == "from");
            if let Some(dep) = from
                .and_then(|f| f.value.as_deref())
                .and_then(|v| self.stages.by_ref(v, index))
            {
                self.build_stage(dep)?;
            }
            self.step += 1;
            let text = self.df_text(instr.span);
            self.cache_step = self.cache_step(index, position, &text, &stage);
            let text = if instr.heredocs.is_empty() {
                one_line(&text)
            } else {
                format!("{} …", text.lines().next().unwrap_or_default())
            };
            let step = self.start_step(index, instr.span, text);
            let before = report::Before::of(&stage);
            self.written = None;
            let done = self.dispatch(index, &mut stage, instr)?;
            self.cache_step = None;
            self.finish_step(step, done, before, &mut stage)?;
        }
        self.building.remove(&index);
        self.built.insert(index, stage.image.clone());
        Ok(stage.image)
    }

    /// The source text of `span` (for progress lines).
    fn df_text(&self, span: Span) -> String {
        self.src
            .get(span.start..span.end)
            .unwrap_or_default()
            .to_string()
    }

    /// The time recorded in history and config.
    fn created(&self) -> String {
        image::rfc3339(self.opts.source_date_epoch.unwrap_or(self.opts.now))
    }

    pub(crate) fn history(&self, created_by: String) -> History {
        History {
            created: Some(self.created()),
            created_by: Some(created_by),
            comment: Some("buildkit.dockerfile.v0".to_string()),
            ..History::default()
        }
    }

    /// Writes `sources` as one layer over the layers `parent` into the
    /// build layout (or takes the one an earlier build of the same command
    /// wrote from the same sources over the same layers).
    pub(crate) fn write_layer(
        &mut self,
        parent: &[Descriptor],
        sources: &[Source],
        span: Span,
    ) -> Result<(Layer, layer::LayerDesc), BuildError> {
        let options = LayerOptions {
            compression: self.opts.compression,
            clamp_mtime: self.opts.source_date_epoch,
            events: self.events.clone(),
        };
        if let Some(hit) = self.cached_layer(parent, sources, &options)? {
            self.drop_deferred();
            return Ok(hit);
        }
        self.extract_deferred()?;
        if let Some(later) = self.key_later.take() {
            // set only when the build has a cache
            if let Some(cache) = self.cache.take() {
                return self.write_keying(later, cache, parent, sources, span, &options);
            }
        }
        let sums = match self.pending_sources() {
            Some(sums) => sums,
            None => self
                .shared
                .source_sums(sources)
                .map_err(|e| BuildError::at(span, "reading the layer's sources").caused(e))?,
        };
        let key = shared::layer_key(parent, sources, sums, &options);
        let shared = self.shared.layer(&key);
        let done = match shared.filter(|d| self.layout.has_blob(&d.0.descriptor.digest)) {
            Some(done) => done,
            None => {
                let done = self.write_new_layer(sources, span, &options)?;
                let head = shared::layer_head(parent, sources, &options);
                self.shared.remember(key, head, done.clone());
                done
            }
        };
        self.cache_written(&done.0, &done.1);
        Ok(done)
    }

    pub(super) fn write_new_layer(
        &mut self,
        sources: &[Source],
        span: Span,
        options: &LayerOptions,
    ) -> Result<(Layer, layer::LayerDesc), BuildError> {
        let layout = self.layout;
        let (desc, blob) = layer::write_layer(
            sources,
            || {
                layout
                    .new_temp_blob()
                    .map_err(|e| std::io::Error::other(e.to_string()))
            },
            options,
        )
        .map_err(|e| BuildError::at(span, "writing the layer").caused(e))?;
        blob.commit(&desc.digest)
            .map_err(|e| BuildError::at(span, "storing the layer").caused(e))?;
        let layer = Layer {
            descriptor: Descriptor::new(&desc.media_type, desc.digest.clone(), desc.size),
            diff_id: desc.diff_id.clone(),
        };
        self.layer_written(&desc, sources);
        Ok((layer, desc))
    }

    /// Runs one instruction; a short description of what it did.
    fn dispatch(
        &mut self,
        index: usize,
        stage: &mut Stage,
        instr: &Instruction,
    ) -> Result<String, BuildError> {
        let takes_flags = matches!(
            instr.kind,
            Kind::Copy(_) | Kind::Add(_) | Kind::Healthcheck(_) | Kind::Run(_)
        );
        if let Some(flag) = instr.flags.first().filter(|_| !takes_flags) {
            return Err(meta::unknown_flag(
                flag.span,
                &flag.name,
                &instr.keyword.value.to_ascii_uppercase(),
            ));
        }
        match &instr.kind {
            Kind::Copy(paths) | Kind::Add(paths) => {
                let is_add = matches!(instr.kind, Kind::Add(_));
                let (sources, created_by) = copy::plan(self, index, stage, instr, paths, is_add)?;
                let (layer, desc) =
                    self.write_layer(&stage.image.layers.clone(), &sources, instr.span)?;
                let history = self.history(format!("{created_by} # buildkit"));
                stage.image.append(Addendum {
                    layer: Some(layer),
                    history,
                });
                Ok(format!(
                    "layer {} ({}, {} {})",
                    desc.digest.short(),
                    crate::dest::commands::human_size(desc.size),
                    desc.entries,
                    if desc.entries == 1 {
                        "entry"
                    } else {
                        "entries"
                    }
                ))
            }
            Kind::Workdir(_) => meta::workdir(self, stage, instr),
            Kind::Run(_) | Kind::Onbuild(_) => Err(unsupported(instr)),
            _ => meta::apply(self, stage, instr),
        }
    }

    pub(crate) fn record(&self, stage: &mut Stage, created_by: String) {
        let history = self.history(created_by);
        stage.image.append(Addendum {
            layer: None,
            history,
        });
    }

    pub(crate) fn global_arg(&self, name: &str) -> Option<&str> {
        self.global.get(name)
    }

    pub(crate) fn declare_arg(&mut self, name: &str) {
        self.declared_args.insert(name.to_string());
    }

    pub(crate) fn context(&self) -> &shared::ScannedContext {
        &self.context
    }

    pub(crate) fn layout(&self) -> &Layout {
        self.layout
    }

    pub(crate) fn epoch(&self) -> Option<i64> {
        self.opts.source_date_epoch
    }
}

/// RUN and ONBUILD: out of minibuild's subset.
fn unsupported(instr: &Instruction) -> BuildError {
    BuildError::at(
        instr.keyword.span,
        format!(
            "{} is not supported: minibuild builds images without running containers",
            instr.keyword.value.to_ascii_uppercase()
        ),
    )
}

fn one_line(s: &str) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 100 {
        let cut: String = flat.chars().take(97).collect();
        format!("{cut}...")
    } else {
        flat
    }
}
