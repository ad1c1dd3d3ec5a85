//! Parquet output: a Hive-partitioned dataset, `<table>/date=YYYY-MM-DD/part-NNNNN.parquet`.
//!
//! Work units encode their row group's column chunks in parallel (`encode`); one writer appends
//! them in plan order, one file per UTC day (per shard), so date filters prune whole files and
//! DuckDB, Spark, pyarrow and Polars read the directory as one table.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};
use chrono::NaiveDate;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowRowGroupWriterFactory, compute_leaves};
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder, WriterPropertiesPtr};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;

use super::atomic::AtomicFile;

/// Where a file came from, written into the key-value metadata of every Parquet file, so a file
/// found on its own still says which trafficsim, seed and run plan made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    pub seed: u64,
    /// A hash of the resolved run plan (see `config::fingerprint`).
    pub plan_hash: String,
}

/// Metadata keys, as DuckDB's `parquet_kv_metadata` and pyarrow's `schema.metadata` list them.
pub const VERSION_KEY: &str = "trafficsim.version";
pub const SEED_KEY: &str = "trafficsim.seed";
pub const PLAN_HASH_KEY: &str = "trafficsim.plan_hash";

impl Provenance {
    pub fn key_values(&self) -> Vec<KeyValue> {
        vec![
            KeyValue::new(VERSION_KEY.to_string(), env!("CARGO_PKG_VERSION").to_string()),
            KeyValue::new(SEED_KEY.to_string(), self.seed.to_string()),
            KeyValue::new(PLAN_HASH_KEY.to_string(), self.plan_hash.clone()),
        ]
    }
}

/// The provenance in a Parquet file's metadata, if it has one.
pub fn read_provenance(path: &Path) -> Option<Provenance> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(fs::File::open(path).ok()?).ok()?;
    let pairs = reader.metadata().file_metadata().key_value_metadata()?;
    let value = |key: &str| pairs.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.clone());
    Some(Provenance {
        seed: value(SEED_KEY)?.parse().ok()?,
        plan_hash: value(PLAN_HASH_KEY)?,
    })
}

/// What every Parquet file trafficsim writes shares: zstd, the writer's name, the provenance.
pub fn base_properties(provenance: &Provenance) -> WriterPropertiesBuilder {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("1 is a valid zstd level"),
        ))
        .set_created_by(format!("trafficsim {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(provenance.key_values()))
}

/// Writer settings of a fact table: [`base_properties`], dictionary-encoded strings but for
/// `unique` columns (ids, nearly one value per row, where a dictionary only costs).
pub fn writer_properties(schema: &SchemaRef, unique: &[&str], provenance: &Provenance) -> WriterProperties {
    let mut b = base_properties(provenance).set_dictionary_enabled(true);
    for name in unique.iter().chain(["timestamp"].iter()) {
        if schema.field_with_name(name).is_ok() {
            b = b.set_column_dictionary_enabled(ColumnPath::from(*name), false);
        }
    }
    // Every row group is a time slice over all customers, so the min/max of a string column
    // (ids, names, categories) spans nearly everything and never prunes; computing it costs a
    // string compare per row. Statistics stay on the sorted timestamp and the numbers.
    for field in schema.fields() {
        if field.data_type() == &DataType::Utf8 {
            b = b.set_column_statistics_enabled(ColumnPath::from(field.name().as_str()), EnabledStatistics::None);
        }
    }
    b.build()
}

/// The schema as stored: a dictionary-encoded text column (an in-memory saving, e.g. user
/// agents) is plain text, so that readers which follow the Arrow schema kept in the file
/// (pyarrow, Polars) see a string, as DuckDB and Spark do, rather than a categorical of 16-bit
/// keys. Parquet dictionary-encodes the values on its own.
pub fn storage_schema(schema: &SchemaRef) -> SchemaRef {
    if !schema.fields().iter().any(|f| is_dictionary_text(f.data_type())) {
        return schema.clone();
    }
    let fields: Vec<arrow::datatypes::FieldRef> = schema
        .fields()
        .iter()
        .map(|f| match is_dictionary_text(f.data_type()) {
            true => Arc::new(f.as_ref().clone().with_data_type(DataType::Utf8)),
            false => f.clone(),
        })
        .collect();
    Arc::new(arrow::datatypes::Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ))
}

