//! The scenarios page: each scenario's signature drawn from its own rows (the `scenario`
//! column) with its labels shaded, and for every label one measured figure beside the label's
//! magnitude, so a reader sees the generator did what the label says:
//!
//! | label kind | signature | measured figure | label magnitude |
//! | --- | --- | --- | --- |
//! | `flash_sale` | attempts per second around the sale, sell-out times marked | the busiest second's attempts | peak rate/s |
//! | `attack` | attempts per minute of the pattern around the attack | the pattern's attempts/s in the window | attempts/s |
//! | `drift` | daily mean total_amount and persona shares, drift weeks shaded | mean num_tickets ÷ the reference week's | drift level |
//! | `ab_test` | (on the same charts, its window shaded) | conversion uplift, treatment ÷ control − 1 | true uplift |
//! | `degradation` | p99 per minute around the window | p50 inside ÷ p50 outside every window | latency × |
//! | `black_friday` | attempts per hour vs the same hours a week before | that ratio | load × |
//!
//! A scenario with none of these labels gets attempts per day. The page has no checks: the
//! service, fraud, drift and A/B pages own the expectations; this one shows the ground truth.

mod page;
mod signatures;

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};
use maud::Markup;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::super::frame::{dates, ints, strings};
use super::super::{Analyzer, Context};
use super::labels::{self, Label};
use crate::config::{ConfigError, SettingsCheck, TicketingConfig};
use crate::report::html::Figure;

pub struct Scenarios;

