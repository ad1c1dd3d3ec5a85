//! Analyzer 6, customer profitability: what each customer pays (its tier price, prorated to the days it
//! was active), what it costs to serve, the margin, margin bands, the unprofitable customers, and
//! the same by tier with every customer counted exactly once.
//!
//! Revenue rule: a customer pays `tier_price_usd × active_days / 30`, where `active_days` counts
//! the UTC calendar days from its first to its last call, inclusive. A customer that churns
//! mid-window pays only for the days it was there; one active for the whole 30-day default
//! window pays exactly one monthly price. The original took the tier from a customer's first row
//! and counted a customer in every tier it appeared in (tier revenue summed to four times the
//! total); here a customer has one tier (the one most of its calls carry, should the data ever
//! hold more than one) and sits in exactly one tier row, so tier revenue sums to the total.

//!
//! The customer-usage query and the rules are in [`compute`], the page in [`page`].

mod compute;
mod page;

use anyhow::Result;
use chrono::NaiveDate;
use maud::Markup;
use serde::{Deserialize, Serialize};

pub use compute::{CUSTOMER_USAGE_COLUMNS, CustomerUsage, customer_usage, profitability, prorate};

use super::{Analyzer, Columns, Context};
use crate::config::{CallsConfig, ConfigError, SettingsCheck};
use crate::report::html::{Figure, Recommendation};

pub struct Profitability;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfitabilitySettings {
    /// Margin (share of revenue) above which a customer is in the high band.
    pub high_margin: f64,
    /// Margin from which a customer is in the medium band (below it, down to 0, the low band).
    pub medium_margin: f64,
    /// The portfolio's target margin.
    pub target_margin: f64,
    /// Flag a tier whose margin is below this.
    pub tier_margin_floor: f64,
    /// Flag the portfolio when more than this share of customers is below `medium_margin`.
    pub low_margin_share: f64,
    /// Most unprofitable customers listed on the page (the JSON lists all).
    pub max_listed: u64,
}
/// Margin band of a customer.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum MarginBand {
    High,
    Medium,
    Low,
    Unprofitable,
}

impl MarginBand {
    pub const ALL: [MarginBand; 4] = [
        MarginBand::High,
        MarginBand::Medium,
        MarginBand::Low,
        MarginBand::Unprofitable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MarginBand::High => "high",
            MarginBand::Medium => "medium",
            MarginBand::Low => "low",
            MarginBand::Unprofitable => "unprofitable",
        }
    }

    /// The band of a margin (`margin_usd`) and margin share of revenue (`margin_pct`).
    pub fn of(margin_usd: f64, margin_pct: f64, s: &ProfitabilitySettings) -> MarginBand {
        if margin_usd < 0.0 {
            MarginBand::Unprofitable
        } else if margin_pct > s.high_margin {
            MarginBand::High
        } else if margin_pct >= s.medium_margin {
            MarginBand::Medium
        } else {
            MarginBand::Low
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProfitabilityResult {
    /// How revenue is computed.
    pub revenue_rule: String,
    pub window_days: u32,
    pub totals: PortfolioMargin,
    /// The four bands, high first.
    pub bands: Vec<BandSummary>,
    /// One row per tier, cheapest first; every customer in exactly one.
    pub by_tier: Vec<GroupMargin>,
    pub by_archetype: Vec<GroupMargin>,
    /// Tier × archetype cells that have customers, in tier then archetype order.
    pub by_tier_archetype: Vec<TierArchetypeMargin>,
    /// Customers that cost more than they pay, largest loss first.
    pub unprofitable: Vec<CustomerMargin>,
    /// Every customer, lowest margin first.
    pub customers: Vec<CustomerMargin>,
    pub recommendations: Vec<Recommendation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PortfolioMargin {
    pub customers: u64,
    pub revenue_usd: f64,
    pub cost_usd: f64,
    pub margin_usd: f64,
    /// Margin ÷ revenue.
    pub margin_pct: f64,
    pub target_margin: f64,
    /// Margin still needed to reach the target (0 when it is reached).
    pub shortfall_usd: f64,
    pub unprofitable_customers: u64,
    /// Customers below the medium band's floor (low and unprofitable).
    pub low_margin_customers: u64,
    pub low_margin_share: f64,
    /// Customers whose rows carry more than one tier (0 in a valid dataset).
    pub customers_with_several_tiers: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BandSummary {
    pub band: MarginBand,
    pub customers: u64,
    pub share: f64,
    pub revenue_usd: f64,
    pub cost_usd: f64,
    pub margin_usd: f64,
}

/// Revenue, cost and margin of a group of customers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GroupMargin {
    pub name: String,
    /// The tier's monthly price (by tier); 0 for other groupings.
    pub tier_price_usd: f64,
    pub customers: u64,
    pub revenue_usd: f64,
    pub cost_usd: f64,
    pub margin_usd: f64,
    pub margin_pct: f64,
    pub unprofitable_customers: u64,
    pub avg_active_days: f64,
    /// Margin below the tier floor (by tier only).
    pub below_floor: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TierArchetypeMargin {
    pub subscription_tier: String,
    pub customer_archetype: String,
    pub customers: u64,
    pub revenue_usd: f64,
    pub cost_usd: f64,
    pub margin_usd: f64,
    pub margin_pct: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CustomerMargin {
    pub customer_id: String,
    pub subscription_tier: String,
    pub tier_price_usd: f64,
    pub customer_archetype: String,
    pub organization_id: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub active_days: u32,
    pub calls: u64,
    pub revenue_usd: f64,
    pub cost_usd: f64,
    pub margin_usd: f64,
    pub margin_pct: f64,
    pub band: MarginBand,
}

impl Analyzer for Profitability {
    const NAME: &'static str = "profitability";
    const TITLE: &'static str = "Customer profitability";
    const SUMMARY: &'static str =
        "Revenue prorated to active days, cost to serve, margin bands, unprofitable customers, and margin by tier.";
    type Settings = ProfitabilitySettings;
    type Output = ProfitabilityResult;
    const COLUMNS: Columns = Columns::Only(CUSTOMER_USAGE_COLUMNS);

    fn check(s: &ProfitabilitySettings, c: SettingsCheck<'_>, _: &CallsConfig) -> Result<(), ConfigError> {
        c.fraction("high_margin", s.high_margin)?;
        c.fraction("medium_margin", s.medium_margin)?;
        c.ordered("medium_margin", s.medium_margin, "high_margin", s.high_margin)?;
        c.fraction("target_margin", s.target_margin)?;
        c.fraction("tier_margin_floor", s.tier_margin_floor)?;
        c.fraction("low_margin_share", s.low_margin_share)?;
        c.count("max_listed", s.max_listed, 1, 100_000)
    }

    fn analyze(ctx: &Context<'_>, s: &ProfitabilitySettings) -> Result<ProfitabilityResult> {
        let (usage, several) = customer_usage(ctx)?;
        Ok(profitability(&usage, several, ctx.window.days, s))
    }

    fn headline(r: &ProfitabilityResult) -> Vec<Figure> {
        vec![
            Figure::usd("Revenue", r.totals.revenue_usd),
            Figure::usd("Cost to serve", r.totals.cost_usd),
            Figure::percent("Margin", r.totals.margin_pct),
            Figure::count("Unprofitable customers", r.totals.unprofitable_customers),
        ]
    }

    fn render(r: &ProfitabilityResult, s: &ProfitabilitySettings) -> Result<Markup> {
        page::render(r, s)
    }
}
