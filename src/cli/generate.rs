//! `trafficsim generate`: writes the run plan's workload as CSV and Parquet, whole or (`--date`)
//! one UTC day at a time.

use std::ops::{ControlFlow, RangeInclusive};

use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;

use super::common::CommonArgs;
use crate::config::{ConfigError, RunPlan, parse_date};
use crate::generate::{DayDone, GenerateOptions, calls, ticketing};

#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Generate only this UTC day of the window (YYYY-MM-DD), exactly as the whole run writes
    /// it: its Parquet partition and its CSV file (data/csv/TABLE/date=DAY/) replace what was
    /// there. For a nightly cron.
    #[arg(long, value_name = "DATE", conflicts_with_all = ["dates", "shard"])]
    pub date: Option<String>,
    /// Generate only the days A to B, inclusive (YYYY-MM-DD..YYYY-MM-DD), one after the other.
    #[arg(long, value_name = "A..B", conflicts_with = "shard")]
    pub dates: Option<String>,
}

pub fn run(args: &GenerateArgs) -> Result<()> {
    let plan = args.common.load()?;
    let mut options = args.common.options()?;
    options.days = args.days(plan.run())?;
    println!("{}", generate(&plan, &options)?);
    Ok(())
}

impl GenerateArgs {
    /// The window days `--date` or `--dates` ask for, checked against the plan's window.
    fn days(&self, run: &crate::config::RunSettings) -> Result<Option<RangeInclusive<u32>>, ConfigError> {
        let (flag, text) = match (&self.date, &self.dates) {
            (Some(d), _) => ("--date", d),
            (None, Some(d)) => ("--dates", d),
            (None, None) => return Ok(None),
        };
        let bad = |m: String| ConfigError::flag(flag, m);
        let (a, b) = match flag {
            "--date" => {
                let d = parse_date(text).map_err(bad)?;
                (d, d)
            }
            _ => {
                let (a, b) = text.split_once("..").ok_or_else(|| {
                    bad(format!(
                        "\"{text}\" is not a range of days: use FIRST..LAST, e.g. 2025-01-01..2025-01-07"
                    ))
                })?;
                (parse_date(a).map_err(bad)?, parse_date(b).map_err(bad)?)
            }
        };
        if a > b {
            return Err(bad(format!("\"{text}\": the first day is after the last")));
        }
        Ok(Some(
            window_day(run, a).map_err(bad)?..=window_day(run, b).map_err(bad)?,
        ))
    }
}

/// The index of `date` in the plan's window (0 = the start date), or why it is not in it.
pub fn window_day(run: &crate::config::RunSettings, date: NaiveDate) -> Result<u32, String> {
    let index = (date - run.start_date).num_days();
    if (0..i64::from(run.days)).contains(&index) {
        return Ok(index as u32);
    }
    let last = run.start_date + chrono::Days::new(u64::from(run.days) - 1);
    Err(format!(
        "{date} is outside the run plan's window, {} to {last} ({} days from `run.start_date`; --start-date and --days change it)",
        run.start_date, run.days
    ))
}

/// Generates the plan's workload; returns the one-line summary.
pub fn generate(plan: &RunPlan, options: &GenerateOptions) -> Result<String> {
    generate_with(plan, options, &mut |_| ControlFlow::Continue(()))
}

/// [`generate`], calling `after_day` after each day of a day-by-day run.
pub fn generate_with(
    plan: &RunPlan,
    options: &GenerateOptions,
    after_day: &mut dyn FnMut(&DayDone) -> ControlFlow<()>,
) -> Result<String> {
    Ok(match plan {
        RunPlan::Calls(config) => calls::generate_with(config, options, after_day)?.line(),
        RunPlan::Ticketing(config) => ticketing::generate_with(config, options, after_day)?.line(),
    })
}
