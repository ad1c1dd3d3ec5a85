//! The fraud page: a pure function of the result and the settings.

use anyhow::Result;
use maud::{Markup, html};

use super::super::super::Analyzer;
use super::super::super::checks;
use super::super::super::stats::{CurvePoint, Interval};
use super::score::{Detection, MAX_CURVE_POINTS, WindowCounts};
use super::{Fraud, FraudResult, FraudSettings, WindowScore};
use crate::report::chart::{Band, Colour, LineChart, LineSeries, Unit, X, render_line_chart};
use crate::report::html::{self as h, Cell, cards, chart, chart_grid, section, table};

/// The detectors shown side by side: a column name and its scores.
fn detectors(r: &FraudResult) -> Vec<(&'static str, &Detection)> {
    let mut out = vec![("Baseline, all attempts", &r.baseline)];
    if let Some(p) = &r.predictions {
        if let Some(b) = &p.baseline_on_covered {
            out.push(("Baseline, covered attempts", b));
        }
        out.push(("Predictions", &p.detection));
    }
    out
}

pub fn render(r: &FraudResult, s: &FraudSettings) -> Result<Markup> {
    let shown = detectors(r);
    let rule = format!(
        "risk_score ≥ {} or at least {} of device_mismatch, geo_mismatch and time_anomaly",
        s.risk_threshold, s.min_indicators
    );
    Ok(html! {
        (section("What is scored", None, html! {
            (cards(&Fraud::headline(r)))
            p.note {
                "Every purchase attempt is one decision request to the fraud model, so every attempt is scored: "
                (h::count(r.attempts as f64)) " attempts, " (h::count(r.fraud as f64)) " of them fraud by the ground truth "
                code { "is_fraud" } " (a base rate of " (h::percent(r.base_rate)) ", 95% interval "
                (interval(&r.base_rate_interval)) "). A detector flags attempts; precision is the share of its flags that are fraud, recall the share of the fraud it flags."
            }
            p.note {
                "The baseline detector flags an attempt when " (rule) " (thresholds in " code { "[ticketing.fraud]" } "). "
                "It stands for the platform's rules, not a tuned model: the data is not trivially separable, and on this data it has precision "
                (num(r.baseline.precision)) " and recall " (num(r.baseline.recall)) "."
                @match &r.predictions {
                    Some(p) => {
                        " The predictions of " code { (p.file) } " (flagging by " (p.decision_rule) ") cover "
                        (h::count(p.covered as f64)) " attempts (" (h::percent(p.coverage)) "); the checks are about them."
                    }
                    None => " No --predictions file was given: the checks are about the baseline.",
                }
            }
        }))
        (section("Checks", Some("Document 004's business targets and the original repo's expectations for each fraud attack and the flash sale, as one-sided checks on the detector under test."),
            checks::table(&Fraud::checks(r, s))))
        (section("Precision, recall and the confusion matrix",
            Some("tp: fraud flagged; fp: legitimate attempts flagged; fn: fraud let through; tn: legitimate attempts let through. Intervals are 95% Wilson score intervals of the proportions. The ROC AUC and average precision rank the attempts by the continuous score (the baseline's is risk_score); a detector with decisions only has none."),
            metrics_table(&shown)))
        (section("Precision–recall and ROC curves",
            Some("One point per distinct score: flag every attempt scoring at least it. The curves are thinned to at most 200 points for drawing; AUC and average precision use every point."),
            curves(&shown)?))
        (section("Recall per fraud pattern",
            Some("The fraud attempts of each fraud_pattern, and the share of them each detector flagged, with its 95% interval."),
            patterns_table(&shown)))
        (section("Fraud money caught and missed",
            Some("Sums of total_amount (in the dataset's currency, summed in integer cents) of the fraud attempts flagged and let through, and of the legitimate attempts flagged: the sales a false alarm puts at risk."),
            money_table(&shown)))
        (section("Alert volume per hour",
            Some("Attempts flagged in each UTC hour of the window: the load an alert queue would see. The shaded hours hold a labelled fraud attack (red) or flash sale (amber); each lasts minutes, so its whole hours are shaded. The grey line is the fraud attempts per hour: what a perfect detector would flag."),
            chart(&alerts_chart(r)?)))
        (section("Labelled attack and flash-sale windows",
            Some("Each labelled window's attempts (every attempt inside it, fraud of any pattern counting as fraud), scored by each detector. The last row takes the flash sales together: the flash_sale.fraud_recall check."),
            windows_table(r)))
    })
}

fn num(v: f64) -> String {
    h::number(v, 4)
}

fn interval(i: &Interval) -> String {
    format!("{}–{}", num(i.lo), num(i.hi))
}

fn money(cents: i64) -> Cell {
    Cell::sar(cents as f64 / 100.0)
}

