//! What a replay leaves behind, in `--out` (replaced as a whole once complete):
//! - `results.parquet`: one row per scheduled request (sent, failed, or not sent with why);
//! - `predictions.parquet`: the service's answers as a predictions file (`transaction_id`,
//!   `score`, `decision`) that the fraud page and `trafficsim check` score against the labels;
//! - `replay.json`: the run's settings, totals and HdrHistogram percentiles.
//!
//! The Parquet files carry the replayed data's provenance (version, seed, plan hash).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::collect::Collected;
use super::driver::wall;
use super::outcome::Outcome;
use super::schedule::Pace;
use crate::config::Formats;
use crate::sink::atomic::{AtomicFile, StagedDir};
use crate::sink::parquet::Provenance;
use crate::sink::table::write_table;

/// The files of a replay directory.
pub const RESULTS: &str = "results";
pub const PREDICTIONS: &str = "predictions";
pub const SUMMARY: &str = "replay.json";

/// A request left late when it left more than this after it was due (µs).
pub const LATE_US: u64 = 1_000;

/// `replay.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReplaySummary {
    pub trafficsim_version: String,
    pub target: String,
    pub input: String,
    /// `ticketing` or `calls`.
    pub workload: String,
    /// The results' id column (`transaction_id` or `request_id`).
    pub id_column: String,
    pub pace: Pace,
    pub scenario: Option<String>,
    pub concurrency: usize,
    pub timeout_ms: u64,
    pub max_requests: u64,
    pub duration_s: f64,
    pub started_at: DateTime<Utc>,
    pub elapsed_s: f64,
    pub scheduled: u64,
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    pub not_sent: u64,
    /// Requests that left more than 1 ms after they were due.
    pub late: u64,
    /// The schedule's rate and the rate achieved (requests per second over the sending span).
    pub target_rps: f64,
    pub achieved_rps: f64,
    /// Latency from the scheduled time: answers of any status, and timeouts at the timeout.
    pub latency_ms: Percentiles,
    /// How late requests left after they were due.
    pub send_delay_ms: Percentiles,
    /// Failures and not-sent requests by kind (`http_503`, `timeout`, `connect`, …).
    pub errors: BTreeMap<String, u64>,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<u16, u64>,
    /// Answers with a score or a decision, written to `predictions.parquet`.
    pub predictions: u64,
}

/// Percentiles of an HdrHistogram, in ms.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Percentiles {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        let ms = |us: u64| us as f64 / 1e3;
        Percentiles {
            count: h.len(),
            mean: h.mean() / 1e3,
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

/// The settings a summary repeats.
pub struct RunFacts<'a> {
    pub target: &'a str,
    pub input: &'a Path,
    pub workload: &'a str,
    pub id_column: &'a str,
    pub pace: Pace,
    pub scenario: Option<&'a str>,
    pub concurrency: usize,
    pub timeout_ms: u64,
    pub max_requests: u64,
    pub duration_s: f64,
}

/// Totals and percentiles of a replay.
pub fn summarize(facts: &RunFacts<'_>, c: &Collected) -> ReplaySummary {
    let o = &c.outcomes;
    let span = |times: &mut dyn Iterator<Item = u64>| -> Option<(u64, u64, u64)> {
        times.fold(None, |acc, t| match acc {
            None => Some((t, t, 1)),
            Some((lo, hi, n)) => Some((lo.min(t), hi.max(t), n + 1)),
        })
    };
    let rate = |s: Option<(u64, u64, u64)>| match s {
        Some((lo, hi, n)) if hi > lo => (n - 1) as f64 / ((hi - lo) as f64 / 1e9),
        _ => 0.0,
    };
    let mut errors = BTreeMap::new();
    let mut statuses = BTreeMap::new();
    for x in o {
        if let Some(s) = x.status {
            *statuses.entry(s).or_insert(0) += 1;
        }
        if let Some(e) = x.error {
            let key = match (e, x.status) {
                (super::outcome::ErrorKind::HttpStatus, Some(s)) => format!("http_{s}"),
                _ => e.as_str().to_string(),
            };
            *errors.entry(key).or_insert(0) += 1;
        }
    }
    ReplaySummary {
        trafficsim_version: env!("CARGO_PKG_VERSION").to_string(),
        target: facts.target.to_string(),
        input: facts.input.display().to_string(),
        workload: facts.workload.to_string(),
        id_column: facts.id_column.to_string(),
        pace: facts.pace,
        scenario: facts.scenario.map(str::to_string),
        concurrency: facts.concurrency,
        timeout_ms: facts.timeout_ms,
        max_requests: facts.max_requests,
        duration_s: facts.duration_s,
        started_at: c.started_at,
        elapsed_s: c.elapsed.as_secs_f64(),
        scheduled: o.len() as u64,
        sent: c.progress.sent,
        ok: c.progress.ok,
        failed: c.progress.failed,
        not_sent: c.progress.not_sent,
        late: o
            .iter()
            .filter(|x| x.send_delay_us().is_some_and(|d| d > LATE_US))
            .count() as u64,
        target_rps: rate(span(&mut o.iter().map(|x| x.due_ns))),
        achieved_rps: rate(span(&mut o.iter().filter_map(|x| x.sent_ns))),
        latency_ms: Percentiles::of(&c.latency),
        send_delay_ms: Percentiles::of(&c.send_delay),
        errors,
        statuses,
        predictions: o.iter().filter(|x| x.score.is_some() || x.decision.is_some()).count() as u64,
    }
}

