//! The Replay page's figures, from `results.parquet` (read once, a few columns) and the
//! dataset's labels and ground truth. Percentiles are nearest-rank over the recorded µs, the
//! definition the service page uses; the headline percentiles are replay's own HdrHistogram's.

use anyhow::Result;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::super::Context;
use super::super::frame::{ints, strings};
use super::super::stats::detection::Confusion;
use super::super::stats::nearest_rank;
use super::super::ticketing::labels::{self, Label};
use super::{ReplayRun, ratio};
use crate::sink::layout::LABELS;

/// Most points of the per-second chart: longer replays are bucketed.
const MAX_POINTS: i64 = 1_200;

/// One bucket of the schedule (`bucket_s` seconds from `offset_s`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SecondPoint {
    pub offset_s: i64,
    pub bucket_s: i64,
    /// Requests due in the bucket, and sent in it.
    pub scheduled: u64,
    pub sent: u64,
    /// Requests due in the bucket that failed.
    pub failed: u64,
    /// p99 latency of the requests due in the bucket.
    pub p99_ms: Option<f64>,
}

/// Levels of a set of requests: a degradation window's (by the rows' time), or the rest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct WindowLevels {
    /// `YYYY-MM-DDTHH:MM` of the window's start (the checks' key); empty for the rest.
    pub key: String,
    pub name: String,
    pub label: Option<Label>,
    pub requests: u64,
    pub sent: u64,
    pub failed: u64,
    pub error_rate: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Seconds after the replay's start of the window's first and last request.
    pub replay_from_s: Option<f64>,
    pub replay_to_s: Option<f64>,
}

/// The service's decisions scored against `is_fraud`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Decisions {
    /// How a decision was read: the answer's `is_fraud`, or its score ≥ 0.5.
    pub rule: String,
    pub decided: u64,
    pub flagged: u64,
    pub confusion: Confusion,
    pub precision: f64,
    pub recall: f64,
}

/// The results' columns the page reads, as vectors (µs; -1 for a missing time or latency).
pub struct Rows {
    row_us: Vec<i64>,
    due_us: Vec<i64>,
    sent_us: Vec<i64>,
    latency_us: Vec<i64>,
    /// Failed (sent, not ok).
    failed: Vec<bool>,
    /// A latency a user felt: an answer, or a timeout.
    felt: Vec<bool>,
}

/// The results' columns the page reads, read once for both the windows and the seconds.
pub fn rows<C>(ctx: &Context<'_, C>, run: &ReplayRun) -> Result<Rows> {
    let micros = |c: &str| {
        col(c)
            .dt()
            .timestamp(TimeUnit::Microseconds)
            .fill_null(lit(-1i64))
            .alias(c)
    };
    let df = ctx.collect(run.results.clone().select([
        micros("row_timestamp"),
        micros("scheduled_at"),
        micros("sent_at"),
        col("latency_us").fill_null(lit(-1i64)),
        col("outcome"),
        col("http_status").is_not_null().alias("answered"),
        col("error_kind").fill_null(lit("")),
    ]))?;
    let outcome = strings(&df, "outcome")?;
    let kind = strings(&df, "error_kind")?;
    let answered = df.column("answered")?.bool()?.iter().map(|v| v == Some(true));
    Ok(Rows {
        row_us: ints(&df, "row_timestamp")?,
        due_us: ints(&df, "scheduled_at")?,
        sent_us: ints(&df, "sent_at")?,
        latency_us: ints(&df, "latency_us")?,
        failed: outcome.iter().map(|o| o == "failed").collect(),
        felt: answered.zip(&kind).map(|(a, k)| a || k == "timeout").collect(),
    })
}

/// The dataset's labelled degradation windows (none when it has no labels table).
pub fn degradation_windows<C>(ctx: &Context<'_, C>) -> Result<Vec<Label>> {
    if ctx.table(LABELS).is_err() {
        return Ok(Vec::new());
    }
    Ok(labels::of_kind(&labels::read(ctx)?, "degradation").cloned().collect())
}

/// Levels inside each window the replayed rows reach, and outside them all.
pub fn window_levels(r: &Rows, run: &ReplayRun, windows: &[Label]) -> (Vec<WindowLevels>, WindowLevels) {
    let start = run.summary.started_at.timestamp_micros();
    let which = |t: i64| windows.iter().position(|w| w.contains_us(t));
    let mut parts: Vec<Vec<usize>> = vec![Vec::new(); windows.len() + 1];
    for (i, &t) in r.row_us.iter().enumerate() {
        parts[which(t).unwrap_or(windows.len())].push(i);
    }
    let levels = |idx: &[usize]| -> WindowLevels {
        let mut latencies: Vec<(i64, u64)> = idx
            .iter()
            .filter(|&&i| r.felt[i] && r.latency_us[i] >= 0)
            .map(|&i| (r.latency_us[i], 1))
            .collect();
        latencies.sort_unstable();
        let sent = idx.iter().filter(|&&i| r.sent_us[i] >= 0).count() as u64;
        let failed = idx.iter().filter(|&&i| r.failed[i]).count() as u64;
        let offset = |i: usize| (r.due_us[i] - start) as f64 / 1e6;
        WindowLevels {
            requests: idx.len() as u64,
            sent,
            failed,
            error_rate: ratio(failed, sent),
            p50_ms: nearest_rank(&latencies, 0.50).map(|v| v as f64 / 1e3),
            p99_ms: nearest_rank(&latencies, 0.99).map(|v| v as f64 / 1e3),
            replay_from_s: idx.first().map(|&i| offset(i)),
            replay_to_s: idx.last().map(|&i| offset(i)),
            ..WindowLevels::default()
        }
    };
    let outside = WindowLevels {
        name: "outside every degradation window".into(),
        ..levels(&parts[windows.len()])
    };
    let inside = windows
        .iter()
        .zip(&parts)
        .filter(|(_, idx)| !idx.is_empty())
        .map(|(w, idx)| WindowLevels {
            key: w.start.format("%Y-%m-%dT%H:%M").to_string(),
            name: w.window_name(),
            label: Some(w.clone()),
            ..levels(idx)
        })
        .collect();
    (inside, outside)
}

