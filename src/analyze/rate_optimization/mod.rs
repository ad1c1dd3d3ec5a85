//! Analyzer 4, rate optimization: which model switches save money (same task type, a cheaper
//! model that a public benchmark scores at most `max_quality_loss` below the source, repriced
//! from the catalogue on the calls' own tokens), reserved capacity, volume discounts per
//! provider, provider arbitrage per task type, and what prompt caching served and saved
//! ([`super::caching`]).
//!
//! Every model, price and quality score comes from the catalogue (`config/catalogue.toml`, whose
//! `[quality]` table cites the benchmark): no switch can point at a model that does not exist
//! (the original suggested `gpt-4-32k` and `gemini-pro-1.5`), and none moves to a model that
//! the benchmark ranks well below the source (round 1 sent every frontier model to
//! gemini-1.5-pro). Queries in [`compute`], the page in [`page`].

mod compute;
mod page;

use anyhow::Result;
use maud::Markup;
use serde::{Deserialize, Serialize};

use super::caching::CacheUsage;
use super::{Analyzer, Columns, Context};
use crate::config::{CallsConfig, ConfigError, SettingsCheck};
use crate::report::html::{Figure, Recommendation};

pub struct RateOptimization;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateSettings {
    pub reserved_min_spend: f64,
    pub reserved_saving: f64,
    /// Tiers of one provider's own monthly spend (a provider discounts what is billed by it).
    pub volume_discounts: Vec<VolumeTier>,
    pub min_switch_saving: f64,
    pub top_switches: u64,
    /// Most benchmark points a switch may give up (target score ≥ source score − this).
    pub max_quality_loss: f64,
    /// Switch only to a model of the same provider (no migration to another vendor).
    pub same_provider_only: bool,
    /// Quality budgets shown in the sensitivity table (each with either provider scope).
    pub sensitivity_losses: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VolumeTier {
    pub min_spend: f64,
    pub discount: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RateResult {
    pub window_days: u32,
    pub cost_usd: f64,
    /// The window's cost scaled to 30 days.
    pub monthly_cost_usd: f64,
    /// The settings the switches were chosen under.
    pub max_quality_loss: f64,
    pub same_provider_only: bool,
    /// The best switch for each (task type, model), largest saving first.
    pub switches: Vec<Switch>,
    /// Monthly saving of all switches (what the executive summary quotes).
    pub switching_monthly_saving_usd: f64,
    /// Savings of the switches summed per (from, to) model pair.
    pub switch_matrix: Vec<MatrixCell>,
    /// The switching saving under other quality budgets and provider scopes.
    pub sensitivity: Vec<SwitchBudget>,
    pub reserved: Vec<ReservedCandidate>,
    pub volume_discount: VolumeDiscount,
    pub arbitrage: Vec<Arbitrage>,
    /// The options side by side, as monthly savings (they overlap: do not add them up).
    pub scenarios: Vec<SavingScenario>,
    /// Catalogue models without a benchmark score (never switched from or to).
    pub unscored_models: Vec<String>,
    /// What the providers' prompt caches served and saved.
    pub caching: CacheUsage,
    pub recommendations: Vec<Recommendation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Switch {
    pub task_type: String,
    pub from_model: String,
    pub from_provider: String,
    pub to_model: String,
    pub to_provider: String,
    /// Benchmark scores of both models (catalogue `[quality]`).
    pub from_quality: f64,
    pub to_quality: f64,
    /// Points given up: from − to (negative when the target scores higher).
    pub quality_loss: f64,
    pub calls: u64,
    pub cost_usd: f64,
    /// The same successful calls' tokens at the target's catalogue prices.
    pub cost_after_usd: f64,
    pub saving_usd: f64,
    pub saving_share: f64,
    /// The saving scaled to 30 days.
    pub monthly_saving_usd: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MatrixCell {
    pub from_model: String,
    pub to_model: String,
    pub saving_usd: f64,
    pub quality_loss: f64,
}

/// The monthly switching saving under one quality budget and provider scope.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SwitchBudget {
    pub max_quality_loss: f64,
    pub same_provider_only: bool,
    pub switches: u64,
    pub monthly_saving_usd: f64,
    pub share_of_spend: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReservedCandidate {
    pub model: String,
    pub provider: String,
    pub monthly_spend_usd: f64,
    pub monthly_saving_usd: f64,
}

/// Volume tiers applied to each provider's own monthly spend.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VolumeDiscount {
    pub monthly_saving_usd: f64,
    /// Every provider, largest spend first.
    pub providers: Vec<ProviderVolume>,
    /// The best move of spend between providers that crosses a tier and gains more than the
    /// discounts it loses, if any.
    pub consolidation: Option<Consolidation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProviderVolume {
    pub provider: String,
    pub monthly_spend_usd: f64,
    /// The highest tier reached, if any.
    pub tier: Option<VolumeTier>,
    pub monthly_saving_usd: f64,
    pub next_tier: Option<VolumeTier>,
    /// Spend still needed to reach the next tier, if there is one.
    pub to_next_tier_usd: Option<f64>,
}

/// Moving `moved_usd` a month of other providers' spend to `to_provider` reaches its next tier.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Consolidation {
    pub to_provider: String,
    pub tier: VolumeTier,
    pub moved_usd: f64,
    /// (provider, dollars a month) taken from each.
    pub from: Vec<(String, f64)>,
    /// Volume savings after the move minus before (discounts lost at the sources included).
    pub net_monthly_gain_usd: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Arbitrage {
    pub task_type: String,
    pub cheapest_provider: String,
    /// The cheapest provider's cost per 1K tokens on this task (its actual model mix).
    pub cheapest_cost_per_1k: f64,
    pub cost_usd: f64,
    /// All of the task's tokens at the cheapest provider's rate.
    pub cost_at_cheapest_usd: f64,
    pub saving_usd: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SavingScenario {
    pub name: String,
    pub description: String,
    pub monthly_saving_usd: f64,
    pub share_of_spend: f64,
}

impl Analyzer for RateOptimization {
    const NAME: &'static str = "rate_optimization";
    const TITLE: &'static str = "Rate optimization";
    const SUMMARY: &'static str = "Model switches with their savings and the quality they give up, reserved capacity, volume discounts per provider and provider arbitrage.";
    type Settings = RateSettings;
    type Output = RateResult;
    const COLUMNS: Columns = Columns::Only(&[
        "provider",
        "model",
        "task_type",
        "feature_id",
        "status",
        "cost_usd",
        "input_tokens",
        "output_tokens",
        "latency_ms",
        "cached_input_tokens",
    ]);

    fn check(s: &RateSettings, c: SettingsCheck<'_>, _: &CallsConfig) -> Result<(), ConfigError> {
        c.range("reserved_min_spend", s.reserved_min_spend, 0.0, 1e12)?;
        c.fraction("reserved_saving", s.reserved_saving)?;
        let spends: Vec<f64> = s.volume_discounts.iter().map(|t| t.min_spend).collect();
        c.increasing("volume_discounts", &spends)?;
        for (i, t) in s.volume_discounts.iter().enumerate() {
            c.range(&format!("volume_discounts[{i}].min_spend"), t.min_spend, 0.0, 1e12)?;
            c.fraction(&format!("volume_discounts[{i}].discount"), t.discount)?;
        }
        c.fraction("min_switch_saving", s.min_switch_saving)?;
        c.count("top_switches", s.top_switches, 1, 10_000)?;
        c.range("max_quality_loss", s.max_quality_loss, 0.0, 1e6)?;
        for (i, l) in s.sensitivity_losses.iter().enumerate() {
            c.range(&format!("sensitivity_losses[{i}]"), *l, 0.0, 1e6)?;
        }
        Ok(())
    }

    fn analyze(ctx: &Context<'_>, s: &RateSettings) -> Result<RateResult> {
        compute::analyze(ctx, s)
    }

    fn headline(r: &RateResult) -> Vec<Figure> {
        let saving = |name: &str| {
            r.scenarios
                .iter()
                .find(|s| s.name == name)
                .map_or(0.0, |s| s.monthly_saving_usd)
        };
        vec![
            Figure::usd("Monthly spend", r.monthly_cost_usd),
            Figure::usd("Switching saves / month", r.switching_monthly_saving_usd),
            Figure::usd("Reserved capacity saves / month", saving(compute::RESERVED)),
            Figure::usd("Volume discounts / month", r.volume_discount.monthly_saving_usd),
            Figure::percent("Input read from cache", r.caching.hit_rate),
            Figure::usd("Prompt caching saved", r.caching.saving_usd),
        ]
    }

    fn render(r: &RateResult, s: &RateSettings) -> Result<Markup> {
        page::render(r, s)
    }
}
