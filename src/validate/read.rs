//! Reads a dataset back: a CSV file, a Parquet file, or a directory of Parquet files. A CSV's
//! columns are typed by the schema of the table it holds (calls unless told otherwise).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::array::RecordBatch;
use arrow::csv::ReaderBuilder;
use arrow::csv::reader::Format;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};

use crate::batch::calls::CALLS_SCHEMA;
use crate::sink::atomic::{is_unfinished, leftovers_note};

const BATCH_ROWS: usize = 65_536;

/// Batches read lazily, in file order; `Send`, so a reader thread can decode them ahead.
pub type Batches = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

/// Every Parquet file under `dir`, sorted by path (so `date=` partitions come in date order).
/// Unfinished output (`*.inprogress`, see [`is_unfinished`]) is skipped: it belongs to a
/// generation that is running or was interrupted.
pub fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>> {
    dataset_files(dir, "parquet")
}

/// Every complete file ending in `.ext` under `dir`, sorted by path.
pub fn dataset_files(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("cannot list {}", d.display()))? {
            let path = entry?.path();
            if is_unfinished(&path) {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The CSV files of a day-partitioned CSV dataset (`generate --date`: `date=…/part-00000.csv`).
pub fn day_csv_files(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(dataset_files(dir, "csv")?
        .into_iter()
        .filter(|f| {
            let partition = f.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str());
            partition.is_some_and(|n| n.starts_with("date="))
        })
        .collect())
}

/// Why there is nothing to read at `path`: only what an unfinished generation left, or nothing.
pub fn no_dataset(path: &Path, nothing: &str) -> anyhow::Error {
    match leftovers_note(path) {
        Some(note) => anyhow::anyhow!("{}: no complete dataset yet: {note}", path.display()),
        None => anyhow::anyhow!("{}: {nothing}", path.display()),
    }
}

/// The batches of a `calls` dataset, read lazily, in file order.
pub fn read_dataset(path: &Path) -> Result<Batches> {
    read_dataset_as(path, &CALLS_SCHEMA)
}

/// The batches of a dataset of the table with schema `known`, read lazily, in file order: a
/// CSV or Parquet file, a directory of Parquet files, or of day CSV files (`generate --date`).
pub fn read_dataset_as(path: &Path, known: &SchemaRef) -> Result<Batches> {
    read_dataset_coded(path, known, Strings::default())
}

/// How a pass wants a Parquet file's string columns: those named in `dictionary` as dictionary
/// arrays (Parquet's own dictionary pages, not a string per row), and with `views` the others as
/// string views, which point into the decoded pages rather than copy every value into one
/// growing buffer (at 10M rows, most of a full pass's time). CSV columns stay strings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Strings {
    pub dictionary: &'static [&'static str],
    pub views: bool,
}

/// [`read_dataset_as`], with the Parquet string columns read as `strings` says: a pass that
/// looks values up in a dictionary column does it once per distinct value.
pub fn read_dataset_coded(path: &Path, known: &SchemaRef, strings: Strings) -> Result<Batches> {
    if path.is_dir() {
        let mut files = parquet_files(path)?;
        if files.is_empty() {
            files = day_csv_files(path)?;
        }
        if files.is_empty() {
            return Err(no_dataset(path, "no .parquet files in this directory"));
        }
        let known = known.clone();
        let iter = files.into_iter().flat_map(move |f| {
            let read = match f.extension().is_some_and(|e| e == "csv") {
                true => read_csv(&f, &known),
                false => read_parquet(&f, strings),
            };
            match read {
                Ok(it) => it,
                Err(e) => Box::new(std::iter::once(Err(e))),
            }
        });
        return Ok(Box::new(iter));
    }
    if !path.exists() {
        return Err(no_dataset(path, "no such file or directory"));
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => read_csv(path, known),
        Some("parquet") => read_parquet(path, strings),
        _ => bail!(
            "{}: not a dataset: give a .csv file, a .parquet file or a directory of Parquet files",
            path.display()
        ),
    }
}

/// Calls `each` on every batch of [`read_dataset_as`], in file order, while the next batches are
/// decoded on another thread: the checks replay rows in order on one core, and decoding (zstd,
/// fresh pages) is the other half of the time. The first error, of reading or of `each`, stops both.
pub fn for_each_batch(path: &Path, known: &SchemaRef, each: impl FnMut(RecordBatch) -> Result<()>) -> Result<()> {
    for_each_batch_coded(path, known, Strings::default(), each)
}

/// [`for_each_batch`] over [`read_dataset_coded`]'s batches.
pub fn for_each_batch_coded(
    path: &Path,
    known: &SchemaRef,
    strings: Strings,
    mut each: impl FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    // Opened here, so a missing or empty dataset fails before a thread is started.
    let batches = read_dataset_coded(path, known, strings)?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<RecordBatch>>(READ_AHEAD);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for batch in batches {
                // The receiver is gone when `each` failed: stop decoding.
                if tx.send(batch).is_err() {
                    return;
                }
            }
        });
        rx.into_iter().try_for_each(|batch| each(batch?))
    })
}

/// Batches decoded ahead of the checks (each at most [`BATCH_ROWS`] rows).
const READ_AHEAD: usize = 2;

