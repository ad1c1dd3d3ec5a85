//! Customer-days: each customer's daily calls and cost from its first day to the window's last
//! (0 on a day without calls, so silence is data), the calendar's kind of each day, the
//! customer-day anomaly detector that compares a day with earlier days of its own kind, and the
//! churn detector that weighs a customer's trailing silence against its own recent rate.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use anyhow::Result;
use chrono::{Datelike, NaiveDate};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::hours::customer_hours;
use super::{Anomaly, AnomalySet, DecisionSettings, anomaly_set, robust_z};
use crate::analyze::Context;
use crate::analyze::frame::{floats, strings, usd};
use crate::config::CallsConfig;
use crate::sim::calls::scenarios::Modifier;

/// Cost and calls of one customer on one day, with the customer's tier. The names are shared
/// (one allocation per customer, and per tier and scenario), as there are 1.6M customer-days
/// at 100M rows.
pub(crate) struct CustomerDay {
    pub(crate) customer: Arc<str>,
    pub(crate) tier: Arc<str>,
    pub(crate) tier_price: f64,
    pub(crate) scenario: Option<Arc<str>>,
    pub(crate) date: NaiveDate,
    pub(crate) calls: u64,
    pub(crate) cost_micros: i64,
}

/// Customer-days with calls, sorted by customer then date, shared by the decisions, scenarios
/// and churn pages ([`Context::shared`]). They are the customer-hour table's days (UTC, as the
/// table's hours are), with each customer's attributes from one group-by on the customer.
pub(crate) fn customer_days(ctx: &Context<'_>) -> Result<Arc<Vec<CustomerDay>>> {
    ctx.shared("customer_days", || {
        let hourly = customer_hours(ctx)?;
        let attributes = customer_attributes(ctx)?;
        let first_day = ctx.window.first_day;
        let mut out = Vec::new();
        for (id, h) in &hourly.customers {
            let Some(a) = attributes.get(id.as_str()) else {
                continue;
            };
            let customer: Arc<str> = Arc::from(id.as_str());
            let days = h.calls.chunks(24).zip(h.cost_micros.chunks(24));
            for (d, (calls, cost)) in days.enumerate() {
                let calls: u64 = calls.iter().map(|&c| u64::from(c)).sum();
                if calls == 0 {
                    continue;
                }
                out.push(CustomerDay {
                    customer: customer.clone(),
                    tier: a.tier.clone(),
                    tier_price: a.tier_price,
                    scenario: a.scenario.clone(),
                    date: first_day + chrono::Days::new(d as u64),
                    calls,
                    cost_micros: cost.iter().sum(),
                });
            }
        }
        Ok(out)
    })
}

/// A customer's tier, its price and its scenario (the least of each over its rows: one per
/// customer in trafficsim's data).
struct Attributes {
    tier: Arc<str>,
    tier_price: f64,
    scenario: Option<Arc<str>>,
}

fn customer_attributes(ctx: &Context<'_>) -> Result<HashMap<String, Attributes>> {
    let has_scenario = ctx.has_column("scenario");
    let mut aggs = vec![
        col("subscription_tier").min().alias("tier"),
        col("tier_price_usd").min().alias("tier_price"),
    ];
    if has_scenario {
        aggs.push(col("scenario").min().alias("scenario"));
    }
    let df = ctx.collect(ctx.calls().group_by([col("customer_id")]).agg(aggs))?;
    let (ids, tiers, prices) = (
        strings(&df, "customer_id")?,
        strings(&df, "tier")?,
        floats(&df, "tier_price")?,
    );
    let scenarios = if has_scenario {
        Some(strings(&df, "scenario")?)
    } else {
        None
    };
    // One allocation per distinct tier and scenario.
    let mut names: HashMap<String, Arc<str>> = HashMap::new();
    let mut shared = |s: &str| -> Arc<str> { names.entry(s.to_string()).or_insert_with(|| Arc::from(s)).clone() };
    Ok(ids
        .into_iter()
        .enumerate()
        .map(|(i, id)| {
            let a = Attributes {
                tier: shared(&tiers[i]),
                tier_price: prices[i],
                scenario: scenarios.as_ref().map(|s| shared(&s[i])),
            };
            (id, a)
        })
        .collect())
}

/// What kind of day a date is for a customer: a working day, a weekend day or a holiday of its
/// calendar. Weekends and holidays are both days off and share one baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    Weekday,
    Weekend,
    Holiday,
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Weekday => "weekday",
            DayKind::Weekend => "weekend",
            DayKind::Holiday => "holiday",
        }
    }

    /// Days off (weekends and holidays) are compared with each other, working days with working days.
    fn day_off(self) -> bool {
        self != DayKind::Weekday
    }
}

/// The plan's holidays: the dates the `weekend` modifier of each declared scenario names (days
/// of the window counted from the plan's start date), per scenario. Data without a `scenario`
/// column uses every scenario's holidays.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    by_scenario: BTreeMap<String, BTreeSet<NaiveDate>>,
    all: BTreeSet<NaiveDate>,
}

