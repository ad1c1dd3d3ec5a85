//! Scoring one detector against `is_fraud`. A detector is a lazy frame with one row per purchase
//! attempt it decided on (each attempt is one decision request to the fraud model): its `score`
//! (for the curves), its `flag` (the decision) and the truth. The baseline rules and an external
//! predictions file both become such a frame, so both are scored by the same three group-bys:
//! by (score, flag, truth, pattern) for the confusion counts, the curves, the per-pattern recall
//! and the money; by hour for the alert volume; and by labelled window.

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Utc};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::super::super::Context;
use super::super::super::frame::{floats, ints, strings};
use super::super::super::predictions::{self, Predictions};
use super::super::super::stats::{
    Confusion, CurvePoint, Interval, ScoreCounts, average_precision, pr_curve, roc_auc, thin, wilson_interval,
};
use super::FraudSettings;
use crate::config::TicketingConfig;

/// Confidence of every interval on the page.
pub const CONFIDENCE: f64 = 0.95;
/// Most points of a drawn curve (one point per distinct score before thinning).
pub const MAX_CURVE_POINTS: usize = 200;

/// The columns of a detector frame.
const SCORE: &str = "score";
const FLAG: &str = "flag";
const FRAUD: &str = "is_fraud";
const PATTERN: &str = "fraud_pattern";
const CENTS: &str = "cents";
const TIME: &str = "timestamp";
const HOUR_US: i64 = 3_600_000_000;

/// `total_amount` in integer cents (amounts are positive: +0.5 then truncation rounds), so sums
/// are exact whatever the order Polars adds them in.
fn cents() -> Expr {
    (col("total_amount").cast(DataType::Float64) * lit(100.0) + lit(0.5))
        .cast(DataType::Int64)
        .alias(CENTS)
}

/// The truth columns every detector frame carries besides its score and flag.
fn truth() -> [Expr; 4] {
    [col(FRAUD), col(PATTERN), cents(), col(TIME)]
}

/// The baseline rules: flag an attempt when `risk_score >= risk_threshold` or when at least
/// `min_indicators` of the three indicators are set; the score is `risk_score`.
pub fn baseline(rows: LazyFrame, s: &FraudSettings) -> LazyFrame {
    let indicator = |c: &str| col(c).cast(DataType::Int32);
    let indicators = indicator("device_mismatch") + indicator("geo_mismatch") + indicator("time_anomaly");
    let score = col("risk_score").cast(DataType::Float64);
    let flag = score
        .clone()
        .gt_eq(lit(s.risk_threshold))
        .or(indicators.gt_eq(lit(s.min_indicators as i32)));
    let mut columns = vec![score.alias(SCORE), flag.alias(FLAG)];
    columns.extend(truth());
    rows.select(columns)
}

/// The baseline restricted to the attempts a predictions file covers, for a like-for-like
/// comparison when the file covers only some.
pub fn baseline_on(ctx: &Context<'_, TicketingConfig>, s: &FraudSettings, p: &Predictions) -> LazyFrame {
    let ids = p.frame.clone().lazy().select([col(predictions::ID)]);
    let rows = ctx.rows().join(
        ids,
        [col(predictions::ID)],
        [col(predictions::ID)],
        JoinArgs::new(JoinType::Semi),
    );
    baseline(rows, s)
}

/// An external predictions file joined to the attempts it covers: the flag is its `decision`,
/// or `score >= threshold` when it has only a score; the score is its `score` (0 when it has
/// none: the curves are then not drawn).
pub fn predicted(ctx: &Context<'_, TicketingConfig>, p: &Predictions, threshold: f64) -> LazyFrame {
    let mut keep = vec![col(predictions::ID)];
    if p.has_score {
        keep.push(col(predictions::SCORE));
    }
    if p.has_decision {
        keep.push(col(predictions::DECISION));
    }
    let file = p.frame.clone().lazy().select(keep);
    let mut rows = vec![col(predictions::ID)];
    rows.extend(truth());
    let joined = ctx.rows().select(rows).join(
        file,
        [col(predictions::ID)],
        [col(predictions::ID)],
        JoinArgs::new(JoinType::Inner),
    );
    let score = if p.has_score {
        col(predictions::SCORE).cast(DataType::Float64)
    } else {
        lit(0.0)
    };
    let flag = if p.has_decision {
        col(predictions::DECISION)
    } else {
        score.clone().gt_eq(lit(threshold))
    };
    joined.select([
        score.alias(SCORE),
        flag.alias(FLAG),
        col(FRAUD),
        col(PATTERN),
        col(CENTS),
        col(TIME),
    ])
}

