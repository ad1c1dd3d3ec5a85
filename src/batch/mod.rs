//! The Arrow side of generation: one adapter per table, each declaring its columns once
//! (`columns` holds the shared machinery), plus the `labels` dataset every workload writes.

pub mod calls;
pub mod columns;
pub mod focus;
pub mod labels;
pub mod ticketing;
