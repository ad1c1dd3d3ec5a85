//! Same config and seed give the same bytes, whatever the thread count or sharding.

mod common;

use std::fs;

use common::*;

/// Enough rows for several units per day, so threads really interleave work.
const ROWS: &str = "150000";

/// The same generation run at 1 and at 2 threads, each in its own directory.
fn at_one_and_two_threads(args: &[&str]) -> [tempfile::TempDir; 2] {
    ["1", "2"].map(|threads| {
        let dir = tempfile::tempdir().unwrap();
        let mut all = args.to_vec();
        all.extend(["--threads", threads]);
        generate(dir.path(), &all);
        dir
    })
}

#[test]
fn one_and_two_threads_write_identical_bytes() {
    let [one, two] = at_one_and_two_threads(&["--rows", ROWS, "--days", "3"]);
    let files = files_under(&one.path().join("data"));
    assert_eq!(files, files_under(&two.path().join("data")));
    assert!(files.len() > 3, "{files:?}");
    for labels in ["labels.csv", "labels.parquet"] {
        assert!(
            files.iter().any(|f| f.ends_with(labels)),
            "the scenarios' labels are compared too"
        );
    }
    for f in &files {
        let a = fs::read(one.path().join("data").join(f)).unwrap();
        let b = fs::read(two.path().join("data").join(f)).unwrap();
        assert!(a == b, "{} differs between --threads 1 and --threads 2", f.display());
    }
}

#[test]
fn a_different_seed_gives_different_data() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    generate(a.path(), &["--rows", "1000", "--format", "csv"]);
    generate(b.path(), &["--rows", "1000", "--format", "csv", "--seed", "7"]);
    let csv = |d: &tempfile::TempDir| fs::read(d.path().join("data/simulated_calls.csv")).unwrap();
    assert_ne!(csv(&a), csv(&b));
}

#[test]
fn shards_joined_equal_the_full_run() {
    let full = tempfile::tempdir().unwrap();
    generate(full.path(), &["--rows", ROWS, "--days", "3"]);
    let shards = tempfile::tempdir().unwrap();
    for k in 1..=3 {
        generate(
            shards.path(),
            &["--rows", ROWS, "--days", "3", "--shard", &format!("{k}/3")],
        );
    }
    // CSV: the shards' bodies, in shard order, are the full file's body.
    let full_csv = fs::read_to_string(full.path().join("data/simulated_calls.csv")).unwrap();
    let (header, full_body) = full_csv.split_once('\n').unwrap();
    let mut joined = String::new();
    for k in 1..=3 {
        let part = fs::read_to_string(shards.path().join(format!("data/simulated_calls-shard-{k}-of-3.csv"))).unwrap();
        let (h, body) = part.split_once('\n').unwrap();
        assert_eq!(h, header);
        assert!(!body.is_empty(), "shard {k} is empty");
        joined.push_str(body);
    }
    assert!(joined == full_body, "joined shards differ from the full run");

    // Parquet: all shards wrote into one dataset; read as a table it equals the full run.
    let mut a = read_all(&full.path().join("data/calls"));
    let mut b = read_all(&shards.path().join("data/calls"));
    assert_eq!(a.num_rows(), 150_000);
    // Sort both by call_id: file layout differs (a day split across shards has two parts).
    for batch in [&mut a, &mut b] {
        let ids = arrow::compute::sort_to_indices(batch.column_by_name("call_id").unwrap(), None, None).unwrap();
        *batch = arrow::compute::take_record_batch(batch, &ids).unwrap();
    }
    assert_eq!(a, b);
}

#[test]
fn csv_and_parquet_hold_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &["--rows", "50000", "--days", "7"]);
    let csv = read_all(&dir.path().join("data/simulated_calls.csv"));
    let parquet = read_all(&dir.path().join("data/calls"));
    assert_eq!(csv.num_rows(), 50_000);
    assert_eq!(csv.schema().fields().len(), 27);
    // Same values, column by column (CSV columns read back as nullable; compare the data).
    for (i, field) in parquet.schema().fields().iter().enumerate() {
        assert_eq!(
            csv.column(i).to_data().into_builder().nulls(None).build().unwrap(),
            parquet.column(i).to_data(),
            "column {}",
            field.name()
        );
    }
    // And the Parquet types are the schema's, so readers need no hints.
    assert_eq!(parquet.schema(), *trafficsim::batch::calls::CALLS_SCHEMA);
}

#[test]
fn a_large_run_is_time_ordered_in_csv_and_parquet() {
    // 100,000 rows a day: several units per day, written in order, each sorted.
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &["--rows", "300000", "--days", "3"]);
    for path in ["data/simulated_calls.csv", "data/calls"] {
        let ts = timestamps_us(&read_all(&dir.path().join(path)));
        assert_eq!(ts.len(), 300_000);
        assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{path} is not in time order");
    }
    // Each Parquet row group covers a narrow time range: many row groups per day file.
    let file = std::fs::File::open(dir.path().join("data/calls/date=2025-01-02/part-00000.parquet")).unwrap();
    let meta =
        parquet::file::reader::FileReader::metadata(&parquet::file::reader::SerializedFileReader::new(file).unwrap())
            .clone();
    assert!(meta.num_row_groups() >= 4, "{} row groups", meta.num_row_groups());
    // Their timestamp statistics are present and do not overlap, so time filters prune them.
    let mut last_max = i64::MIN;
    for rg in meta.row_groups() {
        let stats = rg.column(0).statistics().expect("timestamp statistics");
        let (min, max) = match stats {
            parquet::file::statistics::Statistics::Int64(s) => (*s.min_opt().unwrap(), *s.max_opt().unwrap()),
            other => panic!("timestamp statistics of another type: {other:?}"),
        };
        assert!(min >= last_max && max >= min, "row groups overlap in time");
        last_max = max;
    }
}

#[test]
fn a_size_target_plans_the_same_run_at_any_thread_count() {
    // The size pilot and the planner run in parallel too; their result must not depend on it.
    let [one, two] = at_one_and_two_threads(&["--target-size", "8MB", "--days", "5", "--format", "csv"]);
    let csv = |d: &tempfile::TempDir| fs::read(d.path().join("data/simulated_calls.csv")).unwrap();
    assert!(csv(&one) == csv(&two), "the 8MB run differs between 1 and 2 threads");
}
