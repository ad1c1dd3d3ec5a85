//! The single writer of a run's dataset: appends encoded units, in plan order, to the CSV file
//! and the day-partitioned Parquet dataset, and makes them visible only when complete.
//!
//! What it writes depends on the [`Part`] of the plan: a whole run replaces the dataset as a
//! whole; a shard adds its own file to each day; a day (`generate --date`) replaces that day's
//! partition, and writes its CSV as a file of its own.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use arrow::datatypes::SchemaRef;
use chrono::NaiveDate;
use parquet::arrow::arrow_writer::ArrowColumnChunk;

use super::atomic::{AtomicFile, StagedDir};
use super::csv::csv_header;
use super::layout::{self, FactTable};
use super::parquet::{ParquetEncoder, PartitionWriter};
use crate::config::Formats;

/// Where a run's outputs go under `out`.
#[derive(Debug, Clone)]
pub struct DatasetPaths {
    pub data: PathBuf,
    pub table: FactTable,
    pub csv: PathBuf,
    pub parquet: PathBuf,
    pub summary: PathBuf,
}

impl DatasetPaths {
    /// A shard (`k` of `n`) names its CSV and summary after itself and shares the Parquet dataset.
    pub fn new(out: &Path, table: &FactTable, shard: Option<(u32, u32)>) -> Self {
        let data = layout::data_dir(out);
        DatasetPaths {
            csv: data.join(format!("{}{}.csv", table.csv_stem, layout::shard_suffix(shard))),
            parquet: data.join(table.parquet_dir),
            summary: layout::run_summary(out, shard),
            table: *table,
            data,
        }
    }
}

/// Which part of the plan a writer writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Part {
    /// The whole run: a new dataset, swapped in when complete.
    Whole,
    /// Shard `k` of `n` (1-based): its own CSV, and its own file in each day's partition.
    Shard(u32, u32),
    /// One UTC day: its partition and its CSV file (`FactTable::day_csv`) replace what was there.
    Day(NaiveDate),
}

/// One work unit, serialized and encoded, ready to append.
pub struct EncodedUnit {
    pub day: u32,
    pub date: NaiveDate,
    pub csv: Option<Vec<u8>>,
    pub parquet: Option<Vec<ArrowColumnChunk>>,
}

/// What a finished dataset holds.
#[derive(Debug, Clone, Default)]
pub struct WrittenDataset {
    pub files: Vec<PathBuf>,
    pub csv_bytes: Option<u64>,
    pub parquet_bytes: Option<u64>,
}

impl WrittenDataset {
    /// Adds what another writer of the same run wrote (another day).
    pub fn add(&mut self, other: WrittenDataset) {
        let sum = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        self.files.extend(other.files);
        self.csv_bytes = sum(self.csv_bytes, other.csv_bytes);
        self.parquet_bytes = sum(self.parquet_bytes, other.parquet_bytes);
    }
}

/// Appends units to the CSV file and the Parquet dataset.
pub struct DatasetWriter {
    paths: DatasetPaths,
    part: Part,
    csv: Option<AtomicFile>,
    csv_bytes: u64,
    /// A whole run builds a new dataset beside the old and swaps it in; a shard adds its own
    /// files to a shared dataset, each file atomically.
    staged: Option<StagedDir>,
    partitions: Option<PartitionWriter>,
}

