//! The analyze stage: Polars lazy queries over a workload's dataset, one module per analyzer,
//! each returning a typed result that is written as JSON and rendered as one HTML page, and the
//! named one-sided checks it proves ([`checks`]). The framework is generic over the workload's
//! configuration: the calls (FinOps) analyzers are the modules below, the ticketing validators
//! are in [`ticketing`].
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
//!    - `COLUMNS`: the columns of the dataset it reads, one line, e.g.
//!      `const COLUMNS: Columns = Columns::Only(&["timestamp", "cost_usd", "customer_id"]);`
//!      (default [`Columns::All`], every column of [`dataset::DatasetSpec::columns`]; the
//!      dataset's `required` columns, the timestamp, are always there). On data
//!      that lacks one of them (a foreign export, `--columns`) the page is not run, and the
//!      index says which columns it lacks; list exactly what its queries read, including what
//!      the [`frame`] helpers read (`totals_aggs`: status, cost_usd, input_tokens,
//!      output_tokens, latency_ms; `cost_micros`: cost_usd; `is_success`: status);
//!    - `headline`: the few figures the index and the manifest show;
//!    - `render`: a pure function from the result to the page body (maud markup), built from
//!      [`crate::report::html`] components and [`crate::report::chart`] SVGs.
//! 2. Add `pub mod <name>;` below and one line `register::<<name>::Type>(),` to [`ANALYZERS`].
//! 3. Add its `[<name>]` table to `config/analysis.toml`.
//! 4. Test it in `tests/analyze_<name>.rs` against an independent fold over the rows
//!    (`tests/common/analyze.rs` shares one analyzed dataset between tests).
//!    `tests/foreign_data.rs` runs every analyzer on exactly its declared `COLUMNS`, so a
//!    column read but not declared fails there.

pub mod abuse;
pub mod adapt;
pub mod caching;
pub mod checks;
pub mod churn_growth;
mod context;
pub mod dataset;
pub mod decisions;
pub mod features;
pub mod frame;
pub mod grouped;
pub mod latency;
pub mod organization;
pub mod overview;
pub mod performance;
pub mod predictions;
pub mod pricing;
pub mod profitability;
pub mod rate_optimization;
pub mod regional;
pub mod replay;
pub mod scenarios;
pub mod stats;
pub mod summary;
pub mod ticketing;
pub mod token_economics;
pub mod understanding;

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use maud::Markup;
use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::{AnalysisFile, CallsConfig, ConfigError, SettingsCheck};
use crate::report::html::Figure;
use checks::{Check, CheckReport, CheckSettings};
pub use context::Context;
pub use dataset::{DataSource, SideTables, Window};

/// Every analyzer of the calls workload, in page order.
pub const ANALYZERS: &[Registration] = &[
    register::<CallsConfig, overview::Overview>(),
    register::<CallsConfig, understanding::Understanding>(),
    register::<CallsConfig, performance::Performance>(),
    register::<CallsConfig, decisions::Decisions>(),
    register::<CallsConfig, rate_optimization::RateOptimization>(),
    register::<CallsConfig, organization::Organization>(),
    register::<CallsConfig, profitability::Profitability>(),
    register::<CallsConfig, pricing::Pricing>(),
    register::<CallsConfig, features::Features>(),
    register::<CallsConfig, token_economics::TokenEconomics>(),
    register::<CallsConfig, regional::Regional>(),
    register::<CallsConfig, churn_growth::ChurnGrowth>(),
    register::<CallsConfig, abuse::Abuse>(),
    register::<CallsConfig, scenarios::Scenarios>(),
    register::<CallsConfig, replay::Replay>(),
];

