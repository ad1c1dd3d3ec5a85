//! The pricing strategy page.

use anyhow::Result;
use maud::{Markup, html};

use super::{CustomerBills, Outcome, PricingModel, PricingResult, PricingSettings, Segment};
use crate::analyze::frame::{DAYS_PER_MONTH, desc};
use crate::report::chart::{BarSeries, Colour, GroupedBarChart, Unit, render_grouped_bar_chart};
use crate::report::html::{self as h, Cell, Figure, capped_note, cards, chart_grid, recommendations, section, table};

/// The page: tables and charts of the result, nothing recomputed.
pub(super) fn render(r: &PricingResult, s: &PricingSettings) -> Result<Markup> {
    let outcome_cells = |o: &Outcome| -> Vec<Cell> {
        vec![
            Cell::count(o.customers),
            Cell::usd(o.revenue_usd),
            Cell::usd(o.change_usd),
            Cell::usd(o.margin_usd),
            Cell::percent(o.margin_pct),
            Cell::text(format!("{} (+{})", o.pay_more, h::usd(o.pay_more_usd))),
            Cell::text(format!("{} (−{})", o.pay_less, h::usd(o.pay_less_usd))),
            Cell::count(o.unchanged),
        ]
    };
    let outcome_head = [
        "Customers",
        "Revenue",
        "Change",
        "Margin",
        "Margin %",
        "Pay more",
        "Pay less",
        "Unchanged",
    ];
    let model_rows: Vec<Vec<Cell>> = r
        .models
        .iter()
        .map(|m| {
            let mut row = vec![Cell::text(&m.name), Cell::text(&m.formula)];
            row.extend(outcome_cells(&m.outcome));
            row
        })
        .collect();
    let segment_rows: Vec<Vec<Cell>> = r
        .segments
        .iter()
        .flat_map(|seg| {
            seg.models.iter().map(move |m| {
                let mut row = vec![
                    Cell::text(seg.segment.as_str()),
                    Cell::text(if m.model == seg.choice {
                        format!("{} ✓", m.name)
                    } else {
                        m.name.clone()
                    }),
                ];
                row.extend(outcome_cells(&m.outcome));
                row
            })
        })
        .collect();
    let plan_rows: Vec<Vec<Cell>> = r
        .plan
        .by_segment
        .iter()
        .map(|c| {
            vec![
                Cell::text(c.segment.as_str()),
                Cell::count(c.customers),
                Cell::text(c.model.name()),
            ]
        })
        .collect();
    let plan_model = |segment: Segment| {
        r.plan
            .by_segment
            .iter()
            .find(|c| c.segment == segment)
            .map_or(PricingModel::Flat, |c| c.model)
    };
    let mut changes: Vec<(&CustomerBills, f64)> = r
        .customers_bills
        .iter()
        .map(|c| (c, c.bills.get(plan_model(c.segment)) - c.bills.flat))
        .filter(|(_, d)| d.abs() > s.unchanged_within_usd)
        .collect();
    changes.sort_by(|a, b| desc(a.1.abs(), b.1.abs()).then_with(|| a.0.customer_id.cmp(&b.0.customer_id)));
    let cap = s.max_listed as usize;
    let change_rows: Vec<Vec<Cell>> = changes
        .iter()
        .take(cap)
        .map(|(c, d)| {
            let model = plan_model(c.segment);
            vec![
                Cell::text(&c.customer_id),
                Cell::text(&c.subscription_tier),
                Cell::text(&c.customer_archetype),
                Cell::text(c.segment.as_str()),
                Cell::usd(c.cost_usd),
                Cell::usd(c.bills.flat),
                Cell::text(model.name()),
                Cell::usd(c.bills.get(model)),
                Cell::usd(*d),
            ]
        })
        .collect();
    let (p, cur) = (&r.plan.outcome, &r.plan.current);
    let charts = charts(r)?;
    Ok(html! {
        (section("Summary", Some(&r.method), cards(&[
            Figure::count("Customers", r.customers),
            Figure::usd("Cost to serve", r.cost_usd),
            Figure::usd("Current revenue", cur.revenue_usd),
            Figure::percent("Current margin", cur.margin_pct),
            Figure::usd("Revenue under the plan", p.revenue_usd),
            Figure::percent("Margin under the plan", p.margin_pct),
            Figure::count("Pay more under the plan", p.pay_more),
            Figure::count("Pay less under the plan", p.pay_less),
        ])))
        (section("Recommendations", None, recommendations(&r.recommendations)))
        (section("Migration plan", Some(&r.plan.rule), html! {
            (table(&["Segment", "Customers", "Model"], &plan_rows))
            p {
                "Revenue " (h::usd(cur.revenue_usd)) " → " (h::usd(p.revenue_usd))
                ", margin " (h::percent(cur.margin_pct)) " → " (h::percent(p.margin_pct))
                ". One model for everyone: " (r.plan.single_model.name()) "."
            }
        }))
        (section("Pricing models", Some(&format!(
            "All customers, every bill prorated to the customer's active days ({DAYS_PER_MONTH} days a month). \
             Target margin {}.", h::percent(s.target_margin))), html! {
            (chart_grid(&charts))
            (table(&[&["Model", "Rule"][..], &outcome_head[..]].concat(), &model_rows))
        }))
        (section("Winners and losers by segment", Some(&format!(
            "Segments by cost ÷ current price: light below {}, medium below {}, heavy from {}. \
             Pay more: customers whose bill would rise (and by how much in all); pay less: whose bill would fall. \
             ✓ marks the model the migration rule picks for the segment.",
            s.light_below, s.medium_below, s.medium_below)), html! {
            (table(&[&["Segment", "Model"][..], &outcome_head[..]].concat(), &segment_rows))
        }))
        (section("Largest bill changes under the plan", None, html! {
            @if change_rows.is_empty() {
                p.note { "The plan changes no customer's bill." }
            } @else {
                (table(&["Customer", "Tier", "Archetype", "Segment", "Cost", "Current bill", "New model", "New bill", "Change"], &change_rows))
                (capped_note(change_rows.len(), changes.len()))
            }
        }))
    })
}

