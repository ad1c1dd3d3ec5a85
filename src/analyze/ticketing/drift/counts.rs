//! The drift queries and the comparisons built on them. Polars counts rows per (day, feature,
//! value), and sums money, tickets and prices per day, in three queries collected together over
//! one scan; any union of days is then summed in Rust, and the PSI and the KS test run on those
//! counts (`stats`), never on rows. Tickets, multipliers, hours and the mixes repeat, so their
//! counts are small; total_amount repeats least (on 10M rows its counts are about 1.6M rows, for
//! 4M rows read): the price of an exact KS test, which needs every distinct value.

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::NaiveDate;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::super::super::Context;
use super::super::super::frame::{floats, ints, strings};
use super::super::super::stats::{bin_index, ks_two_sample, psi, quantile_edges_from_counts};
use super::windows::DaySpan;
use super::{DriftSettings, FeatureScore, WindowScore};
use crate::config::TicketingConfig;

/// How a feature's distribution is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    /// PSI over bins at the reference's quantiles, and the KS test.
    Numeric,
    /// PSI over the categories.
    Categorical,
    /// The UTC hour of day: PSI over the hours, and the KS test on the hour.
    Hour,
}

/// One feature the detector watches.
#[derive(Debug, Clone, Copy)]
pub struct Feature {
    pub name: &'static str,
    pub kind: FeatureKind,
}

/// Every feature, in the page's order.
pub const FEATURES: [Feature; 7] = [
    Feature {
        name: "total_amount",
        kind: FeatureKind::Numeric,
    },
    Feature {
        name: "num_tickets",
        kind: FeatureKind::Numeric,
    },
    Feature {
        name: "price_multiplier",
        kind: FeatureKind::Numeric,
    },
    Feature {
        name: "persona",
        kind: FeatureKind::Categorical,
    },
    Feature {
        name: "payment_method",
        kind: FeatureKind::Categorical,
    },
    Feature {
        name: "device_type",
        kind: FeatureKind::Categorical,
    },
    Feature {
        name: "hour",
        kind: FeatureKind::Hour,
    },
];

/// Shares below this count as this in the PSI, so a bin empty on one side adds a large but
/// finite term (the usual floor).
const PSI_FLOOR: f64 = 1e-4;

/// What one day's rows sum to, for document 004's score (money in cents: exact sums).
#[derive(Debug, Clone, Copy, Default)]
struct DaySums {
    rows: u64,
    amount_cents: i64,
    tickets: i64,
    price_cents: i64,
}

/// Row counts per (feature, day, value) and the day sums.
pub struct DayCounts {
    /// Numeric features and the hour: sorted (value, rows).
    values: BTreeMap<(usize, u32), Vec<(f64, u64)>>,
    categories: BTreeMap<(usize, u32), BTreeMap<String, u64>>,
    sums: BTreeMap<u32, DaySums>,
}

const DAY_US: i64 = 86_400_000_000;
const HOUR_US: i64 = 3_600_000_000;

/// Microseconds since the epoch (UTC). The day and the hour are integer arithmetic on it
/// (`dt().date()` and `dt().hour()` on a zoned column convert every value through the time
/// zone); `/` on integers truncates, which is the floor for the dataset's times after 1970.
fn epoch_us() -> Expr {
    col("timestamp").dt().timestamp(TimeUnit::Microseconds)
}

/// The UTC day of a row, numbered from `first_day`.
fn day_expr(first_day: NaiveDate) -> Expr {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    let first = (first_day - epoch).num_days();
    (epoch_us() / lit(DAY_US) - lit(first))
        .cast(DataType::Int32)
        .alias("day")
}

/// The UTC hour of day of a row, 0–23.
fn hour_expr() -> Expr {
    (epoch_us() / lit(HOUR_US) % lit(24i64)).cast(DataType::Float64)
}

/// A positive amount as integer cents.
fn cents(column: &str) -> Expr {
    (col(column) * lit(100.0) + lit(0.5)).cast(DataType::Int64)
}

/// Rows per (day, key) of one feature: `day`, `feature` (its index in [`FEATURES`]), `key`, `n`.
fn per_value(rows: &LazyFrame, f: usize, key: Expr) -> LazyFrame {
    rows.clone()
        .group_by([col("day"), key.alias("key")])
        .agg([len().cast(DataType::Int64).alias("n")])
        .select([col("day"), lit(f as i32).alias("feature"), col("key"), col("n")])
}

