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

use anyhow::{Context, Result};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use indicatif::{ProgressBar, ProgressStyle};

pub use pipeline::{Stages, ordered_pipeline};

use crate::config::RunSettings;
use crate::config::size::human_bytes;
use crate::sim::units::Unit;
use crate::sink::csv::csv_bytes;
use crate::sink::dataset::{DatasetPaths, DatasetWriter, EncodedUnit, WrittenDataset};
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
/// parallel and appended in order to the CSV file and the Parquet dataset under `paths`, whose
/// files carry `provenance`.
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
    let own = match options.shard {
        Some((k, n)) => crate::sim::units::shard_units(units, k, n),
        None => 0..units.len(),
    };
    let first = if G::CARRIES_STATE { 0 } else { own.start };
    let shard_rows: u64 = units[own.clone()].iter().map(|u| u.rows).sum();

    let encoder = ParquetEncoder::new(g.schema().clone(), unique_columns, provenance)?;
    let mut writer = DatasetWriter::create(paths, run.formats, options.shard, &encoder)?;
    if own.is_empty() {
        writer.write_csv_header(g.schema())?;
    }
    let progress = progress_bar(options.progress, shard_rows);
    let mut per_cohort = vec![Tally::default(); g.cohorts()];
    let mut carry = g.new_carry();
    let threads = options.threads.max(1) as u64;
    // Two units per thread in flight, of the plan's largest.
    let unit_rows = units
        .iter()
        .map(|u| u.simulated.max(u.rows))
        .max()
        .unwrap_or(0)
        .max(UNIT_ROWS);
    ordered_pipeline(
        pool,
        &units[first..own.end],
        unit_rows * 2 * threads,
        |u| u.simulated.max(u.rows),
        Stages {
            generate: |unit: &Unit<G::Span>| -> Result<G::Raw> { Ok(g.generate(unit)) },
            carry: |i, raw: G::Raw| -> Result<Option<(usize, G::Slice)>> {
                let index = first + i;
                let slice = g.carry(&mut carry, &units[index], raw);
                // Units before the shard's own are simulated only to carry their state.
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
    )?;
    progress.finish_and_clear();
    let written = writer.finish()?;
    Ok(Facts {
        written,
        per_cohort,
        carry,
    })
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
