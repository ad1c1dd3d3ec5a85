//! The customer profitability page.

use anyhow::Result;
use maud::{Markup, html};

use super::{GroupMargin, MarginBand, ProfitabilityResult, ProfitabilitySettings};
use crate::report::chart::{
    BarSeries, Bin, Colour, GroupedBarChart, Histogram, HistogramData, Marker, ScatterChart, ScatterPoint, Unit,
    render_grouped_bar_chart, render_histogram, render_scatter_chart,
};
use crate::report::html::{
    self as h, Cell, Figure, capped_note, cards, chart, chart_grid, recommendations, section, table,
};

/// The page: tables and charts of the result, nothing recomputed.
pub(super) fn render(r: &ProfitabilityResult, s: &ProfitabilitySettings) -> Result<Markup> {
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
