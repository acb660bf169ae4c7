//! A build for several platforms (`--platform linux/amd64,linux/arm64`):
//! each platform built as its own image, with its own predefined ARGs,
//! sharing the build context and the layers that come out the same; then
//! one OCI image index listing each image with its platform.

use crate::dest::annotation::{annotate, AnnotationLevel, LeveledAnnotation};
use crate::dest::{self, Layout, Location};
use crate::events::{Event, Events};
use crate::executor::{self, BuildError, BuildOptions, Built, SharedWork};
use crate::oci::Platform;
use crate::Error;
use std::collections::BTreeMap;

/// Builds `dockerfile` for each of `platforms` into `layout` and writes the
/// index; a [`Built`] whose manifest is the index and whose image is the
/// first platform's. A failure names the platform it happened for.
pub fn build_platforms(
    dockerfile: &str,
    options: &BuildOptions,
    platforms: &[Platform],
    layout: &Layout,
    store: Option<&Layout>,
    events: &Events,
) -> Result<Built, Error> {
    check_distinct(platforms)?;
    let shared = SharedWork::new();
    let mut done = Vec::new();
    let mut warnings = Vec::new();
    let mut read_images = Vec::new();
    let mut platform_reads = Vec::new();
    let mut fetched = Vec::new();
    let mut cache = crate::cache::CacheWrites::default();
    for platform in platforms {
        events.emit(Event::PlatformStarted {
            platform: platform.to_string(),
        });
        let opts = BuildOptions {
            platform: platform.clone(),
            platform_chosen: true,
            ..options.clone()
        };
        let built = executor::build_shared(dockerfile, &opts, layout, store, &shared, events)
            .map_err(|e| for_platform(e, platform))?;
        for f in built.fetched {
            if !fetched.contains(&f) {
                fetched.push(f);
            }
        }
        platform_reads.push(built.read_images.clone());
        for r in built.read_images {
            if !read_images.contains(&r) {
                read_images.push(r);
            }
        }
        cache.extend(built.cache);
        for w in built.warnings {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
        // keeps its `manifest-descriptor:` annotations
        let mut entry = built.manifest.clone();
        entry.platform = Some(platform.clone());
        done.push((platform.clone(), entry, built.image));
    }
    let entries = done.iter().map(|(_, d, _)| d.clone()).collect();
    let at = |level| index_annotations(&options.annotations, level);
    let mut index = dest::index::write_index(layout, entries, Some(at(AnnotationLevel::Index)))?;
    annotate(&mut index, at(AnnotationLevel::IndexDescriptor));
    events.emit(Event::Output {
        message: format!(
            "index {} ({} platforms; {} layers shared between them)",
            index.digest.short(),
            done.len(),
            shared.layers_reused()
        ),
    });
    let image = done
        .first()
        .map(|(_, _, image)| image.clone())
        .ok_or_else(|| Error::Usage("--platform names no platform".to_string()))?;
    Ok(Built {
        manifest: index,
        image,
        warnings,
        platforms: done,
        read_images,
        platform_reads,
        fetched,
        cache,
    })
}

/// The `index:` (or `index-descriptor:`) annotations: those without a
/// platform selector (an index has none).
fn index_annotations(
    list: &[LeveledAnnotation],
    level: AnnotationLevel,
) -> BTreeMap<String, String> {
    list.iter()
        .filter(|a| a.level == level && a.platform.is_none())
        .map(|a| (a.key.clone(), a.value.clone()))
        .collect()
}

/// Refuses a platform listed twice, and outputs that cannot hold an
/// index (before anything is built).
pub fn check_outputs(platforms: &[Platform], outputs: &[Location]) -> Result<(), Error> {
    if platforms.len() < 2 {
        return Ok(());
    }
    for o in outputs {
        if let Location::DockerArchive { file, .. } = o {
            let list: Vec<String> = platforms.iter().map(ToString::to_string).collect();
            return Err(Error::Usage(format!(
                "docker-archive:{} holds one image, and this build makes one per platform ({}): write oci-archive: or oci:, or build one platform",
                file.display(),
                list.join(", ")
            )));
        }
    }
    Ok(())
}

fn check_distinct(platforms: &[Platform]) -> Result<(), Error> {
    for (i, p) in platforms.iter().enumerate() {
        if platforms[..i].iter().any(|q| q.same_as(p)) {
            return Err(Error::Usage(format!("--platform lists {p} twice")));
        }
    }
    Ok(())
}

/// `e` with the platform it happened for in its message.
fn for_platform(e: Error, platform: &Platform) -> Error {
    match e {
        Error::Build(BuildError::At {
            span,
            message,
            help,
            cause,
        }) => Error::Build(BuildError::At {
            span,
            message: format!("[{platform}] {message}"),
            help,
            cause,
        }),
        Error::Build(BuildError::Other { message, cause }) => Error::Build(BuildError::Other {
            message: format!("[{platform}] {message}"),
            cause,
        }),
        other => other,
    }
}
