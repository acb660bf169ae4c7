//! minibuild: build OCI container images from Dockerfiles, without a daemon
//! and without root.
//!
//! The pipeline, in the order the data flows:
//!
//! 1. [`syntax`] reads a Dockerfile (a pest grammar) into typed instructions
//!    with spans;
//! 2. [`expand`] substitutes ARG/ENV variables as BuildKit's shell lexer does;
//! 3. [`executor`] runs the stages: each filesystem instruction (ADD, COPY)
//!    becomes a changeset layer, each metadata instruction a config edit;
//! 4. [`context`] is the build context (and `.dockerignore`), which sources
//!    never leave;
//! 5. [`layer`] writes a changeset as a normalized tar, compressed and hashed
//!    in one pass;
//! 6. [`image`] assembles config, manifest and history from layers;
//! 7. [`dest`] stores the result: an OCI layout, archives, a registry;
//!    [`job`] runs a whole build as the command does;
//! 8. [`events`] is what all of them report as they go (steps, layers,
//!    blobs, progress), for a renderer to show.
//!
//! Building an image from another Rust program:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("hello.txt"), "hello\n")?;
//! let layout = minibuild::Layout::create(&dir.path().join("oci"))?;
//! let options = minibuild::BuildOptions::new(dir.path(), 0);
//! let dockerfile = "FROM scratch\nCOPY hello.txt /\nCMD [\"/hello\"]\n";
//! let built = minibuild::build(dockerfile, &options, &layout, None, &Default::default())?;
//! layout.tag(&built.manifest, &"hello:latest".parse()?)?;
//! assert_eq!(built.image.layers.len(), 1);
//! assert!(layout.fsck()?.is_clean());
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

pub mod attest;
pub mod cache;
pub mod context;
pub mod dest;
pub mod digest;
pub mod error;
pub mod events;
pub mod executor;
pub mod expand;
pub mod ignore;
pub mod image;
pub mod inspect;
pub mod job;
pub mod layer;
pub mod oci;
pub mod reference;
pub mod span;
pub mod syntax;

pub use dest::{Layout, Location, PushOptions};
pub use error::Error;
pub use executor::{build, BuildOptions, Built};
pub use image::Image;
pub use layer::Compression;
pub use oci::{Descriptor, Platform};
