//! The queries behind each signature: every one filters the rows to the labelled windows (with
//! their margins) of the label's own scenario and groups them into small frames.

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Utc};
use polars::prelude::*;

use super::super::super::Context;
use super::super::super::frame::{dates, floats, ints, strings};
use super::super::labels::Label;
use super::super::service::queries::{
    HOUR_US, MINUTE_US, SECOND_US, bucket, grouped, in_ranges, micros, range_index, tallies, utc,
};
use super::{
    AttackSignature, BlackFridaySignature, DegradationSignature, EverydayDay, EverydaySignature, FlashSaleSignature,
    ScenariosSettings, TierSellOut, WindowMean,
};
use crate::config::TicketingConfig;

type Ctx<'a, 'b> = &'a Context<'b, TicketingConfig>;

fn span(l: &Label, before_us: i64, after_us: i64) -> (i64, i64) {
    (
        l.start.timestamp_micros() - before_us,
        l.end.timestamp_micros() + after_us,
    )
}

fn any_of(column: &str, values: &[&str]) -> Expr {
    values
        .iter()
        .fold(lit(false), |acc, v| acc.or(col(column).eq(lit(v.to_string()))))
}

fn scenarios_of<'a>(labels: &[&'a Label]) -> Vec<&'a str> {
    let mut out: Vec<&str> = labels.iter().map(|l| l.scenario.as_str()).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Attempts per (scenario, `key` value or "", bucket start µs) of the rows in `ranges`.
fn counts(
    ctx: Ctx<'_, '_>,
    rows: LazyFrame,
    ranges: &[(i64, i64)],
    key: Option<&str>,
    width_us: i64,
) -> Result<BTreeMap<(String, String, i64), u64>> {
    let key_expr = key.map_or_else(|| lit(""), |k| col(k).fill_null(lit("")));
    let df = ctx.collect(
        rows.filter(in_ranges(ranges))
            .group_by([col("scenario"), key_expr.alias("key"), bucket(width_us).alias("at")])
            .agg([len().cast(DataType::Int64).alias("n")]),
    )?;
    Ok(strings(&df, "scenario")?
        .into_iter()
        .zip(strings(&df, "key")?)
        .zip(ints(&df, "at")?)
        .zip(ints(&df, "n")?)
        .map(|(((sc, k), at), n)| ((sc, k, at), n as u64))
        .collect())
}

