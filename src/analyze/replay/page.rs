//! The Replay page's markup: pure, result → HTML with inline SVG charts.

use anyhow::Result;
use maud::{Markup, html};

use super::queries::{SecondPoint, WindowLevels};
use super::{ReplayResult, ReplaySettings, ratio};
use crate::analyze::checks;
use crate::replay::schedule::Pace;
use crate::report::chart::{Band, Colour, LineChart, LineSeries, Unit, X, render_line_chart};
use crate::report::html::{Cell, Figure, cards, chart, section, table};

pub fn render(r: &ReplayResult, s: &ReplaySettings) -> Result<Markup> {
    let sum = &r.summary;
    let pace = match sum.pace {
        Pace::Speed(x) => format!("along the rows' time at ×{x}"),
        Pace::Rate(x) => format!("at a constant {x} requests/s"),
    };
    let bands = window_bands(&r.windows);
    let rates = rate_chart(&r.seconds, &bands)?;
    let latency = latency_chart(&r.seconds, &bands, s.max_p99_latency_ms)?;
    let l = &sum.latency_ms;
    let d = &sum.send_delay_ms;
    let level_row = |w: &WindowLevels, name: &str| {
        vec![
            Cell::text(name),
            Cell::count(w.requests),
            Cell::count(w.sent),
            Cell::count(w.failed),
            Cell::percent(w.error_rate),
            w.p50_ms.map_or(Cell::text("–"), Cell::ms),
            w.p99_ms.map_or(Cell::text("–"), Cell::ms),
        ]
    };
    let mut level_rows: Vec<Vec<Cell>> = r.windows.iter().map(|w| level_row(w, &w.name)).collect();
    level_rows.push(level_row(&r.outside, &r.outside.name));
    let replay_checks = super::checks(r, s);
    Ok(html! {
        (cards(&[
            Figure::count("Scheduled", sum.scheduled),
            Figure::count("Sent", sum.sent),
            Figure::count("Not sent", sum.not_sent),
            Figure::number("Target rate (req/s)", sum.target_rps),
            Figure::number("Achieved rate (req/s)", sum.achieved_rps),
            Figure::ms("p99 latency", l.p99),
            Figure::percent("Failed / sent", ratio(sum.failed, sum.sent)),
            Figure::count("Sent late (> 1 ms)", sum.late),
        ]))
        (section("The run", Some("Open-loop: each request is due at its scheduled time, whether or not the service has answered the earlier ones, and its latency counts from then (no coordinated omission)."), html! {
            (table(&["Setting", "Value"], &[
                vec![Cell::text("Target"), Cell::text(&sum.target)],
                vec![Cell::text("Data"), Cell::text(&sum.input)],
                vec![Cell::text("Workload"), Cell::text(&sum.workload)],
                vec![Cell::text("Schedule"), Cell::text(&pace)],
                vec![Cell::text("Scenario"), Cell::text(sum.scenario.as_deref().unwrap_or("all rows"))],
                vec![Cell::text("Bounds"), Cell::text(format!("{} requests, {} s", sum.max_requests, sum.duration_s))],
                vec![Cell::text("Concurrency"), Cell::count(sum.concurrency as u64)],
                vec![Cell::text("Timeout"), Cell::ms(sum.timeout_ms as f64)],
                vec![Cell::text("Started (UTC)"), Cell::text(sum.started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))],
                vec![Cell::text("Took"), Cell::text(format!("{:.1} s", sum.elapsed_s))],
            ]))
        }))
        (section("Rate: scheduled against achieved", Some("Requests due and requests sent per second of the replay; shaded: the labelled degradation windows, where the rows' times fall in the replay."), chart(&rates)))
        (section("Latency", Some("From the scheduled time to the whole answer, of every answer (any status) and every timeout (at the timeout). HdrHistogram, three significant digits."), html! {
            (table(&["", "Requests", "Mean", "p50", "p90", "p99", "p99.9", "Max"], &[
                vec![Cell::text("Latency"), Cell::count(l.count), Cell::ms(l.mean), Cell::ms(l.p50), Cell::ms(l.p90), Cell::ms(l.p99), Cell::ms(l.p999), Cell::ms(l.max)],
                vec![Cell::text("Sent late by"), Cell::count(d.count), Cell::ms(d.mean), Cell::ms(d.p50), Cell::ms(d.p90), Cell::ms(d.p99), Cell::ms(d.p999), Cell::ms(d.max)],
            ]))
            (chart(&latency))
        }))
        (section("Errors", Some("Failed requests by kind, with the HTTP status of an answer that was not 2xx; requests not sent by why."), html! {
            @if sum.errors.is_empty() {
                p { "No request failed, and every scheduled request was sent." }
            } @else {
                (table(&["Kind", "Requests", "Share of scheduled"], &sum.errors.iter().map(|(k, n)| vec![
                    Cell::text(k), Cell::count(*n), Cell::percent(ratio(*n, sum.scheduled)),
                ]).collect::<Vec<_>>()))
            }
            (table(&["HTTP status", "Answers"], &sum.statuses.iter().map(|(k, n)| vec![
                Cell::text(k.to_string()), Cell::count(*n),
            ]).collect::<Vec<_>>()))
        }))
        (section("Degradation windows", Some("The requests whose rows fall in each labelled degradation window (by the rows' time), against all the others. A service degraded at those moments (serve-mock --faults-from-labels) fails the window's checks and passes outside."), html! {
            (table(&["Requests", "Scheduled", "Sent", "Failed", "Failed / sent", "p50", "p99"], &level_rows))
        }))
        @if let Some(dec) = &r.decisions {
            (section("Decisions against the ground truth", Some("The service's answers joined with is_fraud; the Fraud page scores them in full (PR curve, windows), as predictions."), html! {
                (table(&["Rule", "Decided", "Flagged", "Precision", "Recall", "TP", "FP", "FN", "TN"], &[vec![
                    Cell::text(&dec.rule), Cell::count(dec.decided), Cell::count(dec.flagged),
                    Cell::percent(dec.precision), Cell::percent(dec.recall),
                    Cell::count(dec.confusion.tp), Cell::count(dec.confusion.fp), Cell::count(dec.confusion.fn_), Cell::count(dec.confusion.tn),
                ]]))
                p { a href="fraud.html" { "The Fraud page" } " scores these decisions against the baseline detector." }
            }))
        }
        (section("Checks", None, checks::table(&replay_checks)))
    })
}

