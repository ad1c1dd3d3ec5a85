//! Issue 11: `generate --date` writes exactly the day the whole run writes, so a nightly cron
//! running every day of the window one by one builds the whole run's dataset, byte for byte.

mod common;

use std::fs;
use std::path::Path;

use common::*;

/// The `YYYY-MM-DD` of `n` days after `start`.
fn day(start: &str, n: u32) -> String {
    let d = chrono::NaiveDate::parse_from_str(start, "%Y-%m-%d").unwrap();
    (d + chrono::Days::new(u64::from(n))).to_string()
}

/// `trafficsim generate --config config --out out --quiet` plus `args`.
fn generate_with(config: &Path, out: &Path, args: &[&str]) -> Run {
    let mut all: Vec<std::ffi::OsString> = vec![
        "generate".into(),
        "--config".into(),
        config.into(),
        "--out".into(),
        out.into(),
        "--quiet".into(),
    ];
    all.extend(args.iter().map(Into::into));
    run_bin(all)
}

/// The day CSV files concatenated as one file: the first one's header, then every file's rows.
fn joined_day_csvs(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut days: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    days.sort();
    for (i, d) in days.iter().enumerate() {
        let text = fs::read(d.join("part-00000.csv")).unwrap();
        let body = text.iter().position(|&b| b == b'\n').unwrap() + 1;
        if i == 0 {
            out.extend_from_slice(&text[..body]);
        }
        out.extend_from_slice(&text[body..]);
    }
    out
}

/// Whole run into `whole`; every day of the window, in `order`, into `days`; then asserts the
/// fact table's partitions and `tables` are the same bytes and the day CSVs join into the
/// whole run's CSV.
fn assert_days_make_the_whole_run(
    config: &Path,
    plan: &[&str],
    start: &str,
    order: &[u32],
    (parquet_dir, csv): (&str, &str),
    tables: &[&str],
) {
    let (whole, days) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generate_with(config, whole.path(), plan).success();
    for &d in order {
        let date = day(start, d);
        let mut args = plan.to_vec();
        args.extend(["--date", &date]);
        generate_with(config, days.path(), &args)
            .success()
            .stdout_has(format!("days {date}..{date}"));
    }
    let (a, b) = (whole.path().join("data"), days.path().join("data"));
    assert_same_files(&a.join(parquet_dir), &b.join(parquet_dir), "the day partitions");
    for t in tables {
        for ext in ["csv", "parquet"] {
            let name = format!("{t}.{ext}");
            assert!(
                fs::read(a.join(&name)).unwrap() == fs::read(b.join(&name)).unwrap(),
                "{name}: the same bytes as the whole run's"
            );
        }
    }
    let day_csvs = b.join("csv").join(parquet_dir);
    assert_eq!(fs::read_dir(&day_csvs).unwrap().count(), order.len(), "one CSV per day");
    assert!(
        joined_day_csvs(&day_csvs) == fs::read(a.join(csv)).unwrap(),
        "the day CSVs, joined, are the whole run's {csv}"
    );
    assert!(!b.join(csv).exists(), "a day-by-day run writes no whole-run CSV");
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(days.path().join("run_summary.json")).unwrap()).unwrap();
    let last = day(start, *order.last().unwrap());
    assert_eq!(summary["dates"], format!("{last}..{last}"));
    assert!(
        files_under(days.path())
            .iter()
            .all(|f| !f.to_string_lossy().contains("inprogress"))
    );
}

#[test]
fn calls_every_day_one_by_one_is_the_whole_run_in_any_order() {
    assert_days_make_the_whole_run(
        &default_config(),
        &["--rows", "6000", "--days", "4"],
        "2025-01-01",
        &[2, 0, 3, 1],
        ("calls", "simulated_calls.csv"),
        &["labels"],
    );
}