/// What the analysis of one workload needs besides its analyzers: its dataset, where its
/// settings are and its reports' title.
#[derive(Debug, Clone, Copy)]
pub struct AnalysisSpec {
    pub dataset: dataset::DatasetSpec,
    /// The table of `analysis.toml` that holds the workload's tables (`[ticketing.fraud]`), or
    /// `None` for the top level (the calls tables, `[performance]`).
    pub scope: Option<&'static str>,
    /// Tables of the scope that are not analyzers': `checks` (the skips), other workloads'.
    pub other_tables: &'static [&'static str],
    pub title: &'static str,
    pub subtitle: &'static str,
    /// Builds the executive summary atop the index from the finished pages (`None`: no summary).
    pub summary: Option<summary::Summarizer>,
}

/// The calls workload's analysis.
pub const CALLS: AnalysisSpec = AnalysisSpec {
    dataset: dataset::CALLS_DATASET,
    scope: None,
    other_tables: &[ticketing::SCOPE],
    title: "trafficsim reports",
    subtitle: "FinOps and usage-based revenue analysis of simulated AI-API traffic",
    summary: Some(summary::calls::summarize),
};

/// The table of a workload's settings that lists the skipped checks.
pub const CHECKS_TABLE: &str = "checks";

/// The columns of a workload's dataset an analyzer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Columns {
    /// Every column of the workload's dataset ([`dataset::DatasetSpec::columns`]).
    All,
    /// Only these.
    Only(&'static [&'static str]),
}

impl Columns {
    /// The column names, given the workload's full list.
    pub fn names(self, all: &'static [&'static str]) -> &'static [&'static str] {
        match self {
            Columns::All => all,
            Columns::Only(names) => names,
        }
    }
}

/// One analyzer: typed settings in, typed result out, rendered by a pure function. `C` is the
/// configuration of the workload it analyzes (the run plan and what it names).
pub trait Analyzer<C: 'static = CallsConfig>: 'static {
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
    /// The dataset's columns it reads: without one of them the page is not run, and says so.
    const COLUMNS: Columns = Columns::All;

    /// Reads the settings: by default the analyzer's own `[NAME]` table.
    fn read_settings(file: &AnalysisFile) -> Result<Self::Settings, ConfigError> {
        file.section(Self::NAME)
    }
    /// Range checks on the settings (and names checked against the catalogue in `config`);
    /// errors name the file and the key.
    fn check(settings: &Self::Settings, check: SettingsCheck<'_>, config: &C) -> Result<(), ConfigError>;
    /// Whether the page has anything to show in this context (a page fed by an optional
    /// input, such as `--replay`, is left out without it).
    fn applies(_ctx: &Context<'_, C>) -> bool {
        true
    }
    /// Runs the queries.
    fn analyze(ctx: &Context<'_, C>, settings: &Self::Settings) -> Result<Self::Output>;
    /// The page's headline figures (index and manifest).
    fn headline(output: &Self::Output) -> Vec<Figure>;
    /// The page body: pure, result → markup.
    fn render(output: &Self::Output, settings: &Self::Settings) -> Result<Markup>;
    /// The named one-sided checks this result proves or refutes (targets from the settings).
    fn checks(_output: &Self::Output, _settings: &Self::Settings) -> Vec<Check> {
        Vec::new()
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
    /// The checks the analyzer proved or refuted (none for most FinOps pages).
    pub checks: Vec<Check>,
    /// Wall seconds the analyzer took (its queries, fold and render): the manifest shows them,
    /// so a slow page on large data is named rather than guessed.
    pub seconds: f64,
}

/// An analyzer that did not run on this data, and why: the index lists it, and its page says so.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct NotRun {
    pub name: String,
    pub title: String,
    pub summary: String,
    /// The columns it needs that the data lacks (empty when it failed on the data instead).
    pub missing: Vec<String>,
    /// One line: "not run: the data has no task_type".
    pub reason: String,
}

impl NotRun {
    fn new<C: 'static, A: Analyzer<C>>(missing: Vec<String>, reason: String) -> NotRun {
        NotRun {
            name: A::NAME.to_string(),
            title: A::TITLE.to_string(),
            summary: A::SUMMARY.to_string(),
            missing,
            reason,
        }
    }
}

/// What running one analyzer gave.
pub enum Outcome {
    Page(Box<Page>),
    /// It does not apply here (see [`Analyzer::applies`]): left out without a word.
    LeftOut,
    NotRun(NotRun),
}

/// Reads and checks one analyzer's settings.
type Loader<C> = fn(&AnalysisFile, &C) -> Result<Box<dyn Prepared<C>>, ConfigError>;

/// An analyzer in a workload's registry, before its settings are read.
pub struct Registration<C: 'static = CallsConfig> {
    pub name: &'static str,
    /// The columns it reads ([`Analyzer::COLUMNS`]).
    pub columns: Columns,
    load: Loader<C>,
}

