//! Detection quality of a score against labels (fraud scores against the fraud flag): ROC AUC, the
//! precision–recall curve, average precision and the confusion counts at one threshold. Inputs
//! are counts per distinct score, so a group-by on the score feeds them instead of every row.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::{Interval, ratio, wilson_interval};

/// (score, positives, negatives): how many labelled positive and negative cases got exactly this
/// score. Any order; a score may repeat (its counts add up). Scores must not be NaN.
pub type ScoreCounts = (f64, u64, u64);

/// The counts merged per distinct score, highest score first, rows with no cases dropped.
fn by_score_descending(counts: &[ScoreCounts]) -> Vec<ScoreCounts> {
    debug_assert!(counts.iter().all(|c| !c.0.is_nan()), "detection: a score is NaN");
    let mut sorted: Vec<ScoreCounts> = counts.iter().copied().filter(|&(_, p, n)| p + n > 0).collect();
    sorted.sort_by(|x, y| y.0.total_cmp(&x.0));
    let mut merged: Vec<ScoreCounts> = Vec::with_capacity(sorted.len());
    for (score, positives, negatives) in sorted {
        match merged.last_mut() {
            Some(last) if last.0.total_cmp(&score) == Ordering::Equal => {
                last.1 += positives;
                last.2 += negatives;
            }
            _ => merged.push((score, positives, negatives)),
        }
    }
    merged
}

/// Total positives and negatives.
fn totals(counts: &[ScoreCounts]) -> (u64, u64) {
    counts.iter().fold((0, 0), |(p, n), &(_, pos, neg)| (p + pos, n + neg))
}

/// The area under the ROC curve as the Mann–Whitney probability that a random positive scores
/// above a random negative, ties counting one half (Hanley & McNeil 1982):
/// AUC = Σ over negatives of (#positives above + ½·#positives tied) / (P·N). It equals the
/// trapezoidal area under the ROC curve through every distinct threshold. Counted in integers, so
/// the result does not depend on the input's order. `None` without positives or without negatives.
pub fn roc_auc(counts: &[ScoreCounts]) -> Option<f64> {
    let sorted = by_score_descending(counts);
    let (positives, negatives) = totals(&sorted);
    if positives == 0 || negatives == 0 {
        return None;
    }
    // Twice the number of (positive, negative) pairs won by the positive, ties counting 1.
    let (mut twice_wins, mut positives_above) = (0u128, 0u128);
    for &(_, pos, neg) in &sorted {
        twice_wins += neg as u128 * (2 * positives_above + pos as u128);
        positives_above += pos as u128;
    }
    Some(twice_wins as f64 / (2.0 * positives as f64 * negatives as f64))
}

/// One threshold of a detection curve: flag every case scoring at least `threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub threshold: f64,
    /// Flagged positives / flagged; never 0/0, since a point's own score is flagged.
    pub precision: f64,
    /// Flagged positives / positives (the true positive rate); 0 without positives.
    pub recall: f64,
    /// Flagged negatives / negatives; 0 without negatives.
    pub false_positive_rate: f64,
}

/// The detection curve, one point per distinct score, from the highest threshold down (recall
/// rising to 1): the precision–recall curve, and the ROC curve as (false_positive_rate, recall).
/// No point is added for "flag nothing"; charts start the ROC curve at (0, 0) themselves.
pub fn pr_curve(counts: &[ScoreCounts]) -> Vec<CurvePoint> {
    let sorted = by_score_descending(counts);
    let (positives, negatives) = totals(&sorted);
    let (mut tp, mut fp) = (0, 0);
    sorted
        .iter()
        .map(|&(threshold, pos, neg)| {
            tp += pos;
            fp += neg;
            CurvePoint {
                threshold,
                precision: ratio(tp, tp + fp),
                recall: ratio(tp, positives),
                false_positive_rate: ratio(fp, negatives),
            }
        })
        .collect()
}

/// Average precision, AP = Σₖ (Rₖ − Rₖ₋₁)·Pₖ over the thresholds from the highest down, R₀ = 0:
/// each threshold's precision weighted by the recall it adds, with no interpolation
/// (scikit-learn's `average_precision_score`). Equivalently, the mean over positive cases of the
/// precision when flagging every case scoring at least as high. `None` without positives.
pub fn average_precision(counts: &[ScoreCounts]) -> Option<f64> {
    let sorted = by_score_descending(counts);
    let (positives, _) = totals(&sorted);
    if positives == 0 {
        return None;
    }
    let (mut tp, mut flagged, mut sum) = (0, 0, 0.0);
    for &(_, pos, neg) in &sorted {
        tp += pos;
        flagged += pos + neg;
        sum += pos as f64 * ratio(tp, flagged);
    }
    Some(sum / positives as f64)
}

/// At most `max_points` of `points`, evenly spaced by index and always keeping the first and the
/// last (a curve's ends), for charts of curves with a point per distinct score. A copy when short
/// enough; `max_points` below 2 counts as 2.
pub fn thin<T: Clone>(points: &[T], max_points: usize) -> Vec<T> {
    let keep = max_points.max(2);
    if points.len() <= keep {
        return points.to_vec();
    }
    // k·(len − 1)/(keep − 1) rounded: the steps exceed 1, so the indices strictly increase.
    let (last, steps) = (points.len() - 1, keep - 1);
    (0..keep)
        .map(|k| points[(k * last + steps / 2) / steps].clone())
        .collect()
}

/// The confusion counts of a detector at one threshold. Serialized as `tp`, `fp`, `fn`, `tn`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    pub tp: u64,
    pub fp: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
    pub tn: u64,
}

impl Confusion {
    /// The counts when flagging every case scoring at least `threshold`, as in [`pr_curve`].
    pub fn at_threshold(counts: &[ScoreCounts], threshold: f64) -> Self {
        counts.iter().fold(Self::default(), |c, &(score, pos, neg)| {
            if score >= threshold {
                Self {
                    tp: c.tp + pos,
                    fp: c.fp + neg,
                    ..c
                }
            } else {
                Self {
                    fn_: c.fn_ + pos,
                    tn: c.tn + neg,
                    ..c
                }
            }
        })
    }

    /// tp / (tp + fp); 0 when nothing is flagged.
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// tp / (tp + fn); 0 when there are no positives.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// The harmonic mean of precision and recall, written 2tp / (2tp + fp + fn) so it needs no
    /// 0/0 guard of its own; 0 when tp = 0.
    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }

    /// fp / (fp + tn); 0 when there are no negatives.
    pub fn false_positive_rate(&self) -> f64 {
        ratio(self.fp, self.fp + self.tn)
    }

    /// The Wilson interval of the precision ([0, 1] when nothing is flagged).
    pub fn precision_interval(&self, confidence: f64) -> Interval {
        wilson_interval(self.tp, self.tp + self.fp, confidence)
    }

    /// The Wilson interval of the recall ([0, 1] when there are no positives).
    pub fn recall_interval(&self, confidence: f64) -> Interval {
        wilson_interval(self.tp, self.tp + self.fn_, confidence)
    }
}
