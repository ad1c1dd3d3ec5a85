//! The calls workload's simulation core: customers, the price catalogue, the traffic model,
//! its scenarios and the planner that sizes cohorts to a row count.

pub mod catalogue;
pub mod model;
pub mod plan;
pub mod population;
pub mod scenarios;
pub mod traffic;
