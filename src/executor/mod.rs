//! The executor: stages, variables, and one step per instruction. Each
//! filesystem instruction (ADD, COPY, WORKDIR) becomes a layer; each
//! metadata instruction a config edit; both through [`Image::append`].

pub mod copy;
pub mod meta;
pub mod rootfs;
pub mod users;

use crate::context::BuildContext;
use crate::dest::{self, Layout, PushOptions};
use crate::expand::Lexer;
use crate::image::{self, Addendum, History, Image, ImageConfig, Layer, Manifest};
use crate::layer::{self, Compression, LayerOptions, Source};
use crate::oci::{self, Descriptor, Platform};
use crate::span::Span;
use crate::syntax::ast::{Dockerfile, Instruction, Kind};
use rootfs::RootFs;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::PathBuf;

/// A build error. Errors about an instruction carry its span.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The Dockerfile does not parse.
    #[error(transparent)]
    Parse(#[from] crate::syntax::ParseError),
    /// An instruction failed.
    #[error("{message}")]
    At {
        /// The offending text.
        span: Span,
        /// What went wrong.
        message: String,
        /// A hint, if any.
        help: Option<String>,
    },
    /// A failure not tied to one instruction.
    #[error("{0}")]
    Other(String),
}

impl BuildError {
    /// An error about `span`.
    pub fn at(span: Span, message: impl Into<String>) -> Self {
        BuildError::At {
            span,
            message: message.into(),
            help: None,
        }
    }

    /// The span and help to show, if the error points into the Dockerfile.
    pub fn location(&self) -> Option<(Span, &str, Option<&str>)> {
        match self {
            BuildError::Parse(e) => Some((e.span, e.message.as_str(), e.help.as_deref())),
            BuildError::At {
                span,
                message,
                help,
            } => Some((*span, message.as_str(), help.as_deref())),
            BuildError::Other(_) => None,
        }
    }
}

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
    /// The platform to build for.
    pub platform: Platform,
    /// Show progress bars for long ADDs.
    pub progress: bool,
    /// How to reach registries for FROM images.
    pub registry: PushOptions,
    /// `--pull`: FROM names missing from the store come from their registry.
    pub pull: bool,
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
}

/// The variables an instruction's words are expanded with: ENV and ARG
/// values in order of definition (a later definition replaces the value),
/// indexed by name so that setting and looking up stay constant-time.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    pairs: Vec<(String, String)>,
    index: HashMap<String, usize>,
    bytes: usize,
}

/// The most bytes all variables of a scope may hold together (names and
/// values): each word is limited by [`crate::expand::MAX_WORD_BYTES`], this
/// bounds many of them.
pub const MAX_VARS_BYTES: usize = 16 << 20;

/// The most bytes all expanded words of one build may add up to: each is
/// recorded (history, config, progress), so `LABEL a=$BIG` repeated would
/// otherwise turn a small Dockerfile into gigabytes of history.
pub const MAX_EXPANDED_BYTES: usize = 256 << 20;

impl Vars {
    /// Sets `key` to `value`.
    pub fn set(&mut self, key: &str, value: &str) {
        match self.index.get(key) {
            Some(&i) => {
                let slot = &mut self.pairs[i].1;
                self.bytes = self.bytes - slot.len() + value.len();
                *slot = value.to_string();
            }
            None => {
                self.index.insert(key.to_string(), self.pairs.len());
                self.bytes += key.len() + value.len();
                self.pairs.push((key.to_string(), value.to_string()));
            }
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.index.get(key).map(|&i| self.pairs[i].1.as_str())
    }

    /// Sets `key` to `value` unless all variables would then hold more than
    /// [`MAX_VARS_BYTES`]; the error is about `span`.
    pub(crate) fn set_bounded(
        &mut self,
        span: Span,
        key: &str,
        value: &str,
    ) -> Result<(), BuildError> {
        let old = self.get(key).map_or(key.len(), str::len);
        if self.bytes - old.min(self.bytes) + value.len() > MAX_VARS_BYTES {
            return Err(BuildError::at(
                span,
                format!(
                    "setting {key}: the variables would hold more than {MAX_VARS_BYTES} bytes, the most minibuild allows"
                ),
            ));
        }
        self.set(key, value);
        Ok(())
    }
}

impl crate::expand::Vars for Vars {
    fn lookup(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_string)
    }
}

