//! Retries, estimated. The calls dataset has no retry marker (no attempt number, no parent id),
//! so a retry is inferred: a call with the same customer, feature and model that follows a
//! failed call within the window. Busy customers make such pairs by chance too, so the same
//! follow rate is measured after successful calls, and only the excess counts:
//! `estimated retries = followed failures − failures × follow rate after a success`, kept only
//! when a two-proportion test says the two rates differ. The simulator draws each call's status
//! independently and never retries, so on its data the estimate is about 0.
//!
//! "Follows" means the next call of the same key in time: one pass over the files in order with
//! arrow (the day files are in time order; a pair out of order is counted, not paired), keys
//! interned as integers so the pass allocates only per distinct name.

use foldhash::HashMap;
use std::path::Path;

use anyhow::{Context as _, Result};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit};
use serde::{Deserialize, Serialize};

use crate::analyze::dataset::SourceFile;
use crate::analyze::frame::{SUCCESS, ratio, usd};
use crate::analyze::stats::proportions::two_proportion_test;
use crate::validate::coded::{Coded, Interner, text_column};
use crate::validate::read::read_columns;

const COLUMNS: [&str; 6] = ["timestamp", "customer_id", "feature_id", "model", "status", "cost_usd"];
/// Confidence of the test that the follow rate after a failure exceeds the one after a success.
const CONFIDENCE: f64 = 0.95;

/// The retry estimate.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Retries {
    pub method: String,
    pub window_s: u64,
    /// Why it could not be computed (a column the pass reads is missing), if so.
    pub unavailable: Option<String>,
    pub failures: u64,
    pub successes: u64,
    /// Failures followed by a same-key call within the window.
    pub followed_failures: u64,
    pub followed_successes: u64,
    pub follow_rate_after_failure: f64,
    pub follow_rate_after_success: f64,
    /// Two-sided p-value of the difference of the two rates.
    pub p_value: f64,
    pub excess_is_significant: bool,
    pub estimated_retries: f64,
    /// The estimated retries at the mean cost of the calls that followed a failure.
    pub estimated_retry_cost_usd: f64,
    /// Same-key pairs whose second call is earlier than the first (data not in time order).
    pub out_of_order_pairs: u64,
}

/// The last and first call of a key in one file.
#[derive(Debug, Clone, Copy)]
struct Call {
    us: i64,
    failed: bool,
    cost_micros: i64,
}

#[derive(Debug, Default)]
struct Tally {
    failures: u64,
    successes: u64,
    followed_failures: u64,
    followed_successes: u64,
    /// Cost of the calls that followed a failure.
    follow_cost_micros: i64,
    out_of_order: u64,
}

impl Tally {
    /// Counts `next` as following `prev` (same key).
    fn pair(&mut self, prev: Call, next: Call, window_us: i64) {
        let gap = next.us - prev.us;
        if gap < 0 {
            self.out_of_order += 1;
        } else if gap <= window_us {
            if prev.failed {
                self.followed_failures += 1;
                self.follow_cost_micros += next.cost_micros;
            } else {
                self.followed_successes += 1;
            }
        }
    }
}

/// The pass: the tally, each key's last call, and the names seen, as small integer ids.
#[derive(Default)]
struct Pass {
    tally: Tally,
    last: HashMap<(u64, u64), Call>,
    /// customer, feature and model names → ids.
    names: [Interner; 3],
}

/// Estimates the retries in `files`, taken in order.
pub fn estimate(files: &[SourceFile], window_s: u64) -> Result<Retries> {
    let window_us = window_s as i64 * 1_000_000;
    let method = format!(
        "No retry marker in the data: a call with the same customer, feature and model within {window_s} s after a \
         failure, less the rate at which one follows a success."
    );
    let mut pass = Pass::default();
    if let Err(e) = files.iter().try_for_each(|f| pass.file(&f.path, window_us)) {
        return Ok(Retries {
            method,
            window_s,
            unavailable: Some(format!("{e:#}")),
            ..Retries::default()
        });
    }
    let tally = pass.tally;
    let after_failure = ratio(tally.followed_failures as f64, tally.failures as f64);
    let after_success = ratio(tally.followed_successes as f64, tally.successes as f64);
    let test = two_proportion_test(
        tally.followed_successes,
        tally.successes,
        tally.followed_failures,
        tally.failures,
        CONFIDENCE,
    );
    // No failures (or no successes): nothing to compare, and no NaN in the result.
    let p_value = if test.p_value.is_finite() { test.p_value } else { 1.0 };
    let significant = test.difference > 0.0 && p_value < 1.0 - CONFIDENCE;
    let estimated = if significant {
        (tally.followed_failures as f64 - tally.failures as f64 * after_success).max(0.0)
    } else {
        0.0
    };
    let mean_follow_cost = ratio(usd(tally.follow_cost_micros), tally.followed_failures as f64);
    Ok(Retries {
        method,
        window_s,
        unavailable: None,
        failures: tally.failures,
        successes: tally.successes,
        followed_failures: tally.followed_failures,
        followed_successes: tally.followed_successes,
        follow_rate_after_failure: after_failure,
        follow_rate_after_success: after_success,
        p_value,
        excess_is_significant: significant,
        estimated_retries: estimated,
        estimated_retry_cost_usd: estimated * mean_follow_cost,
        out_of_order_pairs: tally.out_of_order,
    })
}

