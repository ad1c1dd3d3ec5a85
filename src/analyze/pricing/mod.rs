//! Analyzer 7, pricing strategy: what each customer would pay under the current flat tier pricing and
//! three alternatives — tiered with overage, pure usage, hybrid — the revenue and margin of each,
//! who pays more and who pays less in each usage segment, and a migration plan in dollars.
//!
//! Every bill covers the customer's active days, like the profitability report's revenue: flat
//! and tiered base prices and the included tokens are prorated to the days from the first to the
//! last call; usage is billed on the tokens of successful calls (a failed call is not billed).
//! Segments rank customers by cost ÷ current (prorated) price.

//!
//! The bills and rules are in [`compute`], the page in [`page`].

mod compute;
mod page;

use anyhow::Result;
use maud::Markup;
use serde::{Deserialize, Serialize};

pub use compute::pricing;

use super::profitability::{CustomerUsage, customer_usage, prorate};
use super::{Analyzer, Columns, Context};
use crate::config::{CallsConfig, ConfigError, SettingsCheck};
use crate::report::html::{self as h, Figure, Recommendation};

pub struct Pricing;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingSettings {
    /// Tiered with overage: tokens included a month per `included_per_usd` dollars of base price.
    pub included_tokens: u64,
    pub included_per_usd: f64,
    /// Tiered with overage: price of 1K tokens beyond the included ones.
    pub overage_usd_per_1k_tokens: f64,
    /// Pure usage: price of 1K tokens.
    pub usage_usd_per_1k_tokens: f64,
    /// Hybrid: this share of the base price …
    pub hybrid_base_share: f64,
    /// … plus this multiple of the cost to serve.
    pub hybrid_cost_multiple: f64,
    /// Segments by cost ÷ current price: light below this …
    pub light_below: f64,
    /// … medium below this, heavy from it.
    pub medium_below: f64,
    /// The margin a pricing model should reach (the migration rule).
    pub target_margin: f64,
    /// A bill within this many dollars of today's counts as unchanged.
    pub unchanged_within_usd: f64,
    /// Rows of the largest-change table.
    pub max_listed: u64,
}

/// A pricing model.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum PricingModel {
    Flat,
    TieredOverage,
    Usage,
    Hybrid,
}

impl PricingModel {
    pub const ALL: [PricingModel; 4] = [
        PricingModel::Flat,
        PricingModel::TieredOverage,
        PricingModel::Usage,
        PricingModel::Hybrid,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PricingModel::Flat => "Flat (current)",
            PricingModel::TieredOverage => "Tiered with overage",
            PricingModel::Usage => "Pure usage",
            PricingModel::Hybrid => "Hybrid",
        }
    }

    /// The rule, with the settings' numbers.
    pub fn formula(self, s: &PricingSettings) -> String {
        match self {
            PricingModel::Flat => "the tier's monthly price".into(),
            PricingModel::TieredOverage => format!(
                "the tier's monthly price, including {} tokens per {} of it; {} per 1K tokens beyond",
                h::count(s.included_tokens as f64),
                h::usd(s.included_per_usd),
                h::usd(s.overage_usd_per_1k_tokens)
            ),
            PricingModel::Usage => format!("{} per 1K tokens", h::usd(s.usage_usd_per_1k_tokens)),
            PricingModel::Hybrid => format!(
                "{} × the tier's monthly price + {} × the cost to serve",
                s.hybrid_base_share, s.hybrid_cost_multiple
            ),
        }
    }
}

/// A usage segment: cost ÷ current price.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    Light,
    Medium,
    Heavy,
}

impl Segment {
    pub const ALL: [Segment; 3] = [Segment::Light, Segment::Medium, Segment::Heavy];

    pub fn as_str(self) -> &'static str {
        match self {
            Segment::Light => "light",
            Segment::Medium => "medium",
            Segment::Heavy => "heavy",
        }
    }

    pub fn of(usage_ratio: f64, s: &PricingSettings) -> Segment {
        if usage_ratio < s.light_below {
            Segment::Light
        } else if usage_ratio < s.medium_below {
            Segment::Medium
        } else {
            Segment::Heavy
        }
    }
}

/// One customer's bill for its active days under each model.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Bills {
    pub flat: f64,
    pub tiered_overage: f64,
    pub usage: f64,
    pub hybrid: f64,
}

impl Bills {
    pub fn get(&self, model: PricingModel) -> f64 {
        match model {
            PricingModel::Flat => self.flat,
            PricingModel::TieredOverage => self.tiered_overage,
            PricingModel::Usage => self.usage,
            PricingModel::Hybrid => self.hybrid,
        }
    }

