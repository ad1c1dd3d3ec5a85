//! The calls dataset as a FOCUS 1.2 cost-and-usage dataset (FinOps Foundation's open billing
//! format), the way a provider's bill would show the product's AI spend: one row per billing
//! period × provider × model and meter (the SKU) × organization (the sub-account) × charge
//! period (a day or an hour), and per customer, product, feature and environment (the tags) and
//! region.
//!
//! Each successful call's `cost_usd` is split over its meters in whole micro-dollars: the
//! uncached input at its price (the input price, or the cache-write price when the call read a
//! cached prefix and the model charges for writes), the cache reads at the read price, and the
//! output takes the rest. So the billed cost of the export adds up to the dataset's total
//! exactly, while each row's list cost is its quantity × unit price, as FOCUS requires. Failed
//! calls are not billed and not exported.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Datelike, NaiveDate};
use polars::prelude::*;

use crate::analyze::frame::{cost_micros, ints, is_success, strings};
use crate::batch::calls::CACHED_INPUT_TOKENS;
use crate::batch::focus::{Charge, FOCUS_SCHEMA, FocusContext, Meter, focus_batch};
use crate::config::Formats;
use crate::sim::calls::catalogue::Catalogue;
use crate::sink::parquet::Provenance;
use crate::sink::table::write_table_with;

/// The file stem of the export (`<stem>.csv`, `<stem>.parquet`).
pub const FOCUS_TABLE: &str = "focus_cost_and_usage";

/// FOCUS date/times: ISO 8601 in UTC with seconds and `Z` (`YYYY-MM-DDTHH:mm:ssZ`).
pub const FOCUS_TIMESTAMP: &str = "%Y-%m-%dT%H:%M:%SZ";

/// Rows written per record batch.
const BATCH_ROWS: usize = 65_536;

/// How long a FOCUS charge period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ChargePeriod {
    Day,
    Hour,
}

impl ChargePeriod {
    fn micros(self) -> i64 {
        match self {
            ChargePeriod::Day => 86_400_000_000,
            ChargePeriod::Hour => 3_600_000_000,
        }
    }
}

/// The grouping keys besides the charge period and the meter, as the calls dataset names them.
const KEYS: [&str; 8] = [
    "provider",
    "model",
    "organization_id",
    "customer_id",
    "product_id",
    "feature_id",
    "environment",
    "region",
];

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct Exported {
    pub rows: usize,
    pub calls: u64,
    pub billed_micros: i64,
    pub files: Vec<PathBuf>,
}

impl Exported {
    pub fn line(&self) -> String {
        let files: Vec<String> = self.files.iter().map(|f| f.display().to_string()).collect();
        format!(
            "exported {} FOCUS 1.2 rows from {} billed calls, BilledCost ${:.2}, to {}",
            self.rows,
            self.calls,
            self.billed_micros as f64 / 1e6,
            files.join(" and ")
        )
    }
}

/// Writes `calls` (the scanned calls dataset) as FOCUS under `out`, in `formats`, priced with
/// `catalogue`; every Parquet file carries `provenance`.
pub fn export(
    calls: LazyFrame,
    catalogue: &Catalogue,
    period: ChargePeriod,
    out: &Path,
    formats: Formats,
    provenance: &Provenance,
) -> Result<Exported> {
    let priced = priced_calls(calls, catalogue)?;
    check_costs(&priced)?;
    let charges = charges(priced, catalogue, period)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let ctx = FocusContext { catalogue };
    let batches = charges.chunks(BATCH_ROWS).map(|rows| Ok(focus_batch(&ctx, rows)));
    let files = write_table_with(
        out,
        FOCUS_TABLE,
        formats,
        &FOCUS_SCHEMA,
        provenance,
        FOCUS_TIMESTAMP,
        batches,
    )?;
    let output_calls: i64 = charges
        .iter()
        .filter(|c| c.meter == Meter::Output)
        .map(|c| c.calls)
        .sum();
    Ok(Exported {
        rows: charges.len(),
        calls: output_calls as u64,
        billed_micros: charges.iter().map(|c| c.billed_micros).sum(),
        files,
    })
}

