//! The generate stage, for every workload: size the run, then generate its units in parallel,
//! carry state between them in order, encode them in parallel and write them in order.
//!
//! A workload plugs in through [`Generation`]: its plan's units, how to generate one, the state
//! carried from one unit to the next (none for calls; ticket inventory for ticketing), and its
//! Arrow adapter. Everything else — the thread pool, bounded memory, shards, the CSV file and the
//! day-partitioned Parquet dataset, progress, the size pilot — is here, once.

pub mod calls;
mod pipeline;
pub mod summary;
pub mod ticketing;

use std::io::IsTerminal;
use std::ops::{ControlFlow, Range, RangeInclusive};

use anyhow::{Context, Result};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};

pub use pipeline::{Stages, ordered_pipeline};

use crate::config::RunSettings;
use crate::config::size::human_bytes;
use crate::sim::units::Unit;
use crate::sink::atomic::remove_leftovers;
use crate::sink::csv::csv_bytes;
use crate::sink::dataset::{DatasetPaths, DatasetWriter, EncodedUnit, Part, WrittenDataset};
use crate::sink::parquet::{ParquetEncoder, Provenance};
use summary::{RunFacts, RunSummary, Totals};

/// Most rows in one work unit: one Parquet row group, one unit of parallel work.
pub const UNIT_ROWS: u64 = 32_768;
/// Rows a pilot samples to measure CSV bytes per row.
pub const PILOT_ROWS: u64 = 4_000;
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
    /// Only these days of the window (0 = the start date), written day by day (`--date`).
    pub days: Option<RangeInclusive<u32>>,
    /// Show a progress bar (only honoured when stderr is a terminal).
    pub progress: bool,
}

impl GenerateOptions {
    /// The worker pool generation runs on.
    pub fn pool(&self) -> Result<rayon::ThreadPool> {
        rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .build()
            .context("cannot start the worker threads")
    }
}

/// A planned run of one workload, as the driver sees it.
pub trait Generation: Sync {
    /// What a unit covers, in the workload's terms.
    type Span: Sync;
    /// A unit's rows as generated, in parallel.
    type Raw: Send;
    /// A unit's rows once the state carried between units is applied, ready to encode.
    type Slice: Send;
    /// State passed from one unit to the next, in plan order.
    type Carry;

    /// Whether units depend on the units before them (then a shard simulates every earlier
    /// unit, without writing it, to carry the state into its own).
    const CARRIES_STATE: bool;

    fn units(&self) -> &[Unit<Self::Span>];
    fn cohorts(&self) -> usize;
    fn generate(&self, unit: &Unit<Self::Span>) -> Self::Raw;
    fn new_carry(&self) -> Self::Carry;
    fn carry(&self, carry: &mut Self::Carry, unit: &Unit<Self::Span>, raw: Self::Raw) -> Self::Slice;
    /// The fact table's schema, as written.
    fn schema(&self) -> &SchemaRef;
    /// The Arrow adapter: one record batch of the slice's rows.
    fn build(&self, slice: &Self::Slice) -> RecordBatch;
    /// Adds the slice's rows and their value (calls: cost; ticketing: completed sales) to each
    /// cohort's tally.
    fn tally(&self, slice: &Self::Slice, per_cohort: &mut [Tally]);

    /// The workload's name in the run summary.
    const WORKLOAD: &'static str;
    /// The run's totals and one summary per cohort, from the cohorts' tallies.
    type Totals: Totals;
    type CohortSummary: serde::Serialize;
    fn totals(&self, per_cohort: &[Tally]) -> Self::Totals;
    fn cohort_summaries(&self, per_cohort: &[Tally]) -> Vec<Self::CohortSummary>;
    /// The fact table's column names, in schema order.
    fn column_names(&self) -> Vec<&'static str>;
}

/// Assembles the run summary of `g` (started at `started`, having written `written` and
/// `labels` labels), writes it to `path` and returns it.
#[allow(clippy::too_many_arguments)]
pub fn summarize<G: Generation>(
    g: &G,
    config: &std::path::Path,
    run: &RunSettings,
    options: &GenerateOptions,
    written: WrittenDataset,
    per_cohort: &[Tally],
    labels: usize,
    started: std::time::Instant,
    path: &std::path::Path,
    provenance: &Provenance,
) -> Result<RunSummary<G::Totals, G::CohortSummary>> {
    let facts = RunFacts::measure(
        G::WORKLOAD,
        config,
        provenance,
        run,
        &g.column_names(),
        options,
        &written,
        per_cohort,
        started,
    );
    let summary = RunSummary {
        facts,
        totals: g.totals(per_cohort),
        cohorts: g.cohort_summaries(per_cohort),
        labels,
        files: written.files,
    };
    summary.write(path)?;
    Ok(summary)
}

