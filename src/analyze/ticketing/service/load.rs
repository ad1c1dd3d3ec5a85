//! Load: peak requests per second as the busiest one-second bucket's attempts (every attempt,
//! any answer), not document 004's row count (§11.7), and the load around each flash sale at
//! one-second resolution, by answer.

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Utc};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::super::super::Context;
use super::super::super::frame::ints;
use super::super::labels::{self, Label};
use super::ServiceSettings;
use super::queries::{self, OK, RATE_LIMITED, SECOND_US, bucket, in_ranges, utc};
use crate::config::TicketingConfig;

/// The busiest second.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Peak {
    pub at: DateTime<Utc>,
    pub attempts: u64,
}

/// Attempts per second around a flash sale, by answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FlashSaleLoad {
    pub label: Label,
    /// Seconds per point (1 unless the window is longer than [`MAX_LOAD_POINTS`] seconds).
    pub bucket_s: i64,
    pub points: Vec<LoadPoint>,
    /// The busiest second from the sale's start to its end.
    pub peak: Option<Peak>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LoadPoint {
    /// Seconds since the sale opened (negative in the lead-in).
    pub offset_s: i64,
    pub ok: u64,
    pub rate_limited: u64,
    pub errors: u64,
}

/// Most points of a flash-sale load chart (one per second up to an hour).
pub const MAX_LOAD_POINTS: i64 = 3600;

/// The busiest second of every attempt, and of each of `scenarios`' attempts.
pub fn peaks(
    ctx: &Context<'_, TicketingConfig>,
    scenarios: &[String],
) -> Result<(Option<Peak>, BTreeMap<String, Peak>)> {
    let mut overall = None;
    let mut per_scenario = BTreeMap::new();
    for (key, at, n) in queries::busiest(ctx, scenarios, SECOND_US)? {
        let peak = Peak {
            at: utc(at),
            attempts: n,
        };
        if key.is_empty() {
            overall = Some(peak);
        } else {
            per_scenario.insert(key, peak);
        }
    }
    Ok((overall, per_scenario))
}

/// Attempts per second by answer from `flash_sale_lead_in_s` before each flash sale opens to
/// its end, and its busiest second.
pub fn flash_sale_loads(
    ctx: &Context<'_, TicketingConfig>,
    s: &ServiceSettings,
    labels: &[Label],
) -> Result<Vec<FlashSaleLoad>> {
    let sales: Vec<&Label> = labels::of_kind(labels, "flash_sale").collect();
    if sales.is_empty() {
        return Ok(Vec::new());
    }
    let lead = s.flash_sale_lead_in_s as i64 * SECOND_US;
    let ranges: Vec<(i64, i64)> = sales
        .iter()
        .map(|l| (l.start.timestamp_micros() - lead, l.end.timestamp_micros()))
        .collect();
    let status = || col("api_status");
    let answer = when(status().eq(lit(OK)))
        .then(lit(0i64))
        .when(status().eq(lit(RATE_LIMITED)))
        .then(lit(1i64))
        .otherwise(lit(2i64));
    let df = ctx.collect(
        ctx.rows()
            .filter(in_ranges(&ranges))
            .group_by([bucket(SECOND_US).alias("at"), answer.alias("answer")])
            .agg([len().cast(DataType::Int64).alias("n")]),
    )?;
    // second → [ok, rate-limited, errors]
    let mut per_second: BTreeMap<i64, [u64; 3]> = BTreeMap::new();
    for ((at, answer), n) in ints(&df, "at")?
        .into_iter()
        .zip(ints(&df, "answer")?)
        .zip(ints(&df, "n")?)
    {
        per_second.entry(at).or_default()[answer.clamp(0, 2) as usize] += n as u64;
    }
    Ok(sales
        .iter()
        .zip(&ranges)
        .map(|(label, &(from, to))| {
            let open = label.start.timestamp_micros();
            let first = from.div_euclid(SECOND_US);
            let last = (to - 1).div_euclid(SECOND_US);
            let seconds = (last - first + 1).max(0);
            let bucket_s = (seconds + MAX_LOAD_POINTS - 1) / MAX_LOAD_POINTS;
            let bucket_s = bucket_s.max(1);
            let mut points: BTreeMap<i64, LoadPoint> = BTreeMap::new();
            let mut peak: Option<Peak> = None;
            for sec in first..=last {
                let c = per_second.get(&(sec * SECOND_US)).copied().unwrap_or_default();
                let total = c.iter().sum::<u64>();
                if sec * SECOND_US >= open && total > 0 && peak.as_ref().is_none_or(|p| total > p.attempts) {
                    peak = Some(Peak {
                        at: utc(sec * SECOND_US),
                        attempts: total,
                    });
                }
                let offset = sec - open.div_euclid(SECOND_US);
                let key = offset.div_euclid(bucket_s) * bucket_s;
                let p = points.entry(key).or_insert(LoadPoint {
                    offset_s: key,
                    ok: 0,
                    rate_limited: 0,
                    errors: 0,
                });
                p.ok += c[0];
                p.rate_limited += c[1];
                p.errors += c[2];
            }
            FlashSaleLoad {
                label: (*label).clone(),
                bucket_s,
                points: points.into_values().collect(),
                peak,
            }
        })
        .collect())
}
