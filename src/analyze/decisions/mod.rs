//! Analyzer 3, real-time decisions: cost anomalies per customer-day (against earlier days of the
//! same kind: working day, weekend, holiday) and per hour, hourly bursts per customer
//! ([`burst`]), customers gone silent ([`daily::churn_risks`]), customers over their tier's
//! budget, inefficient call patterns with their savings, portfolio risk, and alerts ranked by the
//! dollars at stake relative to the customer's revenue ([`alerts`]).
//!
//! Anomalies use the robust z-score 0.6745·(x − median)/MAD of the trailing window (falling back
//! to 1.2533·mean absolute deviation when the MAD is 0), so one spike does not hide the next the
//! way a mean and standard deviation would. Counts are true counts; only the tables are capped.
//!
//! Files: this one holds the settings, the result and the queries' order; [`daily`] the
//! customer-day series, calendar, anomalies and churn; [`burst`] the hourly burst detector;
//! [`budget`] budgets, patterns and heavy callers; [`alerts`] the ranking; [`render`] the page.

pub mod alerts;
pub mod budget;
pub mod burst;
pub mod daily;
pub(crate) mod hours;
mod render;

use anyhow::Result;
use chrono::NaiveDate;
use maud::Markup;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::frame::{cost_micros, desc, ints, usd};
use super::{Analyzer, Columns, Context};
use crate::config::{CallsConfig, ConfigError, SettingsCheck};
use crate::report::html::{Figure, Severity};
pub use alerts::Alert;
pub use burst::{Burst, BurstSet};
pub use daily::{ChurnRisk, DayKind};

pub struct Decisions;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionSettings {
    pub window_days: u64,
    pub mad_threshold: f64,
    pub min_history: u64,
    pub min_anomaly_cost: f64,
    pub budget_critical: f64,
    pub budget_high: f64,
    pub budget_medium: f64,
    pub expensive_small_call_cost: f64,
    pub expensive_small_call_tokens: u64,
    pub expensive_small_call_saving: f64,
    pub slow_expensive_call_ms: u64,
    pub slow_expensive_call_cost: f64,
    pub slow_expensive_call_saving: f64,
    pub heavy_caller_multiple: f64,
    /// Hourly bursts: modified-z cut-off, least excess calls, longest window in hours.
    pub burst_z: f64,
    pub burst_min_excess_calls: u64,
    pub burst_max_hours: u64,
    /// Churn: days before the silence that give a customer's recent rate, and the Poisson
    /// probability of its silence below which it has churned.
    pub churn_lookback_days: u64,
    pub churn_p_value: f64,
    /// Alerts: an amount at stake under this is low severity whatever its share of revenue.
    pub materiality_usd: f64,
    /// Alerts: shares of the customer's monthly revenue at stake for critical, high, medium.
    pub stake_critical: f64,
    pub stake_high: f64,
    pub stake_medium: f64,
    pub table_rows: u64,
}

