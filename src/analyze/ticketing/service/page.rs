//! The service page: a pure function of the result and the settings.

use anyhow::Result;
use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::super::super::checks;
use super::super::labels::Label;
use super::degradation::DegradationWindow;
use super::levels::Tally;
use super::levels::{Levels, TimePoint, Verdict};
use super::load::LoadPoint;
use super::{Service, ServiceResult, ServiceSettings};
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
        .outside
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
        .chain(r.degradation.iter().filter_map(|w| w.levels.tally.p99_ms))
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
            // Each window's p99 (every attempt in it) as a bar rising from 0 across the window:
            // one series, joined along the x axis between windows.
            let bars: Vec<(X, f64)> = r
                .degradation
                .iter()
                .filter_map(|w| Some((x(w.label.start), x(w.label.end), w.levels.tally.p99_ms?)))
                .flat_map(|(a, b, p99)| [(a, 0.0), (a, p99), (b, p99), (b, 0.0)])
                .map(|(at, v)| (X::Num(at), v))
                .collect();
            if !bars.is_empty() {
                series.push(LineSeries::new("p99 inside each degradation window", bars).colour(Colour::DANGER));
            }
            render_line_chart(&LineChart {
                title: "Decision latency per UTC hour outside the degradation windows (busy hours), p99 inside each"
                    .into(),
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
            let line = |name: &str, pick: fn(&LoadPoint) -> u64, colour: Colour| {
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
            let figures: Vec<&str> = v.missed.iter().map(|n| n.rsplit('.').next().unwrap_or(n)).collect();
            format!("missed: {}", figures.join(", "))
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
    let mut window_rows: Vec<Vec<Cell>> = Vec::new();
    for w in &r.degradation {
        let mut row = vec![
            Cell::text(format!("{}, every attempt", w.label.window_name())),
            Cell::text(&w.label.detail),
        ];
        row.extend(level_cells(&w.levels));
        row.push(verdict_cell(&w.verdict));
        window_rows.push(row);
        let mut own = vec![
            Cell::text(format!("… of which {}'s (the label's scenario)", w.label.scenario)),
            Cell::text(""),
        ];
        own.extend(level_cells(&w.own));
        own.push(Cell::text("shown, not checked"));
        window_rows.push(own);
    }
    let mut outside = vec![Cell::text("outside every degradation window"), Cell::text("")];
    outside.extend(level_cells(&r.outside.levels));
    outside.push(verdict_cell(&r.outside.verdict));
    window_rows.push(outside);
    let worst_rows: Vec<Vec<Cell>> = [
        ("p50", &r.outside.worst.p50, s.p50_latency_ms),
        ("p95", &r.outside.worst.p95, s.p95_latency_ms),
        ("p99", &r.outside.worst.p99, s.p99_latency_ms),
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
    let hours_total = r.outside.hours.len();
    let (p50, p95, p99, err, avail) = (
        s.p50_latency_ms,
        s.p95_latency_ms,
        s.p99_latency_ms,
        s.error_rate,
        s.availability,
    );
    let failing: Vec<&DegradationWindow> = r.degradation.iter().filter(|w| !w.verdict.met).collect();
    Ok(html! {
        (section("Service levels against document 004's SLA", None, html! {
            (cards(&Service::headline(r)))
            (verdict(r))
            p.note {
                "Targets (document 004 §1.3, all in the settings): p50 ≤ " (p50) " ms, p95 ≤ " (p95) " ms, p99 ≤ " (p99)
                " ms, error rate ≤ " (format!("{:.2}%", err * 100.0)) ", availability ≥ " (format!("{:.2}%", avail * 100.0)) ". "
                "The " code { "service.*" } " checks measure every attempt outside the labelled degradation windows (the labels say when the service was known to be degraded); "
                "each window has checks of its own, " code { "degradation.<start>.*" } ", on every attempt inside it. "
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
        (section("Checks", Some("The page's one-sided checks. service.*: outside the degradation windows, the latency ones on the worst busy hour, so \"p99 < 200 ms under load\" means in every busy hour, not on a month's average. degradation.<start>.*: inside each window, where the p99 and error-rate checks are expected to fail (the validator catching the degradation) and the availability one to hold (degraded but up). <scenario>.*: each scenario's expected metrics over its own rows."),
            checks::table(&Service::checks(r, s))))
        (section("Inside and outside the degradation windows", None, html! {
            p.note {
                "Inside a window: every attempt whose time lies in it, whatever its scenario (the decision service is one service, and the data cannot tell which attempts a degradation spared), "
                "its minutes by their start. The row below each window shows the attempts of the label's own scenario alone (shown, not checked): "
                "where they are slower and fail more than the window as a whole, the other scenarios' attempts in the same minutes were not degraded and dilute the window's figures. "
                "A verdict is met when all the checks of its rows pass: p99, error rate and availability for a window; the five service.* checks outside. "
                "The acceptance: the verdict fails inside each window and holds outside them"
                @if r.degradation.is_empty() { "; this data has no labelled degradation window." }
                @else {
                    ": here " (failing.len()) " of " (r.degradation.len()) " windows fail, and outside the service level is "
                    @if r.outside.verdict.met { "met." } @else { "missed." }
                }
            }
            (table(&head(&["Attempts (UTC)", "Label"], &["Verdict"]), &window_rows))
            @if !zooms.is_empty() {
                p.note { "Per minute, " (s.zoom_margin_minutes) " minutes either side of each window (shaded), every attempt; minutes without a successful decision are not drawn. At this scale a minute holds few decisions, so a minute's p99 is close to its slowest." }
                (chart_grid(&zooms))
            }
        }))
        (section("Decision latency over time", None, html! {
            p.note {
                "Charted per UTC hour over the attempts outside the degradation windows (what service.* checks): a minute has a median of " (r.median_requests_per_minute) " requests at this scale ("
                (r.minutes_with_requests) " minutes with requests), too few for a p99. Only busy hours (at least "
                (s.min_requests_per_hour) " successful decisions outside the windows) are drawn: " (busy.len()) " of " (hours_total)
                " hours. Shaded: the labelled degradation windows, each with its p99 over every attempt inside it (the red bars rising from 0)."
            }
            @if let Some(svg) = &hourly_latency { (chart(svg)) }
            h3 { "Worst busy hour outside the degradation windows" }
            (table(&["Percentile", "Hour (UTC)", "Decisions", "Value", "Target"], &worst_rows))
        }))
        (section("Errors and rate limiting over time", Some("Per UTC hour, every attempt, every hour with requests. Shaded: the labelled degradation windows."), html! {
            @if let Some(svg) = &hourly_errors { (chart(svg)) }
        }))
        (section("Per scenario", Some("Every figure over the scenario's rows (the `scenario` column), inside and outside the degradation windows; availability over the minutes in which the scenario alone had enough requests. Peak = the scenario's busiest second."),
            table(&head(&["Scenario"], &["Peak attempts/s", "Busiest second (UTC)"]), &scenario_rows)))
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

/// The page's answer in one paragraph: the service outside the windows, then each window.
fn verdict(r: &ServiceResult) -> Markup {
    let missed = |v: &Verdict| -> String {
        v.missed
            .iter()
            .map(|n| n.rsplit('.').next().unwrap_or(n))
            .collect::<Vec<_>>()
            .join(", ")
    };
    html! {
        p {
            strong { "Outside the " (r.outside.windows) " labelled degradation windows: " }
            @if r.outside.verdict.met { "the service level held (every service.* check passes)." }
            @else { "the service level was missed (" (missed(&r.outside.verdict)) ")." }
            @for w in &r.degradation {
                " " strong { "Inside " (w.label.window_name()) ": " }
                @if w.verdict.met { "held (the degradation did not break the SLA)." }
                @else { "failed (" (missed(&w.verdict)) ")." }
            }
        }
    }
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
