//! The analyze stage: Polars lazy queries over the calls dataset, one module per analyzer, each
//! returning a typed result that is written as JSON and rendered as one HTML page.
//!
//! How it runs ([`run_analyzers`]): every analyzer's settings are read from `analysis.toml` and
//! checked first (a bad threshold fails before any data is read); then the dataset is opened as
//! one `LazyFrame` ([`dataset::open`]) and every analyzer runs on it, in parallel, each collecting
//! its own queries. Results are plain serde structs; money is summed as integer micro-dollars
//! (`cost_usd` has 6 decimals) so totals are exact and the same whatever the thread count.
//!
//! # Adding an analyzer
//! 1. Write `src/analyze/<name>.rs` (see `understanding.rs`): a unit struct implementing
//!    [`Analyzer`] with
//!    - `NAME` (the page is `<NAME>.html`, the result `results/<NAME>.json`, the settings the
//!      `[<NAME>]` table of `config/analysis.toml`), `TITLE`, `SUMMARY` (one line for the index);
//!    - `Settings`: a `#[serde(deny_unknown_fields)]` struct for its table, range-checked in
//!      `check` with the [`SettingsCheck`] helpers (errors then name file, key and range), and
//!      names checked against the catalogue in `config`;
//!    - `Output`: a `Serialize + Deserialize` struct, the typed result (sort every list
//!      explicitly: Polars group order is not stable);
//!    - `analyze`: Polars lazy queries on `ctx.calls()`, collected with `ctx.collect(..)`, then
//!      plain Rust; the helpers in [`frame`] cover the usual sums and column extraction;
//!    - `headline`: the few figures the index and the manifest show;
//!    - `render`: a pure function from the result to the page body (maud markup), built from
//!      [`crate::report::html`] components and [`crate::report::chart`] SVGs.
//! 2. Add `pub mod <name>;` below and one line `register::<<name>::Type>(),` to [`ANALYZERS`].
//! 3. Add its `[<name>]` table to `config/analysis.toml`.
//! 4. Test it in `tests/analyze_<name>.rs` against an independent fold over the rows
//!    (`tests/common/analyze.rs` shares one analyzed dataset between tests).

pub mod dataset;
pub mod decisions;
pub mod features;
pub mod frame;
pub mod latency;
pub mod organization;
pub mod overview;
pub mod performance;
pub mod pricing;
pub mod profitability;
pub mod rate_optimization;
pub mod scenarios;
pub mod understanding;

use std::path::Path;

use anyhow::{Context as _, Result};
use maud::Markup;
use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::{AnalysisFile, CallsConfig, ConfigError, SettingsCheck};
use crate::report::html::Figure;
pub use dataset::{DataSource, Window};

/// Every analyzer, in page order.
pub const ANALYZERS: &[Registration] = &[
    register::<overview::Overview>(),
    register::<understanding::Understanding>(),
    register::<performance::Performance>(),
    register::<decisions::Decisions>(),
    register::<rate_optimization::RateOptimization>(),
    register::<organization::Organization>(),
    register::<profitability::Profitability>(),
    register::<pricing::Pricing>(),
    register::<features::Features>(),
    register::<scenarios::Scenarios>(),
];

/// One analyzer: typed settings in, typed result out, rendered by a pure function.
pub trait Analyzer: 'static {
    /// File stem of the page and the result, and the settings table's name.
    const NAME: &'static str;
    /// Page title.
    const TITLE: &'static str;
    /// One line for the index.
    const SUMMARY: &'static str;
    /// The analyzer's table of `analysis.toml`.
    type Settings: Serialize + DeserializeOwned + Send + Sync;
    /// The typed result, written to `results/<NAME>.json`.
    type Output: Serialize + Send;

    /// Reads the settings: by default the analyzer's own `[NAME]` table.
    fn read_settings(file: &AnalysisFile) -> Result<Self::Settings, ConfigError> {
        file.section(Self::NAME)
    }
    /// Range checks on the settings (and names checked against the catalogue in `config`);
    /// errors name the file and the key.
    fn check(settings: &Self::Settings, check: SettingsCheck<'_>, config: &CallsConfig) -> Result<(), ConfigError>;
    /// Runs the queries.
    fn analyze(ctx: &Context<'_>, settings: &Self::Settings) -> Result<Self::Output>;
    /// The page's headline figures (index and manifest).
    fn headline(output: &Self::Output) -> Vec<Figure>;
    /// The page body: pure, result → markup.
    fn render(output: &Self::Output, settings: &Self::Settings) -> Result<Markup>;
}

/// What the analyzers share: the data as a lazy frame, its window, the run plan and catalogue.
pub struct Context<'a> {
    pub config: &'a CallsConfig,
    pub source: &'a DataSource,
    pub window: Window,
    calls: LazyFrame,
    engine: Engine,
}

