//! The understanding analyzer's figures against independent folds over the rows (read with
//! arrow, not Polars).

mod analyze_support;
mod common;

use std::collections::BTreeMap;

use analyze_support::{assert_close, fixture};
use chrono::{DateTime, Datelike, NaiveDate, Timelike};
use common::{floats, ints, strings, timestamps_us};
use trafficsim::analyze::frame::CostGroup;
use trafficsim::analyze::understanding::UnderstandingResult;

fn result() -> UnderstandingResult {
    fixture().typed("understanding")
}

/// Calls and cost per value of `column`.
fn fold_by(column: &str) -> BTreeMap<String, (u64, f64)> {
    let b = &fixture().rows;
    let cost = floats(b, "cost_usd");
    let mut out: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    for (i, k) in strings(b, column).into_iter().enumerate() {
        let e = out.entry(k.to_string()).or_default();
        e.0 += 1;
        e.1 += cost[i];
    }
    out
}

fn assert_groups(got: &[CostGroup], want: &BTreeMap<String, (u64, f64)>, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: number of groups");
    let total: f64 = want.values().map(|v| v.1).sum();
    for g in got {
        let (calls, cost) = want[&g.name];
        assert_eq!(g.calls, calls, "{what} {}: calls", g.name);
        assert_close(g.cost_usd, cost, &format!("{what} {}: cost", g.name));
        assert_close(g.cost_share, cost / total, &format!("{what} {}: share", g.name));
    }
    assert!(
        got.windows(2).all(|w| w[0].cost_usd >= w[1].cost_usd),
        "{what}: dearest first"
    );
}

#[test]
fn totals_match_a_fold_over_the_rows() {
    let r = result();
    let b = &fixture().rows;
    let cost: f64 = floats(b, "cost_usd").iter().sum();
    let input: i64 = ints(b, "input_tokens").iter().sum();
    let output: i64 = ints(b, "output_tokens").iter().sum();
    let ok = strings(b, "status").iter().filter(|s| **s == "success").count() as u64;
    assert_eq!(r.totals.calls, b.num_rows() as u64);
    assert_eq!(r.totals.successful_calls, ok);
    assert_close(r.totals.cost_usd, cost, "total cost");
    assert_eq!(r.totals.input_tokens, input);
    assert_eq!(r.totals.output_tokens, output);
    assert_close(
        r.totals.cost_per_1k_tokens,
        cost * 1000.0 / (input + output) as f64,
        "cost per 1K",
    );
    assert_close(r.totals.cost_per_call, cost / b.num_rows() as f64, "cost per call");
    assert_eq!(r.totals.days, 30);
}

#[test]
fn cost_allocation_matches_group_sums() {
    let r = result();
    assert_groups(&r.by_provider, &fold_by("provider"), "provider");
    assert_groups(&r.by_organization, &fold_by("organization_id"), "organization");
    assert_groups(&r.by_product, &fold_by("product_id"), "product");
    assert_groups(&r.by_feature, &fold_by("feature_id"), "feature");
    let models: Vec<CostGroup> = r.by_model.iter().map(|m| m.cost.clone()).collect();
    assert_groups(&models, &fold_by("model"), "model");
    // A model's provider is the one its rows name.
    let b = &fixture().rows;
    let pairs: BTreeMap<&str, &str> = strings(b, "model").into_iter().zip(strings(b, "provider")).collect();
    for m in &r.by_model {
        assert_eq!(pairs[m.cost.name.as_str()], m.provider);
    }
}

#[test]
fn top_spenders_are_the_dearest_customers() {
    let r = result();
    let mut want: Vec<(String, f64)> = fold_by("customer_id").into_iter().map(|(k, v)| (k, v.1)).collect();
    want.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    assert_eq!(r.top_spenders.len(), 10);
    assert_eq!(r.by_customer.len(), want.len());
    for (got, (id, cost)) in r.top_spenders.iter().zip(&want) {
        assert_eq!(&got.customer_id, id);
        assert_close(got.cost_usd, *cost, id);
    }
}

