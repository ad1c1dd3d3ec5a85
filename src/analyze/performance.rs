//! Analyzer 2, performance: latency percentiles by model and provider, tokens per second, a
//! cost-efficiency score, SLA compliance at a configurable threshold, latency buckets, and the
//! best model per task type for speed, for cost and for balance.
//!
//! Latency figures cover every call (a timeout is what a user waits for); tokens per second use
//! successful calls only (a failed call has no output). Percentiles are linear-interpolation
//! quantiles (numpy's default), not the original's `sorted[int(n·p)]`.

use std::collections::BTreeMap;

use anyhow::Result;
use maud::{Markup, html};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::frame::{Totals, cost_micros, desc, ints, is_success, ratio, strings, totals_aggs, usd};
use super::latency::latency_counts;
use super::{Analyzer, Columns, Context};
use crate::config::{CallsConfig, ConfigError, SettingsCheck};
use crate::report::chart::{
    BarSeries, Bin, GroupedBarChart, Histogram, HistogramData, Marker, ScatterChart, ScatterPoint, Unit,
    render_grouped_bar_chart, render_histogram, render_scatter_chart,
};
use crate::report::html::{
    self as h, Cell, Figure, Recommendation, Severity, cards, chart, chart_grid, recommendations, section, table,
};

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
    pub overall: LatencyStats,
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
    pub calls: u64,
    pub successful_calls: u64,
    pub cost_usd: f64,
    pub avg_latency_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// Output tokens per second of latency, over successful calls (ratio of sums).
    pub tokens_per_second: f64,
    pub cost_per_1k_tokens: f64,
    /// Tokens per second ÷ cost per 1K tokens: higher is better.
    pub efficiency_score: f64,
    /// Share of calls with latency ≤ the SLA threshold.
    pub sla_compliance: f64,
    /// Cost of the calls over the SLA threshold.
    pub over_sla_cost_usd: f64,
    /// Share of calls slower than `slow_ms`.
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
const HISTOGRAM_BIN_MS: i64 = 250;
const HISTOGRAM_BINS: i64 = 40;

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
        let groups = groups(ctx, s)?;
        let overall = stats("all", "", groups.iter());
        let by_provider = grouped(&groups, |g| (g.provider.clone(), String::new()));
        let by_model = grouped(&groups, |g| (g.model.clone(), g.provider.clone()));
        let rank = |key: &dyn Fn(&LatencyStats) -> f64, high_first: bool| -> Vec<String> {
            let mut v: Vec<&LatencyStats> = by_model.iter().filter(|m| m.successful_calls > 0).collect();
            v.sort_by(|a, b| {
                let o = if high_first {
                    desc(key(a), key(b))
                } else {
                    key(a).total_cmp(&key(b))
                };
                o.then_with(|| a.name.cmp(&b.name))
            });
            v.iter().take(s.top_models as usize).map(|m| m.name.clone()).collect()
        };
        let fastest = rank(&|m| m.p50_ms, false);
        let cheapest = rank(&|m| m.cost_per_1k_tokens, false);
        let most_efficient = rank(&|m| m.efficiency_score, true);
        let best_by_task = best_by_task(&groups, s);
        let all_latencies = merged(groups.iter());
        let buckets = buckets(&all_latencies, overall.calls, s);
        let histogram = histogram(&all_latencies);
        let recommendations = recommend(s, &overall, &by_model);
        Ok(PerformanceResult {
            sla_ms: s.sla_ms,
            overall,
            by_provider,
            by_model,
            buckets,
            histogram,
            fastest,
            cheapest,
            most_efficient,
            best_by_task,
            recommendations,
        })
    }

    fn headline(r: &PerformanceResult) -> Vec<Figure> {
        vec![
            Figure::ms("p50 latency", r.overall.p50_ms),
            Figure::ms("p95 latency", r.overall.p95_ms),
            Figure::percent(format!("SLA compliance (≤ {} ms)", r.sla_ms), r.overall.sla_compliance),
            Figure::number("Tokens per second", r.overall.tokens_per_second),
        ]
    }

    fn render(r: &PerformanceResult, s: &PerformanceSettings) -> Result<Markup> {
        let stat_rows = |rows: &[LatencyStats], with_provider: bool| -> Vec<Vec<Cell>> {
            rows.iter()
                .map(|m| {
                    let mut row = vec![Cell::text(&m.name)];
                    if with_provider {
                        row.push(Cell::text(&m.provider));
                    }
                    row.extend([
                        Cell::count(m.calls),
                        Cell::ms(m.p50_ms),
                        Cell::ms(m.p95_ms),
                        Cell::ms(m.p99_ms),
                        Cell::number(m.tokens_per_second, 1),
                        Cell::usd(m.cost_per_1k_tokens),
                        Cell::number(m.efficiency_score, 0),
                        Cell::percent(m.sla_compliance),
                    ]);
                    row
                })
                .collect()
        };
        let head = [
            "Calls",
            "p50",
            "p95",
            "p99",
            "Tokens/s",
            "Per 1K tokens",
            "Efficiency",
            "SLA",
        ];
        let model_head: Vec<&str> = ["Model", "Provider"].iter().chain(head.iter()).copied().collect();
        let provider_head: Vec<&str> = ["Provider"].iter().chain(head.iter()).copied().collect();
        let bucket_rows: Vec<Vec<Cell>> = r
            .buckets
            .iter()
            .map(|b| vec![Cell::text(&b.label), Cell::count(b.calls), Cell::percent(b.share)])
            .collect();
        let pick = |p: &Pick, unit: &str| format!("{} ({}, {})", p.model, p.provider, unit);
        let task_rows: Vec<Vec<Cell>> = r
            .best_by_task
            .iter()
            .map(|t| {
                vec![
                    Cell::text(&t.task_type),
                    Cell::text(pick(&t.fastest, &h::format_value(t.fastest.value, h::Unit::Ms))),
                    Cell::text(pick(&t.cheapest, &format!("{} / 1K", h::usd(t.cheapest.value)))),
                    Cell::text(pick(&t.balanced, &format!("score {}", h::number(t.balanced.value, 0)))),
                ]
            })
            .collect();
        let ranking = |title: &str, names: &[String]| {
            html! { div { h3 { (title) } ol { @for n in names { li { (n) } } } } }
        };
        let charts = charts(r, s)?;
        Ok(html! {
            (section("Summary", Some(&format!(
                "Latency over all {} calls; SLA: at most {} ms. Tokens per second: output tokens per second of latency over successful calls.",
                h::count(r.overall.calls as f64), r.sla_ms)), cards(&[
                Figure::ms("p50 latency", r.overall.p50_ms),
                Figure::ms("p95 latency", r.overall.p95_ms),
                Figure::ms("p99 latency", r.overall.p99_ms),
                Figure::ms("Mean latency", r.overall.avg_latency_ms),
                Figure::percent("SLA compliance", r.overall.sla_compliance),
                Figure::percent(format!("Calls over {} ms", s.slow_ms), r.overall.slow_share),
                Figure::number("Tokens per second", r.overall.tokens_per_second),
                Figure::usd("Cost per 1K tokens", r.overall.cost_per_1k_tokens),
            ])))
            (section("Recommendations", None, recommendations(&r.recommendations)))
            (section("Latency", None, html! {
                (chart_grid(&charts[..2]))
                (table(&["Latency", "Calls", "Share"], &bucket_rows))
            }))
            (section("By model", Some("Efficiency score = tokens per second ÷ cost per 1K tokens: up and left is better."),
                html! { (chart(&charts[2])) (table(&model_head, &stat_rows(&r.by_model, true))) }))
            (section("By provider", None, table(&provider_head, &stat_rows(&r.by_provider, false))))
            (section("Rankings", None, html! {
                div.chart-grid {
                    (ranking("Fastest (p50)", &r.fastest))
                    (ranking("Cheapest per 1K tokens", &r.cheapest))
                    (ranking("Most efficient", &r.most_efficient))
                }
            }))
            (section("Best model per task type", Some(&format!(
                "Among models with at least {} calls of the task.", s.min_calls_per_task_model)),
                table(&["Task", "Fastest (p50)", "Cheapest", "Balanced (efficiency)"], &task_rows)))
        })
    }
}