/// What a day-by-day run has done when a day is written, whatever the workload.
#[derive(Debug, Clone, PartialEq)]
pub struct DayDone {
    /// Window day (0 = the start date) and its date.
    pub day: u32,
    pub date: NaiveDate,
    /// Days in the plan's window, and rows in the whole plan.
    pub window_days: u32,
    pub planned_rows: u64,
    /// Rows of this day, and of every day this run wrote so far.
    pub day_rows: u64,
    pub rows: u64,
    /// Bytes this run wrote so far (CSV files, Parquet files).
    pub csv_bytes: Option<u64>,
    pub parquet_bytes: Option<u64>,
}

/// The days of `days` as a run summary says them: `2025-01-01..2025-01-03`.
pub fn date_span(start: NaiveDate, days: &RangeInclusive<u32>) -> String {
    let date = |d: u32| start + chrono::Days::new(u64::from(d));
    format!("{}..{}", date(*days.start()), date(*days.end()))
}

/// Rows and value one cohort contributed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    pub rows: u64,
    pub value: f64,
}

/// What writing the fact table produced.
pub struct Facts<C> {
    pub written: WrittenDataset,
    pub per_cohort: Vec<Tally>,
    /// The state after the last unit generated.
    pub carry: C,
}

/// Generates and writes the fact table of `g`: the units of the shard (or all), each encoded in
/// parallel and appended in order to the CSV file and the Parquet dataset under `paths`.
pub fn write_facts<G: Generation>(
    g: &G,
    run: &RunSettings,
    paths: &DatasetPaths,
    unique_columns: &[&str],
    provenance: &Provenance,
    options: &GenerateOptions,
    pool: &rayon::ThreadPool,
) -> Result<Facts<G::Carry>> {
    let units = g.units();
    let (own, part) = match options.shard {
        Some((k, n)) => (crate::sim::units::shard_units(units, k, n), Part::Shard(k, n)),
        None => (0..units.len(), Part::Whole),
    };
    if part == Part::Whole {
        // This run owns the data directory: what an interrupted one left goes.
        remove_leftovers(&paths.data).with_context(|| format!("cannot clean {}", paths.data.display()))?;
    }
    let first = if G::CARRIES_STATE { 0 } else { own.start };
    let encoder = ParquetEncoder::new(g.schema().clone(), unique_columns, provenance)?;
    let mut writer = DatasetWriter::create(paths, run.formats, part, &encoder)?;
    let mut per_cohort = vec![Tally::default(); g.cohorts()];
    let mut carry = g.new_carry();
    let rows: u64 = units[own.clone()].iter().map(|u| u.rows).sum();
    let progress = progress_bar(options.progress, rows);
    let mut run_units = UnitRun {
        g,
        run,
        encoder: &encoder,
        options,
        pool,
        progress: &progress,
    };
    run_units.write(first..own.start, own, &mut carry, &mut writer, &mut per_cohort)?;
    progress.finish_and_clear();
    let written = writer.finish()?;
    Ok(Facts {
        written,
        per_cohort,
        carry,
    })
}

/// A day [`write_days`] has written.
pub struct DayWritten<'a, C> {
    /// Window day (0 = the start date) and its date.
    pub day: u32,
    pub date: NaiveDate,
    /// The day's files.
    pub written: &'a WrittenDataset,
    /// Rows and value of every day written so far by this call, per cohort.
    pub per_cohort: &'a [Tally],
    /// The state carried to the end of the day.
    pub carry: &'a C,
}

