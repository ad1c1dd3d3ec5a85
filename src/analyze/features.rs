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

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use chrono::NaiveDate;
use maud::{Markup, html};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::frame::{CostGroup, Totals, dates, desc, ratio, strings, totals_aggs, usd};
use super::{Analyzer, Columns, Context};
use crate::config::{CallsConfig, ConfigError, SettingsCheck};
use crate::report::chart::{
    Bar, BarChart, ChartSize, Quadrants, ScatterChart, ScatterPoint, Unit, render_bar_chart, render_scatter_chart,
};
use crate::report::html::{
    self as h, Cell, Figure, Recommendation, Severity, cards, chart, chart_grid, recommendations, section, table,
};

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
        Ok(features(&usage(ctx)?, ctx.window.first_day, s))
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
        let feature_rows: Vec<Vec<Cell>> = r
            .features
            .iter()
            .map(|f| {
                vec![
                    Cell::text(&f.cost.name),
                    Cell::text(&f.product_id),
                    Cell::count(f.cost.calls),
                    Cell::usd(f.cost.cost_usd),
                    Cell::percent(f.cost.cost_share),
                    Cell::usd(f.cost.cost_per_call),
                    Cell::count(f.adopters),
                    Cell::percent(f.adoption_rate),
                    Cell::text(f.adoption_band.as_str()),
                    Cell::percent(f.product_adoption_rate),
                    Cell::usd(f.cost_per_adopter),
                    Cell::text(f.quadrant.as_str()),
                    Cell::text(f.quadrant_in_product.as_str()),
                ]
            })
            .collect();
        let late: Vec<&FeatureEconomics> = r.features.iter().filter(|f| f.first_seen_in_window).collect();
        let late_rows: Vec<Vec<Cell>> = late
            .iter()
            .map(|f| {
                vec![
                    Cell::text(&f.cost.name),
                    Cell::text(f.first_day.to_string()),
                    Cell::percent(f.adoption_rate),
                    Cell::percent(f.adoption_since_first_day),
                ]
            })
            .collect();
        let matrix_rows: Vec<Vec<Cell>> = r
            .matrix
            .iter()
            .map(|q| {
                vec![
                    Cell::text(q.quadrant.as_str()),
                    Cell::text(q.quadrant.meaning()),
                    Cell::text(q.features.join(", ")),
                    Cell::usd(q.cost_usd),
                ]
            })
            .collect();
        let bundle_rows: Vec<Vec<Cell>> = r
            .bundles
            .iter()
            .map(|b| {
                vec![
                    Cell::text(format!("{} + {}", b.feature_a, b.feature_b)),
                    Cell::count(b.customers),
                    Cell::percent(b.share),
                    Cell::number(b.lift, 2),
                ]
            })
            .collect();
        let band_cards: Vec<Figure> = r
            .adoption_bands
            .iter()
            .map(|b| Figure::count(format!("{} adoption", b.band.as_str()), b.features))
            .collect();
        let charts = charts(r)?;
        Ok(html! {
            (section("Summary", Some(&format!(
                "Adoption: customers with at least one call of the feature ÷ all {} customers; high above {}, medium above {}, \
                 else low.", r.customers, h::percent(s.adoption_high), h::percent(s.adoption_medium))),
                html! {
                    (cards(&[
                        Figure::count("Features", r.features.len() as u64),
                        Figure::count("Customers", r.customers),
                        Figure::usd("Cost", r.cost_usd),
                        Figure::usd("Median feature cost", r.median_feature_cost_usd),
                    ]))
                    (cards(&band_cards))
                }))
            (section("Recommendations", None, recommendations(&r.recommendations)))
            (section("Features", Some("Dearest first. Product adoption: adopters ÷ customers of the feature's product."),
                html! {
                    (chart(&charts.per_adopter))
                    (table(&["Feature", "Product", "Calls", "Cost", "Share", "Per call", "Adopters", "Adoption", "Band",
                        "Product adoption", "Per adopter", "Matrix", "Within product"], &feature_rows))
                }))
            (section("Investment matrix", Some(&format!(
                "Widely adopted: adoption of all customers above {}; dear: total cost above the median feature cost ({}). \
                 The features table also places each feature by its adoption among its product's customers.",
                h::percent(r.invest_adoption), h::usd(r.median_feature_cost_usd))),
                html! {
                    (chart(&charts.matrix))
                    (table(&["Quadrant", "Meaning", "Features", "Cost"], &matrix_rows))
                }))
            @if !late.is_empty() {
                (section("Features first seen during the window", Some(
                    "Adoption since first day: adopters ÷ customers still active on or after the feature's first call."),
                    table(&["Feature", "First day", "Adoption", "Adoption since first day"], &late_rows)))
            }
            (section("Bundles", Some(&format!(
                "Feature pairs used by the same customer, by more than {} of customers; the top {} by customers ({} pairs \
                 pass the threshold). Lift above 1: used together more often than their adoptions alone predict.",
                h::percent(s.bundle_min_share), s.top_bundles, r.bundle_pairs_above_threshold)), html! {
                @if r.bundles.is_empty() {
                    p.note { "No feature pair passes the threshold." }
                } @else {
                    (chart_grid(&[charts.bundles]))
                    (table(&["Pair", "Customers", "Share", "Lift"], &bundle_rows))
                }
            }))
        })
    }
}

