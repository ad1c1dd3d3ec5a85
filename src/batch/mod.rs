//! The Arrow side of generation: the `calls` schema and the builder that fills
//! it, and the `labels` dataset.

pub mod builder;
pub mod labels;
pub mod schema;
