//! Service levels: document 004's latency validator. Decision latency, error rate, availability
//! and peak load of the purchase API, against the document's SLA (§1.3: p50 ≤ 50 ms, p95 ≤ 150
//! ms, p99 ≤ 200 ms, error rate ≤ 1%, availability ≥ 99.9%): outside the labelled degradation
//! windows (the `service.*` checks), inside each of them (`degradation.<start>.*`, which a
//! degradation should fail), per scenario and per hour.
//!
//! Definitions (each says why):
//! - **Latency percentiles** are by nearest rank (the value at rank ⌈q·n⌉, not interpolated) over
//!   *successful* decisions (api_status 200). Errors are counted by the error rate instead (SRE
//!   practice): a 504's 1500 ms timeout would otherwise mix two failure modes into one figure.
//!   Rate-limited requests (429, answered in ~2 ms) are not decisions.
//! - **Error rate** = requests answered with an error (api_status neither 200 nor 429) ÷ requests
//!   that were not rate-limited. A 429 is the platform's deliberate answer to a client over its
//!   rate limit (mostly bots in flash sales and attacks), shown apart as the rate-limited share;
//!   `rate_limited_is_error = true` counts them as errors (over every request).
//! - **Availability** is time-based: the share of UTC minutes, among those with at least
//!   `min_requests_per_minute` requests counted by the error rate, in which the service was up; a
//!   minute is down when more than `down_error_share` of them failed. A degraded service (slow,
//!   some errors) is still available; an outage is not.
//! - **Peak requests per second** = the busiest one-second bucket's attempts (every attempt), not
//!   document 004's row count (§11.7).
//! - The `service.*` checks measure the attempts **outside** the labelled degradation windows
//!   (the labels say when the service was known to be degraded; those windows have checks of
//!   their own). The latency ones take the **worst busy hour** (hours with at least
//!   `min_requests_per_hour` successful decisions): "p99 < 200 ms under load" must hold in every
//!   busy hour, not on a month's average.
//!
//! Files: `queries` (the Polars group-bys), `levels` (levels, verdicts, worst hours),
//! `degradation` (inside and outside the windows), `load` (peaks, flash-sale load), `checks`,
//! `page`.

pub mod checks;
pub mod degradation;
pub mod levels;
pub mod load;
mod page;
pub mod queries;

use std::collections::BTreeMap;

use anyhow::Result;
use maud::Markup;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::super::checks::Check;
use super::super::frame::strings;
use super::super::{Analyzer, Context};
use super::labels;
use crate::config::{ConfigError, SettingsCheck, TicketingConfig};
use crate::report::html::{Figure, Unit as FigureUnit};
use degradation::{DegradationWindow, Outside};
use levels::{Levels, Tally, TimePoint, Verdict};
use load::{FlashSaleLoad, Peak};
use queries::{HOUR_US, grouped, utc};

pub struct Service;

/// `[ticketing.service]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSettings {
    /// Targets (document 004 §1.3): the percentiles (ms) of the worst busy hour outside the
    /// degradation windows and of each window, the error rate and the availability (outside the
    /// windows and inside each).
    pub p50_latency_ms: f64,
    pub p95_latency_ms: f64,
    pub p99_latency_ms: f64,
    pub error_rate: f64,
    pub availability: f64,
    /// Count rate-limited requests (429) as errors.
    pub rate_limited_is_error: bool,
    /// Fewest requests (counted by the error rate) for a minute to count in the availability.
    pub min_requests_per_minute: u64,
    /// A minute is down when more than this share of its requests failed.
    pub down_error_share: f64,
    /// Fewest successful decisions for an hour to count as busy (the percentile checks).
    pub min_requests_per_hour: u64,
    /// Seconds of load shown before each flash sale opens.
    pub flash_sale_lead_in_s: u64,
    /// Minutes shown around each degradation window in its per-minute chart.
    pub zoom_margin_minutes: u64,
    /// Per-scenario targets (document 004's expected-metrics matrix, one-sided), by the
    /// `scenario` column's value.
    #[serde(default)]
    pub scenarios: BTreeMap<String, ScenarioTargets>,
}

