//! Request bodies: each row as a JSON object of its template's columns, written straight from
//! the Arrow arrays (no per-field allocation), so bodies keep up with 10,000 requests a second.
//!
//! The templates send what the service would see, never the ground truth:
//! - **ticketing** (`POST /predict`): document 004's transaction fields — ids, time, tickets,
//!   price, payment, device, network and the fraud indicators. Left out: `is_fraud`, `is_bot`,
//!   `fraud_pattern`, `persona` and `scenario` (the labels), and `payment_status`,
//!   `decision_latency_ms` and `api_status` (the platform's own answer, which the service is to
//!   give).
//! - **calls** (an LLM gateway, e.g. `serve-mock`'s `POST /v1/calls`): the request as a gateway
//!   sees it — ids, customer, product, feature, model, provider, task, token counts, region.
//!   Left out: cost, latency and status (the gateway's answer) and the scenario label.
//!
//! Times are RFC 3339 in UTC with milliseconds; a null is written as JSON `null`.

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, DictionaryArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit, UInt16Type};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// The ticketing template's columns, in body order.
pub const TICKETING_FIELDS: &[&str] = &[
    "transaction_id",
    "timestamp",
    "event_id",
    "user_id",
    "session_id",
    "tier",
    "num_tickets",
    "price_per_ticket",
    "price_multiplier",
    "total_amount",
    "currency",
    "payment_method",
    "payment_instrument_id",
    "device_type",
    "browser",
    "user_agent",
    "ip_address",
    "ip_country",
    "velocity_1h",
    "device_mismatch",
    "geo_mismatch",
    "time_anomaly",
    "risk_score",
    "ab_variant",
];

/// The calls template's columns, in body order.
pub const CALLS_FIELDS: &[&str] = &[
    "request_id",
    "call_id",
    "timestamp",
    "customer_id",
    "organization_id",
    "subscription_tier",
    "product_id",
    "feature_id",
    "environment",
    "provider",
    "model",
    "task_type",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "session_id",
    "trace_id",
    "user_agent",
    "region",
    "timezone",
];

/// One column of a batch, typed for JSON.
enum Field<'a> {
    Str(&'a StringArray),
    Dict(&'a DictionaryArray<UInt16Type>, &'a StringArray),
    Int(&'a Int64Array),
    Float(&'a Float64Array),
    Bool(&'a BooleanArray),
    Time(&'a TimestampMicrosecondArray),
}

/// A batch's template columns, ready to write rows as JSON.
pub struct Bodies<'a> {
    fields: Vec<(&'static str, Field<'a>)>,
}

impl<'a> Bodies<'a> {
    /// The template's columns that `batch` has (a missing one is left out of the bodies); a
    /// column of a type JSON cannot carry is an error naming it.
    pub fn new(batch: &'a RecordBatch, template: &[&'static str]) -> anyhow::Result<Bodies<'a>> {
        let mut fields = Vec::with_capacity(template.len());
        for &name in template {
            let Some(a) = batch.column_by_name(name) else { continue };
            fields.push((name, field(name, a)?));
        }
        Ok(Bodies { fields })
    }

    /// Row `row` as a JSON object.
    pub fn write(&self, row: usize, out: &mut Vec<u8>) {
        // Writing to a Vec cannot fail, and every value is representable.
        let _ = serde_json::to_writer(out, &Row { bodies: self, row });
    }
}

fn field<'a>(name: &str, a: &'a ArrayRef) -> anyhow::Result<Field<'a>> {
    Ok(match a.data_type() {
        DataType::Utf8 => Field::Str(a.as_string::<i32>()),
        DataType::Dictionary(k, v) if **k == DataType::UInt16 && **v == DataType::Utf8 => {
            let d = a.as_dictionary::<UInt16Type>();
            Field::Dict(d, d.values().as_string::<i32>())
        }
        DataType::Int64 => Field::Int(a.as_primitive::<Int64Type>()),
        DataType::Float64 => Field::Float(a.as_primitive::<Float64Type>()),
        DataType::Boolean => Field::Bool(a.as_boolean()),
        DataType::Timestamp(TimeUnit::Microsecond, _) => Field::Time(a.as_primitive()),
        other => anyhow::bail!("column `{name}` has type {other}, which the request body template cannot write"),
    })
}

struct Row<'b, 'a> {
    bodies: &'b Bodies<'a>,
    row: usize,
}

impl Serialize for Row<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let i = self.row;
        let mut map = s.serialize_map(Some(self.bodies.fields.len()))?;
        for (name, f) in &self.bodies.fields {
            let null = match f {
                Field::Str(a) => a.is_null(i),
                Field::Dict(a, _) => a.is_null(i),
                Field::Int(a) => a.is_null(i),
                Field::Float(a) => a.is_null(i),
                Field::Bool(a) => a.is_null(i),
                Field::Time(a) => a.is_null(i),
            };
            if null {
                map.serialize_entry(name, &())?;
                continue;
            }
            match f {
                Field::Str(a) => map.serialize_entry(name, a.value(i))?,
                Field::Dict(a, v) => map.serialize_entry(name, v.value(a.keys().value(i) as usize))?,
                Field::Int(a) => map.serialize_entry(name, &a.value(i))?,
                Field::Float(a) => map.serialize_entry(name, &a.value(i))?,
                Field::Bool(a) => map.serialize_entry(name, &a.value(i))?,
                Field::Time(a) => map.serialize_entry(name, &rfc3339(a.value(i)))?,
            }
        }
        map.end()
    }
}

/// µs since the epoch as RFC 3339 UTC with milliseconds.
pub fn rfc3339(us: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{DictionaryArray, StringArray, UInt16Array};
    use arrow::datatypes::{Field as ArrowField, Schema};

    use super::*;

    #[test]
    fn a_row_becomes_its_template_fields_and_nothing_else() {
        let schema = Arc::new(Schema::new(vec![
            ArrowField::new("transaction_id", DataType::Utf8, false),
            ArrowField::new(
                "timestamp",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            ArrowField::new("risk_score", DataType::Float64, false),
            ArrowField::new("geo_mismatch", DataType::Boolean, false),
            ArrowField::new(
                "user_agent",
                DataType::Dictionary(Box::new(DataType::UInt16), Box::new(DataType::Utf8)),
                false,
            ),
            ArrowField::new("ab_variant", DataType::Utf8, true),
            ArrowField::new("is_fraud", DataType::Boolean, false),
        ]));
        let agents = DictionaryArray::new(
            UInt16Array::from(vec![1]),
            Arc::new(StringArray::from(vec!["a", "Mozilla \"x\""])),
        );
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["txn_1"])),
                Arc::new(TimestampMicrosecondArray::from(vec![1_762_164_000_123_456]).with_timezone("UTC")),
                Arc::new(Float64Array::from(vec![0.25])),
                Arc::new(BooleanArray::from(vec![true])),
                Arc::new(agents),
                Arc::new(StringArray::from(vec![None::<&str>])),
                Arc::new(BooleanArray::from(vec![true])),
            ],
        )
        .unwrap();
        let bodies = Bodies::new(&batch, TICKETING_FIELDS).unwrap();
        let mut out = Vec::new();
        bodies.write(0, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"transaction_id":"txn_1","timestamp":"2025-11-03T10:00:00.123Z","user_agent":"Mozilla \"x\"","geo_mismatch":true,"risk_score":0.25,"ab_variant":null}"#
        );
    }
}
