//! The scenarios page: a pure function of the result and the settings.

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};
use maud::{Markup, html};

use super::super::labels::Label;
use super::{ScenariosResult, ScenariosSettings};
use crate::report::chart::{Band, Colour, LineChart, LineSeries, Unit, X, render_line_chart};
use crate::report::html::{Cell, cards, chart_grid, section, table};

/// A label's window shaded from 0 to `top`, on an axis `x`.
fn band(name: String, from: X, to: X, top: f64) -> Band {
    Band::new(name, vec![(from, 0.0, top), (to, 0.0, top)])
}

fn label_band(l: &Label, x: impl Fn(DateTime<Utc>) -> f64, top: f64) -> Band {
    band(
        format!("{} {}", l.kind, l.window_name()),
        X::Num(x(l.start)),
        X::Num(x(l.end)),
        top,
    )
}

/// A label's window on a date axis: from its start's day to its end's (a window ending at
/// midnight ends on the day before).
fn date_band(name: String, l: &Label, top: f64) -> Band {
    let end = (l.end - chrono::Duration::microseconds(1)).date_naive() + chrono::Days::new(1);
    band(name, X::Date(l.start.date_naive()), X::Date(end), top)
}

fn top_of(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(1.0, f64::max) * 1.05
}

pub fn render(r: &ScenariosResult, s: &ScenariosSettings) -> Result<Markup> {
    let mut charts: Vec<(String, String)> = Vec::new();
    for f in &r.flash_sales {
        let open = f.label.start;
        let x = |t: DateTime<Utc>| (t - open).num_milliseconds() as f64 / 1000.0;
        let top = top_of(f.per_second.iter().map(|p| p.1 as f64));
        let mut bands = vec![label_band(&f.label, x, top)];
        // Sell-out moments: a one-second mark per tier, from the events table.
        for t in &f.tiers {
            if let Some(at) = t.sold_out_at {
                let x0 = x(at).floor();
                bands.push(band(
                    format!("{} sold out {}", t.tier, at.format("%H:%M:%S")),
                    X::Num(x0),
                    X::Num(x0 + 1.0),
                    top,
                ));
            }
        }
        for (b, c) in bands
            .iter_mut()
            .skip(1)
            .zip([Colour::DANGER, Colour::WARNING, Colour::SECONDARY])
        {
            b.colour = Some(c);
        }
        charts.push((
            f.label.scenario.clone(),
            render_line_chart(&LineChart {
                title: format!("{}: attempts per second, sale of {}", f.label.scenario, f.label.subject),
                x_label: "Seconds since the sale opened".into(),
                y_label: "Attempts per second".into(),
                y_unit: Unit::Count,
                series: vec![LineSeries::new(
                    "Attempts",
                    f.per_second
                        .iter()
                        .map(|&(o, n)| (X::Num(o as f64), n as f64))
                        .collect(),
                )],
                bands,
                ..Default::default()
            })?,
        ));
    }
    for a in &r.attacks {
        let top = top_of(a.per_minute.iter().map(|p| p.1 as f64));
        let start = a.label.start;
        charts.push((
            a.label.scenario.clone(),
            render_line_chart(&LineChart {
                title: format!("{}: {} attempts per minute", a.label.scenario, a.label.subject),
                x_label: "Minutes since the attack started".into(),
                y_label: "Attempts per minute".into(),
                y_unit: Unit::Count,
                series: vec![LineSeries::new(
                    a.label.subject.clone(),
                    a.per_minute
                        .iter()
                        .map(|&(m, n)| (X::Num(m as f64), n as f64))
                        .collect(),
                )],
                bands: vec![label_band(&a.label, |t| (t - start).num_seconds() as f64 / 60.0, top)],
                ..Default::default()
            })?,
        ));
    }
    for e in &r.everyday {
        let top = top_of(e.days.iter().map(|d| d.mean_amount));
        let bands = |top: f64| -> Vec<Band> {
            e.labels
                .iter()
                .map(|l| {
                    let name = match l.kind.as_str() {
                        "drift" => format!("drift level {}", l.magnitude),
                        _ => format!("{} {}", l.kind, l.subject),
                    };
                    let mut b = date_band(name, l, top);
                    if l.kind == "ab_test" {
                        b.colour = Some(Colour::WARNING);
                    }
                    b
                })
                .collect()
        };
        let day_x = |d: NaiveDate| X::Date(d);
        charts.push((
            e.scenario.clone(),
            render_line_chart(&LineChart {
                title: format!("{}: mean total_amount per day", e.scenario),
                y_label: "Mean total amount (SAR)".into(),
                y_unit: Unit::Number,
                series: vec![LineSeries::new(
                    "Mean total_amount",
                    e.days.iter().map(|d| (day_x(d.date), d.mean_amount)).collect(),
                )],
                bands: bands(top),
                ..Default::default()
            })?,
        ));
        let personas: std::collections::BTreeSet<&String> = e.days.iter().flat_map(|d| d.personas.keys()).collect();
        let series: Vec<LineSeries> = personas
            .iter()
            .map(|p| {
                LineSeries::new(
                    p.as_str(),
                    e.days
                        .iter()
                        .map(|d| {
                            let n = d.personas.get(*p).copied().unwrap_or(0);
                            (day_x(d.date), 100.0 * n as f64 / d.attempts.max(1) as f64)
                        })
                        .collect(),
                )
            })
            .collect();
        let top = top_of(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
        charts.push((
            e.scenario.clone(),
            render_line_chart(&LineChart {
                title: format!("{}: persona shares of attempts per day", e.scenario),
                y_label: "Share of attempts".into(),
                y_unit: Unit::Percent,
                series,
                bands: bands(top),
                ..Default::default()
            })?,
        ));
    }
    for d in &r.degradations {
        let start = d.label.start;
        let top = top_of(d.per_minute_p99.iter().map(|p| p.1));
        charts.push((
            d.label.scenario.clone(),
            render_line_chart(&LineChart {
                title: format!(
                    "{}: p99 latency per minute around {}",
                    d.label.scenario,
                    d.label.window_name()
                ),
                x_label: "Minutes since the window started".into(),
                y_label: "p99 of successful decisions".into(),
                y_unit: Unit::Millis,
                series: vec![LineSeries::new(
                    "p99",
                    d.per_minute_p99.iter().map(|&(m, p)| (X::Num(m as f64), p)).collect(),
                )],
                bands: vec![label_band(&d.label, |t| (t - start).num_seconds() as f64 / 60.0, top)],
                ..Default::default()
            })?,
        ));
    }
    for b in &r.black_fridays {
        let top = top_of(b.per_hour.iter().map(|p| p.1.max(p.2) as f64));
        let start = b.label.start;
        charts.push((
            b.label.scenario.clone(),
            render_line_chart(&LineChart {
                title: format!("{}: attempts per hour vs {} days before", b.label.scenario, b.lag_days),
                x_label: format!("Hours since {} UTC", start.format("%Y-%m-%d %H:%M")),
                y_label: "Attempts per hour".into(),
                y_unit: Unit::Count,
                series: vec![
                    LineSeries::new(
                        "Black Friday",
                        b.per_hour
                            .iter()
                            .map(|&(h, n, _)| (X::Num(h as f64), n as f64))
                            .collect(),
                    ),
                    LineSeries::new(
                        format!("{} days before", b.lag_days),
                        b.per_hour
                            .iter()
                            .map(|&(h, _, n)| (X::Num(h as f64), n as f64))
                            .collect(),
                    )
                    .dashed(),
                ],
                bands: vec![label_band(&b.label, |t| (t - start).num_seconds() as f64 / 3600.0, top)],
                ..Default::default()
            })?,
        ));
    }
    for p in &r.plain {
        charts.push((
            p.scenario.clone(),
            render_line_chart(&LineChart {
                title: format!("{}: attempts per day", p.scenario),
                y_label: "Attempts".into(),
                y_unit: Unit::Count,
                series: vec![LineSeries::new(
                    "Attempts",
                    p.per_day.iter().map(|&(d, n)| (X::Date(d), n as f64)).collect(),
                )],
                ..Default::default()
            })?,
        ));
    }
    charts.sort_by(|a, b| a.0.cmp(&b.0));

    let scenario_rows: Vec<Vec<Cell>> = r
        .scenarios
        .iter()
        .map(|sc| {
            let labels = sc
                .labels
                .iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                Cell::text(&sc.scenario),
                Cell::count(sc.rows),
                Cell::percent(sc.share),
                Cell::text(if labels.is_empty() { "none".into() } else { labels }),
            ]
        })
        .collect();
    let figure_rows: Vec<Vec<Cell>> = r
        .figures
        .iter()
        .map(|f| {
            vec![
                Cell::text(&f.label.scenario),
                Cell::text(&f.label.kind),
                Cell::text(&f.label.subject),
                Cell::text(f.label.window_name()),
                Cell::text(format!("{} ({})", trim(f.label.magnitude), f.magnitude_is)),
                f.measured.map_or_else(|| Cell::text("–"), |m| Cell::number(m, 3)),
                Cell::text(&f.measured_is),
                Cell::text(&f.label.detail),
            ]
        })
        .collect();
    let tier_rows: Vec<Vec<Cell>> = r
        .flash_sales
        .iter()
        .flat_map(|f| {
            f.tiers.iter().map(move |t| {
                let at = |v: Option<DateTime<Utc>>| {
                    Cell::text(v.map_or_else(|| "–".to_string(), |v| v.format("%Y-%m-%d %H:%M:%S%.3f").to_string()))
                };
                vec![
                    Cell::text(&f.label.subject),
                    Cell::text(&t.tier),
                    at(t.sold_out_at),
                    at(t.first_sold_out_answer),
                ]
            })
        })
        .collect();
    let week_rows: Vec<Vec<Cell>> = r
        .everyday
        .iter()
        .flat_map(|e| {
            e.labels
                .iter()
                .filter(|l| l.kind == "drift")
                .zip(&e.drift_windows)
                .map(move |(l, w)| {
                    let mix = w
                        .personas
                        .iter()
                        .map(|(p, n)| format!("{p} {:.1}%", 100.0 * *n as f64 / w.attempts.max(1) as f64))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let num = |v: Option<f64>, d: usize| v.map_or_else(|| Cell::text("–"), |v| Cell::number(v, d));
                    vec![
                        Cell::text(&e.scenario),
                        Cell::text(l.window_name()),
                        Cell::text(trim(l.magnitude)),
                        Cell::count(w.attempts),
                        num(w.mean_amount(), 2),
                        num(w.mean_tickets(), 2),
                        Cell::text(mix),
                    ]
                })
        })
        .collect();
    let svgs: Vec<String> = charts.into_iter().map(|(_, svg)| svg).collect();
    Ok(html! {
        (section("Scenarios in the data", Some("Attempts per scenario (the `scenario` column) and its labels, the ground truth the other pages are scored against."), html! {
            (cards(&super::Scenarios::headline_of(r)))
            (table(&["Scenario", "Attempts", "Share", "Labels"], &scenario_rows))
        }))
        (section("Labels against the data", None, html! {
            p.note {
                "One row per label: its magnitude, and the figure measured from the label's scenario's rows that should match it. "
                "Flash sale: the busiest second's attempts against the label's peak rate (a Poisson count, so the busiest second runs above the mean rate). "
                "Attack: the pattern's attempts per second inside the window. Drift: the week's mean num_tickets relative to the reference week (the label's level scales the basket and shifts the persona mix toward scalpers, who buy more). "
                "A/B test: the conversion uplift as the label defines it (the A/B page gives its interval and test). "
                "Degradation: the median latency inside the window relative to outside (the label's latency multiplier). "
                "Black Friday: attempts relative to the same hours " (s.black_friday_lag_days) " days before (the label's load multiplier scales the visit rate)."
            }
            (table(&["Scenario", "Kind", "Subject", "Window (UTC)", "Label magnitude", "Measured", "Measured as", "Label detail"], &figure_rows))
        }))
        (section("Signatures", Some("Each scenario's own rows; shaded: its labelled windows (flash sales also mark each tier's sell-out second, from the events table)."), chart_grid(&svgs)))
        @if !week_rows.is_empty() {
            (section("Drift weeks", Some("Each labelled drift week of the scenario's rows: its mean total_amount and num_tickets, and its persona mix."),
                table(&["Scenario", "Week (UTC)", "Level", "Attempts", "Mean total_amount", "Mean num_tickets", "Persona shares"], &week_rows)))
        }
        @if !tier_rows.is_empty() {
            (section("Flash-sale sell-outs", Some("Each tier's sell-out time from the events table, and the first attempt answered sold_out (a presale allocation can run out before the tier does)."),
                table(&["Event", "Tier", "Sold out at (UTC)", "First sold_out answer (UTC)"], &tier_rows)))
        }
        (section("Checks", Some("None on this page: the service, fraud, drift and A/B pages own the expectations; this page shows the ground truth they are scored against."), html! {}))
    })
}

fn trim(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl super::Scenarios {
    fn headline_of(r: &ScenariosResult) -> Vec<crate::report::html::Figure> {
        <super::Scenarios as crate::analyze::Analyzer<crate::config::TicketingConfig>>::headline(r)
    }
}
