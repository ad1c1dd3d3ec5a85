//! `trafficsim catalogue import litellm FILE`: a catalogue file from LiteLLM's price table
//! (`model_prices_and_context_window.json`), for the chosen providers and models.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand, ValueEnum};

use super::common::DEFAULT_CONFIG;
use crate::config::RunPlan;
use crate::config::calls::litellm::{ImportFilter, import};
use crate::sink::atomic::AtomicFile;

#[derive(Debug, Clone, Args)]
pub struct CatalogueArgs {
    #[command(subcommand)]
    pub action: CatalogueAction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum CatalogueAction {
    /// Write a catalogue from another price table: `catalogue import litellm FILE`.
    Import(ImportArgs),
}

/// Price tables a catalogue can be imported from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PriceTable {
    /// LiteLLM's model_prices_and_context_window.json.
    Litellm,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The table's format.
    #[arg(value_enum)]
    pub from: PriceTable,
    /// The price table file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Providers to import, as LiteLLM names them (`openai`, `anthropic`, `gemini`, `bedrock`…)
    /// or as trafficsim does (`google`) [default: all].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub providers: Vec<String>,
    /// Models to import, as the file's keys spell them [default: every chat model of the providers].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub models: Vec<String>,
    /// Run plan whose catalogue lends regions, shares and billing names to known providers, and
    /// whose traffic model names the geographies to serve.
    #[arg(long, default_value = DEFAULT_CONFIG, value_name = "FILE")]
    pub config: PathBuf,
    /// Where to write the catalogue [default: standard output].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(args: &CatalogueArgs) -> Result<()> {
    match &args.action {
        CatalogueAction::Import(a) => import_run(a),
    }
}

fn import_run(args: &ImportArgs) -> Result<()> {
    let RunPlan::Calls(base) = RunPlan::load(&args.config)? else {
        bail!(
            "{}: a ticketing run plan: give a calls run plan with --config",
            args.config.display()
        );
    };
    let json = std::fs::read_to_string(&args.file)
        .with_context(|| format!("{}: cannot read the file", args.file.display()))?;
    let filter = ImportFilter {
        providers: args.providers.clone(),
        models: args.models.clone(),
    };
    let text = match args.from {
        PriceTable::Litellm => import(&args.file, &json, &filter, &base.catalogue, &base.traffic)?,
    };
    match &args.out {
        None => print!("{text}"),
        Some(path) => {
            let mut f = AtomicFile::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            f.write_all(text.as_bytes())
                .and_then(|()| f.commit())
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}
