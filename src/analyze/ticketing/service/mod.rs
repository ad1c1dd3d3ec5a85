//! Service levels: document 004's latency validator. Decision latency, error rate, availability
//! and peak load of the purchase API, against the document's SLA (§1.3: p50 ≤ 50 ms, p95 ≤ 150
//! ms, p99 ≤ 200 ms, error rate ≤ 1%, availability ≥ 99.9%), overall, per scenario, per hour and
//! inside each labelled degradation window.
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
//! - The `service.p50/p95/p99_latency_ms` checks take the **worst busy hour**'s value (hours with
//!   at least `min_requests_per_hour` successful decisions): "p99 < 200 ms under load" must hold
//!   in every busy hour, not on a month's average.

mod page;
pub mod queries;

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Utc};
use maud::Markup;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::super::checks::{Check, CheckUnit, Op};
use super::super::frame::{ints, strings};
use super::super::{Analyzer, Context};
use super::labels::{self, Label};
use crate::config::{ConfigError, SettingsCheck, TicketingConfig};
use crate::report::html::{Figure, Unit as FigureUnit};
use queries::{HOUR_US, MINUTE_US, OK, RATE_LIMITED, SECOND_US, Tally, bucket, grouped, in_ranges, utc};

pub struct Service;

/// `[ticketing.service]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSettings {
    /// Targets (document 004 §1.3): the worst busy hour's percentiles (ms), the error rate and
    /// the availability over the whole window.
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

impl ServiceSettings {
    /// Requests counted by the error rate: every request when 429s are errors, else those not
    /// rate-limited.
    pub fn counted(&self, t: &Tally) -> u64 {
        if self.rate_limited_is_error {
            t.requests
        } else {
            t.requests - t.rate_limited
        }
    }

    pub fn failed(&self, t: &Tally) -> u64 {
        t.errors + if self.rate_limited_is_error { t.rate_limited } else { 0 }
    }

    pub fn error_rate_of(&self, t: &Tally) -> Option<f64> {
        let n = self.counted(t);
        (n > 0).then(|| self.failed(t) as f64 / n as f64)
    }

    /// `Some(down)` for a minute that counts in the availability, `None` for one too quiet.
    pub fn minute_down(&self, t: &Tally) -> Option<bool> {
        let n = self.counted(t);
        (n >= self.min_requests_per_minute && n > 0).then(|| self.failed(t) as f64 / n as f64 > self.down_error_share)
    }
}

/// Counts, percentiles and the derived service levels of a set of attempts.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Levels {
    #[serde(flatten)]
    pub tally: Tally,
    /// `None` when no request is counted by the error rate.
    pub error_rate: Option<f64>,
    pub rate_limited_share: Option<f64>,
    /// Minutes with enough requests to count in the availability, and the down ones among them.
    pub minutes_counted: u64,
    pub minutes_down: u64,
    /// `None` when no minute counts.
    pub availability: Option<f64>,
}

impl Levels {
    fn new<'a>(tally: Tally, minutes: impl Iterator<Item = &'a Tally>, s: &ServiceSettings) -> Levels {
        let (mut counted, mut down) = (0u64, 0u64);
        for m in minutes {
            if let Some(d) = s.minute_down(m) {
                counted += 1;
                down += u64::from(d);
            }
        }
        Levels {
            error_rate: s.error_rate_of(&tally),
            rate_limited_share: (tally.requests > 0).then(|| tally.rate_limited as f64 / tally.requests as f64),
            minutes_counted: counted,
            minutes_down: down,
            availability: (counted > 0).then(|| (counted - down) as f64 / counted as f64),
            tally,
        }
    }
}

/// Whether every service-level target holds for a set of attempts, and which do not (a figure
/// that cannot be measured does not hold).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Verdict {
    pub met: bool,
    pub missed: Vec<String>,
}

impl Verdict {
    pub fn of(l: &Levels, s: &ServiceSettings) -> Verdict {
        let at_most = |v: Option<f64>, t: f64| v.is_some_and(|v| v <= t);
        let targets = [
            ("p50", at_most(l.tally.p50_ms, s.p50_latency_ms)),
            ("p95", at_most(l.tally.p95_ms, s.p95_latency_ms)),
            ("p99", at_most(l.tally.p99_ms, s.p99_latency_ms)),
            ("error rate", at_most(l.error_rate, s.error_rate)),
            ("availability", l.availability.is_some_and(|a| a >= s.availability)),
        ];
        let missed: Vec<String> = targets
            .iter()
            .filter(|(_, ok)| !ok)
            .map(|(n, _)| n.to_string())
            .collect();
        Verdict {
            met: missed.is_empty(),
            missed,
        }
    }
}

