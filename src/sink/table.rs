//! Writes a single-file table beside the fact table — `labels`, and ticketing's `events` and
//! `users` — as `<name>.csv` and `<name>.parquet`, atomically, from batches streamed in order.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;

use super::atomic::AtomicFile;
use super::csv::{TIMESTAMP_FORMAT, csv_bytes_with};
use super::layout;
use super::parquet::{Provenance, base_properties, storage_batch, storage_schema};
use crate::batch::labels::labels_batch;
use crate::config::Formats;
use crate::sim::label::Label;

/// Most rows in a row group of a single-file table.
pub const TABLE_ROW_GROUP: usize = 65_536;

/// Writes the table `name` under `dir` in the run's formats; returns the files written. The
/// batches are read once and written to both files as they come, so a large table (a million
/// users) is never held whole.
pub fn write_table(
    dir: &Path,
    name: &str,
    formats: Formats,
    schema: &SchemaRef,
    provenance: &Provenance,
    batches: impl IntoIterator<Item = Result<RecordBatch>>,
) -> Result<Vec<PathBuf>> {
    write_table_with(dir, name, formats, schema, provenance, TIMESTAMP_FORMAT, batches)
}

/// [`write_table`] with the CSV's timestamps in `timestamp_format`.
pub fn write_table_with(
    dir: &Path,
    name: &str,
    formats: Formats,
    schema: &SchemaRef,
    provenance: &Provenance,
    timestamp_format: &str,
    batches: impl IntoIterator<Item = Result<RecordBatch>>,
) -> Result<Vec<PathBuf>> {
    let csv_path = dir.join(format!("{name}.csv"));
    let parquet_path = dir.join(format!("{name}.parquet"));
    let mut csv = match formats.csv {
        true => Some(AtomicFile::create(&csv_path).with_context(|| format!("cannot create {}", csv_path.display()))?),
        false => None,
    };
    let mut parquet = match formats.parquet {
        true => {
            let f = AtomicFile::create(&parquet_path)
                .with_context(|| format!("cannot create {}", parquet_path.display()))?;
            // Row groups of a batch's size: the writer holds one batch, not a million rows.
            let props = base_properties(provenance)
                .set_max_row_group_row_count(Some(TABLE_ROW_GROUP))
                .build();
            Some(ArrowWriter::try_new(f, storage_schema(schema), Some(props))?)
        }
        false => None,
    };
    let mut header = true;
    for batch in batches {
        let batch = batch?;
        if let Some(f) = csv.as_mut() {
            f.write_all(&csv_bytes_with(&batch, header, timestamp_format)?)
                .with_context(|| format!("cannot write {}", csv_path.display()))?;
        }
        header = false;
        if let Some(w) = parquet.as_mut() {
            w.write(&storage_batch(&batch, &storage_schema(schema))?)
                .with_context(|| format!("cannot write {}", parquet_path.display()))?;
        }
    }
    let mut files = Vec::new();
    if let Some(mut f) = csv {
        if header {
            f.write_all(&csv_bytes_with(
                &RecordBatch::new_empty(schema.clone()),
                true,
                timestamp_format,
            )?)?;
        }
        f.commit()
            .with_context(|| format!("cannot write {}", csv_path.display()))?;
        files.push(csv_path);
    }
    if let Some(w) = parquet {
        let f = w.into_inner()?;
        f.commit()
            .with_context(|| format!("cannot write {}", parquet_path.display()))?;
        files.push(parquet_path);
    }
    Ok(files)
}

/// Writes the labels in the run's formats under `data`; returns the files written.
pub fn write_labels(data: &Path, formats: Formats, labels: &[Label], provenance: &Provenance) -> Result<Vec<PathBuf>> {
    let batch = labels_batch(labels);
    let schema = batch.schema();
    write_table(data, layout::LABELS, formats, &schema, provenance, [Ok(batch)])
}
