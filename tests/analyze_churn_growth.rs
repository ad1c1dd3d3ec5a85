//! The churn and growth analyzer against independent folds over the rows (read with arrow, the
//! labels read here from `labels.parquet`): the cohort matrix, weekly calls, each customer's
//! log-linear trend and its Benjamini–Hochberg class, the churn detector's silences, and the
//! precision and recall against the `churn`, `decline` and `growth` labels — and a derived
//! dataset with a customer that stops and one that arrives mid-window.

mod analyze_derived;
mod analyze_support;
mod common;

use std::collections::{BTreeMap, BTreeSet};

use analyze_derived::{derived, setting};
use analyze_support::fixture;
use arrow::array::AsArray;
use arrow::datatypes::{DataType, Int64Type, TimeUnit};
use chrono::{DateTime, Datelike, NaiveDate};
use common::{read_parquet_file, strings, timestamps_us};
use statrs::distribution::{ContinuousCDF, StudentsT};
use trafficsim::analyze::churn_growth::{ChurnGrowthResult, CustomerGrowth};

/// (scenario, kind, subject, start date) of every label.
fn labels(data: &std::path::Path) -> Vec<(String, String, String, NaiveDate)> {
    let b = read_parquet_file(&data.join("labels.parquet"));
    let start = arrow::compute::cast(
        b.column_by_name("start").unwrap(),
        &DataType::Timestamp(TimeUnit::Microsecond, None),
    )
    .unwrap();
    let start = arrow::compute::cast(&start, &DataType::Int64).unwrap();
    let start = start.as_primitive::<Int64Type>();
    let (sc, kind, subject) = (strings(&b, "scenario"), strings(&b, "kind"), strings(&b, "subject"));
    (0..b.num_rows())
        .map(|i| {
            (
                sc[i].to_string(),
                kind[i].to_string(),
                subject[i].to_string(),
                DateTime::from_timestamp_micros(start.value(i)).unwrap().date_naive(),
            )
        })
        .collect()
}

/// One customer's calls per UTC day and its scenario.
struct Folded {
    days: BTreeMap<NaiveDate, u64>,
    scenario: String,
}

fn fold(b: &arrow::array::RecordBatch) -> BTreeMap<String, Folded> {
    let (ids, sc) = (strings(b, "customer_id"), strings(b, "scenario"));
    let mut out: BTreeMap<String, Folded> = BTreeMap::new();
    for (i, us) in timestamps_us(b).into_iter().enumerate() {
        let d = DateTime::from_timestamp_micros(us).unwrap().date_naive();
        let e = out.entry(ids[i].to_string()).or_insert_with(|| Folded {
            days: BTreeMap::new(),
            scenario: sc[i].to_string(),
        });
        *e.days.entry(d).or_default() += 1;
    }
    out
}

/// OLS of y on the columns of x (with the intercept among them), by Gaussian elimination:
/// (coefficients, residual variance, the diagonal of (XᵀX)⁻¹).
fn ols(x: &[Vec<f64>], y: &[f64]) -> (Vec<f64>, f64, Vec<f64>) {
    let k = x[0].len();
    // [XᵀX | I | Xᵀy]
    let mut m = vec![vec![0.0; 2 * k + 1]; k];
    for (row, &yi) in x.iter().zip(y) {
        for a in 0..k {
            for b in 0..k {
                m[a][b] += row[a] * row[b];
            }
            m[a][2 * k] += row[a] * yi;
        }
    }
    for (a, r) in m.iter_mut().enumerate() {
        r[k + a] = 1.0;
    }
    for c in 0..k {
        let p = (c..k).max_by(|&i, &j| m[i][c].abs().total_cmp(&m[j][c].abs())).unwrap();
        m.swap(c, p);
        let pivot = m[c].clone();
        let d = pivot[c];
        for (a, r) in m.iter_mut().enumerate() {
            if a == c {
                r.iter_mut().for_each(|v| *v /= d);
            } else {
                let f = r[c] / d;
                r.iter_mut().zip(&pivot).for_each(|(v, pv)| *v -= f * pv);
            }
        }
    }
    let beta: Vec<f64> = (0..k).map(|a| m[a][2 * k]).collect();
    let rss: f64 = x
        .iter()
        .zip(y)
        .map(|(row, yi)| (yi - row.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>()).powi(2))
        .sum();
    (beta, rss / (y.len() - k) as f64, (0..k).map(|a| m[a][k + a]).collect())
}