struct Charts {
    matrix: String,
    per_adopter: String,
    bundles: String,
}

/// The page's charts: pure functions of the result.
fn charts(r: &FeaturesResult) -> Result<Charts> {
    let matrix = render_scatter_chart(&ScatterChart {
        title: "Investment matrix: adoption against cost".into(),
        x_label: "Adoption (% of customers)".into(),
        y_label: "Cost".into(),
        x_unit: Unit::Percent,
        y_unit: Unit::Dollars,
        points: Quadrant::ALL
            .iter()
            .flat_map(|q| r.features.iter().filter(move |f| f.quadrant == *q))
            .map(|f| {
                ScatterPoint::new(f.adoption_rate * 100.0, f.cost.cost_usd)
                    .category(f.quadrant.as_str())
                    .label(&f.cost.name)
            })
            .collect(),
        quadrants: Some(Quadrants {
            x: r.invest_adoption * 100.0,
            y: r.median_feature_cost_usd,
            labels: ["sunset".into(), "optimize".into(), "maintain".into(), "invest".into()],
        }),
        size: ChartSize::new(900, 480),
    })?;
    let bars = |title: &str, label: &str, unit: Unit, bars: Vec<Bar>| {
        render_bar_chart(&BarChart {
            title: title.into(),
            value_label: label.into(),
            unit,
            size: ChartSize::new(800, (80 + 24 * bars.len() as u32).max(400)),
            bars,
            ..Default::default()
        })
    };
    let mut ranked: Vec<&FeatureEconomics> = r.features.iter().collect();
    ranked.sort_by(|a, b| desc(a.cost_per_adopter, b.cost_per_adopter).then_with(|| a.cost.name.cmp(&b.cost.name)));
    let per_adopter = bars(
        "Cost per adopting customer",
        "Cost per adopter",
        Unit::Dollars,
        ranked
            .iter()
            .map(|f| Bar::new(&f.cost.name, f.cost_per_adopter))
            .collect(),
    )?;
    let bundles = bars(
        "Feature pairs used together",
        "Share of customers using both",
        Unit::Percent,
        r.bundles
            .iter()
            .map(|b| Bar::new(format!("{} + {}", b.feature_a, b.feature_b), b.share * 100.0))
            .collect(),
    )?;
    Ok(Charts {
        matrix,
        per_adopter,
        bundles,
    })
}

/// One customer's use of one feature (of one product).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureUse {
    pub customer_id: String,
    pub product_id: String,
    pub feature_id: String,
    pub totals: Totals,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

/// Every (customer, product, feature) with its sums and first and last day, sorted.
fn usage(ctx: &Context<'_>) -> Result<Vec<FeatureUse>> {
    let day = || col("timestamp").dt().date();
    let mut aggs = totals_aggs();
    aggs.push(day().min().alias("first_day"));
    aggs.push(day().max().alias("last_day"));
    let df = ctx.collect(
        ctx.calls()
            .group_by([col("customer_id"), col("product_id"), col("feature_id")])
            .agg(aggs),
    )?;
    let (customers, products, features) = (
        strings(&df, "customer_id")?,
        strings(&df, "product_id")?,
        strings(&df, "feature_id")?,
    );
    let (first, last) = (dates(&df, "first_day")?, dates(&df, "last_day")?);
    let mut rows: Vec<FeatureUse> = Totals::read(&df)?
        .into_iter()
        .enumerate()
        .map(|(i, totals)| FeatureUse {
            customer_id: customers[i].clone(),
            product_id: products[i].clone(),
            feature_id: features[i].clone(),
            totals,
            first_day: first[i],
            last_day: last[i],
        })
        .collect();
    rows.sort_by(|a, b| {
        (&a.customer_id, &a.product_id, &a.feature_id).cmp(&(&b.customer_id, &b.product_id, &b.feature_id))
    });
    Ok(rows)
}