/// One time bucket (a minute or an hour) of attempts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TimePoint {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub tally: Tally,
}

/// The busiest second.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Peak {
    pub at: DateTime<Utc>,
    pub attempts: u64,
}

/// The worst busy hour of one percentile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WorstHour {
    pub at: DateTime<Utc>,
    pub decisions: u64,
    pub ms: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct WorstHours {
    /// Hours with at least `min_requests_per_hour` successful decisions.
    pub busy_hours: u64,
    pub p50: Option<WorstHour>,
    pub p95: Option<WorstHour>,
    pub p99: Option<WorstHour>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScenarioLevels {
    pub scenario: String,
    pub levels: Levels,
    pub peak: Option<Peak>,
}

/// A labelled degradation window: its levels and verdict, and its minutes with a margin.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DegradationWindow {
    pub label: Label,
    pub levels: Levels,
    pub verdict: Verdict,
    /// Every minute with requests from `zoom_margin_minutes` before the start to as many after
    /// the end.
    pub minutes: Vec<TimePoint>,
}

/// Attempts per second around a flash sale, by answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FlashSaleLoad {
    pub label: Label,
    /// Seconds per point (1 unless the window is longer than [`MAX_LOAD_POINTS`] seconds).
    pub bucket_s: i64,
    pub points: Vec<LoadPoint>,
    /// The busiest second from the sale's start to its end.
    pub peak: Option<Peak>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LoadPoint {
    /// Seconds since the sale opened (negative in the lead-in).
    pub offset_s: i64,
    pub ok: u64,
    pub rate_limited: u64,
    pub errors: u64,
}

/// Most points of a flash-sale load chart (one per second up to an hour).
pub const MAX_LOAD_POINTS: i64 = 3600;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServiceResult {
    pub overall: Levels,
    pub peak: Option<Peak>,
    pub worst: WorstHours,
    /// Minutes with at least one request, and the median requests in them (why the latency
    /// chart is hourly at small scales).
    pub minutes_with_requests: u64,
    pub median_requests_per_minute: u64,
    /// Every UTC hour with requests.
    pub hours: Vec<TimePoint>,
    pub scenarios: Vec<ScenarioLevels>,
    pub degradation: Vec<DegradationWindow>,
    /// Every attempt outside all degradation windows (minutes by their start).
    pub outside_degradation: Levels,
    pub outside_verdict: Verdict,
    pub flash_sales: Vec<FlashSaleLoad>,
}

impl Analyzer<TicketingConfig> for Service {
    const NAME: &'static str = "service";
    const TITLE: &'static str = "Service levels";
    const SUMMARY: &'static str = "Decision latency, error rate, availability and peak load against document 004's SLA, per hour, per scenario and inside each degradation window.";
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
        for ((_, m), t) in &minute_counts {
            minutes.entry(*m).or_default().add_counts(t);
        }
        let overall_df = ctx.collect(ctx.rows().with_column(queries::ok_ms()).select(queries::level_aggs()))?;
        let overall_tally = queries::tallies(&overall_df)?.first().copied().unwrap_or_default();
        let overall = Levels::new(overall_tally, minutes.values(), s);

        let hours = time_points(&grouped(ctx, ctx.rows(), vec![bucket(HOUR_US).alias("at")])?)?;
        let worst = worst_hours(&hours, s.min_requests_per_hour);

        let mut per_minute: Vec<u64> = minutes.values().map(|t| t.requests).collect();
        per_minute.sort_unstable();
        let median_requests_per_minute = per_minute
            .get(per_minute.len().div_ceil(2).saturating_sub(1))
            .copied()
            .unwrap_or(0);