impl Calendar {
    pub fn from_plan(config: &CallsConfig) -> Calendar {
        let mut cal = Calendar::default();
        for s in &config.scenarios {
            for m in &s.def.modifiers {
                if let Modifier::Weekend(w) = m {
                    for &d in &w.holidays {
                        let date = config.run.start_date + chrono::Days::new(d.max(0) as u64);
                        cal.by_scenario.entry(s.def.name.clone()).or_default().insert(date);
                        cal.all.insert(date);
                    }
                }
            }
        }
        cal
    }

    pub fn kind(&self, scenario: Option<&str>, date: NaiveDate) -> DayKind {
        let holidays = match scenario {
            Some(s) => self.by_scenario.get(s),
            None => Some(&self.all),
        };
        if holidays.is_some_and(|h| h.contains(&date)) {
            DayKind::Holiday
        } else if date.weekday().number_from_monday() >= 6 {
            DayKind::Weekend
        } else {
            DayKind::Weekday
        }
    }

    /// Every holiday of the plan, for the page.
    pub fn holidays(&self) -> Vec<NaiveDate> {
        self.all.iter().copied().collect()
    }
}

/// One customer's days from its first day with calls to `last` (the window's last day).
pub(crate) struct Series<'a> {
    pub(crate) days: &'a [CustomerDay],
    pub(crate) first: NaiveDate,
    /// Calls and cost per day, 0 on days without calls.
    pub(crate) calls: Vec<f64>,
    pub(crate) cost: Vec<f64>,
    pub(crate) kinds: Vec<DayKind>,
    /// Index of the last day with calls.
    pub(crate) last_active: usize,
}

/// Each customer's series, extended to the window's last day.
pub(crate) fn series<'a>(days: &'a [CustomerDay], last: NaiveDate, cal: &Calendar) -> Vec<Series<'a>> {
    days.chunk_by(|a, b| a.customer == b.customer)
        .map(|g| {
            let first = g[0].date;
            let end = last.max(g[g.len() - 1].date);
            let span = (end - first).num_days() as usize + 1;
            let (mut calls, mut cost) = (vec![0.0; span], vec![0.0; span]);
            for d in g {
                let i = (d.date - first).num_days() as usize;
                calls[i] = d.calls as f64;
                cost[i] = usd(d.cost_micros);
            }
            let scenario = g[0].scenario.as_deref();
            let kinds = (0..span)
                .map(|i| cal.kind(scenario, first + chrono::Days::new(i as u64)))
                .collect();
            Series {
                days: g,
                first,
                calls,
                cost,
                kinds,
                last_active: (g[g.len() - 1].date - first).num_days() as usize,
            }
        })
        .collect()
}

/// Each customer's days up to its last day with calls (the silence after it is the churn
/// detector's), each tested against the customer's previous `window_days` days of its kind
/// (working days against working days, days off against days off).
pub(crate) fn customer_day_anomalies(all: &[Series<'_>], s: &DecisionSettings) -> AnomalySet {
    let mut tested = 0;
    let mut found = Vec::new();
    for sr in all {
        for t in 0..=sr.last_active {
            let off = sr.kinds[t].day_off();
            let history: Vec<f64> = (0..t)
                .rev()
                .filter(|&d| sr.kinds[d].day_off() == off)
                .take(s.window_days as usize)
                .map(|d| sr.cost[d])
                .collect();
            if history.len() < s.min_history as usize {
                continue;
            }
            tested += 1;
            let x = sr.cost[t];
            if let Some((m, mad, z)) = robust_z(x, &history, s.mad_threshold) {
                // A spike must cost something; a drop must fall from a baseline that did.
                let material = if z > 0.0 {
                    x >= s.min_anomaly_cost
                } else {
                    m >= s.min_anomaly_cost
                };
                if material {
                    found.push(Anomaly {
                        subject: sr.days[0].customer.to_string(),
                        date: sr.first + chrono::Days::new(t as u64),
                        hour: None,
                        day_kind: Some(sr.kinds[t]),
                        cost_usd: x,
                        baseline_usd: m,
                        mad_usd: mad,
                        robust_z: z,
                        direction: if z > 0.0 { "spike" } else { "drop" }.into(),
                    });
                }
            }
        }
    }
    let method = format!(
        "Robust z-score of a customer's daily cost against the median and MAD of its previous {} days of the \
         same kind (working days against working days; weekends and the plan's holidays against days off), \
         threshold {}, tested once {} such days exist",
        s.window_days, s.mad_threshold, s.min_history
    );
    anomaly_set(method, tested, found)
}

/// A customer whose trailing silence is too long for its own recent rate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChurnRisk {
    pub customer_id: String,
    pub subscription_tier: String,
    /// Monthly revenue at risk: the tier price.
    pub tier_price_usd: f64,
    pub last_active_day: NaiveDate,
    /// Days without a call from the day after the last call to the window's last day.
    pub silent_days: u32,
    /// Calls per working day and per day off over the lookback before the silence.
    pub working_day_rate: f64,
    pub day_off_rate: f64,
    /// Calls the recent rates predict over the silent days.
    pub expected_calls: f64,
    /// Poisson probability of no call at all in the silence given that expectation: e^−expected.
    pub p_value: f64,
    /// Whether `p_value` is below the setting's `churn_p_value`.
    pub churned: bool,
}

