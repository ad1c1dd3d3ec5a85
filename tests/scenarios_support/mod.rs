//! What the scenario tests share: one scenario generated alone, its rows and its labels.
#![allow(dead_code)] // each test binary uses a part

use std::collections::BTreeMap;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, TimestampMicrosecondType};
use chrono::{Datelike, NaiveDate, NaiveDateTime, Weekday};

use crate::common::*;

pub const HOUR_US: i64 = 3_600_000_000;

/// A scenario's calls and labels.
pub struct Data {
    pub calls: RecordBatch,
    pub labels: Vec<LabelRow>,
    pub start: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct LabelRow {
    pub kind: String,
    pub subject: String,
    pub start_us: i64,
    pub end_us: i64,
    pub magnitude: f64,
    pub detail: String,
}

/// Generates `scenario` alone: `rows` rows over `days` days from `start`.
pub fn run(scenario: &str, rows: u32, days: u32, start: &str, extra: &[&str]) -> Data {
    let dir = tempfile::tempdir().unwrap();
    let (rows, days) = (rows.to_string(), days.to_string());
    let mut args = vec![
        "--scenario",
        scenario,
        "--rows",
        &rows,
        "--days",
        &days,
        "--start-date",
        start,
        "--format",
        "parquet",
    ];
    args.extend_from_slice(extra);
    generate(dir.path(), &args);
    let calls = read_all(&dir.path().join("data/calls"));
    assert!(strings(&calls, "scenario").iter().all(|s| *s == scenario));
    Data {
        calls,
        labels: labels(&read_parquet_file(&dir.path().join("data/labels.parquet"))),
        start: NaiveDate::parse_from_str(start, "%Y-%m-%d").unwrap(),
    }
}

pub fn labels(b: &RecordBatch) -> Vec<LabelRow> {
    let ts = |name: &str| {
        b.column_by_name(name)
            .unwrap()
            .as_primitive::<TimestampMicrosecondType>()
            .clone()
    };
    let (start, end) = (ts("start"), ts("end"));
    let magnitude = b.column_by_name("magnitude").unwrap().as_primitive::<Float64Type>();
    let (kind, subject, detail) = (strings(b, "kind"), strings(b, "subject"), strings(b, "detail"));
    (0..b.num_rows())
        .map(|i| LabelRow {
            kind: kind[i].to_string(),
            subject: subject[i].to_string(),
            start_us: start.value(i),
            end_us: end.value(i),
            magnitude: magnitude.value(i),
            detail: detail[i].to_string(),
        })
        .collect()
}

impl Data {
    pub fn labels_of(&self, kind: &str) -> Vec<&LabelRow> {
        self.labels.iter().filter(|l| l.kind == kind).collect()
    }

    /// Local day index (0 = start date) and local time of every row.
    pub fn local(&self) -> Vec<(i64, NaiveDateTime)> {
        local_datetimes(&self.calls)
            .into_iter()
            .map(|t| ((t.date() - self.start).num_days(), t))
            .collect()
    }

    /// Rows per local day index.
    pub fn per_day(&self, keep: impl Fn(usize) -> bool) -> BTreeMap<i64, f64> {
        let mut out = BTreeMap::new();
        for (i, (day, _)) in self.local().into_iter().enumerate() {
            if keep(i) {
                *out.entry(day).or_insert(0.0) += 1.0;
            }
        }
        out
    }
}

pub fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Least-squares slope of `ys` over `xs`.
pub fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let cov: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let var: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    cov / var
}
