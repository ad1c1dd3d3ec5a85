//! `trafficsim analyze`: runs every analyzer of the dataset's workload and writes the reports.
//! The workload comes from `--config`, else from the dataset (`calls/` or `transactions/`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;

use super::common::{DEFAULT_CONFIG, DEFAULT_TICKETING_CONFIG};
use crate::analyze::adapt::{ColumnsMap, map as columns_map};
use crate::analyze::dataset::detect_table;
use crate::analyze::{ANALYZERS, Analysis, AnalysisSpec, CALLS, Inputs, Plan, prepare, run_analyzers, ticketing};
use crate::config::{AnalysisFile, CallsConfig, ConfigError, RunPlan, TicketingConfig};
use crate::report::{ReportInput, generated_at, render_all, write_reports};
use crate::sink::layout;

/// Which dataset to analyze and with which settings: shared by `analyze` and `check`.
#[derive(Debug, Clone, Args)]
pub struct DatasetArgs {
    /// The data: a data directory (with `calls/` or `transactions/`, or their CSV), a Parquet
    /// dataset directory, a .parquet or a .csv file [default: the run plan's OUT/data].
    #[arg(long, value_name = "PATH")]
    pub input: Option<PathBuf>,
    /// Run plan of the data (catalogue, models) [default: the dataset's workload's,
    /// config/default.toml for calls, config/ticketing.toml for ticketing].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Analysis settings [default: analysis.toml beside the run plan].
    #[arg(long, value_name = "FILE")]
    pub analysis: Option<PathBuf>,
    /// Fraud predictions to score (ticketing): a CSV or Parquet file of `transaction_id` with a
    /// `score` from 0 to 1 and/or a `decision` (true = flagged).
    #[arg(long, value_name = "FILE")]
    pub predictions: Option<PathBuf>,
    /// A `trafficsim replay` output directory: adds the Replay page and its `replay.*` checks.
    #[arg(long, value_name = "DIR")]
    pub replay: Option<PathBuf>,
    /// Read another export's calls (calls workload): a TOML file mapping its columns onto the
    /// calls schema, or a preset's name (`litellm`, `seed-era`; see config/columns/).
    #[arg(long, value_name = "FILE|NAME")]
    pub columns_map: Option<String>,
}

impl DatasetArgs {
    /// The optional inputs besides the dataset; `map` is [`DatasetArgs::columns_map`]'s.
    pub fn inputs<'a>(&'a self, map: Option<&'a ColumnsMap>) -> Inputs<'a> {
        Inputs {
            predictions: self.predictions.as_deref(),
            replay: self.replay.as_deref(),
            columns_map: map,
        }
    }

    /// The `--columns-map`, read and checked (before any data is read).
    pub fn columns_map(&self) -> Result<Option<ColumnsMap>> {
        let Some(given) = &self.columns_map else {
            return Ok(None);
        };
        Ok(Some(columns_map::load(&columns_map::resolve(given)?)?))
    }
}

impl DatasetArgs {
    /// The run plan and the data: the plan given, else the one of the dataset's workload.
    pub fn resolve(&self) -> Result<(RunPlan, PathBuf)> {
        let detected = self.input.as_deref().and_then(detect_table);
        let config = match (&self.config, detected) {
            (Some(c), _) => c.clone(),
            (None, Some(t)) if t == layout::TRANSACTIONS => PathBuf::from(DEFAULT_TICKETING_CONFIG),
            (None, _) => PathBuf::from(DEFAULT_CONFIG),
        };
        let plan = RunPlan::load(&config)?;
        let expected = layout::fact_table(&plan);
        if let (Some(input), Some(found)) = (&self.input, detected)
            && found != expected
        {
            bail!(
                "{}: a {} dataset, but {} is a run plan of {} data: give the matching --config, or leave it out to use the dataset's",
                input.display(),
                found.name,
                config.display(),
                expected.name
            );
        }
        let input = self.input.clone().unwrap_or_else(|| layout::data_dir(&plan.run().out));
        super::common::note_leftovers(&input);
        Ok((plan, input))
    }
}

#[derive(Debug, Clone, Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub dataset: DatasetArgs,
    /// Directory to write the reports to (replaced as a whole when they are complete)
    /// [default: the run plan's OUT/reports].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run only these analyzers, e.g. `overview,understanding` [default: all].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub only: Option<Vec<String>>,
}

pub fn run(args: &AnalyzeArgs) -> Result<()> {
    let (plan, input) = args.dataset.resolve()?;
    let out = args.out.clone().unwrap_or_else(|| plan.run().out.join("reports"));
    let analysis = analysis_path(plan.path(), args.dataset.analysis.as_deref());
    let prepared = Prepared::new(plan, &analysis, args.only.as_deref())?;
    let map = args.dataset.columns_map()?;
    let (summary, analysis) = prepared.analyze_and_report(&input, &out, &args.dataset.inputs(map.as_ref()))?;
    println!("{summary}");
    note_not_run(&analysis);
    Ok(())
}