/// The analysis proper, over plain rows.
pub fn features(rows: &[FeatureUse], window_start: NaiveDate, s: &FeatureSettings) -> FeaturesResult {
    // Each customer's last day, and the customers of each product.
    let mut customer_last: BTreeMap<&str, NaiveDate> = BTreeMap::new();
    let mut product_customers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in rows {
        let last = customer_last.entry(&r.customer_id).or_insert(r.last_day);
        *last = (*last).max(r.last_day);
        product_customers
            .entry(&r.product_id)
            .or_default()
            .insert(&r.customer_id);
    }
    let n = customer_last.len() as u64;

    struct Acc<'a> {
        totals: Totals,
        adopters: BTreeSet<&'a str>,
        product_calls: BTreeMap<&'a str, u64>,
        first: NaiveDate,
        last: NaiveDate,
    }
    let mut by_feature: BTreeMap<&str, Acc<'_>> = BTreeMap::new();
    let mut all = Totals::default();
    for r in rows {
        all.add(&r.totals);
        let acc = by_feature.entry(&r.feature_id).or_insert_with(|| Acc {
            totals: Totals::default(),
            adopters: BTreeSet::new(),
            product_calls: BTreeMap::new(),
            first: r.first_day,
            last: r.last_day,
        });
        acc.totals.add(&r.totals);
        acc.adopters.insert(&r.customer_id);
        *acc.product_calls.entry(&r.product_id).or_default() += r.totals.calls;
        acc.first = acc.first.min(r.first_day);
        acc.last = acc.last.max(r.last_day);
    }

    let costs: Vec<f64> = by_feature.values().map(|a| a.totals.cost_usd()).collect();
    let median_cost = median(&costs);
    let mut features: Vec<FeatureEconomics> = by_feature
        .iter()
        .map(|(&feature, acc)| {
            let product = acc
                .product_calls
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map_or("", |(p, _)| *p);
            let of_products: BTreeSet<&str> = acc
                .product_calls
                .keys()
                .flat_map(|p| product_customers[p].iter().copied())
                .collect();
            let adopters = acc.adopters.len() as u64;
            let adoption = ratio(adopters as f64, n as f64);
            let live_customers = customer_last.values().filter(|&&d| d >= acc.first).count();
            let cost = acc.totals.cost_usd();
            FeatureEconomics {
                cost: CostGroup::new(feature, &acc.totals, all.cost_micros),
                product_id: product.to_string(),
                adopters,
                adoption_rate: adoption,
                adoption_band: AdoptionBand::of(adoption, s),
                product_customers: of_products.len() as u64,
                product_adoption_rate: ratio(adopters as f64, of_products.len() as f64),
                cost_per_adopter: ratio(cost, adopters as f64),
                first_day: acc.first,
                last_day: acc.last,
                first_seen_in_window: acc.first > window_start,
                adoption_since_first_day: ratio(adopters as f64, live_customers as f64),
                quadrant: Quadrant::of(adoption > s.invest_adoption, cost > median_cost),
                quadrant_in_product: Quadrant::of(
                    ratio(adopters as f64, of_products.len() as f64) > s.invest_adoption,
                    cost > median_cost,
                ),
            }
        })
        .collect();
    features.sort_by(|a, b| desc(a.cost.cost_usd, b.cost.cost_usd).then_with(|| a.cost.name.cmp(&b.cost.name)));

    let adoption_bands = AdoptionBand::ALL
        .iter()
        .map(|&band| BandCount {
            band,
            features: features.iter().filter(|f| f.adoption_band == band).count() as u64,
        })
        .collect();
    let matrix: Vec<QuadrantSummary> = Quadrant::ALL
        .iter()
        .map(|&quadrant| {
            let members: Vec<&FeatureEconomics> = features.iter().filter(|f| f.quadrant == quadrant).collect();
            QuadrantSummary {
                quadrant,
                features: members.iter().map(|f| f.cost.name.clone()).collect(),
                cost_usd: usd(members
                    .iter()
                    .map(|f| by_feature[f.cost.name.as_str()].totals.cost_micros)
                    .sum()),
            }
        })
        .collect();
    let (bundles, above) = bundles(rows, &features, n, s);
    let recommendations = recommend(&features, &bundles, median_cost, s);
    FeaturesResult {
        customers: n,
        calls: all.calls,
        cost_usd: all.cost_usd(),
        median_feature_cost_usd: median_cost,
        invest_adoption: s.invest_adoption,
        features,
        adoption_bands,
        matrix,
        bundles,
        bundle_pairs_above_threshold: above,
        recommendations,
    }
}

