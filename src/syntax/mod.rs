//! Dockerfile syntax: the pest grammar's pairs turned into typed instructions.

pub mod ast;
