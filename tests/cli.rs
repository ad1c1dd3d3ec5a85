//! The command line end to end: generate, validate, column selection, failure paths.

mod common;

use std::fs;

use common::*;

fn validate(path: &std::path::Path) -> Run {
    run_bin([
        std::ffi::OsStr::new("validate"),
        path.as_os_str(),
        "--config".as_ref(),
        default_config().as_os_str(),
    ])
}

#[test]
fn a_generated_dataset_passes_every_invariant_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    trafficsim(dir.path(), &["--rows", "30000", "--days", "10"])
        .success()
        .stdout_has("generated 30000 rows");
    for path in ["data/simulated_calls.csv", "data/calls"] {
        validate(&dir.path().join(path))
            .success()
            .stdout_has("30000 rows, 27 columns")
            .stdout_has("all checks passed");
    }
    // The summary tells what was done.
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("run_summary.json")).unwrap()).unwrap();
    assert_eq!(summary["rows"], 30000);
    assert_eq!(summary["seed"], 42);
    assert_eq!(
        summary["files"].as_array().unwrap().len(),
        13,
        "1 CSV + 10 day partitions + labels as CSV and Parquet"
    );
    assert!(
        summary["labels"].as_u64().unwrap() > 10,
        "the scenarios' events: {}",
        summary["labels"]
    );
    // No temporary files are left behind.
    assert!(
        files_under(dir.path())
            .iter()
            .all(|f| !f.to_string_lossy().contains("inprogress"))
    );
}

#[test]
fn validate_reports_each_broken_invariant_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &["--rows", "2000", "--format", "csv"]);
    let path = dir.path().join("data/simulated_calls.csv");
    let text = fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Row 1: a wrong price; row 2: a model under the wrong provider; row 3: a duplicate id of
    // row 4; row 5: a customer changing tier.
    let fields = |row: usize| lines[row].split(',').map(str::to_string).collect::<Vec<_>>();
    let mut r1 = fields(1);
    r1[6] = "123.0".into();
    let mut r2 = fields(2);
    r2[2] = if r2[2] == "cohere" {
        "openai".into()
    } else {
        "cohere".into()
    };
    let mut r3 = fields(3);
    r3[1] = fields(4)[1].clone();
    let r5 = fields(5);
    let other_tier = if r5[9] == "pro" {
        ("starter", "29.0")
    } else {
        ("pro", "99.0")
    };
    let customer = r5[8].clone();
    let mut changed = None;
    for row in 6..lines.len() {
        let mut f = fields(row);
        if f[8] == customer {
            f[9] = other_tier.0.into();
            f[22] = other_tier.1.into();
            changed = Some((row, f));
            break;
        }
    }
    let (row, f) = changed.expect("the customer calls again");
    for (i, r) in [(1, r1), (2, r2), (3, r3), (row, f)] {
        lines[i] = r.join(",");
    }
    fs::write(&path, lines.join("\n") + "\n").unwrap();

    validate(&path)
        .failure()
        .stdout_has("cost_matches_prices")
        .stdout_has("row 1: cost_usd 123")
        .stdout_has("row 2: model")
        .stdout_has("unique_call_id")
        .stdout_has("seen before")
        .stdout_has(format!("customer {customer} has subscription_tier"))
        .stdout_has("4 check(s) failed")
        .stderr_has("violates 4 invariant(s)");
}

#[test]
fn validate_rejects_what_is_not_a_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.txt");
    fs::write(&junk, "hello").unwrap();
    validate(&junk).failure().stderr_has("not a dataset");
    validate(dir.path()).failure().stderr_has("no .parquet files");
}

#[test]
fn chosen_columns_are_written_in_order() {
    let dir = tempfile::tempdir().unwrap();
    generate(
        dir.path(),
        &["--rows", "500", "--columns", "timestamp,customer_id,model,cost_usd"],
    );
    let csv = fs::read_to_string(dir.path().join("data/simulated_calls.csv")).unwrap();
    assert_eq!(csv.lines().next(), Some("timestamp,customer_id,model,cost_usd"));
    let b = read_all(&dir.path().join("data/calls"));
    let names: Vec<_> = b.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, ["timestamp", "customer_id", "model", "cost_usd"]);
    // validate runs what it can and says what it skipped.
    validate(&dir.path().join("data/calls"))
        .success()
        .stdout_has("skipped (no column");
}