#[test]
fn ticketing_every_day_one_by_one_is_the_whole_run() {
    // Units carry inventory from day to day: each day replays the days before it unwritten.
    // The events' sales are those to the last day written: the whole run's after the last.
    assert_days_make_the_whole_run(
        &repo().join("config/ticketing.toml"),
        // The flash sale's burst falls in the window's second week.
        &["--rows", "4000", "--days", "14"],
        "2025-11-03",
        &(0..14).collect::<Vec<_>>(),
        ("transactions", "transactions.csv"),
        &["labels", "users", "events"],
    );
}

#[test]
fn a_day_is_replaced_whole_and_a_range_equals_its_days() {
    let plan = ["--rows", "5000", "--days", "3"];
    let (ranged, single) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut args = plan.to_vec();
    args.extend(["--dates", "2025-01-01..2025-01-03"]);
    generate_with(&default_config(), ranged.path(), &args)
        .success()
        .stdout_has("generated 5000 rows")
        .stdout_has("days 2025-01-01..2025-01-03");
    for d in ["2025-01-01", "2025-01-02", "2025-01-03"] {
        let mut args = plan.to_vec();
        args.extend(["--date", d]);
        generate_with(&default_config(), single.path(), &args).success();
    }
    let data = |dir: &tempfile::TempDir| dir.path().join("data");
    assert_same_files(
        &data(&ranged).join("calls"),
        &data(&single).join("calls"),
        "--dates = each --date",
    );
    assert_same_files(
        &data(&ranged).join("csv"),
        &data(&single).join("csv"),
        "--dates = each --date",
    );

    // Another plan's shard file in the day, and a torn temporary: regenerating the day leaves
    // exactly what the run writes there.
    let partition = data(&single).join("calls/date=2025-01-02");
    let before = fs::read(partition.join("part-00000.parquet")).unwrap();
    fs::write(partition.join("part-00001.parquet"), b"another plan's shard").unwrap();
    fs::write(partition.join("part-00000.parquet.inprogress"), b"torn").unwrap();
    let mut args = plan.to_vec();
    args.extend(["--date", "2025-01-02"]);
    generate_with(&default_config(), single.path(), &args).success();
    assert_eq!(
        fs::read_dir(&partition)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect::<Vec<_>>(),
        vec![std::ffi::OsString::from("part-00000.parquet")]
    );
    assert!(
        fs::read(partition.join("part-00000.parquet")).unwrap() == before,
        "the same bytes again"
    );
    assert_same_files(
        &data(&ranged).join("calls"),
        &data(&single).join("calls"),
        "after a re-run",
    );
    // Readers read a dataset of day files: validate and analyze.
    run_bin([
        "validate".as_ref(),
        data(&single).join("calls").as_os_str(),
        "--config".as_ref(),
        default_config().as_os_str(),
    ])
    .success()
    .stdout_has("5000 rows");
}

#[test]
fn a_day_outside_the_window_or_malformed_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--date", "2025-02-30"],
            "--date: \"2025-02-30\" is not a date: use YYYY-MM-DD",
        ),
        (
            &["--date", "2024-12-31"],
            "--date: 2024-12-31 is outside the run plan's window, 2025-01-01 to 2025-01-30",
        ),
        (
            &["--days", "3", "--date", "2025-01-04"],
            "2025-01-04 is outside the run plan's window, 2025-01-01 to 2025-01-03",
        ),
        (
            &["--dates", "2025-01-03..2025-01-01"],
            "the first day is after the last",
        ),
        (&["--dates", "2025-01-03"], "is not a range of days: use FIRST..LAST"),
    ];
    for (args, message) in cases {
        trafficsim(dir.path(), args).failure().stderr_has(message);
    }
    // A usage error (clap's exit code 2).
    let both = trafficsim(dir.path(), &["--date", "2025-01-01", "--shard", "1/2"]);
    assert_eq!(both.status.code(), Some(2));
    both.stderr_has("cannot be used with");
    assert!(!dir.path().join("data").exists(), "nothing written");
}