/// The catalogue's prices as a table to join on `model`.
fn price_table(catalogue: &Catalogue) -> Result<DataFrame> {
    let m = &catalogue.models;
    Ok(df! {
        "model" => m.iter().map(|m| m.name.clone()).collect::<Vec<_>>(),
        "p_in" => m.iter().map(|m| m.input_per_1k).collect::<Vec<_>>(),
        "p_out" => m.iter().map(|m| m.output_per_1k).collect::<Vec<_>>(),
        "p_read" => m.iter().map(|m| m.cache_read_per_1k).collect::<Vec<_>>(),
        "p_write" => m.iter().map(|m| m.cache_write_per_1k).collect::<Vec<_>>(),
    }?)
}

/// Tokens at a price per 1K tokens, in whole micro-dollars (half up; every amount is positive).
fn micros(tokens: &str, price: &str) -> Expr {
    (col(tokens).cast(DataType::Float64) * col(price) * lit(1000.0) + lit(0.5)).cast(DataType::Int64)
}

/// The successful calls with their prices and each meter's quantity, unit price and share of
/// the call's cost in micro-dollars.
fn priced_calls(calls: LazyFrame, catalogue: &Catalogue) -> Result<LazyFrame> {
    let models = strings(&calls.clone().select([col("model").unique()]).collect()?, "model")?;
    let unknown: Vec<&String> = models.iter().filter(|m| catalogue.model_index(m).is_none()).collect();
    if !unknown.is_empty() {
        bail!(
            "the dataset has model(s) the catalogue does not price: {}; give the run plan the data was generated with (--config)",
            unknown.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
        );
    }
    let writes = col("cached").gt(lit(0)).and(col("p_write").is_not_null());
    Ok(calls
        .filter(is_success())
        .join(
            price_table(catalogue)?.lazy(),
            [col("model")],
            [col("model")],
            JoinArgs::new(JoinType::Inner),
        )
        .with_columns([
            col("input_tokens").cast(DataType::Int64).alias("input"),
            col(CACHED_INPUT_TOKENS).cast(DataType::Int64).alias("cached"),
            col("output_tokens").cast(DataType::Int64).alias("output"),
            cost_micros().alias("cost"),
        ])
        .with_columns([
            (col("input") - col("cached")).alias("uncached"),
            when(writes.clone())
                .then(col("p_write"))
                .otherwise(col("p_in"))
                .alias("p_uncached"),
            when(writes)
                .then(lit(Meter::CacheWrite.code()))
                .otherwise(lit(Meter::Input.code()))
                .alias("m_uncached"),
            col("p_read").fill_null(col("p_in")).alias("p_read"),
        ])
        .with_columns([
            micros("uncached", "p_uncached").alias("b_uncached"),
            micros("cached", "p_read").alias("b_read"),
        ])
        .with_columns([(col("cost") - col("b_uncached") - col("b_read")).alias("b_output")]))
}

/// Every call's cost must follow the catalogue's prices, or the split over meters (and the
/// list costs) would not describe it: data generated with another catalogue is refused.
fn check_costs(priced: &LazyFrame) -> Result<()> {
    let expected = (col("uncached").cast(DataType::Float64) * col("p_uncached")
        + col("cached").cast(DataType::Float64) * col("p_read")
        + col("output").cast(DataType::Float64) * col("p_out"))
        / lit(1000.0);
    let diff = col("cost_usd") - expected;
    let off = priced
        .clone()
        .filter(diff.clone().gt(lit(1.5e-6)).or(diff.lt(lit(-1.5e-6))))
        .select([
            len().cast(DataType::Int64).alias("n"),
            col("model").first().alias("model"),
        ])
        .collect()?;
    let n = ints(&off, "n")?.first().copied().unwrap_or(0);
    if n > 0 {
        bail!(
            "{n} call(s) cost other than the catalogue prices them (first on model `{}`): the data was generated with another catalogue; give its run plan with --config",
            strings(&off, "model")?.first().cloned().unwrap_or_default()
        );
    }
    Ok(())
}

