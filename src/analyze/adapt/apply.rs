//! Applies a columns map to a scanned export, derives what can be derived honestly, and reads
//! zone-less timestamps in a stated zone: the frame the analyzers read, and what was done to it.

use std::path::Path;

use anyhow::{Result, bail};
use polars::prelude::{
    DataType, Engine, Expr, LazyFrame, NonExistent, Schema, TimeUnit, TimeZone, UniqueKeepStrategy, col, lit, when,
};

use super::map::{ColumnsMap, Constant, Kind, Mapped, Source};
use super::{Adaptation, Note};

/// Distinct values a `contains` column may have: it is meant for hosts and URLs, not ids.
const MAX_CONTAINS_VALUES: usize = 1_000;

/// `scan` (read from `data`) with `map` applied, `total_tokens` derived when it is missing, and
/// zone-less timestamps read in the map's zone (else UTC); and the notes that say so.
pub fn adapt(
    scan: LazyFrame,
    schema: &Schema,
    map: Option<&ColumnsMap>,
    data: &Path,
) -> Result<(LazyFrame, Adaptation)> {
    let mut notes = Adaptation::default();
    let mut frame = scan;
    if let Some(map) = map {
        frame = apply_map(frame, schema, map, data, &mut notes)?;
    }
    let mut schema = frame.collect_schema()?;
    let has = |c: &str| schema.get(c).is_some();
    if !has("total_tokens") && has("input_tokens") && has("output_tokens") {
        frame = frame.with_columns([(col("input_tokens").cast(DataType::Int64)
            + col("output_tokens").cast(DataType::Int64))
        .alias("total_tokens")]);
        notes
            .derived
            .push(Note::new("total_tokens", "input_tokens + output_tokens"));
        schema = frame.collect_schema()?;
    }
    if let Some(DataType::Datetime(_, None)) = schema.get("timestamp") {
        let zone = map.and_then(|m| m.naive_timezone);
        notes.naive_timestamps = Some(zone.map_or_else(|| "UTC".to_string(), |z| z.name().to_string()));
        notes.naive_zone_from_map = zone.is_some();
        if let Some(zone) = zone.filter(|z| *z != chrono_tz::UTC) {
            frame = frame.with_columns([col("timestamp")
                .dt()
                .replace_time_zone(Some(TimeZone::from_chrono(&zone)), lit("earliest"), NonExistent::Raise)
                .alias("timestamp")]);
        }
    }
    Ok((frame, notes))
}

fn apply_map(
    frame: LazyFrame,
    schema: &Schema,
    map: &ColumnsMap,
    data: &Path,
    notes: &mut Adaptation,
) -> Result<LazyFrame> {
    notes.map = Some(map.path.display().to_string());
    notes.map_description = map.description.clone();
    let mut exprs = Vec::new();
    for (target, mapped) in &map.columns {
        let absent: Vec<&str> = mapped
            .source
            .inputs()
            .into_iter()
            .filter(|c| schema.get(c).is_none())
            .collect();
        if let Some(first) = absent.first() {
            if mapped.optional {
                notes
                    .left_out
                    .push(Note::new(target, format!("the data has no `{first}`")));
                continue;
            }
            bail!(
                "{}: `columns.{target}`: column `{first}` is not in {}: its columns are {}",
                map.path.display(),
                data.display(),
                schema.iter_names().map(|n| n.as_str()).collect::<Vec<_>>().join(", ")
            );
        }
        let why = |message: String| anyhow::anyhow!("{}: `columns.{target}`: {message}", map.path.display());
        let expr = build(&frame, schema, mapped, data).map_err(why)?;
        exprs.push(expr.alias(target.as_str()));
        notes.mapped.push(Note::new(target, mapped.source.describe()));
    }
    // The export's other columns pass through, unless a mapped column takes their name.
    exprs.extend(
        schema
            .iter_names()
            .filter(|n| !map.columns.contains_key(n.as_str()))
            .map(|n| col(n.clone())),
    );
    Ok(frame.select(exprs))
}