/// One `FROM` and the instructions after it.
struct StageDef<'a> {
    index: usize,
    name: Option<String>,
    from: &'a Instruction,
    /// The base, expanded with the global ARGs.
    base: String,
    body: Vec<&'a Instruction>,
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
    /// The merged filesystem, brought up to date with the image's layers.
    pub(crate) fn rootfs(&mut self, layout: &Layout) -> Result<&RootFs, String> {
        self.rootfs
            .update(layout, &self.image.layers)
            .map_err(|e| format!("reading the image's layers: {e}"))?;
        Ok(&self.rootfs)
    }
}

/// A build in progress.
pub struct Builder<'a> {
    src: &'a str,
    df: &'a Dockerfile,
    opts: &'a BuildOptions,
    layout: &'a Layout,
    store: Option<&'a Layout>,
    log: &'a mut dyn Write,
    lexer: Lexer,
    context: BuildContext,
    global: Vars,
    declared_args: BTreeSet<String>,
    stages: Vec<StageDef<'a>>,
    built: BTreeMap<usize, Image>,
    building: BTreeSet<usize>,
    step: usize,
    steps: usize,
    /// Bytes expanded so far (see [`MAX_EXPANDED_BYTES`]).
    expanded: std::cell::Cell<usize>,
    pub(crate) tmp: tempfile::TempDir,
}

/// Parses and builds the Dockerfile text `src` with `opts`. Blobs are
/// written into `layout`; FROM names are looked up in `store`. Progress
/// goes to `log`.
pub fn build(
    src: &str,
    opts: &BuildOptions,
    layout: &Layout,
    store: Option<&Layout>,
    log: &mut dyn Write,
) -> Result<Built, BuildError> {
    let df = crate::syntax::parse(src)?;
    let df = &df;
    let context = BuildContext::open(&opts.context, opts.dockerfile.as_deref())
        .map_err(|e| BuildError::Other(format!("reading the build context: {e}")))?;
    let tmp = tempfile::Builder::new()
        .prefix("minibuild-")
        .tempdir()
        .map_err(|e| BuildError::Other(format!("creating a temporary directory: {e}")))?;
    let mut b = Builder {
        src,
        df,
        opts,
        layout,
        store,
        log,
        lexer: Lexer::new(df.directives.escape),
        context,
        global: Vars::default(),
        declared_args: BTreeSet::new(),
        stages: Vec::new(),
        built: BTreeMap::new(),
        building: BTreeSet::new(),
        step: 0,
        steps: 0,
        expanded: std::cell::Cell::new(0),
        tmp,
    };
    b.plan()?;
    let target = b.target()?;
    b.steps = b.count_steps(target);
    let mut image = b.build_stage(target)?;
    image.config.created = Some(b.created());
    if image.layers.is_empty() {
        let span = b.stages[target].from.span;
        let (layer, _) = b.write_layer(&[], span)?;
        image.add_empty_layer(layer);
    }
    let manifest = write_image(layout, &image)
        .map_err(|e| BuildError::Other(format!("writing the image: {e}")))?;
    let mut warnings = Vec::new();
    let unused: Vec<&str> = opts
        .build_args
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !b.declared_args.contains(*k))
        .collect();
    if !unused.is_empty() {
        warnings.push(format!(
            "one or more build-args were not consumed: {}",
            unused.join(", ")
        ));
    }
    Ok(Built {
        manifest,
        image,
        warnings,
    })
}

/// Writes the config and manifest blobs of `image` into `layout`; the
/// manifest's descriptor (with platform).
pub fn write_image(layout: &Layout, image: &Image) -> Result<Descriptor, String> {
    let config = image.config_bytes().map_err(|e| e.to_string())?;
    let config_digest = layout.put_blob(&config).map_err(|e| e.to_string())?;
    let manifest = image.manifest(config_digest, config.len() as u64);
    let bytes = oci::canonical_json(&manifest).map_err(|e| e.to_string())?;
    let digest = layout.put_blob(&bytes).map_err(|e| e.to_string())?;
    let mut desc = Descriptor::new(oci::MEDIA_TYPE_MANIFEST, digest, bytes.len() as u64);
    desc.platform = Some(image.platform());
    Ok(desc)
}

