//! What a build, push, pull or save is doing, as typed events.
//!
//! The library never prints progress: the executor, the layer writer and
//! the registry client emit [`Event`]s to an [`Events`] handle, and a
//! [`Reporter`] decides what a person or a program sees — live bars on a
//! terminal ([`render::Tty`]), one line per step ([`render::Plain`]), one
//! JSON object per line ([`render::RawJson`]), what each Dockerfile line
//! produced ([`render::Explain`]), or nothing ([`Silent`]).
//!
//! Reporting only observes: nothing a reporter does changes an image.

mod meter;
pub mod render;

pub use meter::{Meter, MeterReader};
use serde::Serialize;
use std::sync::Arc;

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// The build for one platform of a multi-platform build began (its
    /// steps follow).
    PlatformStarted {
        /// `os/arch[/variant]`.
        platform: String,
    },
    /// A Dockerfile step began.
    StepStarted(Step),
    /// A Dockerfile step ended; what it produced.
    StepFinished {
        /// The step.
        #[serde(flatten)]
        step: Step,
        /// How long it took, in seconds.
        seconds: f64,
        /// What it made.
        result: StepResult,
    },
    /// A layer blob was written into the build layout.
    LayerWritten {
        /// The compressed blob's digest.
        digest: String,
        /// The uncompressed tar's digest.
        diff_id: String,
        /// The blob's size in bytes.
        size: u64,
        /// The layer's media type.
        media_type: String,
        /// Tar entries in the layer.
        entries: u64,
    },
    /// A blob went to or came from somewhere (a registry, an archive).
    BlobTransferred(Blob),
    /// Bytes (and files) done of an operation that can take a while.
    Progress(Progress),
    /// The image was written: its manifest digest.
    ImageWritten {
        /// The manifest's digest.
        digest: String,
        /// How many layers it has.
        layers: usize,
        /// `os/architecture`.
        platform: String,
    },
    /// The image went somewhere (`stored hello in DIR`, `wrote oci:out`).
    Output {
        /// What was done, for people.
        message: String,
    },
    /// Something the user should know.
    Warning {
        /// The warning.
        message: String,
    },
    /// The operation failed.
    Error {
        /// The error with its causes (no colour).
        message: String,
    },
}

/// A Dockerfile step: which one, and its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The stage's index (0 for the first FROM).
    pub stage: usize,
    /// The step's number, 1-based, across the stages built.
    pub index: usize,
    /// How many steps the build has.
    pub total: usize,
    /// The Dockerfile line the instruction starts on.
    pub line: usize,
    /// The instruction's text on one line.
    pub text: String,
}

/// What a step made: a layer, config changes, a base image (WORKDIR makes
/// both a layer and a config change).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StepResult {
    /// One line for people: `layer sha256:2719098534e1 (341kB, 1 entry)`.
    pub summary: String,
    /// The layer it made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<LayerResult>,
    /// The config fields it changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<ConfigChange>,
    /// The base image a FROM step started from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<BaseResult>,
    /// What the build cache did for a layer step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<Box<CacheResult>>,
}

/// What the build cache did for a layer step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CacheResult {
    /// The stored layer was taken (`CACHED`).
    pub hit: bool,
    /// The step's cache key (`sha256:...`).
    pub key: String,
    /// On a miss, the first input that differs from the last build of the
    /// step (`content of app/a.txt`, `mode 0664→0644 of a`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miss: Option<String>,
}

/// The layer a step made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LayerResult {
    /// The blob's digest.
    pub digest: String,
    /// The blob's size.
    pub size: u64,
    /// Tar entries in the layer.
    pub entries: u64,
    /// Entries new to the image (known when the reporter wants details).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added: Option<u64>,
    /// Entries that replace a path of a lower layer (details only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<u64>,
    /// The sources it took and where each landed (details only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<PathTaken>,
    /// Every entry of the layer, in tar order (details only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<EntryChange>,
}

/// A source a COPY or ADD took and where it landed in the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathTaken {
    /// The context path (`hello`), an archive, `<<EOF` for a heredoc, or
    /// `stage:PATH` for `COPY --from`.
    pub from: String,
    /// The path in the image (`/hello`).
    pub to: String,
}

/// One entry of a layer, against the image below it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryChange {
    /// The path in the image, absolute.
    pub path: String,
    /// `added` or `modified`.
    pub change: Change,
    /// `file`, `dir`, `symlink`, `hardlink` or `other`.
    pub kind: &'static str,
    /// The file's size (0 for anything else).
    pub size: u64,
}

/// Whether an entry is new or replaces a lower layer's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// A path no lower layer has.
    Added,
    /// A path a lower layer has.
    Modified,
}

/// One config field a step changed (`null` = unset).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigChange {
    /// The field's name as the OCI config spells it (`Entrypoint`, `Env`).
    pub field: String,
    /// Its value before the step.
    pub before: serde_json::Value,
    /// Its value after the step.
    pub after: serde_json::Value,
}

/// The image a FROM step starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseResult {
    /// The base as the Dockerfile names it, expanded (`scratch`, `oci:dir:ref`).
    pub name: String,
    /// How many layers it brings.
    pub layers: usize,
}

/// A blob transferred.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Blob {
    /// Its digest.
    pub digest: String,
    /// Its size.
    pub bytes: u64,
    /// Which way it went.
    pub direction: Direction,
    /// What it is: `layer`, `config`, `manifest` or `index`.
    pub kind: &'static str,
    /// Where it went or came from (`127.0.0.1:5000/hello`, a file).
    pub peer: String,
    /// The other side already had it: nothing was sent.
    pub skipped: bool,
    /// How long it took, in seconds.
    pub seconds: f64,
}

