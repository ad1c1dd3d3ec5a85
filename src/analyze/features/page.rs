//! The feature economics page.

use anyhow::Result;
use maud::{Markup, html};

use super::{FeatureEconomics, FeatureSettings, FeaturesResult, Quadrant};
use crate::analyze::frame::desc;
use crate::report::chart::{
    Bar, BarChart, ChartSize, Quadrants, ScatterChart, ScatterPoint, Unit, render_bar_chart, render_scatter_chart,
};
use crate::report::html::{self as h, Cell, Figure, cards, chart, chart_grid, recommendations, section, table};

/// The page: tables and charts of the result, nothing recomputed.
pub(super) fn render(r: &FeaturesResult, s: &FeatureSettings) -> Result<Markup> {
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
