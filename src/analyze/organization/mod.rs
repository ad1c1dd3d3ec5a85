//! Analyzer 5, organizational alignment: chargeback / showback of the AI spend by organization, product,
//! feature (with its adoption) and environment, by direct usage attribution (every call is charged
//! to the organization, product, feature and environment on its row); what each organization
//! spends on each product and environment; and how efficiently organizations use AI, compared by
//! cost per call.
//!
//! Efficiency: the original flagged the gap in cost per call between the dearest and the cheapest
//! organization (above 2× a warning, above 3× critical). That gap is kept (the `gap` figure), but
//! one tiny organization at either end sets it, so each organization is also compared with the
//! median organization's cost per call, at the same thresholds; the flags and the recommendations
//! come from that comparison, with the dollars spent above the median rate.

//!
//! The queries and rules are in [`compute`], the page in [`page`].

mod compute;
mod page;

use anyhow::Result;
use maud::Markup;
use serde::{Deserialize, Serialize};

pub use compute::{Usage, organization};

use super::frame::CostGroup;
use super::{Analyzer, Columns, Context};
use crate::config::{CallsConfig, ConfigError, SettingsCheck};
use crate::report::html::{Figure, Recommendation};

pub struct Organization;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationSettings {
    /// Flag an organization whose cost per call is more than this multiple of the median
    /// organization's (and the dearest ÷ cheapest gap above it).
    pub efficiency_gap_warning: f64,
    /// The same, critical.
    pub efficiency_gap_critical: f64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum GapLevel {
    Ok,
    Warning,
    Critical,
}

impl GapLevel {
    pub fn of(multiple: f64, s: &OrganizationSettings) -> GapLevel {
        if multiple > s.efficiency_gap_critical {
            GapLevel::Critical
        } else if multiple > s.efficiency_gap_warning {
            GapLevel::Warning
        } else {
            GapLevel::Ok
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GapLevel::Ok => "ok",
            GapLevel::Warning => "warning",
            GapLevel::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OrganizationResult {
    pub totals: ChargebackLine,
    /// Dearest first in every breakdown.
    pub by_organization: Vec<ChargebackLine>,
    pub by_product: Vec<ChargebackLine>,
    pub by_feature: Vec<FeatureLine>,
    pub by_environment: Vec<ChargebackLine>,
    /// Each organization's spend per product, by organization then product.
    pub organization_product: Vec<Split>,
    /// Each organization's spend per environment, by organization then environment.
    pub organization_environment: Vec<Split>,
    pub efficiency: Efficiency,
    pub recommendations: Vec<Recommendation>,
}

/// One line of a chargeback statement.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChargebackLine {
    #[serde(flatten)]
    pub cost: CostGroup,
    pub total_tokens: i64,
    /// Distinct customers with calls in the group.
    pub customers: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeatureLine {
    #[serde(flatten)]
    pub line: ChargebackLine,
    /// The product most of the feature's calls belong to.
    pub product_id: String,
    /// Customers using the feature ÷ all customers.
    pub adoption_rate: f64,
}

/// An organization's spend on one value of another dimension.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Split {
    pub organization_id: String,
    pub name: String,
    pub calls: u64,
    pub cost_usd: f64,
    /// Share of the organization's cost.
    pub share_of_organization: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Efficiency {
    pub method: String,
    /// Median of the organizations' cost per call.
    pub median_cost_per_call: f64,
    pub cheapest_organization: String,
    pub cheapest_cost_per_call: f64,
    pub dearest_organization: String,
    pub dearest_cost_per_call: f64,
    /// Dearest ÷ cheapest cost per call (the original's measure).
    pub gap: f64,
    pub gap_level: GapLevel,
    /// Dearest cost per call first.
    pub organizations: Vec<OrganizationEfficiency>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OrganizationEfficiency {
    pub organization_id: String,
    pub calls: u64,
    pub cost_usd: f64,
    pub cost_per_call: f64,
    /// Cost per call ÷ the median organization's.
    pub vs_median: f64,
    /// Cost per call ÷ the cheapest organization's.
    pub vs_cheapest: f64,
    /// From `vs_median`.
    pub level: GapLevel,
    /// What its calls cost above the median rate (0 at or below it).
    pub excess_cost_usd: f64,
}

impl Analyzer for Organization {
    const NAME: &'static str = "organization";
    const TITLE: &'static str = "Organizational alignment";
    const SUMMARY: &'static str = "Chargeback by organization, product, feature and environment, and cost per call compared across organizations.";
    type Settings = OrganizationSettings;
    type Output = OrganizationResult;
    const COLUMNS: Columns = Columns::Only(&[
        "customer_id",
        "organization_id",
        "product_id",
        "feature_id",
        "environment",
        "status",
        "cost_usd",
        "input_tokens",
        "output_tokens",
        "latency_ms",
    ]);

    fn check(s: &OrganizationSettings, c: SettingsCheck<'_>, _: &CallsConfig) -> Result<(), ConfigError> {
        c.range("efficiency_gap_warning", s.efficiency_gap_warning, 1.0, 1e6)?;
        c.range("efficiency_gap_critical", s.efficiency_gap_critical, 1.0, 1e6)?;
        c.ordered(
            "efficiency_gap_warning",
            s.efficiency_gap_warning,
            "efficiency_gap_critical",
            s.efficiency_gap_critical,
        )
    }

    fn analyze(ctx: &Context<'_>, s: &OrganizationSettings) -> Result<OrganizationResult> {
        Ok(organization(&compute::usage(ctx)?, s))
    }

    fn headline(r: &OrganizationResult) -> Vec<Figure> {
        let top = r.by_organization.first();
        vec![
            Figure::count("Organizations", r.by_organization.len() as u64),
            Figure::percent(
                format!("Largest share ({})", top.map_or("none", |o| o.cost.name.as_str())),
                top.map_or(0.0, |o| o.cost.cost_share),
            ),
            Figure::number("Cost-per-call gap (×)", r.efficiency.gap),
            Figure::count(
                "Organizations flagged",
                r.efficiency
                    .organizations
                    .iter()
                    .filter(|o| o.level != GapLevel::Ok)
                    .count() as u64,
            ),
        ]
    }

    fn render(r: &OrganizationResult, s: &OrganizationSettings) -> Result<Markup> {
        page::render(r, s)
    }
}