/// The results file's schema; `id` is the dataset's id column.
pub fn results_schema(id: &str) -> SchemaRef {
    let time = || DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new(id, DataType::Utf8, false),
        Field::new("row_timestamp", time(), false),
        Field::new("scheduled_at", time(), false),
        Field::new("sent_at", time(), true),
        Field::new("latency_us", DataType::Int64, true),
        Field::new("send_delay_us", DataType::Int64, true),
        Field::new("outcome", DataType::Utf8, false),
        Field::new("http_status", DataType::Int64, true),
        Field::new("error_kind", DataType::Utf8, true),
        Field::new("score", DataType::Float64, true),
        Field::new("decision", DataType::Boolean, true),
    ]))
}

/// Rows per batch (and row group) of the results.
const CHUNK: usize = 65_536;

fn results_batch(schema: &SchemaRef, start: DateTime<Utc>, rows: &[Outcome]) -> Result<RecordBatch> {
    let n = rows.len();
    let time = || TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    let (mut id, mut row_ts, mut due, mut sent) = (StringBuilder::new(), time(), time(), time());
    let (mut latency, mut delay, mut status) = (Int64Builder::new(), Int64Builder::new(), Int64Builder::new());
    let (mut outcome, mut kind) = (StringBuilder::new(), StringBuilder::new());
    let (mut score, mut decision) = (Float64Builder::new(), BooleanBuilder::new());
    for o in rows {
        id.append_value(&o.id);
        row_ts.append_value(o.row_us);
        due.append_value(wall(start, o.due_ns));
        sent.append_option(o.sent_ns.map(|s| wall(start, s)));
        latency.append_option(o.latency_us().map(|v| v as i64));
        delay.append_option(o.send_delay_us().map(|v| v as i64));
        outcome.append_value(o.outcome());
        status.append_option(o.status.map(i64::from));
        kind.append_option(o.error.map(|e| e.as_str()));
        score.append_option(o.score);
        decision.append_option(o.decision);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(row_ts.finish()),
        Arc::new(due.finish()),
        Arc::new(sent.finish()),
        Arc::new(latency.finish()),
        Arc::new(delay.finish()),
        Arc::new(outcome.finish()),
        Arc::new(status.finish()),
        Arc::new(kind.finish()),
        Arc::new(score.finish()),
        Arc::new(decision.finish()),
    ];
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

fn predictions_batch(rows: &[Outcome]) -> Result<RecordBatch> {
    let answered: Vec<&Outcome> = rows
        .iter()
        // A score outside [0, 1] is no probability: kept in the results, left out here.
        .filter(|o| o.decision.is_some() || o.score.is_some_and(|s| (0.0..=1.0).contains(&s)))
        .collect();
    let mut id = StringBuilder::new();
    let (mut score, mut decision) = (Float64Builder::new(), BooleanBuilder::new());
    for o in &answered {
        id.append_value(&o.id);
        score.append_option(o.score.filter(|s| (0.0..=1.0).contains(s)));
        decision.append_option(o.decision);
    }
    let mut fields = vec![Field::new("transaction_id", DataType::Utf8, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(id.finish())];
    // A column only when every answer has it: the predictions file allows no gaps.
    if answered
        .iter()
        .all(|o| o.score.is_some_and(|s| (0.0..=1.0).contains(&s)))
    {
        fields.push(Field::new("score", DataType::Float64, false));
        columns.push(Arc::new(score.finish()));
    }
    if answered.iter().all(|o| o.decision.is_some()) {
        fields.push(Field::new("decision", DataType::Boolean, false));
        columns.push(Arc::new(decision.finish()));
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

/// Writes the replay directory `out` (replacing it once complete); returns whether a
/// predictions file was written.
pub fn write(
    out: &Path,
    summary: &ReplaySummary,
    c: &Collected,
    ticketing: bool,
    provenance: &Provenance,
) -> Result<bool> {
    let staged = StagedDir::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let dir = staged.staging();
    let parquet = Formats {
        csv: false,
        parquet: true,
    };
    let schema = results_schema(&summary.id_column);
    let batches = c
        .outcomes
        .chunks(CHUNK)
        .map(|rows| results_batch(&schema, c.started_at, rows));
    write_table(dir, RESULTS, parquet, &schema, provenance, batches)?;
    let predictions = ticketing && summary.predictions > 0;
    if predictions {
        let batch = predictions_batch(&c.outcomes)?;
        let schema = batch.schema();
        write_table(dir, PREDICTIONS, parquet, &schema, provenance, [Ok(batch)])?;
    }
    let path = dir.join(SUMMARY);
    let mut f = AtomicFile::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all((serde_json::to_string_pretty(summary)? + "\n").as_bytes())?;
    f.commit()?;
    staged
        .commit()
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(predictions)
}