/// The schedule second by second (or in wider buckets, at most [`MAX_POINTS`]).
pub fn seconds(r: &Rows, run: &ReplayRun) -> Vec<SecondPoint> {
    let start = run.summary.started_at.timestamp_micros();
    let last = r.due_us.iter().chain(&r.sent_us).copied().max().unwrap_or(start);
    let span_s = ((last - start).max(0) / 1_000_000) + 1;
    let bucket_s = (span_s + MAX_POINTS - 1) / MAX_POINTS;
    let n = (span_s / bucket_s + 1) as usize;
    let bucket = |t: i64| (((t - start).max(0) / 1_000_000) / bucket_s) as usize;
    let mut points: Vec<SecondPoint> = (0..n)
        .map(|b| SecondPoint {
            offset_s: b as i64 * bucket_s,
            bucket_s,
            scheduled: 0,
            sent: 0,
            failed: 0,
            p99_ms: None,
        })
        .collect();
    let mut latencies: Vec<Vec<(i64, u64)>> = vec![Vec::new(); n];
    for i in 0..r.due_us.len() {
        let b = bucket(r.due_us[i]).min(n - 1);
        points[b].scheduled += 1;
        points[b].failed += u64::from(r.failed[i]);
        if r.felt[i] && r.latency_us[i] >= 0 {
            latencies[b].push((r.latency_us[i], 1));
        }
        if r.sent_us[i] >= 0 {
            points[bucket(r.sent_us[i]).min(n - 1)].sent += 1;
        }
    }
    for (p, mut l) in points.iter_mut().zip(latencies) {
        l.sort_unstable();
        p.p99_ms = nearest_rank(&l, 0.99).map(|v| v as f64 / 1e3);
    }
    points
}

/// The answers' decisions against `is_fraud`, joined on the id (ticketing only).
pub fn decisions<C>(ctx: &Context<'_, C>, run: &ReplayRun) -> Result<Option<Decisions>> {
    let s = &run.summary;
    if s.workload != "ticketing" || s.predictions == 0 {
        return Ok(None);
    }
    let id = s.id_column.as_str();
    let answered = ctx.collect(
        run.results
            .clone()
            .filter(col("decision").is_not_null().or(col("score").is_not_null()))
            .select([
                col(id),
                col("decision").is_not_null().alias("has_decision"),
                col("decision")
                    .fill_null(col("score").gt_eq(lit(crate::replay::outcome::FLAGGED_AT)))
                    .alias("flagged"),
            ])
            .join(
                ctx.rows().select([col("transaction_id"), col("is_fraud")]),
                [col(id)],
                [col("transaction_id")],
                JoinArgs::new(JoinType::Inner),
            )
            .group_by([col("flagged"), col("is_fraud")])
            .agg([len().alias("n"), col("has_decision").all(true).alias("all_decided")]),
    )?;
    let flagged: Vec<bool> = answered
        .column("flagged")?
        .bool()?
        .iter()
        .map(|v| v == Some(true))
        .collect();
    let fraud: Vec<bool> = answered
        .column("is_fraud")?
        .bool()?
        .iter()
        .map(|v| v == Some(true))
        .collect();
    let all_decided = answered.column("all_decided")?.bool()?.iter().all(|v| v == Some(true));
    let n = ints(&answered, "n")?;
    let mut c = Confusion::default();
    for ((f, y), n) in flagged.into_iter().zip(fraud).zip(n) {
        let n = n as u64;
        match (f, y) {
            (true, true) => c.tp += n,
            (true, false) => c.fp += n,
            (false, true) => c.fn_ += n,
            (false, false) => c.tn += n,
        }
    }
    Ok(Some(Decisions {
        rule: if all_decided {
            "the answer's is_fraud".into()
        } else {
            format!(
                "the answer's is_fraud, else its score ≥ {}",
                crate::replay::outcome::FLAGGED_AT
            )
        },
        decided: c.tp + c.fp + c.fn_ + c.tn,
        flagged: c.tp + c.fp,
        precision: c.precision(),
        recall: c.recall(),
        confusion: c,
    }))
}
