//! The export stage: a generated dataset written in another community's format, read with the
//! analyzers' Polars scan and written with the sinks. `focus`: the calls as the FinOps
//! Foundation's FOCUS 1.2 cost-and-usage dataset.

pub mod focus;
