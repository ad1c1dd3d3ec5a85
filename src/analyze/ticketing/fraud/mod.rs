//! Fraud detection, document 004's accuracy validator. Every purchase attempt is one decision
//! request to the fraud model; a detector flags some of them and is scored against `is_fraud`.
//!
//! The detector under test is a baseline of plain rules over the platform's `risk_score` and the
//! three fraud indicators (thresholds in `[ticketing.fraud]`), or, with `--predictions FILE`, the
//! file's decisions, scored on the attempts it covers and shown beside the baseline. The document's
//! business targets (recall ≥ 0.95, precision ≥ 0.90) and the original repo's expectations for
//! each fraud attack and the flash sale become one-sided checks on it.
//!
//! [`score`] holds the queries (three group-bys per detector); [`page`] the page.

mod page;
pub mod score;

use anyhow::Result;
use chrono::{DateTime, Utc};
use maud::Markup;
use serde::{Deserialize, Serialize};

use super::super::checks::{Check, CheckUnit, Op};
use super::super::stats::{Interval, wilson_interval};
use super::super::{Analyzer, Context};
use super::labels::{self, Label};
use crate::config::{ConfigError, SettingsCheck, TicketingConfig};
use crate::report::html::Figure;
use score::{CONFIDENCE, Detection, HourCounts, Ranges, WindowCounts};

pub struct Fraud;

/// `[ticketing.fraud]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FraudSettings {
    /// Baseline: flag an attempt whose `risk_score` is at least this.
    pub risk_threshold: f64,
    /// Baseline: or flag it when at least this many of device_mismatch, geo_mismatch and
    /// time_anomaly are set (1 to 3).
    pub min_indicators: u64,
    /// Predictions with a score and no decision: flag when the score is at least this.
    pub prediction_threshold: f64,
    /// `fraud.recall` and `fraud.precision` targets (document 004: 0.95 and 0.90).
    pub min_recall: f64,
    pub min_precision: f64,
    /// `fraud.prediction_coverage`: share of the attempts a predictions file must cover.
    pub min_prediction_coverage: f64,
    /// `fraud_attack.<pattern>.recall` and `.precision` inside each labelled attack window.
    pub min_attack_recall: f64,
    pub min_attack_precision: f64,
    /// `flash_sale.fraud_recall` inside the labelled flash-sale windows.
    pub min_flash_sale_recall: f64,
}

/// The fraud page's result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FraudResult {
    /// Every attempt, the fraud among them, their share and its interval.
    pub attempts: u64,
    pub fraud: u64,
    pub base_rate: f64,
    pub base_rate_interval: Interval,
    /// The baseline rules on every attempt.
    pub baseline: Detection,
    /// The `--predictions` file, when one was given.
    pub predictions: Option<PredictionsScore>,
    /// Every hour of the window (UTC), with the baseline's and the predictions' flags.
    pub hours: Vec<HourAlerts>,
    /// Each labelled attack and flash-sale window, in start order.
    pub windows: Vec<WindowScore>,
    /// The flash-sale windows taken together (`flash_sale.fraud_recall`), when there are any.
    pub flash_sales: Option<WindowScore>,
}

/// External predictions scored like the baseline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PredictionsScore {
    pub file: String,
    pub has_score: bool,
    pub has_decision: bool,
    /// How an attempt is flagged: the file's decision, or its score against the threshold.
    pub decision_rule: String,
    /// Attempts with a prediction, and their share of every attempt.
    pub covered: u64,
    pub coverage: f64,
    pub detection: Detection,
    /// The baseline on the covered attempts only, when the file does not cover them all.
    pub baseline_on_covered: Option<Detection>,
}

/// One hour's alerts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HourAlerts {
    pub start: DateTime<Utc>,
    pub baseline: HourCounts,
    pub predictions: Option<HourCounts>,
}

/// A labelled window and how the detectors did inside it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WindowScore {
    /// `attack` or `flash_sale` (or `flash_sale` for the windows taken together).
    pub kind: String,
    /// The fraud pattern of an attack, the event of a flash sale.
    pub subject: String,
    pub window: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub baseline: WindowCounts,
    pub predictions: Option<WindowCounts>,
}

