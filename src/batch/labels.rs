//! The `labels` dataset: one row per event a scenario injected, the ground truth that detectors
//! are scored against.

use std::sync::{Arc, LazyLock};

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::columns::TIMESTAMP_TZ;
use crate::sim::label::Label;

/// Columns of `labels`, in order.
pub static LABELS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some(TIMESTAMP_TZ.into()));
    let text = |name: &str| Field::new(name, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        text("scenario"),
        text("cohort"),
        text("kind"),
        text("subject_type"),
        text("subject"),
        Field::new("start", ts.clone(), false),
        Field::new("end", ts, false),
        Field::new("magnitude", DataType::Float64, false),
        text("detail"),
    ]))
});

/// The labels as one record batch, in the order given.
pub fn labels_batch(labels: &[Label]) -> RecordBatch {
    let text = |f: fn(&Label) -> &str| -> ArrayRef { Arc::new(StringArray::from_iter_values(labels.iter().map(f))) };
    let time = |f: fn(&Label) -> i64| -> ArrayRef {
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(labels.iter().map(|l| f(l) * 1000)).with_timezone(TIMESTAMP_TZ),
        )
    };
    let columns = vec![
        text(|l| &l.scenario),
        text(|l| &l.cohort),
        text(|l| &l.kind),
        text(|l| l.subject_type),
        text(|l| &l.subject),
        time(|l| l.start_ms),
        time(|l| l.end_ms),
        Arc::new(Float64Array::from_iter_values(labels.iter().map(|l| l.magnitude))) as ArrayRef,
        text(|l| &l.detail),
    ];
    RecordBatch::try_new(LABELS_SCHEMA.clone(), columns).expect("columns match the schema by construction")
}
