//! The hourly burst detector: per customer, each hour's calls against a robust baseline for that
//! customer and local hour of the week.
//!
//! - Baseline: the customer's calls at the same local hour on the other days of the same kind
//!   (working days share one baseline per hour, weekend days another), their largest tenth left
//!   out (bursts only add calls), averaged. The hour is local when the data has a `timezone`
//!   column (business hours are local), UTC otherwise.
//! - Counts are put on one scale first: Anscombe's transform 2·√(x + 3/8) makes a Poisson count's
//!   standard deviation about 1 whatever its mean, so a quiet night hour and a busy noon hour are
//!   judged alike. The spread is 1.4826 × the median absolute transformed residual of the
//!   customer's windows of that length, never below 1 (a count is never less noisy than Poisson).
//! - A window of 1 to `burst_max_hours` consecutive hours is a burst when its modified z
//!   (transformed excess ÷ spread) exceeds `burst_z` (3.5, Iglewicz and Hoaglin's cut-off for
//!   outliers) and it holds at least `burst_min_excess_calls` calls above the baseline. Windows
//!   longer than one hour find the bursts whose excess is spread over a few hours; of a flagged
//!   window, the hours at least one spread above their own baseline are the burst, and
//!   overlapping flags join into one burst.
//! - A window's baseline is scaled up to the customer's level that day (its calls over the
//!   baseline in the 24 hours around the window, away from it by the longest burst): a day that
//!   is busier as a whole (growth, a viral day, a day-wide swing of a heavy customer) is the daily
//!   detector's, not an hour-scale burst.

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use chrono::{Datelike, Timelike};
use serde::{Deserialize, Serialize};

use super::{DecisionSettings, median};
use crate::analyze::Context;
use crate::analyze::frame::desc;

pub use super::hours::HOUR_US;

/// One detected burst: consecutive hours of a customer above its baseline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Burst {
    pub customer_id: String,
    /// First hour (UTC), `YYYY-MM-DDTHH:00`.
    pub start: String,
    /// Hours since the Unix epoch of the first hour and after the last (exclusive).
    pub start_hour: i64,
    pub end_hour: i64,
    pub calls: u64,
    /// Calls the baseline expects over the same hours.
    pub expected_calls: f64,
    pub cost_usd: f64,
    /// Cost above the baseline: the excess calls at the customer's average cost per call.
    pub excess_cost_usd: f64,
    /// The largest modified z of the windows that flagged it.
    pub z: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BurstSet {
    pub method: String,
    pub customers: u64,
    /// Customer-hours tested (each customer from its first to the window's last hour).
    pub hours_tested: u64,
    /// Every burst, largest excess cost first.
    pub bursts: Vec<Burst>,
}

/// A customer's calls and baseline for every hour of the window (index 0 = the window's first hour).
pub struct KeptHours {
    pub calls: Vec<f64>,
    pub expected: Vec<f64>,
}

/// Runs the detector on every customer of the window.
pub fn detect_bursts(ctx: &Context<'_>, s: &DecisionSettings) -> Result<BurstSet> {
    Ok(detect_bursts_keeping(ctx, s, &HashSet::new())?.0)
}

