//! `trafficsim run`: the product's main job, generate then analyze.

use anyhow::Result;
use clap::Args;

use super::analyze::{analysis_path, analyze_and_report, load_settings};
use super::common::CommonArgs;
use crate::generate::{GenerateOptions, generate};

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Analysis settings [default: analysis.toml beside the run plan].
    #[arg(long, value_name = "FILE")]
    pub analysis: Option<std::path::PathBuf>,
}

pub fn run(args: &RunArgs) -> Result<()> {
    let config = args.common.load()?;
    // Settings are checked before generating, so a typo fails in a second, not after the data.
    let (file, prepared) = load_settings(
        &analysis_path(&args.common.config, args.analysis.as_deref()),
        &config,
        None,
    )?;
    let options = GenerateOptions {
        threads: args.common.threads()?,
        shard: args.common.shard()?,
        progress: !args.common.quiet,
    };
    let summary = generate(&config, &options)?;
    println!("{}", summary.line());
    let out = &config.run.out;
    let line = analyze_and_report(&config, &file, &prepared, &out.join("data"), &out.join("reports"))?;
    println!("{line}");
    Ok(())
}
