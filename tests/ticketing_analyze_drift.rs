//! The drift page against independent folds over the rows (read with arrow): which rows and
//! windows are compared, every (window, feature) PSI and KS test recomputed from the raw values,
//! the detector's decisions, the labels' magnitudes, document 004's score and the drift checks;
//! then everyday sales generated without drift, where the features behaviour moves stay silent.

mod analyze_support;
mod common;
mod ticketing_analyze_support;
mod ticketing_support;

use std::collections::{BTreeMap, BTreeSet};

use trafficsim::analyze::checks::{CheckReport, Status};
use trafficsim::analyze::ticketing::drift::{DaySpan, DriftResult, WindowScore, WindowSize};

use ticketing_analyze_support::{analyze, fixture};
use ticketing_support::{DAY_MS, WINDOW_START_MS, floats, generate, ints, str_vals};

/// The `[ticketing.drift]` settings the fixture ran with.
struct Settings {
    reference_days: u32,
    psi_threshold: f64,
    psi_bins: usize,
    ks_p_value: f64,
    ks_min_statistic: f64,
    max_false_alarms: u64,
    doc_score_threshold: f64,
}

fn settings() -> Settings {
    let text = std::fs::read_to_string(common::repo().join("config/analysis.toml")).unwrap();
    let v: toml::Value = toml::from_str(&text).unwrap();
    let t = &v["ticketing"]["drift"];
    assert_eq!(t["window"].as_str(), Some("week"), "these tests assume weekly windows");
    assert_eq!(t["scope"].as_str(), Some("labelled"));
    let int = |k: &str| t[k].as_integer().unwrap();
    let float = |k: &str| t[k].as_float().unwrap();
    Settings {
        reference_days: int("reference_days") as u32,
        psi_threshold: float("psi_threshold"),
        psi_bins: int("psi_bins") as usize,
        ks_p_value: float("ks_p_value"),
        ks_min_statistic: float("ks_min_statistic"),
        max_false_alarms: int("max_false_alarms") as u64,
        doc_score_threshold: float("doc_score_threshold"),
    }
}

/// One feature's values of the rows, numeric or categorical.
enum Values {
    Numeric(Vec<f64>),
    Categorical(Vec<String>),
}