/// The detector, also returning the hourly calls and baseline of the customers in `keep`, for
/// scoring against labels.
pub fn detect_bursts_keeping(
    ctx: &Context<'_>,
    s: &DecisionSettings,
    keep: &HashSet<String>,
) -> Result<(BurstSet, HashMap<String, KeptHours>)> {
    let hourly = super::hours::customer_hours(ctx)?;
    let (first_hour, hours) = (hourly.first_hour, hourly.hours);
    // The baseline slot of every hour of the window, per time zone.
    let mut week_hours: HashMap<Option<String>, Vec<usize>> = HashMap::new();
    let mut out = Vec::new();
    let mut tested = 0u64;
    let mut kept = HashMap::new();
    for (id, hourly) in &hourly.customers {
        let how = week_hours
            .entry(hourly.timezone.clone())
            .or_insert_with(|| hour_slot(first_hour, hours, hourly.timezone.as_deref()));
        let (calls, cost) = (hourly.calls_f64(), hourly.cost_usd());
        let first = calls.iter().position(|&c| c > 0.0).unwrap_or(hours);
        tested += (hours - first) as u64;
        let cost_per_call = cost.iter().sum::<f64>() / calls.iter().sum::<f64>().max(1.0);
        if keep.contains(id) {
            let mut e = vec![0.0; hours];
            e[first..].copy_from_slice(&baseline(&calls[first..], &how[first..]));
            kept.insert(
                id.to_string(),
                KeptHours {
                    calls: calls.clone(),
                    expected: e,
                },
            );
        }
        for (a, b, expected, z) in detect(&calls[first..], &how[first..], s) {
            let (a, b) = (a + first, b + first);
            let n: f64 = calls[a..b].iter().sum();
            let start = crate::analyze::frame::hour_start(first_hour + a as i64);
            out.push(Burst {
                customer_id: id.to_string(),
                start: start.format("%Y-%m-%dT%H:00").to_string(),
                start_hour: first_hour + a as i64,
                end_hour: first_hour + b as i64,
                calls: n as u64,
                expected_calls: expected,
                cost_usd: cost[a..b].iter().sum(),
                excess_cost_usd: (n - expected).max(0.0) * cost_per_call,
                z,
            });
        }
    }
    out.sort_by(|a, b| {
        desc(a.excess_cost_usd, b.excess_cost_usd)
            .then_with(|| a.customer_id.cmp(&b.customer_id))
            .then(a.start_hour.cmp(&b.start_hour))
    });
    let set = BurstSet {
        method: format!(
            "Per customer and local hour of the week: calls against the same hour's trimmed mean on the customer's \
             other days of the same kind (working days, weekend days), on Anscombe's scale 2·√(x + 3/8); a window of 1 to {} hours is a burst when its modified z exceeds {} \
             and it holds at least {} calls above the baseline",
            s.burst_max_hours, s.burst_z, s.burst_min_excess_calls
        ),
        customers: hourly.customers.len() as u64,
        hours_tested: tested,
        bursts: out,
    };
    Ok((set, kept))
}

/// Baseline slots: the local hour of the day on working days (0–23) and on weekend days (24–47).
const SLOTS: usize = 48;

/// The baseline slot of each hour of the window: its local hour, on a working day or a weekend
/// day, local to `tz` (UTC when it is absent or not a known zone). Working days share their
/// hours' baselines (the traffic has one shape per working day, and four weeks give each hour
/// of the week only four samples); weekends have their own.
fn hour_slot(first_hour: i64, hours: usize, tz: Option<&str>) -> Vec<usize> {
    let tz: Option<chrono_tz::Tz> = tz.and_then(|t| t.parse().ok());
    (0..hours)
        .map(|h| {
            let utc = crate::analyze::frame::hour_start(first_hour + h as i64);
            let (wd, hr) = match tz {
                Some(tz) => {
                    let l = utc.with_timezone(&tz);
                    (l.weekday().num_days_from_monday(), l.hour())
                }
                None => (utc.weekday().num_days_from_monday(), utc.hour()),
            };
            usize::from(wd >= 5) * 24 + hr as usize
        })
        .collect()
}

fn anscombe(x: f64) -> f64 {
    2.0 * (x + 0.375).sqrt()
}

