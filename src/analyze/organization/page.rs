//! The organizational alignment page.

use anyhow::Result;
use maud::{Markup, html};

use super::{ChargebackLine, GapLevel, OrganizationResult, OrganizationSettings, Split};
use crate::report::chart::{
    Bar, BarChart, BarSeries, ChartSize, Colour, GroupedBarChart, Unit, render_bar_chart, render_grouped_bar_chart,
};
use crate::report::html::{self as h, Cell, Figure, cards, chart, chart_grid, recommendations, section, table};
/// The page: tables and charts of the result, nothing recomputed.
pub(super) fn render(r: &OrganizationResult, s: &OrganizationSettings) -> Result<Markup> {
    let line_cells = |l: &ChargebackLine| -> Vec<Cell> {
        vec![
            Cell::text(&l.cost.name),
            Cell::count(l.customers),
            Cell::count(l.cost.calls),
            Cell::count(l.total_tokens as u64),
            Cell::usd(l.cost.cost_usd),
            Cell::percent(l.cost.cost_share),
            Cell::usd(l.cost.cost_per_call),
            Cell::usd(l.cost.cost_per_1k_tokens),
        ]
    };
    let head = |label: &'static str| {
        [
            label,
            "Customers",
            "Calls",
            "Tokens",
            "Cost",
            "Share",
            "Per call",
            "Per 1K tokens",
        ]
    };
    let lines = |rows: &[ChargebackLine]| -> Vec<Vec<Cell>> { rows.iter().map(line_cells).collect() };
    let feature_rows: Vec<Vec<Cell>> = r
        .by_feature
        .iter()
        .map(|f| {
            let mut row = line_cells(&f.line);
            row.insert(1, Cell::text(&f.product_id));
            row.push(Cell::percent(f.adoption_rate));
            row
        })
        .collect();
    let mut feature_head: Vec<&str> = head("Feature").to_vec();
    feature_head.insert(1, "Product");
    feature_head.push("Adoption");
    let split_rows = |rows: &[Split]| -> Vec<Vec<Cell>> {
        rows.iter()
            .map(|x| {
                vec![
                    Cell::text(&x.organization_id),
                    Cell::text(&x.name),
                    Cell::count(x.calls),
                    Cell::usd(x.cost_usd),
                    Cell::percent(x.share_of_organization),
                ]
            })
            .collect()
    };
    let e = &r.efficiency;
    let efficiency_rows: Vec<Vec<Cell>> = e
        .organizations
        .iter()
        .map(|o| {
            vec![
                Cell::text(&o.organization_id),
                Cell::count(o.calls),
                Cell::usd(o.cost_usd),
                Cell::usd(o.cost_per_call),
                Cell::number(o.vs_median, 2),
                Cell::number(o.vs_cheapest, 2),
                Cell::text(o.level.as_str()),
                Cell::usd(o.excess_cost_usd),
            ]
        })
        .collect();
    let t = &r.totals;
    let charts = charts(r)?;
    Ok(html! {
        (section("Summary", Some(
            "Direct usage attribution: every call is charged to the organization, product, feature and environment on its row."),
            cards(&[
                Figure::usd("Cost", t.cost.cost_usd),
                Figure::count("Calls", t.cost.calls),
                Figure::count("Tokens", t.total_tokens as u64),
                Figure::usd("Cost per call", t.cost.cost_per_call),
                Figure::count("Organizations", r.by_organization.len() as u64),
                Figure::count("Products", r.by_product.len() as u64),
                Figure::count("Features", r.by_feature.len() as u64),
                Figure::number("Cost-per-call gap (×)", e.gap),
            ])))
        (section("Recommendations", None, recommendations(&r.recommendations)))
        (section("Chargeback by organization", None, html! {
            (chart_grid(&[charts.organizations, charts.org_products]))
            (table(&head("Organization"), &lines(&r.by_organization)))
        }))
        (section("Cross-organization efficiency", Some(&format!(
            "{} Median organization: {} per call. Dearest ÷ cheapest: {:.2}× ({} {} vs {} {}). Flags: above {}× the \
             median a warning, above {}× critical.",
            e.method, h::usd(e.median_cost_per_call), e.gap, e.dearest_organization, h::usd(e.dearest_cost_per_call),
            e.cheapest_organization, h::usd(e.cheapest_cost_per_call), s.efficiency_gap_warning, s.efficiency_gap_critical)),
            html! {
                (chart(&charts.efficiency))
                (table(&["Organization", "Calls", "Cost", "Per call", "× median", "× cheapest", "Flag", "Above median rate"],
                    &efficiency_rows))
            }))
        (section("Showback by product", None, table(&head("Product"), &lines(&r.by_product))))
        (section("Showback by feature", Some("Adoption: customers with calls of the feature ÷ all customers."),
            html! {
                (chart(&charts.features))
                (table(&feature_head, &feature_rows))
            }))
        (section("Showback by environment", None, table(&head("Environment"), &lines(&r.by_environment))))
        (section("Organization × product", None,
            table(&["Organization", "Product", "Calls", "Cost", "Of organization"], &split_rows(&r.organization_product))))
        (section("Organization × environment", None,
            table(&["Organization", "Environment", "Calls", "Cost", "Of organization"],
                &split_rows(&r.organization_environment))))
    })
}

