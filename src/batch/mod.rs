//! The Arrow side of generation: the `calls` schema and the builder that fills it.

pub mod builder;
pub mod schema;