/// The sums of one (task type, provider, model) and its latency distribution.
struct Group {
    task: String,
    provider: String,
    model: String,
    t: Totals,
    within_sla: u64,
    over_sla_micros: i64,
    slow: u64,
    slow_micros: i64,
    /// Latency summed over successful calls (for tokens per second).
    ok_latency_ms: i64,
    /// Calls per latency value, ms.
    latencies: BTreeMap<i64, u64>,
}

/// The sums per (task, provider, model) from a query, and the calls per (task, provider, model,
/// latency) from a pass over the files ([`latency_counts`]: a Polars group-by over those keys
/// costs memory that grows with the rows). Percentiles then come exactly from the counts, for any
/// grouping, without holding every latency in memory (latency is a whole number of milliseconds).
fn groups(ctx: &Context<'_>, s: &PerformanceSettings) -> Result<Vec<Group>> {
    let lat = || col("latency_ms").cast(DataType::Int64);
    let over_sla = || lat().gt(lit(s.sla_ms as i64));
    let slow = || lat().gt(lit(s.slow_ms as i64));
    let keys = || vec![col("task_type"), col("provider"), col("model")];
    let mut aggs = totals_aggs();
    aggs.extend([
        over_sla().not().cast(DataType::Int64).sum().alias("within_sla"),
        // when/then rather than a filter inside the aggregation: the streaming engine runs it.
        when(over_sla())
            .then(cost_micros())
            .otherwise(lit(0i64))
            .sum()
            .alias("over_sla_micros"),
        slow().cast(DataType::Int64).sum().alias("slow"),
        when(slow())
            .then(cost_micros())
            .otherwise(lit(0i64))
            .sum()
            .alias("slow_micros"),
        when(is_success())
            .then(lat())
            .otherwise(lit(0i64))
            .sum()
            .alias("ok_latency_ms"),
    ]);
    let sums = ctx.collect(ctx.calls().group_by(keys()).agg(aggs))?;
    let mut counts = latency_counts(ctx.source)?;
    let (tasks, providers, models) = (
        strings(&sums, "task_type")?,
        strings(&sums, "provider")?,
        strings(&sums, "model")?,
    );
    let totals = Totals::read(&sums)?;
    let (within, over, slow_n, slow_c, ok_lat) = (
        ints(&sums, "within_sla")?,
        ints(&sums, "over_sla_micros")?,
        ints(&sums, "slow")?,
        ints(&sums, "slow_micros")?,
        ints(&sums, "ok_latency_ms")?,
    );
    let mut out: BTreeMap<(String, String, String), Group> = BTreeMap::new();
    for i in 0..sums.height() {
        let key = (tasks[i].clone(), providers[i].clone(), models[i].clone());
        let latencies = counts.remove(&key).unwrap_or_default();
        out.insert(
            key,
            Group {
                task: tasks[i].clone(),
                provider: providers[i].clone(),
                model: models[i].clone(),
                t: totals[i],
                within_sla: within[i] as u64,
                over_sla_micros: over[i],
                slow: slow_n[i] as u64,
                slow_micros: slow_c[i],
                ok_latency_ms: ok_lat[i],
                latencies,
            },
        );
    }
    Ok(out.into_values().collect())
}

