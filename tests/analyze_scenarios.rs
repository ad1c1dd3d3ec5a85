//! The scenarios page: signatures against folds over the rows, and the burst and churn detectors'
//! scores recomputed from labels.parquet and the rows, independently of the page.

mod analyze_support;
mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use analyze_support::{assert_close, fixture};
use chrono::{DateTime, NaiveDate};
use common::{floats, read_parquet_file, strings, timestamps_us};
use trafficsim::analyze::decisions::DecisionsResult;
use trafficsim::analyze::scenarios::ScenariosResult;

fn day(us: i64) -> NaiveDate {
    DateTime::from_timestamp_micros(us).unwrap().date_naive()
}

fn result() -> ScenariosResult {
    fixture().typed("scenarios")
}

#[test]
fn every_scenario_has_its_rows_customers_and_cost() {
    let r = result();
    let b = &fixture().rows;
    let (sc, ids, cost) = (strings(b, "scenario"), strings(b, "customer_id"), floats(b, "cost_usd"));
    let mut want: BTreeMap<&str, (u64, BTreeSet<&str>, f64)> = BTreeMap::new();
    for i in 0..b.num_rows() {
        let e = want.entry(sc[i]).or_default();
        e.0 += 1;
        e.1.insert(ids[i]);
        e.2 += cost[i];
    }
    assert_eq!(r.scenarios.len(), 12);
    for s in &r.scenarios {
        let (calls, customers, c) = &want[s.scenario.as_str()];
        assert_eq!(s.calls, *calls, "{}", s.scenario);
        assert_eq!(s.customers, customers.len() as u64, "{}", s.scenario);
        assert!((s.cost_usd - c).abs() < 1e-6, "{}: {} vs {c}", s.scenario, s.cost_usd);
    }
}

#[test]
fn signatures_follow_the_rows() {
    let r = result();
    let b = &fixture().rows;
    let (sc, models, cost, ts) = (
        strings(b, "scenario"),
        strings(b, "model"),
        floats(b, "cost_usd"),
        timestamps_us(b),
    );
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let at = |x: f64| epoch + chrono::Days::new(x as u64);
    // Migration: the target's share of calls to the two models, per UTC day.
    let m = r.scenarios.iter().find(|s| s.scenario == "model_migration").unwrap();
    assert_eq!(m.metric, "claude-sonnet-4 share of gpt-4 + claude-sonnet-4 calls");
    let mut share: BTreeMap<NaiveDate, (f64, f64)> = BTreeMap::new();
    for i in 0..b.num_rows() {
        if sc[i] == "model_migration" && (models[i] == "gpt-4" || models[i] == "claude-sonnet-4") {
            let e = share.entry(day(ts[i])).or_default();
            e.1 += 1.0;
            if models[i] == "claude-sonnet-4" {
                e.0 += 1.0;
            }
        }
    }
    for &(x, y) in &m.points {
        if let Some((t, all)) = share.get(&at(x)) {
            assert_close(y, 100.0 * t / all, &format!("migration share on {}", at(x)));
        }
    }
    assert_eq!(m.events.len(), 1, "the migration window is shaded");
    // Cost optimization: cost per call per UTC day.
    let o = r.scenarios.iter().find(|s| s.scenario == "cost_optimization").unwrap();
    let mut per: BTreeMap<NaiveDate, (f64, f64)> = BTreeMap::new();
    for i in 0..b.num_rows() {
        if sc[i] == "cost_optimization" {
            let e = per.entry(day(ts[i])).or_default();
            e.0 += cost[i];
            e.1 += 1.0;
        }
    }
    for &(x, y) in &o.points {
        let (c, n) = per[&at(x)];
        assert!((y - c / n).abs() < 1e-6, "cost per call on {}: {y} vs {}", at(x), c / n);
    }
    // Time zones: calls by UTC hour of day, 24 points summing to the scenario's calls.
    let z = r.scenarios.iter().find(|s| s.scenario == "timezone_patterns").unwrap();
    assert_eq!(z.x, "utc_hour");
    assert_eq!(z.points.len(), 24);
    assert_eq!(z.points.iter().map(|p| p.1).sum::<f64>() as u64, z.calls);
}

