//! The regional page: pure, result → markup.

use anyhow::Result;
use maud::{Markup, html};

use super::{RegionRow, Regional, RegionalResult, RegionalSettings};
use crate::analyze::Analyzer;
use crate::report::chart::{ChartSize, Heatmap, Unit, render_heatmap};
use crate::report::html::{self as h, Cell, capped_note, cards, chart, recommendations, section, table};

const ROW_HEAD: [&str; 9] = [
    "Name",
    "Calls",
    "Failed",
    "Cost",
    "Of cost",
    "Per call",
    "Per 1M tokens",
    "p50",
    "p95",
];

fn region_rows(rows: &[RegionRow], top: usize) -> Vec<Vec<Cell>> {
    rows.iter()
        .take(top)
        .map(|r| {
            vec![
                Cell::text(&r.name),
                Cell::count(r.calls),
                Cell::percent(r.failure_share),
                Cell::usd(r.cost_usd),
                Cell::percent(r.cost_share),
                Cell::usd(r.cost_per_call),
                Cell::usd(r.cost_per_1m_tokens),
                Cell::ms(r.p50_ms),
                Cell::ms(r.p95_ms),
            ]
        })
        .collect()
}

pub fn render(r: &RegionalResult, s: &RegionalSettings) -> Result<Markup> {
    if !r.missing_columns.is_empty() {
        return Ok(html! {
            (section("Not available", None, html! {
                p { "The dataset lacks the column(s) " code { (r.missing_columns.join(", ")) }
                    " this page needs: the time zone of the caller and the region that served the call." }
            }))
        });
    }
    let top = s.top_rows as usize;
    let heatmap = render_heatmap(&Heatmap {
        title: "Share of each time zone's calls by local hour".into(),
        x_label: "local hour".into(),
        y_label: "customer time zone".into(),
        unit: Unit::Percent,
        columns: (0..24).map(|h| format!("{h:02}")).collect(),
        rows: r.local_hours.iter().map(|l| l.timezone.clone()).collect(),
        values: r
            .local_hours
            .iter()
            .map(|l| {
                let all: u64 = l.calls.iter().sum();
                l.calls
                    .iter()
                    .map(|&c| 100.0 * crate::analyze::frame::ratio(c as f64, all as f64))
                    .collect()
            })
            .collect(),
        show_values: false,
        size: ChartSize::new(900, (120 + 40 * r.local_hours.len() as u32).max(260)),
    })?;
    let hour_rows: Vec<Vec<Cell>> = r
        .local_hours
        .iter()
        .map(|l| {
            vec![
                Cell::text(&l.timezone),
                Cell::count(l.calls.iter().sum()),
                Cell::usd(l.cost_usd.iter().sum()),
                Cell::text(format!("{:02}:00", l.peak_hour)),
                Cell::percent(l.business_hours_share),
                Cell::percent(l.night_share),
            ]
        })
        .collect();
    let route_rows: Vec<Vec<Cell>> = r
        .routes
        .iter()
        .take(top)
        .map(|x| {
            vec![
                Cell::text(&x.timezone),
                Cell::text(&x.task_type),
                Cell::text(format!("{} ({})", x.model, x.provider)),
                Cell::text(&x.region),
                Cell::count(x.calls),
                Cell::text(format!(
                    "{} / {}",
                    h::format_value(x.p50_ms, h::Unit::Ms),
                    h::format_value(x.p95_ms, h::Unit::Ms)
                )),
                Cell::text(&x.better_region),
                Cell::text(format!(
                    "{} / {}",
                    h::format_value(x.better_p50_ms, h::Unit::Ms),
                    h::format_value(x.better_p95_ms, h::Unit::Ms)
                )),
                Cell::percent(x.p95_gain),
                Cell::text(if x.suggested { "yes" } else { "no" }),
            ]
        })
        .collect();
    let suggested = r.routes.iter().filter(|x| x.suggested).count();
    Ok(html! {
        (section("Summary", Some(
            "Latency percentiles are over successful calls only (a refused call returns fast and would flatter a \
             region), read from counts in latency bins (exact below 256 ms, within 0.4% above)."), html! {
            (cards(&Regional::headline(r)))
        }))
        (section("Recommendations", None, recommendations(&r.recommendations)))
        (section("By customer time zone", Some("Where the callers are (the `timezone` column)."),
            table(&ROW_HEAD, &region_rows(&r.by_timezone, r.by_timezone.len()))))
        (section("By serving region", Some(
            "The provider region that served the call (the `region` column). Providers name regions their own \
             way, so one name may be two providers' regions."),
            table(&ROW_HEAD, &region_rows(&r.by_region, r.by_region.len()))))
        (section("By provider and region", None, html! {
            (table(&ROW_HEAD, &region_rows(&r.by_provider_region, top)))
            (capped_note(top.min(r.by_provider_region.len()), r.by_provider_region.len()))
        }))
        (section("Local hours", Some(
            "When in their own day customers call: each call's UTC time in its customer's time zone (daylight \
             saving included). Business hours are weekdays 09:00–17:59, night 22:00–05:59."), html! {
            (chart(&heatmap))
            (table(&["Time zone", "Calls", "Cost", "Peak local hour", "Business hours", "Night"], &hour_rows))
            @if !r.unknown_timezones.is_empty() {
                p.note { "Not in the time-zone database (left out): " (r.unknown_timezones.join(", ")) "." }
            }
        }))
        (section("Routing", Some(&format!(
            "Like for like: the same task type, provider and model served from another region, each cell with at \
             least {} successful calls ({} cells qualify). A route is suggested when the other region is at least {} \
             faster at both p50 and p95. The other region's latency was measured on calls from other time zones, \
             so trial a route before moving all traffic.",
            h::count(s.min_calls as f64), r.comparable_cells, h::percent(s.min_gain))), html! {
            @if r.routes.is_empty() {
                p { "No served cell has a comparable faster region: no provider and model serves the same task from \
                     two regions with enough calls each." }
            } @else {
                p { (suggested) " of " (r.routes.len()) " cells with a faster region clear the threshold." }
                (table(&["Time zone", "Task", "Model", "Region", "Calls", "p50 / p95", "Faster region",
                         "Its p50 / p95", "p95 gain", "Suggested"], &route_rows))
                (capped_note(route_rows.len(), r.routes.len()))
            }
        }))
    })
}
