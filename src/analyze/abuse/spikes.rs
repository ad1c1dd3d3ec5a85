//! Cost spikes: customer-hours with far more calls than the customer makes at that local hour,
//! their cost above that baseline set against the customer's monthly price, and, beside
//! labelled data, the spikes scored against the `burst` labels and explained by an injected
//! event (a labelled burst of the same customer, or a cohort that went viral).
//!
//! A second hourly detector beside the decisions page's (`decisions::burst`, which adds
//! 1–3 hour windows and a day-level scale); the two should become one. This one uses the
//! page's own tests: Poisson tails kept by Benjamini–Hochberg. Each hour's
//! baseline is the customer's trimmed mean at the same local hour on days of the same kind
//! (working day, weekend: 48 slots), its largest tenth left out since spikes only add calls;
//! the hour is tested by the Poisson tail P(X ≥ calls | baseline) when it holds at least
//! `spike_min_excess_calls` calls above the baseline, and the flagged hours are those kept by
//! Benjamini–Hochberg at `fdr` over every customer-hour tested (from the customer's first
//! call); consecutive flagged hours are one spike.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::Result;
use chrono::{Datelike, Timelike};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::distribution::{DiscreteCDF, Poisson};

use super::AbuseSettings;
use super::pass::CustomerCounts;
use crate::analyze::Context;
use crate::analyze::decisions::hours::{Hourly, customer_hours};
use crate::analyze::frame::{ratio, strings, usd};
use crate::analyze::scenarios::labels::labels_beside;
use crate::analyze::stats::benjamini_hochberg;
use crate::report::html::{self as h, Recommendation, Severity};