impl WindowScore {
    /// The counts of the detector under test.
    pub fn tested(&self) -> &WindowCounts {
        self.predictions.as_ref().unwrap_or(&self.baseline)
    }
}

impl FraudResult {
    /// The detector the checks are about: the predictions when given, else the baseline.
    pub fn tested(&self) -> &Detection {
        self.predictions.as_ref().map_or(&self.baseline, |p| &p.detection)
    }
}

impl Analyzer<TicketingConfig> for Fraud {
    const NAME: &'static str = "fraud";
    const TITLE: &'static str = "Fraud detection";
    const SUMMARY: &'static str = "A baseline detector (and any --predictions) scored against is_fraud: precision, recall and their intervals, the PR curve and AUC, recall per pattern and per attack, money caught and missed, alerts per hour.";
    type Settings = FraudSettings;
    type Output = FraudResult;

    fn check(s: &FraudSettings, c: SettingsCheck<'_>, _: &TicketingConfig) -> Result<(), ConfigError> {
        c.fraction("risk_threshold", s.risk_threshold)?;
        c.count("min_indicators", s.min_indicators, 1, 3)?;
        c.fraction("prediction_threshold", s.prediction_threshold)?;
        for (key, v) in [
            ("min_recall", s.min_recall),
            ("min_precision", s.min_precision),
            ("min_prediction_coverage", s.min_prediction_coverage),
            ("min_attack_recall", s.min_attack_recall),
            ("min_attack_precision", s.min_attack_precision),
            ("min_flash_sale_recall", s.min_flash_sale_recall),
        ] {
            c.fraction(key, v)?;
        }
        Ok(())
    }

    fn analyze(ctx: &Context<'_, TicketingConfig>, s: &FraudSettings) -> Result<FraudResult> {
        let labels = labels::read(ctx)?;
        let (windows, union, sets) = windows_of(&labels);
        let attack_and_flash = windows.len();
        let base = score::baseline(ctx.rows(), s);
        let baseline = score::detection(ctx, base.clone(), true)?;
        let base_hours = score::hourly(ctx, base.clone())?;
        let base_windows = score::in_windows(ctx, base, &sets)?;
        let mut predicted = None;
        if let Some(p) = ctx.predictions() {
            let frame = score::predicted(ctx, p, s.prediction_threshold);
            let detection = score::detection(ctx, frame.clone(), p.has_score)?;
            let hours = score::hourly(ctx, frame.clone())?;
            let in_windows = score::in_windows(ctx, frame, &sets)?;
            let baseline_on_covered = if detection.attempts < baseline.attempts {
                Some(score::detection(ctx, score::baseline_on(ctx, s, p), true)?)
            } else {
                None
            };
            let decision_rule = if p.has_decision {
                "the file's decision column".to_string()
            } else {
                format!("score ≥ {} (prediction_threshold)", s.prediction_threshold)
            };
            predicted = Some((
                PredictionsScore {
                    file: p.path.display().to_string(),
                    has_score: p.has_score,
                    has_decision: p.has_decision,
                    decision_rule,
                    covered: detection.attempts,
                    coverage: score::ratio(detection.attempts, baseline.attempts),
                    detection,
                    baseline_on_covered,
                },
                hours,
                in_windows,
            ));
        }
        let (predictions, pred_hours, pred_windows) = match predicted {
            Some((p, h, w)) => (Some(p), Some(h), Some(w)),
            None => (None, None, None),
        };
        let hours = every_hour(ctx, &base_hours, pred_hours.as_ref());
        // One set of ranges per window, then the union's, in the same order.
        let mut scored = windows.into_iter().chain(union).enumerate().map(|(i, mut w)| {
            w.baseline = base_windows[i].clone();
            w.predictions = pred_windows.as_ref().map(|p| p[i].clone());
            w
        });
        let windows: Vec<WindowScore> = scored.by_ref().take(attack_and_flash).collect();
        let flash_sales = scored.next();
        Ok(FraudResult {
            attempts: baseline.attempts,
            fraud: baseline.fraud,
            base_rate: score::ratio(baseline.fraud, baseline.attempts),
            base_rate_interval: wilson_interval(baseline.fraud, baseline.attempts, CONFIDENCE),
            baseline,
            predictions,
            hours,
            windows,
            flash_sales,
        })
    }