impl DayCounts {
    /// Runs the queries over the rows of `scenarios` (every row when empty): the value counts
    /// of the numeric features, those of the categorical ones, and the day sums, collected
    /// together so the rows are scanned once.
    pub fn collect(ctx: &Context<'_, TicketingConfig>, scenarios: &[String], first_day: NaiveDate) -> Result<Self> {
        let mut rows = ctx.rows();
        if let Some(keep) = scenarios
            .iter()
            .map(|s| col("scenario").eq(lit(s.as_str())))
            .reduce(|a, b| a.or(b))
        {
            rows = rows.filter(keep);
        }
        let rows = rows.with_column(day_expr(first_day));
        let (mut numeric, mut categorical) = (Vec::new(), Vec::new());
        for (f, feature) in FEATURES.iter().enumerate() {
            match feature.kind {
                FeatureKind::Numeric => numeric.push(per_value(&rows, f, col(feature.name).cast(DataType::Float64))),
                FeatureKind::Hour => numeric.push(per_value(&rows, f, hour_expr())),
                FeatureKind::Categorical => {
                    categorical.push(per_value(&rows, f, col(feature.name).cast(DataType::String)))
                }
            }
        }
        let sums = rows.group_by([col("day")]).agg([
            len().cast(DataType::Int64).alias("rows"),
            cents("total_amount").sum().alias("amount_cents"),
            col("num_tickets").cast(DataType::Int64).sum().alias("tickets"),
            cents("price_per_ticket").sum().alias("price_cents"),
        ]);
        let frames = ctx.collect_all(vec![
            concat(numeric, UnionArgs::default())?,
            concat(categorical, UnionArgs::default())?,
            sums,
        ])?;
        let [numeric, categorical, sums] = <[DataFrame; 3]>::try_from(frames)
            .map_err(|f| anyhow::anyhow!("drift: {} frames collected, expected 3", f.len()))?;

        let mut out = DayCounts {
            values: BTreeMap::new(),
            categories: BTreeMap::new(),
            sums: BTreeMap::new(),
        };
        let feature_of = |i: i64| usize::try_from(i).ok().filter(|&f| f < FEATURES.len());
        let (days, features, values, n) = (
            ints(&numeric, "day")?,
            ints(&numeric, "feature")?,
            floats(&numeric, "key")?,
            ints(&numeric, "n")?,
        );
        for i in 0..numeric.height() {
            // A missing value (NaN here) has no place on the axis: left out.
            if let Some(f) = feature_of(features[i])
                && !values[i].is_nan()
            {
                let day = days[i].max(0) as u32;
                out.values.entry((f, day)).or_default().push((values[i], n[i] as u64));
            }
        }
        let (days, features, categories, n) = (
            ints(&categorical, "day")?,
            ints(&categorical, "feature")?,
            strings(&categorical, "key")?,
            ints(&categorical, "n")?,
        );
        for i in 0..categorical.height() {
            if let Some(f) = feature_of(features[i]) {
                let day = days[i].max(0) as u32;
                *out.categories
                    .entry((f, day))
                    .or_default()
                    .entry(categories[i].clone())
                    .or_default() += n[i] as u64;
            }
        }
        for v in out.values.values_mut() {
            *v = coalesce(std::mem::take(v));
        }
        let (days, rows, amount, tickets, price) = (
            ints(&sums, "day")?,
            ints(&sums, "rows")?,
            ints(&sums, "amount_cents")?,
            ints(&sums, "tickets")?,
            ints(&sums, "price_cents")?,
        );
        for i in 0..sums.height() {
            out.sums.insert(
                days[i].max(0) as u32,
                DaySums {
                    rows: rows[i] as u64,
                    amount_cents: amount[i],
                    tickets: tickets[i],
                    price_cents: price[i],
                },
            );
        }
        Ok(out)
    }

    /// Rows of `days`.
    pub fn rows(&self, days: std::ops::Range<u32>) -> u64 {
        self.sums.range(days).map(|(_, s)| s.rows).sum()
    }

    fn rows_of(&self, spans: &[DaySpan]) -> u64 {
        spans.iter().map(|s| self.rows(s.first..s.last + 1)).sum()
    }

    /// Sorted (value, rows) of feature `f` over `spans`.
    fn values(&self, f: usize, spans: &[DaySpan]) -> Vec<(f64, u64)> {
        let all = spans
            .iter()
            .flat_map(|s| s.days())
            .filter_map(|d| self.values.get(&(f, d)))
            .flatten()
            .copied()
            .collect();
        coalesce(all)
    }

    fn categories(&self, f: usize, spans: &[DaySpan]) -> BTreeMap<String, u64> {
        let mut out: BTreeMap<String, u64> = BTreeMap::new();
        for counts in spans
            .iter()
            .flat_map(|s| s.days())
            .filter_map(|d| self.categories.get(&(f, d)))
        {
            for (k, n) in counts {
                *out.entry(k.clone()).or_default() += n;
            }
        }
        out
    }

    /// Mean total_amount, num_tickets and price_per_ticket over `spans`.
    fn means(&self, spans: &[DaySpan]) -> Option<[f64; 3]> {
        let mut t = DaySums::default();
        for s in spans.iter().flat_map(|s| s.days()).filter_map(|d| self.sums.get(&d)) {
            t.rows += s.rows;
            t.amount_cents += s.amount_cents;
            t.tickets += s.tickets;
            t.price_cents += s.price_cents;
        }
        let n = t.rows as f64;
        (t.rows > 0).then(|| {
            [
                t.amount_cents as f64 / 100.0 / n,
                t.tickets as f64 / n,
                t.price_cents as f64 / 100.0 / n,
            ]
        })
    }

