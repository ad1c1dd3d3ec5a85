//! Drift: has buyers' behaviour moved away from a reference window? Per window (a day or a week)
//! and per feature, the population stability index (PSI) and the two-sample Kolmogorov–Smirnov
//! test against the reference (the first `reference_days` days); a detector that fires when a
//! feature moved, scored against the `drift` labels window by window. Document 004's drift score
//! (relative change of three means, threshold 0.30) is shown beside it for comparison only.
//!
//! One idea per file: [`counts`] (the Polars queries over one scan: value counts per day and
//! feature, and the day sums), [`windows`] (which days each window is compared with, and its label),
//! [`page`] (the page).

mod counts;
mod page;
mod windows;

use anyhow::Result;
use chrono::NaiveDate;
use maud::Markup;
use serde::{Deserialize, Serialize};

use super::super::checks::{Check, CheckUnit};
use super::super::stats::{Confusion, KsTest};
use super::super::{Analyzer, Context};
use super::labels::{self, Label};
use crate::config::{ConfigError, SettingsCheck, TicketingConfig};
use crate::report::html::Figure;

pub use counts::{FEATURES, Feature, FeatureKind};
pub use windows::DaySpan;

pub struct Drift;

/// How long a window is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowSize {
    Day,
    Week,
}

impl WindowSize {
    pub fn days(self) -> u32 {
        match self {
            WindowSize::Day => 1,
            WindowSize::Week => 7,
        }
    }
}

/// Which rows the detector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The rows of the scenarios that carry drift labels (what the labels describe).
    Labelled,
    /// Every row, other scenarios' bursts included.
    All,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftSettings {
    pub window: WindowSize,
    /// The reference: the first this many days of the data.
    pub reference_days: u64,
    pub scope: Scope,
    /// A feature has drifted when its PSI is at least this.
    pub psi_threshold: f64,
    /// Bins of a numeric feature's PSI, at the reference's quantiles.
    pub psi_bins: u64,
    /// … or when its KS p-value is below this …
    pub ks_p_value: f64,
    /// … and its KS statistic (the largest gap between the two cdfs) is at least this.
    pub ks_min_statistic: f64,
    /// Target of `drift.false_alarm_windows`.
    pub max_false_alarms: u64,
    /// Document 004's drift-score threshold, for comparison only (not a check).
    pub doc_score_threshold: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DriftResult {
    pub window: WindowSize,
    pub scope: Scope,
    /// The scenarios whose rows were read (empty: every row).
    pub scenarios: Vec<String>,
    /// Rows read, and the data's first day and length (UTC days).
    pub rows: u64,
    pub first_day: NaiveDate,
    pub days: u32,
    /// The reference window and its rows.
    pub reference: DaySpan,
    pub reference_rows: u64,
    pub drift_labels: Vec<Label>,
    pub windows: Vec<WindowScore>,
    /// Each reference day against the rest of the reference: how far undrifted days stray from
    /// each other, the measurement behind the choice of window length.
    pub reference_day_scores: Vec<WindowScore>,
    /// The detector against the labels, over the scored windows.
    pub detector: Scoring,
    /// Document 004's score at its threshold against the labels (comparison only).
    pub doc_score: Scoring,
}

/// One window: what it was compared with, each feature's PSI and KS, whether the detector fired
/// and what the labels say.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WindowScore {
    pub span: DaySpan,
    /// Rows of the window (all its days).
    pub rows: u64,
    /// The days compared: `current` against `reference` (see [`windows::comparison`]).
    pub current: Vec<DaySpan>,
    pub reference: Vec<DaySpan>,
    pub current_rows: u64,
    pub reference_rows: u64,
    /// Whether the window has reference days.
    pub in_reference: bool,
    /// Whether there was something on both sides to compare.
    pub scored: bool,
    /// The largest magnitude of the drift labels covering at least half of the window; `None`
    /// when none does.
    pub label_magnitude: Option<f64>,
    /// The window lies in a drift label with magnitude > 0.
    pub labelled_drifted: bool,
    pub features: Vec<FeatureScore>,
    pub fired: bool,
    /// The features that fired, in feature order.
    pub fired_by: Vec<String>,
    /// The largest PSI and its feature.
    pub max_psi: f64,
    pub max_psi_feature: String,
    /// Document 004's score: the mean over total_amount, num_tickets and price_per_ticket of
    /// |Δmean| / reference mean, each term capped at 1.
    pub doc_score: Option<f64>,
    pub doc_fired: bool,
}

/// One feature of one window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeatureScore {
    pub feature: String,
    pub psi: f64,
    /// Bins the PSI summed over (deciles merged where values repeat; categories; hours).
    pub bins: u64,
    /// Numeric features and the hour only.
    pub ks: Option<KsTest>,
    pub psi_fired: bool,
    pub ks_fired: bool,
}

/// A window detector against the labels.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Scoring {
    /// Positive = labelled drifted; flagged = fired.
    pub confusion: Confusion,
    /// `None` when nothing fired / nothing is labelled drifted.
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    /// Labelled drifted windows where it did not fire.
    pub missed_windows: u64,
    /// Windows not labelled drifted where it fired.
    pub false_alarm_windows: u64,
}

