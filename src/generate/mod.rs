//! The generate stage: plan the run, generate units in parallel, write them in order.

mod pipeline;
pub mod summary;

use std::io::{IsTerminal, Write};
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

pub use pipeline::ordered_map;
use summary::{CohortSummary, RunSummary};

use crate::batch::builder::CallBatchBuilder;
use crate::config::{Config, SizeTarget};
use crate::sim::calendar::Window;
use crate::sim::plan::{GenerationPlan, PlanCohort, Planner, sample_calls};
use crate::sim::scenarios::{CohortInfo, CohortScenario};
use crate::sim::traffic::TrafficGenerator;
use crate::sink::atomic::AtomicFile;
use crate::sink::csv::{csv_bytes, csv_header};
use crate::sink::dataset::{DatasetPaths, DatasetWriter, EncodedUnit};
use crate::sink::labels::write_labels;
use crate::sink::parquet::ParquetEncoder;

/// Most calls in one work unit: one Parquet row group, one unit of parallel work.
pub const UNIT_ROWS: u64 = 32_768;
/// Rows a pilot samples to measure CSV bytes per row.
const PILOT_ROWS: u64 = 4_000;
/// Most pilot rounds; each measures the population the previous round's row count implies.
const PILOT_ROUNDS: usize = 4;
/// Initial guess of CSV bytes per row, refined by the pilot.
const GUESS_BYTES_PER_ROW: f64 = 360.0;

/// How to run a generation, beyond the config.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub threads: usize,
    /// Shard `k` of `n`, 1-based.
    pub shard: Option<(u32, u32)>,
    /// Show a progress bar (only honoured when stderr is a terminal).
    pub progress: bool,
}

/// Builds the generator for a config: catalogue, traffic model, window and the cohorts'
/// scenarios, compiled.
pub fn traffic_generator(config: &Config) -> TrafficGenerator {
    let zones: Vec<_> = config.traffic.timezones.iter().map(|t| t.tz).collect();
    let window = Window::new(config.run.start_date, config.run.days, &zones);
    let mut generator = TrafficGenerator::new(
        config.run.seed,
        config.catalogue.clone(),
        config.traffic.clone(),
        window,
    );
    // Cohorts with their own organizations number them after the shared ones.
    let mut organization_base = config.traffic.organizations;
    let cohorts = config
        .run
        .cohorts
        .iter()
        .zip(config.cohort_scenarios())
        .enumerate()
        .map(|(i, (cohort, def))| {
            let info = CohortInfo {
                index: i as u16,
                name: cohort.name.clone(),
                scenario: def.name.clone(),
                organization_base,
            };
            organization_base += def.own_organizations();
            CohortScenario::new(def, info, &generator.env(), config.run.seed)
        })
        .collect();
    generator.set_cohorts(cohorts);
    generator
}

/// Plans a run: the population and units that give exactly the rows (or CSV size) asked for.
pub fn plan_run(config: &Config, generator: &TrafficGenerator) -> Result<GenerationPlan> {
    let cohorts = config
        .run
        .cohorts
        .iter()
        .map(|c| PlanCohort {
            name: c.name.clone(),
            scenario: c.scenario.clone(),
            share: c.share,
        })
        .collect();
    let mut planner = Planner::new(generator, cohorts)?;
    let rows = match config.run.size {
        SizeTarget::Rows(n) => n,
        SizeTarget::CsvBytes(target) => {
            let header = csv_header(&crate::batch::schema::projected_schema(&config.run.columns))?.len() as u64;
            let body = target.saturating_sub(header).max(1) as f64;
            // Bytes per row depend on who the customers are (time zone names, features…), and
            // who they are depends on the row count: iterate to a fixed point on the very
            // population the run will use.
            let mut rows = ((body / GUESS_BYTES_PER_ROW).ceil() as u64).max(1);
            for _ in 0..PILOT_ROUNDS {
                planner.ensure(rows)?;
                let per_row = pilot_bytes_per_row(config, generator, &planner, rows)?;
                let next = ((body / per_row).round() as u64).max(1);
                let settled = next.abs_diff(rows) * 2000 <= rows;
                rows = next;
                if settled {
                    break;
                }
            }
            rows
        }
    };
    planner.ensure(rows)?;
    Ok(planner.finish(rows, UNIT_ROWS))
}

/// Measures CSV bytes per row on a sample of the hours of the customers a run of `rows` uses.
fn pilot_bytes_per_row(config: &Config, generator: &TrafficGenerator, planner: &Planner, rows: u64) -> Result<f64> {
    let (customers, calls) = planner.customers_for(rows);
    let stride = sample_stride(calls / PILOT_ROWS);
    let calls = sample_calls(generator, &customers, stride);
    anyhow::ensure!(
        !calls.is_empty(),
        "the size pilot found no calls to measure; set `rows` instead of `target_size`"
    );
    let population: Vec<_> = customers.into_iter().cloned().collect();
    let builder = CallBatchBuilder::new(generator, &population, &config.run.columns);
    let bytes = csv_bytes(&builder.build(&calls), false)?.len();
    Ok(bytes as f64 / calls.len() as f64)
}

/// A stride near `want` that is coprime with the 168 hours of a week, so the sample visits every
/// hour of the day and every weekday.
fn sample_stride(want: u64) -> u32 {
    let mut s = want.clamp(1, 9973) as u32;
    while s > 1 && (s.is_multiple_of(2) || s.is_multiple_of(3) || s.is_multiple_of(7)) {
        s -= 1;
    }
    s
}

/// What one unit produced: its encoded data and, per cohort, rows and cost.
struct UnitOutput {
    encoded: EncodedUnit,
    cohorts: Vec<(u64, f64)>,
}