/// The FOCUS rows: every meter's quantity and billed micro-dollars summed per row key, sorted
/// by the keys (so the export does not depend on how Polars ordered its groups).
fn charges(priced: LazyFrame, catalogue: &Catalogue, period: ChargePeriod) -> Result<Vec<Charge>> {
    let step = period.micros();
    let ts = || col("timestamp").cast(DataType::Int64);
    let priced = priced.with_column((ts() - ts() % lit(step)).alias("start"));
    let part = |meter: Expr, quantity: &str, price: &str, billed: &str| {
        let mut exprs: Vec<Expr> = std::iter::once("start").chain(KEYS).map(col).collect();
        exprs.extend([
            meter.alias("meter"),
            col(quantity).alias("quantity"),
            col(price).alias("price"),
            col(billed).alias("billed"),
        ]);
        priced.clone().select(exprs)
    };
    let parts = [
        part(col("m_uncached"), "uncached", "p_uncached", "b_uncached"),
        part(lit(Meter::CacheRead.code()), "cached", "p_read", "b_read"),
        part(lit(Meter::Output.code()), "output", "p_out", "b_output"),
    ];
    let mut keys: Vec<&str> = vec!["start"];
    keys.extend(KEYS);
    keys.push("meter");
    let df = concat(parts, UnionArgs::default())?
        .filter(col("quantity").gt(lit(0)))
        .group_by(keys.iter().map(|k| col(*k)).collect::<Vec<_>>())
        .agg([
            col("quantity").sum().alias("quantity"),
            col("billed").sum().alias("billed"),
            col("price").first().alias("price"),
            len().cast(DataType::Int64).alias("calls"),
        ])
        .sort(keys.clone(), SortMultipleOptions::default())
        .collect()?;
    read_charges(&df, catalogue, step)
}

/// The aggregated frame as rows.
fn read_charges(df: &DataFrame, catalogue: &Catalogue, step: i64) -> Result<Vec<Charge>> {
    let text = |name: &str| strings(df, name);
    let (models, orgs, customers, products, features, environments, regions) = (
        text("model")?,
        text("organization_id")?,
        text("customer_id")?,
        text("product_id")?,
        text("feature_id")?,
        text("environment")?,
        text("region")?,
    );
    let (starts, meters, quantities, billed, calls) = (
        ints(df, "start")?,
        ints(df, "meter")?,
        ints(df, "quantity")?,
        ints(df, "billed")?,
        ints(df, "calls")?,
    );
    let prices = crate::analyze::frame::floats(df, "price")?;
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let start_ms = starts[i] / 1000;
        let (billing_start_ms, billing_end_ms) = month_bounds(start_ms)?;
        out.push(Charge {
            billing_start_ms,
            billing_end_ms,
            charge_start_ms: start_ms,
            charge_end_ms: start_ms + step / 1000,
            model: catalogue
                .model_index(&models[i])
                .context("priced models are in the catalogue")?,
            meter: Meter::from_code(meters[i]).context("meter codes come from Meter")?,
            organization: orgs[i].clone(),
            customer: customers[i].clone(),
            product: products[i].clone(),
            feature: features[i].clone(),
            environment: environments[i].clone(),
            region: regions[i].clone(),
            quantity: quantities[i],
            unit_price: prices[i],
            billed_micros: billed[i],
            calls: calls[i],
        });
    }
    Ok(out)
}

/// The calendar month (UTC) holding `ms`: its first instant and the next month's, in ms. A
/// billing period is a month; charge periods (days, hours) never cross one.
fn month_bounds(ms: i64) -> Result<(i64, i64)> {
    let date = DateTime::from_timestamp_millis(ms)
        .context("timestamp out of range")?
        .date_naive();
    let first = NaiveDate::from_ymd_opt(date.year(), date.month(), 1).context("a month's first day")?;
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .context("the next month")?;
    let ms_of = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_millis();
    Ok((ms_of(first), ms_of(next)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billing_periods_are_calendar_months() {
        let jan31 = DateTime::parse_from_rfc3339("2025-01-31T23:00:00Z")
            .unwrap()
            .timestamp_millis();
        let (start, end) = month_bounds(jan31).unwrap();
        assert_eq!(
            DateTime::from_timestamp_millis(start).unwrap().to_rfc3339(),
            "2025-01-01T00:00:00+00:00"
        );
        assert_eq!(
            DateTime::from_timestamp_millis(end).unwrap().to_rfc3339(),
            "2025-02-01T00:00:00+00:00"
        );
        let dec = DateTime::parse_from_rfc3339("2024-12-15T00:00:00Z")
            .unwrap()
            .timestamp_millis();
        let (_, end) = month_bounds(dec).unwrap();
        assert_eq!(
            DateTime::from_timestamp_millis(end).unwrap().to_rfc3339(),
            "2025-01-01T00:00:00+00:00"
        );
    }
}