/// (slope, two-sided p) of ln(1 + calls) on the day, with a day-off column when both kinds occur.
fn trend(calls: &[f64], off: &[bool]) -> (f64, f64) {
    let both = off.iter().any(|&o| o) && off.iter().any(|&o| !o);
    let x: Vec<Vec<f64>> = (0..calls.len())
        .map(|i| {
            let mut r = vec![1.0, i as f64];
            if both {
                r.push(if off[i] { 1.0 } else { 0.0 });
            }
            r
        })
        .collect();
    let y: Vec<f64> = calls.iter().map(|c| (1.0 + c).ln()).collect();
    let (beta, s2, diag) = ols(&x, &y);
    let se = (s2 * diag[1]).sqrt();
    let df = (calls.len() - x[0].len()) as f64;
    let p = 2.0 * StudentsT::new(0.0, 1.0, df).unwrap().sf((beta[1] / se).abs());
    (beta[1], p.min(1.0))
}

/// Benjamini–Hochberg by its definition: reject the r smallest, r the largest i with p₍ᵢ₎ ≤ iq/m.
fn bh(p: &[f64], q: f64) -> Vec<bool> {
    let mut sorted: Vec<f64> = p.to_vec();
    sorted.sort_by(f64::total_cmp);
    let m = p.len() as f64;
    let cut = (1..=sorted.len())
        .rev()
        .find(|&i| sorted[i - 1] <= i as f64 * q / m)
        .map_or(-1.0, |i| sorted[i - 1]);
    p.iter().map(|&x| x <= cut).collect()
}

fn is_off(d: NaiveDate, holidays: Option<&BTreeSet<NaiveDate>>) -> bool {
    d.weekday().number_from_monday() >= 6 || holidays.is_some_and(|h| h.contains(&d))
}

