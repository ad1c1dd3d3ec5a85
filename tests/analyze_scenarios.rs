//! The scenarios page: signatures against folds over the rows, and the detector's score against
//! an independent join of the labels with the decisions page's anomalies.

mod analyze_support;
mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use analyze_support::{assert_close, fixture};
use chrono::{DateTime, NaiveDate};
use common::{floats, read_parquet_file, strings, timestamps_us};
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

#[test]
fn detection_is_scored_against_the_labelled_bursts() {
    let f = fixture();
    let r = result();
    let d = r.detection.as_ref().expect("the fixture has labels");
    // Truth from labels.parquet: the UTC day each labelled burst starts, per customer.
    let labels = read_parquet_file(&f.data.join("labels.parquet"));
    let (kind, subject) = (strings(&labels, "kind"), strings(&labels, "subject"));
    let start = labels
        .column_by_name("start")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow::array::TimestampMicrosecondArray>()
        .unwrap();
    let truth: BTreeSet<(String, NaiveDate)> = (0..labels.num_rows())
        .filter(|&i| kind[i] == "burst")
        .map(|i| (subject[i].to_string(), day(start.value(i))))
        .collect();
    assert_eq!(d.labelled, truth.len() as u64);
    assert!(d.labelled > 0, "the fixture's burst cohort bursts");
    // Testable: the customer has at least `min_history` earlier days (the decisions settings).
    let settings: toml::Table =
        toml::from_str(&std::fs::read_to_string(common::repo().join("config/analysis.toml")).unwrap()).unwrap();
    let min_history = settings["decisions"]["min_history"].as_integer().unwrap();
    let b = &f.rows;
    let (ids, sc, ts) = (strings(b, "customer_id"), strings(b, "scenario"), timestamps_us(b));
    let mut first: HashMap<&str, NaiveDate> = HashMap::new();
    let mut scenario: HashMap<&str, &str> = HashMap::new();
    for i in 0..b.num_rows() {
        let e = first.entry(ids[i]).or_insert(day(ts[i]));
        *e = (*e).min(day(ts[i]));
        scenario.insert(ids[i], sc[i]);
    }
    let testable: Vec<&(String, NaiveDate)> = truth
        .iter()
        .filter(|(c, dd)| (*dd - first[c.as_str()]).num_days() >= min_history)
        .collect();
    assert_eq!(d.testable, testable.len() as u64);
    // Spikes from the decisions page's own result.
    let decisions = f.result("decisions");
    let spikes: BTreeSet<(String, NaiveDate)> = decisions["customer_day_anomalies"]["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["robust_z"].as_f64().unwrap() > 0.0)
        .map(|a| {
            (
                a["subject"].as_str().unwrap().to_string(),
                a["date"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    let detected = testable.iter().filter(|k| spikes.contains(**k)).count() as u64;
    assert_eq!(d.detected, detected);
    let flagged: Vec<&(String, NaiveDate)> = spikes
        .iter()
        .filter(|(c, _)| scenario.get(c.as_str()) == Some(&"burst_traffic"))
        .collect();
    assert_eq!(d.flagged, flagged.len() as u64);
    let tp = flagged.iter().filter(|k| truth.contains(**k)).count() as u64;
    assert_eq!(d.true_positives, tp);
    assert_close(d.recall, detected as f64 / testable.len().max(1) as f64, "recall");
    if !flagged.is_empty() {
        assert_close(d.precision, tp as f64 / flagged.len() as f64, "precision");
    }
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