const HOUR_US: i64 = 3_600_000_000;

/// The labels of `kind` from labels.parquet: (subject, start µs, end µs, magnitude).
fn labels_of(kind: &str) -> Vec<(String, i64, i64, f64)> {
    let labels = read_parquet_file(&fixture().data.join("labels.parquet"));
    let (k, subject) = (strings(&labels, "kind"), strings(&labels, "subject"));
    let time = |name: &str| {
        labels
            .column_by_name(name)
            .unwrap()
            .as_any()
            .downcast_ref::<arrow::array::TimestampMicrosecondArray>()
            .unwrap()
            .values()
            .to_vec()
    };
    let (start, end, magnitude) = (time("start"), time("end"), floats(&labels, "magnitude"));
    (0..labels.num_rows())
        .filter(|&i| k[i] == kind)
        .map(|i| (subject[i].to_string(), start[i], end[i], magnitude[i]))
        .collect()
}

/// Each customer's scenario, from the rows.
fn scenario_of() -> HashMap<String, String> {
    let b = &fixture().rows;
    let (ids, sc) = (strings(b, "customer_id"), strings(b, "scenario"));
    (0..b.num_rows())
        .map(|i| (ids[i].to_string(), sc[i].to_string()))
        .collect()
}

#[test]
fn bursts_are_scored_against_the_labels_by_hour() {
    let f = fixture();
    let d = result().detection.expect("the fixture has labels");
    let b = &f.rows;
    let ts = timestamps_us(b);
    // The window in hours: whole UTC days from the first row's day to the last row's.
    let (lo, hi) = (*ts.iter().min().unwrap(), *ts.iter().max().unwrap());
    let first_hour = lo.div_euclid(86_400 * 1_000_000) * 24;
    let end_hour = (hi.div_euclid(86_400 * 1_000_000) + 1) * 24;
    let scenarios = scenario_of();
    // Truth: every labelled burst of a customer in the data, as whole UTC hours inside the window.
    let truth: Vec<(String, i64, i64)> = labels_of("burst")
        .into_iter()
        .filter(|l| scenarios.contains_key(&l.0))
        .map(|(c, s, e, _)| {
            (
                c,
                s.div_euclid(HOUR_US).max(first_hour),
                ((e - 1).div_euclid(HOUR_US) + 1).min(end_hour),
            )
        })
        .filter(|t| t.1 < t.2)
        .collect();
    assert!(!truth.is_empty(), "the fixture's burst cohort bursts");
    assert_eq!(d.labelled, truth.len() as u64);
    // Detections: the decisions page's own bursts, checked against the rows.
    let decisions = f.typed::<DecisionsResult>("decisions");
    let ids = strings(b, "customer_id");
    let mut per_hour: HashMap<(&str, i64), u64> = HashMap::new();
    for i in 0..b.num_rows() {
        *per_hour.entry((ids[i], ts[i].div_euclid(HOUR_US))).or_default() += 1;
    }
    for x in &decisions.bursts.bursts {
        let calls: u64 = (x.start_hour..x.end_hour)
            .map(|h| per_hour.get(&(x.customer_id.as_str(), h)).copied().unwrap_or(0))
            .sum();
        assert_eq!(x.calls, calls, "{x:?}");
        assert!(x.end_hour > x.start_hour, "{x:?}");
        assert!(
            x.calls as f64 > x.expected_calls,
            "a burst is above its baseline: {x:?}"
        );
    }
    let overlaps = |c: &str, a: i64, e: i64| {
        decisions
            .bursts
            .bursts
            .iter()
            .any(|x| x.customer_id == c && x.start_hour < e && a < x.end_hour)
    };
    let detected = truth.iter().filter(|t| overlaps(&t.0, t.1, t.2)).count() as u64;
    assert_eq!(d.detected, detected);
    assert_close(d.recall, detected as f64 / truth.len() as f64, "recall");
    // Precision over the customers of the scenario that labels bursts.
    let flagged: Vec<_> = decisions
        .bursts
        .bursts
        .iter()
        .filter(|x| scenarios.get(&x.customer_id).map(String::as_str) == Some("burst_traffic"))
        .collect();
    let tp = flagged
        .iter()
        .filter(|x| {
            truth
                .iter()
                .any(|t| t.0 == x.customer_id && x.start_hour < t.2 && t.1 < x.end_hour)
        })
        .count() as u64;
    assert_eq!(d.flagged, flagged.len() as u64);
    assert_eq!(d.true_positives, tp);
    assert!(tp > 0, "some labelled burst is found");
    assert_close(d.precision, tp as f64 / flagged.len() as f64, "precision");
    // Missed bursts are exactly the labels not found, with the calls the rows hold in their hours.
    assert_eq!(d.missed.len() as u64, (d.labelled - d.detected).min(50));
    for m in &d.missed {
        let t = truth
            .iter()
            .find(|t| {
                t.0 == m.customer_id
                    && DateTime::from_timestamp(t.1 * 3600, 0)
                        .unwrap()
                        .format("%Y-%m-%dT%H:00")
                        .to_string()
                        == m.start
            })
            .expect("a missed burst is a label");
        let calls: u64 = (t.1..t.2)
            .map(|h| per_hour.get(&(t.0.as_str(), h)).copied().unwrap_or(0))
            .sum();
        assert_eq!(m.calls, calls, "{m:?}");
    }
    assert!(d.material <= d.labelled && d.material_detected <= d.material);
    assert!(d.material_detected <= d.detected);
}

