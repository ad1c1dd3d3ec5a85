//! The labels dataset the generator writes beside the calls (`labels.parquet` or `labels.csv`):
//! the ground truth the detectors are scored against (here, on the churn and growth page and on
//! the abuse page).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, TimestampMicrosecondType};

/// One row of the labels dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub scenario: String,
    pub kind: String,
    pub subject_type: String,
    pub subject: String,
    pub start_us: i64,
    pub end_us: i64,
    pub magnitude: f64,
    pub detail: String,
}

/// `labels.parquet` (or `labels.csv`) in the data directory that holds `scanned`.
pub fn find_labels(scanned: &Path) -> Option<PathBuf> {
    let dir = if scanned.is_dir() && scanned.join("calls").is_dir() {
        scanned.to_path_buf()
    } else {
        scanned.parent()?.to_path_buf()
    };
    ["labels.parquet", "labels.csv"]
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
}

/// Reads the labels written by the generator.
pub fn read_labels(path: &Path) -> Result<Vec<Label>> {
    let batches: Vec<arrow::array::RecordBatch> = if path.extension().is_some_and(|e| e == "parquet") {
        let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)?
            .build()?
            .collect::<Result<_, _>>()?
    } else {
        let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        arrow::csv::ReaderBuilder::new(crate::batch::labels::LABELS_SCHEMA.clone())
            .with_header(true)
            .build(file)?
            .collect::<Result<_, _>>()?
    };
    let mut out = Vec::new();
    for b in &batches {
        let text = |name: &str| -> Result<Vec<String>> {
            let a = b
                .column_by_name(name)
                .with_context(|| format!("{}: no column `{name}`", path.display()))?;
            let a = a.as_string::<i32>();
            Ok((0..a.len()).map(|i| a.value(i).to_string()).collect())
        };
        let time = |name: &str| -> Result<Vec<i64>> {
            let a = b
                .column_by_name(name)
                .with_context(|| format!("{}: no column `{name}`", path.display()))?;
            Ok(a.as_primitive::<TimestampMicrosecondType>().values().to_vec())
        };
        let (scenario, kind, subject_type, subject, detail) = (
            text("scenario")?,
            text("kind")?,
            text("subject_type")?,
            text("subject")?,
            text("detail")?,
        );
        let (start, end) = (time("start")?, time("end")?);
        let magnitude = b
            .column_by_name("magnitude")
            .with_context(|| format!("{}: no column `magnitude`", path.display()))?
            .as_primitive::<Float64Type>()
            .values()
            .to_vec();
        for i in 0..b.num_rows() {
            out.push(Label {
                scenario: scenario[i].clone(),
                kind: kind[i].clone(),
                subject_type: subject_type[i].clone(),
                subject: subject[i].clone(),
                start_us: start[i],
                end_us: end[i],
                magnitude: magnitude[i],
                detail: detail[i].clone(),
            });
        }
    }
    Ok(out)
}

/// The labels beside the data at `scanned`, or none when there is no labels file.
pub fn labels_beside(scanned: &Path) -> Result<(Option<PathBuf>, Vec<Label>)> {
    let file = find_labels(scanned);
    let labels = match &file {
        Some(p) => read_labels(p)?,
        None => Vec::new(),
    };
    Ok((file, labels))
}
