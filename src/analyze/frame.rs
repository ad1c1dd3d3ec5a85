//! Query helpers the analyzers share: the standard per-group sums (exact: money as integer
//! micro-dollars, tokens and latency as integers), typed column extraction, and the serialized
//! per-group cost row.

use std::cmp::Ordering;

use anyhow::{Result, bail};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::Context;

/// The status of a call that was billed.
pub const SUCCESS: &str = "success";

/// Days of the month that tier prices are quoted for: a customer active for `d` days of the
/// window owes `price × d / DAYS_PER_MONTH` (the default window is 30 days, one month's price).
pub const DAYS_PER_MONTH: f64 = 30.0;

/// `cost_usd` as integer micro-dollars (the column has 6 decimals, so this is exact); sums of it
/// do not depend on the order Polars adds them in.
pub fn cost_micros() -> Expr {
    (col("cost_usd") * lit(1_000_000.0) + lit(0.5)).cast(DataType::Int64)
}

/// True for billed (successful) calls.
pub fn is_success() -> Expr {
    col("status").eq(lit(SUCCESS))
}

/// The UTC start of hour `h` since the epoch. The hours the analyzers walk lie in the data's
/// window, so they are in chrono's range; one past it (a foreign file's year 262,143) reads as
/// the last representable time rather than a panic.
pub fn hour_start(h: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(h.saturating_mul(3600), 0).unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}

/// Micro-dollars to dollars.
pub fn usd(micros: i64) -> f64 {
    micros as f64 / 1_000_000.0
}

/// The standard sums of a group: calls, successes, cost, tokens, latency.
pub fn totals_aggs() -> Vec<Expr> {
    vec![
        len().cast(DataType::Int64).alias("calls"),
        is_success().cast(DataType::Int64).sum().alias("successes"),
        cost_micros().sum().alias("cost_micros"),
        col("input_tokens").cast(DataType::Int64).sum().alias("input_tokens"),
        col("output_tokens").cast(DataType::Int64).sum().alias("output_tokens"),
        col("latency_ms").cast(DataType::Int64).sum().alias("latency_ms"),
    ]
}

/// The standard sums of one group (see [`totals_aggs`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub calls: u64,
    pub successes: u64,
    pub cost_micros: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub latency_ms: i64,
}

impl Totals {
    /// Reads the columns of [`totals_aggs`], one `Totals` per row.
    pub fn read(df: &DataFrame) -> Result<Vec<Totals>> {
        let (calls, successes, cost, input, output, latency) = (
            ints(df, "calls")?,
            ints(df, "successes")?,
            ints(df, "cost_micros")?,
            ints(df, "input_tokens")?,
            ints(df, "output_tokens")?,
            ints(df, "latency_ms")?,
        );
        Ok((0..df.height())
            .map(|i| Totals {
                calls: calls[i] as u64,
                successes: successes[i] as u64,
                cost_micros: cost[i],
                input_tokens: input[i],
                output_tokens: output[i],
                latency_ms: latency[i],
            })
            .collect())
    }

    pub fn add(&mut self, o: &Totals) {
        self.calls += o.calls;
        self.successes += o.successes;
        self.cost_micros += o.cost_micros;
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.latency_ms += o.latency_ms;
    }

    pub fn cost_usd(&self) -> f64 {
        usd(self.cost_micros)
    }

    pub fn tokens(&self) -> i64 {
        self.input_tokens + self.output_tokens
    }

    pub fn cost_per_call(&self) -> f64 {
        ratio(self.cost_usd(), self.calls as f64)
    }

    pub fn cost_per_1k_tokens(&self) -> f64 {
        ratio(self.cost_usd() * 1000.0, self.tokens() as f64)
    }

    pub fn avg_latency_ms(&self) -> f64 {
        ratio(self.latency_ms as f64, self.calls as f64)
    }
}

/// `a / b`, or 0 when `b` is 0.
pub fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

/// The number of distinct values of `column` in `rows` (a null counts as one), as a one-row
/// frame with column `n`: a streaming group-by's groups, in memory bounded by the distinct
/// values, where `n_unique` would hold the whole column (at 100M rows, gigabytes).
pub fn distinct_query(rows: LazyFrame, column: &str) -> LazyFrame {
    rows.select([col(column)])
        .group_by([col(column)])
        .agg([])
        .select([len().cast(DataType::Int64).alias("n")])
}