#[test]
fn churn_is_scored_against_the_churn_labels() {
    let f = fixture();
    let c = result().churn.expect("the fixture has labels");
    let scenarios = scenario_of();
    let truth: BTreeSet<String> = labels_of("churn")
        .into_iter()
        .map(|l| l.0)
        .filter(|s| scenarios.contains_key(s))
        .collect();
    assert!(!truth.is_empty(), "the fixture's decline cohort churns");
    assert_eq!(c.labelled, truth.len() as u64);
    // Each customer's last day with calls, from the rows.
    let b = &f.rows;
    let (ids, ts) = (strings(b, "customer_id"), timestamps_us(b));
    let mut last: HashMap<&str, NaiveDate> = HashMap::new();
    for i in 0..b.num_rows() {
        let e = last.entry(ids[i]).or_insert(day(ts[i]));
        *e = (*e).max(day(ts[i]));
    }
    let window_last = *last.values().max().unwrap();
    let decisions = f.typed::<DecisionsResult>("decisions");
    for r in &decisions.churn_risks {
        let l = last[r.customer_id.as_str()];
        assert_eq!(r.last_active_day, l, "{}", r.customer_id);
        assert_eq!(
            i64::from(r.silent_days),
            (window_last - l).num_days(),
            "{}",
            r.customer_id
        );
        assert_close(r.p_value, (-r.expected_calls).exp(), "Poisson silence");
        assert_eq!(r.churned, r.p_value < 0.001, "{}", r.customer_id);
    }
    // Every customer silent at the end is listed; those active on the last day are not.
    let silent = last.values().filter(|&&l| l < window_last).count();
    assert_eq!(decisions.churn_risks.len(), silent);
    let flagged: BTreeSet<String> = decisions
        .churn_risks
        .iter()
        .filter(|r| r.churned)
        .map(|r| r.customer_id.clone())
        .collect();
    let tp = flagged.intersection(&truth).count() as u64;
    assert_eq!((c.flagged, c.true_positives), (flagged.len() as u64, tp));
    assert_close(c.recall, tp as f64 / truth.len() as f64, "churn recall");
    assert_close(c.precision, tp as f64 / flagged.len().max(1) as f64, "churn precision");
    assert_eq!(c.missed, truth.difference(&flagged).cloned().collect::<Vec<_>>());
    assert_eq!(c.false_alarms, flagged.difference(&truth).cloned().collect::<Vec<_>>());
}

#[test]
fn the_page_shows_every_scenario_with_a_chart() {
    let page = fixture().read("scenarios.html");
    for name in ["burst_traffic", "model_migration", "viral_spike", "timezone_patterns"] {
        assert!(page.contains(name), "{name} missing from the page");
    }
    assert!(page.matches("<svg").count() >= 12, "one signature chart per scenario");
    assert!(page.contains("Recall") && page.contains("Precision"));
}
