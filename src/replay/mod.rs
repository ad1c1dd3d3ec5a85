//! `trafficsim replay`: drives a live HTTP service with a dataset's rows, along their own time
//! curve or at a constant rate, measures it honestly (open loop, latency from the schedule,
//! HdrHistogram), and keeps the service's answers as predictions to score against the labels.
//!
//! Stages: [`schedule`] (rows → due times and bodies, bounded), [`driver`] (the open-loop
//! sender), [`collect`] (histograms and progress), [`record`] (results, predictions, summary).
//! The Replay page is `analyze::replay`.

pub mod body;
pub mod collect;
pub mod driver;
pub mod outcome;
pub mod record;
pub mod schedule;
pub mod target;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::sink::parquet::Provenance;

pub use collect::Observer;
pub use driver::{Control, DriveOptions};
pub use record::ReplaySummary;
pub use schedule::{Pace, ScheduleOptions};

/// Everything a replay is asked to do.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub input: PathBuf,
    pub target: String,
    pub allow_remote: bool,
    pub schedule: ScheduleOptions,
    pub drive: DriveOptions,
    pub out: PathBuf,
}

/// What a replay left: its summary and where its files are.
#[derive(Debug, Clone)]
pub struct Replayed {
    pub summary: ReplaySummary,
    pub out: PathBuf,
    /// `predictions.parquet`, when the service answered scores or decisions.
    pub predictions: Option<PathBuf>,
}

/// Checks the options that no parser can: positive rates, speeds, bounds and sizes.
pub fn check(o: &ReplayOptions) -> Result<()> {
    match o.schedule.pace {
        Pace::Rate(r) if !(r.is_finite() && r > 0.0) => {
            bail!("--rate {r}: allowed is a number of requests per second above 0")
        }
        Pace::Speed(s) if !(s.is_finite() && s > 0.0) => {
            bail!("--speed {s}: allowed is a factor above 0 (1 = the rows' own pace, 60 = a minute a second)")
        }
        _ => {}
    }
    if o.schedule.max_requests == 0 {
        bail!("--max-requests 0: allowed is at least 1");
    }
    if o.schedule.duration.is_zero() {
        bail!("--duration 0s: allowed is a time above 0, e.g. 30s or 15m");
    }
    if o.drive.concurrency == 0 || o.drive.concurrency > 100_000 {
        bail!("--concurrency {}: allowed is 1 to 100000", o.drive.concurrency);
    }
    if o.drive.timeout.is_zero() || o.drive.timeout > Duration::from_secs(3600) {
        bail!("--timeout: allowed is above 0 and at most 1h");
    }
    Ok(())
}

/// Runs the replay and writes its directory.
pub fn run(o: &ReplayOptions, control: &Control) -> Result<Replayed> {
    check(o)?;
    let target = target::parse(&o.target, o.allow_remote)?;
    let rows = schedule::open(&o.input, o.schedule.scenario.as_deref())?;
    let workload = rows.workload;
    let read_from = rows.path.clone();
    let provenance = rows.provenance.clone().unwrap_or(Provenance {
        seed: 0,
        plan_hash: "unknown".into(),
    });
    let (collected, scheduled) = driver::drive(rows, &o.schedule, &target, &o.drive, control)?;
    if scheduled.requests == 0 {
        match &o.schedule.scenario {
            Some(s) => bail!(
                "--scenario {s}: no rows of this scenario in {} (it has {})",
                read_from.display(),
                scheduled.scenarios.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
            None => bail!("{}: no rows to replay", read_from.display()),
        }
    }
    let facts = record::RunFacts {
        target: &target.url,
        input: &read_from,
        workload: if workload.is_ticketing() { "ticketing" } else { "calls" },
        id_column: workload.id,
        pace: o.schedule.pace,
        scenario: o.schedule.scenario.as_deref(),
        concurrency: o.drive.concurrency,
        timeout_ms: o.drive.timeout.as_millis() as u64,
        max_requests: o.schedule.max_requests,
        duration_s: o.schedule.duration.as_secs_f64(),
    };
    let summary = record::summarize(&facts, &collected);
    let predictions = record::write(&o.out, &summary, &collected, workload.is_ticketing(), &provenance)?;
    Ok(Replayed {
        summary,
        predictions: predictions.then(|| o.out.join(format!("{}.parquet", record::PREDICTIONS))),
        out: o.out.clone(),
    })
}