        let scenarios = scenario_levels(ctx, s, &minute_counts)?;
        let peak = queries::busiest(ctx, ctx.rows(), None, SECOND_US)?
            .first()
            .map(|(_, at, n)| Peak {
                at: utc(*at),
                attempts: *n,
            });
        let (degradation, outside_degradation) = degradation(ctx, s, &labels, &minutes)?;
        let outside_verdict = Verdict::of(&outside_degradation, s);
        let flash_sales = flash_sale_loads(ctx, s, &labels)?;
        Ok(ServiceResult {
            overall,
            peak,
            worst,
            minutes_with_requests: minutes.len() as u64,
            median_requests_per_minute,
            hours,
            scenarios,
            degradation,
            outside_degradation,
            outside_verdict,
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
            Figure::ms("p99, worst busy hour", r.worst.p99.as_ref().map_or(f64::NAN, |w| w.ms)),
            share("Error rate", r.overall.error_rate, 2),
            share("Availability", r.overall.availability, 3),
            Figure::count("Peak requests/s", r.peak.as_ref().map_or(0, |p| p.attempts)),
        ]
    }

    fn render(r: &ServiceResult, s: &ServiceSettings) -> Result<Markup> {
        page::render(r, s)
    }

    fn checks(r: &ServiceResult, s: &ServiceSettings) -> Vec<Check> {
        let mut out = Vec::new();
        for (name, worst, target) in [
            ("p50", &r.worst.p50, s.p50_latency_ms),
            ("p95", &r.worst.p95, s.p95_latency_ms),
            ("p99", &r.worst.p99, s.p99_latency_ms),
        ] {
            let check = Check::new(
                format!("service.{name}_latency_ms"),
                format!("{name} decision latency (nearest rank, successful decisions) of the worst busy hour"),
                worst.as_ref().map(|w| w.ms),
                Op::AtMost,
                target,
            )
            .unit(CheckUnit::Ms);
            out.push(match worst {
                Some(w) => check.note(format!(
                    "worst of {} busy hours: {} UTC, {} decisions",
                    r.worst.busy_hours,
                    w.at.format("%Y-%m-%d %H:00"),
                    w.decisions
                )),
                None => check.note(format!(
                    "no hour has {} successful decisions (`min_requests_per_hour`)",
                    s.min_requests_per_hour
                )),
            });
        }
        out.push(
            Check::new(
                "service.error_rate",
                error_rate_description(s),
                r.overall.error_rate,
                Op::AtMost,
                s.error_rate,
            )
            .unit(CheckUnit::Share),
        );
        out.push(
            Check::new(
                "service.availability",
                "share of busy minutes in which the service was up (whole window)",
                r.overall.availability,
                Op::AtLeast,
                s.availability,
            )
            .unit(CheckUnit::Share),
        );
        for sc in &r.scenarios {
            let Some(t) = s.scenarios.get(&sc.scenario) else {
                continue;
            };
            if let Some(target) = t.peak_rps {
                let c = Check::new(
                    format!("{}.peak_rps", sc.scenario),
                    "attempts in the scenario's busiest second",
                    sc.peak.as_ref().map(|p| p.attempts as f64),
                    Op::AtLeast,
                    target,
                )
                .unit(CheckUnit::Rps);
                out.push(match &sc.peak {
                    Some(p) => c.note(format!("busiest second {} UTC", p.at.format("%Y-%m-%d %H:%M:%S"))),
                    None => c,
                });
            }
            if let Some(target) = t.p99_latency_ms {
                out.push(
                    Check::new(
                        format!("{}.p99_latency_ms", sc.scenario),
                        "p99 decision latency over the scenario's successful decisions",
                        sc.levels.tally.p99_ms,
                        Op::AtMost,
                        target,
                    )
                    .unit(CheckUnit::Ms),
                );
            }
            if let Some(target) = t.error_rate {
                out.push(
                    Check::new(
                        format!("{}.error_rate", sc.scenario),
                        format!("{} (the scenario's rows)", error_rate_description(s)),
                        sc.levels.error_rate,
                        Op::AtMost,
                        target,
                    )
                    .unit(CheckUnit::Share),
                );
            }
        }
        for w in &r.degradation {
            out.push(
                Check::new(
                    format!("degradation.{}.availability", w.label.start.format("%Y-%m-%dT%H:%M")),
                    format!(
                        "graceful degradation: availability inside the degradation window {} (degraded but up)",
                        w.label.window_name()
                    ),
                    w.levels.availability,
                    Op::AtLeast,
                    s.availability,
                )
                .unit(CheckUnit::Share),
            );
        }
        out
    }
}

