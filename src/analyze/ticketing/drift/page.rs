//! The drift page: the detector against the labels, PSI over time with the drift labels shaded,
//! the table per window and per feature, the reference days against each other (why the window
//! length is what it is), and document 004's score for comparison.

use anyhow::Result;
use chrono::{Datelike, NaiveDate};
use maud::{Markup, html};

use super::super::super::checks;
use super::counts::FEATURES;
use super::{DaySpan, Drift, DriftResult, DriftSettings, Scope, WindowScore, WindowSize};
use crate::analyze::Analyzer;
use crate::report::chart::{Band, Colour, LineChart, LineSeries, Unit, X, render_line_chart};
use crate::report::html::{Cell, cards, chart_grid, section, table};

pub fn render(r: &DriftResult, s: &DriftSettings) -> Result<Markup> {
    let charts = vec![psi_chart(r, s)?, ks_chart(r, s)?];
    let doc_chart = doc_chart(r, s)?;
    let window_word = match r.window {
        WindowSize::Day => "day",
        WindowSize::Week => "week",
    };
    let d = &r.detector;
    let doc = &r.doc_score;
    let no_labels = r.drift_labels.is_empty();
    Ok(html! {
        (section("The detector against the labels", None, html! {
            (cards(&Drift::headline(r)))
            @if no_labels {
                p.note { "This data has no drift labels: the detector is shown on every row, but there is nothing to score it against, so the page has no checks." }
            }
            p.note {
                "Each " (window_word) " (UTC, from " (r.first_day) ") is compared with the reference, the first "
                (r.reference.day_count()) " day(s) (" (r.reference.name(r.first_day)) ", " (r.reference_rows) " rows). "
                "The detector fires for a window when any feature's PSI is at least " (s.psi_threshold)
                ", or its two-sample KS test has a p-value below " (s.ks_p_value) " with a KS statistic (the largest gap between the two cumulative distributions) of at least "
                (s.ks_min_statistic) ". "
                "A window is labelled drifted when a drift label of magnitude above 0 covers at least half of it (the labels' weeks start at the platform's local midnight, 21:00 UTC, so a UTC window can straddle two by a few hours). "
                "Over the " (d.confusion.tp + d.confusion.fp + d.confusion.fn_ + d.confusion.tn) " scored windows: "
                (d.confusion.tp) " fired and labelled, " (d.confusion.fp) " fired unlabelled (false alarms), "
                (d.confusion.fn_) " labelled but silent (missed), " (d.confusion.tn) " silent and unlabelled."
            }
            (checks::table(&Drift::checks(r, s)))
        }))
        (section("PSI and KS over time", Some("Each feature's PSI (left) and KS statistic (right) per window, at the window's middle; the dashed line is the threshold; shaded: the drift labels of magnitude above 0."),
            chart_grid(&charts)))
        (section("Windows", Some("What each window was compared with, the features the detector fired on, and the magnitude of the drift label covering most of it (drifted: above 0). A window with reference days is compared with the reference minus its own days, so it is never compared with itself; a window that holds the whole reference is scored as its second half against its first half: two disjoint undrifted samples."),
            table(&["Window", "Compared with", "Rows (compared / ref.)", "Label", "Fired on", "Max PSI", "Doc 004 score"],
                &r.windows.iter().map(|w| window_row(w, r.reference, r.first_day)).collect::<Vec<_>>())))
        (section("Per feature", Some("PSI: Σ (c − r)·ln(c/r) over the bins' shares (floored at 0.0001): numeric features over bins at the reference's deciles (fewer where values repeat), persona, payment method and device over their categories, the hour over the 24 UTC hours. KS: the largest gap between the two empirical cumulative distributions, with its asymptotic p-value, for the numeric features and the hour only (categories have no order, so a cumulative distribution over them means nothing: PSI alone judges the mixes). ★ marks what fired."),
            table(&["Window", "Feature", "PSI", "Bins", "KS statistic", "KS p-value"], &feature_rows(&r.windows, r.first_day))))
        (section("Reference days against each other", None, html! {
            p.note {
                "Each reference day against the rest of the reference: how far undrifted days stray from one another. "
                "A day's hour profile is that day's sale openings (an event's on-sale hour brings a rush), not a change of behaviour, so on single days the hour of day moves a lot: "
                "the largest hour-of-day PSI below is " (format!("{:.3}", max_psi_of(&r.reference_day_scores, "hour"))) " against the threshold of " (s.psi_threshold)
                ", while the other features stay below " (format!("{:.3}", max_psi_except(&r.reference_day_scores, "hour"))) ". "
                "Weekend days (Friday and Saturday in Saudi Arabia, Saturday and Sunday elsewhere) stray no more than weekdays here, so matching day kinds would not help; "
                "comparing a day with the reference's days of its own kind would also leave a one-week reference with one or two days to compare with. "
                "A week holds every weekday once and averages the sale calendar, so weekly windows are the default; "
                "with " code { "window = \"day\"" } " the reference days below are the daily windows' negatives, and they fire on the hour of day."
            }
            (table(&["Day", "Weekday", "Rows", "Max PSI", "Hour PSI", "Hour KS statistic", "Fired by"],
                &r.reference_day_scores.iter().map(|w| reference_day_row(w, r.first_day)).collect::<Vec<_>>()))
        }))
        (section("Which rows", None, html! {
            p.note {
                @match r.scope {
                    Scope::Labelled if !no_labels => {
                        "Scope \"labelled\": the rows of the scenario(s) that carry the drift labels ("
                        (r.scenarios.join(", ")) ", " (r.rows) " rows). The labels describe the drift of those buyers; "
                        "the flash sale, the fraud attacks, the degradation and Black Friday are other cohorts with their own labels, and each changes a week's mix on its own "
                        "(a flash sale is a burst of bots at one hour), which would make the detector fire for reasons the drift labels do not describe. "
                    }
                    _ => {
                        "Scope \"all\" (or no drift labels): every row (" (r.rows) "), other scenarios' bursts included. "
                    }
                }
                "The A/B test's treatment (prices ×1.10 for half the users in its two weeks) is part of the everyday sales, so it shows in price_multiplier: "
                "a real change of the distribution the platform sees, and the reason price_multiplier fires in the test's weeks whatever the drift level."
            }
            p.note {
                "total_amount is tickets × price, and the price is the event's: it moves with the sale calendar (which events are on sale that week, at what prices) as well as with behaviour. "
                "With few events on sale it can shift by a PSI above the threshold in a week without any change of behaviour (everyday sales generated without drift, at this run's size, do that). "
                "The other features do not depend on the calendar; a window that fires on total_amount alone deserves a look at the events on sale before it is called drift."
            }
            p.note {
                "KS p-values assume independent rows. Attempts come in visits (a user retries several times within minutes), so the rows are clustered and the p-values are far too small; "
                "and with thousands of rows even a negligible shift is \"significant\". So a KS result counts only with a statistic of at least "
                (s.ks_min_statistic) ": the two distributions differ by that share somewhere."
            }
        }))
        (section("Document 004's drift score", None, html! {
            p.note {
                "Document 004's validator: the mean over total_amount, num_tickets and price_per_ticket of |Δmean| / reference mean (each term capped at 1), drift when it reaches "
                (s.doc_score_threshold) ". Shown for comparison only (not a check): it sees only shifts of three means, not of the mix, and a mean moves with the sale calendar as much as with behaviour. Against the same labels and windows it has "
                (doc.confusion.tp) " hits, " (doc.confusion.fn_) " misses and " (doc.confusion.fp) " false alarms"
                @if let Some(rc) = doc.recall { " (recall " (format!("{rc:.2}")) ")" }
                "; the windows table gives its score per window."
            }
            (chart_grid(&[doc_chart]))
        }))
        (section("Drift labels", Some("The ground truth: one label per week of the drifting cohort; magnitude 0 is the undrifted reference."),
            table(&["Cohort", "Window (UTC)", "Magnitude", "Detail"], &r.drift_labels.iter().map(|l| vec![
                Cell::text(&l.cohort), Cell::text(l.window_name()), Cell::number(l.magnitude, 2), Cell::text(&l.detail),
            ]).collect::<Vec<_>>())))
    })
}

