//! The single writer of a run's dataset: appends encoded units, in plan order, to the CSV file
//! and the day-partitioned Parquet dataset, and makes them visible only when complete.

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
            data,
        }
    }
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

/// Appends units to the CSV file and the Parquet dataset.
pub struct DatasetWriter {
    paths: DatasetPaths,
    csv: Option<AtomicFile>,
    csv_bytes: u64,
    /// A whole run builds a new dataset beside the old and swaps it in; a shard adds its own
    /// files to a shared dataset, each file atomically.
    staged: Option<StagedDir>,
    partitions: Option<PartitionWriter>,
}

impl DatasetWriter {
    pub fn create(
        paths: &DatasetPaths,
        formats: Formats,
        shard: Option<(u32, u32)>,
        encoder: &ParquetEncoder,
    ) -> Result<Self> {
        std::fs::create_dir_all(&paths.data).with_context(|| format!("cannot create {}", paths.data.display()))?;
        let csv = match formats.csv {
            true => {
                Some(AtomicFile::create(&paths.csv).with_context(|| format!("cannot create {}", paths.csv.display()))?)
            }
            false => None,
        };
        let staged = match (formats.parquet, shard) {
            (true, None) => Some(
                StagedDir::create(&paths.parquet)
                    .with_context(|| format!("cannot create {}", paths.parquet.display()))?,
            ),
            _ => None,
        };
        let partitions = formats.parquet.then(|| {
            let root = staged.as_ref().map_or(paths.parquet.as_path(), |s| s.staging());
            PartitionWriter::new(root, encoder, shard.map_or(0, |(k, _)| k - 1))
        });
        Ok(DatasetWriter {
            paths: paths.clone(),
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

    /// Appends the next unit in plan order.
    pub fn append(&mut self, unit: EncodedUnit) -> Result<()> {
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
            done.files.push(f.path().to_path_buf());
            f.commit()
                .with_context(|| format!("cannot finish {}", self.paths.csv.display()))?;
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
        Ok(done)
    }
}