fn error_rate_description(s: &ServiceSettings) -> &'static str {
    if s.rate_limited_is_error {
        "share of requests answered with an error, rate-limited (429) ones included"
    } else {
        "share of requests answered with an error, among those not rate-limited (429)"
    }
}

/// A frame grouped by `at` (µs) as time points, in time order.
fn time_points(df: &DataFrame) -> Result<Vec<TimePoint>> {
    let mut out: Vec<TimePoint> = ints(df, "at")?
        .into_iter()
        .zip(queries::tallies(df)?)
        .map(|(at, tally)| TimePoint { at: utc(at), tally })
        .collect();
    out.sort_by_key(|p| p.at);
    Ok(out)
}

/// The worst value of each percentile among hours with at least `min` decisions (ties: the
/// earliest hour).
fn worst_hours(hours: &[TimePoint], min: u64) -> WorstHours {
    let busy: Vec<&TimePoint> = hours.iter().filter(|h| h.tally.decisions >= min).collect();
    let worst = |pick: fn(&Tally) -> Option<f64>| {
        busy.iter()
            .filter_map(|h| pick(&h.tally).map(|ms| (h, ms)))
            .fold(None::<WorstHour>, |acc, (h, ms)| match acc {
                Some(w) if w.ms >= ms => Some(w),
                _ => Some(WorstHour {
                    at: h.at,
                    decisions: h.tally.decisions,
                    ms,
                }),
            })
    };
    WorstHours {
        busy_hours: busy.len() as u64,
        p50: worst(|t| t.p50_ms),
        p95: worst(|t| t.p95_ms),
        p99: worst(|t| t.p99_ms),
    }
}

fn scenario_levels(
    ctx: &Context<'_, TicketingConfig>,
    s: &ServiceSettings,
    minute_counts: &BTreeMap<(String, i64), Tally>,
) -> Result<Vec<ScenarioLevels>> {
    let df = grouped(ctx, ctx.rows(), vec![col("scenario")])?;
    let peaks: BTreeMap<String, Peak> = queries::busiest(ctx, ctx.rows(), Some("scenario"), SECOND_US)?
        .into_iter()
        .map(|(k, at, n)| {
            (
                k,
                Peak {
                    at: utc(at),
                    attempts: n,
                },
            )
        })
        .collect();
    let mut out: Vec<ScenarioLevels> = strings(&df, "scenario")?
        .into_iter()
        .zip(queries::tallies(&df)?)
        .map(|(scenario, tally)| {
            let minutes = minute_counts
                .iter()
                .filter(|((sc, _), _)| *sc == scenario)
                .map(|(_, t)| t);
            ScenarioLevels {
                levels: Levels::new(tally, minutes, s),
                peak: peaks.get(&scenario).cloned(),
                scenario,
            }
        })
        .collect();
    out.sort_by(|a, b| a.scenario.cmp(&b.scenario));
    Ok(out)
}

/// Each degradation window's levels (attempts by their time, minutes by their start) and its
/// minutes with a margin, then everything outside every window.
fn degradation(
    ctx: &Context<'_, TicketingConfig>,
    s: &ServiceSettings,
    labels: &[Label],
    minutes: &BTreeMap<i64, Tally>,
) -> Result<(Vec<DegradationWindow>, Levels)> {
    let windows: Vec<&Label> = labels::of_kind(labels, "degradation").collect();
    let ranges: Vec<(i64, i64)> = windows
        .iter()
        .map(|l| (l.start.timestamp_micros(), l.end.timestamp_micros()))
        .collect();
    let df = grouped(ctx, ctx.rows(), vec![queries::range_index(&ranges).alias("window")])?;
    let by_window: BTreeMap<i64, Tally> = ints(&df, "window")?.into_iter().zip(queries::tallies(&df)?).collect();
    let margin = s.zoom_margin_minutes as i64 * MINUTE_US;
    let zooms: Vec<(i64, i64)> = ranges.iter().map(|&(a, b)| (a - margin, b + margin)).collect();
    let zoom_minutes = if zooms.is_empty() {
        Vec::new()
    } else {
        time_points(&grouped(
            ctx,
            ctx.rows().filter(in_ranges(&zooms)),
            vec![bucket(MINUTE_US).alias("at")],
        )?)?
    };
    let inside = |m: i64, &(a, b): &(i64, i64)| (a..b).contains(&m);
    let out = windows
        .iter()
        .zip(&ranges)
        .zip(&zooms)
        .enumerate()
        .map(|(i, ((label, range), zoom))| {
            let tally = by_window.get(&(i as i64)).copied().unwrap_or_default();
            let levels = Levels::new(
                tally,
                minutes.iter().filter(|(m, _)| inside(**m, range)).map(|(_, t)| t),
                s,
            );
            DegradationWindow {
                label: (*label).clone(),
                verdict: Verdict::of(&levels, s),
                levels,
                minutes: zoom_minutes
                    .iter()
                    .filter(|p| inside(p.at.timestamp_micros(), zoom))
                    .cloned()
                    .collect(),
            }
        })
        .collect();
    let outside = Levels::new(
        by_window.get(&-1).copied().unwrap_or_default(),
        minutes
            .iter()
            .filter(|(m, _)| !ranges.iter().any(|r| inside(**m, r)))
            .map(|(_, t)| t),
        s,
    );
    Ok((out, outside))
}