fn opt(v: Option<f64>) -> Cell {
    v.map_or_else(|| Cell::text("–"), |v| Cell::number(v, 4))
}

fn metrics_table(shown: &[(&str, &Detection)]) -> Markup {
    let mut headers = vec!["Figure"];
    headers.extend(shown.iter().map(|d| d.0));
    let row = |name: &str, f: &dyn Fn(&Detection) -> Cell| -> Vec<Cell> {
        std::iter::once(Cell::text(name))
            .chain(shown.iter().map(|d| f(d.1)))
            .collect()
    };
    let rows = vec![
        row("Attempts", &|d| Cell::count(d.attempts)),
        row("Fraud attempts", &|d| Cell::count(d.fraud)),
        row("Flagged", &|d| Cell::count(d.flagged)),
        row("tp (fraud flagged)", &|d| Cell::count(d.confusion.tp)),
        row("fp (legitimate flagged)", &|d| Cell::count(d.confusion.fp)),
        row("fn (fraud let through)", &|d| Cell::count(d.confusion.fn_)),
        row("tn (legitimate let through)", &|d| Cell::count(d.confusion.tn)),
        row("Precision", &|d| Cell::number(d.precision, 4)),
        row("Precision, 95% interval", &|d| {
            Cell::Num(interval(&d.precision_interval))
        }),
        row("Recall", &|d| Cell::number(d.recall, 4)),
        row("Recall, 95% interval", &|d| Cell::Num(interval(&d.recall_interval))),
        row("F1", &|d| Cell::number(d.f1, 4)),
        row("False positive rate", &|d| Cell::number(d.false_positive_rate, 4)),
        row("ROC AUC", &|d| opt(d.roc_auc)),
        row("Average precision", &|d| opt(d.average_precision)),
    ];
    table(&headers, &rows)
}

fn curves(shown: &[(&str, &Detection)]) -> Result<Markup> {
    let scored: Vec<&(&str, &Detection)> = shown.iter().filter(|d| d.1.has_score).collect();
    if scored.is_empty() {
        return Ok(html! { p.note { "No detector has a score: no curves." } });
    }
    let series = |f: &dyn Fn(&CurvePoint) -> (f64, f64), roc: bool| -> Vec<LineSeries> {
        scored
            .iter()
            .map(|(name, d)| {
                // The ROC curve starts at (0, 0): flag nothing.
                let start = roc.then_some((X::Num(0.0), 0.0));
                let points = start
                    .into_iter()
                    .chain(d.curve.iter().map(|p| {
                        let (x, y) = f(p);
                        (X::Num(x), y)
                    }))
                    .collect();
                let (what, v) = if roc {
                    ("AUC", d.roc_auc)
                } else {
                    ("average precision", d.average_precision)
                };
                LineSeries::new(format!("{name} ({what} {})", v.map_or("–".into(), num)), points)
            })
            .collect()
    };
    let pr = render_line_chart(&LineChart {
        title: "Precision–recall curve".into(),
        x_label: "Recall".into(),
        y_label: "Precision".into(),
        series: series(&|p| (p.recall, p.precision), false),
        y_range: Some((0.0, 1.0)),
        ..Default::default()
    })?;
    let roc = render_line_chart(&LineChart {
        title: "ROC curve".into(),
        x_label: "False positive rate".into(),
        y_label: "Recall (true positive rate)".into(),
        series: series(&|p| (p.false_positive_rate, p.recall), true),
        y_range: Some((0.0, 1.0)),
        ..Default::default()
    })?;
    Ok(html! {
        (chart_grid(&[pr, roc]))
        p.note {
            @for (name, d) in &scored {
                (name) ": " (h::count(d.curve_thresholds as f64)) " distinct scores"
                @if d.curve_thresholds as usize > MAX_CURVE_POINTS { " (drawn: " (d.curve.len()) ")" }
                "; average precision " (d.average_precision.map_or("–".into(), num)) ". "
            }
        }
    })
}