/// The median (mean of the middle two for an even count); 0 when empty.
fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Feature pairs by the customers that use both; those above the threshold, top N.
fn bundles(rows: &[FeatureUse], features: &[FeatureEconomics], n: u64, s: &FeatureSettings) -> (Vec<Bundle>, u64) {
    let mut per_customer: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in rows {
        per_customer.entry(&r.customer_id).or_default().insert(&r.feature_id);
    }
    let mut pairs: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for used in per_customer.values() {
        let used: Vec<&str> = used.iter().copied().collect();
        for (i, a) in used.iter().enumerate() {
            for b in &used[i + 1..] {
                *pairs.entry((a, b)).or_default() += 1;
            }
        }
    }
    let adoption: BTreeMap<&str, f64> = features
        .iter()
        .map(|f| (f.cost.name.as_str(), f.adoption_rate))
        .collect();
    let mut out: Vec<Bundle> = pairs
        .into_iter()
        .map(|((a, b), customers)| {
            let share = ratio(customers as f64, n as f64);
            Bundle {
                feature_a: a.to_string(),
                feature_b: b.to_string(),
                customers,
                share,
                lift: ratio(share, adoption[a] * adoption[b]),
            }
        })
        .filter(|b| b.share > s.bundle_min_share)
        .collect();
    let above = out.len() as u64;
    out.sort_by(|x, y| {
        y.customers
            .cmp(&x.customers)
            .then_with(|| (&x.feature_a, &x.feature_b).cmp(&(&y.feature_a, &y.feature_b)))
    });
    out.truncate(s.top_bundles as usize);
    (out, above)
}

