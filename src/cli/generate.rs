//! `trafficsim generate`: writes the calls dataset as CSV and Parquet.

use anyhow::Result;
use clap::Args;

use super::common::CommonArgs;
use crate::generate::{GenerateOptions, generate};

#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: &GenerateArgs) -> Result<()> {
    let config = args.common.load()?;
    let options = GenerateOptions {
        threads: args.common.threads()?,
        shard: args.common.shard()?,
        progress: !args.common.quiet,
    };
    let summary = generate(&config, &options)?;
    println!("{}", summary.line());
    Ok(())
}