const HOUR_US: i64 = 3_600_000_000;
/// Baseline slots: the local hour on working days (0–23) and on weekend days (24–47).
const SLOTS: usize = 48;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CostSpikes {
    pub method: String,
    pub customers: u64,
    pub hours_tested: u64,
    /// Σ of every spike's cost above its baseline.
    pub excess_cost_usd: f64,
    /// Spikes whose excess reaches `materiality_usd`.
    pub material: u64,
    /// Every spike, largest excess relative to the customer's monthly price first.
    pub spikes: Vec<CostSpike>,
    pub labels_file: Option<PathBuf>,
    /// The spikes against the `burst` labels (when labels are beside the data).
    pub burst_score: Option<SpikeScore>,
    /// Spikes explained by a labelled burst or a viral cohort (when labels are beside the data).
    pub explained: Option<Explained>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CostSpike {
    pub customer_id: String,
    pub subscription_tier: String,
    pub tier_price_usd: f64,
    /// First hour (UTC), its index since the epoch, and the length in hours.
    pub start: String,
    pub start_hour: i64,
    pub hours: u32,
    pub calls: u64,
    pub expected_calls: f64,
    /// (calls − expected) × the customer's average cost per call.
    pub excess_cost_usd: f64,
    /// Excess ÷ the monthly tier price.
    pub share_of_price: f64,
    /// The smallest p-value of its hours.
    pub p_value: f64,
    /// `burst` (a labelled burst of the customer overlaps it), `viral_spike` (its customer's
    /// scenario went viral), or empty.
    pub explained_by: String,
}

/// Recall: labelled bursts (of customers in the data, within the window) overlapped by a spike of
/// their customer. Precision: spikes on the customers of the scenarios that label bursts that
/// overlap a labelled burst.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SpikeScore {
    pub labelled: u64,
    pub found: u64,
    pub recall: f64,
    pub flagged: u64,
    pub true_positives: u64,
    pub precision: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Explained {
    pub by_burst_label: u64,
    pub by_viral_cohort: u64,
    pub unexplained: u64,
    /// (Burst + viral) ÷ every spike: the precision of the spikes against every injected event.
    pub share: f64,
    /// Customers of the viral cohorts, and those with a spike.
    pub viral_customers: u64,
    pub viral_customers_spiking: u64,
}

/// The baseline slot of each hour of the window in zone `tz` (UTC when unknown).
fn slots(first_hour: i64, hours: usize, tz: Option<chrono_tz::Tz>) -> Vec<usize> {
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

/// Each hour's expected calls: the trimmed mean of its slot's hours (the largest tenth, at least
/// one, left out), never below half a call spread over the slot's hours.
fn baseline(calls: &[u32], slot: &[usize]) -> Vec<f64> {
    let mut by: Vec<Vec<u32>> = vec![Vec::new(); SLOTS];
    for (&c, &s) in calls.iter().zip(slot) {
        by[s].push(c);
    }
    let means: Vec<f64> = by
        .iter_mut()
        .map(|v| {
            if v.is_empty() {
                return 0.0;
            }
            v.sort_unstable();
            let keep = v.len() - (v.len() / 10).max(1).min(v.len() - 1);
            let sum: u64 = v[..keep].iter().map(|&c| u64::from(c)).sum();
            (sum as f64 / keep as f64).max(0.5 / v.len() as f64)
        })
        .collect();
    slot.iter().map(|&s| means[s]).collect()
}

/// A tested hour: (customer index, hour index, calls, expected, p-value).
type Tested = (usize, usize, u64, f64, f64);

pub fn cost_spikes(
    ctx: &Context<'_>,
    p: &AbuseSettings,
    customers: &BTreeMap<String, CustomerCounts>,
) -> Result<CostSpikes> {
    let table = customer_hours(ctx)?;
    let first_hour = table.first_hour;
    let list: Vec<(&String, &Hourly, Option<&CustomerCounts>)> = (table.customers.iter())
        .map(|(id, h)| (id, h, customers.get(id)))
        .collect();
    let mut zone_slots: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let (mut tested, mut candidates): (u64, Vec<Tested>) = (0, Vec::new());
    for (i, (_, h, _)) in list.iter().enumerate() {
        let hours = h.calls.len();
        let zone = h.timezone.as_deref().unwrap_or("");
        let slot = zone_slots
            .entry(zone)
            .or_insert_with(|| slots(first_hour, hours, zone.parse().ok()));
        let first = h.calls.iter().position(|&x| x > 0).unwrap_or(hours);
        let expected = baseline(&h.calls[first..], &slot[first..]);
        tested += (hours - first) as u64;
        for (k, (&x, &e)) in h.calls[first..].iter().zip(&expected).enumerate() {
            if f64::from(x) - e < p.spike_min_excess_calls as f64 {
                continue;
            }
            let pv = Poisson::new(e).map_or(0.0, |d| d.sf(u64::from(x) - 1));
            if pv <= p.fdr {
                candidates.push((i, first + k, u64::from(x), e, pv));
            }
        }
    }
    let rejected = benjamini_hochberg(
        &candidates.iter().map(|t| t.4).collect::<Vec<_>>(),
        (tested as usize).max(candidates.len()),
        p.fdr,
    );
    // Consecutive flagged hours of a customer are one spike (candidates are in hour order).
    let mut spikes: Vec<CostSpike> = Vec::new();
    let mut open: Option<(usize, usize)> = None;
    for (&(i, hour, x, e, pv), _) in candidates.iter().zip(&rejected).filter(|(_, r)| **r) {
        let (id, _, c) = list[i];
        let extend = matches!(open, Some((ci, end)) if ci == i && end == hour);
        if !extend {
            let start = crate::analyze::frame::hour_start(first_hour + hour as i64);
            spikes.push(CostSpike {
                customer_id: id.clone(),
                subscription_tier: c.map_or_else(String::new, |c| c.tier.clone()),
                tier_price_usd: c.map_or(0.0, |c| c.tier_price),
                start: start.format("%Y-%m-%dT%H:00").to_string(),
                start_hour: first_hour + hour as i64,
                hours: 0,
                calls: 0,
                expected_calls: 0.0,
                excess_cost_usd: 0.0,
                share_of_price: 0.0,
                p_value: 1.0,
                explained_by: String::new(),
            });
        }
        let s = spikes.last_mut().expect("a spike is open");
        s.hours += 1;
        s.calls += x;
        s.expected_calls += e;
        s.p_value = s.p_value.min(pv);
        let per_call = c.map_or(0.0, |c| ratio(usd(c.cost_micros), c.calls as f64));
        s.excess_cost_usd = (s.calls as f64 - s.expected_calls).max(0.0) * per_call;
        s.share_of_price = ratio(s.excess_cost_usd, c.map_or(0.0, |c| c.tier_price));
        open = Some((i, hour + 1));
    }
    let (labels_file, burst_score, explained) = score(ctx, &mut spikes, first_hour)?;
    spikes.sort_by(|a, b| {
        b.share_of_price
            .total_cmp(&a.share_of_price)
            .then(b.excess_cost_usd.total_cmp(&a.excess_cost_usd))
            .then_with(|| a.customer_id.cmp(&b.customer_id))
            .then(a.start_hour.cmp(&b.start_hour))
    });
    Ok(CostSpikes {
        method: format!(
            "Per customer and local hour on working days and on weekends: each hour's calls against the trimmed mean \
             of that slot (its largest tenth left out), by the Poisson tail, when at least {} calls above it; \
             Benjamini–Hochberg at a false-discovery rate of {} over every customer-hour from the customer's first \
             call; consecutive hours are one spike",
            p.spike_min_excess_calls, p.fdr
        ),
        customers: list.len() as u64,
        hours_tested: tested,
        excess_cost_usd: spikes.iter().map(|x| x.excess_cost_usd).sum(),
        material: spikes.iter().filter(|x| x.excess_cost_usd >= p.materiality_usd).count() as u64,
        spikes,
        labels_file,
        burst_score,
        explained,
    })
}

/// Marks what explains each spike and scores them, when labels are beside the data.
fn score(
    ctx: &Context<'_>,
    spikes: &mut [CostSpike],
    first_hour: i64,
) -> Result<(Option<PathBuf>, Option<SpikeScore>, Option<Explained>)> {
    if ctx.calls().collect_schema()?.get("scenario").is_none() {
        return Ok((None, None, None));
    }
    let (file, labels) = labels_beside(&ctx.source.path)?;
    if labels.is_empty() {
        return Ok((file, None, None));
    }
    let df = ctx.collect(
        ctx.calls()
            .group_by([col("customer_id")])
            .agg([col("scenario").min().alias("scenario")]),
    )?;
    let scenario_of: BTreeMap<String, String> = strings(&df, "customer_id")?
        .into_iter()
        .zip(strings(&df, "scenario")?)
        .collect();
    let end_hour = first_hour + i64::from(ctx.window.days) * 24;
    // Labelled bursts in epoch hours [first, end), within the window.
    let bursts: Vec<(&str, &str, i64, i64)> = labels
        .iter()
        .filter(|l| l.kind == "burst" && l.subject_type == "customer" && scenario_of.contains_key(&l.subject))
        .map(|l| {
            (
                l.subject.as_str(),
                l.scenario.as_str(),
                l.start_us.div_euclid(HOUR_US).max(first_hour),
                ((l.end_us - 1).div_euclid(HOUR_US) + 1).min(end_hour),
            )
        })
        .filter(|b| b.2 < b.3)
        .collect();
    let viral: BTreeSet<&str> = labels
        .iter()
        .filter(|l| l.kind == "viral_spike")
        .map(|l| l.scenario.as_str())
        .collect();
    let bursting: BTreeSet<&str> = labels
        .iter()
        .filter(|l| l.kind == "burst")
        .map(|l| l.scenario.as_str())
        .collect();
    let overlaps = |c: &str, a: i64, b: i64| bursts.iter().any(|x| x.0 == c && x.2 < b && a < x.3);
    for s in spikes.iter_mut() {
        let end = s.start_hour + i64::from(s.hours);
        s.explained_by = if overlaps(&s.customer_id, s.start_hour, end) {
            "burst".into()
        } else if scenario_of
            .get(&s.customer_id)
            .is_some_and(|sc| viral.contains(sc.as_str()))
        {
            "viral_spike".into()
        } else {
            String::new()
        };
    }
    let found = bursts
        .iter()
        .filter(|b| {
            spikes
                .iter()
                .any(|s| s.customer_id == b.0 && s.start_hour < b.3 && b.2 < s.start_hour + i64::from(s.hours))
        })
        .count() as u64;
    let on_bursting: Vec<&CostSpike> = spikes
        .iter()
        .filter(|s| {
            scenario_of
                .get(&s.customer_id)
                .is_some_and(|sc| bursting.contains(sc.as_str()))
        })
        .collect();
    let tp = on_bursting.iter().filter(|s| s.explained_by == "burst").count() as u64;
    let count = |k: &str| spikes.iter().filter(|x| x.explained_by == k).count() as u64;
    let (by_burst, by_viral) = (count("burst"), count("viral_spike"));
    let viral_customers: BTreeSet<&str> = scenario_of
        .iter()
        .filter(|(_, sc)| viral.contains(sc.as_str()))
        .map(|(c, _)| c.as_str())
        .collect();
    let spiking: BTreeSet<&str> = spikes.iter().map(|x| x.customer_id.as_str()).collect();
    Ok((
        file,
        Some(SpikeScore {
            labelled: bursts.len() as u64,
            found,
            recall: ratio(found as f64, bursts.len() as f64),
            flagged: on_bursting.len() as u64,
            true_positives: tp,
            precision: ratio(tp as f64, on_bursting.len() as f64),
        }),
        Some(Explained {
            by_burst_label: by_burst,
            by_viral_cohort: by_viral,
            unexplained: spikes.len() as u64 - by_burst - by_viral,
            share: ratio((by_burst + by_viral) as f64, spikes.len() as f64),
            viral_customers: viral_customers.len() as u64,
            viral_customers_spiking: viral_customers.intersection(&spiking).count() as u64,
        }),
    ))
}

/// One recommendation when a spike's excess reaches the materiality floor.
pub fn recommendation(c: &CostSpikes, p: &AbuseSettings) -> Option<Recommendation> {
    let material: Vec<&CostSpike> = c
        .spikes
        .iter()
        .filter(|x| x.excess_cost_usd >= p.materiality_usd)
        .collect();
    let top = material.first()?;
    let total: f64 = material.iter().map(|x| x.excess_cost_usd).sum();
    Some(Recommendation {
        // A spike that cost more than the plan brings in a month is high whatever else.
        severity: if top.share_of_price >= 1.0 {
            Severity::High
        } else {
            Severity::Medium
        },
        title: format!("{} cost spikes above {}", material.len(), h::usd(p.materiality_usd)),
        message: format!(
            "The largest relative to its plan: {} ({}) spent {} above its baseline in {} h from {} UTC, {} of its {} \
             monthly price.",
            top.customer_id,
            top.subscription_tier,
            h::usd(top.excess_cost_usd),
            top.hours,
            top.start,
            h::percent(top.share_of_price),
            h::usd(top.tier_price_usd)
        ),
        action: "Set per-hour spend alerts at the customer's baseline plus this excess, and cap runaway jobs with a \
                 per-key hourly budget."
            .into(),
        amount_usd: Some(total),
    })
}
