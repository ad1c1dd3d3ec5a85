//! The schedule: the dataset's rows in time order (file order, as written), request `i` due at
//! its row's time after the first row's divided by `--speed`, or at `i / --rate`. It is bounded
//! before anything is sent: at most `--max-requests` requests, none due after `--duration`.
//!
//! A reader thread turns rows into [`Job`]s — the id, the times and the JSON body — a batch at
//! a time, so memory holds a few batches, not the dataset.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef, TimeUnit, TimestampMicrosecondType};
use hyper::body::Bytes;

use super::body::{Bodies, CALLS_FIELDS, TICKETING_FIELDS};
use crate::analyze::dataset::detect_table;
use crate::batch::calls::CALLS_SCHEMA;
use crate::batch::ticketing::transactions::TRANSACTIONS_SCHEMA;
use crate::sink::layout::{self, FactTable};
use crate::sink::parquet::{Provenance, read_provenance};
use crate::validate::read::{Batches, parquet_files, read_dataset_as};

/// When the requests are due.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pace {
    /// Along the rows' own time curve, this many times faster.
    Speed(f64),
    /// At a constant rate (requests per second), in row order.
    Rate(f64),
}

/// The bounds and the filter of a schedule.
#[derive(Debug, Clone)]
pub struct ScheduleOptions {
    pub pace: Pace,
    pub max_requests: u64,
    pub duration: Duration,
    /// Only the rows of this scenario (the `scenario` column).
    pub scenario: Option<String>,
}

/// What a dataset's rows become: the fact table, its id column and its body template.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    pub table: FactTable,
    /// The column that names a request (and keys the predictions).
    pub id: &'static str,
    pub template: &'static [&'static str],
}

pub const TICKETING: Workload = Workload {
    table: layout::TRANSACTIONS,
    id: "transaction_id",
    template: TICKETING_FIELDS,
};

pub const CALLS: Workload = Workload {
    table: layout::CALLS,
    id: "request_id",
    template: CALLS_FIELDS,
};

impl Workload {
    fn schema(&self) -> &'static SchemaRef {
        if self.table == layout::TRANSACTIONS {
            &TRANSACTIONS_SCHEMA
        } else {
            &CALLS_SCHEMA
        }
    }

    pub fn is_ticketing(&self) -> bool {
        self.table == layout::TRANSACTIONS
    }
}

/// One scheduled request.
#[derive(Debug, Clone)]
pub struct Job {
    /// Position in the schedule, from 0.
    pub index: u64,
    pub id: Box<str>,
    /// The row's time, µs since the epoch.
    pub row_us: i64,
    /// When it is due, after the replay's start.
    pub due_ns: u64,
    /// Empty once the replay was interrupted: it will not be sent.
    pub body: Bytes,
}

/// An opened dataset: its workload, the files read and the first batch (already checked).
pub struct Rows {
    pub workload: Workload,
    pub path: PathBuf,
    /// The data's provenance (from its first Parquet file), carried into the replay's files.
    pub provenance: Option<Provenance>,
    first: Option<RecordBatch>,
    rest: Batches,
}

