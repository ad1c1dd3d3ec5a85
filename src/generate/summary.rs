//! What a run did, for people (one line) and for tools (`run_summary.json`).

use std::path::PathBuf;

use serde::Serialize;

use crate::config::size::human_bytes;

/// Rows and cost one cohort contributed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CohortSummary {
    pub name: String,
    pub scenario: String,
    pub customers: u32,
    /// Calls its customers make in the window; `rows` of them are kept (even thinning).
    pub simulated_calls: u64,
    pub rows: u64,
    pub cost_usd: f64,
}

/// The machine-readable summary of a generate run.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub trafficsim_version: &'static str,
    pub config: PathBuf,
    pub seed: u64,
    pub start_date: String,
    pub days: u32,
    /// `{"csv_bytes": N}` or `{"rows": N}`.
    pub target: serde_json::Value,
    pub formats: Vec<&'static str>,
    pub columns: Vec<&'static str>,
    pub shard: Option<String>,
    pub threads: usize,
    pub rows: u64,
    pub csv_bytes: Option<u64>,
    pub parquet_bytes: Option<u64>,
    /// (CSV bytes − target) / target, when the target is a size.
    pub size_deviation: Option<f64>,
    pub seconds: f64,
    pub rows_per_second: f64,
    pub csv_megabytes_per_second: Option<f64>,
    pub cost_usd: f64,
    pub cohorts: Vec<CohortSummary>,
    /// Rows of the `labels` dataset (events the scenarios injected).
    pub labels: usize,
    pub files: Vec<PathBuf>,
}

impl RunSummary {
    /// The one line printed at the end of a run.
    pub fn line(&self) -> String {
        let mut parts = vec![format!("{} rows", self.rows)];
        if let Some(b) = self.csv_bytes {
            parts.push(format!("CSV {}", human_bytes(b)));
        }
        if let Some(b) = self.parquet_bytes {
            parts.push(format!("Parquet {}", human_bytes(b)));
        }
        let shard = self.shard.as_ref().map(|s| format!(", shard {s}")).unwrap_or_default();
        format!(
            "generated {} in {:.2} s ({:.0} rows/s), ${:.2} of simulated spend, {} cohort(s), seed {}{}",
            parts.join(", "),
            self.seconds,
            self.rows_per_second,
            self.cost_usd,
            self.cohorts.len(),
            self.seed,
            shard
        )
    }
}
