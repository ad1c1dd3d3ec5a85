//! The service page's Polars queries: each groups the attempts by one key (UTC minute and
//! scenario, hour, scenario, degradation window, second) into a small frame of counts and
//! nearest-rank latency percentiles; everything else is plain Rust over those frames.
//!
//! Shared with the scenarios page: the time buckets ([`bucket`]), the `ok_ms` column (the latency
//! of successful decisions, null otherwise) and the counts with percentiles ([`levels`], [`grouped`]).

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Utc};
use polars::prelude::*;

use super::super::super::Context;
use super::super::super::frame::{floats, ints, strings};
use super::levels::{Tally, TimePoint};
use crate::config::TicketingConfig;

pub const SECOND_US: i64 = 1_000_000;
pub const MINUTE_US: i64 = 60 * SECOND_US;
pub const HOUR_US: i64 = 60 * MINUTE_US;

/// A successful decision: the platform answered the purchase attempt.
pub const OK: i64 = 200;
/// Turned away by the rate limiter (answered in ~2 ms): not a decision, and not an error by
/// default.
pub const RATE_LIMITED: i64 = 429;

/// The attempt's time in µs since the epoch.
pub fn micros() -> Expr {
    col("timestamp").cast(DataType::Int64)
}

/// The start (µs) of the `width_us` bucket holding the attempt (timestamps are after 1970, so
/// integer division floors).
pub fn bucket(width_us: i64) -> Expr {
    (micros() / lit(width_us)) * lit(width_us)
}

/// The latency of a successful decision (200), null for every other answer: percentiles over
/// this column ignore errors, timeouts and rate-limited requests.
pub fn ok_ms() -> Expr {
    when(col("api_status").eq(lit(OK)))
        .then(col("decision_latency_ms").cast(DataType::Float64))
        .otherwise(lit(NULL).cast(DataType::Float64))
        .alias("ok_ms")
}

/// Requests the rate limiter turned away (429), counted per group.
fn rate_limited() -> Expr {
    col("api_status")
        .eq(lit(RATE_LIMITED))
        .sum()
        .cast(DataType::Int64)
        .alias("rate_limited")
}

/// Requests answered with an error (neither 200 nor 429: 503, 504), counted per group.
fn errors() -> Expr {
    let status = || col("api_status");
    (status().neq(lit(OK)).and(status().neq(lit(RATE_LIMITED))))
        .sum()
        .cast(DataType::Int64)
        .alias("errors")
}

/// Whether `t` (µs) lies in one of `ranges` (`[start, end)` in µs).
pub fn in_ranges(ranges: &[(i64, i64)]) -> Expr {
    ranges.iter().fold(lit(false), |acc, &(s, e)| {
        acc.or(micros().gt_eq(lit(s)).and(micros().lt(lit(e))))
    })
}

/// The index of the first of `ranges` that holds the attempt, or -1.
pub fn range_index(ranges: &[(i64, i64)]) -> Expr {
    ranges
        .iter()
        .enumerate()
        .rev()
        .fold(lit(-1i64), |otherwise, (i, &(s, e))| {
            when(micros().gt_eq(lit(s)).and(micros().lt(lit(e))))
                .then(lit(i as i64))
                .otherwise(otherwise)
        })
}