/// The `n` of a [`distinct_query`]'s frame.
pub fn distinct_count(df: &DataFrame) -> Result<u64> {
    Ok(ints(df, "n")?.first().copied().unwrap_or(0) as u64)
}

/// The standard sums grouped by `keys`, sorted by the keys.
pub fn totals_by(ctx: &Context<'_>, keys: &[&str]) -> Result<Vec<(Vec<String>, Totals)>> {
    read_totals_by(&ctx.collect(totals_query(ctx, keys))?, keys)
}

/// The query of [`totals_by`], for a page that runs its queries together ([`Context::collect_all`]).
pub fn totals_query(ctx: &Context<'_>, keys: &[&str]) -> LazyFrame {
    let key_exprs: Vec<Expr> = keys.iter().map(|k| col(*k)).collect();
    ctx.calls().group_by(key_exprs).agg(totals_aggs())
}

/// The frame of a [`totals_query`] as rows, sorted by the keys.
pub fn read_totals_by(df: &DataFrame, keys: &[&str]) -> Result<Vec<(Vec<String>, Totals)>> {
    let key_values = keys.iter().map(|k| strings(df, k)).collect::<Result<Vec<_>>>()?;
    let totals = Totals::read(df)?;
    let mut rows: Vec<(Vec<String>, Totals)> = totals
        .into_iter()
        .enumerate()
        .map(|(i, t)| (key_values.iter().map(|v| v[i].clone()).collect(), t))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(rows)
}

/// One group's cost figures, as results serialize them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CostGroup {
    pub name: String,
    pub calls: u64,
    pub successful_calls: u64,
    pub cost_usd: f64,
    /// Share of the total cost of the breakdown it belongs to.
    pub cost_share: f64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_per_call: f64,
    pub cost_per_1k_tokens: f64,
    pub avg_latency_ms: f64,
}

impl CostGroup {
    pub fn new(name: impl Into<String>, t: &Totals, total_cost_micros: i64) -> CostGroup {
        CostGroup {
            name: name.into(),
            calls: t.calls,
            successful_calls: t.successes,
            cost_usd: t.cost_usd(),
            cost_share: ratio(t.cost_micros as f64, total_cost_micros as f64),
            input_tokens: t.input_tokens,
            output_tokens: t.output_tokens,
            cost_per_call: t.cost_per_call(),
            cost_per_1k_tokens: t.cost_per_1k_tokens(),
            avg_latency_ms: t.avg_latency_ms(),
        }
    }
}

/// Groups as [`CostGroup`]s, dearest first (ties by name).
pub fn cost_groups(rows: &[(String, Totals)]) -> Vec<CostGroup> {
    let total: i64 = rows.iter().map(|(_, t)| t.cost_micros).sum();
    let mut out: Vec<CostGroup> = rows.iter().map(|(n, t)| CostGroup::new(n.clone(), t, total)).collect();
    out.sort_by(|a, b| desc(a.cost_usd, b.cost_usd).then_with(|| a.name.cmp(&b.name)));
    out
}

/// Descending order of two numbers (NaN last).
pub fn desc(a: f64, b: f64) -> Ordering {
    b.partial_cmp(&a).unwrap_or(Ordering::Equal)
}

/// A string column as owned values (a null becomes `""`).
pub fn strings(df: &DataFrame, name: &str) -> Result<Vec<String>> {
    let c = df.column(name)?;
    let Ok(s) = c.str() else {
        bail!("column `{name}` is {}, expected text", c.dtype());
    };
    Ok(s.iter().map(|v| v.unwrap_or_default().to_string()).collect())
}

/// An integer column (any integer type) as i64 (a null becomes 0).
pub fn ints(df: &DataFrame, name: &str) -> Result<Vec<i64>> {
    let c = df.column(name)?.cast(&DataType::Int64)?;
    Ok(c.i64()?.iter().map(|v| v.unwrap_or(0)).collect())
}

/// A numeric column as f64 (a null becomes NaN).
pub fn floats(df: &DataFrame, name: &str) -> Result<Vec<f64>> {
    let c = df.column(name)?.cast(&DataType::Float64)?;
    Ok(c.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// A date column as `NaiveDate`s.
pub fn dates(df: &DataFrame, name: &str) -> Result<Vec<chrono::NaiveDate>> {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    Ok(ints(df, name)?
        .into_iter()
        .map(|d| epoch + chrono::Days::new(d as u64))
        .collect())
}
