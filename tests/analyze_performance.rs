//! The performance analyzer's percentiles, speeds, SLA compliance and buckets against
//! independent computations over the rows (read from the Parquet files with arrow): latency
//! figures over successful calls only, failed calls apart.

mod analyze_support;
mod common;

use std::collections::BTreeMap;

use analyze_support::{assert_close, fixture};
use common::{ints, strings};
use trafficsim::analyze::performance::PerformanceResult;

const SLA_MS: i64 = 2000;

fn result() -> PerformanceResult {
    fixture().typed("performance")
}

/// Linear-interpolation quantile of sorted values (numpy's default).
fn quantile(sorted: &[i64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] as f64 + (h - lo as f64) * (sorted[hi] - sorted[lo]) as f64
}

struct Rows {
    latency: Vec<i64>,
    output: Vec<i64>,
    ok: Vec<bool>,
}

fn rows_by(column: &str) -> BTreeMap<String, Rows> {
    let b = &fixture().rows;
    let (keys, latency, output, status) = (
        strings(b, column),
        ints(b, "latency_ms"),
        ints(b, "output_tokens"),
        strings(b, "status"),
    );
    let mut out: BTreeMap<String, Rows> = BTreeMap::new();
    for i in 0..b.num_rows() {
        let e = out.entry(keys[i].to_string()).or_insert(Rows {
            latency: vec![],
            output: vec![],
            ok: vec![],
        });
        e.latency.push(latency[i]);
        e.output.push(output[i]);
        e.ok.push(status[i] == "success");
    }
    out
}

#[test]
fn percentiles_sla_and_speed_per_model_match_the_rows() {
    let r = result();
    let want = rows_by("model");
    assert_eq!(r.by_model.len(), want.len());
    for m in &r.by_model {
        let rows = &want[&m.name];
        let mut sorted: Vec<i64> = (0..rows.ok.len())
            .filter(|&i| rows.ok[i])
            .map(|i| rows.latency[i])
            .collect();
        sorted.sort();
        assert_eq!(m.calls, rows.ok.len() as u64);
        assert_eq!(m.successful_calls, sorted.len() as u64);
        assert_eq!(m.failed_calls, m.calls - m.successful_calls);
        assert_close(m.p50_ms, quantile(&sorted, 0.50), &format!("{} p50", m.name));
        assert_close(m.p95_ms, quantile(&sorted, 0.95), &format!("{} p95", m.name));
        assert_close(m.p99_ms, quantile(&sorted, 0.99), &format!("{} p99", m.name));
        let within = sorted.iter().filter(|l| **l <= SLA_MS).count() as f64;
        assert_close(
            m.sla_compliance,
            within / sorted.len() as f64,
            &format!("{} SLA", m.name),
        );
        let (out, ms): (i64, i64) = (0..rows.ok.len())
            .filter(|&i| rows.ok[i])
            .fold((0, 0), |(o, l), i| (o + rows.output[i], l + rows.latency[i]));
        assert_close(
            m.tokens_per_second,
            out as f64 / (ms as f64 / 1000.0),
            &format!("{} tokens/s", m.name),
        );
        assert_close(
            m.efficiency_score,
            m.tokens_per_second / m.cost_per_1k_tokens,
            "efficiency",
        );
    }
}

#[test]
fn overall_and_provider_percentiles_match_the_rows() {
    let r = result();
    let b = &fixture().rows;
    let (lat, status) = (ints(b, "latency_ms"), strings(b, "status"));
    let mut all: Vec<i64> = (0..lat.len())
        .filter(|&i| status[i] == "success")
        .map(|i| lat[i])
        .collect();
    all.sort();
    let within = all.iter().filter(|l| **l <= SLA_MS).count() as f64;
    assert_close(
        r.overall.sla_compliance,
        within / all.len() as f64,
        "overall SLA over successful calls",
    );
    // Counting failed calls as answered would lift compliance: rate-limited calls return fast.
    let within_all = lat.iter().filter(|l| **l <= SLA_MS).count() as f64 / lat.len() as f64;
    assert!(r.overall.sla_compliance < within_all, "failures no longer meet the SLA");
    assert_close(r.overall.p50_ms, quantile(&all, 0.5), "overall p50");
    assert_close(r.overall.p99_ms, quantile(&all, 0.99), "overall p99");
    let want = rows_by("provider");
    assert_eq!(r.by_provider.len(), want.len());
    for p in &r.by_provider {
        let rows = &want[&p.name];
        let mut sorted: Vec<i64> = (0..rows.ok.len())
            .filter(|&i| rows.ok[i])
            .map(|i| rows.latency[i])
            .collect();
        sorted.sort();
        assert_close(p.p95_ms, quantile(&sorted, 0.95), &format!("{} p95", p.name));
    }
    // The documents' latency formula puts most calls over a 2 s SLA (README: "Latency level").
    assert!(r.overall.sla_compliance < 0.6, "{}", r.overall.sla_compliance);
    assert!(
        r.recommendations
            .iter()
            .any(|x| x.title == "SLA compliance below target"),
        "the SLA rule fires"
    );
}

