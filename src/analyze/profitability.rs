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

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::NaiveDate;
use maud::{Markup, html};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::frame::{DAYS_PER_MONTH, cost_micros, dates, floats, ints, is_success, ratio, strings, usd};
use super::{Analyzer, Columns, Context};
use crate::config::{CallsConfig, ConfigError, SettingsCheck};
use crate::report::chart::{
    BarSeries, Bin, Colour, GroupedBarChart, Histogram, HistogramData, Marker, ScatterChart, ScatterPoint, Unit,
    render_grouped_bar_chart, render_histogram, render_scatter_chart,
};
use crate::report::html::{
    self as h, Cell, Figure, Recommendation, Severity, capped_note, cards, chart, chart_grid, recommendations, section,
    table,
};

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

/// The columns of the per-customer usage both this page and pricing read (one declaration, as
/// the query is one).
pub const CUSTOMER_USAGE_COLUMNS: &[&str] = &[
    "timestamp",
    "customer_id",
    "subscription_tier",
    "organization_id",
    "customer_archetype",
    "tier_price_usd",
    "status",
    "cost_usd",
    "input_tokens",
    "output_tokens",
];
/// One customer's usage over the window, as the profitability and pricing analyzers read it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CustomerUsage {
    pub customer_id: String,
    pub subscription_tier: String,
    /// Monthly price of the tier.
    pub tier_price_usd: f64,
    pub customer_archetype: String,
    pub organization_id: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub calls: u64,
    pub cost_micros: i64,
    /// Input + output tokens of successful calls (failed calls are not billed).
    pub billable_tokens: i64,
}

impl CustomerUsage {
    /// UTC days from the first to the last call, inclusive.
    pub fn active_days(&self) -> u32 {
        ((self.last_day - self.first_day).num_days() + 1).max(1) as u32
    }

    /// The tier price prorated to the active days.
    pub fn revenue_usd(&self) -> f64 {
        prorate(self.tier_price_usd, self.active_days())
    }

    pub fn cost_usd(&self) -> f64 {
        usd(self.cost_micros)
    }
}

/// A monthly amount for `days` days.
pub fn prorate(monthly_usd: f64, days: u32) -> f64 {
    monthly_usd * f64::from(days) / DAYS_PER_MONTH
}

/// Every customer's usage, by customer id, and how many customers carry more than one tier in the
/// data (each is given the tier most of its calls carry; ties go to the dearer tier). The pricing
/// page reads the same: the query runs once for both ([`Context::shared`]).
pub fn customer_usage(ctx: &Context<'_>) -> Result<(Vec<CustomerUsage>, u64)> {
    Ok((*ctx.shared("profitability::customer_usage", || usage_query(ctx))?).clone())
}

fn usage_query(ctx: &Context<'_>) -> Result<(Vec<CustomerUsage>, u64)> {
    let day = || col("timestamp").dt().date();
    let df = ctx.collect(
        ctx.calls()
            .group_by([col("customer_id"), col("subscription_tier")])
            .agg([
                len().cast(DataType::Int64).alias("calls"),
                cost_micros().sum().alias("cost_micros"),
                (col("input_tokens").cast(DataType::Int64) + col("output_tokens").cast(DataType::Int64))
                    .filter(is_success())
                    .sum()
                    .alias("billable_tokens"),
                col("tier_price_usd").max().alias("tier_price_usd"),
                // One archetype and organization per customer (a dataset invariant); min() is stable.
                col("customer_archetype").min().alias("customer_archetype"),
                col("organization_id").min().alias("organization_id"),
                day().min().alias("first_day"),
                day().max().alias("last_day"),
            ]),
    )?;
    let (ids, tiers, archetypes, orgs) = (
        strings(&df, "customer_id")?,
        strings(&df, "subscription_tier")?,
        strings(&df, "customer_archetype")?,
        strings(&df, "organization_id")?,
    );
    let (calls, cost, tokens, price) = (
        ints(&df, "calls")?,
        ints(&df, "cost_micros")?,
        ints(&df, "billable_tokens")?,
        floats(&df, "tier_price_usd")?,
    );
    let (first, last) = (dates(&df, "first_day")?, dates(&df, "last_day")?);
    let mut rows: Vec<CustomerUsage> = (0..df.height())
        .map(|i| CustomerUsage {
            customer_id: ids[i].clone(),
            subscription_tier: tiers[i].clone(),
            tier_price_usd: price[i],
            customer_archetype: archetypes[i].clone(),
            organization_id: orgs[i].clone(),
            first_day: first[i],
            last_day: last[i],
            calls: calls[i] as u64,
            cost_micros: cost[i],
            billable_tokens: tokens[i],
        })
        .collect();
    rows.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
    Ok(merge_tiers(rows))
}