/// `batch` in the [`storage_schema`] `storage`: dictionary-encoded text cast to plain text.
pub fn storage_batch(batch: &RecordBatch, storage: &SchemaRef) -> Result<RecordBatch, ParquetError> {
    if batch.schema().as_ref() == storage.as_ref() {
        return Ok(batch.clone());
    }
    let columns = batch
        .columns()
        .iter()
        .zip(storage.fields())
        .map(|(array, field)| arrow::compute::cast(array, field.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(storage.clone(), columns)?)
}

fn is_dictionary_text(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Dictionary(_, value) if value.as_ref() == &DataType::Utf8)
}

/// Encodes record batches into row-group column chunks; shareable across threads.
pub struct ParquetEncoder {
    schema: SchemaRef,
    props: WriterPropertiesPtr,
    factory: ArrowRowGroupWriterFactory,
}

impl ParquetEncoder {
    /// An encoder for batches of `schema`; `unique` names the id columns (see
    /// [`writer_properties`]); `provenance` goes into every file's metadata.
    pub fn new(schema: SchemaRef, unique: &[&str], provenance: &Provenance) -> Result<Self, ParquetError> {
        let schema = storage_schema(&schema);
        let props = writer_properties(&schema, unique, provenance);
        // The factory only carries schema and properties; build it against a throwaway writer.
        let (_, factory) =
            ArrowWriter::try_new(std::io::sink(), schema.clone(), Some(props.clone()))?.into_serialized_writer()?;
        Ok(ParquetEncoder {
            schema,
            props: Arc::new(props),
            factory,
        })
    }

    /// The batch's row group, encoded and compressed, ready to append to a file.
    pub fn encode(&self, batch: &RecordBatch) -> Result<Vec<ArrowColumnChunk>, ParquetError> {
        let batch = storage_batch(batch, &self.schema)?;
        let mut writers = self.factory.create_column_writers(0)?;
        let mut leaves = writers.iter_mut();
        for (array, field) in batch.columns().iter().zip(self.schema.fields()) {
            for leaf in compute_leaves(field, array)? {
                leaves.next().expect("one writer per leaf").write(&leaf)?;
            }
        }
        writers.into_iter().map(|w| w.close()).collect()
    }
}

/// Writes row groups into one file per day: `<root>/date=YYYY-MM-DD/part-NNNNN.parquet`.
pub struct PartitionWriter {
    root: PathBuf,
    schema: SchemaRef,
    props: WriterPropertiesPtr,
    part: u32,
    current: Option<(u32, SerializedFileWriter<AtomicFile>)>,
    files: Vec<PathBuf>,
}

impl PartitionWriter {
    /// `part` numbers this writer's files, so shards writing into one dataset never collide.
    pub fn new(root: &Path, encoder: &ParquetEncoder, part: u32) -> Self {
        PartitionWriter {
            root: root.to_path_buf(),
            schema: encoder.schema.clone(),
            props: encoder.props.clone(),
            part,
            current: None,
            files: Vec::new(),
        }
    }

    /// Appends a row group to the file of `day` (days come in order).
    pub fn append(&mut self, day: u32, date: NaiveDate, chunks: Vec<ArrowColumnChunk>) -> Result<(), ParquetError> {
        if self.current.as_ref().is_none_or(|(d, _)| *d != day) {
            self.close_current()?;
            let dir = self.root.join(super::layout::partition(date));
            fs::create_dir_all(&dir)?;
            let path = dir.join(format!("part-{:05}.parquet", self.part));
            let file = AtomicFile::create(&path)?;
            let (writer, _) = ArrowWriter::try_new(file, self.schema.clone(), Some((*self.props).clone()))?
                .into_serialized_writer()?;
            self.current = Some((day, writer));
        }
        let writer = &mut self.current.as_mut().expect("opened above").1;
        let mut row_group = writer.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
        Ok(())
    }

    fn close_current(&mut self) -> Result<(), ParquetError> {
        if let Some((_, writer)) = self.current.take() {
            let file = writer.into_inner()?;
            self.files.push(file.path().to_path_buf());
            file.commit()?;
        }
        Ok(())
    }

    /// Closes the last file; returns every file written.
    pub fn finish(mut self) -> Result<Vec<PathBuf>, ParquetError> {
        self.close_current()?;
        Ok(std::mem::take(&mut self.files))
    }
}