fn recommend(
    features: &[FeatureEconomics],
    bundles: &[Bundle],
    median_cost: f64,
    s: &FeatureSettings,
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    for f in features {
        let contradicted = f.quadrant == Quadrant::Sunset && f.quadrant_in_product != Quadrant::Sunset;
        let (severity, title, action) = match f.quadrant {
            Quadrant::Sunset if contradicted => (
                Severity::Medium,
                format!("Review {}", f.cost.name),
                format!(
                    "Keep {} for {}'s customers, but cut its cost per call ({}): it is dear for its reach.",
                    f.cost.name,
                    f.product_id,
                    h::usd(f.cost.cost_per_call)
                ),
            ),
            Quadrant::Sunset => (
                Severity::High,
                format!("Rework or retire {}", f.cost.name),
                format!(
                    "Find out why {} of customers use {}; cut its cost per call ({}) or retire it.",
                    h::percent(f.adoption_rate),
                    f.cost.name,
                    h::usd(f.cost.cost_per_call)
                ),
            ),
            Quadrant::Optimize => (
                Severity::Medium,
                format!("Cut the cost of {}", f.cost.name),
                format!(
                    "Move {}'s calls to cheaper models or cache its answers: every 10% off its cost per call saves {}.",
                    f.cost.name,
                    h::usd(f.cost.cost_usd * 0.1)
                ),
            ),
            Quadrant::Invest => (
                Severity::Info,
                format!("Invest in {}", f.cost.name),
                format!(
                    "Promote {} to the customers of {} who do not use it yet.",
                    f.cost.name, f.product_id
                ),
            ),
            Quadrant::Maintain => continue,
        };
        let in_product = if f.quadrant_in_product == f.quadrant {
            String::new()
        } else {
            format!(
                " Among {}'s customers its adoption is {}, which places it in '{}'.",
                f.product_id,
                h::percent(f.product_adoption_rate),
                f.quadrant_in_product.as_str()
            )
        };
        out.push(Recommendation {
            severity,
            title,
            message: format!(
                "{} ({}) costs {} ({} of the total, {} per adopting customer) and is used by {} customers: {} adoption \
                 against the {} split, cost {} the {} median.{}",
                f.cost.name,
                f.product_id,
                h::usd(f.cost.cost_usd),
                h::percent(f.cost.cost_share),
                h::usd(f.cost_per_adopter),
                f.adopters,
                h::percent(f.adoption_rate),
                h::percent(s.invest_adoption),
                if f.cost.cost_usd > median_cost {
                    "above"
                } else {
                    "at or below"
                },
                h::usd(median_cost),
                in_product
            ),
            action,
            amount_usd: Some(f.cost.cost_usd),
        });
    }
    for f in features.iter().filter(|f| f.first_seen_in_window) {
        out.push(Recommendation {
            severity: Severity::Info,
            title: format!("{} is new in the window", f.cost.name),
            message: format!(
                "{} was first used on {}; {} customers adopted it: {} of all customers, {} of those active since.",
                f.cost.name,
                f.first_day,
                f.adopters,
                h::percent(f.adoption_rate),
                h::percent(f.adoption_since_first_day)
            ),
            action: "Judge its adoption on the customers active since launch, and again after a full month.".into(),
            amount_usd: Some(f.cost.cost_usd),
        });
    }
    if let Some(b) = bundles.first() {
        out.push(Recommendation {
            severity: Severity::Info,
            title: format!("Bundle {} and {}", b.feature_a, b.feature_b),
            message: format!(
                "{} customers ({}) use both {} and {} (lift {:.2}).",
                b.customers,
                h::percent(b.share),
                b.feature_a,
                b.feature_b,
                b.lift
            ),
            action: "Package them together, and offer the pair to customers who use only one.".into(),
            amount_usd: None,
        });
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.severity));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> FeatureSettings {
        FeatureSettings {
            adoption_high: 0.6,
            adoption_medium: 0.3,
            invest_adoption: 0.4,
            bundle_min_share: 0.2,
            top_bundles: 10,
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 1, d).unwrap()
    }

    fn used(customer: &str, feature: &str, cost: f64, first: u32, last: u32) -> FeatureUse {
        FeatureUse {
            customer_id: customer.into(),
            product_id: "p".into(),
            feature_id: feature.into(),
            totals: Totals {
                calls: 10,
                successes: 10,
                cost_micros: (cost * 1e6).round() as i64,
                input_tokens: 1000,
                output_tokens: 1000,
                latency_ms: 0,
            },
            first_day: day(first),
            last_day: day(last),
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn adoption_matrix_and_bundles() {
        let s = settings();
        // Five customers. chat: 4 adopters, cheap; code: 3 adopters, dear; docs: 1 adopter, dear;
        // new: launched on day 20, 1 adopter of the 2 customers still active then.
        let rows = vec![
            used("a", "chat", 1.0, 1, 30),
            used("a", "code", 10.0, 1, 30),
            used("a", "new", 0.5, 20, 30),
            used("b", "chat", 1.0, 1, 30),
            used("b", "code", 10.0, 1, 30),
            used("c", "chat", 1.0, 1, 10),
            used("c", "code", 10.0, 1, 10),
            used("d", "chat", 1.0, 1, 10),
            used("e", "docs", 20.0, 1, 10),
        ];
        let r = features(&rows, day(1), &s);
        assert_eq!(r.customers, 5);
        let f = |id: &str| r.features.iter().find(|f| f.cost.name == id).unwrap();
        assert_eq!(f("chat").adopters, 4);
        assert!((f("chat").adoption_rate - 0.8).abs() < 1e-12);
        assert_eq!(f("chat").adoption_band, AdoptionBand::High);
        assert_eq!(f("code").adoption_band, AdoptionBand::Medium);
        assert_eq!(f("docs").adoption_band, AdoptionBand::Low);
        // Costs 4, 30, 0.5, 20: median 12. chat widely adopted and cheap, code widely adopted and dear.
        assert!((r.median_feature_cost_usd - 12.0).abs() < 1e-12);
        assert_eq!(f("chat").quadrant, Quadrant::Invest);
        assert_eq!(f("code").quadrant, Quadrant::Optimize);
        assert_eq!(f("docs").quadrant, Quadrant::Sunset);
        assert_eq!(f("new").quadrant, Quadrant::Maintain);
        assert!((f("code").cost_per_adopter - 10.0).abs() < 1e-12);
        assert!(f("new").first_seen_in_window);
        assert!((f("new").adoption_since_first_day - 0.5).abs() < 1e-12);
        // Pairs: chat+code 3 (60%), chat+new 1, code+new 1 (20%, not above the threshold).
        assert_eq!(r.bundles.len(), 1);
        assert_eq!(
            (r.bundles[0].feature_a.as_str(), r.bundles[0].feature_b.as_str()),
            ("chat", "code")
        );
        assert_eq!(r.bundles[0].customers, 3);
        assert!((r.bundles[0].lift - 0.6 / (0.8 * 0.6)).abs() < 1e-12);
        assert_eq!(r.features[0].cost.name, "code");
    }
}
