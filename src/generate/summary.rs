//! What a run did, for people (one line) and for tools (`run_summary.json`).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::GenerateOptions;
use crate::config::size::human_bytes;
use crate::config::{RunSettings, SizeTarget};
use crate::sink::atomic::AtomicFile;
use crate::sink::dataset::WrittenDataset;
use crate::sink::parquet::Provenance;

/// The facts of a run every workload reports, in `run_summary.json`'s order.
#[derive(Debug, Clone, Serialize)]
pub struct RunFacts {
    pub trafficsim_version: &'static str,
    pub workload: &'static str,
    pub config: PathBuf,
    /// The hash of the resolved run plan, as in every Parquet file's metadata.
    pub plan_hash: String,
    pub seed: u64,
    pub start_date: String,
    pub days: u32,
    /// `{"csv_bytes": N}`, `{"rows": N}` or `"natural"`.
    pub target: serde_json::Value,
    pub formats: Vec<&'static str>,
    pub columns: Vec<&'static str>,
    pub shard: Option<String>,
    /// The days written, for a day-by-day run (`generate --date`): `2025-01-01..2025-01-03`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dates: Option<String>,
    pub threads: usize,
    pub rows: u64,
    pub csv_bytes: Option<u64>,
    pub parquet_bytes: Option<u64>,
    /// (CSV bytes − target) / target, when the target is a size.
    pub size_deviation: Option<f64>,
    pub seconds: f64,
    pub rows_per_second: f64,
    pub csv_megabytes_per_second: Option<f64>,
}

impl RunFacts {
    /// The facts of a run started at `started` that wrote `written`, whose cohorts made
    /// `per_cohort`; `names` are the fact table's column names.
    #[allow(clippy::too_many_arguments)]
    pub fn measure(
        workload: &'static str,
        config: &Path,
        provenance: &Provenance,
        run: &RunSettings,
        names: &[&'static str],
        options: &GenerateOptions,
        written: &WrittenDataset,
        per_cohort: &[super::Tally],
        started: std::time::Instant,
    ) -> RunFacts {
        let rows: u64 = per_cohort.iter().map(|c| c.rows).sum();
        let columns = run.columns.iter().map(|&c| names[c]).collect();
        let seconds = started.elapsed().as_secs_f64();
        RunFacts {
            trafficsim_version: env!("CARGO_PKG_VERSION"),
            workload,
            config: config.to_path_buf(),
            plan_hash: provenance.plan_hash.clone(),
            seed: run.seed,
            start_date: run.start_date.to_string(),
            days: run.days,
            target: match run.size {
                SizeTarget::CsvBytes(b) => serde_json::json!({ "csv_bytes": b }),
                SizeTarget::Rows(n) => serde_json::json!({ "rows": n }),
                SizeTarget::Natural => serde_json::json!("natural"),
            },
            formats: [("csv", run.formats.csv), ("parquet", run.formats.parquet)]
                .into_iter()
                .filter_map(|(name, on)| on.then_some(name))
                .collect(),
            columns,
            shard: options.shard.map(|(k, n)| format!("{k}/{n}")),
            dates: options.days.as_ref().map(|d| super::date_span(run.start_date, d)),
            threads: options.threads,
            rows,
            csv_bytes: written.csv_bytes,
            parquet_bytes: written.parquet_bytes,
            size_deviation: match (run.size, written.csv_bytes, options.shard, &options.days) {
                (SizeTarget::CsvBytes(t), Some(b), None, None) => Some((b as f64 - t as f64) / t as f64),
                _ => None,
            },
            seconds,
            rows_per_second: rows as f64 / seconds.max(1e-9),
            csv_megabytes_per_second: written.csv_bytes.map(|b| b as f64 / 1e6 / seconds.max(1e-9)),
        }
    }
}

/// A workload's totals: flattened into the summary, and the phrase the one-line summary ends in.
pub trait Totals: Serialize {
    /// E.g. "$2377.72 of simulated spend".
    fn phrase(&self) -> String;
}

/// The machine-readable summary of a generate run: the shared facts, the workload's totals,
/// one entry per cohort, the labels written and every file.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary<T: Totals, C: Serialize> {
    #[serde(flatten)]
    pub facts: RunFacts,
    #[serde(flatten)]
    pub totals: T,
    pub cohorts: Vec<C>,
    /// Rows of the `labels` dataset (events the scenarios injected).
    pub labels: usize,
    pub files: Vec<PathBuf>,
}

impl<T: Totals, C: Serialize> RunSummary<T, C> {
    /// The one line printed at the end of a run.
    pub fn line(&self) -> String {
        let f = &self.facts;
        let mut parts = vec![format!("{} rows", f.rows)];
        if let Some(b) = f.csv_bytes {
            parts.push(format!("CSV {}", human_bytes(b)));
        }
        if let Some(b) = f.parquet_bytes {
            parts.push(format!("Parquet {}", human_bytes(b)));
        }
        let shard = f.shard.as_ref().map(|s| format!(", shard {s}")).unwrap_or_default()
            + &f.dates.as_ref().map(|d| format!(", days {d}")).unwrap_or_default();
        format!(
            "generated {} in {:.2} s ({:.0} rows/s), {}, {} cohort(s), seed {}{}",
            parts.join(", "),
            f.seconds,
            f.rows_per_second,
            self.totals.phrase(),
            self.cohorts.len(),
            f.seed,
            shard
        )
    }

    /// Writes the summary as pretty JSON to `path`, atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut f = AtomicFile::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        serde_json::to_writer_pretty(&mut f, self)?;
        f.write_all(b"\n")?;
        f.commit()?;
        Ok(())
    }
}

/// Rounds money to cents for the summary.
pub fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
