//! Flags shared by the subcommands that generate data, and how they override the config.

use std::path::PathBuf;

use clap::Args;

use crate::config::{ConfigError, Formats, MAX_DAYS, PlanOverrides, RunPlan, SizeTarget, parse_date};

/// The default run plan, relative to the working directory.
pub const DEFAULT_CONFIG: &str = "config/default.toml";
/// The ticketing workload's run plan, used when the dataset given is ticketing data.
pub const DEFAULT_TICKETING_CONFIG: &str = "config/ticketing.toml";

/// Tells the user, on stderr, that a reader of `path` skips what an unfinished generation left
/// there (readers only ever see complete files).
pub fn note_leftovers(path: &std::path::Path) {
    if let Some(note) = crate::sink::atomic::leftovers_note(path) {
        eprintln!("note: {note}");
    }
}

#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Run plan to use; the catalogue and traffic files it names are read relative to it. When
    /// config/default.toml is not on disk, the built-in copy is used (`trafficsim init` writes it).
    #[arg(long, default_value = DEFAULT_CONFIG, value_name = "FILE")]
    pub config: PathBuf,
    /// Random seed; the same config and seed give byte-identical output.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output directory (data goes to OUT/data).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Worker threads [default: all cores]. The output does not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// CSV size to generate, e.g. 50MiB, 200MB, 1GiB; `natural` runs the scenarios at their own
    /// scale (ticketing).
    #[arg(long, value_name = "SIZE", conflicts_with = "rows")]
    pub target_size: Option<String>,
    /// Exact number of rows to generate.
    #[arg(long, value_name = "N")]
    pub rows: Option<u64>,
    /// Days in the window (whole UTC days).
    #[arg(long, value_name = "N")]
    pub days: Option<i64>,
    /// First day of the window, YYYY-MM-DD.
    #[arg(long, value_name = "DATE")]
    pub start_date: Option<String>,
    /// Formats to write: csv, parquet or csv,parquet.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub format: Option<Vec<String>>,
    /// Columns to write, comma-separated, in order [default: all].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Generate only part K of N (1-based), e.g. 2/4; the N parts together are one full run.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Generate only the cohorts of this scenario (repeatable); they share the rows equally.
    #[arg(long, value_name = "NAME")]
    pub scenario: Vec<String>,
    /// Traffic profile to apply (calls), e.g. `realistic`: prompt caching as in published agent
    /// workloads [default: the run plan's `profile`, else none].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Do not show a progress bar.
    #[arg(long)]
    pub quiet: bool,
}

impl CommonArgs {
    /// Loads the run plan and applies the flags over it, validating each.
    pub fn load(&self) -> Result<RunPlan, ConfigError> {
        RunPlan::load_with(&self.config, |config| self.apply(config))
    }

    fn apply(&self, config: &mut dyn PlanOverrides) -> Result<(), ConfigError> {
        if !self.scenario.is_empty() {
            config.only_scenarios(&self.scenario)?;
        }
        if let Some(name) = &self.profile {
            config.set_profile(name)?;
        }
        let columns = match &self.columns {
            Some(names) => Some(
                config
                    .parse_columns(names)
                    .map_err(|m| ConfigError::flag("--columns", m))?,
            ),
            None => None,
        };
        let run = config.run_mut();
        if let Some(seed) = self.seed {
            run.seed = seed;
        }
        if let Some(out) = &self.out {
            run.out = out.clone();
        }
        if let Some(size) = &self.target_size {
            run.size = SizeTarget::parse(size).map_err(|m| ConfigError::flag("--target-size", m))?;
        }
        if let Some(rows) = self.rows {
            if rows == 0 || rows > u64::from(u32::MAX) {
                return Err(ConfigError::flag(
                    "--rows",
                    format!("{rows} is not allowed: a whole number from 1 to {}", u32::MAX),
                ));
            }
            run.size = SizeTarget::Rows(rows);
        }
        if let Some(days) = self.days {
            if !(1..=MAX_DAYS).contains(&days) {
                return Err(ConfigError::flag(
                    "--days",
                    format!("{days} is not allowed: a whole number from 1 to {MAX_DAYS}"),
                ));
            }
            run.days = days as u32;
        }
        if let Some(date) = &self.start_date {
            run.start_date = parse_date(date).map_err(|m| ConfigError::flag("--start-date", m))?;
        }
        if let Some(formats) = &self.format {
            run.formats =
                Formats::parse(formats.iter().map(String::as_str)).map_err(|m| ConfigError::flag("--format", m))?;
        }
        if let Some(columns) = columns {
            run.columns = columns;
        }
        Ok(())
    }

    /// How to run the generation: threads, shard, progress.
    pub fn options(&self) -> Result<crate::generate::GenerateOptions, ConfigError> {
        Ok(crate::generate::GenerateOptions {
            threads: self.threads()?,
            shard: self.shard()?,
            days: None,
            progress: !self.quiet,
        })
    }

    /// The thread count to use.
    pub fn threads(&self) -> Result<usize, ConfigError> {
        match self.threads {
            Some(0) => Err(ConfigError::flag("--threads", "0 is not allowed: at least 1")),
            Some(n) => Ok(n),
            None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
        }
    }

    /// The shard, parsed from `K/N`.
    pub fn shard(&self) -> Result<Option<(u32, u32)>, ConfigError> {
        let Some(text) = &self.shard else { return Ok(None) };
        let bad = || {
            ConfigError::flag(
                "--shard",
                format!("\"{text}\" is not allowed: K/N with 1 <= K <= N, e.g. 2/4"),
            )
        };
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (k, n): (u32, u32) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Some((k, n)))
    }
}