/// Folds a customer's (customer, tier) rows into one: sums of usage, the whole active span, and
/// the tier that most calls carry. Input sorted by customer id.
fn merge_tiers(rows: Vec<CustomerUsage>) -> (Vec<CustomerUsage>, u64) {
    let mut out: Vec<CustomerUsage> = Vec::with_capacity(rows.len());
    let mut several = 0;
    for group in rows.chunk_by(|a, b| a.customer_id == b.customer_id) {
        let main = group
            .iter()
            .max_by(|a, b| {
                a.calls
                    .cmp(&b.calls)
                    .then_with(|| a.tier_price_usd.total_cmp(&b.tier_price_usd))
                    .then_with(|| b.subscription_tier.cmp(&a.subscription_tier))
            })
            .expect("chunks are not empty");
        let mut merged = main.clone();
        if group.len() > 1 {
            several += 1;
            merged.calls = group.iter().map(|g| g.calls).sum();
            merged.cost_micros = group.iter().map(|g| g.cost_micros).sum();
            merged.billable_tokens = group.iter().map(|g| g.billable_tokens).sum();
            merged.first_day = group.iter().map(|g| g.first_day).min().expect("not empty");
            merged.last_day = group.iter().map(|g| g.last_day).max().expect("not empty");
        }
        out.push(merged);
    }
    (out, several)
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
        let t = &r.totals;
        let band_rows: Vec<Vec<Cell>> = r
            .bands
            .iter()
            .map(|b| {
                vec![
                    Cell::text(band_label(b.band, s)),
                    Cell::count(b.customers),
                    Cell::percent(b.share),
                    Cell::usd(b.revenue_usd),
                    Cell::usd(b.cost_usd),
                    Cell::usd(b.margin_usd),
                ]
            })
            .collect();
        let group_rows = |rows: &[GroupMargin], with_price: bool| -> Vec<Vec<Cell>> {
            rows.iter()
                .map(|g| {
                    let mut row = vec![Cell::text(&g.name)];
                    if with_price {
                        row.push(Cell::usd(g.tier_price_usd));
                    }
                    row.extend([
                        Cell::count(g.customers),
                        Cell::usd(g.revenue_usd),
                        Cell::usd(g.cost_usd),
                        Cell::usd(g.margin_usd),
                        Cell::percent(g.margin_pct),
                        Cell::count(g.unprofitable_customers),
                        Cell::number(g.avg_active_days, 1),
                    ]);
                    if with_price {
                        row.push(Cell::text(if g.below_floor { "below floor" } else { "" }));
                    }
                    row
                })
                .collect()
        };
        let cell_rows: Vec<Vec<Cell>> = r
            .by_tier_archetype
            .iter()
            .map(|c| {
                vec![
                    Cell::text(&c.subscription_tier),
                    Cell::text(&c.customer_archetype),
                    Cell::count(c.customers),
                    Cell::usd(c.revenue_usd),
                    Cell::usd(c.cost_usd),
                    Cell::usd(c.margin_usd),
                    Cell::percent(c.margin_pct),
                ]
            })
            .collect();
        let cap = s.max_listed as usize;
        let loss_rows: Vec<Vec<Cell>> = r
            .unprofitable
            .iter()
            .take(cap)
            .map(|c| {
                vec![
                    Cell::text(&c.customer_id),
                    Cell::text(&c.subscription_tier),
                    Cell::text(&c.customer_archetype),
                    Cell::text(&c.organization_id),
                    Cell::count(u64::from(c.active_days)),
                    Cell::usd(c.revenue_usd),
                    Cell::usd(c.cost_usd),
                    Cell::usd(c.margin_usd),
                    Cell::percent(c.margin_pct),
                ]
            })
            .collect();
        let tier_head = [
            "Tier",
            "Price / month",
            "Customers",
            "Revenue",
            "Cost",
            "Margin",
            "Margin %",
            "Unprofitable",
            "Avg active days",
            "",
        ];
        let group_head = [
            "Archetype",
            "Customers",
            "Revenue",
            "Cost",
            "Margin",
            "Margin %",
            "Unprofitable",
            "Avg active days",
        ];
        let charts = charts(r, s)?;
        Ok(html! {
            (section("Summary", Some(&r.revenue_rule), cards(&[
                Figure::usd("Revenue", t.revenue_usd),
                Figure::usd("Cost to serve", t.cost_usd),
                Figure::usd("Margin", t.margin_usd),
                Figure::percent("Margin %", t.margin_pct),
                Figure::percent("Target margin", t.target_margin),
                Figure::count("Customers", t.customers),
                Figure::count("Unprofitable", t.unprofitable_customers),
                Figure::percent("Below medium margin", t.low_margin_share),
            ])))
            (section("Recommendations", None, recommendations(&r.recommendations)))
            (section("Margin bands", Some(&format!(
                "Margin as a share of revenue: high above {}, medium {} to {}, low 0 to {}, unprofitable below 0.",
                h::percent(s.high_margin), h::percent(s.medium_margin), h::percent(s.high_margin), h::percent(s.medium_margin))),
                html! {
                    (chart_grid(&[charts.histogram, charts.scatter]))
                    (table(&["Band", "Customers", "Share", "Revenue", "Cost", "Margin"], &band_rows))
                }))
            (section("By tier", Some(&format!(
                "Each customer counted once, in its tier; the tier rows sum to the totals. Tiers below a {} margin are flagged.",
                h::percent(s.tier_margin_floor))),
                html! {
                    (chart(&charts.tiers))
                    (table(&tier_head, &group_rows(&r.by_tier, true)))
                }))
            (section("By archetype", None, table(&group_head, &group_rows(&r.by_archetype, false))))
            (section("By tier and archetype", None,
                table(&["Tier", "Archetype", "Customers", "Revenue", "Cost", "Margin", "Margin %"], &cell_rows)))
            (section("Unprofitable customers", Some("Largest loss first."), html! {
                @if r.unprofitable.is_empty() {
                    p.note { "Every customer pays more than it costs to serve." }
                } @else {
                    (table(&["Customer", "Tier", "Archetype", "Organization", "Active days", "Revenue", "Cost", "Margin", "Margin %"], &loss_rows))
                    (capped_note(loss_rows.len(), r.unprofitable.len()))
                }
            }))
        })
    }
}

