//! Finding and scanning a workload's dataset: its fact table (a Parquet dataset directory, a
//! Parquet file or the CSV) as one Polars `LazyFrame`, the small tables beside it (ticketing:
//! events, users, labels), and the window (rows, first and last day) it covers.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, NaiveDate};
use polars::prelude::{
    DataType, Engine, Expr, LazyCsvReader, LazyFileListReader, LazyFrame, PlRefPath, PolarsResult, ScanArgsParquet,
    TimeUnit, TimeZone, col, len, lit,
};
use serde::{Deserialize, Serialize};

use super::adapt::Adaptation;
use super::adapt::{ColumnsMap, adapt, map};
use crate::sink::layout::{self, FactTable};
use crate::validate::read::{day_csv_files, no_dataset, parquet_files};

/// Columns the calls analyzers read, each page declaring the ones it needs
/// ([`super::Analyzer::COLUMNS`]): a page whose columns the data lacks is listed as not run.
pub const CALLS_COLUMNS: [&str; 18] = [
    "timestamp",
    "provider",
    "model",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
    "latency_ms",
    "customer_id",
    "subscription_tier",
    "organization_id",
    "product_id",
    "feature_id",
    "task_type",
    "environment",
    "status",
    "tier_price_usd",
    "customer_archetype",
];

/// A workload's dataset as the analyzers read it: its fact table and the columns they need.
#[derive(Debug, Clone, Copy)]
pub struct DatasetSpec {
    pub table: FactTable,
    /// Columns without which nothing can be analyzed: opening fails without them.
    pub required: &'static [&'static str],
    /// Every column the analyzers may read ([`super::Columns::All`]); each page declares the
    /// ones it needs, and runs when the data has them.
    pub columns: &'static [&'static str],
    /// Columns read when present, beside the required ones.
    pub optional: &'static [&'static str],
    /// Integer columns added after the required ones, read as 0 from data written before them.
    pub zero_when_absent: &'static [&'static str],
    /// Single-file tables that must sit beside the fact table, in its data directory.
    pub side: &'static [&'static str],
}

/// The calls dataset.
pub const CALLS_DATASET: DatasetSpec = DatasetSpec {
    table: layout::CALLS,
    required: &["timestamp"],
    columns: &CALLS_COLUMNS,
    optional: &["scenario", "region", "timezone"],
    zero_when_absent: &[crate::batch::calls::CACHED_INPUT_TOKENS],
    side: &[],
};

/// The ticketing dataset: the transactions the validators read, and the events (capacity),
/// users and labels (the ground truth they are scored against) beside them.
pub const TICKETING_DATASET: DatasetSpec = DatasetSpec {
    table: layout::TRANSACTIONS,
    required: &TICKETING_COLUMNS,
    columns: &TICKETING_COLUMNS,
    optional: &[],
    zero_when_absent: &[],
    side: &[layout::EVENTS, layout::USERS, layout::LABELS],
};

/// The transactions' columns the ticketing validators read: every one is required.
const TICKETING_COLUMNS: [&str; 24] = [
    "timestamp",
    "transaction_id",
    "event_id",
    "user_id",
    "persona",
    "tier",
    "num_tickets",
    "price_per_ticket",
    "price_multiplier",
    "total_amount",
    "payment_method",
    "payment_status",
    "device_type",
    "device_mismatch",
    "geo_mismatch",
    "time_anomaly",
    "risk_score",
    "is_fraud",
    "is_bot",
    "fraud_pattern",
    "scenario",
    "ab_variant",
    "decision_latency_ms",
    "api_status",
];

/// The small tables beside a fact table, by name, as lazy scans.
pub type SideTables = std::collections::BTreeMap<&'static str, LazyFrame>;

/// Which workload's dataset `input` holds, when it can tell: a data directory with `calls/` or
/// `transactions/` (or their CSV), or a path inside one.
pub fn detect_table(input: &Path) -> Option<FactTable> {
    let tables = [layout::CALLS, layout::TRANSACTIONS];
    if input.is_dir()
        && let Some(t) = tables.iter().find(|t| {
            input.join(t.parquet_dir).is_dir() || input.join(t.csv_name()).is_file() || t.day_csv_dir(input).is_dir()
        })
    {
        return Some(*t);
    }
    let name = input.file_name()?.to_str()?;
    tables.into_iter().find(|t| {
        name == t.parquet_dir
            || name == t.csv_name()
            || name.starts_with(&format!("{}-shard-", t.csv_stem))
            || input.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()) == Some(t.parquet_dir)
    })
}

