//! `trafficsim export`: a generated dataset in another community's format. `export focus`
//! writes the calls as a FOCUS 1.2 cost-and-usage dataset (CSV and Parquet).

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};

use super::common::DEFAULT_CONFIG;
use crate::analyze::dataset::{self, CALLS_DATASET};
use crate::config::{Formats, RunPlan};
use crate::export::focus::{self, ChargePeriod};
use crate::sink::layout;
use crate::sink::parquet::{Provenance, read_provenance};

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub format: ExportFormat,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ExportFormat {
    /// The calls as a FOCUS 1.2 cost-and-usage dataset (FinOps Foundation), CSV and Parquet.
    Focus(FocusArgs),
}

#[derive(Debug, Clone, Args)]
pub struct FocusArgs {
    /// The calls data: a data directory, the Parquet dataset, a .parquet or the .csv file
    /// [default: the run plan's OUT/data].
    #[arg(long, value_name = "PATH")]
    pub input: Option<PathBuf>,
    /// Directory to write focus_cost_and_usage.{csv,parquet} to [default: the run plan's OUT/focus].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run plan the data was generated with: its catalogue prices the SKUs.
    #[arg(long, default_value = DEFAULT_CONFIG, value_name = "FILE")]
    pub config: PathBuf,
    /// Length of a charge period (a row's time span).
    #[arg(long, value_enum, default_value = "day")]
    pub charge_period: ChargePeriod,
    /// Formats to write: csv, parquet or csv,parquet.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "csv,parquet")]
    pub format: Vec<String>,
}

pub fn run(args: &ExportArgs) -> Result<()> {
    match &args.format {
        ExportFormat::Focus(a) => focus_run(a),
    }
}

fn focus_run(args: &FocusArgs) -> Result<()> {
    let RunPlan::Calls(config) = RunPlan::load(&args.config)? else {
        bail!(
            "{}: a ticketing run plan: the FOCUS export is of AI-API spend, the calls workload's (give a calls run plan with --config)",
            args.config.display()
        );
    };
    let formats = Formats::parse(args.format.iter().map(String::as_str))
        .map_err(|m| crate::config::ConfigError::flag("--format", m))?;
    let input = args.input.clone().unwrap_or_else(|| layout::data_dir(&config.run.out));
    let out = args.out.clone().unwrap_or_else(|| config.run.out.join("focus"));
    let (source, calls) = dataset::open(&input, &CALLS_DATASET)?;
    if let Some(absent) = CALLS_DATASET
        .columns
        .iter()
        .find(|c| !source.columns.iter().any(|s| s.name == **c))
    {
        bail!(
            "{}: the dataset lacks column `{absent}`: the FOCUS export reads trafficsim's calls data with every column",
            input.display()
        );
    }
    let provenance = source_provenance(&source);
    let exported = focus::export(calls, &config.catalogue, args.charge_period, &out, formats, &provenance)?;
    println!("{}", exported.line());
    Ok(())
}

/// The provenance of the data exported: the metadata of its Parquet files, else its run
/// summary, else only its seed.
fn source_provenance(source: &dataset::DataSource) -> Provenance {
    let from_file = source
        .files
        .first()
        .filter(|f| f.path.extension().is_some_and(|e| e == "parquet"))
        .and_then(|f| read_provenance(&f.path));
    from_file.unwrap_or_else(|| {
        let summary = dataset::run_summary(&source.path);
        let hash = summary
            .as_ref()
            .and_then(|s| s.get("plan_hash")?.as_str().map(str::to_string));
        Provenance {
            seed: source.seed.unwrap_or(0),
            plan_hash: hash.unwrap_or_else(|| "unknown".to_string()),
        }
    })
}