/// Attempts per second by answer from `flash_sale_lead_in_s` before each flash sale opens to
/// its end, and its busiest second.
fn flash_sale_loads(
    ctx: &Context<'_, TicketingConfig>,
    s: &ServiceSettings,
    labels: &[Label],
) -> Result<Vec<FlashSaleLoad>> {
    let sales: Vec<&Label> = labels::of_kind(labels, "flash_sale").collect();
    if sales.is_empty() {
        return Ok(Vec::new());
    }
    let lead = s.flash_sale_lead_in_s as i64 * SECOND_US;
    let ranges: Vec<(i64, i64)> = sales
        .iter()
        .map(|l| (l.start.timestamp_micros() - lead, l.end.timestamp_micros()))
        .collect();
    let status = || col("api_status");
    let answer = when(status().eq(lit(OK)))
        .then(lit(0i64))
        .when(status().eq(lit(RATE_LIMITED)))
        .then(lit(1i64))
        .otherwise(lit(2i64));
    let df = ctx.collect(
        ctx.rows()
            .filter(in_ranges(&ranges))
            .group_by([bucket(SECOND_US).alias("at"), answer.alias("answer")])
            .agg([len().cast(DataType::Int64).alias("n")]),
    )?;
    // second → [ok, rate-limited, errors]
    let mut per_second: BTreeMap<i64, [u64; 3]> = BTreeMap::new();
    for ((at, answer), n) in ints(&df, "at")?
        .into_iter()
        .zip(ints(&df, "answer")?)
        .zip(ints(&df, "n")?)
    {
        per_second.entry(at).or_default()[answer.clamp(0, 2) as usize] += n as u64;
    }
    Ok(sales
        .iter()
        .zip(&ranges)
        .map(|(label, &(from, to))| {
            let open = label.start.timestamp_micros();
            let first = from.div_euclid(SECOND_US);
            let last = (to - 1).div_euclid(SECOND_US);
            let seconds = (last - first + 1).max(0);
            let bucket_s = (seconds + MAX_LOAD_POINTS - 1) / MAX_LOAD_POINTS;
            let bucket_s = bucket_s.max(1);
            let mut points: BTreeMap<i64, LoadPoint> = BTreeMap::new();
            let mut peak: Option<Peak> = None;
            for sec in first..=last {
                let c = per_second.get(&(sec * SECOND_US)).copied().unwrap_or_default();
                let total = c.iter().sum::<u64>();
                if sec * SECOND_US >= open && total > 0 && peak.as_ref().is_none_or(|p| total > p.attempts) {
                    peak = Some(Peak {
                        at: utc(sec * SECOND_US),
                        attempts: total,
                    });
                }
                let offset = sec - open.div_euclid(SECOND_US);
                let key = offset.div_euclid(bucket_s) * bucket_s;
                let p = points.entry(key).or_insert(LoadPoint {
                    offset_s: key,
                    ok: 0,
                    rate_limited: 0,
                    errors: 0,
                });
                p.ok += c[0];
                p.rate_limited += c[1];
                p.errors += c[2];
            }
            FlashSaleLoad {
                label: (*label).clone(),
                bucket_s,
                points: points.into_values().collect(),
                peak,
            }
        })
        .collect())
}