/// Reads an image (manifest and config) from a layout.
pub fn read_image(layout: &Layout, manifest: &Descriptor) -> Result<Image, String> {
    let m: Manifest = layout
        .read_json(&manifest.digest)
        .map_err(|e| e.to_string())?;
    let config: ImageConfig = layout
        .read_json(&m.config.digest)
        .map_err(|e| e.to_string())?;
    Ok(Image::from_base(&m, config))
}

/// The predefined platform ARGs BuildKit puts in the global scope.
fn platform_args(p: &Platform) -> Vec<(String, String)> {
    let variant = p.variant.clone().unwrap_or_default();
    let full = match &p.variant {
        Some(v) => format!("{}/{}/{}", p.os, p.architecture, v),
        None => format!("{}/{}", p.os, p.architecture),
    };
    let mut out = Vec::new();
    for prefix in ["TARGET", "BUILD"] {
        out.push((format!("{prefix}PLATFORM"), full.clone()));
        out.push((format!("{prefix}OS"), p.os.clone()));
        out.push((format!("{prefix}ARCH"), p.architecture.clone()));
        out.push((format!("{prefix}VARIANT"), variant.clone()));
    }
    out
}

impl<'a> Builder<'a> {
    pub(crate) fn expand_word(
        &self,
        span: Span,
        word: &str,
        vars: &Vars,
    ) -> Result<String, BuildError> {
        let out = self.lexer.process_word(word, vars).map_err(|e| {
            let word = crate::expand::quoted_for_message(word);
            BuildError::at(span, format!("expanding {word}: {e}"))
        })?;
        self.spend(span, out.len())?;
        Ok(out)
    }