/// A detector scored on the attempts of its frame.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Detection {
    /// Attempts decided on, and how many are fraud (`is_fraud`).
    pub attempts: u64,
    pub fraud: u64,
    /// Attempts flagged.
    pub flagged: u64,
    pub confusion: Confusion,
    /// tp / (tp + fp); 0 when nothing is flagged.
    pub precision: f64,
    pub precision_interval: Interval,
    /// tp / (tp + fn); 0 without fraud.
    pub recall: f64,
    pub recall_interval: Interval,
    pub f1: f64,
    pub false_positive_rate: f64,
    /// Whether the detector has a score (curves and AUC come from it).
    pub has_score: bool,
    /// `None` without a score, or when the attempts lack fraud or legitimate ones.
    pub roc_auc: Option<f64>,
    pub average_precision: Option<f64>,
    /// Distinct scores, i.e. the points of the full curve.
    pub curve_thresholds: u64,
    /// The precision–recall (and ROC) curve, thinned to at most [`MAX_CURVE_POINTS`].
    pub curve: Vec<CurvePoint>,
    pub by_pattern: Vec<PatternRecall>,
    pub money: Money,
}

/// The recall of one fraud pattern.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PatternRecall {
    pub pattern: String,
    pub fraud: u64,
    pub caught: u64,
    pub recall: f64,
    pub recall_interval: Interval,
}

/// `total_amount` of the attempts by outcome, in integer cents.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Money {
    /// Fraud attempts flagged.
    pub fraud_caught_cents: i64,
    /// Fraud attempts let through.
    pub fraud_missed_cents: i64,
    /// Legitimate attempts flagged (the sales a false alarm puts at risk).
    pub legitimate_flagged_cents: i64,
}

impl Money {
    /// Share of the fraud amount caught; 0 without fraud.
    pub fn caught_share(&self) -> f64 {
        let all = self.fraud_caught_cents + self.fraud_missed_cents;
        if all == 0 {
            0.0
        } else {
            self.fraud_caught_cents as f64 / all as f64
        }
    }
}

/// Scores the detector `frame` (see [`baseline`], [`predicted`]): one group-by.
pub fn detection(ctx: &Context<'_, TicketingConfig>, frame: LazyFrame, has_score: bool) -> Result<Detection> {
    let df = ctx.collect(
        frame
            .group_by([col(SCORE), col(FLAG), col(FRAUD), col(PATTERN)])
            .agg([len().cast(DataType::Int64).alias("n"), col(CENTS).sum().alias(CENTS)]),
    )?;
    let (score, flag, fraud, pattern) = (
        floats(&df, SCORE)?,
        bools(&df, FLAG)?,
        bools(&df, FRAUD)?,
        strings(&df, PATTERN)?,
    );
    let (n, cents) = (ints(&df, "n")?, ints(&df, CENTS)?);
    let mut confusion = Confusion::default();
    let mut money = Money::default();
    let mut curve: Vec<ScoreCounts> = Vec::with_capacity(df.height());
    let mut patterns: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for i in 0..df.height() {
        let rows = n[i] as u64;
        match (fraud[i], flag[i]) {
            (true, true) => {
                confusion.tp += rows;
                money.fraud_caught_cents += cents[i];
            }
            (true, false) => {
                confusion.fn_ += rows;
                money.fraud_missed_cents += cents[i];
            }
            (false, true) => {
                confusion.fp += rows;
                money.legitimate_flagged_cents += cents[i];
            }
            (false, false) => confusion.tn += rows,
        }
        if fraud[i] {
            let name = if pattern[i].is_empty() { "(none)" } else { &pattern[i] };
            let p = patterns.entry(name.to_string()).or_default();
            p.0 += rows;
            p.1 += if flag[i] { rows } else { 0 };
        }
        // A NaN score (an empty risk_score) cannot be ranked; it counts in the confusion only.
        if !score[i].is_nan() {
            curve.push((
                score[i],
                if fraud[i] { rows } else { 0 },
                if fraud[i] { 0 } else { rows },
            ));
        }
    }
    let full_curve = if has_score { pr_curve(&curve) } else { Vec::new() };
    Ok(Detection {
        attempts: confusion.tp + confusion.fp + confusion.fn_ + confusion.tn,
        fraud: confusion.tp + confusion.fn_,
        flagged: confusion.tp + confusion.fp,
        precision: confusion.precision(),
        precision_interval: confusion.precision_interval(CONFIDENCE),
        recall: confusion.recall(),
        recall_interval: confusion.recall_interval(CONFIDENCE),
        f1: confusion.f1(),
        false_positive_rate: confusion.false_positive_rate(),
        confusion,
        has_score,
        roc_auc: if has_score { roc_auc(&curve) } else { None },
        average_precision: if has_score { average_precision(&curve) } else { None },
        curve_thresholds: full_curve.len() as u64,
        curve: thin(&full_curve, MAX_CURVE_POINTS),
        by_pattern: patterns
            .into_iter()
            .map(|(pattern, (fraud, caught))| PatternRecall {
                recall: ratio(caught, fraud),
                recall_interval: wilson_interval(caught, fraud, CONFIDENCE),
                pattern,
                fraud,
                caught,
            })
            .collect(),
        money,
    })
}

/// One hour's attempts, fraud and flags.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct HourCounts {
    pub attempts: u64,
    pub fraud: u64,
    pub flagged: u64,
    /// Flagged fraud.
    pub caught: u64,
}