pub fn flash_sales(ctx: Ctx<'_, '_>, s: &ScenariosSettings, labels: &[&Label]) -> Result<Vec<FlashSaleSignature>> {
    if labels.is_empty() {
        return Ok(Vec::new());
    }
    let margin = s.flash_sale_margin_s as i64 * SECOND_US;
    let ranges: Vec<(i64, i64)> = labels.iter().map(|l| span(l, margin, margin)).collect();
    let rows = ctx.rows().filter(any_of("scenario", &scenarios_of(labels)));
    let per_second = counts(ctx, rows, &ranges, None, SECOND_US)?;
    let events: Vec<&str> = labels.iter().map(|l| l.subject.as_str()).collect();
    let tiers = ["vip", "premium", "standard"];
    let ev = ctx.collect(
        ctx.table(crate::sink::layout::EVENTS)?
            .filter(any_of("event_id", &events))
            .select(
                std::iter::once(col("event_id"))
                    .chain(tiers.iter().map(|t| {
                        let c = format!("{t}_sold_out_at");
                        col(c.as_str()).cast(DataType::Int64).alias(c.as_str())
                    }))
                    .collect::<Vec<_>>(),
            ),
    )?;
    let mut sold_out_at: BTreeMap<(String, &str), Option<i64>> = BTreeMap::new();
    let ev_ids = strings(&ev, "event_id")?;
    for t in tiers {
        let c = ev.column(&format!("{t}_sold_out_at"))?.i64()?.clone();
        for (id, v) in ev_ids.iter().zip(c.iter()) {
            sold_out_at.insert((id.clone(), t), v);
        }
    }
    let answers = ctx.collect(
        ctx.rows()
            .filter(any_of("event_id", &events).and(col("payment_status").eq(lit("sold_out"))))
            .group_by([col("event_id"), col("tier")])
            .agg([micros().min().alias("first")]),
    )?;
    let first_answer: BTreeMap<(String, String), i64> = strings(&answers, "event_id")?
        .into_iter()
        .zip(strings(&answers, "tier")?)
        .zip(ints(&answers, "first")?)
        .map(|((e, t), f)| ((e, t.to_lowercase()), f))
        .collect();
    Ok(labels
        .iter()
        .zip(&ranges)
        .map(|(l, &(from, to))| {
            let open = l.start.timestamp_micros();
            let (first, last) = (from.div_euclid(SECOND_US), (to - 1).div_euclid(SECOND_US));
            let mut peak: Option<(DateTime<Utc>, u64)> = None;
            let per_second = (first..=last)
                .map(|sec| {
                    let at = sec * SECOND_US;
                    let n = per_second
                        .get(&(l.scenario.clone(), String::new(), at))
                        .copied()
                        .unwrap_or(0);
                    if l.contains_us(at) && n > 0 && peak.is_none_or(|p| n > p.1) {
                        peak = Some((utc(at), n));
                    }
                    (sec - open.div_euclid(SECOND_US), n)
                })
                .collect();
            FlashSaleSignature {
                label: (*l).clone(),
                per_second,
                peak,
                tiers: tiers
                    .iter()
                    .map(|t| TierSellOut {
                        tier: t.to_string(),
                        sold_out_at: sold_out_at.get(&(l.subject.clone(), *t)).copied().flatten().map(utc),
                        first_sold_out_answer: first_answer.get(&(l.subject.clone(), t.to_string())).map(|&f| utc(f)),
                    })
                    .collect(),
            }
        })
        .collect())
}

pub fn attacks(ctx: Ctx<'_, '_>, s: &ScenariosSettings, labels: &[&Label]) -> Result<Vec<AttackSignature>> {
    if labels.is_empty() {
        return Ok(Vec::new());
    }
    let margin = s.attack_margin_minutes as i64 * MINUTE_US;
    let ranges: Vec<(i64, i64)> = labels.iter().map(|l| span(l, margin, margin)).collect();
    let rows = ctx.rows().filter(any_of("scenario", &scenarios_of(labels)));
    let per_second = counts(ctx, rows, &ranges, Some("fraud_pattern"), SECOND_US)?;
    Ok(labels
        .iter()
        .zip(&ranges)
        .map(|(l, &(from, to))| {
            let start = l.start.timestamp_micros();
            let mut per_minute: BTreeMap<i64, u64> = BTreeMap::new();
            // Every minute of the range, so quiet minutes draw as zero.
            let mut m = (from - start).div_euclid(MINUTE_US);
            while start + m * MINUTE_US < to {
                per_minute.insert(m, 0);
                m += 1;
            }
            let mut in_window = 0;
            for ((_, _, at), n) in per_second
                .range((l.scenario.clone(), l.subject.clone(), from)..(l.scenario.clone(), l.subject.clone(), to))
            {
                *per_minute.entry((at - start).div_euclid(MINUTE_US)).or_default() += n;
                if l.contains_us(*at) {
                    in_window += n;
                }
            }
            AttackSignature {
                label: (*l).clone(),
                per_minute: per_minute.into_iter().collect(),
                in_window,
            }
        })
        .collect())
}

/// Total amount in cents (amounts are positive: +0.5 then truncation rounds), summed exactly.
fn cents() -> Expr {
    (col("total_amount") * lit(100.0) + lit(0.5)).cast(DataType::Int64)
}