    fn headline(r: &FraudResult) -> Vec<Figure> {
        let t = r.tested();
        let which = if r.predictions.is_some() {
            "predictions"
        } else {
            "baseline"
        };
        let mut out = vec![
            Figure::count("Attempts scored", t.attempts),
            Figure::percent("Fraud base rate", r.base_rate),
            Figure::number(format!("Recall ({which})"), t.recall),
            Figure::number(format!("Precision ({which})"), t.precision),
        ];
        // Decision-only predictions have no curve: the AUC shown is then the risk_score's.
        let (auc_of, auc) = match t.roc_auc {
            Some(a) => (which, Some(a)),
            None => ("risk_score", r.baseline.roc_auc),
        };
        if let Some(a) = auc {
            out.push(Figure::number(format!("ROC AUC ({auc_of})"), a));
        }
        out
    }

    fn render(r: &FraudResult, s: &FraudSettings) -> Result<Markup> {
        page::render(r, s)
    }

    fn checks(r: &FraudResult, s: &FraudSettings) -> Vec<Check> {
        checks(r, s)
    }
}

/// The attack and flash-sale labels as windows to score (counts filled in later), all the flash
/// sales together when there are any, and the time ranges to count in: one set per window, then
/// the union's.
fn windows_of(labels: &[Label]) -> (Vec<WindowScore>, Option<WindowScore>, Vec<Ranges>) {
    let empty = WindowCounts {
        attempts: 0,
        fraud: 0,
        confusion: Default::default(),
        recall: None,
        recall_interval: Interval { lo: 0.0, hi: 1.0 },
        precision: None,
        precision_interval: Interval { lo: 0.0, hi: 1.0 },
    };
    let range = |l: &Label| (l.start.timestamp_micros(), l.end.timestamp_micros());
    let windows: Vec<WindowScore> = labels
        .iter()
        .filter(|l| l.kind == "attack" || l.kind == "flash_sale")
        .map(|l| WindowScore {
            kind: l.kind.clone(),
            subject: l.subject.clone(),
            window: l.window_name(),
            start: l.start,
            end: l.end,
            baseline: empty.clone(),
            predictions: None,
        })
        .collect();
    let mut sets: Vec<Ranges> = labels
        .iter()
        .filter(|l| l.kind == "attack" || l.kind == "flash_sale")
        .map(|l| vec![range(l)])
        .collect();
    let flash: Vec<&Label> = labels::of_kind(labels, "flash_sale").collect();
    let mut union = None;
    if let (Some(first), Some(last)) = (flash.first(), flash.iter().max_by_key(|l| l.end)) {
        sets.push(flash.iter().map(|l| range(l)).collect());
        union = Some(WindowScore {
            kind: "flash_sale".into(),
            subject: format!("{} flash sale(s)", flash.len()),
            window: flash.iter().map(|l| l.window_name()).collect::<Vec<_>>().join(", "),
            start: first.start,
            end: last.end,
            baseline: empty,
            predictions: None,
        });
    }
    (windows, union, sets)
}