    /// The bills of `u` under every model.
    pub fn of(u: &CustomerUsage, s: &PricingSettings) -> Bills {
        let days = u.active_days();
        let base = prorate(u.tier_price_usd, days);
        let tokens = u.billable_tokens as f64;
        let included = prorate(u.tier_price_usd / s.included_per_usd * s.included_tokens as f64, days);
        Bills {
            flat: base,
            tiered_overage: base + (tokens - included).max(0.0) / 1000.0 * s.overage_usd_per_1k_tokens,
            usage: tokens / 1000.0 * s.usage_usd_per_1k_tokens,
            hybrid: s.hybrid_base_share * base + s.hybrid_cost_multiple * u.cost_usd(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PricingResult {
    pub method: String,
    pub customers: u64,
    pub cost_usd: f64,
    pub billable_tokens: i64,
    /// Every model over all customers, current first.
    pub models: Vec<ModelOutcome>,
    pub segments: Vec<SegmentOutcome>,
    pub plan: MigrationPlan,
    /// Every customer's bills, by customer id.
    pub customers_bills: Vec<CustomerBills>,
    pub recommendations: Vec<Recommendation>,
}

/// Revenue, margin and who pays more or less, for a set of customers under one model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Outcome {
    pub customers: u64,
    pub revenue_usd: f64,
    pub cost_usd: f64,
    pub margin_usd: f64,
    pub margin_pct: f64,
    /// Revenue − current revenue.
    pub change_usd: f64,
    pub change_pct: f64,
    /// Customers who would pay more than today (today's losers of the change) …
    pub pay_more: u64,
    /// … the total of their increases …
    pub pay_more_usd: f64,
    /// … customers who would pay less (the winners) and the total they save.
    pub pay_less: u64,
    pub pay_less_usd: f64,
    pub unchanged: u64,
    pub reaches_target: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelOutcome {
    pub model: PricingModel,
    pub name: String,
    pub formula: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SegmentOutcome {
    pub segment: Segment,
    pub customers: u64,
    /// Every model over the segment's customers, current first.
    pub models: Vec<ModelOutcome>,
    /// The model the migration rule picks for the segment.
    pub choice: PricingModel,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MigrationPlan {
    pub rule: String,
    /// The rule applied to the whole portfolio at once (one model for everyone).
    pub single_model: PricingModel,
    /// The rule applied per segment.
    pub by_segment: Vec<SegmentChoice>,
    /// The per-segment plan over all customers.
    pub outcome: Outcome,
    /// Current revenue and margin, for comparison.
    pub current: Outcome,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SegmentChoice {
    pub segment: Segment,
    pub model: PricingModel,
    pub customers: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CustomerBills {
    pub customer_id: String,
    pub subscription_tier: String,
    pub customer_archetype: String,
    pub active_days: u32,
    pub billable_tokens: i64,
    pub cost_usd: f64,
    /// Cost ÷ current bill.
    pub usage_ratio: f64,
    pub segment: Segment,
    pub bills: Bills,
}

impl Analyzer for Pricing {
    const NAME: &'static str = "pricing";
    const TITLE: &'static str = "Pricing strategy";
    const SUMMARY: &'static str = "Flat, tiered-with-overage, pure-usage and hybrid pricing: revenue, margin, winners and losers, and a migration plan.";
    type Settings = PricingSettings;
    type Output = PricingResult;
    const COLUMNS: Columns = Columns::Only(super::profitability::CUSTOMER_USAGE_COLUMNS);

    fn check(s: &PricingSettings, c: SettingsCheck<'_>, _: &CallsConfig) -> Result<(), ConfigError> {
        c.count("included_tokens", s.included_tokens, 0, 1_000_000_000_000)?;
        c.range("included_per_usd", s.included_per_usd, 0.01, 1e9)?;
        c.range("overage_usd_per_1k_tokens", s.overage_usd_per_1k_tokens, 0.0, 1e6)?;
        c.range("usage_usd_per_1k_tokens", s.usage_usd_per_1k_tokens, 0.0, 1e6)?;
        c.range("hybrid_base_share", s.hybrid_base_share, 0.0, 100.0)?;
        c.range("hybrid_cost_multiple", s.hybrid_cost_multiple, 0.0, 100.0)?;
        c.range("light_below", s.light_below, 0.0, 1e6)?;
        c.range("medium_below", s.medium_below, 0.0, 1e6)?;
        c.ordered("light_below", s.light_below, "medium_below", s.medium_below)?;
        c.fraction("target_margin", s.target_margin)?;
        c.range("unchanged_within_usd", s.unchanged_within_usd, 0.0, 1e6)?;
        c.count("max_listed", s.max_listed, 1, 100_000)
    }

    fn analyze(ctx: &Context<'_>, s: &PricingSettings) -> Result<PricingResult> {
        let (usage, _) = customer_usage(ctx)?;
        Ok(pricing(&usage, s))
    }

    fn headline(r: &PricingResult) -> Vec<Figure> {
        let current = &r.plan.current;
        vec![
            Figure::usd("Current revenue", current.revenue_usd),
            Figure::percent("Current margin", current.margin_pct),
            Figure::usd("Revenue under the plan", r.plan.outcome.revenue_usd),
            Figure::percent("Margin under the plan", r.plan.outcome.margin_pct),
        ]
    }

    fn render(r: &PricingResult, s: &PricingSettings) -> Result<Markup> {
        page::render(r, s)
    }
}
