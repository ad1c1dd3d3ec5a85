//! The performance figures: one query of sums per (task type, provider, model), one pass
//! counting successful calls per latency ([`latency_counts`]), one query of failures by status.

use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;

use super::{
    FailureStatus, Failures, HISTOGRAM_BIN_MS, HISTOGRAM_BINS, HistogramBin, LatencyBucket, LatencyStats,
    PerformanceResult, PerformanceSettings, Pick, TaskBest,
};
use crate::analyze::Context;
use crate::analyze::frame::{Totals, cost_micros, desc, ints, is_success, ratio, strings, totals_aggs, usd};
use crate::analyze::latency::latency_counts;
use crate::report::html::{self as h, Recommendation, Severity};
use crate::sim::calls::catalogue::Catalogue;

pub(super) fn analyze(ctx: &Context<'_>, s: &PerformanceSettings) -> Result<PerformanceResult> {
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
    let buckets = buckets(&all_latencies, overall.successful_calls, s);
    let histogram = histogram(&all_latencies);
    let failures = failures(ctx, &groups, &ctx.config.catalogue, overall.calls)?;
    let recommendations = recommend(s, &overall, &by_model);
    Ok(PerformanceResult {
        sla_ms: s.sla_ms,
        overall,
        failures,
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

/// The failed calls: totals from the groups' sums, statuses from one small query.
fn failures(ctx: &Context<'_>, groups: &[Group], catalogue: &Catalogue, calls: u64) -> Result<Failures> {
    let df = ctx.collect(ctx.calls().filter(is_success().not()).group_by([col("status")]).agg([
        len().cast(DataType::Int64).alias("calls"),
        col("input_tokens").cast(DataType::Int64).sum().alias("input_tokens"),
        col("latency_ms").cast(DataType::Int64).sum().alias("latency_ms"),
    ]))?;
    let (status, n, input, latency) = (
        strings(&df, "status")?,
        ints(&df, "calls")?,
        ints(&df, "input_tokens")?,
        ints(&df, "latency_ms")?,
    );
    let mut by_status: Vec<FailureStatus> = (0..df.height())
        .map(|i| FailureStatus {
            status: status[i].clone(),
            calls: n[i] as u64,
            share: ratio(n[i] as f64, calls as f64),
            input_tokens: input[i],
            avg_latency_ms: ratio(latency[i] as f64, n[i] as f64),
        })
        .collect();
    by_status.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.status.cmp(&b.status)));
    let failed: u64 = groups.iter().map(|g| g.t.calls - g.t.successes).sum();
    let prompt_at_list: f64 = groups
        .iter()
        .map(|g| {
            let price = catalogue
                .model_index(&g.model)
                .map_or(0.0, |m| catalogue.models[m].input_per_1k);
            g.failed_input as f64 * price / 1000.0
        })
        .sum();
    Ok(Failures {
        calls: failed,
        share: ratio(failed as f64, calls as f64),
        by_status,
        input_tokens: groups.iter().map(|g| g.failed_input).sum(),
        output_tokens: groups.iter().map(|g| g.failed_output).sum(),
        billed_cost_usd: usd(groups.iter().map(|g| g.failed_micros).sum()),
        prompt_cost_at_list_usd: prompt_at_list,
        wait_hours: groups.iter().map(|g| g.failed_latency_ms).sum::<i64>() as f64 / 3_600_000.0,
    })
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
    /// Sums over the failed calls.
    failed_input: i64,
    failed_output: i64,
    failed_micros: i64,
    failed_latency_ms: i64,
    /// Successful calls per latency value, ms.
    latencies: BTreeMap<i64, u64>,
}

/// The sums per (task, provider, model) from a query, and the calls per (task, provider, model,
/// latency) from a pass over the files ([`latency_counts`]: a Polars group-by over those keys
/// costs memory that grows with the rows). Percentiles then come exactly from the counts, for any
/// grouping, without holding every latency in memory (latency is a whole number of milliseconds).
fn groups(ctx: &Context<'_>, s: &PerformanceSettings) -> Result<Vec<Group>> {
    let lat = || col("latency_ms").cast(DataType::Int64);
    // Every latency figure is over successful calls; failures are summed apart.
    let over_sla = || is_success().and(lat().gt(lit(s.sla_ms as i64)));
    let within_sla = || is_success().and(lat().lt_eq(lit(s.sla_ms as i64)));
    let slow = || is_success().and(lat().gt(lit(s.slow_ms as i64)));
    let failed_sum = |e: Expr, name: &str| when(is_success()).then(lit(0i64)).otherwise(e).sum().alias(name);
    let keys = || vec![col("task_type"), col("provider"), col("model")];
    let mut aggs = totals_aggs();
    aggs.extend([
        within_sla().cast(DataType::Int64).sum().alias("within_sla"),
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
        failed_sum(col("input_tokens").cast(DataType::Int64), "failed_input"),
        failed_sum(col("output_tokens").cast(DataType::Int64), "failed_output"),
        failed_sum(cost_micros(), "failed_micros"),
        failed_sum(lat(), "failed_latency_ms"),
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
    let (f_in, f_out, f_cost, f_lat) = (
        ints(&sums, "failed_input")?,
        ints(&sums, "failed_output")?,
        ints(&sums, "failed_micros")?,
        ints(&sums, "failed_latency_ms")?,
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
                failed_input: f_in[i],
                failed_output: f_out[i],
                failed_micros: f_cost[i],
                failed_latency_ms: f_lat[i],
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

/// [`LatencyStats`] of the calls of `groups`: latency, speed and SLA over the successful ones.
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
    let ok = t.successes as f64;
    LatencyStats {
        name: name.into(),
        provider: provider.into(),
        calls: t.calls,
        successful_calls: t.successes,
        failed_calls: t.calls - t.successes,
        failure_share: ratio((t.calls - t.successes) as f64, t.calls as f64),
        cost_usd: t.cost_usd(),
        avg_latency_ms: ratio(ok_lat as f64, ok),
        p50_ms: quantile_from_counts(&lat, 0.50),
        p95_ms: quantile_from_counts(&lat, 0.95),
        p99_ms: quantile_from_counts(&lat, 0.99),
        tokens_per_second: tps,
        cost_per_1k_tokens: cpk,
        efficiency_score: ratio(tps, cpk),
        sla_compliance: ratio(within as f64, ok),
        over_sla_cost_usd: usd(over),
        slow_share: ratio(slow as f64, ok),
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
                "{} of successful calls finish within {} ms, against a target of {}. Worst models: {}. Calls over the SLA cost {}.",
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
                "{} of successful calls take longer than {} ms; they cost {}.",
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