/// The windows' bands from 0 to `top`, on the replay's seconds.
fn window_bands(windows: &[WindowLevels]) -> Vec<(String, f64, f64)> {
    windows
        .iter()
        .filter_map(|w| Some((format!("degradation {}", w.name), w.replay_from_s?, w.replay_to_s?)))
        .collect()
}

fn bands_to(bands: &[(String, f64, f64)], top: f64) -> Vec<Band> {
    bands
        .iter()
        .map(|(name, a, b)| Band::new(name.clone(), vec![(X::Num(*a), 0.0, top), (X::Num(*b), 0.0, top)]))
        .collect()
}

fn rate_chart(points: &[SecondPoint], bands: &[(String, f64, f64)]) -> Result<String> {
    let per_s = |pick: fn(&SecondPoint) -> u64| -> Vec<(X, f64)> {
        points
            .iter()
            .map(|p| (X::Num(p.offset_s as f64), pick(p) as f64 / p.bucket_s as f64))
            .collect()
    };
    let top = points
        .iter()
        .map(|p| p.scheduled.max(p.sent) as f64 / p.bucket_s as f64)
        .fold(1.0, f64::max)
        * 1.05;
    Ok(render_line_chart(&LineChart {
        title: "Requests per second".into(),
        x_label: "Seconds since the replay started".into(),
        y_label: "Requests per second".into(),
        x_unit: Unit::Number,
        y_unit: Unit::Count,
        series: vec![
            LineSeries::new("scheduled", per_s(|p| p.scheduled))
                .dashed()
                .colour(Colour::MUTED),
            LineSeries::new("sent", per_s(|p| p.sent)).colour(Colour::PRIMARY),
            LineSeries::new("failed", per_s(|p| p.failed)).colour(Colour::DANGER),
        ],
        bands: bands_to(bands, top),
        ..Default::default()
    })?)
}

fn latency_chart(points: &[SecondPoint], bands: &[(String, f64, f64)], target: f64) -> Result<String> {
    let p99: Vec<(X, f64)> = points
        .iter()
        .filter_map(|p| Some((X::Num(p.offset_s as f64), p.p99_ms?)))
        .collect();
    let top = p99.iter().map(|(_, v)| *v).fold(target, f64::max) * 1.05;
    let last = points.last().map_or(1.0, |p| p.offset_s as f64);
    Ok(render_line_chart(&LineChart {
        title: "p99 latency per second".into(),
        x_label: "Seconds since the replay started".into(),
        y_label: "Latency".into(),
        x_unit: Unit::Number,
        y_unit: Unit::Millis,
        series: vec![
            LineSeries::new("p99 of the requests due", p99).colour(Colour::PRIMARY),
            LineSeries::new("p99 target", vec![(X::Num(0.0), target), (X::Num(last), target)])
                .dashed()
                .colour(Colour::MUTED),
        ],
        bands: bands_to(bands, top),
        ..Default::default()
    })?)
}
