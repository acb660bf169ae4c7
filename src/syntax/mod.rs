//! Dockerfile syntax: the pest grammar's pairs turned into typed instructions.
//!
//! [`parse`] reads a whole Dockerfile the way BuildKit's parser does
//! (directives, continuations, flags, exec/shell forms, heredocs) and types
//! every instruction into an [`ast::Kind`]; [`dump`] prints one instruction
//! in BuildKit's AST dump format, which the conformance tests compare.

pub mod ast;
mod dump;
mod grammar;
mod line;
pub mod parser;
mod source;
pub mod stages;
mod typed;

pub use dump::dump;
pub use parser::{parse, ParseError};
pub use source::{read_dockerfile, SourceError, MAX_DOCKERFILE_BYTES};