/// The latency counts of several groups, merged.
fn merged<'a>(groups: impl Iterator<Item = &'a Group>) -> BTreeMap<i64, u64> {
    let mut all = BTreeMap::new();
    for g in groups {
        for (ms, n) in &g.latencies {
            *all.entry(*ms).or_default() += n;
        }
    }
    all
}

/// The linear-interpolation quantile `p` of values given as (value, count), sorted by value.
pub fn quantile_from_counts(counts: &BTreeMap<i64, u64>, p: f64) -> f64 {
    let n: u64 = counts.values().sum();
    if n == 0 {
        return 0.0;
    }
    let h = (n - 1) as f64 * p;
    let lo = h.floor() as u64;
    // The values at sorted positions `lo` and `lo + 1`.
    let mut seen = 0;
    let mut below = None;
    for (&v, &c) in counts {
        if below.is_none() && lo < seen + c {
            if lo + 1 < seen + c {
                return v as f64;
            }
            below = Some(v);
        } else if let Some(b) = below {
            return b as f64 + (h - lo as f64) * (v - b) as f64;
        }
        seen += c;
    }
    below.unwrap_or(0) as f64
}

/// [`LatencyStats`] of the calls of `groups`.
fn stats<'a>(name: &str, provider: &str, groups: impl Iterator<Item = &'a Group> + Clone) -> LatencyStats {
    let mut t = Totals::default();
    let (mut within, mut over, mut slow, mut slow_c, mut ok_lat) = (0, 0, 0, 0, 0);
    for g in groups.clone() {
        t.add(&g.t);
        within += g.within_sla;
        over += g.over_sla_micros;
        slow += g.slow;
        slow_c += g.slow_micros;
        ok_lat += g.ok_latency_ms;
    }
    let lat = merged(groups);
    let tps = ratio(t.output_tokens as f64, ok_lat as f64 / 1000.0);
    let cpk = t.cost_per_1k_tokens();
    LatencyStats {
        name: name.into(),
        provider: provider.into(),
        calls: t.calls,
        successful_calls: t.successes,
        cost_usd: t.cost_usd(),
        avg_latency_ms: t.avg_latency_ms(),
        p50_ms: quantile_from_counts(&lat, 0.50),
        p95_ms: quantile_from_counts(&lat, 0.95),
        p99_ms: quantile_from_counts(&lat, 0.99),
        tokens_per_second: tps,
        cost_per_1k_tokens: cpk,
        efficiency_score: ratio(tps, cpk),
        sla_compliance: ratio(within as f64, t.calls as f64),
        over_sla_cost_usd: usd(over),
        slow_share: ratio(slow as f64, t.calls as f64),
        slow_cost_usd: usd(slow_c),
    }
}

