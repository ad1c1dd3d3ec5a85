//! `serve --live`: generates the run plan day by day in the background (the days `generate
//! --date` writes, in order, the state carried from one to the next in memory) and asks for an
//! analysis after every N days and after the last, so the reports follow the data as it grows.
//! The last analysis is a full one over the whole dataset: the same reports `trafficsim run`
//! writes.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use chrono::NaiveDate;
use serde::Serialize;

use super::AppState;
use super::gate::Gate;
use super::jobs::{Jobs, Origin, Request};
use crate::cli::generate::generate_with;
use crate::config::RunPlan;
use crate::generate::GenerateOptions;
use crate::sink::layout;

/// How the live run goes.
#[derive(Clone)]
pub struct LiveSettings {
    /// Threads for generation.
    pub options: GenerateOptions,
    /// Analyze after every this many days (and after the last).
    pub analyze_every: u32,
    /// Pause after each day, so the data grows at a pace one can watch.
    pub pace: Duration,
    /// Tests: each day after the first waits for a permit instead of the pace.
    pub gate: Option<Arc<Gate>>,
}

/// Where the live run is, for `/api/status`.
#[derive(Debug, Clone, Serialize)]
pub struct LiveStatus {
    /// `generating`, `analyzing` (every day written, the last analysis to come), `done`,
    /// `stopped` or `failed`.
    pub state: &'static str,
    pub days_done: u32,
    pub days_total: u32,
    /// The last day written.
    pub last_day: Option<NaiveDate>,
    pub rows: u64,
    pub planned_rows: u64,
    pub csv_bytes: Option<u64>,
    pub parquet_bytes: Option<u64>,
    /// Days of data the latest finished live analysis covered.
    pub analyzed_days: u32,
    pub updated_at: String,
    pub error: Option<String>,
}

impl LiveStatus {
    pub fn new(days_total: u32) -> LiveStatus {
        LiveStatus {
            state: "generating",
            days_done: 0,
            days_total,
            last_day: None,
            rows: 0,
            planned_rows: 0,
            csv_bytes: None,
            parquet_bytes: None,
            analyzed_days: 0,
            updated_at: super::rfc3339(SystemTime::now()),
            error: None,
        }
    }

    /// The state as it is now: once every day is written, `analyzing` until an analysis of all
    /// of them has finished.
    pub fn current_state(&self) -> &'static str {
        match self.state {
            "generating" if self.days_done == self.days_total => match self.analyzed_days == self.days_total {
                true => "done",
                false => "analyzing",
            },
            s => s,
        }
    }
}

/// Runs the live generation of the primary report tree's plan; returns when every day is written
/// (the last analysis is then requested) or the server stops.
pub(crate) fn run(state: Arc<AppState>, settings: LiveSettings) {
    let result = generate(&state, &settings);
    let live = state.live.as_ref().expect("a live server has a live status");
    let mut status = live.lock().expect("live lock");
    status.updated_at = super::rfc3339(SystemTime::now());
    match result {
        Ok(()) if status.days_done == status.days_total => {}
        Ok(()) => status.state = "stopped",
        Err(e) => {
            eprintln!("live generation failed: {e:#}");
            status.state = "failed";
            status.error = Some(format!("{e:#}"));
        }
    }
}

fn generate(state: &Arc<AppState>, settings: &LiveSettings) -> Result<()> {
    let plan: &RunPlan = state.mounts[0].plan.as_ref().context("the live run needs a run plan")?;
    let run = plan.run();
    clear_fact_table(plan)?;
    let live = state.live.as_ref().expect("a live server has a live status");
    let options = GenerateOptions {
        days: Some(0..=run.days - 1),
        progress: false,
        ..settings.options.clone()
    };
    let mut after_day = |d: &crate::generate::DayDone| {
        // The analysis is asked for before the day shows in the status, so whoever sees the
        // day there also finds its analysis running or queued.
        let last = d.day + 1 == d.window_days;
        if last || (d.day + 1).is_multiple_of(settings.analyze_every.max(1)) {
            let request = Request {
                mount: 0,
                only: None,
                origin: Origin::Live,
                days: Some(d.day + 1),
            };
            Jobs::start_or_defer(state, request);
        }
        {
            let mut s = live.lock().expect("live lock");
            s.days_done = d.day + 1;
            s.last_day = Some(d.date);
            s.rows = d.rows;
            s.planned_rows = d.planned_rows;
            s.csv_bytes = d.csv_bytes;
            s.parquet_bytes = d.parquet_bytes;
            s.updated_at = super::rfc3339(SystemTime::now());
        }
        let go_on = last
            || match &settings.gate {
                Some(gate) => gate.pass(&state.stop),
                None => !state.stop.sleep(settings.pace),
            };
        match go_on && !state.stop.is_set() {
            true => ControlFlow::Continue(()),
            false => ControlFlow::Break(()),
        }
    };
    let line = generate_with(plan, &options, &mut after_day)?;
    eprintln!("live: {line}");
    Ok(())
}

/// Removes the plan's fact table (Parquet dataset, whole-run CSV, day CSV files): the live run
/// writes it again from the first day, as `generate` would replace it.
fn clear_fact_table(plan: &RunPlan) -> Result<()> {
    let data = layout::data_dir(&plan.run().out);
    let table = layout::fact_table(plan);
    for dir in [data.join(table.parquet_dir), table.day_csv_dir(&data)] {
        if dir.is_dir() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("cannot remove {}", dir.display()))?;
        }
    }
    let csv = data.join(table.csv_name());
    if csv.is_file() {
        std::fs::remove_file(&csv).with_context(|| format!("cannot remove {}", csv.display()))?;
    }
    Ok(())
}