struct Charts {
    histogram: String,
    scatter: String,
    tiers: String,
}

/// Lowest margin the histogram shows as its own bins; customers below it share the first bin.
const HISTOGRAM_FLOOR_PCT: f64 = -100.0;

/// The page's charts: pure functions of the result.
fn charts(r: &ProfitabilityResult, s: &ProfitabilitySettings) -> Result<Charts> {
    // 10-point bins from the lowest margin (at most 100 points below 0) to 100%.
    let pct: Vec<f64> = r.customers.iter().map(|c| c.margin_pct * 100.0).collect();
    let lowest = pct.iter().copied().fold(0.0, f64::min);
    let start = ((lowest / 10.0).floor() * 10.0).max(HISTOGRAM_FLOOR_PCT);
    let n_bins = ((100.0 - start) / 10.0).round().max(1.0) as usize;
    let mut bins: Vec<Bin> = (0..n_bins)
        .map(|i| Bin {
            lower: start + 10.0 * i as f64,
            upper: start + 10.0 * (i + 1) as f64,
            count: 0.0,
        })
        .collect();
    for v in &pct {
        let i = (((v - start) / 10.0).floor().max(0.0) as usize).min(n_bins - 1);
        bins[i].count += 1.0;
    }
    let clipped = pct.iter().filter(|v| **v < start).count();
    let histogram = render_histogram(&Histogram {
        title: if clipped > 0 {
            format!("Customers by margin ({clipped} below {start:.0}% in the first bin)")
        } else {
            "Customers by margin".into()
        },
        x_label: "Margin (% of revenue)".into(),
        y_label: "Customers".into(),
        x_unit: Unit::Percent,
        y_unit: Unit::Count,
        data: HistogramData::Binned(bins),
        markers: vec![
            Marker::new(0.0, "break-even"),
            Marker {
                value: s.medium_margin * 100.0,
                label: "medium".into(),
                colour: Some(Colour::WARNING),
            },
            Marker {
                value: s.high_margin * 100.0,
                label: "high".into(),
                colour: Some(Colour::SUCCESS),
            },
        ],
        ..Default::default()
    })?;
    let mut points: Vec<ScatterPoint> = r
        .customers
        .iter()
        .map(|c| ScatterPoint::new(c.revenue_usd, c.cost_usd).category(c.band.as_str()))
        .collect();
    // Name the three largest losses.
    for loss in r.unprofitable.iter().take(3) {
        if let Some(p) = r
            .customers
            .iter()
            .position(|c| c.customer_id == loss.customer_id)
            .and_then(|i| points.get_mut(i))
        {
            p.label = Some(loss.customer_id.clone());
        }
    }
    // Colours by band, in band order whatever order the points come in.
    points.sort_by_key(|p| {
        MarginBand::ALL
            .iter()
            .position(|b| Some(b.as_str()) == p.category.as_deref())
    });
    let scatter = render_scatter_chart(&ScatterChart {
        title: "Cost to serve against revenue, per customer".into(),
        x_label: "Revenue".into(),
        y_label: "Cost to serve".into(),
        x_unit: Unit::Dollars,
        y_unit: Unit::Dollars,
        points,
        ..Default::default()
    })?;
    let tiers = render_grouped_bar_chart(&GroupedBarChart {
        title: "Revenue, cost and margin by tier".into(),
        x_label: "Tier".into(),
        y_label: "USD".into(),
        unit: Unit::Dollars,
        categories: r.by_tier.iter().map(|t| t.name.clone()).collect(),
        series: vec![
            BarSeries::new("Revenue", r.by_tier.iter().map(|t| t.revenue_usd).collect()).colour(Colour::PRIMARY),
            BarSeries::new("Cost to serve", r.by_tier.iter().map(|t| t.cost_usd).collect()).colour(Colour::WARNING),
            BarSeries::new("Margin", r.by_tier.iter().map(|t| t.margin_usd).collect()).colour(Colour::SUCCESS),
        ],
        show_values: true,
        ..Default::default()
    })?;
    Ok(Charts {
        histogram,
        scatter,
        tiers,
    })
}

