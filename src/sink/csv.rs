//! CSV serialization with arrow-csv: RFC 3339 UTC timestamps, standard quoting.
//!
//! Each work unit serializes its own batch in parallel; the writer only concatenates bytes.

use arrow::array::RecordBatch;
use arrow::csv::WriterBuilder;
use arrow::datatypes::SchemaRef;

/// RFC 3339 in UTC with millisecond precision, e.g. `2025-01-01T08:15:02.517Z`.
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

/// The batch as CSV bytes, with the header line first if `header`.
pub fn csv_bytes(batch: &RecordBatch, header: bool) -> Result<Vec<u8>, arrow::error::ArrowError> {
    csv_bytes_with(batch, header, TIMESTAMP_FORMAT)
}

/// [`csv_bytes`] with another format for timestamps (FOCUS wants whole seconds).
pub fn csv_bytes_with(
    batch: &RecordBatch,
    header: bool,
    timestamp_format: &str,
) -> Result<Vec<u8>, arrow::error::ArrowError> {
    let mut out = Vec::with_capacity(batch.num_rows() * 360 + 512);
    {
        let mut writer = WriterBuilder::new()
            .with_header(header)
            .with_timestamp_tz_format(timestamp_format.to_string())
            .build(&mut out);
        writer.write(batch)?;
    }
    Ok(out)
}

/// The header line alone.
pub fn csv_header(schema: &SchemaRef) -> Result<Vec<u8>, arrow::error::ArrowError> {
    csv_bytes(&RecordBatch::new_empty(schema.clone()), true)
}
