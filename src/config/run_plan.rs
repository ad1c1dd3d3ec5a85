//! The parts of a run plan every workload shares: the `[run]` table (seed, window, size,
//! formats, columns, output directory) and the `[[cohorts]]` rotation. Each workload's plan file
//! adds its own keys (catalogue, traffic model, scenarios) and builds these through [`build`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;

use super::ConfigError;
use super::checks;
use super::size::parse_size;

/// The workloads a run plan can name (`workload = "…"`, `calls` when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKind {
    Calls,
    Ticketing,
}

impl WorkloadKind {
    pub const ALL: [WorkloadKind; 2] = [WorkloadKind::Calls, WorkloadKind::Ticketing];

    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Calls => "calls",
            WorkloadKind::Ticketing => "ticketing",
        }
    }

    pub fn parse(name: &str) -> Option<WorkloadKind> {
        WorkloadKind::ALL.into_iter().find(|w| w.name() == name)
    }
}

/// Reads the `workload` key of a run plan (`calls` when absent) before the rest is parsed.
pub fn read_workload(path: &Path) -> Result<WorkloadKind, ConfigError> {
    let table: toml::Table = checks::read_toml(path)?;
    match table.get("workload") {
        None => Ok(WorkloadKind::Calls),
        Some(toml::Value::String(name)) => WorkloadKind::parse(name).ok_or_else(|| {
            ConfigError::invalid(
                path,
                "workload",
                format!("unknown workload `{name}`: allowed are calls, ticketing"),
            )
        }),
        Some(other) => Err(ConfigError::invalid(
            path,
            "workload",
            format!("{other} is not allowed: a string, calls or ticketing"),
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRun {
    seed: u64,
    start_date: String,
    days: i64,
    target_size: Option<String>,
    rows: Option<i64>,
    formats: Vec<String>,
    columns: Option<Vec<String>>,
    out: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCohort {
    name: String,
    scenario: String,
    share: f64,
}

/// How big the run is: a CSV size in bytes, an exact row count, or the scenarios' own scale
/// (ticketing: a flash sale at the document's size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeTarget {
    CsvBytes(u64),
    Rows(u64),
    Natural,
}

impl SizeTarget {
    /// Parses a `target_size` value: a size such as `50MiB`, or `natural`.
    pub fn parse(text: &str) -> Result<SizeTarget, String> {
        if text.trim() == "natural" {
            return Ok(SizeTarget::Natural);
        }
        parse_size(text)
            .map(SizeTarget::CsvBytes)
            .map_err(|m| format!("{m}, or \"natural\" for the scenarios' own scale"))
    }
}

/// Which files a run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Formats {
    pub csv: bool,
    pub parquet: bool,
}

impl Formats {
    /// Parses a list such as `["csv", "parquet"]`.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Formats, String> {
        let mut f = Formats {
            csv: false,
            parquet: false,
        };
        for name in names {
            match name.trim() {
                "csv" => f.csv = true,
                "parquet" => f.parquet = true,
                other => {
                    return Err(format!("unknown format `{other}`: allowed are csv, parquet"));
                }
            }
        }
        if !f.csv && !f.parquet {
            return Err("name at least one format: csv, parquet".to_string());
        }
        Ok(f)
    }
}

/// A cohort of customers driven by one scenario, with its share of the rows (normalized so the
/// shares sum to 1).
#[derive(Debug, Clone, PartialEq)]
pub struct CohortSpec {
    pub name: String,
    /// Name of a declared scenario (checked once the scenarios are loaded).
    pub scenario: String,
    pub share: f64,
}

/// The validated run plan settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    pub seed: u64,
    pub start_date: NaiveDate,
    pub days: u32,
    pub size: SizeTarget,
    pub formats: Formats,
    pub out: PathBuf,
    pub cohorts: Vec<CohortSpec>,
    /// Indices into the workload's fact-table columns of the columns to write, in order.
    pub columns: Vec<usize>,
}

/// Longest window a run may cover.
pub const MAX_DAYS: i64 = 3660;

/// Builds the shared settings of a plan; `columns` resolves column names against the workload's
/// fact table (`all` columns when the plan names none).
pub fn build(
    path: &Path,
    r: &RawRun,
    raw_cohorts: &[RawCohort],
    all: usize,
    columns: impl Fn(&[String]) -> Result<Vec<usize>, String>,
) -> Result<RunSettings, ConfigError> {
    let p = path;
    let start_date = parse_date(&r.start_date).map_err(|m| ConfigError::invalid(p, "run.start_date", m))?;
    let days = checks::count(p, "run.days", r.days, 1, MAX_DAYS)?;
    let size = match (&r.target_size, r.rows) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::invalid(
                p,
                "run",
                "set either `target_size` or `rows`, not both",
            ));
        }
        (None, None) => {
            return Err(ConfigError::invalid(
                p,
                "run",
                "set `target_size` (e.g. \"50MiB\") or `rows`",
            ));
        }
        (Some(s), None) => SizeTarget::parse(s).map_err(|m| ConfigError::invalid(p, "run.target_size", m))?,
        (None, Some(n)) => SizeTarget::Rows(u64::from(checks::count(p, "run.rows", n, 1, i64::from(u32::MAX))?)),
    };
    let formats =
        Formats::parse(r.formats.iter().map(String::as_str)).map_err(|m| ConfigError::invalid(p, "run.formats", m))?;

    if raw_cohorts.is_empty() {
        return Err(ConfigError::invalid(
            p,
            "cohorts",
            "define at least one [[cohorts]] entry",
        ));
    }
    let mut shares = BTreeMap::new();
    let mut cohorts = Vec::new();
    for (i, c) in raw_cohorts.iter().enumerate() {
        if c.name.is_empty()
            || !c
                .name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
        {
            return Err(ConfigError::invalid(
                p,
                format!("cohorts[{i}].name"),
                format!("\"{}\" is not allowed: use letters, digits, `_` and `-`", c.name),
            ));
        }
        if shares.insert(c.name.clone(), c.share).is_some() {
            return Err(ConfigError::invalid(
                p,
                format!("cohorts[{i}].name"),
                format!("cohort `{}` is defined twice", c.name),
            ));
        }
        cohorts.push(CohortSpec {
            name: c.name.clone(),
            scenario: c.scenario.clone(),
            share: c.share,
        });
    }
    // Shares are relative weights: equal numbers give a balanced mix.
    for (i, c) in cohorts.iter().enumerate() {
        checks::in_range(p, &format!("cohorts[{i}].share"), c.share, 0.0, 1e6)?;
    }
    let total: f64 = shares.values().sum();
    if total <= 0.0 {
        return Err(ConfigError::invalid(
            p,
            "cohorts",
            "at least one cohort needs a share above 0",
        ));
    }
    for c in &mut cohorts {
        c.share /= total;
    }

    let columns = match &r.columns {
        None => (0..all).collect(),
        Some(names) => columns(names).map_err(|m| ConfigError::invalid(p, "run.columns", m))?,
    };

    Ok(RunSettings {
        seed: r.seed,
        start_date,
        days,
        size,
        formats,
        out: r.out.clone(),
        cohorts,
        columns,
    })
}

/// Parses a `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("\"{text}\" is not a date: use YYYY-MM-DD, e.g. \"2025-01-01\""))
}
