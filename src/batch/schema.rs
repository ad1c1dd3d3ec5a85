//! The `calls` dataset schema, defined once.
//!
//! Column order: the 19 columns of the seed-era CSV (document 001) first, so tools written for
//! it keep working, then the extra columns of document 002, then trafficsim's own.

use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Column names, in schema order.
pub const COLUMN_NAMES: [&str; 26] = [
    "timestamp",
    "call_id",
    "provider",
    "model",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "latency_ms",
    "customer_id",
    "subscription_tier",
    "organization_id",
    "product_id",
    "feature_id",
    "task_type",
    "environment",
    "request_id",
    "trace_id",
    "session_id",
    "user_agent",
    "total_tokens",
    "status",
    "region",
    "tier_price_usd",
    "customer_archetype",
    "scenario",
    "timezone",
];

/// Columns whose values are (nearly) unique per row: Parquet dictionary encoding is off for them.
pub const UNIQUE_COLUMNS: [&str; 3] = ["call_id", "request_id", "trace_id"];

/// The time zone of the timestamp column.
pub const TIMESTAMP_TZ: &str = "UTC";

fn data_type(name: &str) -> DataType {
    match name {
        "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, Some(TIMESTAMP_TZ.into())),
        "input_tokens" | "output_tokens" | "total_tokens" | "latency_ms" => DataType::Int64,
        "cost_usd" | "tier_price_usd" => DataType::Float64,
        _ => DataType::Utf8,
    }
}

/// The full `calls` schema; no column is nullable.
pub static CALLS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(
        COLUMN_NAMES
            .iter()
            .map(|name| Field::new(*name, data_type(name), false))
            .collect::<Vec<_>>(),
    ))
});

/// The schema restricted to `columns` (indices into `COLUMN_NAMES`), in that order.
pub fn projected_schema(columns: &[usize]) -> SchemaRef {
    if columns.len() == COLUMN_NAMES.len() && columns.iter().enumerate().all(|(i, c)| i == *c) {
        return CALLS_SCHEMA.clone();
    }
    Arc::new(
        CALLS_SCHEMA
            .project(columns)
            .expect("column indices are validated by config"),
    )
}
