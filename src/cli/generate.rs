//! `trafficsim generate`: writes the run plan's workload as CSV and Parquet.

use anyhow::Result;
use clap::Args;

use super::common::CommonArgs;
use crate::config::RunPlan;
use crate::generate::{GenerateOptions, calls, ticketing};

#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: &GenerateArgs) -> Result<()> {
    let plan = args.common.load()?;
    let options = args.common.options()?;
    println!("{}", generate(&plan, &options)?);
    Ok(())
}

/// Generates the plan's workload; returns the one-line summary.
pub fn generate(plan: &RunPlan, options: &GenerateOptions) -> Result<String> {
    Ok(match plan {
        RunPlan::Calls(config) => calls::generate(config, options)?.line(),
        RunPlan::Ticketing(config) => ticketing::generate(config, options)?.line(),
    })
}
