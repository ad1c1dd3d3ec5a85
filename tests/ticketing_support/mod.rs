//! Helpers shared by the ticketing integration tests: run the generator on the ticketing plan,
//! read back only the columns a test needs.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::{Float64Type, Int64Type, TimestampMicrosecondType};
use trafficsim::validate::read::{parquet_files, read_columns, read_dataset_as};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn ticketing_config() -> PathBuf {
    repo().join("config/ticketing.toml")
}

/// Runs `trafficsim` with `args`; panics with its output unless it succeeds.
pub fn trafficsim(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trafficsim"))
        .args(args)
        .output()
        .expect("the binary runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "trafficsim {args:?} failed\nstdout: {stdout}\nstderr: {stderr}"
    );
    stdout
}

/// Generates the ticketing plan into `out` with `args` (Parquet and CSV unless `args` say).
pub fn generate(out: &Path, args: &[&str]) {
    let config = ticketing_config();
    let mut all = vec![
        "generate",
        "--config",
        config.to_str().expect("utf-8 path"),
        "--out",
        out.to_str().expect("utf-8 path"),
        "--quiet",
    ];
    all.extend_from_slice(args);
    trafficsim(&all);
}

/// The transactions' `columns`, every date partition in order, as one batch.
pub fn transactions(out: &Path, columns: &[&str]) -> RecordBatch {
    let dir = out.join("data/transactions");
    let mut batches = Vec::new();
    for file in parquet_files(&dir).expect("the dataset lists") {
        for b in read_columns(&file, columns, &[]).expect("the file reads") {
            batches.push(b.expect("the row group reads"));
        }
    }
    let schema = batches.first().expect("rows").schema();
    concat_batches(&schema, &batches).expect("one schema")
}

/// A single-file table (`events`, `users`, `labels`) from its Parquet file.
pub fn table(out: &Path, name: &str) -> RecordBatch {
    let path = out.join(format!("data/{name}.parquet"));
    let schema = trafficsim::batch::ticketing::events::EVENTS_SCHEMA.clone();
    let batches: Vec<RecordBatch> = read_dataset_as(&path, &schema)
        .expect("the table opens")
        .collect::<anyhow::Result<_>>()
        .expect("the table reads");
    let schema = batches.first().expect("rows").schema();
    concat_batches(&schema, &batches).expect("one schema")
}

pub fn strs(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let a = b
        .column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"))
        .as_string::<i32>();
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i).to_string()))
        .collect()
}

pub fn str_vals(b: &RecordBatch, name: &str) -> Vec<String> {
    strs(b, name).into_iter().map(|s| s.unwrap_or_default()).collect()
}

pub fn ints(b: &RecordBatch, name: &str) -> Vec<i64> {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"))
        .as_primitive::<Int64Type>()
        .values()
        .to_vec()
}

pub fn floats(b: &RecordBatch, name: &str) -> Vec<f64> {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"))
        .as_primitive::<Float64Type>()
        .values()
        .to_vec()
}

pub fn bools(b: &RecordBatch, name: &str) -> Vec<bool> {
    let a = b
        .column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"))
        .as_boolean();
    (0..a.len()).map(|i| a.value(i)).collect()
}

/// Epoch milliseconds of a timestamp column (null as None).
pub fn times(b: &RecordBatch, name: &str) -> Vec<Option<i64>> {
    let a = b
        .column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"))
        .as_primitive::<TimestampMicrosecondType>();
    (0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i) / 1000)).collect()
}

pub fn times_ms(b: &RecordBatch, name: &str) -> Vec<i64> {
    times(b, name).into_iter().map(|t| t.expect("no null time")).collect()
}

/// One label: its kind, subject, window (ms) and magnitude.
#[derive(Debug, Clone)]
pub struct Label {
    pub scenario: String,
    pub kind: String,
    pub subject: String,
    pub start: i64,
    pub end: i64,
    pub magnitude: f64,
    pub detail: String,
}

pub fn labels(out: &Path) -> Vec<Label> {
    let b = table(out, "labels");
    let (scenario, kind, subject, detail) = (
        str_vals(&b, "scenario"),
        str_vals(&b, "kind"),
        str_vals(&b, "subject"),
        str_vals(&b, "detail"),
    );
    let (start, end, magnitude) = (times_ms(&b, "start"), times_ms(&b, "end"), floats(&b, "magnitude"));
    (0..b.num_rows())
        .map(|i| Label {
            scenario: scenario[i].clone(),
            kind: kind[i].clone(),
            subject: subject[i].clone(),
            start: start[i],
            end: end[i],
            magnitude: magnitude[i],
            detail: detail[i].clone(),
        })
        .collect()
}

/// Counts per key.
pub fn counts<K: std::hash::Hash + Eq>(keys: impl IntoIterator<Item = K>) -> HashMap<K, u64> {
    let mut out = HashMap::new();
    for k in keys {
        *out.entry(k).or_insert(0) += 1;
    }
    out
}

/// The platform's local hour (Asia/Riyadh, UTC+3) of epoch milliseconds.
pub fn riyadh_hour(ms: i64) -> i64 {
    (ms / 3_600_000 + 3).rem_euclid(24)
}

/// Epoch milliseconds of the default window's start, 2025-11-03T00:00Z.
pub const WINDOW_START_MS: i64 = 1_762_128_000_000;
pub const DAY_MS: i64 = 86_400_000;

/// The ROC AUC of `scores` against `labels` (Mann-Whitney, ties count half).
pub fn auc(scores: &[f64], labels: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            if labels[order[k]] {
                rank_sum += rank;
            }
        }
        i = j + 1;
    }
    let pos = labels.iter().filter(|&&l| l).count() as f64;
    let neg = labels.len() as f64 - pos;
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// The value at rank ⌈q·n⌉ of the sorted values (1-based), written out; a product a rounding
/// error above an integer (0.95 × 100 = 95.00000000000001) is that integer.
pub fn nearest_rank(sorted: &[i64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let exact = q * sorted.len() as f64;
    let rank = if (exact - exact.round()).abs() < 1e-9 {
        exact.round()
    } else {
        exact.ceil()
    };
    let rank = (rank as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1] as f64)
}

/// Every row of one Parquet file (any schema), as one batch.
pub fn read_parquet(path: &Path) -> RecordBatch {
    let batches: Vec<RecordBatch> =
        read_dataset_as(path, &trafficsim::batch::ticketing::transactions::TRANSACTIONS_SCHEMA)
            .expect("the file opens")
            .collect::<anyhow::Result<_>>()
            .expect("the file reads");
    let schema = batches.first().expect("at least one batch").schema();
    concat_batches(&schema, &batches).expect("batches share a schema")
}
