//! The simulation core: customers, calendar, traffic model and plan.
//!
//! Plain data and arithmetic only: no Arrow, no files, no command line. The `batch` and `sink`
//! stages turn what this produces into columns and files.

pub mod calendar;
pub mod catalogue;
pub mod model;
pub mod plan;
pub mod population;
pub mod rng;
pub mod scenarios;
pub mod traffic;