fn spans_name(spans: &[DaySpan], first_day: NaiveDate) -> String {
    spans.iter().map(|s| s.name(first_day)).collect::<Vec<_>>().join(", ")
}

fn window_row(w: &WindowScore, reference: DaySpan, first_day: NaiveDate) -> Vec<Cell> {
    // The window against the whole reference, or what it was compared with instead (see the note).
    let compared = match (w.scored, w.current.as_slice(), w.reference.as_slice()) {
        (false, _, _) => "not scored: nothing to compare with".to_string(),
        (true, [current], [whole]) if *current == w.span && *whole == reference => "the reference".to_string(),
        (true, _, _) => format!(
            "{} against {}",
            spans_name(&w.current, first_day),
            spans_name(&w.reference, first_day)
        ),
    };
    let label = match w.label_magnitude {
        None => "-".to_string(),
        Some(m) if w.labelled_drifted => format!("{m:.2}, drifted"),
        Some(m) => format!("{m:.2}"),
    };
    let fired = match (w.scored, w.fired) {
        (false, _) => "-".to_string(),
        (true, false) => "no".to_string(),
        (true, true) => w.fired_by.join(", "),
    };
    vec![
        Cell::text(w.span.name(first_day)),
        Cell::text(compared),
        Cell::text(format!("{} / {}", w.current_rows, w.reference_rows)),
        Cell::text(label),
        Cell::text(fired),
        Cell::text(format!("{:.3} ({})", w.max_psi, w.max_psi_feature)),
        w.doc_score.map_or_else(|| Cell::text("-"), |d| Cell::number(d, 3)),
    ]
}