fn band_label(band: MarginBand, s: &ProfitabilitySettings) -> String {
    match band {
        MarginBand::High => format!("High (> {})", h::percent(s.high_margin)),
        MarginBand::Medium => format!(
            "Medium ({} – {})",
            h::percent(s.medium_margin),
            h::percent(s.high_margin)
        ),
        MarginBand::Low => format!("Low (0 – {})", h::percent(s.medium_margin)),
        MarginBand::Unprofitable => "Unprofitable (< 0)".to_string(),
    }
}

/// The analysis proper, over plain rows: margins, bands, groups and recommendations.
pub fn profitability(
    usage: &[CustomerUsage],
    customers_with_several_tiers: u64,
    window_days: u32,
    s: &ProfitabilitySettings,
) -> ProfitabilityResult {
    let mut customers: Vec<CustomerMargin> = usage.iter().map(|u| customer_margin(u, s)).collect();
    customers.sort_by(|a, b| {
        a.margin_pct
            .total_cmp(&b.margin_pct)
            .then_with(|| a.customer_id.cmp(&b.customer_id))
    });
    let mut unprofitable: Vec<CustomerMargin> = customers
        .iter()
        .filter(|c| c.band == MarginBand::Unprofitable)
        .cloned()
        .collect();
    unprofitable.sort_by(|a, b| {
        a.margin_usd
            .total_cmp(&b.margin_usd)
            .then_with(|| a.customer_id.cmp(&b.customer_id))
    });

    let all = Sums::of(customers.iter());
    let n = customers.len() as u64;
    let low = customers
        .iter()
        .filter(|c| matches!(c.band, MarginBand::Low | MarginBand::Unprofitable))
        .count() as u64;
    let totals = PortfolioMargin {
        customers: n,
        revenue_usd: all.revenue,
        cost_usd: all.cost,
        margin_usd: all.margin(),
        margin_pct: all.margin_pct(),
        target_margin: s.target_margin,
        shortfall_usd: (s.target_margin * all.revenue - all.margin()).max(0.0),
        unprofitable_customers: unprofitable.len() as u64,
        low_margin_customers: low,
        low_margin_share: ratio(low as f64, n as f64),
        customers_with_several_tiers,
    };
    let bands = MarginBand::ALL
        .iter()
        .map(|&band| {
            let sums = Sums::of(customers.iter().filter(|c| c.band == band));
            BandSummary {
                band,
                customers: sums.customers,
                share: ratio(sums.customers as f64, n as f64),
                revenue_usd: sums.revenue,
                cost_usd: sums.cost,
                margin_usd: sums.margin(),
            }
        })
        .collect();

    let mut by_tier = group(&customers, |c| c.subscription_tier.clone(), s);
    for g in &mut by_tier {
        g.below_floor = g.margin_pct < s.tier_margin_floor;
    }
    // Cheapest tier first (the prices come from the data), then by name.
    by_tier.sort_by(|a, b| {
        a.tier_price_usd
            .total_cmp(&b.tier_price_usd)
            .then_with(|| a.name.cmp(&b.name))
    });
    let mut by_archetype = group(&customers, |c| c.customer_archetype.clone(), s);
    by_archetype.iter_mut().for_each(|g| g.tier_price_usd = 0.0);
    let tier_rank: BTreeMap<&str, usize> = by_tier.iter().enumerate().map(|(i, g)| (g.name.as_str(), i)).collect();
    let mut cells: BTreeMap<(usize, String), Sums> = BTreeMap::new();
    for c in &customers {
        cells
            .entry((tier_rank[c.subscription_tier.as_str()], c.customer_archetype.clone()))
            .or_default()
            .add(c);
    }
    let by_tier_archetype = cells
        .into_iter()
        .map(|((t, archetype), sums)| TierArchetypeMargin {
            subscription_tier: by_tier[t].name.clone(),
            customer_archetype: archetype,
            customers: sums.customers,
            revenue_usd: sums.revenue,
            cost_usd: sums.cost,
            margin_usd: sums.margin(),
            margin_pct: sums.margin_pct(),
        })
        .collect();
    let recommendations = recommend(&totals, &by_tier, &unprofitable, s);
    ProfitabilityResult {
        revenue_rule: format!(
            "Revenue = the tier's monthly price × active days / {DAYS_PER_MONTH}, where active days are the UTC days \
             from a customer's first to its last call, inclusive; cost to serve = the sum of its calls' cost_usd. \
             Margin = revenue − cost; margin % = margin ÷ revenue."
        ),
        window_days,
        totals,
        bands,
        by_tier,
        by_archetype,
        by_tier_archetype,
        unprofitable,
        customers,
        recommendations,
    }
}