impl DatasetWriter {
    pub fn create(paths: &DatasetPaths, formats: Formats, part: Part, encoder: &ParquetEncoder) -> Result<Self> {
        std::fs::create_dir_all(&paths.data).with_context(|| format!("cannot create {}", paths.data.display()))?;
        let csv_path = match part {
            Part::Day(date) => paths.table.day_csv(&paths.data, date),
            _ => paths.csv.clone(),
        };
        let csv = match formats.csv {
            true => {
                if let Some(dir) = csv_path.parent() {
                    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
                }
                Some(AtomicFile::create(&csv_path).with_context(|| format!("cannot create {}", csv_path.display()))?)
            }
            false => None,
        };
        let staged = match (formats.parquet, part) {
            (true, Part::Whole) => Some(
                StagedDir::create(&paths.parquet)
                    .with_context(|| format!("cannot create {}", paths.parquet.display()))?,
            ),
            _ => None,
        };
        let partitions = formats.parquet.then(|| {
            let root = staged.as_ref().map_or(paths.parquet.as_path(), |s| s.staging());
            let file = match part {
                Part::Shard(k, _) => k - 1,
                _ => 0,
            };
            PartitionWriter::new(root, encoder, file)
        });
        Ok(DatasetWriter {
            paths: paths.clone(),
            part,
            csv,
            csv_bytes: 0,
            staged,
            partitions,
        })
    }

    /// Writes the CSV header alone, for a shard that has no rows.
    pub fn write_csv_header(&mut self, schema: &SchemaRef) -> Result<()> {
        if let Some(f) = self.csv.as_mut() {
            let header = csv_header(schema)?;
            f.write_all(&header).context("cannot write the CSV file")?;
            self.csv_bytes += header.len() as u64;
        }
        Ok(())
    }

    /// Appends the next unit in plan order (of a day writer: a unit of its day).
    pub fn append(&mut self, unit: EncodedUnit) -> Result<()> {
        if let Part::Day(date) = self.part {
            anyhow::ensure!(
                unit.date == date,
                "a unit of {} given to the writer of {date}",
                unit.date
            );
        }
        if let (Some(f), Some(bytes)) = (self.csv.as_mut(), &unit.csv) {
            f.write_all(bytes).context("cannot write the CSV file")?;
            self.csv_bytes += bytes.len() as u64;
        }
        if let (Some(w), Some(chunks)) = (self.partitions.as_mut(), unit.parquet) {
            w.append(unit.day, unit.date, chunks)
                .context("cannot write the Parquet dataset")?;
        }
        Ok(())
    }

    /// CSV bytes written so far.
    pub fn csv_bytes(&self) -> u64 {
        self.csv_bytes
    }

    /// Closes, syncs and renames everything into place.
    pub fn finish(self) -> Result<WrittenDataset> {
        let mut done = WrittenDataset::default();
        if let Some(f) = self.csv {
            let path = f.path().to_path_buf();
            f.commit()
                .with_context(|| format!("cannot finish {}", path.display()))?;
            done.files.push(path);
            done.csv_bytes = Some(self.csv_bytes);
        }
        if let Some(w) = self.partitions {
            let written = w.finish().context("cannot finish the Parquet dataset")?;
            let root = self
                .staged
                .as_ref()
                .map_or(self.paths.parquet.clone(), |s| s.staging().to_path_buf());
            let mut total = 0;
            for f in &written {
                total += std::fs::metadata(f)
                    .with_context(|| format!("cannot stat {}", f.display()))?
                    .len();
                done.files
                    .push(self.paths.parquet.join(f.strip_prefix(&root).unwrap_or(f)));
            }
            if let Some(s) = self.staged {
                s.commit().with_context(|| {
                    format!("cannot move the Parquet dataset into {}", self.paths.parquet.display())
                })?;
            }
            done.parquet_bytes = Some(total);
        }
        if let Part::Day(date) = self.part {
            remove_stale(&self.paths.parquet.join(layout::partition(date)), &done.files)?;
        }
        Ok(done)
    }
}

/// Removes what a day's partition held beyond the files just written (another plan's shards'
/// files, or the whole directory when the day now has none), so the day holds what a whole run
/// of the plan would write there.
fn remove_stale(partition: &Path, written: &[PathBuf]) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(partition) else {
        return Ok(());
    };
    let mut kept = 0;
    for entry in entries {
        let path = entry?.path();
        if written.contains(&path) {
            kept += 1;
        } else if path.extension().is_some_and(|e| e == "parquet") {
            std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    if kept == 0 {
        // Only a directory the day no longer needs (never one holding someone's other files).
        let _ = std::fs::remove_dir(partition);
    }
    Ok(())
}
