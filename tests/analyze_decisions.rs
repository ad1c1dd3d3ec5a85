//! The real-time decisions analyzer: budgets and risk against a fold over the rows, patterns
//! against filters, and an injected cost spike that the anomaly detector must find.

mod analyze_support;
mod common;

use std::collections::BTreeMap;
use std::fs;

use analyze_support::{analyze, assert_close, fixture};
use chrono::{DateTime, NaiveDate};
use common::{floats, ints, strings, timestamps_us};
use trafficsim::analyze::decisions::DecisionsResult;
use trafficsim::report::html::Severity;

fn result() -> DecisionsResult {
    fixture().typed("decisions")
}

fn day(us: i64) -> NaiveDate {
    DateTime::from_timestamp_micros(us).unwrap().date_naive()
}

#[test]
fn budgets_match_tier_prices_prorated_to_active_days() {
    let r = result();
    let b = &fixture().rows;
    let (ids, prices, cost, ts) = (
        strings(b, "customer_id"),
        floats(b, "tier_price_usd"),
        floats(b, "cost_usd"),
        timestamps_us(b),
    );
    // customer → (price, cost, first day, last day)
    let mut want: BTreeMap<&str, (f64, f64, NaiveDate, NaiveDate)> = BTreeMap::new();
    for i in 0..b.num_rows() {
        let d = day(ts[i]);
        let e = want.entry(ids[i]).or_insert((prices[i], 0.0, d, d));
        e.1 += cost[i];
        e.2 = e.2.min(d);
        e.3 = e.3.max(d);
    }
    assert_eq!(r.budgets.len(), want.len());
    let mut over = 0;
    for s in &r.budgets {
        let (price, cost, first, last) = want[s.customer_id.as_str()];
        let days = (last - first).num_days() + 1;
        assert_eq!(s.active_days as i64, days, "{}", s.customer_id);
        let budget = price * days as f64 / 30.0;
        assert_close(s.budget_usd, budget, "budget");
        assert_close(s.cost_usd, cost, "cost");
        let share = cost / budget;
        let risk = if share > 1.0 {
            Severity::Critical
        } else if share > 0.8 {
            Severity::High
        } else if share > 0.5 {
            Severity::Medium
        } else {
            Severity::Low
        };
        assert_eq!(s.risk, risk, "{}: {share}", s.customer_id);
        over += u64::from(risk == Severity::Critical);
    }
    assert_eq!(r.portfolio.critical, over);
    assert!(
        over > 0,
        "heavy users on pro and power users on starter cost more than they pay"
    );
    assert_eq!(
        r.portfolio.critical + r.portfolio.high + r.portfolio.medium + r.portfolio.low,
        want.len() as u64
    );
    // Every over-budget customer gets an alert naming it, with the overspend in dollars.
    for s in r.budgets.iter().filter(|s| s.risk == Severity::Critical) {
        let alert = r
            .alerts
            .iter()
            .find(|a| a.title == "Customer over budget" && a.message.contains(&s.customer_id))
            .unwrap_or_else(|| panic!("alert for {}", s.customer_id));
        assert_close(alert.amount_usd.unwrap(), s.cost_usd - s.budget_usd, "overspend");
        assert!(alert.action.contains(&s.customer_id));
    }
}

#[test]
fn inefficient_patterns_count_the_matching_calls() {
    let r = result();
    let b = &fixture().rows;
    let (cost, tokens, lat) = (floats(b, "cost_usd"), ints(b, "total_tokens"), ints(b, "latency_ms"));
    let small: Vec<usize> = (0..b.num_rows())
        .filter(|&i| cost[i] > 0.01 && tokens[i] < 500)
        .collect();
    let slow: Vec<usize> = (0..b.num_rows()).filter(|&i| lat[i] > 5000 && cost[i] > 0.05).collect();
    let p = |kind: &str| r.patterns.iter().find(|p| p.kind == kind).unwrap();
    for (kind, rows, saving) in [
        ("expensive_small_calls", &small, 0.8),
        ("slow_expensive_calls", &slow, 0.5),
    ] {
        let total: f64 = rows.iter().map(|&i| cost[i]).sum();
        assert_eq!(p(kind).calls, rows.len() as u64, "{kind}");
        assert_close(p(kind).cost_usd, total, kind);
        assert_close(p(kind).saving_usd, total * saving, kind);
    }
    assert!(p("expensive_small_calls").calls > 0);
}

#[test]
fn an_injected_spike_is_found_and_named() {
    let f = fixture();
    // The customer with the most rows, on the 15th day: its rows of that day repeated 10 times.
    let b = &f.rows;
    let (ids, ts) = (strings(b, "customer_id"), timestamps_us(b));
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    ids.iter().for_each(|id| *counts.entry(id).or_default() += 1);
    let (victim, _) = counts
        .iter()
        .max_by_key(|(id, n)| (**n, std::cmp::Reverse(**id)))
        .unwrap();
    let spike_day = NaiveDate::from_ymd_opt(2025, 1, 15).unwrap();
    let csv = fs::read_to_string(f.data.join("simulated_calls.csv")).unwrap();
    let mut lines = csv.lines();
    let mut out = String::from(lines.next().unwrap());
    out.push('\n');
    for (i, line) in lines.enumerate() {
        let times = if ids[i] == *victim && day(ts[i]) == spike_day {
            11
        } else {
            1
        };
        for _ in 0..times {
            out.push_str(line);
            out.push('\n');
        }
    }
    let dir = f.root.join("spike");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("spiked.csv"), out).unwrap();
    analyze(&dir.join("spiked.csv"), &dir.join("reports"), &[]).success();
    let r: DecisionsResult =
        serde_json::from_str(&fs::read_to_string(dir.join("reports/results/decisions.json")).unwrap()).unwrap();
    let hit = r
        .customer_day_anomalies
        .anomalies
        .iter()
        .find(|a| a.subject == *victim && a.date == spike_day)
        .expect("the spike is detected");
    assert_eq!(hit.direction, "spike");
    assert!(hit.robust_z > 3.5 && hit.cost_usd > 5.0 * hit.baseline_usd, "{hit:?}");
    assert!(
        r.alerts
            .iter()
            .any(|a| a.title == "Cost spike" && a.message.contains(*victim)),
        "an alert names the customer"
    );
    // The un-spiked data has no anomaly for that customer-day.
    assert!(
        !result()
            .customer_day_anomalies
            .anomalies
            .iter()
            .any(|a| a.subject == *victim && a.date == spike_day && a.direction == "spike")
    );
}