impl Context<'_> {
    /// The calls dataset as a fresh lazy query (cheap to clone: it is a plan, not data).
    pub fn calls(&self) -> LazyFrame {
        self.calls.clone()
    }

    /// Runs a query. Large datasets use the streaming engine, so memory stays bounded.
    pub fn collect(&self, query: LazyFrame) -> Result<DataFrame> {
        Ok(query.collect_with_engine(self.engine)?.unwrap_single())
    }
}

/// An analyzer's finished page: the result as JSON and the rendered body.
pub struct Page {
    pub name: &'static str,
    pub title: &'static str,
    pub summary: &'static str,
    pub headline: Vec<Figure>,
    pub result_json: String,
    pub settings: serde_json::Value,
    pub body: Markup,
}

/// Reads and checks one analyzer's settings.
type Loader = fn(&AnalysisFile, &CallsConfig) -> Result<Box<dyn Prepared>, ConfigError>;

/// An analyzer in the registry, before its settings are read.
pub struct Registration {
    pub name: &'static str,
    load: Loader,
}

/// The registry entry of `A`.
pub const fn register<A: Analyzer>() -> Registration {
    Registration {
        name: A::NAME,
        load: load::<A>,
    }
}

/// An analyzer with its checked settings, ready to run.
pub trait Prepared: Send + Sync {
    fn name(&self) -> &'static str;
    fn run(&self, ctx: &Context<'_>) -> Result<Page>;
}

struct WithSettings<A: Analyzer> {
    settings: A::Settings,
}

fn load<A: Analyzer>(file: &AnalysisFile, config: &CallsConfig) -> Result<Box<dyn Prepared>, ConfigError> {
    let settings = A::read_settings(file)?;
    A::check(&settings, file.checker(A::NAME), config)?;
    Ok(Box::new(WithSettings::<A> { settings }))
}

impl<A: Analyzer> Prepared for WithSettings<A> {
    fn name(&self) -> &'static str {
        A::NAME
    }

    fn run(&self, ctx: &Context<'_>) -> Result<Page> {
        let output = A::analyze(ctx, &self.settings)?;
        Ok(Page {
            name: A::NAME,
            title: A::TITLE,
            summary: A::SUMMARY,
            headline: A::headline(&output),
            result_json: serde_json::to_string_pretty(&output)?,
            settings: serde_json::to_value(&self.settings)?,
            body: A::render(&output, &self.settings)?,
        })
    }
}

/// Reads every analyzer's settings from `file`, checking them before any data is read. `only`
/// keeps the named analyzers (all when `None`).
pub fn prepare(
    file: &AnalysisFile,
    config: &CallsConfig,
    only: Option<&[String]>,
) -> Result<Vec<Box<dyn Prepared>>, ConfigError> {
    file.check_sections(ANALYZERS.iter().map(|r| r.name))?;
    if let Some(names) = only {
        for n in names {
            if !ANALYZERS.iter().any(|r| r.name == n) {
                return Err(ConfigError::flag(
                    "--only",
                    format!(
                        "unknown analyzer `{n}`: allowed are {}",
                        ANALYZERS.iter().map(|r| r.name).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
    }
    ANALYZERS
        .iter()
        .filter(|r| only.is_none_or(|names| names.iter().any(|n| n == r.name)))
        .map(|r| (r.load)(file, config))
        .collect()
}

/// Rows above which queries run on the streaming engine (bounded memory) rather than in memory.
const STREAMING_ROWS: u64 = 500_000;

/// Opens the dataset at `input` and runs every prepared analyzer on it, in parallel.
pub fn run_analyzers(
    config: &CallsConfig,
    prepared: &[Box<dyn Prepared>],
    input: &Path,
) -> Result<(DataSource, Window, Vec<Page>)> {
    let (source, mut calls) = dataset::open(input)?;
    let window = dataset::window(&calls, &source)?;
    let engine = if window.rows > STREAMING_ROWS {
        Engine::Streaming
    } else {
        // Small data: decode the files once into memory; every query then reads that frame
        // instead of decoding the Parquet (or parsing the CSV) again.
        let columns: Vec<Expr> = dataset::analyzed_columns(&mut calls)?.into_iter().map(col).collect();
        calls = calls.select(columns).collect()?.lazy();
        Engine::InMemory
    };
    let ctx = Context {
        config,
        source: &source,
        window: window.clone(),
        calls,
        engine,
    };
    let run = |p: &dyn Prepared| p.run(&ctx).with_context(|| format!("analyzer `{}`", p.name()));
    // Small data: analyzers side by side (the budget is wall time). Large data: one at a time,
    // so peak memory is one analyzer's, not the sum (each query is parallel inside Polars).
    let pages = if engine == Engine::Streaming {
        prepared.iter().map(|p| run(p.as_ref())).collect::<Result<Vec<_>>>()?
    } else {
        prepared
            .par_iter()
            .map(|p| run(p.as_ref()))
            .collect::<Result<Vec<_>>>()?
    };
    drop(ctx);
    Ok((source, window, pages))
}
