//! Writes the `labels` dataset beside `calls`: `labels.csv` and `labels.parquet`, atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::atomic::AtomicFile;
use super::csv::csv_bytes;
use crate::batch::labels::labels_batch;
use crate::config::Formats;
use crate::sim::scenarios::Label;

/// Writes the labels in the run's formats under `data`; returns the files written.
pub fn write_labels(data: &Path, formats: Formats, labels: &[Label]) -> Result<Vec<PathBuf>> {
    let batch = labels_batch(labels);
    let mut files = Vec::new();
    if formats.csv {
        let path = data.join("labels.csv");
        let mut f = AtomicFile::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        f.write_all(&csv_bytes(&batch, true)?)?;
        f.commit().with_context(|| format!("cannot write {}", path.display()))?;
        files.push(path);
    }
    if formats.parquet {
        let path = data.join("labels.parquet");
        let f = AtomicFile::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).expect("valid level")))
            .build();
        let mut writer = ArrowWriter::try_new(f, batch.schema(), Some(props))?;
        writer.write(&batch)?;
        let f = writer.into_inner()?;
        f.commit().with_context(|| format!("cannot write {}", path.display()))?;
        files.push(path);
    }
    Ok(files)
}
