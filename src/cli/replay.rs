//! `trafficsim replay`: drive a live HTTP service with a dataset's rows, then analyze the data
//! with the service's answers as predictions and the Replay page; exit 1 when a `replay.*`
//! service-level check fails.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;

use super::analyze::{DatasetArgs, Prepared, analysis_path};
use crate::analyze::checks::{CheckReport, CheckSettings};
use crate::analyze::dataset::detect_table;
use crate::replay::{self, Control, DriveOptions, Pace, ReplayOptions, ScheduleOptions};

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The data to replay: a data directory (with transactions/ or calls/), a Parquet dataset or
    /// file, or a CSV.
    #[arg(long, value_name = "PATH", default_value = "output/ticketing/data")]
    pub input: PathBuf,
    /// The service to drive, e.g. http://127.0.0.1:8080/predict (loopback only unless
    /// --allow-remote).
    #[arg(long, value_name = "URL")]
    pub target: String,
    /// Replay along the rows' own time curve, this many times faster [default: 1].
    #[arg(long, value_name = "X", conflicts_with = "rate")]
    pub speed: Option<f64>,
    /// Replay at a constant rate instead, in row order (requests per second).
    #[arg(long, value_name = "RPS")]
    pub rate: Option<f64>,
    /// Send nothing due later than this after the start (e.g. 30s, 15m, 1h).
    #[arg(long, value_name = "TIME", default_value = "10m", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Send at most this many requests.
    #[arg(long, value_name = "N", default_value_t = 10_000_000)]
    pub max_requests: u64,
    /// Requests in flight at most (one connection each).
    #[arg(long, value_name = "C", default_value_t = 512)]
    pub concurrency: usize,
    /// Give up on an answer after this long (counted as a timeout).
    #[arg(long, value_name = "TIME", default_value = "5s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Replay only this scenario's rows (the `scenario` column), e.g. flash_sale.
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// Where to write results.parquet, predictions.parquet and replay.json (replaced as a whole)
    /// [default: replay/ beside the data directory].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where to write the reports with the Replay page [default: reports/ beside the data
    /// directory].
    #[arg(long, value_name = "DIR")]
    pub reports: Option<PathBuf>,
    /// Write only the replay directory: no reports, no checks.
    #[arg(long)]
    pub no_report: bool,
    /// Allow a target that is not on this machine.
    #[arg(long)]
    pub allow_remote: bool,
    /// Run plan of the data [default: the dataset's workload's].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Analysis settings, for the `replay.*` targets [default: analysis.toml beside the run plan].
    #[arg(long, value_name = "FILE")]
    pub analysis: Option<PathBuf>,
    /// HTTP worker threads [default: the number of cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// The directory that holds the data (`transactions/` or `calls/`): the input, or its parent
/// when the input is the table itself.
fn data_root(input: &Path) -> PathBuf {
    let is_root = input.is_dir()
        && detect_table(input)
            .is_some_and(|t| input.join(t.parquet_dir).is_dir() || input.join(t.csv_name()).is_file());
    if is_root {
        input.to_path_buf()
    } else {
        input.parent().unwrap_or(Path::new(".")).to_path_buf()
    }
}

pub fn run(args: &ReplayArgs) -> Result<()> {
    let root = data_root(&args.input);
    let beside = root.parent().unwrap_or(Path::new(".")).to_path_buf();
    let options = ReplayOptions {
        input: args.input.clone(),
        target: args.target.clone(),
        allow_remote: args.allow_remote,
        schedule: ScheduleOptions {
            pace: match (args.rate, args.speed) {
                (Some(r), _) => Pace::Rate(r),
                (None, s) => Pace::Speed(s.unwrap_or(1.0)),
            },
            max_requests: args.max_requests,
            duration: args.duration,
            scenario: args.scenario.clone(),
        },
        drive: DriveOptions {
            concurrency: args.concurrency,
            timeout: args.timeout,
            threads: args
                .threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        },
        out: args.out.clone().unwrap_or_else(|| beside.join("replay")),
    };
    replay::check(&options)?;
    // A bad run plan or analysis file fails before any request is sent.
    let dataset = DatasetArgs {
        input: Some(root.clone()),
        config: args.config.clone(),
        analysis: args.analysis.clone(),
        predictions: None,
        replay: None,
        columns_map: None,
    };
    let prepared = if args.no_report {
        None
    } else {
        let (plan, _) = dataset.resolve()?;
        let analysis = analysis_path(plan.path(), args.analysis.as_deref());
        Some(Prepared::new(plan, &analysis, None)?)
    };
    let control = Control {
        ctrl_c: true,
        progress: true,
        ..Control::default()
    };
    eprintln!(
        "replaying {} to {} ({} at most, {} at most; Ctrl-C stops and keeps what was sent)",
        args.input.display(),
        options.target,
        options.schedule.max_requests,
        humantime::format_duration(options.schedule.duration)
    );
    let done = replay::run(&options, &control)?;
    print!("{}", describe(&done.summary));
    println!("results: {}", done.out.display());
    let Some(prepared) = prepared else {
        return Ok(());
    };
    let reports = args.reports.clone().unwrap_or_else(|| beside.join("reports"));
    let inputs = crate::analyze::Inputs {
        predictions: done.predictions.as_deref(),
        replay: Some(&done.out),
        columns_map: None,
    };
    let (line, analysis) = prepared.analyze_and_report(&root, &reports, &inputs)?;
    println!("{line}");
    let replay_checks: Vec<_> = analysis
        .checks
        .checks
        .iter()
        .filter(|c| c.name.starts_with("replay."))
        .cloned()
        .collect();
    let report = CheckReport::new(replay_checks, &CheckSettings::default());
    print!("{}", report.render_text());
    if !report.all_passed() {
        bail!("{}: {} service-level check(s) failed", options.target, report.failed);
    }
    Ok(())
}

/// The run in a few lines.
fn describe(s: &replay::ReplaySummary) -> String {
    let l = &s.latency_ms;
    let mut out = format!(
        "sent {} of {} scheduled requests in {:.1} s: {:.1} req/s achieved of {:.1} scheduled; {} late by over 1 ms\n\
         latency from the schedule (ms): p50 {:.2} · p90 {:.2} · p99 {:.2} · p99.9 {:.2} · max {:.2}\n",
        s.sent, s.scheduled, s.elapsed_s, s.achieved_rps, s.target_rps, s.late, l.p50, l.p90, l.p99, l.p999, l.max
    );
    if s.errors.is_empty() {
        out.push_str("no failures\n");
    } else {
        let kinds: Vec<String> = s.errors.iter().map(|(k, n)| format!("{k} {n}")).collect();
        out.push_str(&format!(
            "failed {} · not sent {}: {}\n",
            s.failed,
            s.not_sent,
            kinds.join(", ")
        ));
    }
    out
}