/// Which way a blob went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Pushed to a registry.
    Upload,
    /// Pulled from a registry.
    Download,
    /// Written into an archive or a layout.
    Write,
}

/// How far an operation has got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// The operation, unique in this process.
    pub id: u64,
    /// What kind of operation.
    pub task: Task,
    /// What it works on (`uploading sha256:ab12… (layer)`, `rootfs.tar.xz`).
    pub label: String,
    /// Bytes done.
    pub bytes: u64,
    /// Bytes in all, when known.
    pub total_bytes: Option<u64>,
    /// Files done (a COPY).
    pub files: u64,
    /// Files in all, when known.
    pub total_files: Option<u64>,
    /// The operation ended (this is its last event).
    pub finished: bool,
}

/// Operations that report progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Files written into a layer (and compressed with it).
    Layer,
    /// An archive read by ADD.
    Archive,
    /// A blob pushed to a registry.
    Upload,
    /// A blob pulled from a registry.
    Download,
    /// Blobs written into an archive (`save`).
    Save,
}

/// Receives events; renders them or records them.
pub trait Reporter: Send + Sync {
    /// One event. A reporter must not fail the operation: what it cannot
    /// write is dropped.
    fn report(&self, event: &Event);

    /// Whether layer results should carry their entries and the paths
    /// taken (costs a read of each new layer): `explain` wants them.
    fn wants_details(&self) -> bool {
        false
    }

    /// The operation is over: clear live bars.
    fn finish(&self) {}
}

/// A reporter that drops everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn report(&self, _: &Event) {}
}

/// Where events go: a cheap handle to a shared [`Reporter`], carried in
/// options (the default drops everything).
#[derive(Clone)]
pub struct Events(Arc<dyn Reporter>);

impl Events {
    /// Events sent to `reporter`.
    pub fn new(reporter: impl Reporter + 'static) -> Events {
        Events(Arc::new(reporter))
    }

    /// Events nobody sees.
    pub fn silent() -> Events {
        Events::new(Silent)
    }

    /// Sends one event.
    pub fn emit(&self, event: Event) {
        self.0.report(&event);
    }

    /// A warning.
    pub fn warn(&self, message: impl Into<String>) {
        self.emit(Event::Warning {
            message: message.into(),
        });
    }

    /// Whether results should carry details (see [`Reporter::wants_details`]).
    pub fn wants_details(&self) -> bool {
        self.0.wants_details()
    }

    /// Ends the operation's display.
    pub fn finish(&self) {
        self.0.finish();
    }

    /// Starts measuring an operation (see [`Meter`]).
    pub fn meter(
        &self,
        task: Task,
        label: impl Into<String>,
        total_bytes: Option<u64>,
        total_files: Option<u64>,
    ) -> Meter {
        Meter::start(self.clone(), task, label.into(), total_bytes, total_files)
    }
}

impl Default for Events {
    fn default() -> Events {
        Events::silent()
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Events")
    }
}

/// Options that carry [`Events`] compare equal whatever their reporter:
/// where progress goes is no part of what they mean.
impl PartialEq for Events {
    fn eq(&self, _: &Events) -> bool {
        true
    }
}

impl Eq for Events {}

/// Seconds since `start`, rounded to milliseconds.
pub fn seconds_since(start: std::time::Instant) -> f64 {
    (start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Records what it is sent.
    #[derive(Default)]
    pub(crate) struct Recorder(pub(crate) Mutex<Vec<Event>>);

    impl Reporter for Recorder {
        fn report(&self, event: &Event) {
            self.0.lock().unwrap().push(event.clone());
        }
    }

    #[test]
    fn events_serialize_with_their_name() {
        let e = Event::Warning {
            message: "w".into(),
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"event":"warning","message":"w"}"#
        );
        let step = Step {
            stage: 0,
            index: 1,
            total: 2,
            line: 1,
            text: "FROM scratch".into(),
        };
        let v = serde_json::to_value(Event::StepFinished {
            step,
            seconds: 0.5,
            result: StepResult::default(),
        })
        .unwrap();
        assert_eq!(v["event"], "step_finished");
        assert_eq!(v["index"], 1);
        assert_eq!(v["seconds"], 0.5);
        assert_eq!(v["result"]["summary"], "");
    }

    #[test]
    fn a_meter_reports_start_and_finish() {
        let rec = Arc::new(Recorder::default());
        struct Shared(Arc<Recorder>);
        impl Reporter for Shared {
            fn report(&self, e: &Event) {
                self.0.report(e)
            }
        }
        let events = Events::new(Shared(rec.clone()));
        let m = events.meter(Task::Upload, "blob", Some(10), None);
        m.advance(4, 0);
        m.advance(6, 0);
        m.finish();
        let got = rec.0.lock().unwrap();
        let progress: Vec<&Progress> = got
            .iter()
            .filter_map(|e| match e {
                Event::Progress(p) => Some(p),
                _ => None,
            })
            .collect();
        assert!(progress.len() >= 2, "{progress:?}");
        assert_eq!(progress[0].bytes, 0);
        let last = progress.last().unwrap();
        assert!(last.finished);
        assert_eq!(last.bytes, 10);
        assert_eq!(progress.iter().filter(|p| p.finished).count(), 1);
    }
}