/// The detector on one customer's hourly calls (`slot`: each hour's baseline slot, see
/// [`hour_slot`]). Returns the bursts as (first hour, end hour exclusive, expected calls, largest z).
pub fn detect(calls: &[f64], slot: &[usize], s: &DecisionSettings) -> Vec<(usize, usize, f64, f64)> {
    let n = calls.len();
    let expected = baseline(calls, slot);
    let excess_z = |x: f64, e: f64, spread: f64| (anscombe(x) - anscombe(e)) / spread;
    let mut flagged = vec![false; n];
    let mut best_z = vec![0.0f64; n];
    let mut hour_spread = 1.0;
    let longest = s.burst_max_hours as usize;
    let (pc, pe) = (prefix(calls), prefix(&expected));
    let sum = |p: &[f64], a: usize, b: usize| p[b] - p[a];
    for w in 1..=longest.min(n) {
        let sums: Vec<(f64, f64)> = (0..=n - w)
            .map(|a| {
                // The customer's level that day: its calls over the baseline in the 24 hours
                // around the window, leaving out `longest − 1` hours either side so the burst
                // the window may be part of does not raise its own baseline. A busier day
                // (growth, a viral day, a day-wide swing) is not an hour-scale burst; a quieter
                // one never lowers the baseline, as its level is itself a noisy estimate.
                let (lo, hi) = (a.saturating_sub(12), (a + w + 12).min(n));
                let (g0, g1) = (a.saturating_sub(longest - 1).max(lo), (a + w + longest - 1).min(hi));
                let rest_calls = sum(&pc, lo, g0) + sum(&pc, g1, hi);
                let rest_expected = sum(&pe, lo, g0) + sum(&pe, g1, hi);
                let level = if rest_expected > 0.0 {
                    (rest_calls / rest_expected).max(1.0)
                } else {
                    1.0
                };
                (sum(&pc, a, a + w), sum(&pe, a, a + w) * level)
            })
            .collect();
        // The spread of w-hour sums, measured on w-hour sums: a day-wide swing adds up over
        // consecutive hours where Poisson noise does not.
        let mut dev: Vec<f64> = sums.iter().map(|&(x, e)| excess_z(x, e, 1.0).abs()).collect();
        let spread = (1.4826 * median(&mut dev)).max(1.0);
        if w == 1 {
            hour_spread = spread;
        }
        for (a, &(x, e)) in sums.iter().enumerate() {
            let z = excess_z(x, e, spread);
            if z > s.burst_z && x - e >= s.burst_min_excess_calls as f64 {
                // The window's hours that are themselves a spread above their baseline.
                for h in a..a + w {
                    if excess_z(calls[h], expected[h], hour_spread) > 1.0 {
                        flagged[h] = true;
                        best_z[h] = best_z[h].max(z);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut h = 0;
    while h < n {
        if !flagged[h] {
            h += 1;
            continue;
        }
        let a = h;
        while h < n && flagged[h] {
            h += 1;
        }
        let z = best_z[a..h].iter().copied().fold(0.0, f64::max);
        out.push((a, h, expected[a..h].iter().sum(), z));
    }
    out
}

/// Running sums: `p[b] − p[a]` is the sum of `v[a..b]`.
fn prefix(v: &[f64]) -> Vec<f64> {
    let mut p = Vec::with_capacity(v.len() + 1);
    p.push(0.0);
    for x in v {
        p.push(p[p.len() - 1] + x);
    }
    p
}

/// Each hour's expected calls: the other days of its slot, their largest tenth (at least one)
/// left out, as bursts only ever add calls; then the mean, which a median would bias low at
/// small counts (a Poisson count of mean 0.5 has median 0).
pub fn baseline(calls: &[f64], slot: &[usize]) -> Vec<f64> {
    let n = calls.len();
    let mut slots: Vec<Vec<usize>> = vec![Vec::new(); SLOTS];
    for (h, &b) in slot.iter().enumerate() {
        slots[b % SLOTS].push(h);
    }
    let mut expected = vec![0.0; n];
    for h in 0..n {
        let mut others: Vec<f64> = slots[slot[h] % SLOTS]
            .iter()
            .filter(|&&k| k != h)
            .map(|&k| calls[k])
            .collect();
        if others.is_empty() {
            continue;
        }
        others.sort_by(f64::total_cmp);
        let keep = others.len() - (others.len() / 10).max(1).min(others.len() - 1);
        expected[h] = others[..keep].iter().sum::<f64>() / keep as f64;
    }
    expected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_on_a_quiet_customer_is_found_and_the_noise_is_not() {
        // Four weeks of 2 calls an hour (a little noise), and a 3-hour burst of 12, 15, 10.
        let hours = 28 * 24;
        let mut calls: Vec<f64> = (0..hours).map(|h| [2.0, 1.0, 3.0, 2.0, 2.0][h % 5]).collect();
        calls[300..303].copy_from_slice(&[12.0, 15.0, 10.0]);
        let slot: Vec<usize> = (0..hours).map(|h| h % 24).collect();
        let s = DecisionSettings::example();
        let found = detect(&calls, &slot, &s);
        assert_eq!(found.len(), 1, "{found:?}");
        let (a, b, expected, z) = found[0];
        assert_eq!((a, b), (300, 303));
        assert!(expected > 4.0 && expected < 8.0, "{expected}");
        assert!(z > s.burst_z);
    }

    #[test]
    fn a_small_excess_is_not_a_burst() {
        // Zero calls, then 4 in one hour: far above the baseline, but fewer than the minimum excess.
        let hours = 28 * 24;
        let mut calls = vec![0.0; hours];
        calls[100] = 4.0;
        let slot: Vec<usize> = (0..hours).map(|h| h % 24).collect();
        assert!(detect(&calls, &slot, &DecisionSettings::example()).is_empty());
    }
}
