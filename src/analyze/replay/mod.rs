//! The Replay page: what `trafficsim replay` measured against a live service — the achieved
//! rate against the schedule, second by second; latency from the scheduled time (HdrHistogram
//! percentiles); the errors by kind; each labelled degradation window against everything
//! outside them; and the service's decisions against the ground truth. It appears when
//! `--replay DIR` is given (`replay` passes its own directory), for either workload.
//!
//! Its checks are `replay.*`: the exit code of `trafficsim replay`, and part of
//! `trafficsim check --replay DIR`.

mod page;
mod queries;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use maud::Markup;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::checks::{Check, CheckUnit};
use super::{Analyzer, Context};
use crate::config::{ConfigError, SettingsCheck};
use crate::replay::record::{RESULTS, ReplaySummary, SUMMARY};
use crate::report::html::Figure;
pub use queries::{Decisions, SecondPoint, WindowLevels};

/// A replay directory as the page reads it.
pub struct ReplayRun {
    pub dir: PathBuf,
    pub summary: ReplaySummary,
    /// `results.parquet`, scanned.
    pub results: LazyFrame,
}

/// Reads `dir/replay.json` and scans `dir/results.parquet`.
pub fn load(dir: &Path) -> Result<ReplayRun> {
    let summary_path = dir.join(SUMMARY);
    let text = std::fs::read_to_string(&summary_path).with_context(|| {
        format!(
            "--replay {}: no {SUMMARY} there; give the --out directory of a finished `trafficsim replay`",
            dir.display()
        )
    })?;
    let summary: ReplaySummary =
        serde_json::from_str(&text).with_context(|| format!("{}: not a replay summary", summary_path.display()))?;
    let results_path = dir.join(format!("{RESULTS}.parquet"));
    if !results_path.is_file() {
        anyhow::bail!("--replay {}: no {RESULTS}.parquet there", dir.display());
    }
    let results = LazyFrame::scan_parquet(PlRefPath::try_from_path(&results_path)?, ScanArgsParquet::default())
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot read {}", results_path.display()))?;
    Ok(ReplayRun {
        dir: dir.to_path_buf(),
        summary,
        results,
    })
}

/// `[replay]` (calls) or `[ticketing.replay]` of `analysis.toml`: the service-level targets.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ReplaySettings {
    /// p99 latency from the scheduled time, outside the degradation windows (document 004: 200).
    pub max_p99_latency_ms: f64,
    /// Failed requests over requests sent, outside the windows (document 004: under 1%).
    pub max_error_rate: f64,
    /// The achieved rate over the schedule's rate.
    pub min_rate_ratio: f64,
    /// Scheduled requests that were never sent (zero data loss).
    pub max_not_sent: u64,
}

impl Default for ReplaySettings {
    fn default() -> Self {
        ReplaySettings {
            max_p99_latency_ms: 200.0,
            max_error_rate: 0.01,
            min_rate_ratio: 0.99,
            max_not_sent: 0,
        }
    }
}

/// What the page shows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReplayResult {
    pub dir: String,
    pub summary: ReplaySummary,
    /// Second by second of the schedule: scheduled, sent, failed, p99.
    pub seconds: Vec<SecondPoint>,
    /// Each labelled degradation window the replayed rows reach, by the rows' time.
    pub windows: Vec<WindowLevels>,
    /// Every request outside those windows.
    pub outside: WindowLevels,
    /// The service's decisions against `is_fraud` (ticketing, when it answered decisions).
    pub decisions: Option<Decisions>,
}

pub struct Replay;

