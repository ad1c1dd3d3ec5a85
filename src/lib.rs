//! trafficsim: simulated traffic turned into data and evidence, for two workloads on one engine:
//! AI-API calls (FinOps) and event ticketing (fraud, inventory, service levels).
//!
//! Stages, one module each: `config` (TOML → validated settings), `sim` (the simulation core:
//! populations, traffic models, plans), `batch` (Arrow adapters), `sink` (CSV, Parquet, atomic
//! files), `generate` (the parallel, ordered driver), `validate` (dataset invariants), `analyze`
//! (Polars queries, one module per analyzer), `report` (HTML pages, SVG charts, manifest),
//! `export` (a dataset in another community's format: FOCUS), `replay` and `mock` (a live
//! service driven with the data, and one to drive), `serve` (the live report viewer) and `cli`
//! (the command line). Inside a stage, each workload has a file or folder of its own.

pub mod analyze;
pub mod batch;
pub mod cli;
pub mod config;
pub mod export;
pub mod generate;
pub mod mock;
pub mod replay;
pub mod report;
pub mod serve;
pub mod sim;
pub mod sink;
pub mod validate;