/// [`LatencyStats`] per (name, provider) key of the groups, sorted by name.
fn grouped(groups: &[Group], key: impl Fn(&Group) -> (String, String)) -> Vec<LatencyStats> {
    let mut keys: Vec<(String, String)> = groups.iter().map(&key).collect();
    keys.sort();
    keys.dedup();
    keys.iter()
        .map(|k| stats(&k.0, &k.1, groups.iter().filter(|g| key(g) == *k)))
        .collect()
}

fn buckets(latencies: &BTreeMap<i64, u64>, calls: u64, s: &PerformanceSettings) -> Vec<LatencyBucket> {
    let edges = &s.latency_buckets_ms;
    (0..=edges.len())
        .map(|i| {
            let above = if i == 0 { 0 } else { edges[i - 1] };
            let upper = edges.get(i).copied();
            let n: u64 = latencies
                .iter()
                .filter(|(ms, _)| (i == 0 || **ms > above as i64) && upper.is_none_or(|hi| **ms <= hi as i64))
                .map(|(_, n)| n)
                .sum();
            let label = match upper {
                Some(hi) if i == 0 => format!("≤ {} ms", h::count(hi as f64)),
                Some(hi) => format!("{}–{} ms", h::count(above as f64), h::count(hi as f64)),
                None => format!("> {} ms", h::count(above as f64)),
            };
            LatencyBucket {
                label,
                above_ms: above,
                up_to_ms: upper,
                calls: n,
                share: ratio(n as f64, calls as f64),
            }
        })
        .collect()
}

fn histogram(latencies: &BTreeMap<i64, u64>) -> Vec<HistogramBin> {
    let mut counts = vec![0u64; HISTOGRAM_BINS as usize + 1];
    for (ms, n) in latencies {
        counts[(ms / HISTOGRAM_BIN_MS).clamp(0, HISTOGRAM_BINS) as usize] += n;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, calls)| HistogramBin {
            from_ms: i as u64 * HISTOGRAM_BIN_MS as u64,
            to_ms: (i < HISTOGRAM_BINS as usize).then(|| (i as u64 + 1) * HISTOGRAM_BIN_MS as u64),
            calls,
        })
        .collect()
}

