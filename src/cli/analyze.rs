//! `trafficsim analyze`: runs every analyzer over the dataset and writes the reports.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use clap::Args;

use super::common::DEFAULT_CONFIG;
use crate::analyze::{ANALYZERS, CALLS, Prepared, TICKETING_ANALYZERS, prepare, run_analyzers};
use crate::config::{AnalysisFile, CallsConfig, ConfigError, RunPlan};
use crate::report::{ReportInput, generated_at, render_all, write_reports};

#[derive(Debug, Clone, Args)]
pub struct AnalyzeArgs {
    /// The data: a directory with `calls/` (Parquet) or `simulated_calls.csv`, a Parquet dataset
    /// directory, a .parquet or a .csv file.
    #[arg(long, default_value = "output/data", value_name = "PATH")]
    pub input: PathBuf,
    /// Directory to write the reports to (replaced as a whole when they are complete).
    #[arg(long, default_value = "output/reports", value_name = "DIR")]
    pub out: PathBuf,
    /// Run plan whose catalogue (models and prices) the analyzers use.
    #[arg(long, default_value = DEFAULT_CONFIG, value_name = "FILE")]
    pub config: PathBuf,
    /// Analysis settings [default: analysis.toml beside the run plan].
    #[arg(long, value_name = "FILE")]
    pub analysis: Option<PathBuf>,
    /// Run only these analyzers, e.g. `overview,understanding` [default: all].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub only: Option<Vec<String>>,
}

pub fn run(args: &AnalyzeArgs) -> Result<()> {
    let config = match RunPlan::load(&args.config)? {
        RunPlan::Calls(config) => config,
        // The registry of ticketing analyzers is empty until its validators land.
        RunPlan::Ticketing(_) => {
            debug_assert!(TICKETING_ANALYZERS.is_empty());
            println!("{NO_TICKETING_ANALYZERS}");
            return Ok(());
        }
    };
    let analysis = analysis_path(&args.config, args.analysis.as_deref());
    let (file, prepared) = load_settings(&analysis, &config, args.only.as_deref())?;
    let summary = analyze_and_report(&config, &file, &prepared, &args.input, &args.out)?;
    println!("{summary}");
    Ok(())
}

/// What `analyze` says of a ticketing dataset until its analyzers exist.
pub const NO_TICKETING_ANALYZERS: &str = "the ticketing workload has no analyzers yet: nothing to analyze (the data is written; `trafficsim validate` checks it)";

/// The analysis settings file: the one given, else `analysis.toml` beside the run plan.
pub fn analysis_path(run_plan: &Path, given: Option<&Path>) -> PathBuf {
    given.map_or_else(
        || run_plan.parent().unwrap_or(Path::new(".")).join("analysis.toml"),
        Path::to_path_buf,
    )
}

/// Reads and checks every analyzer's settings (before any data is read or generated).
pub fn load_settings(
    path: &Path,
    config: &CallsConfig,
    only: Option<&[String]>,
) -> Result<(AnalysisFile, Vec<Box<dyn Prepared>>), ConfigError> {
    let file = AnalysisFile::load(path)?;
    let prepared = prepare(ANALYZERS, &file, config, only)?;
    Ok((file, prepared))
}

/// Analyzes `input` and writes the reports to `out`; returns the one-line summary.
pub fn analyze_and_report(
    config: &CallsConfig,
    file: &AnalysisFile,
    prepared: &[Box<dyn Prepared>],
    input: &Path,
    out: &Path,
) -> Result<String> {
    let start = Instant::now();
    let (source, window, pages) = run_analyzers(config, prepared, input, &CALLS.dataset)?;
    let (_, files) = render_all(&ReportInput {
        title: CALLS.title,
        subtitle: CALLS.subtitle,
        pages: &pages,
        source: &source,
        window: &window,
        run_plan: &config.path,
        analysis: &file.path,
        generated_at: generated_at(),
    })?;
    write_reports(out, &files)?;
    Ok(format!(
        "analyzed {} rows ({} {} file(s), {:.2} MB) in {:.2} s: {} reports in {}",
        window.rows,
        source.files.len(),
        source.format,
        source.bytes as f64 / 1e6,
        start.elapsed().as_secs_f64(),
        pages.len(),
        out.join("index.html").display()
    ))
}