fn customer_margin(u: &CustomerUsage, s: &ProfitabilitySettings) -> CustomerMargin {
    let revenue = u.revenue_usd();
    let cost = u.cost_usd();
    let margin = revenue - cost;
    let margin_pct = margin_share(margin, revenue);
    CustomerMargin {
        customer_id: u.customer_id.clone(),
        subscription_tier: u.subscription_tier.clone(),
        tier_price_usd: u.tier_price_usd,
        customer_archetype: u.customer_archetype.clone(),
        organization_id: u.organization_id.clone(),
        first_day: u.first_day,
        last_day: u.last_day,
        active_days: u.active_days(),
        calls: u.calls,
        revenue_usd: revenue,
        cost_usd: cost,
        margin_usd: margin,
        margin_pct,
        band: MarginBand::of(margin, margin_pct, s),
    }
}

/// Margin ÷ revenue; a customer that pays nothing but costs something is at −100%.
fn margin_share(margin: f64, revenue: f64) -> f64 {
    if revenue > 0.0 {
        margin / revenue
    } else if margin < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Running sums over customers.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    customers: u64,
    revenue: f64,
    cost: f64,
    unprofitable: u64,
    active_days: u64,
    price: f64,
}

impl Sums {
    fn add(&mut self, c: &CustomerMargin) {
        self.customers += 1;
        self.revenue += c.revenue_usd;
        self.cost += c.cost_usd;
        self.unprofitable += u64::from(c.band == MarginBand::Unprofitable);
        self.active_days += u64::from(c.active_days);
        self.price = self.price.max(c.tier_price_usd);
    }

