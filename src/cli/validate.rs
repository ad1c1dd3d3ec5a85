//! `trafficsim validate`: checks a dataset's invariants and exits non-zero on any violation.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use super::common::DEFAULT_CONFIG;
use crate::config::Config;
use crate::validate::validate;

#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// A CSV file, a Parquet file, or a Parquet dataset directory.
    #[arg(value_name = "PATH", default_value = "output/data/calls")]
    pub path: PathBuf,
    /// Run plan whose catalogue and traffic model the data must follow.
    #[arg(long, default_value = DEFAULT_CONFIG, value_name = "FILE")]
    pub config: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ValidateArgs) -> Result<()> {
    let config = Config::load(&args.config)?;
    let report = validate(&args.path, &config.catalogue, &config.traffic)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render(&args.path));
    }
    if !report.passed() {
        bail!(
            "{}: the dataset violates {} invariant(s)",
            args.path.display(),
            report.checks.iter().filter(|c| c.violations > 0).count()
        );
    }
    Ok(())
}