/// The registry entry of `A`, an analyzer of workloads configured by `C`.
pub const fn register<C: 'static, A: Analyzer<C>>() -> Registration<C> {
    Registration {
        name: A::NAME,
        columns: A::COLUMNS,
        load: load::<C, A>,
    }
}

/// An analyzer with its checked settings, ready to run.
pub trait Prepared<C = CallsConfig>: Send + Sync {
    fn name(&self) -> &'static str;
    /// The page; or nothing when the analyzer does not apply (see [`Analyzer::applies`]); or
    /// why it was not run (the data lacks its columns, or on foreign data, it failed).
    fn run(&self, ctx: &Context<'_, C>) -> Result<Outcome>;
}

struct WithSettings<C: 'static, A: Analyzer<C>> {
    settings: A::Settings,
    config: std::marker::PhantomData<fn() -> C>,
}

fn load<C: 'static, A: Analyzer<C>>(file: &AnalysisFile, config: &C) -> Result<Box<dyn Prepared<C>>, ConfigError> {
    let settings = A::read_settings(file)?;
    A::check(&settings, file.checker(A::NAME), config)?;
    Ok(Box::new(WithSettings::<C, A> {
        settings,
        config: std::marker::PhantomData,
    }))
}

impl<C: 'static, A: Analyzer<C>> Prepared<C> for WithSettings<C, A> {
    fn name(&self) -> &'static str {
        A::NAME
    }

    fn run(&self, ctx: &Context<'_, C>) -> Result<Outcome> {
        if !A::applies(ctx) {
            return Ok(Outcome::LeftOut);
        }
        let missing = ctx.missing(A::COLUMNS);
        if !missing.is_empty() {
            let reason = format!("not run: the data has no {}", missing.join(", "));
            return Ok(Outcome::NotRun(NotRun::new::<C, A>(
                missing.into_iter().map(str::to_string).collect(),
                reason,
            )));
        }
        let start = std::time::Instant::now();
        let output = match A::analyze(ctx, &self.settings) {
            Ok(output) => output,
            // Foreign data can hold what no trafficsim dataset does: one page failing on it
            // does not take the others down (trafficsim's own data still fails loudly).
            Err(e) if ctx.source.foreign => {
                return Ok(Outcome::NotRun(NotRun::new::<C, A>(
                    Vec::new(),
                    format!("not run: it failed on this data: {e:#}"),
                )));
            }
            Err(e) => return Err(e),
        };
        Ok(Outcome::Page(Box::new(Page {
            name: A::NAME,
            title: A::TITLE,
            summary: A::SUMMARY,
            headline: A::headline(&output),
            result_json: serde_json::to_string_pretty(&output)?,
            settings: serde_json::to_value(&self.settings)?,
            body: A::render(&output, &self.settings)?,
            checks: A::checks(&output, &self.settings),
            seconds: start.elapsed().as_secs_f64(),
        })))
    }
}

/// A workload's analyzers with their checked settings, and the checks' skips.
pub struct Plan<C: 'static = CallsConfig> {
    pub analyzers: Vec<Box<dyn Prepared<C>>>,
    pub check_settings: CheckSettings,
}

