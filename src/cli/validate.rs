//! `trafficsim validate`: checks a dataset's invariants and exits non-zero on any violation.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::Args;

use super::common::DEFAULT_CONFIG;
use crate::config::RunPlan;
use crate::sink::layout;

#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// A CSV file, a Parquet file, or a Parquet dataset directory (ticketing: the data directory
    /// or its transactions) [default: the run plan's dataset].
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Run plan whose catalogue and traffic model the data must follow.
    #[arg(long, default_value = DEFAULT_CONFIG, value_name = "FILE")]
    pub config: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ValidateArgs) -> Result<()> {
    let plan = RunPlan::load(&args.config)?;
    let path = match (&args.path, &plan) {
        (Some(p), RunPlan::Calls(_)) => calls_table(p),
        (Some(p), _) => p.clone(),
        (None, _) => default_path(&plan),
    };
    super::common::note_leftovers(&path);
    let report = match &plan {
        RunPlan::Calls(config) => crate::validate::calls::validate(&path, &config.catalogue, &config.traffic)?,
        RunPlan::Ticketing(config) => crate::validate::ticketing::validate(&path, config)?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render(&path));
    }
    if !report.passed() {
        bail!(
            "{}: the dataset violates {} invariant(s)",
            path.display(),
            report.failed()
        );
    }
    Ok(())
}

/// The dataset a run of `plan` writes: the ticketing data directory, or the calls fact table in
/// it (see [`layout::fact_table_in`]).
fn default_path(plan: &RunPlan) -> PathBuf {
    let data = layout::data_dir(&plan.run().out);
    match plan {
        RunPlan::Calls(_) => {
            layout::fact_table_in(&data, &layout::CALLS).unwrap_or_else(|| data.join(layout::CALLS.parquet_dir))
        }
        RunPlan::Ticketing(_) => data,
    }
}

/// A calls data directory's fact table, else the path itself (a dataset directory or file).
fn calls_table(path: &Path) -> PathBuf {
    layout::fact_table_in(path, &layout::CALLS).unwrap_or_else(|| path.to_path_buf())
}