/// One scenario's expected metrics; a missing key is not checked.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScenarioTargets {
    /// At least this many attempts in the scenario's busiest second.
    pub peak_rps: Option<f64>,
    /// At most this p99 (ms) over the scenario's successful decisions.
    pub p99_latency_ms: Option<f64>,
    /// At most this error rate over the scenario's requests.
    pub error_rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScenarioLevels {
    pub scenario: String,
    /// Every attempt of the scenario (availability over the minutes of its attempts alone).
    pub levels: Levels,
    pub peak: Option<Peak>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServiceResult {
    /// Every attempt outside the labelled degradation windows: the `service.*` checks.
    pub outside: Outside,
    /// Each labelled degradation window: the `degradation.*` checks.
    pub degradation: Vec<DegradationWindow>,
    /// The busiest second of every attempt.
    pub peak: Option<Peak>,
    /// Minutes with at least one request, and the median requests in them (why the latency
    /// chart is hourly at small scales).
    pub minutes_with_requests: u64,
    pub median_requests_per_minute: u64,
    /// Every UTC hour with requests, all attempts: counts only (percentiles are not summed from
    /// minutes; those of the hours outside the windows are in `outside.hours`).
    pub hours: Vec<TimePoint>,
    pub scenarios: Vec<ScenarioLevels>,
    pub flash_sales: Vec<FlashSaleLoad>,
}

impl Analyzer<TicketingConfig> for Service {
    const NAME: &'static str = "service";
    const TITLE: &'static str = "Service levels";
    const SUMMARY: &'static str = "Decision latency, error rate, availability and peak load against document 004's SLA: outside the labelled degradation windows, inside each, per scenario and per hour.";
    type Settings = ServiceSettings;
    type Output = ServiceResult;

    fn check(s: &ServiceSettings, c: SettingsCheck<'_>, config: &TicketingConfig) -> Result<(), ConfigError> {
        for (key, v) in [
            ("p50_latency_ms", s.p50_latency_ms),
            ("p95_latency_ms", s.p95_latency_ms),
            ("p99_latency_ms", s.p99_latency_ms),
        ] {
            c.range(key, v, 0.0, 600_000.0)?;
        }
        c.ordered("p50_latency_ms", s.p50_latency_ms, "p95_latency_ms", s.p95_latency_ms)?;
        c.ordered("p95_latency_ms", s.p95_latency_ms, "p99_latency_ms", s.p99_latency_ms)?;
        c.fraction("error_rate", s.error_rate)?;
        c.fraction("availability", s.availability)?;
        c.count("min_requests_per_minute", s.min_requests_per_minute, 1, 1_000_000)?;
        c.fraction("down_error_share", s.down_error_share)?;
        c.count("min_requests_per_hour", s.min_requests_per_hour, 1, 100_000_000)?;
        c.count("flash_sale_lead_in_s", s.flash_sale_lead_in_s, 0, 86_400)?;
        c.count("zoom_margin_minutes", s.zoom_margin_minutes, 0, 1440)?;
        let names: Vec<&str> = config.scenarios.iter().map(|d| d.def.name.as_str()).collect();
        for (name, t) in &s.scenarios {
            if !names.contains(&name.as_str()) {
                return Err(c.invalid(
                    &format!("scenarios.{name}"),
                    format!(
                        "unknown scenario: allowed are those of the run plan, {}",
                        names.join(", ")
                    ),
                ));
            }
            let key = |k: &str| format!("scenarios.{name}.{k}");
            if let Some(v) = t.peak_rps {
                c.range(&key("peak_rps"), v, 0.0, 1e9)?;
            }
            if let Some(v) = t.p99_latency_ms {
                c.range(&key("p99_latency_ms"), v, 0.0, 600_000.0)?;
            }
            if let Some(v) = t.error_rate {
                c.fraction(&key("error_rate"), v)?;
            }
        }
        Ok(())
    }

    fn analyze(ctx: &Context<'_, TicketingConfig>, s: &ServiceSettings) -> Result<ServiceResult> {
        let labels = labels::read(ctx)?;
        let minute_counts = queries::minute_counts(ctx)?;
        let mut minutes: BTreeMap<i64, Tally> = BTreeMap::new();
        let mut hours: BTreeMap<i64, Tally> = BTreeMap::new();
        for ((_, m), t) in &minute_counts {
            minutes.entry(*m).or_default().add_counts(t);
            hours.entry(m.div_euclid(HOUR_US) * HOUR_US).or_default().add_counts(t);
        }
        let mut per_minute: Vec<u64> = minutes.values().map(|t| t.requests).collect();
        per_minute.sort_unstable();
        let median_requests_per_minute = per_minute
            .get(per_minute.len().div_ceil(2).saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let mut scenarios = scenario_levels(ctx, s, &minute_counts)?;
        let names: Vec<String> = scenarios.iter().map(|sc| sc.scenario.clone()).collect();
        let (peak, mut peaks) = load::peaks(ctx, &names)?;
        for sc in &mut scenarios {
            sc.peak = peaks.remove(&sc.scenario);
        }
        let (mut degradation, mut outside) = degradation::analyze(ctx, s, &labels, &minute_counts, &minutes)?;
        // Verdicts are the checks' own, so the page cannot disagree with `trafficsim check`.
        for w in &mut degradation {
            w.verdict = Verdict::of(&checks::window(w, s));
        }
        outside.verdict = Verdict::of(&checks::service(&outside, s));
        let flash_sales = load::flash_sale_loads(ctx, s, &labels)?;
        Ok(ServiceResult {
            outside,
            degradation,
            peak,
            minutes_with_requests: minutes.len() as u64,
            median_requests_per_minute,
            hours: hours
                .into_iter()
                .map(|(at, tally)| TimePoint { at: utc(at), tally })
                .collect(),
            scenarios,
            flash_sales,
        })
    }

    fn headline(r: &ServiceResult) -> Vec<Figure> {
        let share = |label: &str, v: Option<f64>, decimals: usize| Figure {
            label: label.into(),
            value: v.unwrap_or(f64::NAN),
            unit: FigureUnit::Percent,
            display: v.map_or_else(|| "–".into(), |v| format!("{:.*}%", decimals, v * 100.0)),
        };
        vec![
            Figure::ms(
                "p99, worst busy hour outside degradation",
                r.outside.worst.p99.as_ref().map_or(f64::NAN, |w| w.ms),
            ),
            share("Error rate outside degradation", r.outside.levels.error_rate, 2),
            share("Availability outside degradation", r.outside.levels.availability, 3),
            Figure::count(
                "Degradation windows failing the SLA",
                r.degradation.iter().filter(|w| !w.verdict.met).count() as u64,
            ),
            Figure::count("Peak requests/s", r.peak.as_ref().map_or(0, |p| p.attempts)),
        ]
    }

    fn render(r: &ServiceResult, s: &ServiceSettings) -> Result<Markup> {
        page::render(r, s)
    }

    fn checks(r: &ServiceResult, s: &ServiceSettings) -> Vec<Check> {
        checks::all(r, s)
    }
}

/// Each scenario's levels over its own attempts and minutes (its busiest second is filled in
/// later).
fn scenario_levels(
    ctx: &Context<'_, TicketingConfig>,
    s: &ServiceSettings,
    minute_counts: &BTreeMap<(String, i64), Tally>,
) -> Result<Vec<ScenarioLevels>> {
    let df = grouped(ctx, ctx.rows(), "scenario", col("scenario"))?;
    let mut out: Vec<ScenarioLevels> = strings(&df, "scenario")?
        .into_iter()
        .zip(queries::tallies(&df)?)
        .map(|(scenario, tally)| {
            let minutes = minute_counts
                .range((scenario.clone(), i64::MIN)..=(scenario.clone(), i64::MAX))
                .map(|(_, t)| t);
            ScenarioLevels {
                levels: Levels::new(tally, minutes, s),
                peak: None,
                scenario,
            }
        })
        .collect();
    out.sort_by(|a, b| a.scenario.cmp(&b.scenario));
    Ok(out)
}