/// The rows of the drift scenarios: their UTC day (from the window's first day) and features.
struct Rows {
    day: Vec<i64>,
    features: Vec<(&'static str, Values)>,
    amount_cents: Vec<i64>,
    tickets: Vec<i64>,
    price_cents: Vec<i64>,
}

fn cents(v: f64) -> i64 {
    (v * 100.0 + 0.5) as i64
}

fn rows(scenarios: &BTreeSet<String>) -> Rows {
    let t = fixture().transactions(&[
        "timestamp",
        "scenario",
        "total_amount",
        "num_tickets",
        "price_multiplier",
        "price_per_ticket",
        "persona",
        "payment_method",
        "device_type",
    ]);
    let scenario = str_vals(&t, "scenario");
    let keep: Vec<usize> = (0..t.num_rows())
        .filter(|&i| scenarios.contains(&scenario[i]))
        .collect();
    let pick_f = |v: Vec<f64>| keep.iter().map(|&i| v[i]).collect::<Vec<_>>();
    let pick_s = |v: Vec<String>| keep.iter().map(|&i| v[i].clone()).collect::<Vec<_>>();
    let ms = ticketing_support::times_ms(&t, "timestamp");
    let ms: Vec<i64> = keep.iter().map(|&i| ms[i]).collect();
    let tickets = ints(&t, "num_tickets");
    let tickets: Vec<i64> = keep.iter().map(|&i| tickets[i]).collect();
    let amount = pick_f(floats(&t, "total_amount"));
    let price = pick_f(floats(&t, "price_per_ticket"));
    Rows {
        day: ms.iter().map(|m| (m - WINDOW_START_MS).div_euclid(DAY_MS)).collect(),
        features: vec![
            ("total_amount", Values::Numeric(amount.clone())),
            (
                "num_tickets",
                Values::Numeric(tickets.iter().map(|&n| n as f64).collect()),
            ),
            (
                "price_multiplier",
                Values::Numeric(pick_f(floats(&t, "price_multiplier"))),
            ),
            ("persona", Values::Categorical(pick_s(str_vals(&t, "persona")))),
            (
                "payment_method",
                Values::Categorical(pick_s(str_vals(&t, "payment_method"))),
            ),
            ("device_type", Values::Categorical(pick_s(str_vals(&t, "device_type")))),
            (
                "hour",
                Values::Numeric(ms.iter().map(|m| (m.div_euclid(3_600_000) % 24) as f64).collect()),
            ),
        ],
        amount_cents: amount.iter().map(|&a| cents(a)).collect(),
        price_cents: price.iter().map(|&p| cents(p)).collect(),
        tickets,
    }
}

/// PSI over bin counts, shares floored at 0.0001.
fn psi(reference: &[u64], current: &[u64]) -> f64 {
    let share = |c: u64, all: &[u64]| (c as f64 / all.iter().sum::<u64>().max(1) as f64).max(1e-4);
    reference
        .iter()
        .zip(current)
        .map(|(&r, &c)| {
            let (r, c) = (share(r, reference), share(c, current));
            (c - r) * (c / r).ln()
        })
        .sum()
}

/// Bin counts of `values` for interior `edges`: bin i holds edges[i-1] < x <= edges[i].
fn bin_counts(values: &[f64], edges: &[f64]) -> Vec<u64> {
    let mut out = vec![0; edges.len() + 1];
    for &x in values {
        out[edges.iter().take_while(|&&e| e < x).count()] += 1;
    }
    out
}

/// PSI of a numeric feature over the reference's nearest-rank quantiles (repeated edges merged,
/// an edge at the maximum dropped), and the number of bins.
fn numeric_psi(reference: &[f64], current: &[f64], bins: usize) -> (f64, usize) {
    let mut sorted = reference.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (n, max) = (sorted.len(), *sorted.last().unwrap());
    let mut edges: Vec<f64> = Vec::new();
    for k in 1..bins {
        let edge = sorted[(k * n).div_ceil(bins) - 1];
        if edge < max && edges.last().is_none_or(|&l| edge > l) {
            edges.push(edge);
        }
    }
    (
        psi(&bin_counts(reference, &edges), &bin_counts(current, &edges)),
        edges.len() + 1,
    )
}

/// PSI over categories (or hours), and the number present on either side.
fn categorical_psi<K: Ord + Clone>(reference: &[K], current: &[K]) -> (f64, usize) {
    let keys: BTreeSet<K> = reference.iter().chain(current).cloned().collect();
    let count = |v: &[K]| {
        keys.iter()
            .map(|k| v.iter().filter(|x| *x == k).count() as u64)
            .collect::<Vec<_>>()
    };
    (psi(&count(reference), &count(current)), keys.len())
}

/// Two-sample KS: D by walking both sorted samples past each distinct value, and the asymptotic
/// p-value Q_KS((√nₑ + 0.12 + 0.11/√nₑ)·D) summed as its series 2 Σ (−1)^(j−1) e^(−2j²λ²).
fn ks(a: &[f64], b: &[f64]) -> (f64, f64) {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() || j < b.len() {
        let x = a
            .get(i)
            .copied()
            .unwrap_or(f64::INFINITY)
            .min(b.get(j).copied().unwrap_or(f64::INFINITY));
        while i < a.len() && a[i] == x {
            i += 1;
        }
        while j < b.len() && b[j] == x {
            j += 1;
        }
        d = d.max((i as f64 / na - j as f64 / nb).abs());
    }
    let ne = (na * nb / (na + nb)).sqrt();
    let lambda = (ne + 0.12 + 0.11 / ne) * d;
    assert!(lambda > 0.3, "the series needs more terms below λ = 0.3 ({lambda})");
    let p: f64 = (1..200)
        .map(|j| {
            let j = f64::from(j);
            let sign = if j % 2.0 == 1.0 { 1.0 } else { -1.0 };
            2.0 * sign * (-2.0 * j * j * lambda * lambda).exp()
        })
        .sum();
    (d, p.clamp(0.0, 1.0))
}

fn close(a: f64, b: f64, tolerance: f64, what: &str) {
    assert!((a - b).abs() <= tolerance, "{what}: {a} vs {b}");
}

/// Relative closeness for p-values that span hundreds of orders of magnitude.
fn close_rel(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) || (a - b).abs() < 1e-300,
        "{what}: {a} vs {b}"
    );
}