/// The start of the attempt's hour, µs since the epoch (timestamps are after 1970: the remainder
/// is not negative).
fn hour_start_us() -> Expr {
    let t = || col(TIME).cast(DataType::Int64);
    t() - t() % lit(HOUR_US)
}

/// Counts per hour (hours since the epoch), only the hours with attempts.
pub fn hourly(ctx: &Context<'_, TicketingConfig>, frame: LazyFrame) -> Result<BTreeMap<i64, HourCounts>> {
    let as_int = |e: Expr| e.cast(DataType::Int64).sum();
    let df = ctx.collect(frame.group_by([hour_start_us().alias("hour")]).agg([
        len().cast(DataType::Int64).alias("n"),
        as_int(col(FRAUD)).alias("fraud"),
        as_int(col(FLAG)).alias("flagged"),
        as_int(col(FLAG).and(col(FRAUD))).alias("caught"),
    ]))?;
    let (hour, n, fraud, flagged, caught) = (
        ints(&df, "hour")?,
        ints(&df, "n")?,
        ints(&df, "fraud")?,
        ints(&df, "flagged")?,
        ints(&df, "caught")?,
    );
    Ok((0..df.height())
        .map(|i| {
            (
                hour[i].div_euclid(HOUR_US),
                HourCounts {
                    attempts: n[i] as u64,
                    fraud: fraud[i] as u64,
                    flagged: flagged[i] as u64,
                    caught: caught[i] as u64,
                },
            )
        })
        .collect())
}

pub use crate::analyze::frame::hour_start;

/// The hour since the epoch that holds `t`.
pub fn hour_of(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros().div_euclid(HOUR_US)
}

/// A detector's counts on the attempts inside a labelled window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WindowCounts {
    pub attempts: u64,
    pub fraud: u64,
    pub confusion: Confusion,
    /// `None` without fraud in the window.
    pub recall: Option<f64>,
    pub recall_interval: Interval,
    /// `None` when nothing in the window was flagged.
    pub precision: Option<f64>,
    pub precision_interval: Interval,
}

impl WindowCounts {
    fn new(confusion: Confusion) -> WindowCounts {
        let fraud = confusion.tp + confusion.fn_;
        let flagged = confusion.tp + confusion.fp;
        WindowCounts {
            attempts: fraud + confusion.fp + confusion.tn,
            fraud,
            recall: (fraud > 0).then(|| confusion.recall()),
            recall_interval: confusion.recall_interval(CONFIDENCE),
            precision: (flagged > 0).then(|| confusion.precision()),
            precision_interval: confusion.precision_interval(CONFIDENCE),
            confusion,
        }
    }
}

/// A set of time ranges `[start, end)` in µs since the epoch: one labelled window, or several
/// taken together.
pub type Ranges = Vec<(i64, i64)>;

/// The detector's counts inside each of `sets`, in order: one query (a union of filtered
/// group-bys).
pub fn in_windows(ctx: &Context<'_, TicketingConfig>, frame: LazyFrame, sets: &[Ranges]) -> Result<Vec<WindowCounts>> {
    let parts: Vec<LazyFrame> = sets
        .iter()
        .enumerate()
        .map(|(i, ranges)| {
            let t = || col(TIME).cast(DataType::Int64);
            let inside = ranges
                .iter()
                .map(|&(start, end)| t().gt_eq(lit(start)).and(t().lt(lit(end))))
                .reduce(Expr::or)
                .unwrap_or(lit(false));
            frame
                .clone()
                .filter(inside)
                .group_by([col(FRAUD), col(FLAG)])
                .agg([len().cast(DataType::Int64).alias("n")])
                .with_column(lit(i as i64).alias("set"))
        })
        .collect();
    let mut out = vec![Confusion::default(); sets.len()];
    if !parts.is_empty() {
        let df = ctx.collect(concat(parts, UnionArgs::default())?)?;
        let (set, fraud, flag, n) = (
            ints(&df, "set")?,
            bools(&df, FRAUD)?,
            bools(&df, FLAG)?,
            ints(&df, "n")?,
        );
        for i in 0..df.height() {
            let (c, rows) = (&mut out[set[i] as usize], n[i] as u64);
            match (fraud[i], flag[i]) {
                (true, true) => c.tp += rows,
                (true, false) => c.fn_ += rows,
                (false, true) => c.fp += rows,
                (false, false) => c.tn += rows,
            }
        }
    }
    Ok(out.into_iter().map(WindowCounts::new).collect())
}

/// A boolean column (a null becomes false).
fn bools(df: &DataFrame, name: &str) -> Result<Vec<bool>> {
    let c = df.column(name)?.cast(&DataType::Boolean)?;
    Ok(c.bool()?.iter().map(|v| v.unwrap_or(false)).collect())
}

/// `num / den`, or 0 when `den` is 0.
pub fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 { 0.0 } else { num as f64 / den as f64 }
}