/// Reads every analyzer's settings from `file` (within the workload's scope), checking them
/// before any data is read. `only` keeps the named analyzers (all when `None`).
pub fn prepare<C: 'static>(
    registry: &[Registration<C>],
    spec: &AnalysisSpec,
    file: &AnalysisFile,
    config: &C,
    only: Option<&[String]>,
) -> Result<Plan<C>, ConfigError> {
    let scoped;
    let file = match spec.scope {
        Some(name) => {
            scoped = file.scope(name)?;
            &scoped
        }
        None => file,
    };
    file.check_sections(registry.iter().map(|r| r.name).chain(spec.other_tables.iter().copied()))?;
    let check_settings = if spec.other_tables.contains(&CHECKS_TABLE) {
        let s: CheckSettings = file.section(CHECKS_TABLE)?;
        s.check(file.checker(CHECKS_TABLE))?;
        s
    } else {
        CheckSettings::default()
    };
    if let Some(names) = only {
        for n in names {
            if !registry.iter().any(|r| r.name == n) {
                return Err(ConfigError::flag(
                    "--only",
                    format!(
                        "unknown analyzer `{n}`: allowed are {}",
                        registry.iter().map(|r| r.name).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
    }
    let analyzers = registry
        .iter()
        .filter(|r| only.is_none_or(|names| names.iter().any(|n| n == r.name)))
        .map(|r| (r.load)(file, config))
        .collect::<Result<_, _>>()?;
    Ok(Plan {
        analyzers,
        check_settings,
    })
}

/// What an analysis produced: the source, its window, the pages and every check.
pub struct Analysis {
    pub source: DataSource,
    pub window: Window,
    pub pages: Vec<Page>,
    /// The analyzers that did not run on this data, and why.
    pub not_run: Vec<NotRun>,
    pub checks: CheckReport,
    /// The executive summary, when the workload has one.
    pub summary: Option<summary::ExecutiveSummary>,
}

/// What an analysis reads besides the dataset: a predictions file to score, a replay to show.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inputs<'a> {
    pub predictions: Option<&'a Path>,
    pub replay: Option<&'a Path>,
    /// How the data's columns make the calls schema's (`--columns-map`).
    pub columns_map: Option<&'a adapt::ColumnsMap>,
}

/// Rows above which queries run on the streaming engine (bounded memory) rather than in memory.
const STREAMING_ROWS: u64 = 500_000;

/// Opens the dataset at `input` (and the `--predictions` file, checked against it) and runs
/// every prepared analyzer on it, in parallel.
pub fn run_analyzers<C: Sync + 'static>(
    config: &C,
    plan: &Plan<C>,
    input: &Path,
    analysis: &AnalysisSpec,
    inputs: &Inputs<'_>,
) -> Result<Analysis> {
    let spec = &analysis.dataset;
    let prepared = &plan.analyzers;
    // A bad predictions file or replay directory fails before the data is read.
    let predictions = inputs.predictions.map(predictions::read).transpose()?;
    let replay = inputs.replay.map(replay::load).transpose()?;
    let (source, mut calls) = dataset::open_with(input, spec, inputs.columns_map)?;
    let mut side = dataset::open_side(&source.path, spec)?;
    let window = dataset::window(&calls, &source)?;
    let engine = if window.rows > STREAMING_ROWS {
        Engine::Streaming
    } else {
        // Small data: decode the files once into memory; every query then reads that frame
        // instead of decoding the Parquet (or parsing the CSV) again.
        let columns: Vec<Expr> = dataset::analyzed_columns(&mut calls, spec)?
            .into_iter()
            .map(col)
            .collect();
        calls = calls.select(columns).collect()?.lazy();
        for table in side.values_mut() {
            *table = table.clone().collect()?.lazy();
        }
        Engine::InMemory
    };
    if let Some(p) = &predictions {
        predictions::check_ids(p, calls.clone(), engine)?;
    }
    let present = calls.collect_schema()?.iter_names().map(|n| n.to_string()).collect();
    let ctx = Context {
        config,
        source: &source,
        window: window.clone(),
        present,
        all_columns: spec.columns,
        calls,
        side,
        predictions: predictions.as_ref(),
        replay: replay.as_ref(),
        engine,
        shared: context::SharedResults::default(),
    };
    let run = |p: &dyn Prepared<C>| p.run(&ctx).with_context(|| format!("analyzer `{}`", p.name()));
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
    let (mut ran, mut not_run) = (Vec::new(), Vec::new());
    for outcome in pages {
        match outcome {
            Outcome::Page(p) => ran.push(*p),
            Outcome::NotRun(n) => not_run.push(n),
            Outcome::LeftOut => {}
        }
    }
    if ran.is_empty()
        && let Some(first) = not_run.first()
    {
        let each: Vec<String> = not_run.iter().map(|n| format!("{}: {}", n.name, n.reason)).collect();
        bail!(
            "{}: no analyzer can run on this data ({}); its columns are {}: map them onto the calls schema with --columns-map FILE (presets: {})",
            source.path.display(),
            if not_run.len() == 1 {
                first.reason.clone()
            } else {
                each.join("; ")
            },
            source
                .columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            adapt::map::presets().join(", ")
        );
    }
    let (pages, checks) = with_checks(ran, &plan.check_settings, analysis)?;
    let summary = summarize(&pages, analysis)?;
    Ok(Analysis {
        source,
        window,
        pages,
        not_run,
        checks,
        summary,
    })
}

/// The analyzers' pages and every check they prove, with the Checks page after them when the
/// workload has one.
fn with_checks(
    mut pages: Vec<Page>,
    settings: &CheckSettings,
    analysis: &AnalysisSpec,
) -> Result<(Vec<Page>, CheckReport)> {
    pages.retain(|p| p.name != CHECKS_TABLE);
    let checks = CheckReport::new(pages.iter().flat_map(|p| p.checks.iter().cloned()).collect(), settings);
    if analysis.other_tables.contains(&CHECKS_TABLE) {
        pages.push(checks_page(&checks, settings)?);
    }
    Ok((pages, checks))
}

/// The workload's executive summary of `pages`, when it has one.
fn summarize(pages: &[Page], analysis: &AnalysisSpec) -> Result<Option<summary::ExecutiveSummary>> {
    analysis
        .summary
        .map(|build| build(pages).context("executive summary"))
        .transpose()
}

impl Analysis {
    /// This analysis with `fresh`'s pages in place of its pages of the same names (a re-run of
    /// some analyzers over newer data): the source and window become `fresh`'s, and the checks
    /// are gathered again from the pages as they now are.
    pub fn replace_pages<C>(self, fresh: Analysis, plan: &Plan<C>, analysis: &AnalysisSpec) -> Result<Analysis> {
        let mut fresh_pages = fresh.pages;
        // Pages not run before but run now leave the list; those not run now join it.
        let mut not_run: Vec<NotRun> = self
            .not_run
            .into_iter()
            .filter(|n| {
                !fresh_pages.iter().any(|p| p.name == n.name) && !fresh.not_run.iter().any(|f| f.name == n.name)
            })
            .collect();
        not_run.extend(fresh.not_run);
        let pages = self
            .pages
            .into_iter()
            .filter(|old| !not_run.iter().any(|n| n.name == old.name))
            .map(|old| match fresh_pages.iter().position(|p| p.name == old.name) {
                Some(i) => fresh_pages.swap_remove(i),
                None => old,
            })
            .collect();
        let (pages, checks) = with_checks(pages, &plan.check_settings, analysis)?;
        let summary = summarize(&pages, analysis)?;
        Ok(Analysis {
            source: fresh.source,
            window: fresh.window,
            pages,
            not_run,
            checks,
            summary,
        })
    }
}

/// The Checks page: every analyzer's checks in one table, with the skips applied.
fn checks_page(report: &CheckReport, settings: &CheckSettings) -> Result<Page> {
    Ok(Page {
        name: CHECKS_TABLE,
        title: "Checks",
        summary: "Every success criterion and scenario expectation as a named one-sided check: the CI gate of `trafficsim check`.",
        headline: report.headline(),
        result_json: serde_json::to_string_pretty(report)?,
        settings: serde_json::to_value(settings)?,
        body: report.render(),
        checks: Vec::new(),
        seconds: 0.0,
    })
}