/// Requests, rate-limited and failed counts and the nearest-rank p50/p95/p99 of `ok_ms` of the
/// attempts of `rows` grouped by the columns `keys`, for each of `parts`: `(None, "")` is every
/// attempt of the group, `(Some(flag), prefix)` those where the boolean column `flag` holds, with
/// columns named with `prefix` (a part's levels in the same pass as the whole's).
///
/// Two stages: one streaming pass counts attempts per (group, flags, latency in ms), a frame of
/// thousands of rows, and the percentiles come from its cumulative counts. A quantile
/// aggregation would hold every latency of a group (700 MB for 10M attempts). The rank is
/// ⌈q·n⌉ as in [`crate::analyze::stats::nearest_rank`], a product that lands a rounding error
/// above an integer taken as that integer.
pub fn levels(
    ctx: &Context<'_, TicketingConfig>,
    rows: LazyFrame,
    keys: &[&str],
    parts: &[(Option<&str>, &str)],
) -> Result<DataFrame> {
    let key_cols = || keys.iter().map(|k| col(*k)).collect::<Vec<_>>();
    let flags: Vec<&str> = parts.iter().filter_map(|(flag, _)| *flag).collect();
    let mut by = key_cols();
    by.extend(flags.iter().map(|f| col(*f)));
    by.push(col("ok_ms"));
    let histogram = ctx
        .collect(rows.with_column(ok_ms()).group_by(by).agg([
            len().cast(DataType::Int64).alias("n"),
            rate_limited(),
            errors(),
        ]))?
        .lazy();
    let mut out: Option<LazyFrame> = None;
    for &(flag, prefix) in parts {
        let name = |n: &str| format!("{prefix}{n}");
        let part = match flag {
            Some(f) => histogram.clone().filter(col(f)),
            None => histogram.clone(),
        };
        let counts = part.clone().group_by(key_cols()).agg([
            col("n").sum().cast(DataType::Int64).alias(name("requests")),
            col("rate_limited")
                .sum()
                .cast(DataType::Int64)
                .alias(name("rate_limited")),
            col("errors").sum().cast(DataType::Int64).alias(name("errors")),
            col("n")
                .filter(col("ok_ms").is_not_null())
                .sum()
                .cast(DataType::Int64)
                .alias(name("decisions")),
        ]);
        let mut order = key_cols();
        order.push(col("ok_ms"));
        let at_rank = |q: f64, n: &str| {
            // cumulative ≥ q·n ⟺ cumulative ≥ ⌈q·n⌉ for an integer count.
            let rank = col("total").cast(DataType::Float64) * lit(q * (1.0 - 1e-12));
            col("ok_ms")
                .filter(col("cumulative").cast(DataType::Float64).gt_eq(rank))
                .first()
                .alias(name(n))
        };
        let percentiles = part
            .filter(col("ok_ms").is_not_null())
            .group_by(key_cols().into_iter().chain([col("ok_ms")]).collect::<Vec<_>>())
            .agg([col("n").sum()])
            .sort_by_exprs(order, SortMultipleOptions::default())
            .with_columns([
                col("n").cum_sum(false).over(key_cols())?.alias("cumulative"),
                col("n").sum().over(key_cols())?.alias("total"),
            ])
            .group_by(key_cols())
            .agg([at_rank(0.50, "p50"), at_rank(0.95, "p95"), at_rank(0.99, "p99")]);
        let levels = counts.join(percentiles, key_cols(), key_cols(), JoinArgs::new(JoinType::Left));
        out = Some(match out {
            None => levels,
            Some(all) => all.join(levels, key_cols(), key_cols(), JoinArgs::new(JoinType::Left)),
        });
    }
    let Some(out) = out else {
        anyhow::bail!("levels: no part to measure");
    };
    Ok(out.collect()?)
}

/// The rows of a frame from [`levels`] (the whole's part), in frame order.
pub fn tallies(df: &DataFrame) -> Result<Vec<Tally>> {
    tallies_named(df, "")
}

/// The rows of a frame from [`levels`], the part named with `prefix`, in frame order.
pub fn tallies_named(df: &DataFrame, prefix: &str) -> Result<Vec<Tally>> {
    let opt = |v: f64| v.is_finite().then_some(v);
    let c = |n: &str| format!("{prefix}{n}");
    let (p50, p95, p99) = (floats(df, &c("p50"))?, floats(df, &c("p95"))?, floats(df, &c("p99"))?);
    Ok(ints(df, &c("requests"))?
        .into_iter()
        .zip(ints(df, &c("rate_limited"))?)
        .zip(ints(df, &c("errors"))?.into_iter().zip(ints(df, &c("decisions"))?))
        .enumerate()
        .map(|(i, ((requests, rate_limited), (errors, decisions)))| Tally {
            requests: requests as u64,
            rate_limited: rate_limited as u64,
            errors: errors as u64,
            decisions: decisions as u64,
            p50_ms: opt(p50[i]),
            p95_ms: opt(p95[i]),
            p99_ms: opt(p99[i]),
        })
        .collect())
}