#[test]
fn token_ratios_by_task_use_successful_calls() {
    let r = result();
    let b = &fixture().rows;
    let (task, status, input, output) = (
        strings(b, "task_type"),
        strings(b, "status"),
        ints(b, "input_tokens"),
        ints(b, "output_tokens"),
    );
    let mut want: BTreeMap<&str, (u64, i64, i64)> = BTreeMap::new();
    for i in 0..b.num_rows() {
        if status[i] == "success" {
            let e = want.entry(task[i]).or_default();
            e.0 += 1;
            e.1 += input[i];
            e.2 += output[i];
        }
    }
    assert_eq!(r.by_task.len(), want.len());
    for t in &r.by_task {
        let (n, i, o) = want[t.task_type.as_str()];
        assert_eq!(t.successful_calls, n);
        assert_close(t.avg_input_tokens, i as f64 / n as f64, &t.task_type);
        assert_close(t.output_per_input, o as f64 / i as f64, &t.task_type);
    }
    // The documents' shape: summarization reads much and writes little, code generation the reverse.
    let ratio = |name: &str| r.by_task.iter().find(|t| t.task_type == name).unwrap().output_per_input;
    assert!(ratio("summarization") < 0.5 && ratio("code_generation") > 1.4);
}

/// Daily cost by UTC date, every day of the window.
fn daily_costs() -> Vec<(NaiveDate, f64)> {
    let b = &fixture().rows;
    let cost = floats(b, "cost_usd");
    let mut by_day: BTreeMap<NaiveDate, f64> = BTreeMap::new();
    for (i, us) in timestamps_us(b).into_iter().enumerate() {
        *by_day
            .entry(DateTime::from_timestamp_micros(us).unwrap().date_naive())
            .or_default() += cost[i];
    }
    by_day.into_iter().collect()
}

#[test]
fn daily_cost_and_the_forecast_match_an_independent_fit() {
    let r = result();
    let days = daily_costs();
    assert_eq!(r.daily.len(), days.len());
    for (got, (date, cost)) in r.daily.iter().zip(&days) {
        assert_eq!(got.date, *date);
        assert_close(got.cost_usd, *cost, &date.to_string());
    }
    // Trend plus weekday effects by ordinary least squares from the normal equations (Monday as
    // the baseline: another parametrisation than the analyzer's, with the same fitted values).
    let n = days.len();
    let row = |t: usize, date: NaiveDate| -> Vec<f64> {
        let mut x = vec![1.0, t as f64];
        let wd = date.weekday().num_days_from_monday() as usize;
        x.extend((1..7).map(|d| if wd == d { 1.0 } else { 0.0 }));
        x
    };
    let beta = least_squares(
        &days.iter().enumerate().map(|(t, d)| row(t, d.0)).collect::<Vec<_>>(),
        &days.iter().map(|d| d.1).collect::<Vec<_>>(),
    );
    let predict = |t: usize, date: NaiveDate| row(t, date).iter().zip(&beta).map(|(x, b)| x * b).sum::<f64>();
    let f = &r.forecast;
    assert!(
        (f.slope_per_day - beta[1]).abs() < 1e-6,
        "slope {} vs {}",
        f.slope_per_day,
        beta[1]
    );
    for (t, (date, _)) in days.iter().enumerate() {
        assert!((f.fitted[t] - predict(t, *date)).abs() < 1e-6, "fitted {date}");
    }
    assert_close(
        f.naive_30_day_cost,
        days.iter().map(|d| d.1).sum::<f64>() / n as f64 * 30.0,
        "naive 30-day",
    );
    // Each future day: the trend held from n days past the window, clamped at zero, then summed.
    let last = days.last().unwrap().0;
    for h in &f.horizons {
        let want: f64 = (0..h.days as usize)
            .map(|k| {
                let date = last + chrono::Days::new(k as u64 + 1);
                predict((n + k).min(2 * n - 1), date).max(0.0)
            })
            .sum();
        assert!(
            (h.expected - want).abs() < 1e-6,
            "{}-day: {} vs {want}",
            h.days,
            h.expected
        );
        assert!(h.low <= h.expected && h.expected <= h.high && h.low < h.high);
        assert!(h.expected > 0.0, "{}-day forecast is not $0", h.days);
    }
    let widths: Vec<f64> = f.horizons.iter().map(|h| h.high - h.low).collect();
    assert!(widths.windows(2).all(|w| w[0] < w[1]), "intervals widen: {widths:?}");
    assert!(f.next_days.iter().all(|d| d.expected >= 0.0 && d.low >= 0.0));
    assert_eq!(f.horizons.iter().map(|h| h.days).collect::<Vec<_>>(), vec![30, 90, 365]);
    assert_eq!(f.next_days.len(), 30);
    assert_eq!(f.next_days[0].date, days.last().unwrap().0.succ_opt().unwrap());
}

