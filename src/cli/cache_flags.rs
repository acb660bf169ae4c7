//! The build cache's flags of `minibuild build`.

use super::Failure;
use clap::Args;
use minibuild::cache::{parse_location, CacheOptions};

#[derive(Args, Debug, Default)]
pub(crate) struct CacheArgs {
    /// Build every step, taking nothing from the build cache (what is built
    /// is still cached).
    #[arg(long)]
    no_cache: bool,
    /// Say for every layer step why it hit or missed the cache: on a miss
    /// the first input that differs (a file and which of its fields, the
    /// instruction, a build arg, the parent).
    #[arg(long)]
    explain_cache: bool,
    /// Write the build's cache (each layer step's key and layer) to
    /// oci:DIR[:REF] or docker://HOST/REPO:TAG (repeatable).
    #[arg(long, value_name = "DEST")]
    cache_to: Vec<String>,
    /// Bring a cache written by --cache-to into the store before building
    /// (repeatable): the steps it has are CACHED.
    #[arg(long, value_name = "SOURCE")]
    cache_from: Vec<String>,
}

impl CacheArgs {
    /// The options the executor takes.
    pub(crate) fn options(&self) -> Result<CacheOptions, Failure> {
        let parse = |specs: &[String]| {
            specs
                .iter()
                .map(|s| parse_location(s).map_err(|e| Failure::usage(e.to_string())))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(CacheOptions {
            imported: Vec::new(),
            no_cache: self.no_cache,
            explain: self.explain_cache,
            from: parse(&self.cache_from)?,
            to: parse(&self.cache_to)?,
        })
    }
}
