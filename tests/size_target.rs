//! The size target: a CSV within 1% of the asked size; `--rows` exact.

mod common;

use std::fs;

use common::*;

fn csv_size(dir: &tempfile::TempDir) -> u64 {
    fs::metadata(dir.path().join("data/simulated_calls.csv")).unwrap().len()
}

#[test]
fn default_run_is_within_one_percent_of_50_mib_and_keeps_the_market_mix() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &["--format", "csv"]);
    let target = 50.0 * 1024.0 * 1024.0;
    let size = csv_size(&dir) as f64;
    assert!(
        ((size - target) / target).abs() < 0.01,
        "CSV is {size} bytes, target {target}"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("run_summary.json")).unwrap()).unwrap();
    assert_eq!(summary["csv_bytes"].as_u64(), Some(size as u64));
    assert_eq!(summary["target"]["csv_bytes"].as_u64(), Some(target as u64));
    let cohort_rows: u64 = summary["cohorts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["rows"].as_u64().unwrap())
        .sum();
    assert_eq!(cohort_rows, summary["rows"].as_u64().unwrap());
    // Every scenario contributes its equal share of the rows.
    let rows = summary["rows"].as_u64().unwrap();
    for c in summary["cohorts"].as_array().unwrap() {
        let share = c["rows"].as_u64().unwrap() as f64 / rows as f64;
        assert!((share - 1.0 / 12.0).abs() < 1e-4, "{c}");
    }
    // The base traffic's ~12k rows keep the market mix within 2 points even with a handful of
    // customers (the other scenarios change providers on purpose).
    let all = read_all(&dir.path().join("data/simulated_calls.csv"));
    let base: arrow::array::BooleanArray = strings(&all, "scenario")
        .iter()
        .map(|s| Some(*s == "base_traffic"))
        .collect();
    assert_market_mix(&arrow::compute::filter_record_batch(&all, &base).unwrap(), 0.02);
}

#[test]
fn other_sizes_and_windows_are_within_one_percent() {
    for (size, target, days) in [
        ("5MiB", 5.0 * 1048576.0, "30"),
        ("20MB", 20e6, "7"),
        ("120MB", 120e6, "60"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), &["--format", "csv", "--target-size", size, "--days", days]);
        let got = csv_size(&dir) as f64;
        assert!(
            ((got - target) / target).abs() < 0.01,
            "{size} over {days} days: {got} bytes"
        );
    }
}

#[test]
fn rows_gives_exactly_that_many_rows() {
    for rows in [1u64, 999, 12_345] {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), &["--rows", &rows.to_string()]);
        let csv = fs::read_to_string(dir.path().join("data/simulated_calls.csv")).unwrap();
        assert_eq!(csv.lines().count() as u64, rows + 1, "header + {rows} rows");
        assert_eq!(read_all(&dir.path().join("data/calls")).num_rows() as u64, rows);
    }
}

#[test]
fn larger_targets_grow_the_population_not_only_the_rows() {
    let customers = |rows: &str| {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), &["--rows", rows, "--format", "csv"]);
        let summary: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.path().join("run_summary.json")).unwrap()).unwrap();
        // Every cohort grows, not only one.
        let cohorts = summary["cohorts"].as_array().unwrap().clone();
        cohorts
            .iter()
            .map(|c| c["customers"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    let small = customers("60000");
    let large = customers("600000");
    let (s, l): (u64, u64) = (small.iter().sum(), large.iter().sum());
    // Ten times the rows: at least four times the customers (small cohorts lean toward light
    // customers, so they start with more customers per row).
    assert!(l as f64 > 4.0 * s as f64, "{s} → {l} customers");
    for (a, b) in small.iter().zip(&large) {
        assert!(b > a, "every cohort grows: {small:?} → {large:?}");
    }
}
