//! The rate optimization page: a pure function of the result and settings.

use anyhow::Result;
use maud::{Markup, html};

use super::compute::quality_change;
use super::{RateOptimization, RateResult, RateSettings};
use crate::analyze::Analyzer;
use crate::analyze::caching;
use crate::analyze::frame::DAYS_PER_MONTH;
use crate::report::chart::{Bar, BarChart, ChartSize, Heatmap, Unit, render_bar_chart, render_heatmap};
use crate::report::html::{self as h, Cell, bars_size, capped_note, cards, chart, recommendations, section, table};

pub(super) fn render(r: &RateResult, s: &RateSettings) -> Result<Markup> {
    let cap = s.top_switches as usize;
    let scenario_rows: Vec<Vec<Cell>> = r
        .scenarios
        .iter()
        .map(|x| {
            vec![
                Cell::text(&x.name),
                Cell::text(&x.description),
                Cell::usd(x.monthly_saving_usd),
                Cell::percent(x.share_of_spend),
            ]
        })
        .collect();
    let switch_rows: Vec<Vec<Cell>> = r
        .switches
        .iter()
        .take(cap)
        .map(|x| {
            vec![
                Cell::text(&x.task_type),
                Cell::text(format!("{} ({})", x.from_model, x.from_provider)),
                Cell::text(format!("{} ({})", x.to_model, x.to_provider)),
                Cell::text(format!("{:.0} → {:.0}", x.from_quality, x.to_quality)),
                Cell::text(quality_change(x.quality_loss)),
                Cell::count(x.calls),
                Cell::usd(x.cost_usd),
                Cell::usd(x.cost_after_usd),
                Cell::percent(x.saving_share),
                Cell::usd(x.monthly_saving_usd),
            ]
        })
        .collect();
    let sensitivity_rows: Vec<Vec<Cell>> = r
        .sensitivity
        .iter()
        .map(|x| {
            vec![
                Cell::number(x.max_quality_loss, 0),
                Cell::text(if x.same_provider_only {
                    "same provider"
                } else {
                    "any provider"
                }),
                Cell::count(x.switches),
                Cell::usd(x.monthly_saving_usd),
                Cell::percent(x.share_of_spend),
            ]
        })
        .collect();
    let matrix_rows: Vec<Vec<Cell>> = r
        .switch_matrix
        .iter()
        .take(cap)
        .map(|m| {
            vec![
                Cell::text(&m.from_model),
                Cell::text(&m.to_model),
                Cell::text(quality_change(m.quality_loss)),
                Cell::usd(m.saving_usd),
            ]
        })
        .collect();
    let reserved_rows: Vec<Vec<Cell>> = r
        .reserved
        .iter()
        .map(|x| {
            vec![
                Cell::text(&x.model),
                Cell::text(&x.provider),
                Cell::usd(x.monthly_spend_usd),
                Cell::usd(x.monthly_saving_usd),
            ]
        })
        .collect();
    let arbitrage_rows: Vec<Vec<Cell>> = r
        .arbitrage
        .iter()
        .map(|a| {
            vec![
                Cell::text(&a.task_type),
                Cell::text(&a.cheapest_provider),
                Cell::usd(a.cheapest_cost_per_1k),
                Cell::usd(a.cost_usd),
                Cell::usd(a.cost_at_cheapest_usd),
                Cell::usd(a.saving_usd),
            ]
        })
        .collect();
    let tiers = s
        .volume_discounts
        .iter()
        .map(|t| format!("{} from {}", h::percent(t.discount), h::usd(t.min_spend)))
        .collect::<Vec<_>>()
        .join(", ");
    let volume_rows: Vec<Vec<Cell>> = r
        .volume_discount
        .providers
        .iter()
        .map(|p| {
            vec![
                Cell::text(&p.provider),
                Cell::usd(p.monthly_spend_usd),
                Cell::text(p.tier.as_ref().map_or("none".into(), |t| h::percent(t.discount))),
                Cell::usd(p.monthly_saving_usd),
                Cell::text(match (&p.next_tier, p.to_next_tier_usd) {
                    (Some(t), Some(gap)) => format!("{} more for {}", h::usd(gap), h::percent(t.discount)),
                    _ => "top tier".into(),
                }),
            ]
        })
        .collect();
    let scope = if r.same_provider_only {
        "of the same provider"
    } else {
        "of any provider"
    };
    let (scenario_chart, matrix_chart) = charts(r)?;
    Ok(html! {
        (section("Summary", Some(&format!(
            "Over the {}-day window; monthly figures scale it to {} days. The options overlap: do not add them up.",
            r.window_days, DAYS_PER_MONTH)), html! {
            (cards(&RateOptimization::headline(r)))
            (chart(&scenario_chart))
            (table(&["Option", "What it assumes", "Saving / month", "Of spend"], &scenario_rows))
        }))
        (section("Recommendations", None, recommendations(&r.recommendations)))
        (caching::render(&r.caching)?)
        (section("Model switches", Some(&format!(
            "The best switch for each task type and model: the same successful calls' tokens repriced at the \
             cheapest model {scope} whose benchmark score is at most {} points below the source's (LMArena text \
             score, cited in the catalogue). A gain of points means the benchmark prefers the cheaper model.",
            r.max_quality_loss)), html! {
            (table(&["Task", "From", "To", "Score", "Quality", "Calls", "Cost", "After", "Saving %", "Saving / month"], &switch_rows))
            (capped_note(switch_rows.len(), r.switches.len()))
            @if !r.unscored_models.is_empty() {
                p.note { "Models without a benchmark score (never switched from or to): " (r.unscored_models.join(", ")) "." }
            }
        }))
        (section("Quality budget", Some(
            "The monthly switching saving under other quality budgets (points a switch may give up) and provider \
             scopes: what more quality or a change of vendor would buy."),
            table(&["Points given up, at most", "Target", "Switches", "Saving / month", "Of spend"], &sensitivity_rows)))
        (section("Switching matrix", Some("Savings over the window, summed over task types, by model pair."),
            html! { (chart(&matrix_chart)) (table(&["From", "To", "Quality", "Saving"], &matrix_rows)) }))
        (section("Reserved capacity", Some(&format!(
            "Models with more than {} of monthly spend; {} off with a commitment.",
            h::usd(s.reserved_min_spend), h::percent(s.reserved_saving))),
            table(&["Model", "Provider", "Monthly spend", "Monthly saving"], &reserved_rows)))
        (section("Volume discounts", Some(&format!(
            "Each provider discounts its own monthly spend: {tiers}.")), html! {
            (table(&["Provider", "Monthly spend", "Discount", "Saving / month", "Next tier"], &volume_rows))
            @match &r.volume_discount.consolidation {
                Some(c) => p {
                    "Moving " (h::usd(c.moved_usd)) " a month to " (c.to_provider) " reaches its "
                    (h::usd(c.tier.min_spend)) " tier: " (h::usd(c.net_monthly_gain_usd))
                    " a month more, net of discounts lost elsewhere, if the moved calls cost the same there."
                },
                None => p.note {
                    "No move of spend between providers reaches a higher tier for more than it loses elsewhere: \
                     consolidating providers earns no volume discount here."
                },
            }
        }))
        (section("Provider price spread", Some("Per task type, the provider with the lowest cost per 1K tokens today, and what the task would cost at that rate. This is a price gap, not a saving: it ignores quality; the saving within the quality budget is the \"Provider arbitrage\" scenario above."),
            table(&["Task", "Cheapest provider", "Per 1K tokens", "Cost", "At cheapest", "Price gap"], &arbitrage_rows)))
    })
}