/// The page's charts: revenue and margin per model, and each segment's revenue per model.
fn charts(r: &PricingResult) -> Result<Vec<String>> {
    let names: Vec<String> = r.models.iter().map(|m| m.name.clone()).collect();
    let models = render_grouped_bar_chart(&GroupedBarChart {
        title: "Revenue and margin by pricing model".into(),
        x_label: "Pricing model".into(),
        y_label: "USD".into(),
        unit: Unit::Dollars,
        categories: names,
        series: vec![
            BarSeries::new("Revenue", r.models.iter().map(|m| m.outcome.revenue_usd).collect()).colour(Colour::PRIMARY),
            BarSeries::new("Margin", r.models.iter().map(|m| m.outcome.margin_usd).collect()).colour(Colour::SUCCESS),
        ],
        show_values: true,
        ..Default::default()
    })?;
    let segments = render_grouped_bar_chart(&GroupedBarChart {
        title: "Revenue by segment under each model".into(),
        x_label: "Segment (cost ÷ current price)".into(),
        y_label: "Revenue".into(),
        unit: Unit::Dollars,
        categories: r
            .segments
            .iter()
            .map(|x| format!("{} ({})", x.segment.as_str(), x.customers))
            .collect(),
        series: PricingModel::ALL
            .iter()
            .map(|&model| {
                BarSeries::new(
                    model.name(),
                    r.segments
                        .iter()
                        .map(|x| {
                            x.models
                                .iter()
                                .find(|m| m.model == model)
                                .map_or(0.0, |m| m.outcome.revenue_usd)
                        })
                        .collect(),
                )
            })
            .collect(),
        ..Default::default()
    })?;
    Ok(vec![models, segments])
}
