//! Regions and time zones: cost and latency by the customer's time zone (the `timezone` column,
//! where the caller is), by the provider region that served the call (`region`) and by provider
//! and region; when in their local day the customers call; and routes that a faster region of
//! the same provider and model would improve.
//!
//! Latency percentiles cover successful calls only (a rate-limited call returns in ~100 ms and
//! would flatter a region), from counts in bins within 0.4% ([`pass::EXACT_BELOW_MS`]), so the
//! query streams at any size. A route compares like with like: the same task type (the same
//! token mix), the same provider and model (the same price and quality), served from another
//! region; both cells need `min_calls` successful calls, and the other region must be faster by
//! `min_gain` at both p50 and p95.

mod compute;
mod page;
pub mod pass;

use anyhow::Result;
use maud::Markup;
use serde::{Deserialize, Serialize};

use super::{Analyzer, Columns, Context};
use crate::config::{CallsConfig, ConfigError, SettingsCheck};
use crate::report::html::{Figure, Recommendation};

pub struct Regional;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionalSettings {
    /// Successful calls a cell needs for its latency to be compared.
    pub min_calls: u64,
    /// Least relative latency gain (at p50 and at p95) that suggests a route.
    pub min_gain: f64,
    /// Rows in the provider-region table.
    pub top_rows: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RegionalResult {
    pub window_days: u32,
    /// Columns this page needs that the dataset lacks (then everything else is empty).
    pub missing_columns: Vec<String>,
    /// By the customer's time zone, most cost first.
    pub by_timezone: Vec<RegionRow>,
    /// By the serving region (the `region` column), most cost first.
    pub by_region: Vec<RegionRow>,
    /// By provider and serving region, most cost first.
    pub by_provider_region: Vec<RegionRow>,
    /// Calls and cost by local hour, per time zone.
    pub local_hours: Vec<LocalHours>,
    /// Time zones the page could not resolve (not in the time-zone database).
    pub unknown_timezones: Vec<String>,
    /// Every served cell with a comparable faster region, largest p95 gain first.
    pub routes: Vec<Route>,
    /// Cells with at least `min_calls` successful calls (the ones that could be compared).
    pub comparable_cells: u64,
    pub recommendations: Vec<Recommendation>,
}

/// Cost and latency of one group of calls.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RegionRow {
    pub name: String,
    pub calls: u64,
    pub successful_calls: u64,
    pub failure_share: f64,
    pub cost_usd: f64,
    pub cost_share: f64,
    pub cost_per_call: f64,
    pub cost_per_1m_tokens: f64,
    /// Successful calls' latency percentiles (0 when there are none).
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

/// When in their local day one time zone's customers call.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LocalHours {
    pub timezone: String,
    /// Calls and cost by local hour 0–23.
    pub calls: Vec<u64>,
    pub cost_usd: Vec<f64>,
    pub peak_hour: u32,
    /// Share of the calls on weekdays 09:00–17:59 local.
    pub business_hours_share: f64,
    /// Share of the calls 22:00–05:59 local.
    pub night_share: f64,
}

/// A served cell and the fastest other region of the same provider and model for its task.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Route {
    pub timezone: String,
    pub task_type: String,
    pub provider: String,
    pub model: String,
    pub region: String,
    pub calls: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub cost_per_1m_tokens: f64,
    pub better_region: String,
    pub better_calls: u64,
    pub better_p50_ms: f64,
    pub better_p95_ms: f64,
    pub better_cost_per_1m_tokens: f64,
    /// Relative gains (1 − better ÷ current).
    pub p50_gain: f64,
    pub p95_gain: f64,
    /// Both gains reach `min_gain`.
    pub suggested: bool,
    /// Successful calls per 30 days, and the waiting they would save at the p50 gain (hours).
    pub monthly_calls: f64,
    pub monthly_hours_saved: f64,
}

impl Analyzer for Regional {
    const NAME: &'static str = "regional";
    const TITLE: &'static str = "Regions and time zones";
    const SUMMARY: &'static str = "Cost and latency by customer time zone, serving region and provider region, local-hour patterns, and faster routes.";
    type Settings = RegionalSettings;
    type Output = RegionalResult;
    const COLUMNS: Columns = Columns::Only(&[
        "timestamp",
        "provider",
        "model",
        "task_type",
        "status",
        "cost_usd",
        "latency_ms",
        "input_tokens",
        "output_tokens",
        "region",
        "timezone",
    ]);

    fn check(s: &RegionalSettings, c: SettingsCheck<'_>, _: &CallsConfig) -> Result<(), ConfigError> {
        c.count("min_calls", s.min_calls, 1, 1_000_000_000)?;
        c.range("min_gain", s.min_gain, 0.01, 0.99)?;
        c.count("top_rows", s.top_rows, 1, 10_000)
    }

    fn analyze(ctx: &Context<'_>, s: &RegionalSettings) -> Result<RegionalResult> {
        compute::analyze(ctx, s)
    }

    fn headline(r: &RegionalResult) -> Vec<Figure> {
        let p95 = |rows: &[RegionRow]| rows.iter().map(|r| r.p95_ms).fold(0.0, f64::max);
        vec![
            Figure::count("Customer time zones", r.by_timezone.len() as u64),
            Figure::count("Provider regions", r.by_provider_region.len() as u64),
            Figure::ms("Worst time zone p95", p95(&r.by_timezone)),
            Figure::count(
                "Faster routes suggested",
                r.routes.iter().filter(|r| r.suggested).count() as u64,
            ),
        ]
    }

    fn render(r: &RegionalResult, s: &RegionalSettings) -> Result<Markup> {
        page::render(r, s)
    }
}