/// Every customer with at least one silent day at the window's end, most surprising silence
/// first. A customer is churned when `P(no call | expected) = e^−expected < churn_p_value`.
pub(crate) fn churn_risks(all: &[Series<'_>], lookback_days: u64, p_value: f64) -> Vec<ChurnRisk> {
    let mut out: Vec<ChurnRisk> = all
        .iter()
        .filter(|sr| sr.last_active + 1 < sr.calls.len())
        .map(|sr| {
            let lo = (sr.last_active + 1).saturating_sub(lookback_days as usize);
            let rate = |off: bool| {
                let days: Vec<usize> = (lo..=sr.last_active)
                    .filter(|&d| sr.kinds[d].day_off() == off)
                    .collect();
                (!days.is_empty()).then(|| days.iter().map(|&d| sr.calls[d]).sum::<f64>() / days.len() as f64)
            };
            let (work, off) = (rate(false), rate(true));
            // A lookback without one kind of day borrows the other's rate.
            let (work, off) = match (work, off) {
                (Some(w), Some(o)) => (w, o),
                (Some(w), None) => (w, w),
                (None, Some(o)) => (o, o),
                (None, None) => (0.0, 0.0),
            };
            let silent = sr.last_active + 1..sr.calls.len();
            let expected: f64 = silent
                .clone()
                .map(|d| if sr.kinds[d].day_off() { off } else { work })
                .sum();
            let p = (-expected).exp();
            let d0 = &sr.days[0];
            ChurnRisk {
                customer_id: d0.customer.to_string(),
                subscription_tier: d0.tier.to_string(),
                tier_price_usd: d0.tier_price,
                last_active_day: sr.first + chrono::Days::new(sr.last_active as u64),
                silent_days: silent.len() as u32,
                working_day_rate: work,
                day_off_rate: off,
                expected_calls: expected,
                p_value: p,
                churned: p < p_value,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        a.p_value
            .total_cmp(&b.p_value)
            .then_with(|| a.customer_id.cmp(&b.customer_id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(customer: &str, date: NaiveDate, calls: u64) -> CustomerDay {
        CustomerDay {
            customer: customer.into(),
            tier: "starter".into(),
            tier_price: 29.0,
            scenario: None,
            date,
            calls,
            cost_micros: calls as i64 * 10_000,
        }
    }

    #[test]
    fn a_silence_long_for_the_rate_is_churn_and_a_short_one_is_not() {
        let start = NaiveDate::from_ymd_opt(2025, 1, 6).unwrap(); // a Monday
        let at = |d: u64| start + chrono::Days::new(d);
        // 10 calls a day for 14 days, then nothing until day 20: 6 silent days.
        let busy: Vec<CustomerDay> = (0..14).map(|d| day("a", at(d), 10)).collect();
        // 1 call a day for 18 days, then silent for 2 days.
        let quiet: Vec<CustomerDay> = (0..18).map(|d| day("b", at(d), 1)).collect();
        let all: Vec<CustomerDay> = busy.into_iter().chain(quiet).collect();
        let cal = Calendar::default();
        let sr = series(&all, at(19), &cal);
        let risks = churn_risks(&sr, 14, 0.001);
        assert_eq!(risks.len(), 2);
        let a = risks.iter().find(|r| r.customer_id == "a").unwrap();
        assert_eq!(a.silent_days, 6);
        assert!((a.expected_calls - 60.0).abs() < 1e-9, "{a:?}");
        assert!(a.churned);
        let b = risks.iter().find(|r| r.customer_id == "b").unwrap();
        assert_eq!(b.silent_days, 2);
        assert!((b.p_value - (-2.0f64).exp()).abs() < 1e-12);
        assert!(!b.churned);
    }

    #[test]
    fn weekends_and_holidays_are_days_off() {
        let mut cal = Calendar::default();
        let holiday = NaiveDate::from_ymd_opt(2025, 1, 8).unwrap(); // a Wednesday
        cal.by_scenario.entry("w".into()).or_default().insert(holiday);
        cal.all.insert(holiday);
        assert_eq!(cal.kind(Some("w"), holiday), DayKind::Holiday);
        assert_eq!(cal.kind(Some("other"), holiday), DayKind::Weekday);
        assert_eq!(cal.kind(None, holiday), DayKind::Holiday);
        assert_eq!(
            cal.kind(Some("w"), NaiveDate::from_ymd_opt(2025, 1, 11).unwrap()),
            DayKind::Weekend
        );
    }
}