fn feature_rows(windows: &[WindowScore], first_day: NaiveDate) -> Vec<Vec<Cell>> {
    let star = |fired: bool, text: String| if fired { format!("{text} ★") } else { text };
    windows
        .iter()
        .flat_map(|w| {
            w.features.iter().map(move |f| {
                vec![
                    Cell::text(w.span.name(first_day)),
                    Cell::text(&f.feature),
                    Cell::Num(star(f.psi_fired, format!("{:.3}", f.psi))),
                    Cell::count(f.bins),
                    f.ks.map_or_else(
                        || Cell::text("-"),
                        |k| Cell::Num(star(f.ks_fired, format!("{:.3}", k.statistic))),
                    ),
                    f.ks.map_or_else(|| Cell::text("-"), |k| Cell::Num(format!("{:.1e}", k.p_value))),
                ]
            })
        })
        .collect()
}

fn feature<'a>(w: &'a WindowScore, name: &str) -> Option<&'a super::FeatureScore> {
    w.features.iter().find(|f| f.feature == name)
}

fn max_psi_of(windows: &[WindowScore], name: &str) -> f64 {
    windows
        .iter()
        .filter_map(|w| feature(w, name))
        .map(|f| f.psi)
        .fold(0.0, f64::max)
}

fn max_psi_except(windows: &[WindowScore], name: &str) -> f64 {
    windows
        .iter()
        .flat_map(|w| w.features.iter().filter(|f| f.feature != name))
        .map(|f| f.psi)
        .fold(0.0, f64::max)
}