fn charts(r: &PerformanceResult, s: &PerformanceSettings) -> Result<Vec<String>> {
    let bins: Vec<Bin> = r
        .histogram
        .iter()
        .map(|b| Bin {
            lower: b.from_ms as f64,
            upper: b.to_ms.unwrap_or(b.from_ms + HISTOGRAM_BIN_MS as u64) as f64,
            count: b.calls as f64,
        })
        .collect();
    let histogram = render_histogram(&Histogram {
        title: format!(
            "Latency of all calls (last bin: {} s and slower)",
            HISTOGRAM_BINS * HISTOGRAM_BIN_MS / 1000
        ),
        x_label: "Latency".into(),
        y_label: "Calls".into(),
        x_unit: Unit::Millis,
        y_unit: Unit::Count,
        data: HistogramData::Binned(bins),
        markers: vec![
            Marker::new(s.sla_ms as f64, format!("SLA {} ms", h::count(s.sla_ms as f64))),
            Marker::new(s.slow_ms as f64, format!("slow {} ms", h::count(s.slow_ms as f64))),
        ],
        ..Default::default()
    })?;
    let scatter = render_scatter_chart(&ScatterChart {
        title: "Speed against price, by model".into(),
        x_label: "Cost per 1K tokens".into(),
        y_label: "Output tokens per second".into(),
        x_unit: Unit::Dollars,
        y_unit: Unit::Number,
        points: r
            .by_model
            .iter()
            .filter(|m| m.successful_calls > 0)
            .map(|m| {
                ScatterPoint::new(m.cost_per_1k_tokens, m.tokens_per_second)
                    .category(&m.provider)
                    .label(&m.name)
            })
            .collect(),
        ..Default::default()
    })?;
    let percentiles = render_grouped_bar_chart(&GroupedBarChart {
        title: "Latency percentiles by provider".into(),
        x_label: "Provider".into(),
        y_label: "Latency".into(),
        unit: Unit::Millis,
        categories: r.by_provider.iter().map(|p| p.name.clone()).collect(),
        series: vec![
            BarSeries::new("p50", r.by_provider.iter().map(|p| p.p50_ms).collect()),
            BarSeries::new("p95", r.by_provider.iter().map(|p| p.p95_ms).collect()),
            BarSeries::new("p99", r.by_provider.iter().map(|p| p.p99_ms).collect()),
        ],
        ..Default::default()
    })?;
    Ok(vec![histogram, percentiles, scatter])
}

fn best_by_task(groups: &[Group], s: &PerformanceSettings) -> Vec<TaskBest> {
    let mut out = Vec::new();
    for task_groups in groups.chunk_by(|a, b| a.task == b.task) {
        let cands: Vec<(Pick, f64, f64)> = task_groups
            .iter()
            .filter(|g| g.t.successes >= s.min_calls_per_task_model && g.t.cost_micros > 0)
            .map(|g| {
                let st = stats(&g.model, &g.provider, std::iter::once(g));
                let pick = Pick {
                    model: g.model.clone(),
                    provider: g.provider.clone(),
                    value: st.p50_ms,
                };
                (pick, st.cost_per_1k_tokens, st.efficiency_score)
            })
            .collect();
        let best = |key: &dyn Fn(&(Pick, f64, f64)) -> f64, low: bool| -> Option<Pick> {
            cands
                .iter()
                .min_by(|a, b| {
                    let o = if low {
                        key(a).total_cmp(&key(b))
                    } else {
                        key(b).total_cmp(&key(a))
                    };
                    o.then_with(|| a.0.model.cmp(&b.0.model))
                })
                .map(|c| Pick {
                    value: key(c),
                    ..c.0.clone()
                })
        };
        if let (Some(fastest), Some(cheapest), Some(balanced)) =
            (best(&|c| c.0.value, true), best(&|c| c.1, true), best(&|c| c.2, false))
        {
            out.push(TaskBest {
                task_type: task_groups[0].task.clone(),
                fastest,
                cheapest,
                balanced,
            });
        }
    }
    out
}

