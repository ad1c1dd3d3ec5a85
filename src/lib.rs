//! trafficsim: simulated AI-API usage traffic for FinOps analysis.
//!
//! Stages, one module each: `config` (TOML → validated settings), `sim` (the simulation core:
//! population, traffic model, plan), `batch` (Arrow schema and builder), `sink` (CSV, Parquet,
//! atomic files), `generate` (the parallel, ordered pipeline), `validate` (dataset invariants),
//! `report` (charts and pages) and `cli` (the command line).

pub mod batch;
pub mod cli;
pub mod config;
pub mod generate;
pub mod report;
pub mod sim;
pub mod sink;
pub mod validate;
