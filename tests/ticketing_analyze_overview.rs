//! The ticketing overview against independent folds over the rows (read with arrow), and the
//! Checks page and `results/checks.json` it feeds.

mod analyze_support;
mod common;
mod ticketing_analyze_support;
mod ticketing_support;

use std::collections::BTreeMap;

use ticketing_analyze_support::fixture;
use ticketing_support::{floats, ints, str_vals};

#[test]
fn the_overview_counts_what_a_plain_fold_counts() {
    let f = fixture();
    let r = f.result("overview");
    let t = f.transactions(&["payment_status", "num_tickets", "total_amount", "event_id"]);
    assert_eq!(r["window"]["rows"].as_u64().unwrap(), t.num_rows() as u64);
    let status = str_vals(&t, "payment_status");
    let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
    for s in &status {
        *by_status.entry(s.as_str()).or_default() += 1;
    }
    for row in r["by_status"].as_array().unwrap() {
        let name = row["name"].as_str().unwrap();
        assert_eq!(row["rows"].as_u64().unwrap(), by_status[name], "{name}");
    }
    let (tickets, amount) = (ints(&t, "num_tickets"), floats(&t, "total_amount"));
    let completed = |i: &usize| status[*i] == "completed";
    let sold: i64 = (0..t.num_rows()).filter(completed).map(|i| tickets[i]).sum();
    let revenue: f64 = (0..t.num_rows()).filter(completed).map(|i| amount[i]).sum();
    assert_eq!(r["counts"]["tickets_sold"].as_i64().unwrap(), sold);
    assert!(
        (r["counts"]["revenue"].as_f64().unwrap() - revenue).abs() < 0.01,
        "{revenue}"
    );
    let events: std::collections::HashSet<String> = str_vals(&t, "event_id").into_iter().collect();
    assert_eq!(
        r["counts"]["events_with_attempts"].as_u64().unwrap(),
        events.len() as u64
    );
    assert_eq!(r["labels"].as_array().unwrap().len(), f.labels().len());
    // The invariants of `validate` hold on generated data, and that is a check.
    let checks = f.result("checks");
    let inv = checks["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "dataset.invariant_violations")
        .expect("the invariant check");
    assert_eq!(inv["status"], "PASS", "{inv}");
}