fn in_spans(day: i64, spans: &[DaySpan]) -> bool {
    spans
        .iter()
        .any(|s| day >= i64::from(s.first) && day <= i64::from(s.last))
}

/// The comparison the page documents for a weekly window: the window against the reference
/// minus its days, or, holding the whole reference, its second half against its first.
fn expected_comparison(w: DaySpan, reference_days: u32) -> (Vec<DaySpan>, Vec<DaySpan>) {
    if w.first == 0 && w.last + 1 >= reference_days {
        let half = reference_days.div_ceil(2);
        return (
            vec![DaySpan {
                first: half,
                last: w.last,
            }],
            vec![DaySpan {
                first: 0,
                last: half - 1,
            }],
        );
    }
    let rest: Vec<u32> = (0..reference_days).filter(|d| *d < w.first || *d > w.last).collect();
    let reference = if rest.is_empty() {
        Vec::new()
    } else {
        vec![DaySpan {
            first: rest[0],
            last: *rest.last().unwrap(),
        }]
    };
    (vec![w], reference)
}

/// The largest magnitude of the drift labels covering at least half of a window, by time.
fn label_magnitude(labels: &[ticketing_support::Label], w: DaySpan) -> Option<f64> {
    let start = WINDOW_START_MS + i64::from(w.first) * DAY_MS;
    let end = WINDOW_START_MS + (i64::from(w.last) + 1) * DAY_MS;
    labels
        .iter()
        .filter(|l| 2 * (l.end.min(end) - l.start.max(start)) >= end - start)
        .map(|l| l.magnitude)
        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
}

/// Document 004's score: mean over amount, tickets and price of |Δmean| / reference mean, capped.
fn doc_score(rows: &Rows, current: &[DaySpan], reference: &[DaySpan]) -> f64 {
    let means = |spans: &[DaySpan]| {
        let keep: Vec<usize> = (0..rows.day.len()).filter(|&i| in_spans(rows.day[i], spans)).collect();
        let n = keep.len() as f64;
        let sum = |v: &[i64]| keep.iter().map(|&i| v[i]).sum::<i64>() as f64;
        [
            sum(&rows.amount_cents) / 100.0 / n,
            sum(&rows.tickets) / n,
            sum(&rows.price_cents) / 100.0 / n,
        ]
    };
    let (c, r) = (means(current), means(reference));
    (0..3).map(|k| ((c[k] - r[k]).abs() / r[k]).min(1.0)).sum::<f64>() / 3.0
}

