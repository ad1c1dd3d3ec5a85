//! Where every dataset lives under a run's output directory: the one place that spells the file
//! and directory names, for the writers, `validate` and the analyzers alike.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

/// A time-ordered fact table: one CSV file and a Hive-partitioned Parquet dataset (`date=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactTable {
    /// The table's name, as in messages.
    pub name: &'static str,
    /// Stem of the CSV file (`<stem>.csv`, or `<stem>-shard-K-of-N.csv` for a shard).
    pub csv_stem: &'static str,
    /// The Parquet dataset directory.
    pub parquet_dir: &'static str,
}

impl FactTable {
    /// The CSV file name of a whole run.
    pub fn csv_name(&self) -> String {
        format!("{}.csv", self.csv_stem)
    }

    /// Where `generate --date` writes the CSV of each day (one file per day, each with its
    /// header): `<data>/csv/<parquet_dir>/`, partitioned like the Parquet dataset.
    pub fn day_csv_dir(&self, data: &Path) -> PathBuf {
        data.join("csv").join(self.parquet_dir)
    }

    /// The CSV of one day written by `generate --date`.
    pub fn day_csv(&self, data: &Path, date: NaiveDate) -> PathBuf {
        self.day_csv_dir(data).join(partition(date)).join("part-00000.csv")
    }
}

/// The fact table inside a data directory, in the order readers prefer it: the Parquet dataset,
/// the CSV file of a whole run, the day CSV files of `generate --date`.
pub fn fact_table_in(data: &Path, table: &FactTable) -> Option<PathBuf> {
    [
        data.join(table.parquet_dir),
        data.join(table.csv_name()),
        table.day_csv_dir(data),
    ]
    .into_iter()
    .enumerate()
    .find(|(i, p)| if *i == 1 { p.is_file() } else { p.is_dir() })
    .map(|(_, p)| p)
}

/// The Hive partition directory of a UTC day: `date=YYYY-MM-DD`.
pub fn partition(date: NaiveDate) -> String {
    format!("date={}", date.format("%Y-%m-%d"))
}

/// The calls workload's rows: the documents' file name, one row per API call.
pub const CALLS: FactTable = FactTable {
    name: "calls",
    csv_stem: "simulated_calls",
    parquet_dir: "calls",
};

/// The ticketing workload's rows: one row per purchase attempt.
pub const TRANSACTIONS: FactTable = FactTable {
    name: "transactions",
    csv_stem: "transactions",
    parquet_dir: "transactions",
};

/// The fact table of a run plan's workload.
pub fn fact_table(plan: &crate::config::RunPlan) -> FactTable {
    match plan {
        crate::config::RunPlan::Calls(_) => CALLS,
        crate::config::RunPlan::Ticketing(_) => TRANSACTIONS,
    }
}

/// Single-file tables beside the fact table (`<name>.csv`, `<name>.parquet`).
pub const LABELS: &str = "labels";
pub const EVENTS: &str = "events";
pub const USERS: &str = "users";

/// A single-file table of a data directory: its Parquet file when there is one, else its CSV.
pub fn side_table(data: &Path, name: &str) -> Option<PathBuf> {
    ["parquet", "csv"]
        .iter()
        .map(|ext| data.join(format!("{name}.{ext}")))
        .find(|p| p.is_file())
}

/// The data directory of an output directory.
pub fn data_dir(out: &Path) -> PathBuf {
    out.join("data")
}

/// The run summary a generation writes beside `data/` (a shard names it after itself).
pub fn run_summary(out: &Path, shard: Option<(u32, u32)>) -> PathBuf {
    out.join(format!("run_summary{}.json", shard_suffix(shard)))
}

/// `-shard-K-of-N` for a shard, empty for a whole run.
pub fn shard_suffix(shard: Option<(u32, u32)>) -> String {
    shard.map(|(k, n)| format!("-shard-{k}-of-{n}")).unwrap_or_default()
}
