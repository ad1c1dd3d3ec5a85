//! Each scenario's signature: the one daily figure that shows what it does, chosen from its
//! labels, with its cohort-level events to shade.

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use chrono::{DateTime, NaiveDate};
use polars::prelude::*;

use super::labels::Label;
use super::{EventSpan, Signature};
use crate::analyze::Context;
use crate::analyze::decisions::burst::HOUR_US;
use crate::analyze::frame::{cost_micros, dates, ints, ratio, strings, usd};

/// Each customer's scenario.
pub(crate) fn customer_scenarios(ctx: &Context<'_>) -> Result<BTreeMap<String, String>> {
    let df = ctx.collect(
        ctx.calls()
            .group_by([col("customer_id")])
            .agg([col("scenario").min().alias("scenario")]),
    )?;
    Ok(strings(&df, "customer_id")?
        .into_iter()
        .zip(strings(&df, "scenario")?)
        .collect())
}

/// The UTC day index of a label time.
fn day_of(window_first: NaiveDate, us: i64) -> i64 {
    let date = DateTime::from_timestamp_micros(us).map_or(window_first, |t| t.date_naive());
    (date - window_first).num_days()
}

pub(super) fn signatures(
    ctx: &Context<'_>,
    labels: &[Label],
    customers: &BTreeMap<String, String>,
) -> Result<Vec<Signature>> {
    let first = ctx.window.first_day;
    let days = ctx.window.days as usize;
    let epoch_day = (first - NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid")).num_days() as f64;
    // Calls, cost, per scenario and UTC hour of the window; everything else is summed from it.
    let hourly = ctx.collect(
        ctx.calls()
            .group_by([
                col("scenario"),
                (col("timestamp").cast(DataType::Int64) / lit(HOUR_US)).alias("hour"),
            ])
            .agg([
                len().cast(DataType::Int64).alias("calls"),
                cost_micros().sum().alias("cost_micros"),
            ]),
    )?;
    let first_hour = first.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp() / 3600;
    let mut per: BTreeMap<String, (Vec<u64>, Vec<i64>)> = BTreeMap::new();
    for (((sc, h), n), c) in strings(&hourly, "scenario")?
        .into_iter()
        .zip(ints(&hourly, "hour")?)
        .zip(ints(&hourly, "calls")?)
        .zip(ints(&hourly, "cost_micros")?)
    {
        let e = per
            .entry(sc)
            .or_insert_with(|| (vec![0; days * 24], vec![0; days * 24]));
        let i = h - first_hour;
        if (0..(days * 24) as i64).contains(&i) {
            e.0[i as usize] += n as u64;
            e.1[i as usize] += c;
        }
    }
    let mut customer_counts: HashMap<&str, u64> = HashMap::new();
    for sc in customers.values() {
        *customer_counts.entry(sc.as_str()).or_default() += 1;
    }
    let mut out = Vec::new();
    for (scenario, (calls, cost)) in &per {
        let mine: Vec<&Label> = labels.iter().filter(|l| &l.scenario == scenario).collect();
        let has = |kind: &str| mine.iter().find(|l| l.kind == kind).copied();
        let daily_calls: Vec<f64> = calls.chunks(24).map(|d| d.iter().sum::<u64>() as f64).collect();
        let date_points = |v: Vec<f64>| -> Vec<(f64, f64)> {
            v.into_iter()
                .enumerate()
                .map(|(i, y)| (epoch_day + i as f64, y))
                .collect()
        };
        let (metric, unit, x, points) = if let Some(m) = has("migration") {
            let (source, target) = m.subject.split_once(" -> ").unwrap_or((&m.subject, ""));
            let share = model_share(ctx, scenario, source, target)?;
            (
                format!("{target} share of {source} + {target} calls"),
                "percent",
                "date",
                date_points(share),
            )
        } else if has("optimization").is_some() {
            let per_call: Vec<f64> = calls
                .chunks(24)
                .zip(cost.chunks(24))
                .map(|(n, c)| ratio(usd(c.iter().sum()), n.iter().sum::<u64>() as f64))
                .collect();
            ("cost per call".to_string(), "usd", "date", date_points(per_call))
        } else if let Some(f) = has("feature_launch") {
            let v = feature_calls(ctx, scenario, &f.subject)?;
            (format!("{} calls per day", f.subject), "count", "date", date_points(v))
        } else if has("burst").is_some() {
            let busiest: Vec<f64> = calls.chunks(24).map(|d| *d.iter().max().unwrap_or(&0) as f64).collect();
            (
                "calls in the busiest UTC hour of each day".to_string(),
                "count",
                "date",
                date_points(busiest),
            )
        } else if has("timezone").is_some() {
            let mut by_hour = vec![0.0; 24];
            for (i, n) in calls.iter().enumerate() {
                by_hour[i % 24] += *n as f64;
            }
            let points = by_hour.into_iter().enumerate().map(|(h, y)| (h as f64, y)).collect();
            ("calls by UTC hour of day".to_string(), "count", "utc_hour", points)
        } else {
            ("calls per day".to_string(), "count", "date", date_points(daily_calls))
        };
        let events = if x == "date" {
            mine.iter()
                .filter(|l| matches!(l.subject_type.as_str(), "cohort" | "model" | "feature"))
                .filter(|l| !matches!(l.kind.as_str(), "seasonal_cycle" | "decline" | "growth"))
                // Labels cover the plan's window; the data may cover only its first days (a
                // day-by-day run in progress): an event after the data's last day is not drawn.
                .filter_map(|l| {
                    let a = day_of(first, l.start_us).max(0);
                    let b = day_of(first, l.end_us - 1).max(a).min(days as i64 - 1);
                    (a <= b).then(|| EventSpan {
                        kind: l.kind.clone(),
                        subject: l.subject.clone(),
                        first_day: epoch_day as i64 + a,
                        last_day: epoch_day as i64 + b,
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        out.push(Signature {
            scenario: scenario.clone(),
            customers: customer_counts.get(scenario.as_str()).copied().unwrap_or(0),
            calls: calls.iter().sum(),
            cost_usd: usd(cost.iter().sum()),
            metric,
            unit: unit.to_string(),
            x: x.to_string(),
            points,
            events,
        });
    }
    Ok(out)
}

/// Per day of the window: the target's share of the calls to the two models (percent).
fn model_share(ctx: &Context<'_>, scenario: &str, source: &str, target: &str) -> Result<Vec<f64>> {
    let df = ctx.collect(
        ctx.calls()
            .filter(
                col("scenario")
                    .eq(lit(scenario))
                    .and(col("model").eq(lit(source)).or(col("model").eq(lit(target)))),
            )
            .group_by([col("timestamp").dt().date().alias("date"), col("model")])
            .agg([len().cast(DataType::Int64).alias("calls")]),
    )?;
    let mut by_day: BTreeMap<NaiveDate, (f64, f64)> = BTreeMap::new();
    for ((d, m), n) in dates(&df, "date")?
        .into_iter()
        .zip(strings(&df, "model")?)
        .zip(ints(&df, "calls")?)
    {
        let e = by_day.entry(d).or_default();
        e.1 += n as f64;
        if m == target {
            e.0 += n as f64;
        }
    }
    Ok(ctx
        .window
        .each_day()
        .map(|d| by_day.get(&d).map_or(f64::NAN, |(t, all)| 100.0 * ratio(*t, *all)))
        .collect())
}

/// Per day of the window: calls of `feature` in `scenario`.
fn feature_calls(ctx: &Context<'_>, scenario: &str, feature: &str) -> Result<Vec<f64>> {
    let df = ctx.collect(
        ctx.calls()
            .filter(
                col("scenario")
                    .eq(lit(scenario))
                    .and(col("feature_id").eq(lit(feature))),
            )
            .group_by([col("timestamp").dt().date().alias("date")])
            .agg([len().cast(DataType::Int64).alias("calls")]),
    )?;
    let by_day: BTreeMap<NaiveDate, i64> = dates(&df, "date")?.into_iter().zip(ints(&df, "calls")?).collect();
    Ok(ctx
        .window
        .each_day()
        .map(|d| by_day.get(&d).copied().unwrap_or(0) as f64)
        .collect())
}