/// Every window and feature of the default run, recomputed from the rows; returns the windows
/// with the fired flags recomputed here and the labels' magnitudes.
fn recomputed() -> (DriftResult, Vec<(Option<f64>, bool)>) {
    let f = fixture();
    let r: DriftResult = f.typed("drift");
    let s = settings();
    let labels: Vec<_> = f.labels().into_iter().filter(|l| l.kind == "drift").collect();
    assert_eq!(labels.len(), 4, "the default run's four drift weeks");
    let scenarios: BTreeSet<String> = labels.iter().map(|l| l.scenario.clone()).collect();
    assert_eq!(r.scenarios, scenarios.iter().cloned().collect::<Vec<_>>());
    let rows = rows(&scenarios);
    assert_eq!(r.rows, rows.day.len() as u64);
    assert_eq!(r.first_day.to_string(), "2025-11-03");
    assert_eq!((r.window, r.days), (WindowSize::Week, 28));
    assert_eq!(
        r.reference,
        DaySpan {
            first: 0,
            last: s.reference_days - 1
        }
    );
    assert_eq!(
        r.reference_rows,
        rows.day.iter().filter(|&&d| d < i64::from(s.reference_days)).count() as u64
    );
    assert_eq!(r.windows.len(), 4);

    let mut decisions = Vec::new();
    for (k, w) in r.windows.iter().enumerate() {
        let span = DaySpan {
            first: 7 * k as u32,
            last: 7 * k as u32 + 6,
        };
        assert_eq!(w.span, span);
        let (current, reference) = expected_comparison(span, s.reference_days);
        assert_eq!((&w.current, &w.reference), (&current, &reference), "window {k}");
        let cur: Vec<usize> = (0..rows.day.len())
            .filter(|&i| in_spans(rows.day[i], &current))
            .collect();
        let refs: Vec<usize> = (0..rows.day.len())
            .filter(|&i| in_spans(rows.day[i], &reference))
            .collect();
        assert_eq!(
            (w.current_rows, w.reference_rows),
            (cur.len() as u64, refs.len() as u64)
        );
        assert!(w.scored);

        let mut fired = false;
        assert_eq!(w.features.len(), rows.features.len());
        for (fs, (name, values)) in w.features.iter().zip(&rows.features) {
            let what = format!("window {k} {name}");
            assert_eq!(fs.feature, *name);
            let (p, bins, test) = match values {
                Values::Numeric(v) => {
                    let (c, r): (Vec<f64>, Vec<f64>) = (
                        cur.iter().map(|&i| v[i]).collect(),
                        refs.iter().map(|&i| v[i]).collect(),
                    );
                    let (p, bins) = if *name == "hour" {
                        // Each hour its own bin.
                        let hour = |x: &Vec<f64>| x.iter().map(|&h| h as i64).collect::<Vec<_>>();
                        categorical_psi(&hour(&r), &hour(&c))
                    } else {
                        numeric_psi(&r, &c, s.psi_bins)
                    };
                    (p, bins, Some(ks(&r, &c)))
                }
                Values::Categorical(v) => {
                    let (c, r): (Vec<&str>, Vec<&str>) = (
                        cur.iter().map(|&i| v[i].as_str()).collect(),
                        refs.iter().map(|&i| v[i].as_str()).collect(),
                    );
                    let (p, bins) = categorical_psi(&r, &c);
                    (p, bins, None)
                }
            };
            close(fs.psi, p, 1e-12, &format!("{what} PSI"));
            assert_eq!(fs.bins, bins as u64, "{what} bins");
            match (fs.ks, test) {
                (Some(got), Some((d, pv))) => {
                    close(got.statistic, d, 1e-12, &format!("{what} KS statistic"));
                    close_rel(got.p_value, pv, &format!("{what} KS p-value"));
                    assert_eq!((got.n_a, got.n_b), (refs.len() as u64, cur.len() as u64));
                }
                (None, None) => {}
                other => panic!("{what}: KS {other:?}"),
            }
            let psi_fired = p >= s.psi_threshold;
            let ks_fired = test.is_some_and(|(d, pv)| pv < s.ks_p_value && d >= s.ks_min_statistic);
            assert_eq!((fs.psi_fired, fs.ks_fired), (psi_fired, ks_fired), "{what}");
            fired |= psi_fired || ks_fired;
        }
        assert_eq!(w.fired, fired, "window {k}");

        let magnitude = label_magnitude(&labels, span);
        assert_eq!(w.label_magnitude, magnitude, "window {k}");
        assert_eq!(w.labelled_drifted, magnitude.is_some_and(|m| m > 0.0));
        let doc = doc_score(&rows, &current, &reference);
        close(w.doc_score.unwrap(), doc, 1e-12, &format!("window {k} doc score"));
        assert_eq!(w.doc_fired, doc >= s.doc_score_threshold);
        decisions.push((magnitude, fired));
    }
    (r, decisions)
}

#[test]
fn psi_and_ks_of_every_window_and_feature_match_a_fold_over_the_rows() {
    let (r, decisions) = recomputed();
    // The features are those the issue names, numeric ones with a KS test, the mixes without.
    let names: Vec<&str> = r.windows[1].features.iter().map(|f| f.feature.as_str()).collect();
    assert_eq!(
        names,
        [
            "total_amount",
            "num_tickets",
            "price_multiplier",
            "persona",
            "payment_method",
            "device_type",
            "hour"
        ]
    );
    assert_eq!(decisions.len(), 4);
}