struct Charts {
    organizations: String,
    org_products: String,
    efficiency: String,
    features: String,
}

fn bar_chart(title: &str, label: &str, bars: Vec<Bar>) -> Result<String> {
    Ok(render_bar_chart(&BarChart {
        title: title.into(),
        value_label: label.into(),
        unit: Unit::Dollars,
        size: ChartSize::new(800, (80 + 24 * bars.len() as u32).max(400)),
        bars,
        ..Default::default()
    })?)
}

/// The page's charts: pure functions of the result.
fn charts(r: &OrganizationResult) -> Result<Charts> {
    let organizations = bar_chart(
        "Chargeback by organization",
        "Cost",
        r.by_organization
            .iter()
            .map(|o| Bar::new(&o.cost.name, o.cost.cost_usd))
            .collect(),
    )?;
    let efficiency = bar_chart(
        "Cost per call by organization (orange: warning, red: critical)",
        "Cost per call",
        r.efficiency
            .organizations
            .iter()
            .map(|o| {
                let bar = Bar::new(&o.organization_id, o.cost_per_call);
                match o.level {
                    GapLevel::Critical => bar.colour(Colour::DANGER),
                    GapLevel::Warning => bar.colour(Colour::WARNING),
                    GapLevel::Ok => bar,
                }
            })
            .collect(),
    )?;
    let features = bar_chart(
        "Showback by feature",
        "Cost",
        r.by_feature
            .iter()
            .map(|f| Bar::new(&f.line.cost.name, f.line.cost.cost_usd))
            .collect(),
    )?;
    let orgs: Vec<&str> = r.by_organization.iter().map(|o| o.cost.name.as_str()).collect();
    let org_products = render_grouped_bar_chart(&GroupedBarChart {
        title: "Organization spend by product".into(),
        x_label: "Organization".into(),
        y_label: "Cost".into(),
        unit: Unit::Dollars,
        categories: orgs.iter().map(|o| o.to_string()).collect(),
        series: r
            .by_product
            .iter()
            .map(|p| {
                BarSeries::new(
                    &p.cost.name,
                    orgs.iter()
                        .map(|o| {
                            r.organization_product
                                .iter()
                                .find(|x| x.organization_id == *o && x.name == p.cost.name)
                                .map_or(0.0, |x| x.cost_usd)
                        })
                        .collect(),
                )
            })
            .collect(),
        ..Default::default()
    })?;
    Ok(Charts {
        organizations,
        org_products,
        efficiency,
        features,
    })
}
