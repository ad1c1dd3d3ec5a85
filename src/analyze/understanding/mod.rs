//! Analyzer 1, understanding usage and cost: where the money goes (provider, model, customer,
//! organization, product, feature), token efficiency, when it is spent (daily, hour × weekday),
//! where it is heading (30-day, 90-day and annual forecast with an interval), the top spenders,
//! and recommendations with dollar amounts. Queries in [`compute`], the forecast in
//! [`forecast`], the page in [`page`].

mod compute;
mod forecast;
mod page;

use anyhow::Result;
use chrono::NaiveDate;
use maud::Markup;
use serde::{Deserialize, Serialize};

pub use forecast::{Forecast, ForecastDay, Horizon, forecast, z_score};

use super::frame::CostGroup;
use super::{Analyzer, Columns, Context};
use crate::config::{CallsConfig, ConfigError, SettingsCheck};
use crate::report::html::Figure;
use crate::report::html::Recommendation;

pub struct Understanding;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnderstandingSettings {
    pub top_spenders: u64,
    /// Confidence of the forecast interval: 0.8, 0.9, 0.95 or 0.99.
    pub forecast_confidence: f64,
    pub provider_concentration: f64,
    pub model_cost_ratio: f64,
    pub customer_concentration: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UnderstandingResult {
    pub totals: Summary,
    pub by_provider: Vec<CostGroup>,
    pub by_model: Vec<ModelCost>,
    pub by_organization: Vec<CostGroup>,
    pub by_product: Vec<CostGroup>,
    pub by_feature: Vec<CostGroup>,
    /// Every customer, dearest first.
    pub by_customer: Vec<CustomerCost>,
    pub by_task: Vec<TaskTokens>,
    pub daily: Vec<DailyCost>,
    pub daily_by_provider: Vec<DailyProviderCost>,
    /// All 7 × 24 cells, Monday = 1, UTC hours.
    pub hour_weekday: Vec<HourWeekday>,
    pub forecast: Forecast,
    pub efficiency: Efficiency,
    pub top_spenders: Vec<CustomerCost>,
    pub recommendations: Vec<Recommendation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub calls: u64,
    pub successful_calls: u64,
    pub cost_usd: f64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_tokens: i64,
    pub cost_per_call: f64,
    /// Over all tokens of all calls.
    pub cost_per_1k_tokens: f64,
    pub customers: u64,
    pub days: u32,
    pub avg_daily_cost: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelCost {
    pub provider: String,
    #[serde(flatten)]
    pub cost: CostGroup,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CustomerCost {
    pub customer_id: String,
    pub subscription_tier: String,
    pub organization_id: String,
    pub calls: u64,
    pub cost_usd: f64,
    pub cost_share: f64,
}

/// Token use of successful calls by task type.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskTokens {
    pub task_type: String,
    pub successful_calls: u64,
    pub avg_input_tokens: f64,
    pub avg_output_tokens: f64,
    /// Output tokens per input token.
    pub output_per_input: f64,
    pub cost_usd: f64,
    pub cost_per_1k_tokens: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DailyCost {
    pub date: NaiveDate,
    pub calls: u64,
    pub cost_usd: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DailyProviderCost {
    pub date: NaiveDate,
    pub provider: String,
    pub cost_usd: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HourWeekday {
    /// ISO weekday, Monday = 1.
    pub weekday: u32,
    /// UTC hour.
    pub hour: u32,
    pub calls: u64,
    pub cost_usd: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Efficiency {
    pub cost_per_1k_tokens: f64,
    pub most_efficient_model: String,
    pub most_efficient_cost_per_1k: f64,
    pub least_efficient_model: String,
    pub least_efficient_cost_per_1k: f64,
    /// Least efficient ÷ most efficient.
    pub ratio: f64,
}

impl Analyzer for Understanding {
    const NAME: &'static str = "understanding";
    const TITLE: &'static str = "Understanding usage & cost";
    const SUMMARY: &'static str = "Where the money goes, when it is spent, where it is heading, and who spends it.";
    type Settings = UnderstandingSettings;
    type Output = UnderstandingResult;
    const COLUMNS: Columns = Columns::Only(&[
        "timestamp",
        "provider",
        "model",
        "customer_id",
        "subscription_tier",
        "organization_id",
        "product_id",
        "feature_id",
        "task_type",
        "status",
        "cost_usd",
        "input_tokens",
        "output_tokens",
        "latency_ms",
    ]);

    fn check(s: &UnderstandingSettings, c: SettingsCheck<'_>, _: &CallsConfig) -> Result<(), ConfigError> {
        c.count("top_spenders", s.top_spenders, 1, 1000)?;
        if z_score(s.forecast_confidence).is_none() {
            return Err(c.invalid(
                "forecast_confidence",
                format!("{} is not allowed: one of 0.8, 0.9, 0.95, 0.99", s.forecast_confidence),
            ));
        }
        c.fraction("provider_concentration", s.provider_concentration)?;
        c.range("model_cost_ratio", s.model_cost_ratio, 1.0, 1e6)?;
        c.fraction("customer_concentration", s.customer_concentration)
    }

    fn analyze(ctx: &Context<'_>, s: &UnderstandingSettings) -> Result<UnderstandingResult> {
        compute::analyze(ctx, s)
    }

    fn headline(r: &UnderstandingResult) -> Vec<Figure> {
        let h30 = r.forecast.horizons.first();
        vec![
            Figure::usd("Total cost", r.totals.cost_usd),
            Figure::count("Calls", r.totals.calls),
            Figure::usd("Cost per 1K tokens", r.totals.cost_per_1k_tokens),
            Figure::usd("30-day forecast", h30.map_or(0.0, |h| h.expected)),
        ]
    }

    fn render(r: &UnderstandingResult, s: &UnderstandingSettings) -> Result<Markup> {
        page::render(r, s)
    }
}