/// The data directory of a scanned fact table: the directory holding `transactions/` (or the
/// CSV, or the directory of a single Parquet file).
fn data_dir_of(path: &Path, table: &FactTable) -> PathBuf {
    let parent = path.parent().unwrap_or(Path::new("."));
    // The day CSV files of `generate --date`: `<data>/csv/<table>/`.
    if let Some(data) = parent.parent()
        && table.day_csv_dir(data) == path
    {
        return data.to_path_buf();
    }
    let named = path.file_name().and_then(|n| n.to_str()) == Some(table.parquet_dir);
    if named || path.is_file() {
        let up = parent.to_path_buf();
        if up.file_name().and_then(|n| n.to_str()) == Some(table.parquet_dir) {
            return up.parent().unwrap_or(Path::new(".")).to_path_buf();
        }
        return up;
    }
    path.to_path_buf()
}

/// Scans the side tables `spec` needs, found beside the fact table at `path`.
pub fn open_side(path: &Path, spec: &DatasetSpec) -> Result<SideTables> {
    let data = data_dir_of(path, &spec.table);
    let mut out = SideTables::new();
    for name in spec.side {
        let Some(file) = layout::side_table(&data, name) else {
            bail!(
                "{}: no {name}.parquet or {name}.csv beside the {}: the analyzers need it (generate writes it)",
                data.display(),
                spec.table.name
            );
        };
        let scan = if file.extension().is_some_and(|e| e == "parquet") {
            LazyFrame::scan_parquet(PlRefPath::try_from_path(&file)?, ScanArgsParquet::default())
        } else {
            LazyCsvReader::new(PlRefPath::try_from_path(&file)?)
                .with_has_header(true)
                .with_try_parse_dates(true)
                .finish()
        }
        .with_context(|| format!("{}: cannot scan", file.display()))?;
        out.insert(
            name,
            utc_micros(scan).with_context(|| format!("{}: cannot read the schema", file.display()))?,
        );
    }
    Ok(out)
}

/// What was scanned.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DataSource {
    /// The file or directory scanned.
    pub path: PathBuf,
    /// `parquet` or `csv`.
    pub format: String,
    pub files: Vec<SourceFile>,
    pub bytes: u64,
    /// Every column of the files, with its Polars type.
    pub columns: Vec<SourceColumn>,
    /// The seed of the run that wrote the data, from its `run_summary.json` when there is one.
    pub seed: Option<u64>,
    /// What was mapped, derived or assumed before the analyzers read the data (foreign data).
    #[serde(default, skip_serializing_if = "Adaptation::is_empty")]
    pub adaptation: Adaptation,
    /// True when the data is not trafficsim's own as written: adapted, or lacking columns the
    /// analyzers read (its invariants are then not trafficsim's to check).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub foreign: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceColumn {
    pub name: String,
    pub dtype: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceFile {
    pub path: PathBuf,
    pub bytes: u64,
}

/// The rows and the time span of the data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Window {
    pub rows: u64,
    pub first_timestamp: String,
    pub last_timestamp: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// Calendar days from the first to the last, inclusive.
    pub days: u32,
}

impl Window {
    /// Index of `day` in the window (0 = first day).
    pub fn day_index(&self, day: NaiveDate) -> i64 {
        (day - self.first_day).num_days()
    }

    /// Every day of the window, in order.
    pub fn each_day(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.first_day.iter_days().take(self.days as usize)
    }
}

/// Finds the dataset under `input` and scans it lazily. `input` is a data directory (with the
/// table's Parquet dataset, e.g. `calls/`, or its CSV, e.g. `simulated_calls.csv`; Parquet is
/// preferred), a Parquet dataset directory, a `.parquet` file or a `.csv` file.
pub fn open(input: &Path, spec: &DatasetSpec) -> Result<(DataSource, LazyFrame)> {
    open_with(input, spec, None)
}

