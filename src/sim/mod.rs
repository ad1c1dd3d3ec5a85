//! The simulation core: plain data and arithmetic only, no Arrow, no files, no command line.
//!
//! Shared by every workload: keyed random streams (`rng`), the UTC window and its local-time
//! pieces (`calendar`), ground-truth labels (`label`), modifier parameter checks (`params`), and
//! the generic plan pieces (`units`): time-slice work units, even thinning to an exact row count,
//! shards. Each workload has its own folder: `calls` (AI-API calls) and `ticketing` (event
//! ticketing).

pub mod calendar;
pub mod calls;
pub mod label;
pub mod params;
pub mod rng;
pub mod ticketing;
pub mod units;