impl<C: 'static> Analyzer<C> for Replay {
    const NAME: &'static str = "replay";
    const TITLE: &'static str = "Replay";
    const SUMMARY: &'static str = "A live service driven with the data: achieved rate, latency from the schedule, errors, degradation windows and decisions.";
    type Settings = ReplaySettings;
    type Output = ReplayResult;

    fn check(s: &ReplaySettings, c: SettingsCheck<'_>, _: &C) -> Result<(), ConfigError> {
        c.range("max_p99_latency_ms", s.max_p99_latency_ms, 0.001, 3_600_000.0)?;
        c.fraction("max_error_rate", s.max_error_rate)?;
        c.range("min_rate_ratio", s.min_rate_ratio, 0.0, 1.0)
    }

    fn applies(ctx: &Context<'_, C>) -> bool {
        ctx.replay().is_some()
    }

    fn analyze(ctx: &Context<'_, C>, _: &ReplaySettings) -> Result<ReplayResult> {
        let run = ctx.replay().context("no replay directory given (--replay DIR)")?;
        let windows = queries::degradation_windows(ctx)?;
        let rows = queries::rows(ctx, run)?;
        let (windows, outside) = queries::window_levels(&rows, run, &windows);
        Ok(ReplayResult {
            dir: run.dir.display().to_string(),
            summary: run.summary.clone(),
            seconds: queries::seconds(&rows, run),
            windows,
            outside,
            decisions: queries::decisions(ctx, run)?,
        })
    }

    fn headline(r: &ReplayResult) -> Vec<Figure> {
        let s = &r.summary;
        vec![
            Figure::count("Requests sent", s.sent),
            Figure::number("Achieved rate (req/s)", s.achieved_rps),
            Figure::ms("p99 latency", s.latency_ms.p99),
            Figure::percent("Failed", ratio(s.failed, s.sent)),
        ]
    }

    fn render(r: &ReplayResult, s: &ReplaySettings) -> Result<Markup> {
        page::render(r, s)
    }

    fn checks(r: &ReplayResult, s: &ReplaySettings) -> Vec<Check> {
        checks(r, s)
    }
}

/// `part / whole`, 0 when there is no whole.
pub fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

fn checks(r: &ReplayResult, s: &ReplaySettings) -> Vec<Check> {
    let sum = &r.summary;
    let scope = if r.windows.is_empty() {
        "every request"
    } else {
        "outside the degradation windows"
    };
    let mut out = vec![
        Check::new(
            "replay.p99_latency_ms",
            format!("p99 latency from the scheduled time, {scope}"),
            r.outside.p99_ms,
            super::checks::Op::AtMost,
            s.max_p99_latency_ms,
        )
        .unit(CheckUnit::Ms),
        Check::new(
            "replay.error_rate",
            format!("failed requests over requests sent, {scope}"),
            (r.outside.sent > 0).then_some(r.outside.error_rate),
            super::checks::Op::AtMost,
            s.max_error_rate,
        )
        .unit(CheckUnit::Share),
        Check::new(
            "replay.achieved_rate_ratio",
            format!(
                "achieved rate over the schedule's ({:.0} of {:.0} req/s)",
                sum.achieved_rps, sum.target_rps
            ),
            (sum.target_rps > 0.0).then(|| sum.achieved_rps / sum.target_rps),
            super::checks::Op::AtLeast,
            s.min_rate_ratio,
        )
        .unit(CheckUnit::Share),
        Check::at_most(
            "replay.not_sent",
            "scheduled requests never sent (interrupted, or past the time bound)",
            sum.not_sent as f64,
            s.max_not_sent as f64,
        ),
    ];
    for w in &r.windows {
        out.push(
            Check::new(
                format!("replay.degradation.{}.p99_latency_ms", w.key),
                format!("p99 latency inside the degradation window {}", w.name),
                w.p99_ms,
                super::checks::Op::AtMost,
                s.max_p99_latency_ms,
            )
            .unit(CheckUnit::Ms),
        );
        out.push(
            Check::new(
                format!("replay.degradation.{}.error_rate", w.key),
                format!("failed over sent inside the degradation window {}", w.name),
                (w.sent > 0).then_some(w.error_rate),
                super::checks::Op::AtMost,
                s.max_error_rate,
            )
            .unit(CheckUnit::Share),
        );
    }
    out
}
