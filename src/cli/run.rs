//! `trafficsim run`: the product's main job, generate then analyze.

use anyhow::Result;
use clap::Args;

use super::analyze::{NO_TICKETING_ANALYZERS, analysis_path, analyze_and_report, load_settings};
use super::common::CommonArgs;
use super::generate::generate;
use crate::config::RunPlan;

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Analysis settings [default: analysis.toml beside the run plan].
    #[arg(long, value_name = "FILE")]
    pub analysis: Option<std::path::PathBuf>,
}

pub fn run(args: &RunArgs) -> Result<()> {
    let plan = args.common.load()?;
    let options = args.common.options()?;
    let RunPlan::Calls(config) = &plan else {
        println!("{}", generate(&plan, &options)?);
        println!("{NO_TICKETING_ANALYZERS}");
        return Ok(());
    };
    // Settings are checked before generating, so a typo fails in a second, not after the data.
    let (file, prepared) = load_settings(
        &analysis_path(&args.common.config, args.analysis.as_deref()),
        config,
        None,
    )?;
    println!("{}", generate(&plan, &options)?);
    let out = &config.run.out;
    let line = analyze_and_report(config, &file, &prepared, &out.join("data"), &out.join("reports"))?;
    println!("{line}");
    Ok(())
}
