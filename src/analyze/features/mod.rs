//! Analyzer 8, feature economics: what each feature costs, how many customers use it (adoption of all
//! customers, and of its product's customers), cost per adopting customer, an investment matrix
//! (adoption × cost → invest / maintain / optimize / sunset), and the features customers use
//! together (bundles).
//!
//! The matrix follows the original's rule (adoption of all customers above 40%, total cost above
//! the median feature's). A feature of a product only some customers buy cannot pass that
//! adoption bar however popular it is with them, so each feature is also placed by its adoption
//! among its product's customers (`quadrant_in_product`); the recommendations name both when they
//! disagree, and soften a "sunset" that its own product's customers contradict.
//!
//! Features, products and customers are read from the data, not from a list: a feature that
//! launches mid-window (first seen after the window's first day) shows up with its first day and
//! its adoption among the customers still active once it was live.

//!
//! The queries and rules are in [`compute`], the page in [`page`].

mod compute;
mod page;

use anyhow::Result;
use chrono::NaiveDate;
use maud::Markup;
use serde::{Deserialize, Serialize};

pub use compute::{FeatureUse, features};

use super::frame::CostGroup;
use super::{Analyzer, Columns, Context};
use crate::config::{CallsConfig, ConfigError, SettingsCheck};
use crate::report::html::{Figure, Recommendation};

pub struct Features;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSettings {
    /// Adoption (share of all customers) above which a feature's adoption is high …
    pub adoption_high: f64,
    /// … above which it is medium (else low).
    pub adoption_medium: f64,
    /// The investment matrix's adoption split: above it, a feature is widely adopted.
    pub invest_adoption: f64,
    /// A feature pair is a bundle when more than this share of customers uses both.
    pub bundle_min_share: f64,
    /// Bundles listed, most customers first.
    pub top_bundles: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum AdoptionBand {
    High,
    Medium,
    Low,
}

impl AdoptionBand {
    pub const ALL: [AdoptionBand; 3] = [AdoptionBand::High, AdoptionBand::Medium, AdoptionBand::Low];

    pub fn of(adoption: f64, s: &FeatureSettings) -> AdoptionBand {
        if adoption > s.adoption_high {
            AdoptionBand::High
        } else if adoption > s.adoption_medium {
            AdoptionBand::Medium
        } else {
            AdoptionBand::Low
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AdoptionBand::High => "high",
            AdoptionBand::Medium => "medium",
            AdoptionBand::Low => "low",
        }
    }
}

/// Where a feature sits in the investment matrix.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Quadrant {
    /// Widely adopted and cheap: grow it.
    Invest,
    /// Little adopted and cheap: keep it running.
    Maintain,
    /// Widely adopted and dear: cut its cost per call.
    Optimize,
    /// Little adopted and dear: rework or retire it.
    Sunset,
}

impl Quadrant {
    pub const ALL: [Quadrant; 4] = [
        Quadrant::Invest,
        Quadrant::Maintain,
        Quadrant::Optimize,
        Quadrant::Sunset,
    ];

    pub fn of(widely_adopted: bool, dear: bool) -> Quadrant {
        match (widely_adopted, dear) {
            (true, false) => Quadrant::Invest,
            (false, false) => Quadrant::Maintain,
            (true, true) => Quadrant::Optimize,
            (false, true) => Quadrant::Sunset,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Quadrant::Invest => "invest",
            Quadrant::Maintain => "maintain",
            Quadrant::Optimize => "optimize",
            Quadrant::Sunset => "sunset",
        }
    }

