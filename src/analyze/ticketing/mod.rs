//! The ticketing workload's validators, one module per page: document 004's latency, accuracy,
//! drift and business validators as analyzers over the transactions, scored against the labels
//! (and any `--predictions`), each with its named one-sided checks.
//!
//! The analyzers read only the dataset (transactions, events, users), the labels and the
//! predictions, never the generator's internals: what they find, a user would find in the files.
//! Their settings are the `[ticketing.<name>]` tables of `analysis.toml`; the skipped checks are
//! `[ticketing.checks]`.

pub mod ab_test;
pub mod drift;
pub mod fraud;
pub mod labels;
pub mod overview;
pub mod sales;
pub mod scenarios;
pub mod service;

use super::dataset::TICKETING_DATASET;
use super::{AnalysisSpec, CHECKS_TABLE, Registration, register};
use crate::config::TicketingConfig;

/// The table of `analysis.toml` that holds the ticketing tables.
pub const SCOPE: &str = "ticketing";

/// Every ticketing analyzer, in page order (the Checks page comes last, built from them all).
pub const ANALYZERS: &[Registration<TicketingConfig>] = &[
    register::<TicketingConfig, overview::Overview>(),
    register::<TicketingConfig, sales::Sales>(),
    register::<TicketingConfig, fraud::Fraud>(),
    register::<TicketingConfig, drift::Drift>(),
    register::<TicketingConfig, service::Service>(),
    register::<TicketingConfig, ab_test::AbTest>(),
    register::<TicketingConfig, scenarios::Scenarios>(),
    register::<TicketingConfig, super::replay::Replay>(),
];

/// The ticketing workload's analysis.
pub const TICKETING: AnalysisSpec = AnalysisSpec {
    dataset: TICKETING_DATASET,
    scope: Some(SCOPE),
    other_tables: &[CHECKS_TABLE],
    title: "trafficsim ticketing reports",
    subtitle: "Proof that an event-ticketing platform holds: sales, fraud detection, drift, service levels and an A/B test, checked against the labels",
    summary: None,
};