#[test]
fn cohorts_weeks_trends_churn_and_scores_match_a_fold_over_the_rows() {
    let f = fixture();
    let r: ChurnGrowthResult = f.typed("churn_growth");
    let folded = fold(&f.rows);
    let labels = labels(&f.data);
    let first = folded.values().flat_map(|c| c.days.keys()).min().copied().unwrap();
    let last = folded.values().flat_map(|c| c.days.keys()).max().copied().unwrap();
    assert_eq!(r.first_day, first);
    let n_days = (last - first).num_days() + 1;
    assert_eq!(i64::from(r.window_days), n_days);
    let weeks = n_days / 7;
    assert_eq!(i64::from(r.weeks), weeks);
    let week = |d: NaiveDate| (d - first).num_days() / 7;
    assert_eq!(r.customers as usize, folded.len());

    // Cohorts: the week of the first call; active in each complete week since.
    let mut cohorts: BTreeMap<i64, (u64, Vec<u64>)> = BTreeMap::new();
    for c in folded.values() {
        let w0 = week(*c.days.keys().next().unwrap());
        let e = cohorts.entry(w0).or_insert_with(|| (0, vec![0; (weeks - w0) as usize]));
        e.0 += 1;
        let active: BTreeSet<i64> = c.days.keys().map(|&d| week(d)).collect();
        for (k, n) in e.1.iter_mut().enumerate() {
            *n += u64::from(active.contains(&(w0 + k as i64)));
        }
    }
    let got: BTreeMap<i64, (u64, Vec<u64>)> = r
        .cohorts
        .iter()
        .map(|c| (i64::from(c.week), (c.customers, c.active.clone())))
        .collect();
    assert_eq!(got, cohorts);
    for c in &r.cohorts {
        assert_eq!(c.start, first + chrono::Days::new(u64::from(c.week) * 7));
        for (a, p) in c.active.iter().zip(&c.retention) {
            assert!((p - *a as f64 / c.customers as f64).abs() < 1e-12);
        }
    }

    // Weekly calls, overall and per customer.
    let mut overall = vec![0u64; weeks as usize];
    for c in folded.values() {
        for (&d, &n) in &c.days {
            if week(d) < weeks {
                overall[week(d) as usize] += n;
            }
        }
    }
    assert_eq!(r.overall.weekly_calls, overall);

    // Trends: holidays per scenario from the labels; BH over every customer with 14+ days.
    let mut holidays: BTreeMap<&str, BTreeSet<NaiveDate>> = BTreeMap::new();
    for (sc, kind, _, start) in &labels {
        if kind == "holiday" {
            holidays.entry(sc.as_str()).or_default().insert(*start);
        }
    }
    let min_days = setting("churn_growth", "min_days") as i64;
    let q = setting("churn_growth", "fdr");
    let rows: BTreeMap<&str, &CustomerGrowth> = r.by_customer.iter().map(|c| (c.customer_id.as_str(), c)).collect();
    let mut tested: Vec<(&str, f64, f64)> = Vec::new();
    for (id, c) in &folded {
        let start = *c.days.keys().next().unwrap();
        let span = (last - start).num_days() + 1;
        let row = rows[id.as_str()];
        let mut weekly = vec![0u64; weeks as usize];
        for (&d, &n) in &c.days {
            if week(d) < weeks {
                weekly[week(d) as usize] += n;
            }
        }
        assert_eq!(row.weekly_calls, weekly, "{id}");
        if span < min_days {
            assert_eq!(row.class, "untested", "{id}");
            continue;
        }
        let dates: Vec<NaiveDate> = (0..span).map(|i| start + chrono::Days::new(i as u64)).collect();
        let calls: Vec<f64> = dates.iter().map(|d| *c.days.get(d).unwrap_or(&0) as f64).collect();
        let off: Vec<bool> = dates
            .iter()
            .map(|&d| is_off(d, holidays.get(c.scenario.as_str())))
            .collect();
        let (slope, p) = trend(&calls, &off);
        let t = row.trend.unwrap();
        assert!((t.slope - slope).abs() < 1e-9, "{id}: slope {} vs {slope}", t.slope);
        assert!((t.p_value - p).abs() < 1e-9 * (1.0 + p), "{id}: p {} vs {p}", t.p_value);
        tested.push((id.as_str(), slope, p));
    }
    let rejected = bh(&tested.iter().map(|t| t.2).collect::<Vec<_>>(), q);
    for ((id, slope, _), rej) in tested.iter().zip(rejected) {
        let want = match (rej, *slope > 0.0) {
            (false, _) => "stable",
            (true, true) => "growing",
            (true, false) => "declining",
        };
        assert_eq!(rows[id].class, want, "{id}");
    }
    assert!(r.classes.growing > 0 && r.classes.declining > 0, "{:?}", r.classes);

    // Churn: the silence after the last call against the rates of the lookback before it.
    let lookback = setting("decisions", "churn_lookback_days") as usize;
    let p_churn = setting("decisions", "churn_p_value");
    for (id, c) in &folded {
        let start = *c.days.keys().next().unwrap();
        let last_call = *c.days.keys().last().unwrap();
        let row = rows[id.as_str()];
        let silent = (last - last_call).num_days();
        assert_eq!(i64::from(row.silent_days), silent, "{id}");
        if silent == 0 {
            assert!(row.risk != "churned");
            continue;
        }
        let active = (last_call - start).num_days() as usize;
        let day = |i: usize| start + chrono::Days::new(i as u64);
        let off = |i: usize| is_off(day(i), holidays.get(c.scenario.as_str()));
        let lo = (active + 1).saturating_sub(lookback);
        let rate = |want_off: bool| {
            let d: Vec<usize> = (lo..=active).filter(|&i| off(i) == want_off).collect();
            (!d.is_empty()).then(|| {
                d.iter()
                    .map(|&i| *c.days.get(&day(i)).unwrap_or(&0) as f64)
                    .sum::<f64>()
                    / d.len() as f64
            })
        };
        let (work, rest) = match (rate(false), rate(true)) {
            (Some(w), Some(o)) => (w, o),
            (Some(w), None) => (w, w),
            (None, Some(o)) => (o, o),
            (None, None) => (0.0, 0.0),
        };
        let expected: f64 = (active + 1..active + 1 + silent as usize)
            .map(|i| if off(i) { rest } else { work })
            .sum();
        let p = (-expected).exp();
        assert!((row.silence_p_value.unwrap() - p).abs() < 1e-12, "{id}");
        assert_eq!(row.risk == "churned", p < p_churn, "{id}");
    }

    // Scores: recomputed from the labels and the classes checked above.
    let truth = |kind: &str| -> BTreeSet<&str> {
        let scenarios: BTreeSet<&str> = labels.iter().filter(|l| l.1 == kind).map(|l| l.0.as_str()).collect();
        folded
            .iter()
            .filter(|(_, c)| scenarios.contains(c.scenario.as_str()))
            .map(|(id, _)| id.as_str())
            .collect()
    };
    let churn_truth: BTreeSet<&str> = labels
        .iter()
        .filter(|l| l.1 == "churn" && folded.contains_key(&l.2))
        .map(|l| l.2.as_str())
        .collect();
    let cases = [
        ("churn", churn_truth, "churned"),
        ("decline", truth("decline"), "declining"),
        ("growth", truth("growth"), "growing"),
    ];
    assert_eq!(r.scores.len(), 3);
    for ((kind, truth, flag), s) in cases.iter().zip(&r.scores) {
        assert_eq!(&s.kind, kind);
        let flagged: BTreeSet<&str> = r
            .by_customer
            .iter()
            .filter(|c| {
                if *kind == "churn" {
                    c.risk == *flag
                } else {
                    c.class == *flag
                }
            })
            .map(|c| c.customer_id.as_str())
            .collect();
        let tp = flagged.intersection(truth).count() as u64;
        assert_eq!(
            (s.labelled, s.flagged, s.true_positives),
            (truth.len() as u64, flagged.len() as u64, tp),
            "{kind}"
        );
        assert!((s.recall - tp as f64 / truth.len().max(1) as f64).abs() < 1e-12);
    }
    let revenue: f64 = r
        .by_customer
        .iter()
        .filter(|c| !c.risk.is_empty())
        .map(|c| c.tier_price_usd)
        .sum();
    assert!((r.monthly_revenue_at_risk - revenue).abs() < 1e-9);
    let page = f.read("churn_growth.html");
    assert!(page.contains("Retention by first-seen week"));
    common::assert_page_stands_alone("churn_growth", &page);
}

#[test]
fn a_customer_that_stops_churns_and_one_that_arrives_late_is_a_later_cohort() {
    let d = derived();
    let r: ChurnGrowthResult = d.typed("churn_growth");
    let row = |id: &str| r.by_customer.iter().find(|c| c.customer_id == id).unwrap();
    let churned = row(&d.churned_customer);
    assert_eq!(churned.risk, "churned", "{churned:?}");
    assert_eq!(churned.class, "declining", "{churned:?}");
    let late = row(&d.late_customer);
    let late_week = (late.first_day - r.first_day).num_days() / 7;
    assert_eq!(late_week, analyze_derived::START_DAY / 7);
    let cohort = r.cohorts.iter().find(|c| i64::from(c.week) == late_week).unwrap();
    assert!(cohort.customers >= 1 && cohort.active[0] == cohort.customers);
    // The first cohort loses the churned customer after its tenth day.
    let c0 = &r.cohorts[0];
    assert!(c0.active.last().unwrap() < &c0.customers, "{c0:?}");
    // No "action" without a finding: every recommendation names a non-zero count.
    assert!(r.recommendations.iter().all(|x| !x.title.starts_with("0 ")));
}