/// The drift and A/B signatures of each scenario with such labels, and each A/B label's
/// measured conversion uplift.
#[allow(clippy::type_complexity)]
pub fn everyday(ctx: Ctx<'_, '_>, labels: &[&Label]) -> Result<(Vec<EverydaySignature>, Vec<(Label, Option<f64>)>)> {
    let mut signatures = Vec::new();
    let mut uplifts = Vec::new();
    for sc in scenarios_of(labels) {
        let own: Vec<Label> = labels
            .iter()
            .filter(|l| l.scenario == sc)
            .map(|l| (*l).clone())
            .collect();
        let rows = ctx.rows().filter(col("scenario").eq(lit(sc)));
        let df = ctx.collect(
            rows.clone()
                .group_by([col("timestamp").dt().date().alias("date"), col("persona")])
                .agg([len().cast(DataType::Int64).alias("n"), cents().sum().alias("cents")]),
        )?;
        let mut days: BTreeMap<chrono::NaiveDate, (u64, i64, BTreeMap<String, u64>)> = BTreeMap::new();
        for (((d, p), n), c) in dates(&df, "date")?
            .into_iter()
            .zip(strings(&df, "persona")?)
            .zip(ints(&df, "n")?)
            .zip(ints(&df, "cents")?)
        {
            let e = days.entry(d).or_default();
            e.0 += n as u64;
            e.1 += c;
            *e.2.entry(p).or_default() += n as u64;
        }
        let drift: Vec<(i64, i64)> = own
            .iter()
            .filter(|l| l.kind == "drift")
            .map(|l| span(l, 0, 0))
            .collect();
        let mut drift_windows = Vec::new();
        if !drift.is_empty() {
            let w = ctx.collect(
                rows.clone()
                    .group_by([range_index(&drift).alias("w"), col("persona")])
                    .agg([
                        len().cast(DataType::Int64).alias("n"),
                        cents().sum().alias("cents"),
                        col("num_tickets").sum().cast(DataType::Int64).alias("tickets"),
                    ]),
            )?;
            let mut by: BTreeMap<i64, WindowMean> = BTreeMap::new();
            for (((i, p), n), (c, t)) in ints(&w, "w")?
                .into_iter()
                .zip(strings(&w, "persona")?)
                .zip(ints(&w, "n")?)
                .zip(ints(&w, "cents")?.into_iter().zip(ints(&w, "tickets")?))
            {
                let e = by.entry(i).or_default();
                e.attempts += n as u64;
                e.cents += c;
                e.tickets += t;
                *e.personas.entry(p).or_default() += n as u64;
            }
            drift_windows = (0..drift.len() as i64)
                .map(|i| by.remove(&i).unwrap_or_default())
                .collect();
        }
        for l in own.iter().filter(|l| l.kind == "ab_test") {
            uplifts.push((l.clone(), conversion_uplift(ctx, rows.clone(), l)?));
        }
        signatures.push(EverydaySignature {
            scenario: sc.to_string(),
            days: days
                .into_iter()
                .map(|(date, (n, c, personas))| EverydayDay {
                    date,
                    attempts: n,
                    mean_amount: c as f64 / 100.0 / n.max(1) as f64,
                    personas,
                })
                .collect(),
            labels: own,
            drift_windows,
        });
    }
    Ok((signatures, uplifts))
}

/// Treatment's conversion ÷ control's − 1 in the test window, with the label's definition:
/// not abandoned, among legitimate attempts (not fraud) not sold out and not rate-limited.
fn conversion_uplift(ctx: Ctx<'_, '_>, rows: LazyFrame, l: &Label) -> Result<Option<f64>> {
    let (a, b) = span(l, 0, 0);
    let df = ctx.collect(
        rows.filter(
            micros()
                .gt_eq(lit(a))
                .and(micros().lt(lit(b)))
                .and(col("ab_variant").is_not_null())
                .and(col("is_fraud").not())
                .and(col("payment_status").neq(lit("sold_out")))
                .and(col("api_status").neq(lit(429i64))),
        )
        .group_by([col("ab_variant")])
        .agg([
            len().cast(DataType::Int64).alias("n"),
            col("payment_status")
                .neq(lit("abandoned"))
                .sum()
                .cast(DataType::Int64)
                .alias("converted"),
        ]),
    )?;
    let rate: BTreeMap<String, f64> = strings(&df, "ab_variant")?
        .into_iter()
        .zip(ints(&df, "n")?.into_iter().zip(ints(&df, "converted")?))
        .filter(|(_, (n, _))| *n > 0)
        .map(|(v, (n, c))| (v, c as f64 / n as f64))
        .collect();
    Ok(match (rate.get("control"), rate.get("treatment")) {
        (Some(&c), Some(&t)) if c > 0.0 => Some(t / c - 1.0),
        _ => None,
    })
}

