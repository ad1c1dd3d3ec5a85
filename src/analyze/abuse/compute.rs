//! The abuse tests on the pass's counts: rate limits and off-hours per customer against the
//! other customers, concurrency per customer-hour, each kind under one Benjamini–Hochberg
//! procedure; then the cost spikes and the recommendations.

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::DateTime;

use super::pass::{self, CustomerCounts, Found, PassSpec};
use super::{AbuseResult, AbuseSettings, Concurrency, ConcurrentCustomer, FlaggedCustomer, RateTest, spikes};
use crate::analyze::Context;
use crate::analyze::frame::{ratio, usd};
use crate::analyze::stats::{benjamini_hochberg, excess_test};
use crate::report::html::{self as h, Recommendation, Severity};

pub fn analyze(ctx: &Context<'_>, s: &AbuseSettings) -> Result<AbuseResult> {
    let p = s;
    let found = pass::run(
        &ctx.source.files,
        PassSpec {
            night_start: p.night_start_hour,
            night_end: p.night_end_hour,
            keep_p: p.fdr,
        },
    )?;
    let rate_limits = rate_test(
        &found.customers,
        |c| Some((c.rate_limited, c.calls)),
        p.rate_limit_multiple,
        p.fdr,
        format!(
            "A customer's rate-limited share against {} × the other customers' share (exact binomial tail), \
             Benjamini–Hochberg at a false-discovery rate of {}",
            p.rate_limit_multiple, p.fdr
        ),
    );
    let off_hours = rate_test(
        &found.customers,
        |c| c.known_zone.then_some((c.night_calls, c.calls)),
        p.off_hours_multiple,
        p.fdr,
        format!(
            "A customer's share of calls from {:02}:00 to {:02}:00 in its own time zone against {} × the other \
             customers' share (exact binomial tail), Benjamini–Hochberg at a false-discovery rate of {}",
            p.night_start_hour, p.night_end_hour, p.off_hours_multiple, p.fdr
        ),
    );
    let concurrency = concurrency(&found, p.fdr);
    let cost_spikes = spikes::cost_spikes(ctx, s, &found.customers)?;
    let mut out = AbuseResult {
        window_days: ctx.window.days,
        customers: found.customers.len() as u64,
        calls: found.customers.values().map(|c| c.calls).sum(),
        rate_limits,
        off_hours,
        unknown_timezones: found.unknown_zones,
        concurrency,
        cost_spikes,
        recommendations: Vec::new(),
    };
    out.recommendations = recommendations(&out, s);
    Ok(out)
}

/// Each customer's `events` of `calls` (`None`: not tested) against `multiple` × the rate of
/// all the other tested customers.
fn rate_test(
    customers: &BTreeMap<String, CustomerCounts>,
    counts: impl Fn(&CustomerCounts) -> Option<(u64, u64)>,
    multiple: f64,
    fdr: f64,
    method: String,
) -> RateTest {
    let tested: Vec<(&String, &CustomerCounts, u64, u64)> = customers
        .iter()
        .filter_map(|(id, c)| counts(c).map(|(k, n)| (id, c, k, n)))
        .collect();
    let (events, calls) = tested.iter().fold((0, 0), |(k, n), t| (k + t.2, n + t.3));
    let tests: Vec<_> = tested
        .iter()
        .map(|&(_, _, k, n)| {
            let reference = ratio((events - k) as f64, (calls - n) as f64);
            (reference, excess_test(k, n, reference, multiple))
        })
        .collect();
    let p_values: Vec<f64> = tests.iter().map(|(_, t)| t.p_value).collect();
    let rejected = benjamini_hochberg(&p_values, p_values.len(), fdr);
    let mut flagged: Vec<FlaggedCustomer> = tested
        .iter()
        .zip(&tests)
        .zip(&rejected)
        .filter(|(_, r)| **r)
        .map(|((&(id, c, k, n), &(reference, t)), _)| FlaggedCustomer {
            customer_id: id.clone(),
            subscription_tier: c.tier.clone(),
            tier_price_usd: c.tier_price,
            timezone: c.timezone.clone(),
            calls: n,
            events: k,
            rate: t.rate,
            reference_rate: reference,
            ratio: (reference > 0.0).then(|| t.rate / reference),
            p_value: t.p_value,
            cost_usd: usd(c.cost_micros),
        })
        .collect();
    flagged.sort_by(|a, b| {
        a.p_value
            .total_cmp(&b.p_value)
            .then_with(|| a.customer_id.cmp(&b.customer_id))
    });
    RateTest {
        method,
        overall_rate: ratio(events as f64, calls as f64),
        events,
        calls,
        customers_tested: tested.len() as u64,
        flagged,
    }
}