    fn of<'a>(customers: impl Iterator<Item = &'a CustomerMargin>) -> Sums {
        let mut s = Sums::default();
        customers.for_each(|c| s.add(c));
        s
    }

    fn margin(&self) -> f64 {
        self.revenue - self.cost
    }

    fn margin_pct(&self) -> f64 {
        margin_share(self.margin(), self.revenue)
    }
}

/// Customers grouped by `key`, each in exactly one group, sorted by key.
fn group(
    customers: &[CustomerMargin],
    key: impl Fn(&CustomerMargin) -> String,
    s: &ProfitabilitySettings,
) -> Vec<GroupMargin> {
    let mut groups: BTreeMap<String, Sums> = BTreeMap::new();
    for c in customers {
        groups.entry(key(c)).or_default().add(c);
    }
    groups
        .into_iter()
        .map(|(name, sums)| GroupMargin {
            name,
            tier_price_usd: sums.price,
            customers: sums.customers,
            revenue_usd: sums.revenue,
            cost_usd: sums.cost,
            margin_usd: sums.margin(),
            margin_pct: sums.margin_pct(),
            unprofitable_customers: sums.unprofitable,
            avg_active_days: ratio(sums.active_days as f64, sums.customers as f64),
            below_floor: sums.margin_pct() < s.tier_margin_floor,
        })
        .collect()
}