pub fn degradations(ctx: Ctx<'_, '_>, s: &ScenariosSettings, labels: &[&Label]) -> Result<Vec<DegradationSignature>> {
    let mut out = Vec::new();
    let margin = s.degradation_margin_minutes as i64 * MINUTE_US;
    for sc in scenarios_of(labels) {
        let own: Vec<&Label> = labels.iter().copied().filter(|l| l.scenario == sc).collect();
        let windows: Vec<(i64, i64)> = own.iter().map(|l| span(l, 0, 0)).collect();
        let zooms: Vec<(i64, i64)> = own.iter().map(|l| span(l, margin, margin)).collect();
        let rows = ctx.rows().filter(col("scenario").eq(lit(sc)));
        let minutes = grouped(ctx, rows.clone().filter(in_ranges(&zooms)), "at", bucket(MINUTE_US))?;
        let minute_p99: Vec<(i64, f64)> = ints(&minutes, "at")?
            .into_iter()
            .zip(floats(&minutes, "p99")?)
            .filter(|(_, p)| p.is_finite())
            .collect();
        let by_window = grouped(ctx, rows, "w", range_index(&windows))?;
        let p50: BTreeMap<i64, Option<f64>> = ints(&by_window, "w")?
            .into_iter()
            .zip(tallies(&by_window)?.into_iter().map(|t| t.p50_ms))
            .collect();
        for (i, (l, zoom)) in own.iter().zip(&zooms).enumerate() {
            let start = l.start.timestamp_micros();
            let mut per_minute_p99: Vec<(i64, f64)> = minute_p99
                .iter()
                .filter(|(at, _)| (zoom.0..zoom.1).contains(at))
                .map(|&(at, p)| ((at - start).div_euclid(MINUTE_US), p))
                .collect();
            per_minute_p99.sort_by_key(|p| p.0);
            out.push(DegradationSignature {
                label: (*l).clone(),
                per_minute_p99,
                p50_inside: p50.get(&(i as i64)).copied().flatten(),
                p50_outside: p50.get(&-1).copied().flatten(),
            });
        }
    }
    Ok(out)
}

pub fn black_fridays(
    ctx: Ctx<'_, '_>,
    s: &ScenariosSettings,
    labels: &[&Label],
    first_us: i64,
) -> Result<Vec<BlackFridaySignature>> {
    if labels.is_empty() {
        return Ok(Vec::new());
    }
    let lag = s.black_friday_lag_days as i64 * 24 * HOUR_US;
    let mut ranges: Vec<(i64, i64)> = labels.iter().map(|l| span(l, 0, 0)).collect();
    ranges.extend(labels.iter().map(|l| span(l, lag, -lag)));
    let rows = ctx.rows().filter(any_of("scenario", &scenarios_of(labels)));
    let per_minute = counts(ctx, rows, &ranges, None, MINUTE_US)?;
    Ok(labels
        .iter()
        .map(|l| {
            let (a, b) = span(l, 0, 0);
            let hours = (b - a + HOUR_US - 1) / HOUR_US;
            let mut per_hour: Vec<(i64, u64, u64)> = (0..hours).map(|h| (h, 0, 0)).collect();
            let key = |at| (l.scenario.clone(), String::new(), at);
            for ((_, _, at), n) in per_minute.range(key(a)..key(b)) {
                per_hour[((at - a) / HOUR_US) as usize].1 += n;
            }
            for ((_, _, at), n) in per_minute.range(key(a - lag)..key(b - lag)) {
                per_hour[((at - a + lag) / HOUR_US) as usize].2 += n;
            }
            BlackFridaySignature {
                label: (*l).clone(),
                lag_days: s.black_friday_lag_days,
                per_hour,
                before_in_data: a - lag >= first_us,
            }
        })
        .collect())
}