/// The customer-hours whose busiest minute survives Benjamini–Hochberg over every hour tested.
fn concurrency(found: &Found, fdr: f64) -> Concurrency {
    let p_values: Vec<f64> = found.peaks.iter().map(|p| p.p_value).collect();
    let tested = (found.hours_tested as usize).max(p_values.len());
    let rejected = benjamini_hochberg(&p_values, tested, fdr);
    let mut by: BTreeMap<&str, Vec<&pass::PeakHour>> = BTreeMap::new();
    for (peak, _) in found.peaks.iter().zip(&rejected).filter(|(_, r)| **r) {
        by.entry(peak.customer.as_str()).or_default().push(peak);
    }
    let hours_flagged = by.values().map(|v| v.len() as u64).sum();
    let mut customers: Vec<ConcurrentCustomer> = by
        .into_iter()
        .map(|(id, hours)| {
            let worst = hours
                .iter()
                .min_by(|a, b| a.p_value.total_cmp(&b.p_value).then(a.hour.cmp(&b.hour)))
                .expect("a flagged customer has a flagged hour");
            let start = DateTime::from_timestamp(worst.hour * 3600, 0)
                .map_or_else(String::new, |t| t.format("%Y-%m-%dT%H:00").to_string());
            ConcurrentCustomer {
                customer_id: id.to_string(),
                subscription_tier: found.customers.get(id).map_or_else(String::new, |c| c.tier.clone()),
                hours_flagged: hours.len() as u64,
                worst_hour: start,
                worst_hour_calls: worst.calls,
                peak_minute_calls: worst.peak_minute_calls,
                p_value: worst.p_value,
            }
        })
        .collect();
    customers.sort_by(|a, b| {
        b.hours_flagged
            .cmp(&a.hours_flagged)
            .then(a.p_value.total_cmp(&b.p_value))
            .then_with(|| a.customer_id.cmp(&b.customer_id))
    });
    Concurrency {
        method: format!(
            "Each customer-hour's busiest minute against its calls spread at random over 60 minutes: p = min(1, 60 · \
             P(X ≥ peak)), X ~ Binomial(calls, 1/60); Benjamini–Hochberg at a false-discovery rate of {fdr} over \
             every customer-hour with a call"
        ),
        hours_tested: found.hours_tested,
        hours_flagged,
        customers,
    }
}

fn names(rows: impl Iterator<Item = String>, n: usize) -> String {
    let all: Vec<String> = rows.collect();
    let shown = all.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if all.len() > n {
        format!("{shown} and {} more", all.len() - n)
    } else {
        shown
    }
}

/// A recommendation per finding that fired; none for those that did not.
fn recommendations(r: &AbuseResult, s: &AbuseSettings) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let rl = &r.rate_limits;
    if !rl.flagged.is_empty() {
        out.push(Recommendation {
            severity: Severity::Medium,
            title: format!("{} customers hit rate limits far above the rest", rl.flagged.len()),
            message: format!(
                "{} are rate-limited significantly more than {} × the other customers' share ({} overall).",
                names(
                    rl.flagged
                        .iter()
                        .map(|f| format!("{} ({})", f.customer_id, h::percent(f.rate))),
                    5
                ),
                s.rate_limit_multiple,
                h::percent(rl.overall_rate)
            ),
            action: "Check their clients' retry and back-off; a client that retries at once on a 429 multiplies \
                     its own limits. Raise their quota if the calls are legitimate."
                .into(),
            amount_usd: None,
        });
    }
    let oh = &r.off_hours;
    if !oh.flagged.is_empty() {
        out.push(Recommendation {
            severity: Severity::Low,
            title: format!("{} customers call mostly at their local night", oh.flagged.len()),
            message: format!(
                "{} place significantly more than {} × the other customers' share of calls from {:02}:00 to {:02}:00 \
                 in their own time zone.",
                names(
                    oh.flagged
                        .iter()
                        .map(|f| format!("{} ({})", f.customer_id, h::percent(f.rate))),
                    5
                ),
                s.off_hours_multiple,
                s.night_start_hour,
                s.night_end_hour
            ),
            action: "Confirm these are scheduled jobs the customer runs, not shared or leaked keys.".into(),
            amount_usd: None,
        });
    }
    let cc = &r.concurrency;
    if !cc.customers.is_empty() {
        out.push(Recommendation {
            severity: Severity::Medium,
            title: format!("{} customers bunch calls within minutes", cc.customers.len()),
            message: format!(
                "{} hours of {} have a minute far busier than their own calls spread at random would give.",
                h::count(cc.hours_flagged as f64),
                names(
                    cc.customers
                        .iter()
                        .map(|c| format!("{} ({} calls in one minute)", c.customer_id, c.peak_minute_calls)),
                    5
                )
            ),
            action: "Apply a per-minute concurrency limit to these keys; scripted fan-out is what per-minute limits are for."
                .into(),
            amount_usd: None,
        });
    }
    out.extend(spikes::recommendation(&r.cost_spikes, s));
    out
}
