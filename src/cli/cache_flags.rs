//! The build cache's flags of `minibuild build`.

use clap::Args;
use minibuild::cache::CacheOptions;

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
}

impl CacheArgs {
    /// The options the executor takes.
    pub(crate) fn options(&self) -> CacheOptions {
        CacheOptions {
            no_cache: self.no_cache,
            explain: self.explain_cache,
        }
    }
}