#[test]
fn hour_by_weekday_cells_sum_the_calls() {
    let r = result();
    let b = &fixture().rows;
    let cost = floats(b, "cost_usd");
    let mut want = vec![(0u64, 0.0f64); 7 * 24];
    for (i, us) in timestamps_us(b).into_iter().enumerate() {
        let t = DateTime::from_timestamp_micros(us).unwrap();
        let cell = (t.weekday().number_from_monday() as usize - 1) * 24 + t.hour() as usize;
        want[cell].0 += 1;
        want[cell].1 += cost[i];
    }
    assert_eq!(r.hour_weekday.len(), 168);
    for c in &r.hour_weekday {
        let (n, cost) = want[(c.weekday as usize - 1) * 24 + c.hour as usize];
        assert_eq!(c.calls, n, "weekday {} hour {}", c.weekday, c.hour);
        assert_close(c.cost_usd, cost, "cell cost");
    }
}

#[test]
fn efficiency_names_the_cheapest_and_dearest_model_per_token() {
    let r = result();
    let cpk = |m: &trafficsim::analyze::understanding::ModelCost| m.cost.cost_per_1k_tokens;
    let best = r.by_model.iter().min_by(|a, b| cpk(a).total_cmp(&cpk(b))).unwrap();
    let worst = r.by_model.iter().max_by(|a, b| cpk(a).total_cmp(&cpk(b))).unwrap();
    assert_eq!(r.efficiency.most_efficient_model, best.cost.name);
    assert_eq!(r.efficiency.least_efficient_model, worst.cost.name);
    // The catalogue spans cheap and premium models: the switching rule fires, with a dollar amount.
    assert!(r.efficiency.ratio > 5.0);
    let switch = r
        .recommendations
        .iter()
        .find(|x| x.title == "Consider switching models")
        .expect("switch recommendation");
    assert!(switch.message.contains(&worst.cost.name));
    assert!(switch.amount_usd.unwrap() > 0.0);
}

/// Solves the normal equations XᵀX β = Xᵀy by Gaussian elimination with partial pivoting.
fn least_squares(x: &[Vec<f64>], y: &[f64]) -> Vec<f64> {
    let k = x[0].len();
    let mut a = vec![vec![0.0; k + 1]; k];
    for (row, &yi) in x.iter().zip(y) {
        for i in 0..k {
            for j in 0..k {
                a[i][j] += row[i] * row[j];
            }
            a[i][k] += row[i] * yi;
        }
    }
    for c in 0..k {
        let p = (c..k).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs())).unwrap();
        a.swap(c, p);
        for r in 0..k {
            if r != c {
                let pivot = a[c].clone();
                let m = a[r][c] / pivot[c];
                for (x, p) in a[r].iter_mut().zip(&pivot).skip(c) {
                    *x -= m * p;
                }
            }
        }
    }
    (0..k).map(|i| a[i][k] / a[i][i]).collect()
}