fn charts(r: &RateResult) -> Result<(String, String)> {
    let bars: Vec<Bar> = r
        .scenarios
        .iter()
        .map(|x| Bar::new(&x.name, x.monthly_saving_usd))
        .collect();
    let scenarios = render_bar_chart(&BarChart {
        title: "Monthly saving by option (overlapping: do not add)".into(),
        value_label: "Saving per month".into(),
        unit: Unit::Dollars,
        size: bars_size(bars.len()),
        bars,
        ..Default::default()
    })?;
    let mut from: Vec<&str> = r.switch_matrix.iter().map(|m| m.from_model.as_str()).collect();
    let mut to: Vec<&str> = r.switch_matrix.iter().map(|m| m.to_model.as_str()).collect();
    from.sort();
    from.dedup();
    to.sort();
    to.dedup();
    let values = from
        .iter()
        .map(|f| {
            to.iter()
                .map(|t| {
                    r.switch_matrix
                        .iter()
                        .find(|m| m.from_model == *f && m.to_model == *t)
                        .map_or(0.0, |m| m.saving_usd)
                })
                .collect()
        })
        .collect();
    let matrix = render_heatmap(&Heatmap {
        title: "Saving by switch (from → to)".into(),
        x_label: "To".into(),
        y_label: "From".into(),
        unit: Unit::Dollars,
        columns: to.iter().map(|s| s.to_string()).collect(),
        rows: from.iter().map(|s| s.to_string()).collect(),
        values,
        show_values: true,
        size: ChartSize::new(900, (120 + 30 * from.len() as u32).max(300)),
    })?;
    Ok((scenarios, matrix))
}