fn reference_day_row(w: &WindowScore, first_day: NaiveDate) -> Vec<Cell> {
    let date = first_day + chrono::Days::new(u64::from(w.span.first));
    let hour = feature(w, "hour");
    vec![
        Cell::text(date.to_string()),
        Cell::text(date.weekday().to_string()),
        Cell::count(w.current_rows),
        Cell::text(format!("{:.3} ({})", w.max_psi, w.max_psi_feature)),
        hour.map_or_else(|| Cell::text("-"), |f| Cell::number(f.psi, 3)),
        hour.and_then(|f| f.ks)
            .map_or_else(|| Cell::text("-"), |k| Cell::number(k.statistic, 3)),
        Cell::text(w.fired_by.join(", ")),
    ]
}

/// The middle of a window, in days since the first day.
fn middle(w: &WindowScore) -> f64 {
    (f64::from(w.span.first) + f64::from(w.span.last) + 1.0) / 2.0
}

/// One line per feature of `value` over the scored windows.
fn feature_series(r: &DriftResult, value: impl Fn(&super::FeatureScore) -> Option<f64>) -> Vec<LineSeries> {
    let scored: Vec<&WindowScore> = r.windows.iter().filter(|w| w.scored).collect();
    FEATURES
        .iter()
        .filter_map(|f| {
            let points: Vec<(X, f64)> = scored
                .iter()
                .filter_map(|w| feature(w, f.name).and_then(&value).map(|v| (X::Num(middle(w)), v)))
                .collect();
            (!points.is_empty()).then(|| LineSeries::new(f.name, points))
        })
        .collect()
}

/// `series` over the days, the threshold dashed, the drifted labels shaded.
fn window_chart(
    r: &DriftResult,
    title: &str,
    y_label: &str,
    threshold: f64,
    mut series: Vec<LineSeries>,
) -> Result<String> {
    let top = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(threshold, f64::max)
        * 1.05;
    series.push(
        LineSeries::new(
            "threshold",
            vec![(X::Num(0.0), threshold), (X::Num(f64::from(r.days)), threshold)],
        )
        .dashed()
        .colour(Colour::DANGER),
    );
    let midnight = r.first_day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
    let day_of = |t: chrono::DateTime<chrono::Utc>| {
        ((t - midnight).num_seconds() as f64 / 86_400.0).clamp(0.0, f64::from(r.days))
    };
    let bands = r
        .drift_labels
        .iter()
        .filter(|l| l.magnitude > 0.0)
        .map(|l| Band {
            colour: Some(Colour::WARNING),
            ..Band::new(
                format!("drift {:.2}", l.magnitude),
                vec![(X::Num(day_of(l.start)), 0.0, top), (X::Num(day_of(l.end)), 0.0, top)],
            )
        })
        .collect();
    Ok(render_line_chart(&LineChart {
        title: title.into(),
        x_label: format!("Days since {} (UTC)", r.first_day),
        y_label: y_label.into(),
        x_unit: Unit::Number,
        y_unit: Unit::Number,
        series,
        bands,
        ..Default::default()
    })?)
}

fn psi_chart(r: &DriftResult, s: &DriftSettings) -> Result<String> {
    let series = feature_series(r, |f| Some(f.psi));
    window_chart(r, "PSI per window", "PSI", s.psi_threshold, series)
}

fn ks_chart(r: &DriftResult, s: &DriftSettings) -> Result<String> {
    let series = feature_series(r, |f| f.ks.map(|k| k.statistic));
    window_chart(r, "KS statistic per window", "KS statistic", s.ks_min_statistic, series)
}

/// Document 004's score per window against its own threshold, for comparison.
fn doc_chart(r: &DriftResult, s: &DriftSettings) -> Result<String> {
    let points: Vec<(X, f64)> = r
        .windows
        .iter()
        .filter_map(|w| w.doc_score.map(|d| (X::Num(middle(w)), d)))
        .collect();
    let series = if points.is_empty() {
        Vec::new()
    } else {
        vec![LineSeries::new("document 004's score", points)]
    };
    window_chart(
        r,
        "Document 004's drift score per window",
        "score",
        s.doc_score_threshold,
        series,
    )
}
