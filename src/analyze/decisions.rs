//! Analyzer 3, real-time decisions: cost anomalies per customer-day and per hour (median/MAD against a
//! trailing window), customers over their tier's budget with a severity, inefficient call
//! patterns with their savings, portfolio risk, and alerts that name the customer and the action.
//!
//! Anomalies use the robust z-score 0.6745·(x − median)/MAD of the trailing window (falling back
//! to 1.2533·mean absolute deviation when the MAD is 0), so one spike does not hide the next the
//! way a mean and standard deviation would. Counts are true counts; only the tables are capped.

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Datelike, NaiveDate};
use maud::{Markup, html};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::frame::{DAYS_PER_MONTH, cost_micros, dates, desc, floats, ints, ratio, strings, usd};
use super::{Analyzer, Columns, Context};
use crate::config::{CallsConfig, ConfigError, SettingsCheck};
use crate::report::chart::{Bar, BarChart, Histogram, HistogramData, Marker, Unit, render_bar_chart, render_histogram};
use crate::report::html::{
    self as h, Cell, Figure, Recommendation, Severity, bars_size, capped_note, cards, chart_grid, recommendations,
    section, table,
};

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
    pub table_rows: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DecisionsResult {
    pub customer_day_anomalies: AnomalySet,
    pub hourly_anomalies: AnomalySet,
    /// Every customer, highest share of its budget first.
    pub budgets: Vec<BudgetStatus>,
    pub portfolio: Portfolio,
    pub patterns: Vec<Pattern>,
    pub heavy_callers: Vec<HeavyCaller>,
    pub alerts: Vec<Recommendation>,
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

impl Analyzer for Decisions {
    const NAME: &'static str = "decisions";
    const TITLE: &'static str = "Real-time decisions";
    const SUMMARY: &'static str =
        "Cost anomalies, customers over budget, inefficient patterns, portfolio risk and the alerts to act on.";
    type Settings = DecisionSettings;
    type Output = DecisionsResult;
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
        c.count("table_rows", s.table_rows, 1, 100_000)
    }

    fn analyze(ctx: &Context<'_>, s: &DecisionSettings) -> Result<DecisionsResult> {
        let customer_days = customer_days(ctx)?;
        let customer_day_anomalies = customer_day_anomalies(&customer_days, s);
        let hourly_anomalies = hourly_anomalies(ctx, s)?;
        let budgets = budgets(&customer_days, s);
        let portfolio = portfolio(&budgets);
        let patterns = patterns(ctx, s)?;
        let heavy_callers = heavy_callers(&customer_days, s);
        let alerts = alerts(
            s,
            &budgets,
            &customer_day_anomalies,
            &hourly_anomalies,
            &patterns,
            &heavy_callers,
        );
        Ok(DecisionsResult {
            customer_day_anomalies,
            hourly_anomalies,
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
            Figure::count("Customers over budget", r.portfolio.critical),
            Figure::percent("Portfolio health", r.portfolio.health),
            Figure::usd("Cost over budget", r.portfolio.cost_over_budget_usd),
        ]
    }

    fn render(r: &DecisionsResult, s: &DecisionSettings) -> Result<Markup> {
        let cap = s.table_rows as usize;
        let anomaly_rows = |set: &AnomalySet| -> Vec<Vec<Cell>> {
            set.anomalies
                .iter()
                .take(cap)
                .map(|a| {
                    let when = match a.hour {
                        Some(hr) => format!("{} {hr:02}:00", a.date),
                        None => a.date.to_string(),
                    };
                    vec![
                        Cell::text(&a.subject),
                        Cell::text(when),
                        Cell::text(&a.direction),
                        Cell::usd(a.cost_usd),
                        Cell::usd(a.baseline_usd),
                        Cell::number(a.robust_z, 1),
                    ]
                })
                .collect()
        };
        let anomaly_head = ["Subject", "When", "Direction", "Cost", "Baseline (median)", "Robust z"];
        let budget_rows: Vec<Vec<Cell>> = r
            .budgets
            .iter()
            .filter(|b| b.risk != Severity::Low)
            .take(cap)
            .map(|b| {
                vec![
                    Cell::text(&b.customer_id),
                    Cell::text(&b.subscription_tier),
                    Cell::count(u64::from(b.active_days)),
                    Cell::usd(b.budget_usd),
                    Cell::usd(b.cost_usd),
                    Cell::percent(b.budget_share),
                    Cell::text(b.risk.as_str()),
                ]
            })
            .collect();
        let at_risk = r.budgets.iter().filter(|b| b.risk != Severity::Low).count();
        let pattern_rows: Vec<Vec<Cell>> = r
            .patterns
            .iter()
            .map(|p| {
                vec![
                    Cell::text(&p.description),
                    Cell::count(p.calls),
                    Cell::usd(p.cost_usd),
                    Cell::usd(p.saving_usd),
                    Cell::text(
                        p.top_customers
                            .iter()
                            .take(3)
                            .map(|c| c.customer_id.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                ]
            })
            .collect();
        let heavy_rows: Vec<Vec<Cell>> = r
            .heavy_callers
            .iter()
            .take(cap)
            .map(|c| {
                vec![
                    Cell::text(&c.customer_id),
                    Cell::count(c.calls),
                    Cell::number(c.multiple, 1),
                    Cell::usd(c.cost_usd),
                ]
            })
            .collect();
        let charts = charts(r, s)?;
        let p = &r.portfolio;
        let cd = &r.customer_day_anomalies;
        let hr = &r.hourly_anomalies;
        Ok(html! {
            (section("Portfolio risk", Some(&format!(
                "Budget = the tier price prorated to the days from a customer's first to last call ({} days a month). \
                 Risk: over {} of budget critical, over {} high, over {} medium, else low.",
                DAYS_PER_MONTH, h::percent(s.budget_critical), h::percent(s.budget_high), h::percent(s.budget_medium))),
                cards(&[
                    Figure::count("Customers", p.customers),
                    Figure::count("Critical", p.critical),
                    Figure::count("High", p.high),
                    Figure::count("Medium", p.medium),
                    Figure::count("Low", p.low),
                    Figure::percent("Portfolio health", p.health),
                    Figure::usd("Cost over budget", p.cost_over_budget_usd),
                ])))
            (section("Budget use", Some("Each customer's cost as a share of its prorated plan price."), chart_grid(&charts)))
            (section("Alerts", Some("Most urgent first."), html! {
                (recommendations(&r.alerts))
            }))
            (section("Customer-day cost anomalies", Some(&format!(
                "{}. {} customer-days tested: {} spikes, {} drops; spikes cost {} above their baselines.",
                cd.method, h::count(cd.points_tested as f64), cd.spikes, cd.drops, h::usd(cd.excess_cost_usd))),
                html! {
                    (table(&anomaly_head, &anomaly_rows(cd)))
                    (capped_note(cap.min(cd.anomalies.len()), cd.anomalies.len()))
                }))
            (section("Hourly cost anomalies", Some(&format!(
                "{}. {} hours tested: {} spikes, {} drops.", hr.method, h::count(hr.points_tested as f64), hr.spikes, hr.drops)),
                html! {
                    (table(&anomaly_head, &anomaly_rows(hr)))
                    (capped_note(cap.min(hr.anomalies.len()), hr.anomalies.len()))
                }))
            (section("Customers at risk", None, html! {
                (table(&["Customer", "Tier", "Active days", "Budget", "Cost", "Of budget", "Risk"], &budget_rows))
                (capped_note(budget_rows.len(), at_risk))
            }))
            (section("Inefficient patterns", None,
                table(&["Pattern", "Calls", "Cost", "Possible saving", "Top customers"], &pattern_rows)))
            (section("Heavy callers", Some(&format!(
                "Customers with more than {}× the average calls per customer.", s.heavy_caller_multiple)),
                html! {
                    (table(&["Customer", "Calls", "× average", "Cost"], &heavy_rows))
                    (capped_note(heavy_rows.len(), r.heavy_callers.len()))
                }))
        })
    }
}

fn charts(r: &DecisionsResult, s: &DecisionSettings) -> Result<Vec<String>> {
    let shares: Vec<f64> = r.budgets.iter().map(|b| b.budget_share * 100.0).collect();
    let histogram = render_histogram(&Histogram {
        title: "Customers by share of budget used".into(),
        x_label: "Cost as a share of the prorated plan price".into(),
        y_label: "Customers".into(),
        x_unit: Unit::Percent,
        y_unit: Unit::Count,
        data: HistogramData::Raw {
            values: shares,
            bins: 20,
        },
        markers: vec![
            Marker::new(s.budget_medium * 100.0, "medium"),
            Marker::new(s.budget_high * 100.0, "high"),
            Marker::new(s.budget_critical * 100.0, "critical"),
        ],
        ..Default::default()
    })?;
    let top: Vec<Bar> = r
        .budgets
        .iter()
        .take(15)
        .map(|b| {
            Bar::new(
                format!("{} ({})", b.customer_id, b.subscription_tier),
                b.budget_share * 100.0,
            )
        })
        .collect();
    let bars = render_bar_chart(&BarChart {
        title: "Highest budget use".into(),
        value_label: "Share of prorated plan price".into(),
        unit: Unit::Percent,
        size: bars_size(top.len()),
        bars: top,
        ..Default::default()
    })?;
    Ok(vec![histogram, bars])
}

/// Cost and calls of one customer on one day, with the customer's tier.
pub(crate) struct CustomerDay {
    pub(crate) customer: String,
    tier: String,
    tier_price: f64,
    pub(crate) date: NaiveDate,
    calls: u64,
    cost_micros: i64,
}

/// Customer-days, sorted by customer then date.
pub(crate) fn customer_days(ctx: &Context<'_>) -> Result<Vec<CustomerDay>> {
    let df = ctx.collect(
        ctx.calls()
            .group_by([col("customer_id"), col("timestamp").dt().date().alias("date")])
            .agg([
                len().cast(DataType::Int64).alias("calls"),
                cost_micros().sum().alias("cost_micros"),
                col("subscription_tier").min().alias("tier"),
                col("tier_price_usd").min().alias("tier_price"),
            ]),
    )?;
    let (ids, days, calls, cost, tiers, prices) = (
        strings(&df, "customer_id")?,
        dates(&df, "date")?,
        ints(&df, "calls")?,
        ints(&df, "cost_micros")?,
        strings(&df, "tier")?,
        floats(&df, "tier_price")?,
    );
    let mut out: Vec<CustomerDay> = (0..df.height())
        .map(|i| CustomerDay {
            customer: ids[i].clone(),
            tier: tiers[i].clone(),
            tier_price: prices[i],
            date: days[i],
            calls: calls[i] as u64,
            cost_micros: cost[i],
        })
        .collect();
    out.sort_by(|a, b| a.customer.cmp(&b.customer).then(a.date.cmp(&b.date)));
    Ok(out)
}

/// The median of `v` (sorted in place); 0 for an empty slice.
fn median(v: &mut [f64]) -> f64 {
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

fn anomaly_set(method: String, tested: u64, mut anomalies: Vec<Anomaly>) -> AnomalySet {
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

/// Each customer's days from its first to its last call (0 on a day without calls), each tested
/// against the customer's previous `window_days` days.
pub(crate) fn customer_day_anomalies(days: &[CustomerDay], s: &DecisionSettings) -> AnomalySet {
    let mut tested = 0;
    let mut found = Vec::new();
    for group in days.chunk_by(|a, b| a.customer == b.customer) {
        let first = group[0].date;
        let span = (group[group.len() - 1].date - first).num_days() as usize + 1;
        let mut series = vec![0.0; span];
        for d in group {
            series[(d.date - first).num_days() as usize] = usd(d.cost_micros);
        }
        for t in 0..span {
            let lo = t.saturating_sub(s.window_days as usize);
            let history = &series[lo..t];
            if history.len() < s.min_history as usize {
                continue;
            }
            tested += 1;
            let x = series[t];
            if let Some((m, mad, z)) = robust_z(x, history, s.mad_threshold) {
                // A spike must cost something; a drop must fall from a baseline that did.
                let material = if z > 0.0 {
                    x >= s.min_anomaly_cost
                } else {
                    m >= s.min_anomaly_cost
                };
                if material {
                    found.push(Anomaly {
                        subject: group[0].customer.clone(),
                        date: first + chrono::Days::new(t as u64),
                        hour: None,
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
        "Robust z-score of a customer's daily cost against its previous {} days (threshold {})",
        s.window_days, s.mad_threshold
    );
    anomaly_set(method, tested, found)
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
        date.weekday().number_from_monday() >= 6
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
                let at = DateTime::from_timestamp((first_hour + t as i64) * 3600, 0).expect("in range");
                found.push(Anomaly {
                    subject: "all traffic".into(),
                    date: at.date_naive(),
                    hour: Some((t % 24) as u32),
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

fn budgets(days: &[CustomerDay], s: &DecisionSettings) -> Vec<BudgetStatus> {
    let mut out: Vec<BudgetStatus> = days
        .chunk_by(|a, b| a.customer == b.customer)
        .map(|g| {
            let (first, last) = (g[0].date, g[g.len() - 1].date);
            let active_days = (last - first).num_days() as u32 + 1;
            let budget = g[0].tier_price * f64::from(active_days) / DAYS_PER_MONTH;
            let cost = usd(g.iter().map(|d| d.cost_micros).sum());
            let share = ratio(cost, budget);
            let risk = if share > s.budget_critical {
                Severity::Critical
            } else if share > s.budget_high {
                Severity::High
            } else if share > s.budget_medium {
                Severity::Medium
            } else {
                Severity::Low
            };
            BudgetStatus {
                customer_id: g[0].customer.clone(),
                subscription_tier: g[0].tier.clone(),
                tier_price_usd: g[0].tier_price,
                first_day: first,
                last_day: last,
                active_days,
                budget_usd: budget,
                cost_usd: cost,
                budget_share: share,
                risk,
            }
        })
        .collect();
    out.sort_by(|a, b| desc(a.budget_share, b.budget_share).then_with(|| a.customer_id.cmp(&b.customer_id)));
    out
}

fn portfolio(budgets: &[BudgetStatus]) -> Portfolio {
    let n = |sev: Severity| budgets.iter().filter(|b| b.risk == sev).count() as u64;
    let low = n(Severity::Low);
    Portfolio {
        customers: budgets.len() as u64,
        critical: n(Severity::Critical),
        high: n(Severity::High),
        medium: n(Severity::Medium),
        low,
        health: ratio(low as f64, budgets.len() as f64),
        cost_over_budget_usd: budgets.iter().map(|b| (b.cost_usd - b.budget_usd).max(0.0)).sum(),
    }
}

/// Calls matching `filter`: their count, cost and the customers spending most on them.
fn pattern(
    ctx: &Context<'_>,
    filter: Expr,
    kind: &str,
    description: String,
    saving: f64,
    top: usize,
) -> Result<Pattern> {
    let df = ctx.collect(ctx.calls().filter(filter).group_by([col("customer_id")]).agg([
        len().cast(DataType::Int64).alias("calls"),
        cost_micros().sum().alias("cost_micros"),
    ]))?;
    let (ids, calls, cost) = (
        strings(&df, "customer_id")?,
        ints(&df, "calls")?,
        ints(&df, "cost_micros")?,
    );
    let total_micros: i64 = cost.iter().sum();
    let mut customers: Vec<CustomerSpend> = (0..df.height())
        .map(|i| CustomerSpend {
            customer_id: ids[i].clone(),
            calls: calls[i] as u64,
            cost_usd: usd(cost[i]),
        })
        .collect();
    customers.sort_by(|a, b| desc(a.cost_usd, b.cost_usd).then_with(|| a.customer_id.cmp(&b.customer_id)));
    customers.truncate(top);
    Ok(Pattern {
        kind: kind.into(),
        description,
        calls: calls.iter().sum::<i64>() as u64,
        cost_usd: usd(total_micros),
        saving_usd: usd(total_micros) * saving,
        top_customers: customers,
    })
}

fn patterns(ctx: &Context<'_>, s: &DecisionSettings) -> Result<Vec<Pattern>> {
    let cost = || col("cost_usd");
    let small = pattern(
        ctx,
        cost().gt(lit(s.expensive_small_call_cost)).and(
            col("total_tokens")
                .cast(DataType::Int64)
                .lt(lit(s.expensive_small_call_tokens as i64)),
        ),
        "expensive_small_calls",
        format!(
            "Calls over {} with fewer than {} tokens (a cheaper model would do; saving {})",
            h::usd(s.expensive_small_call_cost),
            s.expensive_small_call_tokens,
            h::percent(s.expensive_small_call_saving)
        ),
        s.expensive_small_call_saving,
        10,
    )?;
    let slow = pattern(
        ctx,
        col("latency_ms")
            .cast(DataType::Int64)
            .gt(lit(s.slow_expensive_call_ms as i64))
            .and(cost().gt(lit(s.slow_expensive_call_cost))),
        "slow_expensive_calls",
        format!(
            "Calls slower than {} ms costing over {} (saving {})",
            h::count(s.slow_expensive_call_ms as f64),
            h::usd(s.slow_expensive_call_cost),
            h::percent(s.slow_expensive_call_saving)
        ),
        s.slow_expensive_call_saving,
        10,
    )?;
    Ok(vec![small, slow])
}

fn heavy_callers(days: &[CustomerDay], s: &DecisionSettings) -> Vec<HeavyCaller> {
    let mut per: BTreeMap<&str, (u64, i64)> = BTreeMap::new();
    for d in days {
        let e = per.entry(&d.customer).or_default();
        e.0 += d.calls;
        e.1 += d.cost_micros;
    }
    let avg = ratio(per.values().map(|v| v.0 as f64).sum(), per.len() as f64);
    let mut out: Vec<HeavyCaller> = per
        .into_iter()
        .filter(|(_, v)| v.0 as f64 > s.heavy_caller_multiple * avg)
        .map(|(id, v)| HeavyCaller {
            customer_id: id.to_string(),
            calls: v.0,
            multiple: ratio(v.0 as f64, avg),
            cost_usd: usd(v.1),
        })
        .collect();
    out.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.customer_id.cmp(&b.customer_id)));
    out
}

fn alerts(
    s: &DecisionSettings,
    budgets: &[BudgetStatus],
    days: &AnomalySet,
    hours: &AnomalySet,
    patterns: &[Pattern],
    heavy: &[HeavyCaller],
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    for b in budgets.iter().filter(|b| b.risk >= Severity::High) {
        let over = b.cost_usd - b.budget_usd;
        let (title, action) = if b.risk == Severity::Critical {
            (
                "Customer over budget",
                format!(
                    "Move {} off the {} tier (upgrade, or bill usage above the plan); review its model choices.",
                    b.customer_id, b.subscription_tier
                ),
            )
        } else {
            (
                "Customer near budget",
                format!(
                    "Warn {}'s account owner; set a usage cap before it passes its plan price.",
                    b.customer_id
                ),
            )
        };
        out.push(Recommendation {
            severity: b.risk,
            title: title.into(),
            message: format!(
                "{} ({}, {} a month) cost {} over {} active days: {} of its prorated price {}.",
                b.customer_id,
                b.subscription_tier,
                h::usd(b.tier_price_usd),
                h::usd(b.cost_usd),
                b.active_days,
                h::percent(b.budget_share),
                h::usd(b.budget_usd)
            ),
            action,
            amount_usd: Some(over.max(0.0)),
        });
    }
    for a in days.anomalies.iter().filter(|a| a.robust_z > 0.0).take(5) {
        out.push(Recommendation {
            severity: Severity::High,
            title: "Cost spike".into(),
            message: format!(
                "{} spent {} on {}, against a median of {} over its previous {} days (robust z {:.1}).",
                a.subject,
                h::usd(a.cost_usd),
                a.date,
                h::usd(a.baseline_usd),
                s.window_days,
                a.robust_z
            ),
            action: format!(
                "Check {}'s traffic of {} for a runaway job or abuse; set a daily cap.",
                a.subject, a.date
            ),
            amount_usd: Some(a.cost_usd - a.baseline_usd),
        });
    }
    if let Some(a) = hours.anomalies.iter().find(|a| a.robust_z > 0.0) {
        out.push(Recommendation {
            severity: Severity::Medium,
            title: "Hourly cost spike".into(),
            message: format!(
                "All traffic cost {} in the hour {} {:02}:00 UTC, against a median of {} at that hour (robust z {:.1}).",
                h::usd(a.cost_usd),
                a.date,
                a.hour.unwrap_or(0),
                h::usd(a.baseline_usd),
                a.robust_z
            ),
            action: "Find the customers behind the hour in the customer-day table; check rate limits.".into(),
            amount_usd: Some(a.cost_usd - a.baseline_usd),
        });
    }
    for p in patterns.iter().filter(|p| p.calls > 0) {
        let who = p.top_customers.first().map_or(String::new(), |c| {
            format!("; most by {} ({})", c.customer_id, h::usd(c.cost_usd))
        });
        out.push(Recommendation {
            severity: Severity::Medium,
            title: "Inefficient pattern".into(),
            message: format!(
                "{}: {} calls cost {}{}.",
                p.description,
                h::count(p.calls as f64),
                h::usd(p.cost_usd),
                who
            ),
            action: "Route these calls to a cheaper or faster model (see the rate optimization report).".into(),
            amount_usd: Some(p.saving_usd),
        });
    }
    if let Some(c) = heavy.first() {
        out.push(Recommendation {
            severity: Severity::Low,
            title: "Heavy caller".into(),
            message: format!(
                "{} made {} calls, {:.1}× the average customer ({} heavy callers in all).",
                c.customer_id,
                h::count(c.calls as f64),
                c.multiple,
                heavy.len()
            ),
            action: format!(
                "Confirm {}'s plan covers its volume; offer a volume tier.",
                c.customer_id
            ),
            amount_usd: Some(c.cost_usd),
        });
    }
    out.sort_by_key(|a| std::cmp::Reverse(a.severity));
    out
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