/// A Parquet file's reader metadata, with its string columns named in `dictionary` typed as
/// dictionaries (so the reader keeps the file's dictionary pages rather than a string per row),
/// and with `views` the other string columns as string views.
fn coded_metadata(file: &File, path: &Path, dictionary: &[&str], views: bool) -> Result<ArrowReaderMetadata> {
    let unreadable = || format!("{}: not a readable Parquet file", path.display());
    let mut meta = ArrowReaderMetadata::load(file, ArrowReaderOptions::new()).with_context(unreadable)?;
    let schema = meta.schema().clone();
    let retyped = |f: &Field| match f.data_type() {
        DataType::Utf8 if dictionary.contains(&f.name().as_str()) => Some(DataType::Dictionary(
            Box::new(DataType::Int32),
            Box::new(DataType::Utf8),
        )),
        DataType::Utf8 if views => Some(DataType::Utf8View),
        _ => None,
    };
    if schema.fields().iter().any(|f| retyped(f).is_some()) {
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| match retyped(f) {
                Some(t) => f.as_ref().clone().with_data_type(t),
                None => f.as_ref().clone(),
            })
            .collect();
        let coded = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
        meta = ArrowReaderMetadata::try_new(meta.metadata().clone(), ArrowReaderOptions::new().with_schema(coded))
            .with_context(unreadable)?;
    }
    Ok(meta)
}

fn read_parquet(path: &Path, strings: Strings) -> Result<Batches> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let meta = coded_metadata(&file, path, strings.dictionary, strings.views)?;
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta)
        .with_batch_size(BATCH_ROWS)
        .build()?;
    let p = path.to_path_buf();
    Ok(Box::new(reader.map(move |b| {
        b.with_context(|| format!("{}: cannot read a row group", p.display()))
    })))
}

/// The schema of a CSV file: its header's columns, typed as in the `calls` schema.
pub fn csv_schema(path: &Path) -> Result<SchemaRef> {
    csv_schema_as(path, &CALLS_SCHEMA)
}

/// The schema of a CSV file: its header's columns, typed as in `known` (others as text).
pub fn csv_schema_as(path: &Path, known: &SchemaRef) -> Result<SchemaRef> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let (header, _) = Format::default()
        .with_header(true)
        .infer_schema(file, Some(0))
        .with_context(|| format!("{}: cannot read the CSV header", path.display()))?;
    let fields: Vec<Field> = header
        .fields()
        .iter()
        .map(|f| match known.field_with_name(f.name()) {
            Ok(known) => known.clone().with_nullable(true),
            Err(_) => Field::new(f.name(), arrow::datatypes::DataType::Utf8, true),
        })
        .collect();
    Ok(Arc::new(Schema::new(fields)))
}

fn read_csv(path: &Path, known: &SchemaRef) -> Result<Batches> {
    let schema = csv_schema_as(path, known)?;
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let reader = ReaderBuilder::new(schema)
        .with_header(true)
        .with_batch_size(BATCH_ROWS)
        .build(file)?;
    let p = path.to_path_buf();
    Ok(Box::new(reader.map(move |b| {
        b.with_context(|| format!("{}: cannot parse the CSV", p.display()))
    })))
}

/// The batches of one file (`.csv`, else Parquet) with only `columns`, read lazily: a pass that
/// needs a few columns decodes only those (the Parquet string columns among `dictionary` as
/// dictionaries, see [`read_dataset_coded`]). A missing column is an error naming the file.
pub fn read_columns(path: &Path, columns: &[&str], dictionary: &[&str]) -> Result<Batches> {
    let missing = |have: &dyn Fn(&str) -> bool| columns.iter().copied().find(|c| !have(c));
    if path.extension().is_some_and(|e| e == "csv") {
        let schema = csv_schema(path)?;
        if let Some(c) = missing(&|c| schema.index_of(c).is_ok()) {
            bail!("{}: no column `{c}`", path.display());
        }
        let projection = columns.iter().filter_map(|c| schema.index_of(c).ok()).collect();
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let reader = ReaderBuilder::new(schema)
            .with_header(true)
            .with_batch_size(BATCH_ROWS)
            .with_projection(projection)
            .build(file)?;
        let p = path.to_path_buf();
        return Ok(Box::new(reader.map(move |b| {
            b.with_context(|| format!("{}: cannot parse the CSV", p.display()))
        })));
    }
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let meta = coded_metadata(&file, path, dictionary, false)?;
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta);
    let schema = builder.schema().clone();
    if let Some(c) = missing(&|c| schema.index_of(c).is_ok()) {
        bail!("{}: no column `{c}`", path.display());
    }
    let mask = ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
    let reader = builder.with_projection(mask).with_batch_size(BATCH_ROWS).build()?;
    let p = path.to_path_buf();
    Ok(Box::new(reader.map(move |b| {
        b.with_context(|| format!("{}: cannot read a row group", p.display()))
    })))
}

/// The rows of a Parquet dataset (a file or a directory) from the files' footers, to size what
/// a pass collects per row; 0 when unknown (CSV, an unreadable footer: the pass then fails
/// with its own message).
pub fn row_count_hint(path: &Path) -> usize {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let files = if path.is_dir() {
        parquet_files(path).unwrap_or_default()
    } else if path.extension().is_some_and(|e| e == "parquet") {
        vec![path.to_path_buf()]
    } else {
        Vec::new()
    };
    files
        .iter()
        .filter_map(|f| SerializedFileReader::new(File::open(f).ok()?).ok())
        .map(|r| r.metadata().file_metadata().num_rows().max(0) as usize)
        .sum()
}