#[test]
fn the_detector_fires_in_every_drifted_window_and_at_most_once_elsewhere() {
    let (r, decisions) = recomputed();
    let s = settings();
    let drifted: Vec<bool> = decisions.iter().map(|(m, _)| m.is_some_and(|m| m > 0.0)).collect();
    assert_eq!(drifted, [false, true, true, true], "week 0 is the undrifted reference");
    let missed = decisions
        .iter()
        .filter(|(m, f)| m.is_some_and(|m| m > 0.0) && !f)
        .count() as u64;
    let false_alarms = decisions
        .iter()
        .filter(|(m, f)| !m.is_some_and(|m| m > 0.0) && *f)
        .count() as u64;
    assert_eq!(missed, 0, "{decisions:?}");
    assert!(false_alarms <= 1, "{decisions:?}");

    let c = r.detector.confusion;
    let tp = decisions
        .iter()
        .filter(|(m, f)| m.is_some_and(|m| m > 0.0) && *f)
        .count() as u64;
    assert_eq!((c.tp, c.fn_, c.fp), (tp, missed, false_alarms));
    assert_eq!(c.tn, 4 - tp - missed - false_alarms);
    close(
        r.detector.recall.unwrap(),
        tp as f64 / (tp + missed) as f64,
        0.0,
        "recall",
    );
    close(
        r.detector.precision.unwrap(),
        tp as f64 / (tp + false_alarms) as f64,
        0.0,
        "precision",
    );

    // The checks, with these figures and the settings' targets.
    let report: CheckReport = fixture().typed("checks");
    let check = |name: &str| {
        report
            .checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no check {name}"))
            .clone()
    };
    let m = check("drift.missed_windows");
    assert_eq!((m.figure, m.target, m.status), (Some(missed as f64), 0.0, Status::Pass));
    let fa = check("drift.false_alarm_windows");
    assert_eq!(
        (fa.figure, fa.target, fa.status),
        (Some(false_alarms as f64), s.max_false_alarms as f64, Status::Pass)
    );
    assert_eq!(report.checks.iter().filter(|c| c.name.starts_with("drift.")).count(), 2);
}

#[test]
fn the_page_shades_the_drifted_labels_and_shows_document_004s_score() {
    let f = fixture();
    let page = f.read("drift.html");
    let r: DriftResult = f.typed("drift");
    for l in r.drift_labels.iter().filter(|l| l.magnitude > 0.0) {
        assert!(
            page.contains(&format!("drift {:.2}", l.magnitude)),
            "no band for {}",
            l.magnitude
        );
    }
    assert!(
        page.contains("drift score per window"),
        "no chart of document 004's score"
    );
    assert!(page.contains("drift.missed_windows") && page.contains("drift.false_alarm_windows"));
}

/// Everyday sales without drift (no drift labels: every row is read, every window is a
/// negative), at the size of the default run's everyday sales. The features behaviour moves stay
/// below the thresholds in every week; total_amount is left out, as it also follows the sale
/// calendar (the page says so), and the page has no drift checks to fail.
#[test]
fn without_drift_the_behaviour_features_do_not_fire() {
    let dir = tempfile::tempdir().unwrap();
    generate(
        dir.path(),
        &["--scenario", "normal_traffic", "--rows", "53000", "--format", "parquet"],
    );
    let reports = dir.path().join("reports");
    analyze(&dir.path().join("data"), &reports, &["--only", "drift"]).success();
    let text = std::fs::read_to_string(reports.join("results/drift.json")).unwrap();
    let r: DriftResult = serde_json::from_str(&text).unwrap();
    assert!(r.drift_labels.is_empty() && r.scenarios.is_empty());
    assert_eq!(r.rows, 53_000);
    assert_eq!(r.windows.len(), 4);
    let fired: BTreeMap<String, Vec<String>> = r
        .windows
        .iter()
        .map(|w: &WindowScore| {
            assert!(w.scored && !w.labelled_drifted);
            (w.span.name(r.first_day), w.fired_by.clone())
        })
        .collect();
    for (window, by) in &fired {
        assert!(by.iter().all(|f| f == "total_amount"), "{window}: fired on {by:?}");
    }
    let checks = std::fs::read_to_string(reports.join("results/checks.json")).unwrap();
    let report: CheckReport = serde_json::from_str(&checks).unwrap();
    assert!(report.checks.iter().all(|c| !c.name.starts_with("drift.")));
}