/// Generates and writes the days `days` of `g`'s window, one after the other: each day's
/// partition (and CSV file) replaces what was there once complete, then `after_day` runs (it may
/// write the tables that follow the data, or stop the run with `Break`). Days before the first
/// are simulated without being written when units carry state (ticketing's inventory), so each
/// day is the one a whole run writes; that replay costs their generation, not their encoding.
#[allow(clippy::too_many_arguments)]
pub fn write_days<G: Generation>(
    g: &G,
    run: &RunSettings,
    paths: &DatasetPaths,
    unique_columns: &[&str],
    provenance: &Provenance,
    options: &GenerateOptions,
    pool: &rayon::ThreadPool,
    days: RangeInclusive<u32>,
    mut after_day: impl FnMut(DayWritten<'_, G::Carry>) -> Result<ControlFlow<()>>,
) -> Result<Facts<G::Carry>> {
    let units = g.units();
    remove_leftovers(&paths.data).with_context(|| format!("cannot clean {}", paths.data.display()))?;
    let encoder = ParquetEncoder::new(g.schema().clone(), unique_columns, provenance)?;
    let day_units = |day: u32| units.partition_point(|u| u.day < day)..units.partition_point(|u| u.day <= day);
    let start = day_units(*days.start()).start;
    let end = day_units(*days.end()).end;
    let rows: u64 = units[start..end].iter().map(|u| u.rows).sum();
    let progress = progress_bar(options.progress, rows);
    let mut run_units = UnitRun {
        g,
        run,
        encoder: &encoder,
        options,
        pool,
        progress: &progress,
    };
    let mut carry = g.new_carry();
    let mut per_cohort = vec![Tally::default(); g.cohorts()];
    let mut total = WrittenDataset::default();
    let mut carried = if G::CARRIES_STATE { 0 } else { start };
    for day in days {
        let own = day_units(day);
        let date = run.start_date + chrono::Days::new(u64::from(day));
        let mut writer = DatasetWriter::create(paths, run.formats, Part::Day(date), &encoder)?;
        run_units.write(
            carried..own.start,
            own.clone(),
            &mut carry,
            &mut writer,
            &mut per_cohort,
        )?;
        carried = own.end;
        let written = writer.finish()?;
        let flow = after_day(DayWritten {
            day,
            date,
            written: &written,
            per_cohort: &per_cohort,
            carry: &carry,
        })?;
        total.add(written);
        if flow.is_break() {
            break;
        }
    }
    progress.finish_and_clear();
    Ok(Facts {
        written: total,
        per_cohort,
        carry,
    })
}

/// The shared part of both workloads' day-by-day runs: [`write_days`] over `days`, then, after
/// each day, the tables that follow the data (`side_tables`, told whether the day is this run's
/// first), the run summary of what this run has written so far, and `after_day` (which may stop
/// the run). Returns the last summary written.
#[allow(clippy::too_many_arguments)]
pub fn run_days<G: Generation>(
    g: &G,
    config: &std::path::Path,
    run: &RunSettings,
    paths: &DatasetPaths,
    unique_columns: &[&str],
    provenance: &Provenance,
    options: &GenerateOptions,
    pool: &rayon::ThreadPool,
    days: RangeInclusive<u32>,
    labels: usize,
    started: std::time::Instant,
    mut side_tables: impl FnMut(&DayWritten<'_, G::Carry>, bool) -> Result<Vec<std::path::PathBuf>>,
    after_day: &mut dyn FnMut(&DayDone) -> ControlFlow<()>,
) -> Result<RunSummary<G::Totals, G::CohortSummary>> {
    let planned_rows: u64 = g.units().iter().map(|u| u.rows).sum();
    let mut so_far = WrittenDataset::default();
    let mut rows_before = 0;
    let mut summary = None;
    let first = *days.start();
    write_days(g, run, paths, unique_columns, provenance, options, pool, days, |d| {
        so_far.add(d.written.clone());
        so_far.files.extend(side_tables(&d, d.day == first)?);
        let options = GenerateOptions {
            days: Some(first..=d.day),
            ..options.clone()
        };
        summary = Some(summarize(
            g,
            config,
            run,
            &options,
            so_far.clone(),
            d.per_cohort,
            labels,
            started,
            &paths.summary,
            provenance,
        )?);
        let rows: u64 = d.per_cohort.iter().map(|t| t.rows).sum();
        let done = DayDone {
            day: d.day,
            date: d.date,
            window_days: run.days,
            planned_rows,
            day_rows: rows - rows_before,
            rows,
            csv_bytes: so_far.csv_bytes,
            parquet_bytes: so_far.parquet_bytes,
        };
        rows_before = rows;
        Ok(after_day(&done))
    })?;
    summary.context("no day to generate")
}

/// What running units needs besides the units: the workload, its encoder, the pool.
struct UnitRun<'a, G> {
    g: &'a G,
    run: &'a RunSettings,
    encoder: &'a ParquetEncoder,
    options: &'a GenerateOptions,
    pool: &'a rayon::ThreadPool,
    progress: &'a ProgressBar,
}

impl<G: Generation> UnitRun<'_, G> {
    /// Carries the units `replay` (simulated only, for their state), then generates the units
    /// `own` and appends them in order to `writer`, adding their tallies to `per_cohort`.
    fn write(
        &mut self,
        replay: Range<usize>,
        own: Range<usize>,
        carry: &mut G::Carry,
        writer: &mut DatasetWriter,
        per_cohort: &mut [Tally],
    ) -> Result<()> {
        let g = self.g;
        let (run, encoder, progress) = (self.run, self.encoder, self.progress);
        let units = g.units();
        debug_assert!(replay.end == own.start || replay.is_empty());
        let first = if replay.is_empty() { own.start } else { replay.start };
        if own.is_empty() {
            writer.write_csv_header(g.schema())?;
        }
        let threads = self.options.threads.max(1) as u64;
        // Two units per thread in flight, of the plan's largest.
        let unit_rows = units
            .iter()
            .map(|u| u.simulated.max(u.rows))
            .max()
            .unwrap_or(0)
            .max(UNIT_ROWS);
        ordered_pipeline(
            self.pool,
            &units[first..own.end],
            unit_rows * 2 * threads,
            |u| u.simulated.max(u.rows),
            Stages {
                generate: |unit: &Unit<G::Span>| -> Result<G::Raw> { Ok(g.generate(unit)) },
                carry: |i, raw: G::Raw| -> Result<Option<(usize, G::Slice)>> {
                    let index = first + i;
                    let slice = g.carry(carry, &units[index], raw);
                    // Units before the writer's own are simulated only to carry their state.
                    Ok(own.contains(&index).then_some((index, slice)))
                },
                encode: |(index, slice): (usize, G::Slice)| -> Result<(EncodedUnit, Vec<Tally>)> {
                    let unit = &units[index];
                    let batch = g.build(&slice);
                    let mut tallies = vec![Tally::default(); g.cohorts()];
                    g.tally(&slice, &mut tallies);
                    let header = index == own.start;
                    Ok((
                        EncodedUnit {
                            day: unit.day,
                            date: run.start_date + chrono::Days::new(u64::from(unit.day)),
                            csv: run.formats.csv.then(|| csv_bytes(&batch, header)).transpose()?,
                            parquet: run.formats.parquet.then(|| encoder.encode(&batch)).transpose()?,
                        },
                        tallies,
                    ))
                },
                write: |(encoded, tallies): (EncodedUnit, Vec<Tally>)| -> Result<()> {
                    writer.append(encoded)?;
                    let mut unit_rows = 0;
                    for (acc, t) in per_cohort.iter_mut().zip(&tallies) {
                        acc.rows += t.rows;
                        acc.value += t.value;
                        unit_rows += t.rows;
                    }
                    if run.formats.csv {
                        progress.set_message(format!(", CSV {}", human_bytes(writer.csv_bytes())));
                    }
                    progress.inc(unit_rows);
                    Ok(())
                },
            },
        )
    }
}

/// The row count whose CSV comes closest to `target` bytes: from a guess, `measure` (CSV bytes
/// per row of a sample of the run `rows` rows would make) is iterated to a fixed point, since who
/// the rows are (and so what a row weighs) depends on how many there are.
pub fn rows_for_bytes(target: u64, header: u64, mut measure: impl FnMut(u64) -> Result<f64>) -> Result<u64> {
    let body = target.saturating_sub(header).max(1) as f64;
    let mut rows = ((body / GUESS_BYTES_PER_ROW).ceil() as u64).max(1);
    for _ in 0..PILOT_ROUNDS {
        let per_row = measure(rows)?;
        let next = ((body / per_row).round() as u64).max(1);
        let settled = next.abs_diff(rows) * 2000 <= rows;
        rows = next;
        if settled {
            break;
        }
    }
    Ok(rows)
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