fn recommend(
    t: &PortfolioMargin,
    tiers: &[GroupMargin],
    unprofitable: &[CustomerMargin],
    s: &ProfitabilitySettings,
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    if !unprofitable.is_empty() {
        let loss: f64 = -unprofitable.iter().map(|c| c.margin_usd).sum::<f64>();
        let worst: Vec<String> = unprofitable
            .iter()
            .take(3)
            .map(|c| {
                format!(
                    "{} ({} tier, {} user: {} cost against {} revenue)",
                    c.customer_id,
                    c.subscription_tier,
                    c.customer_archetype,
                    h::usd(c.cost_usd),
                    h::usd(c.revenue_usd)
                )
            })
            .collect();
        out.push(Recommendation {
            severity: Severity::Critical,
            title: "Customers that cost more than they pay".into(),
            message: format!(
                "{} customer(s) lose {} in all. Largest losses: {}.",
                unprofitable.len(),
                h::usd(loss),
                worst.join("; ")
            ),
            action: "Move them to a tier that covers their usage, or bill their usage beyond the tier's allowance \
                     (see the pricing strategy report)."
                .into(),
            amount_usd: Some(loss),
        });
    }
    for g in tiers.iter().filter(|g| g.below_floor) {
        let shortfall = (s.tier_margin_floor * g.revenue_usd - g.margin_usd).max(0.0);
        out.push(Recommendation {
            severity: Severity::High,
            title: format!("The {} tier is below the margin floor", g.name),
            message: format!(
                "The {} tier ({} a month, {} customers) earns {} against {} to serve: a {} margin, below the {} floor; \
                 {} of its customers are unprofitable.",
                g.name,
                h::usd(g.tier_price_usd),
                g.customers,
                h::usd(g.revenue_usd),
                h::usd(g.cost_usd),
                h::percent(g.margin_pct),
                h::percent(s.tier_margin_floor),
                g.unprofitable_customers
            ),
            action: format!(
                "Raise the {} price or cap its included usage; {} more margin brings it to the floor.",
                g.name,
                h::usd(shortfall)
            ),
            amount_usd: Some(shortfall),
        });
    }
    if t.low_margin_share > s.low_margin_share {
        out.push(Recommendation {
            severity: Severity::High,
            title: "Too many low-margin customers".into(),
            message: format!(
                "{} of {} customers ({}) earn less than a {} margin, above the {} limit.",
                t.low_margin_customers,
                t.customers,
                h::percent(t.low_margin_share),
                h::percent(s.medium_margin),
                h::percent(s.low_margin_share)
            ),
            action: "Review tier allowances and prices for the heaviest users of each tier.".into(),
            amount_usd: None,
        });
    }
    if t.margin_pct < s.target_margin {
        out.push(Recommendation {
            severity: Severity::High,
            title: "Portfolio margin below target".into(),
            message: format!(
                "The portfolio earns a {} margin ({} on {} revenue), below the {} target: {} short.",
                h::percent(t.margin_pct),
                h::usd(t.margin_usd),
                h::usd(t.revenue_usd),
                h::percent(s.target_margin),
                h::usd(t.shortfall_usd)
            ),
            action: "Reprice the tiers that fall short (above) or move heavy users to usage-based pricing.".into(),
            amount_usd: Some(t.shortfall_usd),
        });
    } else {
        out.push(Recommendation {
            severity: Severity::Info,
            title: "Portfolio margin on target".into(),
            message: format!(
                "The portfolio earns a {} margin ({} on {} revenue), at or above the {} target.",
                h::percent(t.margin_pct),
                h::usd(t.margin_usd),
                h::usd(t.revenue_usd),
                h::percent(s.target_margin)
            ),
            action: "Keep watching the tiers and customers listed here as usage grows.".into(),
            amount_usd: Some(t.margin_usd),
        });
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.severity));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ProfitabilitySettings {
        ProfitabilitySettings {
            high_margin: 0.5,
            medium_margin: 0.2,
            target_margin: 0.4,
            tier_margin_floor: 0.2,
            low_margin_share: 0.3,
            max_listed: 25,
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 1, d).unwrap()
    }

    fn usage(id: &str, tier: &str, price: f64, first: u32, last: u32, cost: f64) -> CustomerUsage {
        CustomerUsage {
            customer_id: id.into(),
            subscription_tier: tier.into(),
            tier_price_usd: price,
            customer_archetype: "light".into(),
            organization_id: "org_001".into(),
            first_day: day(first),
            last_day: day(last),
            calls: 10,
            cost_micros: (cost * 1e6).round() as i64,
            billable_tokens: 1000,
        }
    }

    #[test]
    fn revenue_is_prorated_to_the_active_days() {
        let full = usage("a", "pro", 99.0, 1, 30, 0.0);
        let churned = usage("b", "pro", 99.0, 1, 10, 0.0);
        let one_day = usage("c", "starter", 29.0, 5, 5, 0.0);
        assert_eq!(full.active_days(), 30);
        assert!((full.revenue_usd() - 99.0).abs() < 1e-12);
        assert_eq!(churned.active_days(), 10);
        assert!((churned.revenue_usd() - 33.0).abs() < 1e-12);
        assert!((one_day.revenue_usd() - 29.0 / 30.0).abs() < 1e-12);
    }

    #[test]
    fn bands_follow_the_thresholds() {
        let s = settings();
        assert_eq!(MarginBand::of(60.0, 0.6, &s), MarginBand::High);
        assert_eq!(MarginBand::of(50.0, 0.5, &s), MarginBand::Medium);
        assert_eq!(MarginBand::of(20.0, 0.2, &s), MarginBand::Medium);
        assert_eq!(MarginBand::of(19.0, 0.19, &s), MarginBand::Low);
        assert_eq!(MarginBand::of(0.0, 0.0, &s), MarginBand::Low);
        assert_eq!(MarginBand::of(-0.01, -0.001, &s), MarginBand::Unprofitable);
    }

    #[test]
    fn a_churned_heavy_user_is_unprofitable_and_tiers_sum_to_the_total() {
        let s = settings();
        let rows = vec![
            usage("a", "starter", 29.0, 1, 30, 5.0), // 29.00 revenue, 82.8% margin: high
            usage("b", "pro", 99.0, 1, 15, 60.0),    // 49.50 revenue, loses 10.50
            usage("c", "pro", 99.0, 1, 30, 70.0),    // 99.00 revenue, 29.3%: medium
            usage("d", "enterprise", 299.0, 1, 30, 250.0), // 16.4%: low
        ];
        let r = profitability(&rows, 0, 30, &s);
        assert!((r.totals.revenue_usd - (29.0 + 49.5 + 99.0 + 299.0)).abs() < 1e-9);
        assert!((r.totals.cost_usd - 385.0).abs() < 1e-9);
        let tier_revenue: f64 = r.by_tier.iter().map(|t| t.revenue_usd).sum();
        assert!((tier_revenue - r.totals.revenue_usd).abs() < 1e-9);
        assert_eq!(r.by_tier.iter().map(|t| t.customers).sum::<u64>(), 4);
        assert_eq!(
            r.by_tier.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["starter", "pro", "enterprise"]
        );
        let counts: Vec<u64> = r.bands.iter().map(|b| b.customers).collect();
        assert_eq!(counts, [1, 1, 1, 1]);
        assert_eq!(r.unprofitable.len(), 1);
        assert_eq!(r.unprofitable[0].customer_id, "b");
        assert!((r.unprofitable[0].margin_usd + 10.5).abs() < 1e-9);
        // pro: (148.5 - 130) / 148.5 = 12.5% < 20% floor; enterprise 16.4% too; starter is fine.
        let floors: Vec<bool> = r.by_tier.iter().map(|t| t.below_floor).collect();
        assert_eq!(floors, [false, true, true]);
        assert_eq!(r.totals.low_margin_customers, 2);
        assert!(r.recommendations.iter().any(|x| x.title.contains("pro tier")));
        assert!(r.recommendations.iter().any(|x| x.message.contains("b (pro tier")));
        assert_eq!(r.recommendations[0].severity, Severity::Critical);
    }

    #[test]
    fn a_customer_with_two_tiers_is_counted_once_in_its_main_tier() {
        let mut a1 = usage("a", "starter", 29.0, 1, 10, 1.0);
        a1.calls = 5;
        let mut a2 = usage("a", "pro", 99.0, 11, 30, 2.0);
        a2.calls = 50;
        let (merged, several) = merge_tiers(vec![a1, a2, usage("b", "pro", 99.0, 1, 30, 1.0)]);
        assert_eq!(several, 1);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].subscription_tier, "pro");
        assert_eq!(merged[0].calls, 55);
        assert_eq!(merged[0].active_days(), 30);
        assert_eq!(merged[0].cost_micros, 3_000_000);
    }
}
