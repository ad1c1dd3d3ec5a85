//! ROC AUC, average precision, the PR curve and confusion counts, against scikit-learn's example and brute force.

use super::*;

// Detection.

/// Counts per distinct score from (score, is_positive) cases.
fn score_counts(cases: &[(f64, bool)]) -> Vec<ScoreCounts> {
    cases
        .iter()
        .map(|&(score, positive)| (score, u64::from(positive), u64::from(!positive)))
        .collect()
}

/// The counts merged per distinct score, lowest first, as a group-by would give them.
fn merge_scores(counts: &[ScoreCounts]) -> Vec<ScoreCounts> {
    let mut sorted = counts.to_vec();
    sorted.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut merged: Vec<ScoreCounts> = Vec::new();
    for (score, positives, negatives) in sorted {
        match merged.last_mut() {
            Some(last) if last.0 == score => (last.1, last.2) = (last.1 + positives, last.2 + negatives),
            _ => merged.push((score, positives, negatives)),
        }
    }
    merged
}

/// AUC by counting every (positive, negative) pair.
fn brute_force_auc(cases: &[(f64, bool)]) -> f64 {
    let (mut wins, mut pairs) = (0.0, 0.0);
    for &(p, _) in cases.iter().filter(|c| c.1) {
        for &(n, _) in cases.iter().filter(|c| !c.1) {
            pairs += 1.0;
            wins += if p > n {
                1.0
            } else if p == n {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / pairs
}

/// AP as the mean over positives of the precision when flagging every case scoring at least as
/// high.
fn brute_force_ap(cases: &[(f64, bool)]) -> f64 {
    let positives: Vec<f64> = cases.iter().filter(|c| c.1).map(|c| c.0).collect();
    let precision = |s: f64| {
        let flagged: Vec<bool> = cases.iter().filter(|c| c.0 >= s).map(|c| c.1).collect();
        flagged.iter().filter(|&&p| p).count() as f64 / flagged.len() as f64
    };
    positives.iter().map(|&s| precision(s)).sum::<f64>() / positives.len() as f64
}

#[test]
fn auc_and_average_precision_match_scikit_learns_example() {
    // scikit-learn's documentation: y = [0, 0, 1, 1], scores [0.1, 0.4, 0.35, 0.8]:
    // roc_auc_score 0.75, average_precision_score 0.83.
    let cases = [(0.1, false), (0.4, false), (0.35, true), (0.8, true)];
    let counts = score_counts(&cases);
    close(roc_auc(&counts).unwrap(), 0.75, 1e-15);
    close(average_precision(&counts).unwrap(), 0.8333333333333333, 1e-15);
    close(average_precision(&counts).unwrap(), brute_force_ap(&cases), 1e-15);

    let curve = pr_curve(&counts);
    let expected = [
        (0.8, 1.0, 0.5, 0.0),
        (0.4, 0.5, 0.5, 0.5),
        (0.35, 2.0 / 3.0, 1.0, 0.5),
        (0.1, 0.5, 1.0, 1.0),
    ];
    assert_eq!(curve.len(), expected.len());
    for (point, (threshold, precision, recall, fpr)) in curve.iter().zip(expected) {
        assert_eq!(
            *point,
            CurvePoint {
                threshold,
                precision,
                recall,
                false_positive_rate: fpr
            }
        );
        json_round_trip(point);
    }
}

#[test]
fn auc_and_ap_from_counts_equal_brute_force_on_random_cases() {
    let mut rng = SplitMix(42);
    for round in 0..300 {
        // Few distinct scores, so ties are common; positives score a little higher on average.
        let (len, levels) = (2 + rng.below(60), 1 + rng.below(15));
        let cases: Vec<(f64, bool)> = (0..len)
            .map(|_| {
                let positive = rng.below(3) == 0;
                let score = (rng.below(levels) + u64::from(positive) * rng.below(3)) as f64 / 10.0;
                (score, positive)
            })
            .collect();
        // Merged per score (as a group-by gives them) and shuffled, or one row per case.
        let mut counts = score_counts(&cases);
        if round % 2 == 0 {
            counts = merge_scores(&counts);
            counts.reverse();
        }
        let has_both = cases.iter().any(|c| c.1) && cases.iter().any(|c| !c.1);
        match roc_auc(&counts) {
            Some(auc) => close(auc, brute_force_auc(&cases), 1e-12),
            None => assert!(!has_both),
        }
        if let Some(ap) = average_precision(&counts) {
            close(ap, brute_force_ap(&cases), 1e-12);
        }
        // The AUC is the trapezoidal area under the ROC curve.
        if has_both {
            let mut area = 0.0;
            let (mut fpr, mut tpr) = (0.0, 0.0);
            for point in pr_curve(&counts) {
                area += (point.false_positive_rate - fpr) * (point.recall + tpr) / 2.0;
                (fpr, tpr) = (point.false_positive_rate, point.recall);
            }
            close(area, roc_auc(&counts).unwrap(), 1e-12);
        }
    }
}

#[test]
fn detection_edge_cases() {
    assert_eq!(roc_auc(&[(0.5, 3, 0)]), None);
    assert_eq!(roc_auc(&[(0.5, 0, 3)]), None);
    assert_eq!(average_precision(&[(0.5, 0, 3)]), None);
    assert_eq!(roc_auc(&[]), None);
    assert!(pr_curve(&[]).is_empty());
    assert_eq!(roc_auc(&[(0.9, 5, 0), (0.1, 0, 5)]), Some(1.0));
    assert_eq!(roc_auc(&[(0.1, 5, 0), (0.9, 0, 5)]), Some(0.0));
    assert_eq!(roc_auc(&[(0.5, 5, 7)]), Some(0.5));
    // Rows without cases are ignored; repeated scores merge.
    assert_eq!(pr_curve(&[(0.3, 0, 0), (0.5, 1, 0), (0.5, 0, 1)]).len(), 1);
}

#[test]
fn thinning_keeps_the_ends() {
    let points: Vec<u32> = (0..1000).collect();
    let thinned = thin(&points, 10);
    assert_eq!(thinned.len(), 10);
    assert_eq!((thinned[0], thinned[9]), (0, 999));
    assert!(thinned.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(thin(&points[..5], 10), [0, 1, 2, 3, 4]);
    assert_eq!(thin(&points, 0), [0, 999]);
    assert_eq!(thin(&points[..3], 2), [0, 2]);
    assert!(thin::<u32>(&[], 5).is_empty());
}

#[test]
fn confusion_rates_intervals_and_json() {
    let confusion = Confusion {
        tp: 8,
        fp: 2,
        fn_: 4,
        tn: 86,
    };
    close(confusion.precision(), 0.8, 1e-15);
    close(confusion.recall(), 8.0 / 12.0, 1e-15);
    close(confusion.f1(), 2.0 * 0.8 * (8.0 / 12.0) / (0.8 + 8.0 / 12.0), 1e-15);
    close(confusion.false_positive_rate(), 2.0 / 88.0, 1e-15);
    close_interval(confusion.precision_interval(0.95), 0.4902, 0.9433, 5e-5);
    assert_eq!(confusion.recall_interval(0.95), wilson_interval(8, 12, 0.95));
    assert_eq!(
        serde_json::to_string(&confusion).unwrap(),
        r#"{"tp":8,"fp":2,"fn":4,"tn":86}"#
    );
    json_round_trip(&confusion);

    let empty = Confusion::default();
    assert_eq!(
        [
            empty.precision(),
            empty.recall(),
            empty.f1(),
            empty.false_positive_rate()
        ],
        [0.0; 4]
    );
    assert_eq!(empty.precision_interval(0.95), Interval { lo: 0.0, hi: 1.0 });

    // At a threshold it agrees with the curve's point there.
    let counts = [(0.9, 3, 1), (0.7, 2, 2), (0.2, 1, 9)];
    let at = Confusion::at_threshold(&counts, 0.7);
    assert_eq!(
        at,
        Confusion {
            tp: 5,
            fp: 3,
            fn_: 1,
            tn: 9
        }
    );
    let point = pr_curve(&counts)[1];
    assert_eq!(
        (point.precision, point.recall, point.false_positive_rate),
        (at.precision(), at.recall(), at.false_positive_rate())
    );
}