/// Opens the dataset at `input` (a data directory, a Parquet dataset or file, or a CSV) and
/// checks that it has the columns the schedule needs.
pub fn open(input: &Path, scenario: Option<&str>) -> Result<Rows> {
    let table = detect_table(input).with_context(|| {
        format!(
            "{}: not a dataset trafficsim knows: give a data directory with transactions/ or calls/ (or their CSV), or one of those",
            input.display()
        )
    })?;
    let workload = if table == layout::TRANSACTIONS {
        TICKETING
    } else {
        CALLS
    };
    let path = if input.is_dir() && input.join(table.parquet_dir).is_dir() {
        input.join(table.parquet_dir)
    } else if input.is_dir() && input.join(table.csv_name()).is_file() {
        input.join(table.csv_name())
    } else {
        input.to_path_buf()
    };
    let mut rest = read_dataset_as(&path, workload.schema())?;
    let first = rest.next().transpose()?;
    let Some(batch) = &first else {
        bail!("{}: the dataset has no rows to replay", path.display());
    };
    let mut needed = vec![
        ("timestamp", "the time each request is due"),
        (workload.id, "the request's id"),
    ];
    if scenario.is_some() {
        needed.push(("scenario", "--scenario filters on it"));
    }
    for (c, why) in needed {
        if batch.schema().index_of(c).is_err() {
            bail!(
                "{}: the dataset lacks column `{c}` ({why}); it has {}",
                path.display(),
                batch
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    match batch.schema().field_with_name("timestamp")?.data_type() {
        DataType::Timestamp(TimeUnit::Microsecond, _) => {}
        other => bail!(
            "{}: column `timestamp` is {other}, not a timestamp in µs",
            path.display()
        ),
    }
    // Fails here, not on the reader thread, when a template column has a type JSON cannot carry.
    Bodies::new(batch, workload.template).with_context(|| path.display().to_string())?;
    let provenance = match path.is_dir() {
        true => parquet_files(&path)?.first().and_then(|f| read_provenance(f)),
        false => read_provenance(&path),
    };
    Ok(Rows {
        workload,
        path,
        provenance,
        first,
        rest,
    })
}

/// What the reader thread saw.
#[derive(Debug, Default)]
pub struct Scheduled {
    pub requests: u64,
    /// Scenarios of the rows read (to name them when `--scenario` matched none).
    pub scenarios: BTreeSet<String>,
}

impl Rows {
    /// Reads the rows in order and sends them as jobs, a batch at a time, until the bounds.
    /// Once `interrupted` is set, jobs come without bodies (they will be recorded as not sent).
    pub fn schedule(
        self,
        options: &ScheduleOptions,
        interrupted: &AtomicBool,
        to: SyncSender<Vec<Job>>,
    ) -> Result<Scheduled> {
        let mut state = State {
            options,
            id: self.workload.id,
            template: self.workload.template,
            path: &self.path,
            first_us: None,
            seen: Scheduled::default(),
            body: Vec::with_capacity(1024),
        };
        for batch in self.first.into_iter().map(Ok).chain(self.rest) {
            if state.jobs(&batch?, interrupted, &to)? {
                break;
            }
        }
        Ok(state.seen)
    }
}

struct State<'a> {
    options: &'a ScheduleOptions,
    id: &'static str,
    template: &'static [&'static str],
    path: &'a Path,
    first_us: Option<i64>,
    seen: Scheduled,
    body: Vec<u8>,
}

impl State<'_> {
    /// Sends the jobs of one batch, [`CHUNK`] at a time (the first requests need not wait for a
    /// whole batch's bodies); true when the bounds were reached or the dispatcher stopped.
    fn jobs(&mut self, batch: &RecordBatch, interrupted: &AtomicBool, to: &SyncSender<Vec<Job>>) -> Result<bool> {
        let column = |c: &str| {
            batch
                .column_by_name(c)
                .with_context(|| format!("{}: a later file lacks column `{c}`", self.path.display()))
        };
        let times = column("timestamp")?
            .as_primitive_opt::<TimestampMicrosecondType>()
            .with_context(|| format!("{}: column `timestamp` changes type", self.path.display()))?;
        let ids = arrow::compute::cast(column(self.id)?, &DataType::Utf8)?;
        let ids = ids.as_string::<i32>();
        let scenarios = match &self.options.scenario {
            Some(_) => Some(arrow::compute::cast(column("scenario")?, &DataType::Utf8)?),
            None => None,
        };
        let bodies = Bodies::new(batch, self.template)?;
        let mut jobs = Vec::with_capacity(CHUNK);
        let mut bare = interrupted.load(Ordering::Relaxed);
        for row in 0..batch.num_rows() {
            if jobs.len() == CHUNK {
                // Err: the dispatcher stopped (an error of its own); nothing more to schedule.
                if to
                    .send(std::mem::replace(&mut jobs, Vec::with_capacity(CHUNK)))
                    .is_err()
                {
                    return Ok(true);
                }
                bare = interrupted.load(Ordering::Relaxed);
            }
            if let (Some(s), Some(want)) = (&scenarios, &self.options.scenario) {
                let s = s.as_string::<i32>();
                if s.is_null(row) || s.value(row) != want {
                    if !s.is_null(row) && self.seen.scenarios.len() < 64 {
                        self.seen.scenarios.insert(s.value(row).to_string());
                    }
                    continue;
                }
            }
            if times.is_null(row) || ids.is_null(row) {
                bail!(
                    "{}: row {} has an empty `timestamp` or `{}`",
                    self.path.display(),
                    self.seen.requests + 1,
                    self.id
                );
            }
            let row_us = times.value(row);
            let index = self.seen.requests;
            let first = *self.first_us.get_or_insert(row_us);
            let due_ns = match self.options.pace {
                Pace::Speed(speed) => ((row_us - first).max(0) as f64 * 1e3 / speed) as u64,
                Pace::Rate(rate) => (index as f64 * 1e9 / rate) as u64,
            };
            if index >= self.options.max_requests || due_ns >= self.options.duration.as_nanos() as u64 {
                let _ = to.send(jobs);
                return Ok(true);
            }
            let body = if bare {
                Bytes::new()
            } else {
                self.body.clear();
                bodies.write(row, &mut self.body);
                Bytes::copy_from_slice(&self.body)
            };
            jobs.push(Job {
                index,
                id: ids.value(row).into(),
                row_us,
                due_ns,
                body,
            });
            self.seen.requests += 1;
        }
        Ok(!jobs.is_empty() && to.send(jobs).is_err())
    }
}

/// Jobs per message from the reader to the dispatcher.
const CHUNK: usize = 256;

/// Shares the interrupt flag between the signal handler, the reader and the dispatcher.
pub type Interrupt = Arc<AtomicBool>;