/// Runs the whole generate stage; returns the summary it also writes.
pub fn generate(config: &Config, options: &GenerateOptions) -> Result<RunSummary> {
    let started = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads)
        .build()
        .context("cannot start the worker threads")?;
    let generator = traffic_generator(config);
    let plan = pool.install(|| plan_run(config, &generator))?;
    let units = match options.shard {
        Some((k, n)) => &plan.units[plan.shard_units(k, n)],
        None => &plan.units[..],
    };
    let shard_rows: u64 = units.iter().map(|u| u.rows).sum();

    let run = &config.run;
    let paths = DatasetPaths::new(&run.out, options.shard);
    let builder = CallBatchBuilder::new(&generator, &plan.population, &run.columns);
    let encoder = ParquetEncoder::new(builder.schema().clone())?;
    let mut writer = DatasetWriter::create(&paths, run.formats, options.shard, &encoder)?;
    if units.is_empty() {
        writer.write_csv_header(builder.schema())?;
    }

    let progress = progress_bar(options.progress, shard_rows);
    let first_unit = units.first().map(|u| u.index);
    let mut per_cohort = vec![(0u64, 0f64); plan.cohorts.len()];
    ordered_map(
        &pool,
        units,
        UNIT_ROWS * 2 * options.threads.max(1) as u64,
        |u| u.calls,
        |unit| -> Result<UnitOutput> {
            let calls = plan.generate_unit(&generator, unit);
            let batch = builder.build(&calls);
            let mut cohorts = vec![(0u64, 0f64); plan.cohorts.len()];
            for c in &calls {
                let k = plan.population[c.customer as usize].cohort as usize;
                cohorts[k].0 += 1;
                cohorts[k].1 += c.cost_usd;
            }
            let header = Some(unit.index) == first_unit;
            Ok(UnitOutput {
                encoded: EncodedUnit {
                    day: unit.day,
                    date: run.start_date + chrono::Days::new(u64::from(unit.day)),
                    csv: run.formats.csv.then(|| csv_bytes(&batch, header)).transpose()?,
                    parquet: run.formats.parquet.then(|| encoder.encode(&batch)).transpose()?,
                },
                cohorts,
            })
        },
        |out| {
            writer.append(out.encoded)?;
            let mut unit_rows = 0;
            for (acc, (r, c)) in per_cohort.iter_mut().zip(&out.cohorts) {
                acc.0 += r;
                acc.1 += c;
                unit_rows += r;
            }
            if run.formats.csv {
                progress.set_message(format!(
                    ", CSV {}",
                    crate::config::size::human_bytes(writer.csv_bytes())
                ));
            }
            progress.inc(unit_rows);
            Ok(())
        },
    )?;
    progress.finish_and_clear();
    let mut written = writer.finish()?;
    // The labels belong to the whole plan: a full run writes them, and of shards the first.
    let labels = plan.labels(&generator);
    if options.shard.is_none_or(|(k, _)| k == 1) {
        written.files.extend(write_labels(&paths.data, run.formats, &labels)?);
    }
    let rows: u64 = per_cohort.iter().map(|c| c.0).sum();

    let seconds = started.elapsed().as_secs_f64();
    let summary = RunSummary {
        trafficsim_version: env!("CARGO_PKG_VERSION"),
        config: config.path.clone(),
        seed: run.seed,
        start_date: run.start_date.to_string(),
        days: run.days,
        target: match run.size {
            SizeTarget::CsvBytes(b) => serde_json::json!({ "csv_bytes": b }),
            SizeTarget::Rows(n) => serde_json::json!({ "rows": n }),
        },
        formats: [("csv", run.formats.csv), ("parquet", run.formats.parquet)]
            .into_iter()
            .filter_map(|(name, on)| on.then_some(name))
            .collect(),
        columns: run
            .columns
            .iter()
            .map(|&c| crate::batch::schema::COLUMN_NAMES[c])
            .collect(),
        shard: options.shard.map(|(k, n)| format!("{k}/{n}")),
        threads: options.threads,
        rows,
        csv_bytes: written.csv_bytes,
        parquet_bytes: written.parquet_bytes,
        size_deviation: match (run.size, written.csv_bytes, options.shard) {
            (SizeTarget::CsvBytes(t), Some(b), None) => Some((b as f64 - t as f64) / t as f64),
            _ => None,
        },
        seconds,
        rows_per_second: rows as f64 / seconds.max(1e-9),
        csv_megabytes_per_second: written.csv_bytes.map(|b| b as f64 / 1e6 / seconds.max(1e-9)),
        cost_usd: (per_cohort.iter().map(|c| c.1).sum::<f64>() * 100.0).round() / 100.0,
        cohorts: plan
            .cohorts
            .iter()
            .zip(&per_cohort)
            .map(|(c, (r, cost))| CohortSummary {
                name: c.name.clone(),
                scenario: c.scenario.clone(),
                customers: c.customers.len() as u32,
                simulated_calls: c.calls,
                rows: *r,
                cost_usd: (cost * 100.0).round() / 100.0,
            })
            .collect(),
        labels: labels.len(),
        files: written.files,
    };
    let mut f =
        AtomicFile::create(&paths.summary).with_context(|| format!("cannot create {}", paths.summary.display()))?;
    serde_json::to_writer_pretty(&mut f, &summary)?;
    f.write_all(b"\n")?;
    f.commit()?;
    Ok(summary)
}

fn progress_bar(wanted: bool, rows: u64) -> ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(rows);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {human_pos}/{human_len} rows{msg}, ETA {eta}",
        )
        .expect("the template is valid"),
    );
    bar
}