fn patterns_table(shown: &[(&str, &Detection)]) -> Markup {
    let mut names: Vec<&str> = shown
        .iter()
        .flat_map(|d| d.1.by_pattern.iter().map(|p| p.pattern.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut headers = vec!["Fraud pattern"];
    for (name, _) in shown {
        headers.extend([*name, "Caught", "Recall", "95% interval"]);
    }
    let rows: Vec<Vec<Cell>> = names
        .iter()
        .map(|pattern| {
            let mut row = vec![Cell::text(*pattern)];
            for (_, d) in shown {
                match d.by_pattern.iter().find(|p| p.pattern == *pattern) {
                    Some(p) => row.extend([
                        Cell::count(p.fraud),
                        Cell::count(p.caught),
                        Cell::number(p.recall, 4),
                        Cell::Num(interval(&p.recall_interval)),
                    ]),
                    None => row.extend([Cell::count(0), Cell::count(0), Cell::text("–"), Cell::text("–")]),
                }
            }
            row
        })
        .collect();
    html! {
        (table(&headers, &rows))
        @if shown.len() > 1 { p.note { "Each detector's first column is the fraud attempts of the pattern it decided on." } }
    }
}

fn money_table(shown: &[(&str, &Detection)]) -> Markup {
    let rows: Vec<Vec<Cell>> = shown
        .iter()
        .map(|(name, d)| {
            vec![
                Cell::text(*name),
                money(d.money.fraud_caught_cents),
                money(d.money.fraud_missed_cents),
                Cell::percent(d.money.caught_share()),
                money(d.money.legitimate_flagged_cents),
            ]
        })
        .collect();
    table(
        &[
            "Detector",
            "Fraud caught",
            "Fraud missed",
            "Share caught",
            "Legitimate flagged",
        ],
        &rows,
    )
}

fn alerts_chart(r: &FraudResult) -> Result<String> {
    let Some(first) = r.hours.first() else {
        return Ok(render_line_chart(&LineChart {
            title: "Flagged attempts per hour".into(),
            ..Default::default()
        })?);
    };
    let origin = first.start;
    let days = |t: chrono::DateTime<chrono::Utc>| (t - origin).num_seconds() as f64 / 86_400.0;
    let mut series = vec![LineSeries::new(
        "Baseline flags",
        r.hours
            .iter()
            .map(|h| (X::Num(days(h.start)), h.baseline.flagged as f64))
            .collect(),
    )];
    if r.predictions.is_some() {
        series.push(LineSeries::new(
            "Predictions flags",
            r.hours
                .iter()
                .map(|h| (X::Num(days(h.start)), h.predictions.map_or(0, |p| p.flagged) as f64))
                .collect(),
        ));
    }
    series.push(
        LineSeries::new(
            "Fraud attempts",
            r.hours
                .iter()
                .map(|h| (X::Num(days(h.start)), h.baseline.fraud as f64))
                .collect(),
        )
        .colour(Colour::MUTED),
    );
    let top = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0, f64::max)
        * 1.05;
    let hour = chrono::Duration::hours(1);
    let bands = r
        .windows
        .iter()
        .map(|w| {
            // Whole hours: the hour the window starts in to the end of the hour it ends in.
            let from = floor_hour(w.start);
            let to = floor_hour(w.end - chrono::Duration::microseconds(1)) + hour;
            let (name, colour) = if w.kind == "attack" {
                (format!("attack {}", w.subject), Colour::DANGER)
            } else {
                ("flash sale".to_string(), Colour::WARNING)
            };
            let mut b = Band::new(name, vec![(X::Num(days(from)), 0.0, top), (X::Num(days(to)), 0.0, top)]);
            b.colour = Some(colour);
            b
        })
        .collect();
    Ok(render_line_chart(&LineChart {
        title: "Flagged attempts per hour".into(),
        x_label: format!("Days since {} UTC", origin.format("%Y-%m-%d %H:%M")),
        y_label: "Attempts per hour".into(),
        y_unit: Unit::Count,
        series,
        bands,
        ..Default::default()
    })?)
}

fn floor_hour(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    super::score::hour_start(super::score::hour_of(t))
}

fn windows_table(r: &FraudResult) -> Markup {
    let with_predictions = r.predictions.is_some();
    let mut headers = vec![
        "Kind",
        "Subject",
        "Window (UTC)",
        "Attempts",
        "Fraud",
        "Baseline recall",
        "95% interval",
        "Baseline precision",
        "95% interval",
    ];
    if with_predictions {
        headers.extend([
            "Covered",
            "Predictions recall",
            "95% interval",
            "Predictions precision",
            "95% interval",
        ]);
    }
    let scores = |c: &WindowCounts| {
        [
            opt(c.recall),
            Cell::Num(interval(&c.recall_interval)),
            opt(c.precision),
            Cell::Num(interval(&c.precision_interval)),
        ]
    };
    let row = |w: &WindowScore| -> Vec<Cell> {
        let mut row = vec![
            Cell::text(&w.kind),
            Cell::text(&w.subject),
            Cell::text(&w.window),
            Cell::count(w.baseline.attempts),
            Cell::count(w.baseline.fraud),
        ];
        row.extend(scores(&w.baseline));
        if let Some(p) = &w.predictions {
            row.push(Cell::count(p.attempts));
            row.extend(scores(p));
        }
        row
    };
    let rows: Vec<Vec<Cell>> = r.windows.iter().chain(&r.flash_sales).map(row).collect();
    html! {
        @if rows.is_empty() {
            p.note { "The labels hold no attack or flash-sale window." }
        } @else {
            (table(&headers, &rows))
        }
    }
}