/// A frame from [`grouped`] by `at` (µs) as time points, in time order.
pub fn time_points(df: &DataFrame) -> Result<Vec<TimePoint>> {
    let mut out: Vec<TimePoint> = ints(df, "at")?
        .into_iter()
        .zip(tallies(df)?)
        .map(|(at, tally)| TimePoint { at: utc(at), tally })
        .collect();
    out.sort_by_key(|p| p.at);
    Ok(out)
}

/// A µs time as a UTC time (the epoch when out of range, which generated data never is).
pub fn utc(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// Attempts grouped by `key` as column `name`, with [`levels`]' columns.
pub fn grouped(ctx: &Context<'_, TicketingConfig>, rows: LazyFrame, name: &str, key: Expr) -> Result<DataFrame> {
    levels(ctx, rows.with_column(key.alias(name)), &[name], &[(None, "")])
}

/// Counts per (scenario, UTC minute): what availability, the error rates and the hourly error
/// chart are summed from.
pub fn minute_counts(ctx: &Context<'_, TicketingConfig>) -> Result<BTreeMap<(String, i64), Tally>> {
    let status = || col("api_status");
    let df = ctx.collect(
        ctx.rows()
            .group_by([col("scenario"), bucket(MINUTE_US).alias("minute")])
            .agg([
                len().cast(DataType::Int64).alias("requests"),
                rate_limited(),
                errors(),
                status().eq(lit(OK)).sum().cast(DataType::Int64).alias("decisions"),
            ]),
    )?;
    let mut out = BTreeMap::new();
    for (((sc, m), (n, rl)), (err, ok)) in strings(&df, "scenario")?
        .into_iter()
        .zip(ints(&df, "minute")?)
        .zip(ints(&df, "requests")?.into_iter().zip(ints(&df, "rate_limited")?))
        .zip(ints(&df, "errors")?.into_iter().zip(ints(&df, "decisions")?))
    {
        out.insert(
            (sc, m),
            Tally {
                requests: n as u64,
                rate_limited: rl as u64,
                errors: err as u64,
                decisions: ok as u64,
                ..Tally::default()
            },
        );
    }
    Ok(out)
}

/// The busiest `width_us` bucket of every attempt and of each of `scenarios`' attempts, in one
/// pass: attempts per bucket (an integer key) with one count per scenario beside the total, then
/// each count's largest bucket. Returns (scenario or "" for every attempt, bucket start µs,
/// attempts), ties to the earliest bucket, without buckets of 0.
pub fn busiest(
    ctx: &Context<'_, TicketingConfig>,
    scenarios: &[String],
    width_us: i64,
) -> Result<Vec<(String, i64, u64)>> {
    let mut counts = vec![len().cast(DataType::Int64).alias("n")];
    counts.extend(scenarios.iter().enumerate().map(|(i, sc)| {
        col("scenario")
            .eq(lit(sc.clone()))
            .sum()
            .cast(DataType::Int64)
            .alias(format!("n{i}"))
    }));
    let names: Vec<String> = std::iter::once("n".to_string())
        .chain((0..scenarios.len()).map(|i| format!("n{i}")))
        .collect();
    let pick: Vec<Expr> = names
        .iter()
        .flat_map(|n| {
            [
                col("at")
                    .filter(col(n.as_str()).eq(col(n.as_str()).max()))
                    .min()
                    .alias(format!("{n}_at")),
                col(n.as_str()).max().alias(format!("{n}_max")),
            ]
        })
        .collect();
    let df = ctx.collect(
        ctx.rows()
            .group_by([bucket(width_us).alias("at")])
            .agg(counts)
            .select(pick),
    )?;
    let mut out = Vec::new();
    for (key, n) in std::iter::once(String::new())
        .chain(scenarios.iter().cloned())
        .zip(&names)
    {
        let (at, max) = (ints(&df, &format!("{n}_at"))?, ints(&df, &format!("{n}_max"))?);
        if let (Some(&at), Some(&max)) = (at.first(), max.first())
            && max > 0
        {
            out.push((key, at, max as u64));
        }
    }
    out.sort();
    Ok(out)
}