/// `[ticketing.scenarios]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenariosSettings {
    /// Seconds charted before each flash sale opens and after it ends.
    pub flash_sale_margin_s: u64,
    /// Minutes charted either side of each fraud attack.
    pub attack_margin_minutes: u64,
    /// Minutes charted either side of each degradation window.
    pub degradation_margin_minutes: u64,
    /// Days back to the comparison window of a Black Friday.
    pub black_friday_lag_days: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScenariosResult {
    pub scenarios: Vec<ScenarioRows>,
    /// One per label: the label, its measured counterpart.
    pub figures: Vec<LabelFigure>,
    pub flash_sales: Vec<FlashSaleSignature>,
    pub attacks: Vec<AttackSignature>,
    pub everyday: Vec<EverydaySignature>,
    pub degradations: Vec<DegradationSignature>,
    pub black_fridays: Vec<BlackFridaySignature>,
    /// Attempts per day of the scenarios without a label-driven signature.
    pub plain: Vec<PlainSignature>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScenarioRows {
    pub scenario: String,
    pub rows: u64,
    pub share: f64,
    /// Labels per kind.
    pub labels: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LabelFigure {
    pub label: Label,
    /// What the label's magnitude is.
    pub magnitude_is: String,
    pub measured: Option<f64>,
    /// What the measured figure is, from which rows.
    pub measured_is: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FlashSaleSignature {
    pub label: Label,
    /// (seconds since the sale opened, attempts of the scenario in that second), every second
    /// of the charted range.
    pub per_second: Vec<(i64, u64)>,
    /// The busiest second inside the sale's window and its attempts.
    pub peak: Option<(DateTime<Utc>, u64)>,
    pub tiers: Vec<TierSellOut>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TierSellOut {
    pub tier: String,
    /// The tier's sell-out time, from the events table (`<tier>_sold_out_at`).
    pub sold_out_at: Option<DateTime<Utc>>,
    /// The first attempt answered `sold_out` for the tier (a presale allocation can run out
    /// before the tier does).
    pub first_sold_out_answer: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AttackSignature {
    pub label: Label,
    /// (minutes since the attack started, attempts with the label's fraud_pattern).
    pub per_minute: Vec<(i64, u64)>,
    /// Attempts with the pattern inside the window.
    pub in_window: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EverydaySignature {
    pub scenario: String,
    pub days: Vec<EverydayDay>,
    /// The drift and A/B labels of the scenario.
    pub labels: Vec<Label>,
    /// Attempts, amounts, tickets and personas per drift label (week), in label order.
    pub drift_windows: Vec<WindowMean>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EverydayDay {
    pub date: NaiveDate,
    pub attempts: u64,
    pub mean_amount: f64,
    /// Attempts per persona, personas sorted.
    pub personas: BTreeMap<String, u64>,
}

/// One drift week of the scenario's rows.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct WindowMean {
    pub attempts: u64,
    /// Sum of total_amount in cents, and of num_tickets.
    pub cents: i64,
    pub tickets: i64,
    /// Attempts per persona.
    pub personas: BTreeMap<String, u64>,
}

impl WindowMean {
    pub fn mean_amount(&self) -> Option<f64> {
        (self.attempts > 0).then(|| self.cents as f64 / 100.0 / self.attempts as f64)
    }

    pub fn mean_tickets(&self) -> Option<f64> {
        (self.attempts > 0).then(|| self.tickets as f64 / self.attempts as f64)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DegradationSignature {
    pub label: Label,
    /// (minutes since the window started, p99 of the scenario's successful decisions).
    pub per_minute_p99: Vec<(i64, f64)>,
    /// p50 of the scenario's successful decisions inside the window, and outside every
    /// degradation window.
    pub p50_inside: Option<f64>,
    pub p50_outside: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BlackFridaySignature {
    pub label: Label,
    pub lag_days: u64,
    /// (hours since the window started, attempts, attempts `lag_days` before).
    pub per_hour: Vec<(i64, u64, u64)>,
    /// Whether the comparison window lies inside the data.
    pub before_in_data: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlainSignature {
    pub scenario: String,
    pub per_day: Vec<(NaiveDate, u64)>,
}

impl Analyzer<TicketingConfig> for Scenarios {
    const NAME: &'static str = "scenarios";
    const TITLE: &'static str = "Scenarios and ground truth";
    const SUMMARY: &'static str = "Each scenario's signature from its own rows with its labels shaded, and every label's magnitude beside the figure measured in the data.";
    type Settings = ScenariosSettings;
    type Output = ScenariosResult;

    fn check(s: &ScenariosSettings, c: SettingsCheck<'_>, _: &TicketingConfig) -> Result<(), ConfigError> {
        c.count("flash_sale_margin_s", s.flash_sale_margin_s, 0, 86_400)?;
        c.count("attack_margin_minutes", s.attack_margin_minutes, 0, 1440)?;
        c.count("degradation_margin_minutes", s.degradation_margin_minutes, 0, 1440)?;
        c.count("black_friday_lag_days", s.black_friday_lag_days, 1, 365)
    }

    fn analyze(ctx: &Context<'_, TicketingConfig>, s: &ScenariosSettings) -> Result<ScenariosResult> {
        let labels = labels::read(ctx)?;
        let per_day = rows_per_scenario_day(ctx)?;
        let total: u64 = per_day.values().flatten().map(|(_, n)| n).sum();
        let present = |l: &&Label| per_day.contains_key(&l.scenario);
        let of = |kind: &'static str| -> Vec<&Label> { labels::of_kind(&labels, kind).filter(present).collect() };
        let flash_sales = signatures::flash_sales(ctx, s, &of("flash_sale"))?;
        let attacks = signatures::attacks(ctx, s, &of("attack"))?;
        let mut everyday_labels = of("drift");
        everyday_labels.extend(of("ab_test"));
        let (everyday, ab_uplifts) = signatures::everyday(ctx, &everyday_labels)?;
        let degradations = signatures::degradations(ctx, s, &of("degradation"))?;
        let first_us = per_day
            .values()
            .flatten()
            .map(|(d, _)| *d)
            .min()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(i64::MIN, |t| t.and_utc().timestamp_micros());
        let black_fridays = signatures::black_fridays(ctx, s, &of("black_friday"), first_us)?;
        let figures = figures(
            &labels,
            &flash_sales,
            &attacks,
            &everyday,
            &ab_uplifts,
            &degradations,
            &black_fridays,
        );
        let signed: Vec<&str> = figures.iter().map(|f| f.label.scenario.as_str()).collect();
        let plain = per_day
            .iter()
            .filter(|(sc, _)| !signed.contains(&sc.as_str()))
            .map(|(sc, days)| PlainSignature {
                scenario: sc.clone(),
                per_day: days.clone(),
            })
            .collect();
        let scenarios = per_day
            .iter()
            .map(|(sc, days)| {
                let rows: u64 = days.iter().map(|(_, n)| n).sum();
                let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
                for l in labels.iter().filter(|l| &l.scenario == sc) {
                    *by_kind.entry(l.kind.clone()).or_default() += 1;
                }
                ScenarioRows {
                    scenario: sc.clone(),
                    rows,
                    share: rows as f64 / total.max(1) as f64,
                    labels: by_kind,
                }
            })
            .collect();
        Ok(ScenariosResult {
            scenarios,
            figures,
            flash_sales,
            attacks,
            everyday,
            degradations,
            black_fridays,
            plain,
        })
    }

    fn headline(r: &ScenariosResult) -> Vec<Figure> {
        vec![
            Figure::count("Scenarios", r.scenarios.len() as u64),
            Figure::count("Labels", r.figures.len() as u64),
            Figure::count("Attempts", r.scenarios.iter().map(|s| s.rows).sum()),
        ]
    }

    fn render(r: &ScenariosResult, s: &ScenariosSettings) -> Result<Markup> {
        page::render(r, s)
    }
}

/// Attempts per scenario and UTC day, days sorted.
fn rows_per_scenario_day(ctx: &Context<'_, TicketingConfig>) -> Result<BTreeMap<String, Vec<(NaiveDate, u64)>>> {
    let df = ctx.collect(
        ctx.rows()
            .group_by([col("scenario"), col("timestamp").dt().date().alias("date")])
            .agg([len().cast(DataType::Int64).alias("n")]),
    )?;
    let mut out: BTreeMap<String, Vec<(NaiveDate, u64)>> = BTreeMap::new();
    for ((sc, d), n) in strings(&df, "scenario")?
        .into_iter()
        .zip(dates(&df, "date")?)
        .zip(ints(&df, "n")?)
    {
        out.entry(sc).or_default().push((d, n as u64));
    }
    for days in out.values_mut() {
        days.sort();
    }
    Ok(out)
}

/// One measured figure per label (labels of scenarios absent from the data measure nothing).
fn figures(
    labels: &[Label],
    flash_sales: &[FlashSaleSignature],
    attacks: &[AttackSignature],
    everyday: &[EverydaySignature],
    ab_uplifts: &[(Label, Option<f64>)],
    degradations: &[DegradationSignature],
    black_fridays: &[BlackFridaySignature],
) -> Vec<LabelFigure> {
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    let mut out = Vec::new();
    for l in labels {
        let (magnitude_is, measured, measured_is) = match l.kind.as_str() {
            "flash_sale" => (
                "peak rate (attempts/s)",
                flash_sales
                    .iter()
                    .find(|f| &f.label == l)
                    .and_then(|f| f.peak.map(|p| p.1 as f64)),
                "attempts of the scenario in the busiest second of the sale",
            ),
            "attack" => (
                "attempts/s",
                attacks
                    .iter()
                    .find(|a| &a.label == l)
                    .map(|a| a.in_window as f64 / ((l.end - l.start).num_milliseconds() as f64 / 1000.0).max(1.0)),
                "attempts/s with the pattern inside the window (the scenario's rows)",
            ),
            "drift" => (
                "drift level",
                everyday.iter().find_map(|e| {
                    let i = e.labels.iter().filter(|x| x.kind == "drift").position(|x| x == l)?;
                    ratio(
                        e.drift_windows.get(i)?.mean_tickets(),
                        e.drift_windows.first()?.mean_tickets(),
                    )
                }),
                "mean num_tickets in the week ÷ the first (reference) week's (the basket of the label's detail, plus the persona shift)",
            ),
            "ab_test" => (
                "true conversion uplift",
                ab_uplifts.iter().find(|(x, _)| x == l).and_then(|(_, u)| *u),
                "conversion uplift, treatment ÷ control − 1 (not abandoned, among legitimate attempts not sold out nor rate-limited)",
            ),
            "degradation" => (
                "latency multiplier",
                degradations
                    .iter()
                    .find(|d| &d.label == l)
                    .and_then(|d| ratio(d.p50_inside, d.p50_outside)),
                "p50 inside ÷ p50 outside every degradation window (the scenario's successful decisions)",
            ),
            "black_friday" => (
                "load multiplier",
                black_fridays
                    .iter()
                    .find(|b| &b.label == l && b.before_in_data)
                    .and_then(|b| {
                        let now: u64 = b.per_hour.iter().map(|p| p.1).sum();
                        let before: u64 = b.per_hour.iter().map(|p| p.2).sum();
                        (before > 0).then(|| now as f64 / before as f64)
                    }),
                "attempts of the scenario in the window ÷ the same hours a week before",
            ),
            _ => ("magnitude", None, "not measured on this page"),
        };
        if flash_sales.iter().any(|f| &f.label == l)
            || attacks.iter().any(|a| &a.label == l)
            || everyday.iter().any(|e| e.labels.contains(l))
            || degradations.iter().any(|d| &d.label == l)
            || black_fridays.iter().any(|b| &b.label == l)
        {
            out.push(LabelFigure {
                label: l.clone(),
                magnitude_is: magnitude_is.into(),
                measured,
                measured_is: measured_is.into(),
            });
        }
    }
    out
}