/// [`open`], with `map` applied to the data's columns first (`--columns-map`), `total_tokens`
/// derived when missing, and zone-less timestamps read in a stated zone ([`adapt`]).
pub fn open_with(input: &Path, spec: &DatasetSpec, map: Option<&ColumnsMap>) -> Result<(DataSource, LazyFrame)> {
    let (path, format) = locate(input, &spec.table)?;
    let files: Vec<PathBuf> = match format {
        "parquet" if path.is_dir() => parquet_files(&path)?,
        "csv" if path.is_dir() => day_csv_files(&path)?,
        _ => vec![path.clone()],
    };
    if files.is_empty() {
        return Err(no_dataset(&path, &format!("no .{format} files in this directory")));
    }
    let mut source_files = Vec::with_capacity(files.len());
    for f in &files {
        let bytes = std::fs::metadata(f)
            .with_context(|| format!("cannot read {}", f.display()))?
            .len();
        source_files.push(SourceFile { path: f.clone(), bytes });
    }
    let mut calls = match format {
        "parquet" => {
            let paths = files
                .iter()
                .map(|f| PlRefPath::try_from_path(f))
                .collect::<PolarsResult<Vec<_>>>()?;
            LazyFrame::scan_parquet_files(paths.into_iter().collect(), ScanArgsParquet::default())
                .with_context(|| format!("{}: cannot scan the Parquet files", path.display()))?
        }
        _ => LazyCsvReader::new_paths(
            files
                .iter()
                .map(|f| PlRefPath::try_from_path(f))
                .collect::<PolarsResult<Vec<_>>>()?
                .into_iter()
                .collect(),
        )
        .with_has_header(true)
        .with_try_parse_dates(true)
        .finish()
        .with_context(|| format!("{}: cannot scan the CSV file", path.display()))?,
    };
    let raw = calls
        .collect_schema()
        .with_context(|| format!("{}: cannot read the schema", path.display()))?;
    let (adapted, adaptation) = adapt(calls, &raw, map, &path)?;
    calls = adapted;
    let schema = calls
        .collect_schema()
        .with_context(|| format!("{}: cannot read the schema", path.display()))?;
    let missing: Vec<&str> = spec
        .required
        .iter()
        .copied()
        .filter(|c| schema.get(c).is_none())
        .collect();
    if !missing.is_empty() {
        let hint = if spec.required == spec.columns {
            "generate it with every column".to_string()
        } else {
            format!(
                "map the export's columns onto the calls schema with --columns-map FILE (presets: {})",
                map::presets().join(", ")
            )
        };
        bail!(
            "{}: the dataset lacks column(s) {} that the analyzers need; {hint}",
            path.display(),
            missing.join(", ")
        );
    }
    match schema.get("timestamp") {
        Some(DataType::Datetime(_, _)) => {}
        other => bail!(
            "{}: column `timestamp` is {}, not a timestamp (RFC 3339 or ISO 8601 in CSV)",
            path.display(),
            other.map_or("missing".to_string(), |d| d.to_string())
        ),
    }
    // One time type whatever the source: µs in UTC (CSV parses to ms or to a zone-less type).
    calls = calls.with_columns([col("timestamp")
        .cast(DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)))
        .alias("timestamp")]);
    let absent: Vec<Expr> = spec
        .zero_when_absent
        .iter()
        .filter(|c| schema.get(c).is_none())
        .map(|c| lit(0i64).alias(*c))
        .collect();
    if !absent.is_empty() {
        calls = calls.with_columns(absent);
    }
    let foreign = !adaptation.is_empty() || spec.columns.iter().any(|c| schema.get(c).is_none());
    let columns = raw
        .iter()
        .map(|(name, dtype)| SourceColumn {
            name: name.to_string(),
            dtype: dtype.to_string(),
        })
        .collect();
    let source = DataSource {
        seed: find_seed(&path),
        columns,
        bytes: source_files.iter().map(|f| f.bytes).sum(),
        files: source_files,
        format: format.to_string(),
        path,
        adaptation,
        foreign,
    };
    Ok((source, calls))
}