    /// The `--build-arg` value of `name` (the last one given wins).
    pub(crate) fn build_arg(&self, name: &str) -> Option<&str> {
        self.opts
            .build_args
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Splits the Dockerfile into global ARGs and stages.
    fn plan(&mut self) -> Result<(), BuildError> {
        let df: &'a Dockerfile = self.df;
        for (k, v) in platform_args(&self.opts.platform) {
            self.global.set(&k, &v);
        }
        for instr in &df.instructions {
            match &instr.kind {
                Kind::From { image, stage_name } => {
                    let base = self.expand_word(image.span, &image.value, &self.global)?;
                    let name = stage_name.as_ref().map(|n| n.value.to_ascii_lowercase());
                    if let Some(n) = &name {
                        if self.stages.iter().any(|s| s.name.as_deref() == Some(n)) {
                            return Err(BuildError::at(
                                stage_name.as_ref().map(|s| s.span).unwrap_or(instr.span),
                                format!("duplicate stage name {n:?}"),
                            ));
                        }
                    }
                    let index = self.stages.len();
                    self.stages.push(StageDef {
                        index,
                        name,
                        from: instr,
                        base,
                        body: Vec::new(),
                    });
                }
                _ if !self.stages.is_empty() => {
                    if let Some(stage) = self.stages.last_mut() {
                        stage.body.push(instr);
                    }
                }
                Kind::Arg(decls) => {
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
                _ => {
                    return Err(BuildError::at(
                        instr.keyword.span,
                        format!(
                            "{} before the first FROM: only ARG may come before FROM",
                            instr.keyword.value.to_ascii_uppercase()
                        ),
                    ))
                }
            }
        }
        if self.stages.is_empty() {
            return Err(BuildError::Other(
                "the Dockerfile has no FROM instruction".to_string(),
            ));
        }
        self.check_stage_references()
    }

    /// Refuses references to the stage itself or to a later one (in FROM
    /// and COPY --from), whichever stages the target needs, so that a
    /// Dockerfile is accepted or refused as a whole.
    fn check_stage_references(&self) -> Result<(), BuildError> {
        for stage in &self.stages {
            let later = |name: &str| self.stage_by_name(name).filter(|i| *i >= stage.index);
            if let Some(i) = later(&stage.base) {
                if i == stage.index {
                    return Err(BuildError::at(
                        stage.from.span,
                        format!("circular dependency detected on stage {:?}", stage.base),
                    ));
                }
            }
            for instr in &stage.body {
                let Some(flag) = instr.flag("from") else {
                    continue;
                };
                let Some(value) = flag.value.as_deref().filter(|v| !v.contains('$')) else {
                    continue;
                };
                let by_index = value.parse::<usize>().ok().filter(|i| *i >= stage.index);
                if let Some(i) = later(value).or(by_index) {
                    let what = if i == stage.index {
                        "is the stage it is in (a cycle)"
                    } else {
                        "is defined later: only earlier stages can be copied from"
                    };
                    return Err(BuildError::at(
                        flag.span,
                        format!("COPY --from={value}: stage {value:?} {what}"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn target(&self) -> Result<usize, BuildError> {
        match &self.opts.target {
            None => Ok(self.stages.len() - 1),
            Some(t) => {
                let t = t.to_ascii_lowercase();
                self.stages
                    .iter()
                    .find(|s| s.name.as_deref() == Some(t.as_str()))
                    .map(|s| s.index)
                    .ok_or_else(|| {
                        let names: Vec<&str> = self
                            .stages
                            .iter()
                            .filter_map(|s| s.name.as_deref())
                            .collect();
                        BuildError::Other(format!(
                            "target stage {t:?} could not be found (stages: {})",
                            if names.is_empty() {
                                "none named".to_string()
                            } else {
                                names.join(", ")
                            }
                        ))
                    })
            }
        }
    }

    /// The stage `name` refers to (a name or an index), if it is one.
    fn stage_ref(&self, name: &str) -> Option<usize> {
        self.stage_by_name(name).or_else(|| {
            name.parse::<usize>()
                .ok()
                .filter(|i| *i < self.stages.len())
        })
    }

    /// The stage named `name` (stage names are case-insensitive).
    fn stage_by_name(&self, name: &str) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        self.stages
            .iter()
            .find(|s| s.name.as_deref() == Some(lower.as_str()))
            .map(|s| s.index)
    }

    /// Steps of the stages `target` needs (for `[n/N]` counters).
    fn count_steps(&self, target: usize) -> usize {
        let mut seen = BTreeSet::new();
        let mut todo = vec![target];
        let mut total = 0;
        while let Some(i) = todo.pop() {
            if !seen.insert(i) {
                continue;
            }
            let s = &self.stages[i];
            total += 1 + s.body.len();
            if let Some(d) = self.stage_ref(&s.base).filter(|d| *d < i) {
                todo.push(d);
            }
            for instr in &s.body {
                if let Some(from) = instr.flag("from").and_then(|f| f.value.as_deref()) {
                    if let Some(d) = self.stage_ref(from).filter(|d| *d < i) {
                        todo.push(d);
                    }
                }
            }
        }
        total
    }

    fn say(&mut self, line: &str) {
        // the log is for people; a closed stderr must not fail the build;
        // the Dockerfile's control characters are not sent to the terminal
        let _ = writeln!(self.log, "{}", crate::error::escape_controls(line));
    }

    /// The image of stage `index`, building it (and what it needs) first.
    fn build_stage(&mut self, index: usize) -> Result<Image, BuildError> {
        if let Some(img) = self.built.get(&index) {
            return Ok(img.clone());
        }
        if !self.building.insert(index) {
            let def = &self.stages[index];
            return Err(BuildError::at(
                def.from.span,
                format!("circular dependency detected on stage {index}"),
            ));
        }
        let (from, base_name) = {
            let def = &self.stages[index];
            (def.from, def.base.clone())
        };
        // a stage this one builds on is built (and shown) first
        if let Some(dep) = self.stage_ref(&base_name).filter(|d| *d < index) {
            if !base_name.chars().all(|c| c.is_ascii_digit()) {
                self.build_stage(dep)?;
            }
        }
        self.step += 1;
        let header = format!(
            "[{}/{}] {}",
            self.step,
            self.steps,
            one_line(&self.df_text(from.span))
        );
        self.say(&header);
        let image = self.base_image(index, &base_name, from.span)?;
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
        let body = self.stages[index].body.clone();
        for instr in body {
            self.step += 1;
            let text = self.df_text(instr.span);
            let text = if instr.heredocs.is_empty() {
                one_line(&text)
            } else {
                format!("{} …", text.lines().next().unwrap_or_default())
            };
            let header = format!("[{}/{}] {}", self.step, self.steps, text);
            self.say(&header);
            let done = self.dispatch(index, &mut stage, instr)?;
            self.say(&format!("      → {done}"));
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

    /// The image a stage starts from.
    fn base_image(&mut self, index: usize, base: &str, span: Span) -> Result<Image, BuildError> {
        let from = self.stages[index].from;
        let mut platform = self.opts.platform.clone();
        for flag in &from.flags {
            if flag.name != "platform" {
                return Err(meta::unknown_flag(flag.span, &flag.name, "FROM"));
            }
            let raw = flag.value.clone().unwrap_or_default();
            let value = self.expand_word(flag.span, &raw, &self.global)?;
            platform = parse_platform(&value).map_err(|e| BuildError::at(flag.span, e))?;
        }
        if base.eq_ignore_ascii_case("scratch") {
            self.say("      → empty base (scratch)");
            return Ok(Image::scratch(&platform));
        }
        if platform != self.opts.platform {
            return Err(BuildError::at(
                span,
                format!(
                    "FROM --platform={}/{} of an image: minibuild only pulls images for the platform it builds for; use FROM --platform with scratch",
                    platform.os, platform.architecture
                ),
            ));
        }
        if let Some(dep) = self
            .stage_ref(base)
            .filter(|_| !base.chars().all(|c| c.is_ascii_digit()))
        {
            if dep >= index {
                return Err(BuildError::at(
                    span,
                    format!("stage {base:?} is defined after this one: a stage can only build on earlier stages"),
                ));
            }
            let img = self.build_stage(dep)?;
            self.say(&format!("      → from stage {base}"));
            return Ok(img);
        }
        self.fetch_image(base, span)
    }

    /// Brings an image from a store, a layout or a registry into the build
    /// layout.
    pub(crate) fn fetch_image(&mut self, spec: &str, span: Span) -> Result<Image, BuildError> {
        let store = self.store.unwrap_or(self.layout);
        let desc = dest::fetch_image_with(
            spec,
            store,
            self.layout,
            &self.opts.registry,
            if self.opts.pull {
                dest::PullPolicy::Pull
            } else {
                dest::PullPolicy::Cached
            },
        )
        .map_err(|e| {
            let hint = match (&e, dest::Reference::parse(spec)) {
                (dest::DestError::NotFound { .. }, Ok(r)) => format!(
                    "\n  add --pull to fetch {} from its registry, or write FROM docker://{}",
                    r.full(),
                    r.full()
                ),
                _ => String::new(),
            };
            BuildError::at(span, format!("loading base image {spec}: {e}{hint}"))
        })?;
        let image = read_image(self.layout, &desc)
            .map_err(|e| BuildError::at(span, format!("loading base image {spec}: {e}")))?;
        self.say(&format!(
            "      → base {} ({} layers)",
            short(&desc.digest),
            image.layers.len()
        ));
        Ok(image)
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

    /// Writes `sources` as one layer into the build layout.
    pub(crate) fn write_layer(
        &mut self,
        sources: &[Source],
        span: Span,
    ) -> Result<(Layer, layer::LayerDesc), BuildError> {
        let options = LayerOptions {
            compression: self.opts.compression,
            clamp_mtime: self.opts.source_date_epoch,
            progress: self.opts.progress,
        };
        let layout = self.layout;
        let (desc, blob) = layer::write_layer(
            sources,
            || {
                layout
                    .new_temp_blob()
                    .map_err(|e| std::io::Error::other(e.to_string()))
            },
            &options,
        )
        .map_err(|e| BuildError::at(span, e.to_string()))?;
        blob.commit(&desc.digest)
            .map_err(|e| BuildError::at(span, format!("storing layer: {e}")))?;
        let layer = Layer {
            descriptor: Descriptor::new(&desc.media_type, desc.digest.clone(), desc.size),
            diff_id: desc.diff_id.clone(),
        };
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
                let (layer, desc) = self.write_layer(&sources, instr.span)?;
                let history = self.history(format!("{created_by} # buildkit"));
                stage.image.append(Addendum {
                    layer: Some(layer),
                    history,
                });
                Ok(format!(
                    "layer {} ({}, {} {})",
                    short(&desc.digest),
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
            Kind::Run(_) => Err(BuildError::at(
                instr.keyword.span,
                "RUN is not supported: minibuild builds images without running containers",
            )),
            Kind::Onbuild(_) => Err(BuildError::at(
                instr.keyword.span,
                "ONBUILD is not supported: minibuild builds images without running containers",
            )),
            _ => meta::apply(self, stage, instr),
        }
    }

    /// Expands a heredoc body as BuildKit does: variables are substituted,
    /// quotes are left as written.
    pub(crate) fn expand_heredoc(
        &self,
        span: Span,
        text: &str,
        vars: &Vars,
    ) -> Result<String, BuildError> {
        let body = Lexer::new('\\')
            .skip_process_quotes(true)
            .word_limit(crate::syntax::MAX_DOCKERFILE_BYTES as usize)
            .process_word(text, vars)
            .map_err(|e| BuildError::at(span, format!("expanding heredoc: {e}")))?;
        self.spend(span, body.len())?;
        Ok(body)
    }

    /// Counts `bytes` more of expanded text against [`MAX_EXPANDED_BYTES`].
    fn spend(&self, span: Span, bytes: usize) -> Result<(), BuildError> {
        let total = self.expanded.get().saturating_add(bytes);
        self.expanded.set(total);
        if total > MAX_EXPANDED_BYTES {
            return Err(BuildError::at(
                span,
                format!("the words of this Dockerfile expand to more than {MAX_EXPANDED_BYTES} bytes in all, the most minibuild allows"),
            ));
        }
        Ok(())
    }

    pub(crate) fn expand_words(
        &self,
        span: Span,
        word: &str,
        vars: &Vars,
    ) -> Result<Vec<String>, BuildError> {
        let out = self.lexer.process_words(word, vars).map_err(|e| {
            let word = crate::expand::quoted_for_message(word);
            BuildError::at(span, format!("expanding {word}: {e}"))
        })?;
        self.spend(span, out.iter().map(String::len).sum())?;
        Ok(out)
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

    pub(crate) fn context(&self) -> &BuildContext {
        &self.context
    }

    pub(crate) fn layout(&self) -> &Layout {
        self.layout
    }

    pub(crate) fn epoch(&self) -> Option<i64> {
        self.opts.source_date_epoch
    }

    pub(crate) fn stage_image_for_copy(
        &mut self,
        index: usize,
        from: &str,
        span: Span,
    ) -> Result<Image, BuildError> {
        let by_name = self.stage_by_name(from);
        let by_index = from.parse::<usize>().ok();
        if let Some(dep) = by_name.or(by_index) {
            if dep >= self.stages.len() {
                return Err(BuildError::at(
                    span,
                    format!("COPY --from={from}: there is no stage {dep}"),
                ));
            }
            if dep >= index {
                return Err(BuildError::at(
                    span,
                    format!(
                        "COPY --from={from}: stage {from:?} is this stage or a later one; only earlier stages can be copied from"
                    ),
                ));
            }
            return self.build_stage(dep);
        }
        self.fetch_image(from, span).map_err(|e| match e {
            BuildError::At { span, message, .. } => BuildError::At {
                span,
                message: format!("COPY --from={from}: no stage is named {from:?}, and {message}"),
                help: Some(
                    "name a stage defined earlier (FROM ... AS name), its index, or an image"
                        .into(),
                ),
            },
            other => other,
        })
    }
}

/// Parses `os/arch[/variant]` (Go's names; `x86_64` and `aarch64` too).
pub fn parse_platform(s: &str) -> Result<Platform, String> {
    let parts: Vec<&str> = s.split('/').collect();
    if parts.len() < 2 || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(format!(
            "invalid platform {s:?}: expected os/arch[/variant]"
        ));
    }
    let architecture = match parts[1] {
        "x86_64" | "x86-64" => "amd64",
        "aarch64" => "arm64",
        "i386" | "i686" => "386",
        a => a,
    }
    .to_string();
    let variant = match (parts.get(2), architecture.as_str()) {
        (Some(v), _) => Some(v.to_string()),
        (None, "arm64") => Some("v8".to_string()),
        (None, "arm") => Some("v7".to_string()),
        _ => None,
    };
    Ok(Platform {
        os: parts[0].to_string(),
        architecture,
        variant,
    })
}

/// `sha256:0123456789ab` (12 hex digits).
pub fn short(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("sha256:{}", &hex[..hex.len().min(12)])
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