impl Pass {
    fn file(&mut self, path: &Path, window_us: i64) -> Result<()> {
        for batch in read_columns(path, &COLUMNS, &COLUMNS[1..5])? {
            self.batch(&batch?, window_us)
                .with_context(|| format!("{}: cannot pair the calls", path.display()))?;
        }
        Ok(())
    }

    fn batch(&mut self, batch: &RecordBatch, window_us: i64) -> Result<()> {
        let column = |name: &str, to: &DataType| -> Result<_> {
            let c = batch
                .column_by_name(name)
                .with_context(|| format!("no column `{name}`"))?;
            cast(c, to).with_context(|| format!("column `{name}` is {}, not {to}", c.data_type()))
        };
        let ts = cast(
            &column("timestamp", &DataType::Timestamp(TimeUnit::Microsecond, None))?,
            &DataType::Int64,
        )?;
        let ts = ts.as_primitive::<Int64Type>();
        let cost = column("cost_usd", &DataType::Float64)?;
        let cost = cost.as_primitive::<Float64Type>();
        // Text as it is (a Parquet dictionary, or plain text), else cast (a CSV column typed
        // as a number).
        let arrays = [
            text_column(batch, "customer_id")?,
            text_column(batch, "feature_id")?,
            text_column(batch, "model")?,
            text_column(batch, "status")?,
        ];
        // Each row's customer, feature and model id (a null reads as ""), looked up once per
        // distinct value of the batch.
        let [customers, features, models] = &mut self.names;
        let row_ids = |names: &mut Interner, k: usize| names.row_ids(arrays[k].as_ref()).context("a text column");
        let (customers, features, models) = (row_ids(customers, 0)?, row_ids(features, 1)?, row_ids(models, 2)?);
        let keys = customers
            .iter()
            .zip(&features)
            .zip(&models)
            .map(|((&c, &f), &m)| (u64::from(c), (u64::from(f) << 32) | u64::from(m)));
        let status = Coded::of(arrays[3].as_ref()).context("a text column")?;
        let failed_code: Vec<bool> = status.values.iter().map(|v| v.unwrap_or("") != SUCCESS).collect();
        for (i, key) in keys.enumerate() {
            let failed = status.codes[i].is_none_or(|code| failed_code[code as usize]);
            if failed {
                self.tally.failures += 1;
            } else {
                self.tally.successes += 1;
            }
            let call = Call {
                us: if ts.is_valid(i) { ts.value(i) } else { 0 },
                failed,
                cost_micros: if cost.is_valid(i) {
                    (cost.value(i) * 1e6).round() as i64
                } else {
                    0
                },
            };
            if let Some(prev) = self.last.insert(key, call) {
                self.tally.pair(prev, call, window_us);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_count_within_the_window_and_by_the_first_call_status() {
        let mut t = Tally::default();
        let call = |s: i64, failed| Call {
            us: s * 1_000_000,
            failed,
            cost_micros: 7,
        };
        t.pair(call(0, true), call(30, false), 60_000_000);
        t.pair(call(0, true), call(61, false), 60_000_000);
        t.pair(call(0, false), call(60, false), 60_000_000);
        t.pair(call(10, false), call(5, false), 60_000_000);
        assert_eq!(
            (
                t.followed_failures,
                t.followed_successes,
                t.out_of_order,
                t.follow_cost_micros
            ),
            (1, 1, 1, 7)
        );
    }
}