#[test]
fn latency_buckets_partition_the_successful_calls() {
    let r = result();
    let b = &fixture().rows;
    let (all, status) = (ints(b, "latency_ms"), strings(b, "status"));
    let lat: Vec<i64> = (0..all.len())
        .filter(|&i| status[i] == "success")
        .map(|i| all[i])
        .collect();
    assert_eq!(r.buckets.len(), 5);
    assert_eq!(r.buckets.iter().map(|b| b.calls).sum::<u64>(), lat.len() as u64);
    for b in &r.buckets {
        let n = lat
            .iter()
            .filter(|&&l| l > b.above_ms as i64 && b.up_to_ms.is_none_or(|hi| l <= hi as i64))
            .count() as u64;
        assert_eq!(b.calls, n, "{}", b.label);
    }
}

#[test]
fn best_model_per_task_is_the_fastest_eligible_model() {
    let r = result();
    let b = &fixture().rows;
    let (task, model, status, lat) = (
        strings(b, "task_type"),
        strings(b, "model"),
        strings(b, "status"),
        ints(b, "latency_ms"),
    );
    let mut groups: BTreeMap<(&str, &str), (Vec<i64>, u64)> = BTreeMap::new();
    for i in 0..b.num_rows() {
        let e = groups.entry((task[i], model[i])).or_default();
        if status[i] == "success" {
            e.0.push(lat[i]);
            e.1 += 1;
        }
    }
    let eligible: std::collections::BTreeSet<&str> = groups
        .iter()
        .filter(|(_, (_, ok))| *ok >= 20)
        .map(|((t, _), _)| *t)
        .collect();
    let tasks: Vec<&str> = r.best_by_task.iter().map(|t| t.task_type.as_str()).collect();
    assert_eq!(
        tasks,
        eligible.into_iter().collect::<Vec<_>>(),
        "every task with an eligible model"
    );
    for t in &r.best_by_task {
        let fastest = groups
            .iter()
            .filter(|((task, _), (_, ok))| *task == t.task_type && *ok >= 20)
            .map(|((_, m), (l, _))| {
                let mut s = l.clone();
                s.sort();
                (quantile(&s, 0.5), *m)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap();
        assert_eq!(t.fastest.model, fastest.1, "{}", t.task_type);
        assert_close(t.fastest.value, fastest.0, "fastest p50");
    }
}

#[test]
fn failed_calls_are_counted_apart_with_what_they_wasted() {
    let r = result();
    let f = &r.failures;
    let b = &fixture().rows;
    let catalogue = trafficsim::config::CallsConfig::load(&common::default_config())
        .unwrap()
        .catalogue;
    let (status, model, input, output, cost, lat) = (
        strings(b, "status"),
        strings(b, "model"),
        ints(b, "input_tokens"),
        ints(b, "output_tokens"),
        common::floats(b, "cost_usd"),
        ints(b, "latency_ms"),
    );
    let (mut n, mut tokens_in, mut tokens_out, mut billed, mut at_list, mut waited) =
        (0u64, 0i64, 0i64, 0.0, 0.0, 0i64);
    let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
    for i in 0..b.num_rows() {
        if status[i] == "success" {
            continue;
        }
        n += 1;
        tokens_in += input[i];
        tokens_out += output[i];
        billed += cost[i];
        waited += lat[i];
        let m = catalogue.model_index(model[i]).unwrap();
        at_list += input[i] as f64 * catalogue.models[m].input_per_1k / 1000.0;
        *by_status.entry(status[i]).or_default() += 1;
    }
    assert!(n > 0, "the fixture has failed calls");
    assert_eq!(f.calls, n);
    assert_close(f.share, n as f64 / b.num_rows() as f64, "failure share");
    assert_eq!(f.input_tokens, tokens_in);
    assert_eq!(f.output_tokens, tokens_out);
    assert_close(f.billed_cost_usd, billed, "billed on failures");
    assert_eq!(f.billed_cost_usd, 0.0, "the simulator bills no failed call");
    assert_close(f.prompt_cost_at_list_usd, at_list, "prompts at list price");
    assert!(f.prompt_cost_at_list_usd > 0.0);
    assert_close(f.wait_hours, waited as f64 / 3_600_000.0, "hours waited");
    let got: BTreeMap<&str, u64> = f.by_status.iter().map(|s| (s.status.as_str(), s.calls)).collect();
    assert_eq!(got, by_status);
    assert_eq!(r.overall.failed_calls, n);
}
