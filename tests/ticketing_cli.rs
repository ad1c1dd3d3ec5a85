//! The ticketing workload from the command line: every table written, exact row counts,
//! determinism across threads and seeds, shards, the scenario listing, and `analyze`/`run`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use common::*;

const ROWS: &str = "20000";

fn ticketing_config() -> PathBuf {
    repo().join("config/ticketing.toml")
}

/// `trafficsim generate` with the ticketing run plan and `--out out --quiet`, plus `args`.
fn ticketing(out: &Path, args: &[&str]) -> Run {
    let mut all = vec![
        "generate".into(),
        "--config".into(),
        ticketing_config().into_os_string(),
        "--out".into(),
        out.as_os_str().to_os_string(),
        "--quiet".into(),
    ];
    all.extend(args.iter().map(|a| a.into()));
    run_bin(all)
}

fn generate_ticketing(out: &Path, args: &[&str]) -> Run {
    ticketing(out, args).success()
}

fn summary(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// Data lines of a CSV file (without its header line).
fn csv_rows(path: &Path) -> usize {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().count() - 1
}

/// Every row of the Parquet files, read in the given order, concatenated.
fn read_parquet_files(files: &[PathBuf]) -> RecordBatch {
    let batches: Vec<RecordBatch> = files.iter().map(|f| read_parquet_file(f)).collect();
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

/// The `date=…` directories of a Parquet dataset, sorted, each with its part files in part order.
fn partitions(dataset: &Path) -> Vec<(String, Vec<PathBuf>)> {
    let mut out: Vec<(String, Vec<PathBuf>)> = fs::read_dir(dataset)
        .unwrap()
        .map(|e| {
            let dir = e.unwrap().path();
            let mut parts: Vec<PathBuf> = fs::read_dir(&dir).unwrap().map(|p| p.unwrap().path()).collect();
            parts.sort();
            assert!(
                parts.iter().all(|p| p.extension().is_some_and(|x| x == "parquet")),
                "{parts:?}"
            );
            (dir.file_name().unwrap().to_string_lossy().into_owned(), parts)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn generate_writes_every_table_and_a_summary_that_adds_up() {
    let dir = tempfile::tempdir().unwrap();
    generate_ticketing(dir.path(), &["--rows", ROWS])
        .stdout_has(format!("generated {ROWS} rows"))
        .stdout_has("seed 42");
    let data = dir.path().join("data");
    for table in ["events", "users", "labels"] {
        for ext in ["csv", "parquet"] {
            let f = data.join(format!("{table}.{ext}"));
            assert!(f.is_file(), "{} missing", f.display());
        }
        assert!(
            csv_rows(&data.join(format!("{table}.csv"))) > 0,
            "{table}.csv has no rows"
        );
    }
    assert!(data.join("transactions.csv").is_file());
    let parts = files_under(&data.join("transactions"));
    assert!(parts.len() > 1, "{parts:?}");
    for p in &parts {
        let s = p.to_string_lossy();
        assert!(
            s.starts_with("date=2025-11-") && s.ends_with("/part-00000.parquet"),
            "unexpected file {s}"
        );
    }

    let s = summary(&dir.path().join("run_summary.json"));
    assert_eq!(s["workload"], "ticketing");
    assert_eq!(s["seed"], 42);
    let rows = s["rows"].as_u64().unwrap();
    assert_eq!(rows, 20_000);
    let parquet = read_all(&data.join("transactions"));
    assert_eq!(parquet.num_rows() as u64, rows, "Parquet dataset rows");
    let csv = read_all(&data.join("transactions.csv"));
    assert_eq!(csv.num_rows() as u64, rows, "CSV rows");
    assert_eq!(csv_rows(&data.join("transactions.csv")) as u64, rows, "CSV lines");
    // Same rows, same order, in both formats.
    assert_eq!(strings(&csv, "transaction_id"), strings(&parquet, "transaction_id"));

    let cohorts = s["cohorts"].as_array().unwrap();
    assert_eq!(cohorts.len(), 5, "{cohorts:?}");
    let sum: u64 = cohorts.iter().map(|c| c["rows"].as_u64().unwrap()).sum();
    assert_eq!(sum, rows, "the cohorts' rows add up to the run's");
    // Every file written is listed.
    let listed = s["files"].as_array().unwrap().len();
    assert_eq!(listed, files_under(&data).len(), "{}", s["files"]);
}

#[test]
fn rows_gives_exactly_that_many_rows() {
    for n in ["1", "7777"] {
        let dir = tempfile::tempdir().unwrap();
        generate_ticketing(dir.path(), &["--rows", n, "--format", "csv"]);
        let csv = dir.path().join("data/transactions.csv");
        assert_eq!(csv_rows(&csv).to_string(), n, "--rows {n}");
        assert_eq!(summary(&dir.path().join("run_summary.json"))["rows"].to_string(), n);
        assert!(
            !dir.path().join("data/transactions").exists(),
            "--format csv wrote Parquet"
        );
    }
}

#[test]
fn one_and_two_threads_write_identical_bytes() {
    let [one, two] = ["1", "2"].map(|threads| {
        let dir = tempfile::tempdir().unwrap();
        generate_ticketing(dir.path(), &["--rows", "60000", "--threads", threads]);
        dir
    });
    let files = files_under(&one.path().join("data"));
    assert_eq!(files, files_under(&two.path().join("data")));
    for table in [
        "transactions.csv",
        "events.csv",
        "events.parquet",
        "users.csv",
        "users.parquet",
        "labels.csv",
        "labels.parquet",
    ] {
        assert!(files.iter().any(|f| f.ends_with(table)), "{table} is compared too");
    }
    for f in &files {
        let a = fs::read(one.path().join("data").join(f)).unwrap();
        let b = fs::read(two.path().join("data").join(f)).unwrap();
        assert!(a == b, "{} differs between --threads 1 and --threads 2", f.display());
    }
}

#[test]
fn a_different_seed_gives_different_transactions() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    generate_ticketing(a.path(), &["--rows", "2000", "--format", "csv"]);
    generate_ticketing(b.path(), &["--rows", "2000", "--format", "csv", "--seed", "7"]);
    let csv = |d: &tempfile::TempDir| fs::read(d.path().join("data/transactions.csv")).unwrap();
    assert_ne!(csv(&a), csv(&b));
    assert_eq!(summary(&b.path().join("run_summary.json"))["seed"], 7);
}

#[test]
fn shards_joined_equal_the_full_run() {
    let full = tempfile::tempdir().unwrap();
    generate_ticketing(full.path(), &["--rows", ROWS]);
    let shards = tempfile::tempdir().unwrap();
    assert!(files_under(shards.path()).is_empty());
    for k in 1..=3 {
        generate_ticketing(shards.path(), &["--rows", ROWS, "--shard", &format!("{k}/3")])
            .stdout_has(format!("shard {k}/3"));
        // Only the last shard has carried the sale to the end: it alone writes these tables.
        for table in ["events", "users", "labels"] {
            assert_eq!(
                shards.path().join(format!("data/{table}.csv")).exists(),
                k == 3,
                "{table}.csv after shard {k}/3"
            );
        }
        let s = summary(&shards.path().join(format!("run_summary-shard-{k}-of-3.json")));
        assert_eq!(s["workload"], "ticketing");
    }
    assert!(!shards.path().join("run_summary.json").exists());
    assert!(!shards.path().join("data/transactions.csv").exists());

    // CSV: the shards' bodies, in shard order, are the full file's body.
    let full_csv = fs::read_to_string(full.path().join("data/transactions.csv")).unwrap();
    let (header, full_body) = full_csv.split_once('\n').unwrap();
    let mut joined = String::new();
    let mut shard_rows = 0;
    for k in 1..=3 {
        let path = shards.path().join(format!("data/transactions-shard-{k}-of-3.csv"));
        let part = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (h, body) = part.split_once('\n').unwrap();
        assert_eq!(h, header);
        assert!(!body.is_empty(), "shard {k} is empty");
        joined.push_str(body);
        let s = summary(&shards.path().join(format!("run_summary-shard-{k}-of-3.json")));
        shard_rows += s["rows"].as_u64().unwrap();
    }
    assert!(joined == full_body, "joined shards differ from the full run");
    assert_eq!(shard_rows, 20_000, "the shards' summaries add up to the full run");

    // Parquet: each day's part files, in part order, hold the full run's rows of that day.
    let full_parts = partitions(&full.path().join("data/transactions"));
    let shard_parts = partitions(&shards.path().join("data/transactions"));
    let days = |p: &[(String, Vec<PathBuf>)]| p.iter().map(|(d, _)| d.clone()).collect::<Vec<_>>();
    assert_eq!(days(&full_parts), days(&shard_parts));
    let mut total = 0;
    for ((day, full_files), (_, shard_files)) in full_parts.iter().zip(&shard_parts) {
        assert_eq!(full_files.len(), 1, "{day}: {full_files:?}");
        for f in shard_files {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"].contains(&name.as_str()),
                "{day}: {name} is not a shard's part"
            );
        }
        let a = read_parquet_files(full_files);
        let b = read_parquet_files(shard_files);
        total += a.num_rows();
        assert!(a == b, "{day}: the shards' parts differ from the full run");
    }
    assert_eq!(total, 20_000);

    // The last shard's events, users and labels are the full run's.
    for table in ["events.csv", "users.csv", "labels.csv"] {
        let a = fs::read(full.path().join("data").join(table)).unwrap();
        let b = fs::read(shards.path().join("data").join(table)).unwrap();
        assert!(a == b, "{table} of shard 3/3 differs from the full run's");
    }
}

#[test]
fn scenarios_lists_the_scenario_files_the_inline_scenario_and_the_modifiers() {
    let mut files: Vec<String> = fs::read_dir(repo().join("config/ticketing/scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "ab_pricing_test",
            "black_friday",
            "flash_sale",
            "fraud_attack",
            "gradual_drift",
            "normal_traffic",
            "system_degradation"
        ]
    );
    let run = run_bin(["scenarios", "--config", ticketing_config().to_str().unwrap()])
        .success()
        .stdout_has("Scenarios (8)");
    let (listing, catalogue) = run
        .stdout
        .split_once("Modifiers a scenario file can combine")
        .expect("the modifier catalogue");
    // A scenario is a line indented by two spaces: its name, and whether the run plan uses it.
    let names: Vec<&str> = listing
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .map(|l| l.trim().split(' ').next().unwrap())
        .collect();
    let mut expected: Vec<&str> = files.iter().map(String::as_str).collect();
    expected.push("everyday_sales");
    assert_eq!(names, expected, "{listing}");
    for in_plan in [
        "everyday_sales",
        "flash_sale",
        "fraud_attack",
        "system_degradation",
        "black_friday",
    ] {
        assert!(
            listing.contains(&format!("\n  {in_plan} [in the run plan: 1 cohort(s)]\n")),
            "{in_plan} is not marked as in the run plan:\n{listing}"
        );
    }
    let kinds: Vec<&str> = catalogue
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .map(|l| l.trim().split(':').next().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "flash_sale",
            "attack",
            "drift",
            "degradation",
            "ab_test",
            "black_friday"
        ],
        "{catalogue}"
    );
}

#[test]
fn run_generates_then_analyzes_and_analyze_finds_the_workload_from_the_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run_bin([
        "run".as_ref(),
        "--config".as_ref(),
        ticketing_config().as_os_str(),
        "--rows".as_ref(),
        "5000".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "--quiet".as_ref(),
    ] as [&std::ffi::OsStr; 8])
    .success()
    .stdout_has("generated 5000 rows")
    .stdout_has("analyzed 5000 rows");
    let csv = out.join("data/transactions.csv");
    assert_eq!(csv_rows(&csv), 5000);
    assert_eq!(read_all(&out.join("data/transactions")).num_rows(), 5000);
    assert!(out.join("data/events.csv").is_file());
    for page in [
        "index.html",
        "overview.html",
        "checks.html",
        "results/checks.json",
        "manifest.json",
    ] {
        assert!(
            out.join("reports").join(page).is_file(),
            "{page}: {:?}",
            files_under(&out.join("reports"))
        );
    }
    // Without --config, the dataset says it is ticketing data (the calls plan would refuse it).
    let again = dir.path().join("again");
    run_bin([
        "analyze".as_ref(),
        "--input".as_ref(),
        out.join("data").as_os_str(),
        "--out".as_ref(),
        again.as_os_str(),
    ] as [&std::ffi::OsStr; 5])
    .success()
    .stdout_has("analyzed 5000 rows");
    let manifest = std::fs::read_to_string(again.join("manifest.json")).unwrap();
    assert!(manifest.contains("config/ticketing.toml"), "{manifest}");
    // A calls run plan given for ticketing data is refused, naming both.
    run_bin([
        "analyze".as_ref(),
        "--input".as_ref(),
        out.join("data").as_os_str(),
        "--config".as_ref(),
        "config/default.toml".as_ref(),
    ] as [&std::ffi::OsStr; 5])
    .failure()
    .stderr_has("a transactions dataset, but config/default.toml is a run plan of calls data");
}

#[test]
fn the_calls_workload_still_writes_calls() {
    let dir = tempfile::tempdir().unwrap();
    trafficsim(dir.path(), &["--rows", "3000"])
        .success()
        .stdout_has("generated 3000 rows");
    let data = dir.path().join("data");
    assert_eq!(csv_rows(&data.join("simulated_calls.csv")), 3000);
    assert_eq!(read_all(&data.join("calls")).num_rows(), 3000);
    assert!(!data.join("transactions.csv").exists() && !data.join("transactions").exists());
    assert_eq!(summary(&dir.path().join("run_summary.json"))["rows"], 3000);
}

#[test]
fn a_window_that_misses_the_flash_sale_fails_naming_the_cohort_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // The flash sale is on day 10: a 7-day window holds none of it.
    ticketing(dir.path(), &["--rows", ROWS, "--days", "7"])
        .failure()
        .stderr_has("cohort `flash_sale` makes no attempts in the window")
        .stderr_has("--days");
    assert!(!dir.path().join("data").exists(), "nothing is written");
    // Without it, a week is fine.
    generate_ticketing(
        dir.path(),
        &[
            "--rows",
            "5000",
            "--days",
            "7",
            "--scenario",
            "everyday_sales",
            "--scenario",
            "fraud_attack",
        ],
    );
    assert_eq!(summary(&dir.path().join("run_summary.json"))["rows"], 5000);
}