    fn meaning(self) -> &'static str {
        match self {
            Quadrant::Invest => "widely adopted, cost at or below the median",
            Quadrant::Maintain => "little adopted, cost at or below the median",
            Quadrant::Optimize => "widely adopted, cost above the median",
            Quadrant::Sunset => "little adopted, cost above the median",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeaturesResult {
    pub customers: u64,
    pub calls: u64,
    pub cost_usd: f64,
    /// Median of the features' total cost: the matrix's cost split.
    pub median_feature_cost_usd: f64,
    /// The matrix's adoption split.
    pub invest_adoption: f64,
    /// Every feature, dearest first.
    pub features: Vec<FeatureEconomics>,
    /// Features per adoption band, high first.
    pub adoption_bands: Vec<BandCount>,
    /// The four quadrants in the order invest, maintain, optimize, sunset.
    pub matrix: Vec<QuadrantSummary>,
    /// Feature pairs used by more than `bundle_min_share` of customers, most customers first, at
    /// most `top_bundles`.
    pub bundles: Vec<Bundle>,
    /// Pairs above the threshold before the top-N cut.
    pub bundle_pairs_above_threshold: u64,
    pub recommendations: Vec<Recommendation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeatureEconomics {
    /// The feature's cost figures; `name` is the feature id.
    #[serde(flatten)]
    pub cost: CostGroup,
    /// The product most of the feature's calls belong to.
    pub product_id: String,
    /// Customers with at least one call of the feature.
    pub adopters: u64,
    /// Adopters ÷ all customers.
    pub adoption_rate: f64,
    pub adoption_band: AdoptionBand,
    /// Customers of the feature's product(s), and the adopters' share of them.
    pub product_customers: u64,
    pub product_adoption_rate: f64,
    pub cost_per_adopter: f64,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// First seen after the window's first day (e.g. launched mid-window).
    pub first_seen_in_window: bool,
    /// Adopters ÷ customers still active on or after the feature's first day.
    pub adoption_since_first_day: f64,
    /// The documented matrix: adoption of all customers × total cost.
    pub quadrant: Quadrant,
    /// The same with adoption among the product's customers.
    pub quadrant_in_product: Quadrant,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BandCount {
    pub band: AdoptionBand,
    pub features: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct QuadrantSummary {
    pub quadrant: Quadrant,
    /// Dearest first.
    pub features: Vec<String>,
    pub cost_usd: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Bundle {
    /// The pair in name order.
    pub feature_a: String,
    pub feature_b: String,
    /// Customers using both.
    pub customers: u64,
    /// Of all customers.
    pub share: f64,
    /// Share ÷ (adoption of a × adoption of b): above 1, used together more than chance.
    pub lift: f64,
}

impl Analyzer for Features {
    const NAME: &'static str = "features";
    const TITLE: &'static str = "Feature economics";
    const SUMMARY: &'static str =
        "Cost and adoption per feature, the invest / maintain / optimize / sunset matrix, and features used together.";
    type Settings = FeatureSettings;
    type Output = FeaturesResult;
    const COLUMNS: Columns = Columns::Only(&[
        "timestamp",
        "customer_id",
        "product_id",
        "feature_id",
        "status",
        "cost_usd",
        "input_tokens",
        "output_tokens",
        "latency_ms",
    ]);

    fn check(s: &FeatureSettings, c: SettingsCheck<'_>, _: &CallsConfig) -> Result<(), ConfigError> {
        c.fraction("adoption_high", s.adoption_high)?;
        c.fraction("adoption_medium", s.adoption_medium)?;
        c.ordered("adoption_medium", s.adoption_medium, "adoption_high", s.adoption_high)?;
        c.fraction("invest_adoption", s.invest_adoption)?;
        c.fraction("bundle_min_share", s.bundle_min_share)?;
        c.count("top_bundles", s.top_bundles, 1, 10_000)
    }

    fn analyze(ctx: &Context<'_>, s: &FeatureSettings) -> Result<FeaturesResult> {
        Ok(features(&compute::usage(ctx)?, ctx.window.first_day, s))
    }

    fn headline(r: &FeaturesResult) -> Vec<Figure> {
        let top = r.features.iter().max_by(|a, b| {
            a.adoption_rate
                .total_cmp(&b.adoption_rate)
                .then_with(|| b.cost.name.cmp(&a.cost.name))
        });
        let sunset = r
            .matrix
            .iter()
            .find(|q| q.quadrant == Quadrant::Sunset)
            .map_or(0, |q| q.features.len());
        vec![
            Figure::count("Features", r.features.len() as u64),
            Figure::percent(
                format!("Top adoption ({})", top.map_or("none", |f| f.cost.name.as_str())),
                top.map_or(0.0, |f| f.adoption_rate),
            ),
            Figure::count("Sunset candidates", sunset as u64),
            Figure::count("Bundles", r.bundles.len() as u64),
        ]
    }

    fn render(r: &FeaturesResult, s: &FeatureSettings) -> Result<Markup> {
        page::render(r, s)
    }
}