/// Every timestamp column as µs in UTC, whatever the source (CSV parses to ms or to a zone-less
/// type), so one query serves Parquet and CSV alike.
fn utc_micros(mut scan: LazyFrame) -> Result<LazyFrame> {
    let schema = scan.collect_schema()?;
    let casts: Vec<Expr> = schema
        .iter()
        .filter(|(_, dt)| matches!(dt, DataType::Datetime(_, _)))
        .map(|(name, _)| {
            col(name.clone())
                .cast(DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)))
                .alias(name.clone())
        })
        .collect();
    Ok(if casts.is_empty() {
        scan
    } else {
        scan.with_columns(casts)
    })
}

/// The columns the analyzers read that the dataset has.
pub fn analyzed_columns(rows: &mut LazyFrame, spec: &DatasetSpec) -> Result<Vec<&'static str>> {
    let schema = rows.collect_schema()?;
    Ok(spec
        .columns
        .iter()
        .chain(spec.optional)
        .chain(spec.zero_when_absent)
        .copied()
        .filter(|c| schema.get(c).is_some())
        .collect())
}

fn locate(input: &Path, table: &FactTable) -> Result<(PathBuf, &'static str)> {
    if input.is_dir() {
        if let Some(found) = layout::fact_table_in(input, table) {
            let format = if found == input.join(table.parquet_dir) {
                "parquet"
            } else {
                "csv"
            };
            return Ok((found, format));
        }
        // A Parquet dataset directory itself, or a directory of day CSV files.
        if parquet_files(input)?.is_empty() && !day_csv_files(input)?.is_empty() {
            return Ok((input.to_path_buf(), "csv"));
        }
        return Ok((input.to_path_buf(), "parquet"));
    }
    match input.extension().and_then(|e| e.to_str()) {
        Some("parquet") if input.is_file() => Ok((input.to_path_buf(), "parquet")),
        Some("csv") if input.is_file() => Ok((input.to_path_buf(), "csv")),
        _ if !input.exists() => Err(no_dataset(
            input,
            "no such file or directory; run `trafficsim generate` first, or give --input",
        )),
        _ => bail!(
            "{}: not a dataset: give a data directory, a Parquet dataset directory, a .parquet or a .csv file",
            input.display()
        ),
    }
}

/// The seed in the `run_summary.json` of the run that wrote the data (up to two levels up).
fn find_seed(path: &Path) -> Option<u64> {
    run_summary(path)?.get("seed")?.as_u64()
}

/// The `run_summary.json` of the run that wrote the data at `path` (up to two levels up).
pub fn run_summary(path: &Path) -> Option<serde_json::Value> {
    path.ancestors().skip(1).take(3).find_map(|dir| {
        let text = std::fs::read_to_string(dir.join("run_summary.json")).ok()?;
        serde_json::from_str(&text).ok()
    })
}

/// Rows and time span of the data (one pass over the timestamp column).
pub fn window(calls: &LazyFrame, source: &DataSource) -> Result<Window> {
    let ts = || col("timestamp").cast(DataType::Int64);
    let df = calls
        .clone()
        .select([
            len().cast(DataType::Int64).alias("rows"),
            ts().min().alias("first"),
            ts().max().alias("last"),
        ])
        // Streaming: the in-memory engine would hold the whole timestamp column (800 MB at
        // 100M rows) for three numbers.
        .collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
        .with_context(|| format!("{}: cannot read the timestamps", source.path.display()))?;
    let value = |name: &str| -> Result<Option<i64>> { Ok(df.column(name)?.i64()?.get(0)) };
    let rows = value("rows")?.unwrap_or(0);
    let (Some(first), Some(last)) = (value("first")?, value("last")?) else {
        bail!("{}: the dataset has no rows", source.path.display());
    };
    let to_time = |us: i64| DateTime::from_timestamp_micros(us).context("timestamp out of range");
    let (first, last) = (to_time(first)?, to_time(last)?);
    let (first_day, last_day) = (first.date_naive(), last.date_naive());
    Ok(Window {
        rows: rows as u64,
        first_timestamp: first.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        last_timestamp: last.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        first_day,
        last_day,
        days: ((last_day - first_day).num_days() + 1) as u32,
    })
}
