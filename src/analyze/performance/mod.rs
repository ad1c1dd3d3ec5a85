//! Analyzer 2, performance: latency percentiles by model and provider, tokens per second, a
//! cost-efficiency score, SLA compliance at a configurable threshold, latency buckets, the best
//! model per task type for speed, for cost and for balance, and the failed calls apart.
//!
//! Latency, SLA and speed figures cover successful calls only: a rate-limited call returns in
//! 20–150 ms without an answer, so counting it would flatter p50 and the SLA (round 1 did).
//! Failures are reported separately ([`Failures`]): count, share, status, and what they
//! wasted. Percentiles are linear-interpolation quantiles (numpy's default), not the original's
//! `sorted[int(n·p)]`. Queries in [`compute`], the page in [`page`].

mod compute;
mod page;

use anyhow::Result;
use maud::Markup;
use serde::{Deserialize, Serialize};

pub use compute::quantile_from_counts;

use super::{Analyzer, Columns, Context};
use crate::config::{CallsConfig, ConfigError, SettingsCheck};
use crate::report::html::{Figure, Recommendation};

pub struct Performance;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerformanceSettings {
    pub sla_ms: u64,
    pub sla_target: f64,
    pub latency_buckets_ms: Vec<u64>,
    pub slow_ms: u64,
    pub slow_share: f64,
    pub efficiency_gap: f64,
    pub top_models: u64,
    /// Fewest calls a (task, model) pair needs to be ranked for that task.
    pub min_calls_per_task_model: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PerformanceResult {
    pub sla_ms: u64,
    /// Latency, speed and SLA figures: successful calls only.
    pub overall: LatencyStats,
    /// The calls that failed, apart: what they were and what they wasted.
    pub failures: Failures,
    pub by_provider: Vec<LatencyStats>,
    pub by_model: Vec<LatencyStats>,
    pub buckets: Vec<LatencyBucket>,
    /// Calls per 250 ms of latency up to 10 s; the last bin holds everything slower.
    pub histogram: Vec<HistogramBin>,
    /// Model names, best first, `top_models` of each.
    pub fastest: Vec<String>,
    pub cheapest: Vec<String>,
    pub most_efficient: Vec<String>,
    pub best_by_task: Vec<TaskBest>,
    pub recommendations: Vec<Recommendation>,
}

/// Latency, speed, cost and SLA figures of a group of calls.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LatencyStats {
    /// Model name, provider name, or "all".
    pub name: String,
    pub provider: String,
    /// Every call, failed ones included.
    pub calls: u64,
    pub successful_calls: u64,
    pub failed_calls: u64,
    /// Failed calls ÷ calls.
    pub failure_share: f64,
    pub cost_usd: f64,
    /// Mean latency of the successful calls (as every latency figure here).
    pub avg_latency_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// Output tokens per second of latency, over successful calls (ratio of sums).
    pub tokens_per_second: f64,
    pub cost_per_1k_tokens: f64,
    /// Tokens per second ÷ cost per 1K tokens: higher is better.
    pub efficiency_score: f64,
    /// Share of successful calls with latency ≤ the SLA threshold.
    pub sla_compliance: f64,
    /// Cost of the successful calls over the SLA threshold.
    pub over_sla_cost_usd: f64,
    /// Share of successful calls slower than `slow_ms`.
    pub slow_share: f64,
    pub slow_cost_usd: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LatencyBucket {
    pub label: String,
    /// Exclusive lower edge (0 for the first bucket).
    pub above_ms: u64,
    /// Inclusive upper edge; `None` for the last bucket.
    pub up_to_ms: Option<u64>,
    pub calls: u64,
    pub share: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HistogramBin {
    pub from_ms: u64,
    /// Exclusive upper edge; `None` for the overflow bin.
    pub to_ms: Option<u64>,
    pub calls: u64,
}

/// Width and count of the latency histogram's bins (the last one is open-ended).
pub(crate) const HISTOGRAM_BIN_MS: i64 = 250;
pub(crate) const HISTOGRAM_BINS: i64 = 40;

/// The failed calls (status other than success). In the simulated data a failed call is not
/// billed (`cost_usd` 0) and produced no output: a rate-limited call was refused before any work
/// (20–150 ms), a server error failed part-way through the prompt, a timeout waited 30 s
/// (`src/sim/calls/traffic.rs`). What they wasted is therefore the prompts sent, the time
/// waited, and whatever a provider did bill (a foreign export may carry a cost on them).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Failures {
    pub calls: u64,
    /// Failed calls ÷ all calls.
    pub share: f64,
    pub by_status: Vec<FailureStatus>,
    /// Prompt tokens sent in calls that failed.
    pub input_tokens: i64,
    /// Output tokens recorded on failed calls (0 in simulated data).
    pub output_tokens: i64,
    /// Cost recorded on the failed rows: money actually wasted (0 when failures are not billed).
    pub billed_cost_usd: f64,
    /// The failed calls' prompt tokens at their model's catalogue input price: what they would
    /// have cost had the provider billed the prompts (an upper bound of the money at risk).
    pub prompt_cost_at_list_usd: f64,
    /// Latency summed over the failed calls: time spent waiting for nothing, hours.
    pub wait_hours: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FailureStatus {
    pub status: String,
    pub calls: u64,
    /// Of all calls.
    pub share: f64,
    pub input_tokens: i64,
    pub avg_latency_ms: f64,
}

/// The best model for a task type by three needs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskBest {
    pub task_type: String,
    /// Lowest median latency.
    pub fastest: Pick,
    /// Lowest cost per 1K tokens.
    pub cheapest: Pick,
    /// Highest efficiency score.
    pub balanced: Pick,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Pick {
    pub model: String,
    pub provider: String,
    pub value: f64,
}

impl Analyzer for Performance {
    const NAME: &'static str = "performance";
    const TITLE: &'static str = "Performance";
    const SUMMARY: &'static str =
        "Latency percentiles, tokens per second, cost efficiency and SLA compliance by model and provider.";
    type Settings = PerformanceSettings;
    type Output = PerformanceResult;
    const COLUMNS: Columns = Columns::Only(&[
        "provider",
        "model",
        "task_type",
        "latency_ms",
        "status",
        "cost_usd",
        "input_tokens",
        "output_tokens",
    ]);

    fn check(s: &PerformanceSettings, c: SettingsCheck<'_>, _: &CallsConfig) -> Result<(), ConfigError> {
        c.count("sla_ms", s.sla_ms, 1, 3_600_000)?;
        c.fraction("sla_target", s.sla_target)?;
        let edges: Vec<f64> = s.latency_buckets_ms.iter().map(|&e| e as f64).collect();
        c.increasing("latency_buckets_ms", &edges)?;
        c.count("slow_ms", s.slow_ms, 1, 3_600_000)?;
        c.fraction("slow_share", s.slow_share)?;
        c.range("efficiency_gap", s.efficiency_gap, 1.0, 1e6)?;
        c.count("top_models", s.top_models, 1, 1000)?;
        c.count("min_calls_per_task_model", s.min_calls_per_task_model, 1, 1_000_000)
    }

    fn analyze(ctx: &Context<'_>, s: &PerformanceSettings) -> Result<PerformanceResult> {
        compute::analyze(ctx, s)
    }

    fn headline(r: &PerformanceResult) -> Vec<Figure> {
        vec![
            Figure::ms("p50 latency", r.overall.p50_ms),
            Figure::ms("p95 latency", r.overall.p95_ms),
            Figure::percent(format!("SLA compliance (≤ {} ms)", r.sla_ms), r.overall.sla_compliance),
            Figure::percent("Failed calls", r.failures.share),
            Figure::number("Tokens per second", r.overall.tokens_per_second),
        ]
    }

    fn render(r: &PerformanceResult, s: &PerformanceSettings) -> Result<Markup> {
        page::render(r, s)
    }
}
