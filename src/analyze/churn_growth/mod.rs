//! Churn and growth: who stays (cohort retention by first-seen week), who grows or declines and
//! how fast, who has gone, and how well each call matches the `churn`, `decline` and `growth`
//! labels.
//!
//! Definitions (the original's code and spec disagree; these are the contract):
//! - weeks are 7-day periods from the window's first day (UTC); only complete weeks count, so a
//!   2-day tail is not read as a collapse. A customer's cohort is the week of its first call; the
//!   first cohort also holds every customer already active before the window began;
//! - a customer's trend is the log-linear fit of its daily calls from its first day to the
//!   window's last ([`stats::trend`](crate::analyze::stats::trend); silence counts as 0 calls),
//!   with weekends and the plan's holidays as days off; it is *growing* or *declining* when the
//!   slope survives Benjamini–Hochberg at `fdr` over every customer tested, else *stable*;
//!   customers with fewer than `min_days` days are not classified (the original halved a short
//!   window and called 94% of customers "growing");
//! - churn is the decisions page's detector ([`churn_risks`](crate::analyze::decisions::daily::churn_risks)): silent to the window's end
//!   longer than its own recent rate makes likely. A customer's churn risk is *churned* (that
//!   detector), else *declining* (its trend), else none; the revenue at risk is the monthly
//!   tier price of those customers.
//!
//! Files: [`compute`] the figures, [`page`] the page.

mod compute;
mod page;

use anyhow::Result;
use chrono::NaiveDate;
use maud::Markup;
use serde::{Deserialize, Serialize};

use super::decisions::{DecisionSettings, check_churn};
use super::stats::Trend;
use super::{Analyzer, Columns, Context};
use crate::config::{AnalysisFile, CallsConfig, ConfigError, SettingsCheck};
use crate::report::html::{Figure, Recommendation};

pub struct ChurnGrowth;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChurnGrowthSettings {
    /// Expected share of false discoveries among the customers called growing or declining.
    pub fdr: f64,
    /// Fewest days (first call to the window's end) a customer needs for its trend to be tested.
    pub min_days: u64,
    /// Rows of each table on the page (the JSON lists all).
    pub table_rows: u64,
    /// The churn detector: the days before the silence that give a customer's recent rate, and
    /// the Poisson probability of its silence below which it has churned. They are `[decisions]`'
    /// keys, read from there: one detector, one place to set it.
    #[serde(skip)]
    pub churn_lookback_days: u64,
    #[serde(skip)]
    pub churn_p_value: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChurnGrowthResult {
    pub window_days: u32,
    pub first_day: NaiveDate,
    /// Complete weeks in the window.
    pub weeks: u32,
    pub customers: u64,
    /// One row per first-seen week that has customers.
    pub cohorts: Vec<Cohort>,
    /// Customers first seen in the trailing partial week (in no cohort).
    pub customers_after_last_week: u64,
    pub overall: OverallGrowth,
    pub classes: ClassCounts,
    /// Every customer, churned first, then declining (steepest first), then by id.
    pub by_customer: Vec<CustomerGrowth>,
    pub churned: u64,
    pub declining_at_risk: u64,
    /// Monthly tier price of the churned and declining customers.
    pub monthly_revenue_at_risk: f64,
    pub labels_file: Option<std::path::PathBuf>,
    /// Precision and recall per label kind (`churn`, `decline`, `growth`), when labels are beside
    /// the data.
    pub scores: Vec<KindScore>,
    pub recommendations: Vec<Recommendation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Cohort {
    /// Week index from the window's first day, and the week's first day.
    pub week: u32,
    pub start: NaiveDate,
    pub customers: u64,
    /// Customers with a call in each week since (index 0: the cohort's own week).
    pub active: Vec<u64>,
    pub retention: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OverallGrowth {
    /// Calls per complete week.
    pub weekly_calls: Vec<u64>,
    /// Change from the week before (`None` for the first, or after a week without calls).
    pub week_over_week: Vec<Option<f64>>,
    /// The trend of all calls per day over the window.
    pub trend: Option<Trend>,
    pub class: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ClassCounts {
    pub growing: u64,
    pub stable: u64,
    pub declining: u64,
    /// Too few days to test.
    pub untested: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CustomerGrowth {
    pub customer_id: String,
    pub subscription_tier: String,
    pub tier_price_usd: f64,
    pub scenario: Option<String>,
    pub first_day: NaiveDate,
    pub calls: u64,
    /// Calls per complete week of the window (0 before the first day).
    pub weekly_calls: Vec<u64>,
    /// The last complete week against the one before (`None` when that one had no calls).
    pub last_week_over_week: Option<f64>,
    pub trend: Option<Trend>,
    /// `growing`, `stable`, `declining` or `untested`.
    pub class: String,
    /// The churn detector, when the customer is silent at the window's end.
    pub silent_days: u32,
    pub silence_p_value: Option<f64>,
    /// `churned`, `declining` or empty.
    pub risk: String,
}

/// One label kind against what the page calls it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KindScore {
    pub kind: String,
    pub method: String,
    /// Customers labelled (present in the data), flagged, and both.
    pub labelled: u64,
    pub flagged: u64,
    pub true_positives: u64,
    pub precision: f64,
    pub recall: f64,
    /// Flagged customers not labelled, per scenario (where the false alarms come from).
    pub false_alarms_by_scenario: Vec<(String, u64)>,
}

impl Analyzer for ChurnGrowth {
    const NAME: &'static str = "churn_growth";
    const TITLE: &'static str = "Churn and growth";
    const SUMMARY: &'static str = "Cohort retention by first-seen week, growth rates per customer with a significance test, churned and declining customers, scored against the labels.";
    type Settings = ChurnGrowthSettings;
    type Output = ChurnGrowthResult;
    /// What the customer-day query of [`customer_days`](crate::analyze::decisions::daily::customer_days) reads (it reads `scenario` too
    /// when the data has it, for the labels and the calendar).
    const COLUMNS: Columns = Columns::Only(&[
        "timestamp",
        "customer_id",
        "cost_usd",
        "subscription_tier",
        "tier_price_usd",
    ]);

    fn read_settings(file: &AnalysisFile) -> Result<ChurnGrowthSettings, ConfigError> {
        let detector: DecisionSettings = file.section("decisions")?;
        Ok(ChurnGrowthSettings {
            churn_lookback_days: detector.churn_lookback_days,
            churn_p_value: detector.churn_p_value,
            ..file.section(Self::NAME)?
        })
    }

    fn check(s: &ChurnGrowthSettings, c: SettingsCheck<'_>, _: &CallsConfig) -> Result<(), ConfigError> {
        c.range("fdr", s.fdr, 0.0001, 0.5)?;
        c.count("min_days", s.min_days, 7, 3650)?;
        c.count("table_rows", s.table_rows, 1, 10_000)?;
        check_churn(s.churn_lookback_days, s.churn_p_value, c.table("decisions"))
    }

    fn analyze(ctx: &Context<'_>, s: &ChurnGrowthSettings) -> Result<ChurnGrowthResult> {
        compute::analyze(ctx, s)
    }

    fn headline(r: &ChurnGrowthResult) -> Vec<Figure> {
        vec![
            Figure::count("Customers", r.customers),
            Figure::count("Churned", r.churned),
            Figure::count("Declining", r.classes.declining),
            Figure::count("Growing", r.classes.growing),
            Figure::usd("Monthly revenue at risk", r.monthly_revenue_at_risk),
        ]
    }

    fn render(r: &ChurnGrowthResult, s: &ChurnGrowthSettings) -> Result<Markup> {
        page::render(r, s)
    }
}