/// Tells the user, on stderr, which pages did not run on this data and why.
pub fn note_not_run(analysis: &Analysis) {
    for n in &analysis.not_run {
        eprintln!("note: {}: {}", n.name, n.reason);
    }
}

/// The analysis settings file: the one given, else `analysis.toml` beside the run plan.
pub fn analysis_path(run_plan: &Path, given: Option<&Path>) -> PathBuf {
    given.map_or_else(
        || run_plan.parent().unwrap_or(Path::new(".")).join("analysis.toml"),
        Path::to_path_buf,
    )
}

/// A workload's analyzers with their settings read and checked, before any data is read.
pub struct Prepared {
    file: AnalysisFile,
    job: Job,
}

// One per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
enum Job {
    Calls(CallsConfig, Plan<CallsConfig>),
    Ticketing(TicketingConfig, Plan<TicketingConfig>),
}

impl Prepared {
    /// Reads and checks the settings of `plan`'s workload from `analysis`.
    pub fn new(plan: RunPlan, analysis: &Path, only: Option<&[String]>) -> Result<Prepared, ConfigError> {
        let file = AnalysisFile::load(analysis)?;
        let job = match plan {
            RunPlan::Calls(c) => {
                let p = prepare(ANALYZERS, &CALLS, &file, &c, only)?;
                Job::Calls(c, p)
            }
            RunPlan::Ticketing(c) => {
                let p = prepare(ticketing::ANALYZERS, &ticketing::TICKETING, &file, &c, only)?;
                Job::Ticketing(c, p)
            }
        };
        Ok(Prepared { file, job })
    }

    pub fn spec(&self) -> &'static AnalysisSpec {
        match self.job {
            Job::Calls(..) => &CALLS,
            Job::Ticketing(..) => &ticketing::TICKETING,
        }
    }

    fn run_plan(&self) -> &Path {
        match &self.job {
            Job::Calls(c, _) => &c.path,
            Job::Ticketing(c, _) => &c.path,
        }
    }

    /// Runs the analyzers over `input`.
    pub fn analyze(&self, input: &Path, inputs: &Inputs<'_>) -> Result<Analysis> {
        match &self.job {
            Job::Calls(c, p) => {
                if let Some(file) = inputs.predictions {
                    bail!(
                        "--predictions {}: the calls workload has no fraud labels to score predictions against; predictions are for ticketing data",
                        file.display()
                    );
                }
                run_analyzers(c, p, input, &CALLS, inputs)
            }
            Job::Ticketing(c, p) => {
                if let Some(map) = inputs.columns_map {
                    bail!(
                        "--columns-map {}: a columns map reads another export's calls; the ticketing data is read as written",
                        map.path.display()
                    );
                }
                run_analyzers(c, p, input, &ticketing::TICKETING, inputs)
            }
        }
    }

    /// Analyzes `input` and writes the reports to `out`; returns the one-line summary and the
    /// analysis.
    pub fn analyze_and_report(&self, input: &Path, out: &Path, inputs: &Inputs<'_>) -> Result<(String, Analysis)> {
        let start = Instant::now();
        let analysis = self.analyze(input, inputs)?;
        write_reports(out, &self.render(&analysis)?)?;
        Ok((summary_line(&analysis, out, start), analysis))
    }

    /// The files of the reports of `analysis` (relative path, contents).
    pub fn render(&self, analysis: &Analysis) -> Result<Vec<(PathBuf, String)>> {
        let spec = self.spec();
        let (_, files) = render_all(&ReportInput {
            title: spec.title,
            subtitle: spec.subtitle,
            pages: &analysis.pages,
            not_run: &analysis.not_run,
            source: &analysis.source,
            window: &analysis.window,
            run_plan: self.run_plan(),
            analysis: &self.file.path,
            generated_at: generated_at(),
            summary: analysis.summary.as_ref(),
        })?;
        Ok(files)
    }

    /// `previous` with the pages of `fresh` (a run of some of the analyzers) in place of its own.
    pub fn merge(&self, previous: Analysis, fresh: Analysis) -> Result<Analysis> {
        match &self.job {
            Job::Calls(_, p) => previous.replace_pages(fresh, p, &CALLS),
            Job::Ticketing(_, p) => previous.replace_pages(fresh, p, &ticketing::TICKETING),
        }
    }
}

/// The one line `analyze` prints: rows, files, time, pages and checks.
pub fn summary_line(analysis: &Analysis, out: &Path, start: Instant) -> String {
    let checks = if analysis.checks.checks.is_empty() {
        String::new()
    } else {
        format!(
            "; checks: {} passed, {} failed, {} skipped",
            analysis.checks.passed, analysis.checks.failed, analysis.checks.skipped
        )
    };
    format!(
        "analyzed {} rows ({} {} file(s), {:.2} MB) in {:.2} s: {} reports in {}{checks}",
        analysis.window.rows,
        analysis.source.files.len(),
        analysis.source.format,
        analysis.source.bytes as f64 / 1e6,
        start.elapsed().as_secs_f64(),
        analysis.pages.len(),
        out.join("index.html").display()
    )
}