/// The expression that makes one mapped column; an error says what is wrong with its source.
fn build(frame: &LazyFrame, schema: &Schema, mapped: &Mapped, data: &Path) -> Result<Expr, String> {
    let dtype = |c: &str| schema.get(c).cloned().unwrap_or(DataType::Null);
    let is_time = |d: &DataType| matches!(d, DataType::Datetime(..) | DataType::Date);
    let describe = |c: &str, d: &DataType| format!("column `{c}` of {} is {d}", data.display());
    Ok(match &mapped.source {
        Source::Value(Constant::Text(s)) => lit(s.clone()),
        Source::Value(Constant::Int(i)) => lit(*i),
        Source::Value(Constant::Float(f)) => lit(*f),
        Source::Column { name, scale, epoch } => {
            let d = dtype(name);
            match mapped.target {
                Kind::Timestamp => match (&d, epoch) {
                    (DataType::Datetime(..), None) => col(name.as_str()),
                    (DataType::Date, None) => col(name.as_str()).cast(DataType::Datetime(TimeUnit::Microseconds, None)),
                    (d, Some(e)) if d.is_integer() => (col(name.as_str()).cast(DataType::Int64) * lit(e.micros()))
                        .cast(DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))),
                    (d, None) if d.is_integer() => {
                        return Err(format!(
                            "{}, not a date-time: add `epoch = \"s\"` (or \"ms\", \"us\") to read it as time since 1970",
                            describe(name, d)
                        ));
                    }
                    (d, _) => {
                        return Err(format!(
                            "{}, not a date-time: allowed are ISO 8601 date-times (2024-06-01T12:00:00Z, 2024-06-01 12:00:00.123) or whole numbers with `epoch`",
                            describe(name, d)
                        ));
                    }
                },
                Kind::Integer | Kind::Number => {
                    if !d.is_primitive_numeric() {
                        return Err(format!("{}, not a number: map a numeric column", describe(name, &d)));
                    }
                    let x = col(name.as_str()).cast(DataType::Float64);
                    let scaled = scale.map_or(x.clone(), |s| x * lit(s));
                    if mapped.target == Kind::Number {
                        scaled
                    } else if scale.is_some() || d.is_float() {
                        rounded(scaled)
                    } else {
                        col(name.as_str()).cast(DataType::Int64)
                    }
                }
                Kind::Text => col(name.as_str()).cast(DataType::String),
            }
        }
        Source::FirstOf(names) => {
            let text = |n: &String| col(n.as_str()).cast(DataType::String);
            let mut out = text(names.last().expect("first_of is never empty"));
            for n in names.iter().rev().skip(1) {
                out = when(text(n).is_not_null().and(text(n).neq(lit(""))))
                    .then(text(n))
                    .otherwise(out);
            }
            out
        }
        Source::Between(start, end) => {
            for c in [start, end] {
                if !is_time(&dtype(c)) {
                    return Err(format!("{}, not a date-time", describe(c, &dtype(c))));
                }
            }
            let micros = |c: &String| col(c.as_str()).dt().timestamp(TimeUnit::Microseconds);
            rounded((micros(end) - micros(start)).cast(DataType::Float64) / lit(1000.0))
        }
        Source::Contains {
            name,
            patterns,
            otherwise,
        } => contains(frame, name, patterns, otherwise, data)?,
    })
}

/// A float as the nearest whole number (half away from zero), without the rounding kernels.
fn rounded(x: Expr) -> Expr {
    when(x.clone().lt(lit(0.0)))
        .then(x.clone() - lit(0.5))
        .otherwise(x + lit(0.5))
        .cast(DataType::Int64)
}

/// The output of the first pattern each value contains: matched in Rust over the column's
/// distinct values (few: hosts, URLs), then one equality test per value.
fn contains(
    frame: &LazyFrame,
    name: &str,
    patterns: &[(String, String)],
    otherwise: &str,
    data: &Path,
) -> Result<Expr, String> {
    let distinct = frame
        .clone()
        .select([col(name).cast(DataType::String)])
        .unique(None, UniqueKeepStrategy::Any)
        .collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
        .map_err(|e| format!("cannot read column `{name}` of {}: {e}", data.display()))?;
    let values = distinct
        .column(name)
        .and_then(|c| c.str().cloned())
        .map_err(|e| format!("column `{name}`: {e}"))?;
    if values.len() > MAX_CONTAINS_VALUES {
        return Err(format!(
            "column `{name}` has {} distinct values: `contains` is for columns of at most {MAX_CONTAINS_VALUES} (hosts, URLs), not ids",
            values.len()
        ));
    }
    let mut out = lit(otherwise.to_string());
    for value in values.iter().flatten() {
        if let Some((_, output)) = patterns.iter().find(|(p, _)| value.contains(p.as_str())) {
            out = when(col(name).cast(DataType::String).eq(lit(value.to_string())))
                .then(lit(output.clone()))
                .otherwise(out);
        }
    }
    Ok(out)
}
