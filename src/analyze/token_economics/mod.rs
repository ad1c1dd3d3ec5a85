//! Token economics: what a dollar buys in tokens, per model and task type, and the tokens spent
//! for nothing: failed calls' prompts, prompts far longer than their task's usual, and retries.
//!
//! Definitions (the original's code and spec disagree on several; these are the contract):
//! - tokens are input + output; *tokens per dollar* and *cost per 1M tokens* are over the
//!   successful calls (the billed ones), as ratios of sums;
//! - the *input:output ratio* is Σinput ÷ Σoutput (the original's code; its spec inverts it);
//! - an *oversized prompt* is a successful call whose input is above its task type's p95 input
//!   (nearest rank, from counts), and its *excess* is the input above that p95, priced at the
//!   catalogue's input price: what trimming it to the task's usual length would have saved;
//! - the data has no retry marker, so *retries* are estimated (see [`retries`]).

mod compute;
mod page;
pub mod retries;

use anyhow::Result;
use maud::Markup;
use serde::{Deserialize, Serialize};

use super::{Analyzer, Columns, Context};
use crate::config::{CallsConfig, ConfigError, SettingsCheck};
use crate::report::html::{Figure, Recommendation};
pub use retries::Retries;

pub struct TokenEconomics;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    /// A successful call's prompt is oversized above this quantile of its task type's inputs.
    pub oversized_quantile: f64,
    /// A call with the same customer, feature and model this soon after a failure may be its
    /// retry (seconds).
    pub retry_window_s: u64,
    /// Rows in the model and task × model tables.
    pub top_rows: u64,
    /// Recommend trimming prompts when their excess costs more than this a month (USD).
    pub min_monthly_saving: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TokenEconomicsResult {
    pub window_days: u32,
    pub totals: TokenTotals,
    /// Per (provider, model), most tokens first.
    pub by_model: Vec<ModelTokens>,
    /// Per task type, most tokens first.
    pub by_task: Vec<TokenGroup>,
    /// Per (task type, model), most tokens first.
    pub by_task_model: Vec<TokenGroup>,
    pub failures: FailureWaste,
    pub oversized: Oversized,
    pub retries: Retries,
    pub recommendations: Vec<Recommendation>,
}

/// The successful calls' tokens and cost.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TokenTotals {
    pub calls: u64,
    pub successful_calls: u64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_input_tokens: i64,
    pub cost_usd: f64,
    pub tokens_per_usd: f64,
    pub cost_per_1m_tokens: f64,
    pub input_output_ratio: f64,
}

/// One model's successful calls.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelTokens {
    pub provider: String,
    pub model: String,
    pub calls: u64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_input_tokens: i64,
    pub cost_usd: f64,
    pub tokens_per_usd: f64,
    /// What the calls cost per 1M tokens, input and output together.
    pub cost_per_1m_tokens: f64,
    /// The catalogue's list prices per 1M tokens (`None` for a model it does not list).
    pub list_input_per_1m: Option<f64>,
    pub list_output_per_1m: Option<f64>,
    /// What an input token cost in fact, per 1M: the cost less the output at list price, over
    /// the input tokens (below the list price where the prompt cache served part of the input).
    pub paid_input_per_1m: Option<f64>,
    pub input_output_ratio: f64,
}

/// Tokens and cost of a group of successful calls (a task type, or a task type and a model).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TokenGroup {
    pub name: String,
    pub calls: u64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
    pub tokens_per_usd: f64,
    pub cost_per_1m_tokens: f64,
    pub input_output_ratio: f64,
}

/// Failed calls: the prompts sent for no answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FailureWaste {
    pub calls: u64,
    /// Share of all calls.
    pub share: f64,
    pub input_tokens: i64,
    /// What the failed calls were billed (`cost_usd`; 0 where providers bill only successes).
    pub billed_usd: f64,
    /// Their prompts at the catalogue's input price: the exposure if a provider bills them.
    pub input_at_list_usd: f64,
    /// Per status, most calls first.
    pub by_status: Vec<StatusWaste>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatusWaste {
    pub status: String,
    pub calls: u64,
    pub input_tokens: i64,
    pub billed_usd: f64,
    pub input_at_list_usd: f64,
}

/// Prompts above their task type's usual length.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Oversized {
    pub quantile: f64,
    /// The threshold of each task type, by name.
    pub thresholds: Vec<TaskThreshold>,
    pub calls: u64,
    /// Share of the successful calls.
    pub share: f64,
    /// Input tokens above the thresholds.
    pub excess_input_tokens: i64,
    /// Those tokens at the catalogue's input price, over the window and per 30 days.
    pub excess_cost_usd: f64,
    pub monthly_excess_cost_usd: f64,
    /// Per (task type, model), largest excess cost first.
    pub by_task_model: Vec<OversizedGroup>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskThreshold {
    pub task_type: String,
    pub successful_calls: u64,
    pub threshold_input_tokens: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OversizedGroup {
    pub task_type: String,
    pub model: String,
    pub calls: u64,
    pub excess_input_tokens: i64,
    pub excess_cost_usd: f64,
}

impl Analyzer for TokenEconomics {
    const NAME: &'static str = "token_economics";
    const TITLE: &'static str = "Token economics";
    const SUMMARY: &'static str = "Tokens per dollar, cost per 1M tokens by model, input:output ratios, and the tokens wasted on failures, oversized prompts and retries.";
    type Settings = TokenSettings;
    type Output = TokenEconomicsResult;
    const COLUMNS: Columns = Columns::Only(&[
        "timestamp",
        "provider",
        "model",
        "task_type",
        "feature_id",
        "customer_id",
        "status",
        "cost_usd",
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
    ]);

    fn check(s: &TokenSettings, c: SettingsCheck<'_>, _: &CallsConfig) -> Result<(), ConfigError> {
        c.range("oversized_quantile", s.oversized_quantile, 0.5, 0.999)?;
        c.count("retry_window_s", s.retry_window_s, 1, 86_400)?;
        c.count("top_rows", s.top_rows, 1, 10_000)?;
        c.range("min_monthly_saving", s.min_monthly_saving, 0.0, 1e12)
    }

    fn analyze(ctx: &Context<'_>, s: &TokenSettings) -> Result<TokenEconomicsResult> {
        compute::analyze(ctx, s)
    }

    fn headline(r: &TokenEconomicsResult) -> Vec<Figure> {
        vec![
            Figure::count("Tokens per dollar", r.totals.tokens_per_usd.round() as u64),
            Figure::usd("Cost per 1M tokens", r.totals.cost_per_1m_tokens),
            Figure::number("Input:output ratio", r.totals.input_output_ratio),
            Figure::count("Failed calls' input tokens", r.failures.input_tokens.max(0) as u64),
            Figure::usd("Oversized prompts' excess / month", r.oversized.monthly_excess_cost_usd),
        ]
    }

    fn render(r: &TokenEconomicsResult, s: &TokenSettings) -> Result<Markup> {
        page::render(r, s)
    }
}