impl Scoring {
    fn of(windows: &[WindowScore], fired: impl Fn(&WindowScore) -> bool) -> Scoring {
        let mut c = Confusion::default();
        for w in windows.iter().filter(|w| w.scored) {
            match (w.labelled_drifted, fired(w)) {
                (true, true) => c.tp += 1,
                (true, false) => c.fn_ += 1,
                (false, true) => c.fp += 1,
                (false, false) => c.tn += 1,
            }
        }
        Scoring {
            confusion: c,
            precision: (c.tp + c.fp > 0).then(|| c.precision()),
            recall: (c.tp + c.fn_ > 0).then(|| c.recall()),
            missed_windows: c.fn_,
            false_alarm_windows: c.fp,
        }
    }
}

impl Analyzer<TicketingConfig> for Drift {
    const NAME: &'static str = "drift";
    const TITLE: &'static str = "Drift";
    const SUMMARY: &'static str = "PSI and KS per feature and window against a reference week, a drift detector scored against the drift labels, and document 004's score for comparison.";
    type Settings = DriftSettings;
    type Output = DriftResult;

    fn check(s: &DriftSettings, c: SettingsCheck<'_>, _: &TicketingConfig) -> Result<(), ConfigError> {
        c.count("reference_days", s.reference_days, 1, 366)?;
        c.range("psi_threshold", s.psi_threshold, 0.001, 10.0)?;
        c.count("psi_bins", s.psi_bins, 2, 100)?;
        c.range("ks_p_value", s.ks_p_value, 1e-12, 0.5)?;
        c.fraction("ks_min_statistic", s.ks_min_statistic)?;
        c.count("max_false_alarms", s.max_false_alarms, 0, 10_000)?;
        c.fraction("doc_score_threshold", s.doc_score_threshold)
    }

    fn analyze(ctx: &Context<'_, TicketingConfig>, s: &DriftSettings) -> Result<DriftResult> {
        let all_labels = labels::read(ctx)?;
        let drift_labels: Vec<Label> = labels::of_kind(&all_labels, "drift").cloned().collect();
        let mut scenarios: Vec<String> = match s.scope {
            Scope::Labelled => drift_labels.iter().map(|l| l.scenario.clone()).collect(),
            Scope::All => Vec::new(),
        };
        scenarios.sort();
        scenarios.dedup();
        let first_day = ctx.window.first_day;
        let days = ctx.window.days;
        let counts = counts::DayCounts::collect(ctx, &scenarios, first_day)?;
        let grid = windows::Grid {
            days,
            reference_days: (s.reference_days.min(u64::from(days))) as u32,
        };
        let score = |span: DaySpan, current: Vec<DaySpan>, reference: Vec<DaySpan>| {
            let mut w = counts.score(span, current, reference, s);
            w.in_reference = span.first < grid.reference_days;
            w.label_magnitude = windows::label_magnitude(&drift_labels, first_day, span);
            w.labelled_drifted = w.label_magnitude.is_some_and(|m| m > 0.0);
            w
        };
        let windows: Vec<WindowScore> = grid
            .windows(s.window)
            .into_iter()
            .map(|span| {
                let (current, reference) = grid.comparison(span);
                score(span, current, reference)
            })
            .collect();
        let reference_day_scores = (0..grid.reference_days)
            .filter(|_| grid.reference_days > 1)
            .map(|d| {
                let span = DaySpan { first: d, last: d };
                let (current, reference) = grid.comparison(span);
                score(span, current, reference)
            })
            .collect();
        let reference = DaySpan {
            first: 0,
            last: grid.reference_days.saturating_sub(1),
        };
        Ok(DriftResult {
            window: s.window,
            scope: s.scope,
            scenarios,
            rows: counts.rows(0..days),
            first_day,
            days,
            reference_rows: counts.rows(0..grid.reference_days),
            reference,
            detector: Scoring::of(&windows, |w| w.fired),
            doc_score: Scoring::of(&windows, |w| w.doc_fired),
            drift_labels,
            windows,
            reference_day_scores,
        })
    }

    fn headline(r: &DriftResult) -> Vec<Figure> {
        let d = &r.detector;
        // Precision and recall only when defined (something fired / something is drifted).
        let rates = [("Precision (windows)", d.precision), ("Recall (windows)", d.recall)];
        let mut figures = vec![
            Figure::count("Windows scored", r.windows.iter().filter(|w| w.scored).count() as u64),
            Figure::count("Labelled drifted", d.confusion.tp + d.confusion.fn_),
            Figure::count("Fired", d.confusion.tp + d.confusion.fp),
        ];
        figures.extend(
            rates
                .into_iter()
                .filter_map(|(label, v)| v.map(|v| Figure::percent(label, v))),
        );
        figures.push(Figure::count("Missed windows", d.missed_windows));
        figures.push(Figure::count("False alarms", d.false_alarm_windows));
        figures
    }

    fn render(r: &DriftResult, s: &DriftSettings) -> Result<Markup> {
        page::render(r, s)
    }

    /// Without drift labels there is nothing to score the detector against: no checks (the page
    /// says so).
    fn checks(r: &DriftResult, s: &DriftSettings) -> Vec<Check> {
        if r.drift_labels.is_empty() {
            return Vec::new();
        }
        vec![
            Check::at_most(
                "drift.missed_windows",
                "windows inside a drift label (magnitude > 0) where the detector did not fire",
                r.detector.missed_windows as f64,
                0.0,
            )
            .unit(CheckUnit::Number),
            Check::at_most(
                "drift.false_alarm_windows",
                "windows outside the drift labels (or in the undrifted reference label) where the detector fired",
                r.detector.false_alarm_windows as f64,
                s.max_false_alarms as f64,
            )
            .unit(CheckUnit::Number),
        ]
    }
}
