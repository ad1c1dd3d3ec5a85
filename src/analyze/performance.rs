//! Analyzer 2, performance: latency percentiles by model and provider, tokens per second, a
//! cost-efficiency score, SLA compliance at a configurable threshold, latency buckets, and the
//! best model per task type for speed, for cost and for balance.
//!
//! Latency figures cover every call (a timeout is what a user waits for); tokens per second use
//! successful calls only (a failed call has no output). Percentiles are linear-interpolation
//! quantiles (numpy's default), not the original's `sorted[int(n·p)]`.

use anyhow::Result;
use maud::{Markup, html};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::frame::{Totals, cost_micros, desc, floats, ints, is_success, ratio, strings, totals_aggs, usd};
use super::{Analyzer, Context};
use crate::config::{Config, ConfigError, SettingsCheck};
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

    fn check(s: &PerformanceSettings, c: SettingsCheck<'_>, _: &Config) -> Result<(), ConfigError> {
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
        let overall = stats(ctx, &[], s)?.pop().unwrap_or_else(|| empty_stats("all"));
        let by_provider = stats(ctx, &["provider"], s)?;
        let mut by_model = stats(ctx, &["provider", "model"], s)?;
        by_model.sort_by(|a, b| a.name.cmp(&b.name));
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
        let best_by_task = best_by_task(ctx, s)?;
        let buckets = buckets(ctx, s)?;
        let histogram = histogram(ctx)?;
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

fn empty_stats(name: &str) -> LatencyStats {
    LatencyStats {
        name: name.into(),
        provider: String::new(),
        calls: 0,
        successful_calls: 0,
        cost_usd: 0.0,
        avg_latency_ms: 0.0,
        p50_ms: 0.0,
        p95_ms: 0.0,
        p99_ms: 0.0,
        tokens_per_second: 0.0,
        cost_per_1k_tokens: 0.0,
        efficiency_score: 0.0,
        sla_compliance: 0.0,
        over_sla_cost_usd: 0.0,
        slow_share: 0.0,
        slow_cost_usd: 0.0,
    }
}

/// The aggregates behind [`LatencyStats`].
fn latency_aggs(s: &PerformanceSettings) -> Vec<Expr> {
    let lat = || col("latency_ms").cast(DataType::Int64);
    let q = |p: f64, name: &str| {
        lat()
            .cast(DataType::Float64)
            .quantile(lit(p), QuantileMethod::Linear)
            .alias(name)
    };
    let over_sla = || lat().gt(lit(s.sla_ms as i64));
    let slow = || lat().gt(lit(s.slow_ms as i64));
    let mut aggs = totals_aggs();
    aggs.extend([
        q(0.50, "p50"),
        q(0.95, "p95"),
        q(0.99, "p99"),
        over_sla().not().cast(DataType::Int64).sum().alias("within_sla"),
        cost_micros().filter(over_sla()).sum().alias("over_sla_micros"),
        slow().cast(DataType::Int64).sum().alias("slow"),
        cost_micros().filter(slow()).sum().alias("slow_micros"),
        lat().filter(is_success()).sum().alias("ok_latency_ms"),
    ]);
    aggs
}

/// [`LatencyStats`] per group of `keys` (`[]`: one row for all calls). The last key names the row.
fn stats(ctx: &Context<'_>, keys: &[&str], s: &PerformanceSettings) -> Result<Vec<LatencyStats>> {
    let query = if keys.is_empty() {
        ctx.calls().select(latency_aggs(s))
    } else {
        ctx.calls()
            .group_by(keys.iter().map(|k| col(*k)).collect::<Vec<_>>())
            .agg(latency_aggs(s))
    };
    let df = ctx.collect(query)?;
    let names = match keys.last() {
        Some(k) => strings(&df, k)?,
        None => vec!["all".to_string(); df.height()],
    };
    let providers = match keys.first() {
        Some(k) => strings(&df, k)?,
        None => vec![String::new(); df.height()],
    };
    let totals = Totals::read(&df)?;
    let (p50, p95, p99) = (floats(&df, "p50")?, floats(&df, "p95")?, floats(&df, "p99")?);
    let (within, over_cost, slow, slow_cost, ok_latency) = (
        ints(&df, "within_sla")?,
        ints(&df, "over_sla_micros")?,
        ints(&df, "slow")?,
        ints(&df, "slow_micros")?,
        ints(&df, "ok_latency_ms")?,
    );
    let mut out: Vec<LatencyStats> = (0..df.height())
        .map(|i| {
            let t = &totals[i];
            let tps = ratio(t.output_tokens as f64, ok_latency[i] as f64 / 1000.0);
            let cpk = t.cost_per_1k_tokens();
            LatencyStats {
                name: names[i].clone(),
                provider: providers[i].clone(),
                calls: t.calls,
                successful_calls: t.successes,
                cost_usd: t.cost_usd(),
                avg_latency_ms: t.avg_latency_ms(),
                p50_ms: p50[i],
                p95_ms: p95[i],
                p99_ms: p99[i],
                tokens_per_second: tps,
                cost_per_1k_tokens: cpk,
                efficiency_score: ratio(tps, cpk),
                sla_compliance: ratio(within[i] as f64, t.calls as f64),
                over_sla_cost_usd: usd(over_cost[i]),
                slow_share: ratio(slow[i] as f64, t.calls as f64),
                slow_cost_usd: usd(slow_cost[i]),
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn buckets(ctx: &Context<'_>, s: &PerformanceSettings) -> Result<Vec<LatencyBucket>> {
    let lat = || col("latency_ms").cast(DataType::Int64);
    let edges = &s.latency_buckets_ms;
    let mut exprs = Vec::new();
    for i in 0..=edges.len() {
        let lower = if i == 0 { None } else { Some(edges[i - 1]) };
        let upper = edges.get(i).copied();
        let mut cond = lit(true);
        if let Some(lo) = lower {
            cond = cond.and(lat().gt(lit(lo as i64)));
        }
        if let Some(hi) = upper {
            cond = cond.and(lat().lt_eq(lit(hi as i64)));
        }
        exprs.push(cond.cast(DataType::Int64).sum().alias(format!("b{i}")));
    }
    let df = ctx.collect(ctx.calls().select(exprs))?;
    let total = ctx.window.rows.max(1) as f64;
    let mut out = Vec::new();
    for i in 0..=edges.len() {
        let calls = ints(&df, &format!("b{i}"))?.first().copied().unwrap_or(0) as u64;
        let above = if i == 0 { 0 } else { edges[i - 1] };
        let upper = edges.get(i).copied();
        let label = match upper {
            Some(hi) if i == 0 => format!("≤ {} ms", h::count(hi as f64)),
            Some(hi) => format!("{}–{} ms", h::count(above as f64), h::count(hi as f64)),
            None => format!("> {} ms", h::count(above as f64)),
        };
        out.push(LatencyBucket {
            label,
            above_ms: above,
            up_to_ms: upper,
            calls,
            share: calls as f64 / total,
        });
    }
    Ok(out)
}

fn histogram(ctx: &Context<'_>) -> Result<Vec<HistogramBin>> {
    let lat = || col("latency_ms").cast(DataType::Int64);
    let bin = when(lat().gt_eq(lit(HISTOGRAM_BIN_MS * HISTOGRAM_BINS)))
        .then(lit(HISTOGRAM_BINS))
        .otherwise(lat() / lit(HISTOGRAM_BIN_MS))
        .alias("bin");
    let df = ctx.collect(
        ctx.calls()
            .group_by([bin])
            .agg([len().cast(DataType::Int64).alias("calls")]),
    )?;
    let mut counts = vec![0u64; HISTOGRAM_BINS as usize + 1];
    for (b, n) in ints(&df, "bin")?.into_iter().zip(ints(&df, "calls")?) {
        counts[b.clamp(0, HISTOGRAM_BINS) as usize] += n as u64;
    }
    Ok(counts
        .into_iter()
        .enumerate()
        .map(|(i, calls)| HistogramBin {
            from_ms: i as u64 * HISTOGRAM_BIN_MS as u64,
            to_ms: (i < HISTOGRAM_BINS as usize).then(|| (i as u64 + 1) * HISTOGRAM_BIN_MS as u64),
            calls,
        })
        .collect())
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

fn best_by_task(ctx: &Context<'_>, s: &PerformanceSettings) -> Result<Vec<TaskBest>> {
    let df = ctx.collect(
        ctx.calls()
            .group_by([col("task_type"), col("provider"), col("model")])
            .agg(latency_aggs(s)),
    )?;
    let (tasks, providers, models) = (
        strings(&df, "task_type")?,
        strings(&df, "provider")?,
        strings(&df, "model")?,
    );
    let totals = Totals::read(&df)?;
    let p50 = floats(&df, "p50")?;
    let ok_latency = ints(&df, "ok_latency_ms")?;
    let mut by_task: std::collections::BTreeMap<&str, Vec<(Pick, f64, f64)>> = Default::default();
    for i in 0..df.height() {
        let t = &totals[i];
        if t.successes < s.min_calls_per_task_model || t.cost_micros <= 0 {
            continue;
        }
        let tps = ratio(t.output_tokens as f64, ok_latency[i] as f64 / 1000.0);
        let cpk = t.cost_per_1k_tokens();
        let pick = Pick {
            model: models[i].clone(),
            provider: providers[i].clone(),
            value: p50[i],
        };
        by_task.entry(&tasks[i]).or_default().push((pick, cpk, ratio(tps, cpk)));
    }
    let mut out = Vec::new();
    for (task, mut cands) in by_task {
        cands.sort_by(|a, b| a.0.model.cmp(&b.0.model));
        let best = |key: &dyn Fn(&(Pick, f64, f64)) -> f64, low: bool| -> Option<(Pick, f64)> {
            cands
                .iter()
                .min_by(|a, b| {
                    if low {
                        key(a).total_cmp(&key(b))
                    } else {
                        key(b).total_cmp(&key(a))
                    }
                })
                .map(|c| (c.0.clone(), key(c)))
        };
        let (Some(fast), Some(cheap), Some(bal)) =
            (best(&|c| c.0.value, true), best(&|c| c.1, true), best(&|c| c.2, false))
        else {
            continue;
        };
        let with = |(p, v): (Pick, f64)| Pick { value: v, ..p };
        out.push(TaskBest {
            task_type: task.to_string(),
            fastest: with(fast),
            cheapest: with(cheap),
            balanced: with(bal),
        });
    }
    Ok(out)
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