fn recommend(s: &PerformanceSettings, all: &LatencyStats, models: &[LatencyStats]) -> Vec<Recommendation> {
    let mut out = Vec::new();
    if all.sla_compliance < s.sla_target {
        let mut worst: Vec<&LatencyStats> = models.iter().filter(|m| m.calls > 0).collect();
        worst.sort_by(|a, b| {
            a.sla_compliance
                .total_cmp(&b.sla_compliance)
                .then_with(|| a.name.cmp(&b.name))
        });
        let names: Vec<String> = worst
            .iter()
            .take(3)
            .map(|m| format!("{} ({})", m.name, h::percent(m.sla_compliance)))
            .collect();
        out.push(Recommendation {
            severity: if all.sla_compliance < s.sla_target - 0.2 { Severity::Critical } else { Severity::High },
            title: "SLA compliance below target".into(),
            message: format!(
                "{} of calls finish within {} ms, against a target of {}. Worst models: {}. Calls over the SLA cost {}.",
                h::percent(all.sla_compliance),
                s.sla_ms,
                h::percent(s.sla_target),
                names.join(", "),
                h::usd(all.over_sla_cost_usd)
            ),
            action: "Route latency-sensitive traffic to the fastest models for its task (table below), or cap output tokens.".into(),
            amount_usd: Some(all.over_sla_cost_usd),
        });
    }
    let scored: Vec<&LatencyStats> = models.iter().filter(|m| m.efficiency_score > 0.0).collect();
    let best = scored
        .iter()
        .max_by(|a, b| a.efficiency_score.total_cmp(&b.efficiency_score));
    let worst = scored
        .iter()
        .min_by(|a, b| a.efficiency_score.total_cmp(&b.efficiency_score));
    if let (Some(b), Some(w)) = (best, worst)
        && b.efficiency_score > s.efficiency_gap * w.efficiency_score
    {
        let saving = w.cost_usd * (1.0 - ratio(b.cost_per_1k_tokens, w.cost_per_1k_tokens)).max(0.0);
        out.push(Recommendation {
            severity: Severity::Medium,
            title: "Efficiency gap between models".into(),
            message: format!(
                "{} scores {:.0}, {:.1}× {} ({:.0}). The {} spent on {} would be {} at {}'s price per token.",
                b.name,
                b.efficiency_score,
                b.efficiency_score / w.efficiency_score,
                w.name,
                w.efficiency_score,
                h::usd(w.cost_usd),
                w.name,
                h::usd(w.cost_usd - saving),
                b.name
            ),
            action: format!("Test {} on the workloads of {} where quality allows.", b.name, w.name),
            amount_usd: Some(saving),
        });
    }
    if all.slow_share > s.slow_share {
        out.push(Recommendation {
            severity: Severity::High,
            title: "Many slow calls".into(),
            message: format!(
                "{} of calls take longer than {} ms; they cost {}.",
                h::percent(all.slow_share),
                s.slow_ms,
                h::usd(all.slow_cost_usd)
            ),
            action: "Stream responses, cap output tokens, or move long prompts to faster models.".into(),
            amount_usd: Some(all.slow_cost_usd),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// numpy's linear quantile over the expanded values.
    fn naive(values: &[i64], p: f64) -> f64 {
        let mut v = values.to_vec();
        v.sort();
        let h = (v.len() - 1) as f64 * p;
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(v.len() - 1);
        v[lo] as f64 + (h - lo as f64) * (v[hi] - v[lo]) as f64
    }

    #[test]
    fn quantiles_from_counts_equal_quantiles_of_the_values() {
        let values = [120, 120, 130, 500, 500, 500, 501, 900, 2000, 2000, 7000];
        let mut counts = BTreeMap::new();
        for v in values {
            *counts.entry(v).or_insert(0u64) += 1;
        }
        for p in [0.0, 0.1, 0.25, 0.5, 0.73, 0.9, 0.95, 0.99, 1.0] {
            assert!(
                (quantile_from_counts(&counts, p) - naive(&values, p)).abs() < 1e-9,
                "p = {p}"
            );
        }
        assert_eq!(quantile_from_counts(&BTreeMap::from([(42, 1)]), 0.99), 42.0);
        assert_eq!(quantile_from_counts(&BTreeMap::new(), 0.5), 0.0);
    }
}
