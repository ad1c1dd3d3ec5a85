//! The command line: one module per subcommand, a thin dispatch here.

pub mod analyze;
pub mod catalogue;
pub mod check;
pub mod common;
pub mod export;
pub mod generate;
pub mod init;
pub mod replay;
pub mod run;
pub mod scenarios;
pub mod serve;
pub mod serve_mock;
pub mod validate;

use clap::{Parser, Subcommand};

/// Simulates traffic — AI-API calls or event ticketing, as the run plan says — and writes it as
/// CSV and Parquet, with ground-truth labels, for analysis.
#[derive(Debug, Parser)]
#[command(name = "trafficsim", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate the run plan's dataset (CSV and a date-partitioned Parquet dataset, and labels).
    Generate(generate::GenerateArgs),
    /// Analyze a dataset: every analyzer's JSON result, HTML page and SVG charts, an index and a manifest.
    Analyze(analyze::AnalyzeArgs),
    /// The main job: generate the dataset, then analyze it (data in OUT/data, reports in OUT/reports).
    Run(run::RunArgs),
    /// The CI gate: run the analyzers, print every named one-sided check, exit 1 if one fails.
    Check(check::CheckArgs),
    /// List the scenarios with their descriptions and parameters, and the modifiers to build more.
    Scenarios(scenarios::ScenariosArgs),
    /// Check a dataset against the invariants of its workload.
    Validate(validate::ValidateArgs),
    /// Drive a live HTTP service with a dataset's rows (open loop), measure it, score its answers.
    Replay(replay::ReplayArgs),
    /// A loopback fraud-scoring service (POST /predict) with injectable faults, for replay.
    ServeMock(serve_mock::ServeMockArgs),
    /// Serve the reports (and the status and analysis API) on loopback; --live generates the
    /// plan day by day in the background and re-analyzes as the data grows.
    Serve(serve::ServeArgs),
    /// Price catalogues: `catalogue import litellm FILE` writes one from LiteLLM's price table.
    Catalogue(catalogue::CatalogueArgs),
    /// Write a dataset in another format: `export focus`, the calls as FOCUS 1.2 cost and usage.
    Export(export::ExportArgs),
    /// Write the built-in configuration to DIR/config for editing (runs in DIR then use it).
    Init(init::InitArgs),
}

/// Runs the parsed command.
pub fn run(cli: &Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Generate(args) => generate::run(args),
        Command::Analyze(args) => analyze::run(args),
        Command::Run(args) => run::run(args),
        Command::Check(args) => check::run(args),
        Command::Scenarios(args) => scenarios::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Replay(args) => replay::run(args),
        Command::ServeMock(args) => serve_mock::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Catalogue(args) => catalogue::run(args),
        Command::Export(args) => export::run(args),
        Command::Init(args) => init::run(args),
    }
}