impl DecisionSettings {
    /// The shipped settings (`config/analysis.toml`), for unit tests.
    #[cfg(test)]
    pub(crate) fn example() -> DecisionSettings {
        let file: toml::Table = toml::from_str(include_str!("../../../config/analysis.toml")).expect("valid");
        file["decisions"].clone().try_into().expect("valid [decisions]")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DecisionsResult {
    /// The plan's holidays (from its `weekend` modifiers), days off for their scenarios' customers.
    pub holidays: Vec<NaiveDate>,
    pub customer_day_anomalies: AnomalySet,
    pub hourly_anomalies: AnomalySet,
    /// Hourly bursts per customer.
    pub bursts: BurstSet,
    /// Every customer silent at the window's end, most surprising silence first; `churned` marks
    /// those the detector calls churned.
    pub churn_risks: Vec<ChurnRisk>,
    /// Every customer, highest share of its budget first.
    pub budgets: Vec<BudgetStatus>,
    pub portfolio: Portfolio,
    pub patterns: Vec<Pattern>,
    pub heavy_callers: Vec<HeavyCaller>,
    /// Every alert, highest severity first, then most dollars at stake.
    pub alerts: Vec<Alert>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AnomalySet {
    pub method: String,
    /// Points that had enough history to be tested.
    pub points_tested: u64,
    pub spikes: u64,
    pub drops: u64,
    /// Cost above the baseline, summed over the spikes.
    pub excess_cost_usd: f64,
    /// Every anomaly, largest |z| first.
    pub anomalies: Vec<Anomaly>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Anomaly {
    /// The customer, or "all traffic" for hourly anomalies.
    pub subject: String,
    pub date: NaiveDate,
    /// UTC hour, for hourly anomalies.
    pub hour: Option<u32>,
    /// The day's kind for the customer, for customer-day anomalies.
    #[serde(default)]
    pub day_kind: Option<DayKind>,
    pub cost_usd: f64,
    /// Median of the trailing window.
    pub baseline_usd: f64,
    pub mad_usd: f64,
    pub robust_z: f64,
    /// "spike" or "drop".
    pub direction: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BudgetStatus {
    pub customer_id: String,
    pub subscription_tier: String,
    pub tier_price_usd: f64,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// Days from the first to the last day with calls, inclusive.
    pub active_days: u32,
    /// Tier price × active days / 30.
    pub budget_usd: f64,
    pub cost_usd: f64,
    pub budget_share: f64,
    pub risk: Severity,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Portfolio {
    pub customers: u64,
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    /// Share of customers at low risk.
    pub health: f64,
    /// Cost above budget, summed over the customers over budget.
    pub cost_over_budget_usd: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Pattern {
    pub kind: String,
    pub description: String,
    pub calls: u64,
    pub cost_usd: f64,
    pub saving_usd: f64,
    /// The customers spending most on the pattern, most first.
    pub top_customers: Vec<CustomerSpend>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CustomerSpend {
    pub customer_id: String,
    pub calls: u64,
    pub cost_usd: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HeavyCaller {
    pub customer_id: String,
    pub calls: u64,
    /// Calls ÷ the average calls per customer.
    pub multiple: f64,
    pub cost_usd: f64,
}

/// The churn detector's two keys (read by the churn page too, from this table).
pub(crate) fn check_churn(lookback_days: u64, p_value: f64, c: SettingsCheck<'_>) -> Result<(), ConfigError> {
    c.count("churn_lookback_days", lookback_days, 1, 365)?;
    c.range("churn_p_value", p_value, 1e-12, 0.5)
}

impl Analyzer for Decisions {
    const NAME: &'static str = "decisions";
    const TITLE: &'static str = "Real-time decisions";
    const SUMMARY: &'static str =
        "Cost anomalies, customers over budget, inefficient patterns, portfolio risk and the alerts to act on.";
    type Settings = DecisionSettings;
    type Output = DecisionsResult;
    /// Also `scenario` (its holidays) and `timezone` (local hours) when the data has them.
    const COLUMNS: Columns = Columns::Only(&[
        "timestamp",
        "customer_id",
        "subscription_tier",
        "tier_price_usd",
        "cost_usd",
        "total_tokens",
        "latency_ms",
    ]);

    fn check(s: &DecisionSettings, c: SettingsCheck<'_>, _: &CallsConfig) -> Result<(), ConfigError> {
        c.count("window_days", s.window_days, 1, 365)?;
        c.range("mad_threshold", s.mad_threshold, 0.5, 100.0)?;
        c.count("min_history", s.min_history, 1, s.window_days.max(1))?;
        c.range("min_anomaly_cost", s.min_anomaly_cost, 0.0, 1e9)?;
        c.range("budget_medium", s.budget_medium, 0.0, 100.0)?;
        c.range("budget_high", s.budget_high, 0.0, 100.0)?;
        c.range("budget_critical", s.budget_critical, 0.0, 100.0)?;
        c.ordered("budget_medium", s.budget_medium, "budget_high", s.budget_high)?;
        c.ordered("budget_high", s.budget_high, "budget_critical", s.budget_critical)?;
        c.range("expensive_small_call_cost", s.expensive_small_call_cost, 0.0, 1e6)?;
        c.count(
            "expensive_small_call_tokens",
            s.expensive_small_call_tokens,
            1,
            10_000_000,
        )?;
        c.fraction("expensive_small_call_saving", s.expensive_small_call_saving)?;
        c.count("slow_expensive_call_ms", s.slow_expensive_call_ms, 1, 3_600_000)?;
        c.range("slow_expensive_call_cost", s.slow_expensive_call_cost, 0.0, 1e6)?;
        c.fraction("slow_expensive_call_saving", s.slow_expensive_call_saving)?;
        c.range("heavy_caller_multiple", s.heavy_caller_multiple, 1.0, 1e6)?;
        c.range("burst_z", s.burst_z, 0.5, 100.0)?;
        c.count("burst_min_excess_calls", s.burst_min_excess_calls, 1, 1_000_000)?;
        c.count("burst_max_hours", s.burst_max_hours, 1, 24)?;
        check_churn(s.churn_lookback_days, s.churn_p_value, c)?;
        c.range("materiality_usd", s.materiality_usd, 0.0, 1e9)?;
        c.range("stake_medium", s.stake_medium, 0.0, 1e3)?;
        c.range("stake_high", s.stake_high, 0.0, 1e3)?;
        c.range("stake_critical", s.stake_critical, 0.0, 1e3)?;
        c.ordered("stake_medium", s.stake_medium, "stake_high", s.stake_high)?;
        c.ordered("stake_high", s.stake_high, "stake_critical", s.stake_critical)?;
        c.count("table_rows", s.table_rows, 1, 100_000)
    }

    fn analyze(ctx: &Context<'_>, s: &DecisionSettings) -> Result<DecisionsResult> {
        let calendar = daily::Calendar::from_plan(ctx.config);
        let days = daily::customer_days(ctx)?;
        let series = daily::series(&days, ctx.window.last_day, &calendar);
        let customer_day_anomalies = daily::customer_day_anomalies(&series, s);
        let churn_risks = daily::churn_risks(&series, s.churn_lookback_days, s.churn_p_value);
        let hourly_anomalies = hourly_anomalies(ctx, s)?;
        let bursts = burst::detect_bursts(ctx, s)?;
        let budgets = budget::budgets(&days, s);
        let portfolio = budget::portfolio(&budgets);
        let patterns = budget::patterns(ctx, s)?;
        let heavy_callers = budget::heavy_callers(&days, s);
        let alerts = alerts::alerts(
            s,
            &budgets,
            &customer_day_anomalies,
            &hourly_anomalies,
            &bursts,
            &churn_risks,
            &patterns,
            &heavy_callers,
        );
        Ok(DecisionsResult {
            holidays: calendar.holidays(),
            customer_day_anomalies,
            hourly_anomalies,
            bursts,
            churn_risks,
            budgets,
            portfolio,
            patterns,
            heavy_callers,
            alerts,
        })
    }

    fn headline(r: &DecisionsResult) -> Vec<Figure> {
        vec![
            Figure::count(
                "Customer-day anomalies",
                r.customer_day_anomalies.anomalies.len() as u64,
            ),
            Figure::count("Bursts", r.bursts.bursts.len() as u64),
            Figure::count(
                "Churned customers",
                r.churn_risks.iter().filter(|c| c.churned).count() as u64,
            ),
            Figure::count("Customers over budget", r.portfolio.critical),
            Figure::percent("Portfolio health", r.portfolio.health),
            Figure::usd("Cost over budget", r.portfolio.cost_over_budget_usd),
        ]
    }

    fn render(r: &DecisionsResult, s: &DecisionSettings) -> Result<Markup> {
        render::render(r, s)
    }
}

/// The median of `v` (sorted in place); 0 for an empty slice.
pub(crate) fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Tests `x` against its trailing `history`: `Some((median, mad, z))` when it is anomalous.
pub fn robust_z(x: f64, history: &[f64], threshold: f64) -> Option<(f64, f64, f64)> {
    let mut h = history.to_vec();
    let m = median(&mut h);
    let mut dev: Vec<f64> = history.iter().map(|v| (v - m).abs()).collect();
    let mad = median(&mut dev);
    let z = if mad > 0.0 {
        0.6745 * (x - m) / mad
    } else {
        let mean_ad = dev.iter().sum::<f64>() / dev.len().max(1) as f64;
        if mean_ad > 0.0 {
            (x - m) / (1.2533 * mean_ad)
        } else {
            return None;
        }
    };
    (z.abs() > threshold).then_some((m, mad, z))
}

pub(crate) fn anomaly_set(method: String, tested: u64, mut anomalies: Vec<Anomaly>) -> AnomalySet {
    anomalies.sort_by(|a, b| {
        desc(a.robust_z.abs(), b.robust_z.abs())
            .then_with(|| a.subject.cmp(&b.subject))
            .then(a.date.cmp(&b.date))
            .then(a.hour.cmp(&b.hour))
    });
    let spikes = anomalies.iter().filter(|a| a.robust_z > 0.0).count() as u64;
    AnomalySet {
        method,
        points_tested: tested,
        spikes,
        drops: anomalies.len() as u64 - spikes,
        excess_cost_usd: anomalies
            .iter()
            .filter(|a| a.robust_z > 0.0)
            .map(|a| a.cost_usd - a.baseline_usd)
            .sum(),
        anomalies,
    }
}

/// Every UTC hour of the window, tested against the same hour of the previous `window_days` days.
fn hourly_anomalies(ctx: &Context<'_>, s: &DecisionSettings) -> Result<AnomalySet> {
    const HOUR_US: i64 = 3_600_000_000;
    let df = ctx.collect(
        ctx.calls()
            .group_by([(col("timestamp").cast(DataType::Int64) / lit(HOUR_US)).alias("hour")])
            .agg([cost_micros().sum().alias("cost_micros")]),
    )?;
    let first_hour = ctx
        .window
        .first_day
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp()
        / 3600;
    let hours = ctx.window.days as usize * 24;
    let mut series = vec![0.0; hours];
    for (hr, c) in ints(&df, "hour")?.into_iter().zip(ints(&df, "cost_micros")?) {
        let i = hr - first_hour;
        if (0..hours as i64).contains(&i) {
            series[i as usize] = usd(c);
        }
    }
    let mut tested = 0;
    let mut found = Vec::new();
    // Weekends are quieter by design: an hour is compared with the same hour of earlier days of
    // its own kind (weekday or weekend), the latest `window_days` of them.
    let weekend = |day: usize| {
        let date = ctx.window.first_day + chrono::Days::new(day as u64);
        chrono::Datelike::weekday(&date).number_from_monday() >= 6
    };
    for t in 0..hours {
        let (day, hour) = (t / 24, t % 24);
        let history: Vec<f64> = (0..day)
            .rev()
            .filter(|&d| weekend(d) == weekend(day))
            .take(s.window_days as usize)
            .map(|d| series[d * 24 + hour])
            .collect();
        if history.len() < s.min_history as usize {
            continue;
        }
        tested += 1;
        let x = series[t];
        if let Some((m, mad, z)) = robust_z(x, &history, s.mad_threshold) {
            let material = if z > 0.0 {
                x >= s.min_anomaly_cost
            } else {
                m >= s.min_anomaly_cost
            };
            if material {
                let at = crate::analyze::frame::hour_start(first_hour + t as i64);
                found.push(Anomaly {
                    subject: "all traffic".into(),
                    date: at.date_naive(),
                    hour: Some((t % 24) as u32),
                    day_kind: None,
                    cost_usd: x,
                    baseline_usd: m,
                    mad_usd: mad,
                    robust_z: z,
                    direction: if z > 0.0 { "spike" } else { "drop" }.into(),
                });
            }
        }
    }
    let method = format!(
        "Robust z-score of an hour's cost against the same UTC hour of the previous {} days of its kind, \
         weekday or weekend (threshold {})",
        s.window_days, s.mad_threshold
    );
    Ok(anomaly_set(method, tested, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robust_z_flags_a_spike_and_not_the_noise() {
        let history = [10.0, 11.0, 9.0, 10.5, 9.5, 10.0, 10.2];
        assert!(robust_z(10.8, &history, 3.5).is_none());
        let (m, mad, z) = robust_z(30.0, &history, 3.5).unwrap();
        assert_eq!(m, 10.0);
        assert!((mad - 0.5).abs() < 1e-12);
        assert!((z - 0.6745 * 20.0 / 0.5).abs() < 1e-9);
        assert!(robust_z(2.0, &history, 3.5).unwrap().2 < 0.0);
    }

    #[test]
    fn a_flat_history_falls_back_to_the_mean_deviation() {
        // MAD is 0 (most days equal) but one day differs: the mean absolute deviation decides.
        let history = [5.0, 5.0, 5.0, 5.0, 9.0];
        let (_, mad, z) = robust_z(20.0, &history, 3.5).unwrap();
        assert_eq!(mad, 0.0);
        assert!((z - 15.0 / (1.2533 * 0.8)).abs() < 1e-9);
        assert!(robust_z(20.0, &[5.0, 5.0, 5.0], 3.5).is_none(), "no spread: no verdict");
    }
}
