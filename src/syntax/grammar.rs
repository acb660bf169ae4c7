//! The pest parser generated from `grammar/dockerfile.pest`.

use pest_derive::Parser;

/// The Dockerfile grammar; see the grammar file for its top rules.
#[derive(Parser)]
#[grammar = "../grammar/dockerfile.pest"]
pub(crate) struct DockerfileGrammar;