/// Every hour from the window's first day to its last, with zeros where nothing happened.
fn every_hour(
    ctx: &Context<'_, TicketingConfig>,
    baseline: &std::collections::BTreeMap<i64, HourCounts>,
    predictions: Option<&std::collections::BTreeMap<i64, HourCounts>>,
) -> Vec<HourAlerts> {
    let midnight = |d: chrono::NaiveDate| score::hour_of(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    let first = midnight(ctx.window.first_day);
    let last = first + 24 * i64::from(ctx.window.days);
    // Hours outside the days (none, as the days span the data) are kept too.
    let from = baseline.keys().next().copied().map_or(first, |h| h.min(first));
    let to = baseline
        .keys()
        .next_back()
        .copied()
        .map_or(last, |h| h.max(last - 1) + 1);
    (from..to)
        .map(|h| HourAlerts {
            start: score::hour_start(h),
            baseline: baseline.get(&h).copied().unwrap_or_default(),
            predictions: predictions.map(|p| p.get(&h).copied().unwrap_or_default()),
        })
        .collect()
}

/// The checks, on the detector under test.
fn checks(r: &FraudResult, s: &FraudSettings) -> Vec<Check> {
    let t = r.tested();
    let tested = match &r.predictions {
        Some(p) => format!(
            "detector under test: the predictions of {} ({}), on the {} attempts they cover",
            p.file, p.decision_rule, p.covered
        ),
        None => format!(
            "detector under test: the baseline rules (risk_score ≥ {} or at least {} of 3 indicators)",
            s.risk_threshold, s.min_indicators
        ),
    };
    let interval = |i: &Interval| format!("95% interval {:.4}–{:.4}", i.lo, i.hi);
    let share = |name: String, what: &str, figure: Option<f64>, target: f64, note: String| {
        let note = if figure.is_some() {
            note
        } else {
            format!("nothing to measure it on: {note}")
        };
        Check::new(name, what, figure, Op::AtLeast, target)
            .unit(CheckUnit::Share)
            .note(note)
    };
    let mut out = vec![
        share(
            "fraud.recall".into(),
            "share of the fraud attempts flagged (document 004's target)",
            (t.fraud > 0).then_some(t.recall),
            s.min_recall,
            format!("{tested}; {}", interval(&t.recall_interval)),
        ),
        share(
            "fraud.precision".into(),
            "share of the flagged attempts that are fraud (document 004's target)",
            (t.flagged > 0).then_some(t.precision),
            s.min_precision,
            format!("{tested}; {}", interval(&t.precision_interval)),
        ),
    ];
    if let Some(p) = &r.predictions {
        out.push(share(
            "fraud.prediction_coverage".into(),
            "share of the attempts the predictions file has a prediction for",
            Some(p.coverage),
            s.min_prediction_coverage,
            format!("{} of {} attempts", p.covered, r.attempts),
        ));
    }
    let which = if r.predictions.is_some() {
        "predictions"
    } else {
        "baseline"
    };
    let attacks: Vec<&WindowScore> = r.windows.iter().filter(|w| w.kind == "attack").collect();
    for w in &attacks {
        // A pattern attacked twice gets the window's start in its name, so names stay unique.
        let repeated = attacks.iter().filter(|o| o.subject == w.subject).count() > 1;
        let stem = if repeated {
            format!("fraud_attack.{}.{}", w.subject, w.start.format("%Y-%m-%dT%H:%M"))
        } else {
            format!("fraud_attack.{}", w.subject)
        };
        let c = w.tested();
        let note = |i: &Interval| {
            format!(
                "{which}, {} attempts in {} ({} fraud); {}",
                c.attempts,
                w.window,
                c.fraud,
                interval(i)
            )
        };
        out.push(share(
            format!("{stem}.recall"),
            "share of the fraud attempts flagged inside the attack window (the original repo's fraud-attack expectation)",
            c.recall,
            s.min_attack_recall,
            note(&c.recall_interval),
        ));
        out.push(share(
            format!("{stem}.precision"),
            "share of the attempts flagged inside the attack window that are fraud (the original repo's fraud-attack expectation)",
            c.precision,
            s.min_attack_precision,
            note(&c.precision_interval),
        ));
    }
    if let Some(w) = &r.flash_sales {
        let c = w.tested();
        out.push(share(
            "flash_sale.fraud_recall".into(),
            "share of the fraud attempts flagged inside the flash-sale windows (the document's fraud_detected_pct 90)",
            c.recall,
            s.min_flash_sale_recall,
            format!(
                "{which}, {} attempts in {} ({} fraud); {}",
                c.attempts,
                w.window,
                c.fraud,
                interval(&c.recall_interval)
            ),
        ));
    }
    out
}
