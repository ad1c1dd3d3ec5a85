//! `trafficsim validate`: checks a dataset's invariants and exits non-zero on any violation.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use super::common::DEFAULT_CONFIG;
use crate::config::RunPlan;

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
    let path = args.path.clone().unwrap_or_else(|| default_path(&plan));
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

/// The dataset a run of `plan` writes: the calls Parquet dataset, or the ticketing data directory.
fn default_path(plan: &RunPlan) -> PathBuf {
    let data = crate::sink::layout::data_dir(&plan.run().out);
    match plan {
        RunPlan::Calls(_) => data.join(crate::sink::layout::CALLS.parquet_dir),
        RunPlan::Ticketing(_) => data,
    }
}
