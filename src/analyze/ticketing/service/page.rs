//! The service page: a pure function of the result and the settings.

use anyhow::Result;
use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::super::super::checks;
use super::super::labels::Label;
use super::queries::Tally;
use super::{Levels, Service, ServiceResult, ServiceSettings, TimePoint, Verdict};
use crate::analyze::Analyzer;
use crate::report::chart::{Band, Colour, LineChart, LineSeries, Unit, X, render_line_chart};
use crate::report::html::{Cell, cards, chart, chart_grid, section, table};

pub fn render(r: &ServiceResult, s: &ServiceSettings) -> Result<Markup> {
    let origin = r.hours.first().map(|h| day_start(h.at));
    let shade = |top: f64| -> Vec<Band> {
        let Some(o) = origin else { return Vec::new() };
        r.degradation
            .iter()
            .map(|w| window_band(&w.label, |t| days_since(o, t), top))
            .collect()
    };
    let x_label = origin.map_or_else(String::new, |o| format!("Days since {} UTC", o.format("%Y-%m-%d")));
    let busy: Vec<&TimePoint> = r
        .hours
        .iter()
        .filter(|h| h.tally.decisions >= s.min_requests_per_hour)
        .collect();
    let latency_series = |points: &[&TimePoint], x: &dyn Fn(DateTime<Utc>) -> f64| -> Vec<LineSeries> {
        let line = |name: &str, pick: fn(&Tally) -> Option<f64>| {
            LineSeries::new(
                name,
                points
                    .iter()
                    .filter_map(|p| pick(&p.tally).map(|v| (X::Num(x(p.at)), v)))
                    .collect(),
            )
        };
        vec![
            line("p50", |t| t.p50_ms),
            line("p95", |t| t.p95_ms),
            line("p99", |t| t.p99_ms),
        ]
    };
    let top_ms = busy
        .iter()
        .filter_map(|h| h.tally.p99_ms)
        .fold(s.p99_latency_ms, f64::max)
        * 1.05;
    let hourly_latency = origin
        .map(|o| {
            let x = |t: DateTime<Utc>| days_since(o, t);
            let mut series = latency_series(&busy, &x);
            series.push(target_line(
                "p99 target",
                &busy.iter().map(|h| x(h.at)).collect::<Vec<_>>(),
                s.p99_latency_ms,
            ));
            render_line_chart(&LineChart {
                title: "Decision latency per UTC hour (busy hours)".into(),
                x_label: x_label.clone(),
                y_label: "Latency".into(),
                x_unit: Unit::Number,
                y_unit: Unit::Millis,
                series,
                bands: shade(top_ms),
                ..Default::default()
            })
        })
        .transpose()?;
    let top_err = r
        .hours
        .iter()
        .filter_map(|h| s.error_rate_of(&h.tally))
        .fold(s.error_rate, f64::max)
        * 105.0;
    let hourly_errors = origin
        .map(|o| {
            let x = |t: DateTime<Utc>| days_since(o, t);
            let pct = |v: Option<f64>| v.map(|v| v * 100.0);
            let line = |name: &str, f: &dyn Fn(&Tally) -> Option<f64>| {
                LineSeries::new(
                    name,
                    r.hours
                        .iter()
                        .filter_map(|h| f(&h.tally).map(|v| (X::Num(x(h.at)), v)))
                        .collect(),
                )
            };
            render_line_chart(&LineChart {
                title: "Error rate and rate-limited share per UTC hour".into(),
                x_label: x_label.clone(),
                y_label: "Share of requests".into(),
                x_unit: Unit::Number,
                y_unit: Unit::Percent,
                series: vec![
                    line("Error rate", &|t| pct(s.error_rate_of(t))),
                    line("Rate-limited (429)", &|t| {
                        pct((t.requests > 0).then(|| t.rate_limited as f64 / t.requests as f64))
                    }),
                    target_line(
                        "Error-rate target",
                        &r.hours.iter().map(|h| x(h.at)).collect::<Vec<_>>(),
                        s.error_rate * 100.0,
                    ),
                ],
                bands: shade(top_err),
                ..Default::default()
            })
        })
        .transpose()?;
    let zooms: Vec<String> = r
        .degradation
        .iter()
        .map(|w| {
            let start = w.label.start;
            let x = |t: DateTime<Utc>| (t - start).num_seconds() as f64 / 60.0;
            let points: Vec<&TimePoint> = w.minutes.iter().collect();
            let top = points
                .iter()
                .filter_map(|p| p.tally.p99_ms)
                .fold(s.p99_latency_ms, f64::max)
                * 1.05;
            let mut series = latency_series(&points, &x);
            series.push(target_line(
                "p99 target",
                &points.iter().map(|p| x(p.at)).collect::<Vec<_>>(),
                s.p99_latency_ms,
            ));
            render_line_chart(&LineChart {
                title: format!("Latency per minute around {}", w.label.window_name()),
                x_label: "Minutes since the window started".into(),
                y_label: "Latency".into(),
                x_unit: Unit::Number,
                y_unit: Unit::Millis,
                series,
                bands: vec![window_band(&w.label, x, top)],
                ..Default::default()
            })
        })
        .collect::<Result<_, _>>()?;
    let loads: Vec<String> = r
        .flash_sales
        .iter()
        .map(|f| {
            let line = |name: &str, pick: fn(&super::LoadPoint) -> u64, colour: Colour| {
                LineSeries::new(
                    name,
                    f.points
                        .iter()
                        .map(|p| (X::Num(p.offset_s as f64), pick(p) as f64 / f.bucket_s as f64))
                        .collect(),
                )
                .colour(colour)
            };
            let top = f
                .points
                .iter()
                .map(|p| (p.ok.max(p.rate_limited).max(p.errors)) as f64 / f.bucket_s as f64)
                .fold(1.0, f64::max)
                * 1.05;
            let open = f.label.start;
            render_line_chart(&LineChart {
                title: format!(
                    "Attempts per second, flash sale of {} ({})",
                    f.label.subject,
                    f.label.window_name()
                ),
                x_label: "Seconds since the sale opened".into(),
                y_label: "Attempts per second".into(),
                x_unit: Unit::Number,
                y_unit: Unit::Count,
                series: vec![
                    line("200 decided", |p| p.ok, Colour::SUCCESS),
                    line("429 rate-limited", |p| p.rate_limited, Colour::WARNING),
                    line("503/504 errors", |p| p.errors, Colour::DANGER),
                ],
                bands: vec![window_band(
                    &f.label,
                    |t| (t - open).num_milliseconds() as f64 / 1000.0,
                    top,
                )],
                ..Default::default()
            })
        })
        .collect::<Result<_, _>>()?;

    let ms = |v: Option<f64>| v.map_or_else(|| Cell::text("–"), Cell::ms);
    let share =
        |v: Option<f64>, d: usize| v.map_or_else(|| Cell::text("–"), |v| Cell::text(format!("{:.*}%", d, v * 100.0)));
    let level_cells = |l: &Levels| {
        vec![
            Cell::count(l.tally.requests),
            Cell::count(l.tally.decisions),
            ms(l.tally.p50_ms),
            ms(l.tally.p95_ms),
            ms(l.tally.p99_ms),
            share(l.error_rate, 2),
            share(l.rate_limited_share, 2),
            share(l.availability, 3),
            Cell::text(format!("{} of {}", l.minutes_down, l.minutes_counted)),
        ]
    };
    let verdict_cell = |v: &Verdict| {
        Cell::text(if v.met {
            "met".to_string()
        } else {
            format!("missed: {}", v.missed.join(", "))
        })
    };
    let scenario_rows: Vec<Vec<Cell>> = r
        .scenarios
        .iter()
        .map(|sc| {
            let mut row = vec![Cell::text(&sc.scenario)];
            row.extend(level_cells(&sc.levels));
            row.push(
                sc.peak
                    .as_ref()
                    .map_or_else(|| Cell::text("–"), |p| Cell::count(p.attempts)),
            );
            row.push(Cell::text(
                sc.peak
                    .as_ref()
                    .map_or_else(String::new, |p| p.at.format("%Y-%m-%d %H:%M:%S").to_string()),
            ));
            row
        })
        .collect();
    let mut window_rows: Vec<Vec<Cell>> = r
        .degradation
        .iter()
        .map(|w| {
            let mut row = vec![Cell::text(w.label.window_name()), Cell::text(&w.label.detail)];
            row.extend(level_cells(&w.levels));
            row.push(verdict_cell(&w.verdict));
            row
        })
        .collect();
    let mut outside = vec![Cell::text("outside every degradation window"), Cell::text("")];
    outside.extend(level_cells(&r.outside_degradation));
    outside.push(verdict_cell(&r.outside_verdict));
    window_rows.push(outside);
    let worst_rows: Vec<Vec<Cell>> = [
        ("p50", &r.worst.p50, s.p50_latency_ms),
        ("p95", &r.worst.p95, s.p95_latency_ms),
        ("p99", &r.worst.p99, s.p99_latency_ms),
    ]
    .iter()
    .map(|(name, w, target)| match w {
        Some(w) => vec![
            Cell::text(*name),
            Cell::text(w.at.format("%Y-%m-%d %H:00").to_string()),
            Cell::count(w.decisions),
            Cell::ms(w.ms),
            Cell::ms(*target),
        ],
        None => vec![
            Cell::text(*name),
            Cell::text("no busy hour"),
            Cell::text("–"),
            Cell::text("–"),
            Cell::ms(*target),
        ],
    })
    .collect();
    let sale_rows: Vec<Vec<Cell>> = r
        .flash_sales
        .iter()
        .map(|f| {
            vec![
                Cell::text(&f.label.subject),
                Cell::text(f.label.window_name()),
                Cell::number(f.label.magnitude, 1),
                f.peak
                    .as_ref()
                    .map_or_else(|| Cell::text("–"), |p| Cell::count(p.attempts)),
                Cell::text(
                    f.peak
                        .as_ref()
                        .map_or_else(String::new, |p| p.at.format("%H:%M:%S").to_string()),
                ),
                Cell::count(f.points.iter().map(|p| p.rate_limited).sum()),
            ]
        })
        .collect();
    let level_head = [
        "Requests",
        "Decisions (200)",
        "p50",
        "p95",
        "p99",
        "Error rate",
        "Rate-limited",
        "Availability",
        "Down minutes",
    ];
    let head = |first: &[&'static str], last: &[&'static str]| -> Vec<&'static str> {
        first
            .iter()
            .chain(level_head.iter())
            .chain(last.iter())
            .copied()
            .collect()
    };
    let hours_total = r.hours.len();
    let (p50, p95, p99, err, avail) = (
        s.p50_latency_ms,
        s.p95_latency_ms,
        s.p99_latency_ms,
        s.error_rate,
        s.availability,
    );
    Ok(html! {
        (section("Service levels against document 004's SLA", None, html! {
            (cards(&Service::headline(r)))
            p.note {
                "Targets (document 004 §1.3, all in the settings): p50 ≤ " (p50) " ms, p95 ≤ " (p95) " ms, p99 ≤ " (p99)
                " ms, error rate ≤ " (format!("{:.2}%", err * 100.0)) ", availability ≥ " (format!("{:.2}%", avail * 100.0)) ". "
                "Latency percentiles are by nearest rank (the value at rank ⌈q·n⌉, not interpolated) over successful decisions (api_status 200): "
                "errors are counted by the error rate instead, and a 504's 1500 ms timeout would otherwise mix two failure modes. "
                "Rate-limited requests (429, answered in about 2 ms by the rate limiter) are not decisions."
            }
            p.note {
                "Error rate = requests answered with an error (503, 504) ÷ "
                @if s.rate_limited_is_error { "every request (the settings count 429s as errors)." }
                @else { "requests that were not rate-limited: a 429 is the platform's deliberate answer to a client over its rate limit (mostly bots in flash sales and attacks), shown apart as the rate-limited share." }
                " Availability is time-based: the share of UTC minutes with at least " (s.min_requests_per_minute)
                " counted requests in which the service was up; a minute is down when more than " (format!("{:.0}%", s.down_error_share * 100.0))
                " of them failed. A degraded service (slow, some errors) is still available; an outage is not."
            }
        }))
        (section("Checks", Some("The page's one-sided checks. The latency checks take the worst busy hour, so \"p99 < 200 ms under load\" means in every busy hour, not on a month's average."),
            checks::table(&Service::checks(r, s))))
        (section("Decision latency over time", None, html! {
            p.note {
                "Charted per UTC hour: a minute has a median of " (r.median_requests_per_minute) " requests at this scale ("
                (r.minutes_with_requests) " minutes with requests), too few for a p99. Only busy hours (at least "
                (s.min_requests_per_hour) " successful decisions) are drawn: " (busy.len()) " of " (hours_total)
                " hours. Shaded: the labelled degradation windows. Per-minute latency is charted around each degradation window below."
            }
            @if let Some(svg) = &hourly_latency { (chart(svg)) }
            h3 { "Worst busy hour" }
            (table(&["Percentile", "Hour (UTC)", "Decisions", "Value", "Target"], &worst_rows))
        }))
        (section("Errors and rate limiting over time", Some("Per UTC hour, every hour with requests. Shaded: the labelled degradation windows."), html! {
            @if let Some(svg) = &hourly_errors { (chart(svg)) }
        }))
        (section("Per scenario", Some("Every figure over the scenario's rows (the `scenario` column); availability over the minutes in which the scenario alone had enough requests. Peak = the scenario's busiest second."),
            table(&head(&["Scenario"], &["Peak attempts/s", "Busiest second (UTC)"]), &scenario_rows)))
        (section("Degradation windows", None, html! {
            p.note {
                "Every attempt inside each labelled degradation window (whatever its scenario: it is the service that degrades), "
                "its minutes by their start. A window's verdict is met when all five targets hold inside it. "
                "The acceptance: the verdict fails inside each window and holds outside them."
            }
            (table(&head(&["Window (UTC)", "Label"], &["SLO verdict"]), &window_rows))
            @if !zooms.is_empty() {
                p.note { "Per minute, " (s.zoom_margin_minutes) " minutes either side of each window (shaded); minutes without a successful decision are not drawn." }
                (chart_grid(&zooms))
            }
        }))
        (section("Peak load", None, html! {
            p.note {
                "Peak requests per second = the busiest one-second bucket's attempts (every attempt, any answer), not document 004's row count (§11.7)"
                @if let Some(p) = &r.peak { ": " (p.attempts) " at " (p.at.format("%Y-%m-%d %H:%M:%S")) " UTC" }
                ". The default run is a 1%-scale sample of the flash sale, so its peak checks fail honestly; "
                code { "trafficsim generate --scenario flash_sale --target-size natural" } " runs it at full scale (about 10,300 attempts/s)."
            }
            @if !sale_rows.is_empty() {
                (table(&["Event", "Sale window (UTC)", "Label peak rate/s", "Busiest second", "At (UTC)", "Rate-limited in window"], &sale_rows))
                p.note { "Attempts per second from " (s.flash_sale_lead_in_s) " s before each sale opened to its end, by answer; shaded: the sale's labelled window." }
                (chart_grid(&loads))
            }
        }))
    })
}

/// A dashed horizontal line at `y` across `xs`.
fn target_line(name: &str, xs: &[f64], y: f64) -> LineSeries {
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let points = if lo.is_finite() && hi.is_finite() {
        vec![(X::Num(lo), y), (X::Num(hi), y)]
    } else {
        Vec::new()
    };
    LineSeries::new(name, points).dashed().colour(Colour::MUTED)
}

/// A label's window shaded from 0 to `top`.
fn window_band(label: &Label, x: impl Fn(DateTime<Utc>) -> f64, top: f64) -> Band {
    Band::new(
        format!("{} {}", label.kind, label.window_name()),
        vec![(X::Num(x(label.start)), 0.0, top), (X::Num(x(label.end)), 0.0, top)],
    )
}

fn day_start(t: DateTime<Utc>) -> DateTime<Utc> {
    t.date_naive().and_hms_opt(0, 0, 0).map_or(t, |d| d.and_utc())
}

fn days_since(origin: DateTime<Utc>, t: DateTime<Utc>) -> f64 {
    (t - origin).num_seconds() as f64 / 86_400.0
}
