//! `trafficsim run`: the product's main job, generate then analyze.

use anyhow::Result;
use clap::Args;

use super::analyze::{Prepared, analysis_path};
use super::common::CommonArgs;
use super::generate::generate;

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
    let out = plan.run().out.clone();
    // Settings are checked before generating, so a typo fails in a second, not after the data.
    let analysis = analysis_path(&args.common.config, args.analysis.as_deref());
    let prepared = Prepared::new(plan.clone(), &analysis, None)?;
    println!("{}", generate(&plan, &options)?);
    let (line, _) = prepared.analyze_and_report(&out.join("data"), &out.join("reports"), &Default::default())?;
    println!("{line}");
    Ok(())
}
