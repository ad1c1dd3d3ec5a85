//! Abuse detection: customers whose calls are rate-limited far more often than everyone else's,
//! who call mostly in their own local night, whose busiest minutes are too busy for chance
//! (scripted concurrency), and their hourly cost spikes, ranked by the dollars above the customer's baseline and scored against the `burst` labels
//! (and, where a cohort went viral, the `viral_spike` window).
//!
//! Every flag is a test with a false-discovery rate, not a fixed cut (the original's z-score on
//! per-call cost only found the dear models, and its absolute counts flipped with the data's
//! size):
//! - **rate limits** and **off-hours**: a customer's share (rate-limited calls; calls at local
//!   night) against `multiple` × the share of all other customers, by the exact binomial tail;
//! - **cost spikes**: a customer-hour's calls against the customer's own baseline at that local
//!   hour (Poisson tail; see [`spikes`], still apart from the decisions page's burst
//!   detector);
//! - **concurrency**: each customer-hour's busiest minute against the hour's own calls spread
//!   at random over its 60 minutes (Binomial(n, 1/60), Bonferroni over the minutes), so a busy
//!   hour is not a flag, only calls bunched within it;
//! - the tests of one kind share one Benjamini–Hochberg procedure at `fdr` over every customer
//!   (or customer-hour) tested.
//!
//! Files: [`pass`] the one arrow pass over the files, [`compute`] the tests, [`spikes`] the cost
//! spikes and their scores, [`page`] the page.

mod compute;
mod page;
pub mod pass;
mod spikes;

use anyhow::Result;
use maud::Markup;
use serde::{Deserialize, Serialize};

use super::{Analyzer, Columns, Context};
use crate::config::{CallsConfig, ConfigError, SettingsCheck};
use crate::report::html::{Figure, Recommendation};
pub use spikes::{CostSpike, CostSpikes, Explained, SpikeScore};

pub struct Abuse;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbuseSettings {
    /// Expected share of false discoveries among the customers (or customer-hours) flagged.
    pub fdr: f64,
    /// A customer is flagged when its rate-limited share is significantly above this multiple of
    /// the other customers' share.
    pub rate_limit_multiple: f64,
    /// The same for the share of calls at local night.
    pub off_hours_multiple: f64,
    /// Local night: from this hour to `night_end_hour` (exclusive), across midnight.
    pub night_start_hour: u32,
    pub night_end_hour: u32,
    /// A customer-hour is tested as a cost spike when it holds at least this many calls above
    /// its baseline.
    pub spike_min_excess_calls: u64,
    /// Recommend acting on spikes whose excess cost reaches this (USD).
    pub materiality_usd: f64,
    /// Rows of each table on the page (the JSON lists all).
    pub table_rows: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AbuseResult {
    pub window_days: u32,
    pub customers: u64,
    pub calls: u64,
    pub rate_limits: RateTest,
    pub off_hours: RateTest,
    /// Time zones not in the time-zone database (their customers are left out of off-hours).
    pub unknown_timezones: Vec<String>,
    pub concurrency: Concurrency,
    pub cost_spikes: CostSpikes,
    pub recommendations: Vec<Recommendation>,
}

/// Customers' shares of some calls against the rest of the customers'.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RateTest {
    pub method: String,
    /// Σ events ÷ Σ calls over every customer tested.
    pub overall_rate: f64,
    pub events: u64,
    pub calls: u64,
    pub customers_tested: u64,
    /// The flagged customers, smallest p-value first.
    pub flagged: Vec<FlaggedCustomer>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FlaggedCustomer {
    pub customer_id: String,
    pub subscription_tier: String,
    pub tier_price_usd: f64,
    pub timezone: String,
    pub calls: u64,
    pub events: u64,
    pub rate: f64,
    /// The other customers' rate (the reference).
    pub reference_rate: f64,
    /// rate ÷ reference (`None` when the reference is 0).
    pub ratio: Option<f64>,
    pub p_value: f64,
    pub cost_usd: f64,
}

/// Minutes busier than chance.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Concurrency {
    pub method: String,
    pub hours_tested: u64,
    pub hours_flagged: u64,
    /// Per customer with a flagged hour, most flagged hours first.
    pub customers: Vec<ConcurrentCustomer>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConcurrentCustomer {
    pub customer_id: String,
    pub subscription_tier: String,
    pub hours_flagged: u64,
    /// The flagged hour with the smallest p-value: its start (UTC), calls and busiest minute.
    pub worst_hour: String,
    pub worst_hour_calls: u64,
    pub peak_minute_calls: u64,
    pub p_value: f64,
}

impl Analyzer for Abuse {
    const NAME: &'static str = "abuse";
    const TITLE: &'static str = "Abuse detection";
    const SUMMARY: &'static str = "Customers rate-limited far above the rest, calling at their local night, bunching calls within minutes, and their hourly cost spikes, scored against the labels.";
    type Settings = AbuseSettings;
    type Output = AbuseResult;
    const COLUMNS: Columns = Columns::Only(&[
        "timestamp",
        "customer_id",
        "status",
        "cost_usd",
        "timezone",
        "subscription_tier",
        "tier_price_usd",
    ]);

    fn check(s: &AbuseSettings, c: SettingsCheck<'_>, _: &CallsConfig) -> Result<(), ConfigError> {
        let p = s;
        c.count("spike_min_excess_calls", p.spike_min_excess_calls, 1, 1_000_000)?;
        c.range("materiality_usd", p.materiality_usd, 0.0, 1e12)?;
        c.range("fdr", p.fdr, 0.0001, 0.5)?;
        c.range("rate_limit_multiple", p.rate_limit_multiple, 1.0, 1000.0)?;
        c.range("off_hours_multiple", p.off_hours_multiple, 1.0, 1000.0)?;
        c.count("night_start_hour", u64::from(p.night_start_hour), 12, 23)?;
        c.count("night_end_hour", u64::from(p.night_end_hour), 1, 11)?;
        c.count("table_rows", p.table_rows, 1, 10_000)
    }

    fn analyze(ctx: &Context<'_>, s: &AbuseSettings) -> Result<AbuseResult> {
        compute::analyze(ctx, s)
    }

    fn headline(r: &AbuseResult) -> Vec<Figure> {
        vec![
            Figure::count("Rate-limit abusers", r.rate_limits.flagged.len() as u64),
            Figure::count("Off-hours callers", r.off_hours.flagged.len() as u64),
            Figure::count("Customers bunching calls", r.concurrency.customers.len() as u64),
            Figure::usd("Cost spikes' excess", r.cost_spikes.excess_cost_usd),
        ]
    }

    fn render(r: &AbuseResult, s: &AbuseSettings) -> Result<Markup> {
        page::render(r, s)
    }
}