#[test]
fn a_new_run_replaces_the_parquet_dataset_whole() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &["--rows", "3000", "--days", "5"]);
    generate(dir.path(), &["--rows", "3000", "--days", "2"]);
    let parts = files_under(&dir.path().join("data/calls"));
    assert_eq!(parts.len(), 2, "stale partitions of the first run are gone: {parts:?}");
    assert_eq!(read_all(&dir.path().join("data/calls")).num_rows(), 3000);
}

#[test]
fn timestamps_are_rfc3339_utc_in_csv() {
    let dir = tempfile::tempdir().unwrap();
    generate(
        dir.path(),
        &[
            "--rows",
            "100",
            "--format",
            "csv",
            "--start-date",
            "2024-02-28",
            "--days",
            "3",
        ],
    );
    let csv = fs::read_to_string(dir.path().join("data/simulated_calls.csv")).unwrap();
    for line in csv.lines().skip(1) {
        let ts = line.split(',').next().unwrap();
        let parsed = chrono::DateTime::parse_from_rfc3339(ts).unwrap_or_else(|e| panic!("{ts}: {e}"));
        assert!(ts.ends_with('Z'), "{ts}");
        let day = parsed.date_naive();
        assert!(
            day >= chrono::NaiveDate::from_ymd_opt(2024, 2, 28).unwrap()
                && day <= chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
            "{ts} outside the window"
        );
    }
}

#[test]
fn scenarios_lists_every_scenario_with_its_parameters_and_the_modifiers() {
    let run = run_bin(["scenarios", "--config", default_config().to_str().unwrap()]).success();
    for name in [
        "base_traffic",
        "seasonal_pattern",
        "burst_traffic",
        "multi_tenant",
        "model_migration",
        "weekend_effect",
        "timezone_patterns",
        "feature_launch",
        "cost_optimization",
        "gradual_decline",
        "steady_growth",
        "viral_spike",
    ] {
        assert!(
            run.stdout
                .contains(&format!("\n  {name} [in the run plan: 1 cohort(s)]\n")),
            "{name} missing:\n{}",
            run.stdout
        );
    }
    let run = run
        .stdout_has("Scenarios (12)")
        .stdout_has(
            "- burst: baseline = 1.0, day_probability = 0.08, duration_hours = [1.0, 3.0], multiplier = [5.0, 20.0]",
        )
        .stdout_has("Business cycles: busier mid-week");
    // The modifier catalogue, with defaults, for writing new scenarios.
    let catalogue = run
        .stdout
        .split("Modifiers a scenario file can combine")
        .nth(1)
        .unwrap();
    let kinds = catalogue
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .count();
    assert_eq!(kinds, 12, "{catalogue}");
    assert!(catalogue.contains("day_multiplier: multiplies the rate on listed days"));
}

#[test]
fn repeated_scenario_flags_run_only_those_scenarios_with_equal_shares() {
    let dir = tempfile::tempdir().unwrap();
    generate(
        dir.path(),
        &[
            "--rows",
            "20000",
            "--scenario",
            "burst_traffic",
            "--scenario",
            "viral_spike",
            "--format",
            "csv",
        ],
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("run_summary.json")).unwrap()).unwrap();
    let cohorts: Vec<(String, u64)> = summary["cohorts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["scenario"].as_str().unwrap().to_string(), c["rows"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        cohorts,
        vec![
            ("burst_traffic".to_string(), 10_000),
            ("viral_spike".to_string(), 10_000)
        ]
    );
    let b = read_all(&dir.path().join("data/simulated_calls.csv"));
    let scenarios: std::collections::BTreeSet<&str> = strings(&b, "scenario").into_iter().collect();
    assert_eq!(
        scenarios.into_iter().collect::<Vec<_>>(),
        ["burst_traffic", "viral_spike"]
    );
}