    /// Scores `current` against `reference` for the window `span` (labels are the caller's).
    pub fn score(
        &self,
        span: DaySpan,
        current: Vec<DaySpan>,
        reference: Vec<DaySpan>,
        s: &DriftSettings,
    ) -> WindowScore {
        let (current_rows, reference_rows) = (self.rows_of(&current), self.rows_of(&reference));
        let scored = current_rows > 0 && reference_rows > 0;
        let features: Vec<FeatureScore> = if scored {
            (0..FEATURES.len())
                .map(|f| self.feature_score(f, &current, &reference, s))
                .collect()
        } else {
            Vec::new()
        };
        let fired_by: Vec<String> = features
            .iter()
            .filter(|f| f.psi_fired || f.ks_fired)
            .map(|f| f.feature.clone())
            .collect();
        let top = features.iter().reduce(|a, b| if b.psi > a.psi { b } else { a });
        let doc_score = match (self.means(&current), self.means(&reference)) {
            (Some(c), Some(r)) if scored => Some(doc_score(&c, &r)),
            _ => None,
        };
        WindowScore {
            span,
            rows: self.rows_of(&[span]),
            current,
            reference,
            current_rows,
            reference_rows,
            in_reference: false,
            scored,
            label_magnitude: None,
            labelled_drifted: false,
            fired: !fired_by.is_empty(),
            fired_by,
            max_psi: top.map_or(0.0, |f| f.psi),
            max_psi_feature: top.map_or_else(String::new, |f| f.feature.clone()),
            doc_fired: doc_score.is_some_and(|d| d >= s.doc_score_threshold),
            doc_score,
            features,
        }
    }

    fn feature_score(&self, f: usize, current: &[DaySpan], reference: &[DaySpan], s: &DriftSettings) -> FeatureScore {
        let feature = FEATURES[f];
        let (psi_value, bins, ks) = match feature.kind {
            FeatureKind::Categorical => {
                let (r, c) = (self.categories(f, reference), self.categories(f, current));
                let mut keys: Vec<&String> = r.keys().chain(c.keys()).collect();
                keys.sort();
                keys.dedup();
                let count = |m: &BTreeMap<String, u64>| {
                    keys.iter().map(|k| m.get(*k).copied().unwrap_or(0)).collect::<Vec<_>>()
                };
                (psi(&count(&r), &count(&c), PSI_FLOOR), keys.len(), None)
            }
            FeatureKind::Numeric | FeatureKind::Hour => {
                let (r, c) = (self.values(f, reference), self.values(f, current));
                let (rb, cb) = if feature.kind == FeatureKind::Hour {
                    // Each hour its own bin.
                    let hours = coalesce(r.iter().chain(&c).map(|&(v, _)| (v, 0)).collect());
                    let edges: Vec<f64> = hours
                        .iter()
                        .map(|&(v, _)| v)
                        .take(hours.len().saturating_sub(1))
                        .collect();
                    (binned(&r, &edges), binned(&c, &edges))
                } else {
                    let edges = quantile_edges_from_counts(&r, s.psi_bins as usize);
                    (binned(&r, &edges), binned(&c, &edges))
                };
                (psi(&rb, &cb, PSI_FLOOR), rb.len(), Some(ks_two_sample(&r, &c)))
            }
        };
        let ks_fired = ks.is_some_and(|k| k.p_value < s.ks_p_value && k.statistic >= s.ks_min_statistic);
        FeatureScore {
            feature: feature.name.to_string(),
            psi: psi_value,
            bins: bins as u64,
            ks,
            psi_fired: psi_value >= s.psi_threshold,
            ks_fired,
        }
    }
}

/// Rows per bin of `edges` (see `stats::bin_index`).
fn binned(counts: &[(f64, u64)], edges: &[f64]) -> Vec<u64> {
    let mut out = vec![0; edges.len() + 1];
    for &(v, n) in counts {
        out[bin_index(edges, v)] += n;
    }
    out
}

/// Sorted by value, equal values merged.
fn coalesce(mut counts: Vec<(f64, u64)>) -> Vec<(f64, u64)> {
    counts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, u64)> = Vec::with_capacity(counts.len());
    for (v, n) in counts {
        match out.last_mut() {
            Some(last) if last.0 == v => last.1 += n,
            _ => out.push((v, n)),
        }
    }
    out
}

/// Document 004's drift score: the mean over the columns of |Δmean| / reference mean, each term
/// capped at 1 (a column whose reference mean is 0 counts 1 if it moved at all).
pub fn doc_score(current: &[f64; 3], reference: &[f64; 3]) -> f64 {
    let terms = current.iter().zip(reference).map(|(c, r)| {
        if *r == 0.0 {
            if *c == 0.0 { 0.0 } else { 1.0 }
        } else {
            ((c - r).abs() / r.abs()).min(1.0)
        }
    });
    terms.sum::<f64>() / 3.0
}
