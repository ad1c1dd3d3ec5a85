//! The fraud page against independent folds over the rows (read with arrow): the baseline's
//! confusion matrix, precision, recall, intervals, per-pattern recall, money, alerts per hour,
//! AUC and the labelled windows; then `--predictions` through the CLI (a perfect predictor, a
//! random one, a decision-only Parquet file covering half the attempts), bad predictions files,
//! and the fraud checks `trafficsim check` prints.

mod analyze_support;
mod common;
mod ticketing_analyze_support;
mod ticketing_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use trafficsim::analyze::checks::{CheckReport, Status};
use trafficsim::analyze::ticketing::fraud::FraudResult;
use trafficsim::analyze::ticketing::fraud::score::Detection;

use ticketing_analyze_support::{analyze, check, fixture};
use ticketing_support::{auc, bools, floats, str_vals, strs, times_ms};

const Z95: f64 = 1.959_963_984_540_054;
const HOUR_MS: i64 = 3_600_000;

/// The baseline's thresholds, read from the settings the fixture ran with.
fn thresholds() -> (f64, u64) {
    let text = std::fs::read_to_string(common::repo().join("config/analysis.toml")).unwrap();
    let v: toml::Value = toml::from_str(&text).unwrap();
    let t = &v["ticketing"]["fraud"];
    (
        t["risk_threshold"].as_float().unwrap(),
        t["min_indicators"].as_integer().unwrap() as u64,
    )
}

/// The rows the fraud page reads, plus the baseline's flag by the same rule written here.
struct Rows {
    id: Vec<String>,
    score: Vec<f64>,
    flag: Vec<bool>,
    fraud: Vec<bool>,
    pattern: Vec<Option<String>>,
    cents: Vec<i64>,
    ms: Vec<i64>,
}

fn rows() -> &'static Rows {
    static ROWS: std::sync::OnceLock<Rows> = std::sync::OnceLock::new();
    ROWS.get_or_init(|| {
        let t = fixture().transactions(&[
            "transaction_id",
            "risk_score",
            "device_mismatch",
            "geo_mismatch",
            "time_anomaly",
            "is_fraud",
            "fraud_pattern",
            "total_amount",
            "timestamp",
        ]);
        let (risk, min) = thresholds();
        let score = floats(&t, "risk_score");
        let (dm, gm, ta) = (
            bools(&t, "device_mismatch"),
            bools(&t, "geo_mismatch"),
            bools(&t, "time_anomaly"),
        );
        let flag = (0..t.num_rows())
            .map(|i| score[i] >= risk || [dm[i], gm[i], ta[i]].iter().filter(|&&b| b).count() as u64 >= min)
            .collect();
        Rows {
            id: str_vals(&t, "transaction_id"),
            flag,
            fraud: bools(&t, "is_fraud"),
            pattern: strs(&t, "fraud_pattern"),
            cents: floats(&t, "total_amount")
                .iter()
                .map(|a| (a * 100.0 + 0.5) as i64)
                .collect(),
            ms: times_ms(&t, "timestamp"),
            score,
        }
    })
}

/// tp, fp, fn, tn of `flag` against `fraud` over the rows `keep` selects.
fn confusion(flag: &[bool], fraud: &[bool], keep: impl Fn(usize) -> bool) -> [u64; 4] {
    let mut c = [0u64; 4];
    for i in (0..flag.len()).filter(|&i| keep(i)) {
        c[match (fraud[i], flag[i]) {
            (true, true) => 0,
            (false, true) => 1,
            (true, false) => 2,
            (false, false) => 3,
        }] += 1;
    }
    c
}

fn counts(d: &Detection) -> [u64; 4] {
    [d.confusion.tp, d.confusion.fp, d.confusion.fn_, d.confusion.tn]
}

/// The Wilson score interval, written out: (p + z²/2n ± z√(p(1−p)/n + z²/4n²)) / (1 + z²/n).
fn wilson(k: u64, n: u64) -> (f64, f64) {
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let denominator = 1.0 + Z95 * Z95 / n;
    let center = (p + Z95 * Z95 / (2.0 * n)) / denominator;
    let half = Z95 * (p * (1.0 - p) / n + Z95 * Z95 / (4.0 * n * n)).sqrt() / denominator;
    (center - half, center + half)
}

fn assert_interval(i: &trafficsim::analyze::stats::Interval, k: u64, n: u64, what: &str) {
    let (lo, hi) = wilson(k, n);
    let p = k as f64 / n as f64;
    assert!(i.lo <= p && p <= i.hi, "{what}: {p} outside {i:?}");
    assert!((i.lo - lo.max(0.0)).abs() < 1e-12, "{what}: lo {} vs {lo}", i.lo);
    assert!((i.hi - hi.min(1.0)).abs() < 1e-12, "{what}: hi {} vs {hi}", i.hi);
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() < 1e-12, "{what}: {a} vs {b}");
}

#[test]
fn the_baseline_is_scored_as_a_plain_fold_scores_it() {
    let f = fixture();
    let r: FraudResult = f.typed("fraud");
    let rows = rows();
    let n = rows.id.len();
    assert!(r.predictions.is_none());
    let c = confusion(&rows.flag, &rows.fraud, |_| true);
    assert_eq!(counts(&r.baseline), c);
    let [tp, fp, fn_, _] = c;
    assert_eq!(r.attempts, n as u64);
    assert_eq!(r.fraud, tp + fn_);
    close(r.base_rate, (tp + fn_) as f64 / n as f64, "base rate");
    assert_interval(&r.base_rate_interval, tp + fn_, n as u64, "base rate");
    close(r.baseline.precision, tp as f64 / (tp + fp) as f64, "precision");
    close(r.baseline.recall, tp as f64 / (tp + fn_) as f64, "recall");
    close(r.baseline.f1, 2.0 * tp as f64 / (2 * tp + fp + fn_) as f64, "f1");
    assert_interval(&r.baseline.precision_interval, tp, tp + fp, "precision");
    assert_interval(&r.baseline.recall_interval, tp, tp + fn_, "recall");
    // Not trivially separable: the baseline is far from the targets, and the page says so.
    assert!(
        r.baseline.recall < 0.95 && r.baseline.precision < 0.95,
        "{:?}",
        r.baseline.confusion
    );

    // Recall per pattern.
    let mut patterns: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for i in (0..n).filter(|&i| rows.fraud[i]) {
        let e = patterns
            .entry(rows.pattern[i].as_deref().unwrap_or("(none)"))
            .or_default();
        e.0 += 1;
        e.1 += u64::from(rows.flag[i]);
    }
    assert_eq!(r.baseline.by_pattern.len(), patterns.len());
    for p in &r.baseline.by_pattern {
        let (fraud, caught) = patterns[p.pattern.as_str()];
        assert_eq!((p.fraud, p.caught), (fraud, caught), "{}", p.pattern);
        close(p.recall, caught as f64 / fraud as f64, &p.pattern);
        assert_interval(&p.recall_interval, caught, fraud, &p.pattern);
    }

    // Money, in integer cents.
    let sum = |keep: &dyn Fn(usize) -> bool| -> i64 { (0..n).filter(|&i| keep(i)).map(|i| rows.cents[i]).sum() };
    assert_eq!(
        r.baseline.money.fraud_caught_cents,
        sum(&|i| rows.fraud[i] && rows.flag[i])
    );
    assert_eq!(
        r.baseline.money.fraud_missed_cents,
        sum(&|i| rows.fraud[i] && !rows.flag[i])
    );
    assert_eq!(
        r.baseline.money.legitimate_flagged_cents,
        sum(&|i| !rows.fraud[i] && rows.flag[i])
    );

    // Alerts per hour: every hour of the 28 days, flags as counted here.
    let mut per_hour: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    for i in 0..n {
        let e = per_hour.entry(rows.ms[i].div_euclid(HOUR_MS)).or_default();
        e.0 += u64::from(rows.flag[i]);
        e.1 += u64::from(rows.fraud[i]);
    }
    assert_eq!(r.hours.len(), 28 * 24);
    assert_eq!(r.hours[0].start.timestamp_millis(), ticketing_support::WINDOW_START_MS);
    for h in &r.hours {
        let (flagged, fraud) = per_hour
            .get(&(h.start.timestamp_millis() / HOUR_MS))
            .copied()
            .unwrap_or_default();
        assert_eq!((h.baseline.flagged, h.baseline.fraud), (flagged, fraud), "{}", h.start);
    }
    assert_eq!(r.hours.iter().map(|h| h.baseline.flagged).sum::<u64>(), tp + fp);

    // The curves from risk_score: AUC by ranks, and the curve's ends.
    let auc_here = auc(&rows.score, &rows.fraud);
    assert!((r.baseline.roc_auc.unwrap() - auc_here).abs() < 1e-9, "{auc_here}");
    let distinct: std::collections::BTreeSet<u64> = rows.score.iter().map(|s| s.to_bits()).collect();
    assert_eq!(r.baseline.curve_thresholds, distinct.len() as u64);
    assert!(r.baseline.curve.len() <= 200 && r.baseline.curve.len() >= 2);
    let last = r.baseline.curve.last().unwrap();
    assert_eq!((last.recall, last.false_positive_rate), (1.0, 1.0));
    close(last.precision, r.base_rate, "precision when flagging everything");
    let top = rows.score.iter().copied().fold(f64::MIN, f64::max);
    assert_eq!(r.baseline.curve[0].threshold, top);
    // Average precision: the mean over fraud attempts of the precision when flagging every
    // attempt scoring at least as high.
    let mut by_score: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for i in 0..n {
        let e = by_score.entry(rows.score[i].to_bits()).or_default();
        if rows.fraud[i] { e.0 += 1 } else { e.1 += 1 }
    }
    let (mut above, mut flagged, mut sum_precision) = (0u64, 0u64, 0.0);
    for (pos, neg) in by_score.values().rev() {
        above += pos;
        flagged += pos + neg;
        sum_precision += *pos as f64 * above as f64 / flagged as f64;
    }
    assert!((r.baseline.average_precision.unwrap() - sum_precision / (tp + fn_) as f64).abs() < 1e-9);
}

#[test]
fn labelled_windows_and_their_checks_match_a_fold() {
    let f = fixture();
    let r: FraudResult = f.typed("fraud");
    let rows = rows();
    let labels = f.labels();
    let scored: Vec<_> = labels
        .iter()
        .filter(|l| l.kind == "attack" || l.kind == "flash_sale")
        .collect();
    assert_eq!(r.windows.len(), scored.len());
    assert_eq!(scored.iter().filter(|l| l.kind == "attack").count(), 3);
    let report: CheckReport = f.typed("checks");
    let check = |name: &str| {
        report
            .checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no check {name}"))
            .clone()
    };
    for l in &scored {
        let w = r
            .windows
            .iter()
            .find(|w| w.kind == l.kind && w.subject == l.subject && w.start.timestamp_millis() == l.start)
            .unwrap_or_else(|| panic!("window {} {}", l.kind, l.subject));
        let inside = |i: usize| rows.ms[i] >= l.start && rows.ms[i] < l.end;
        let c = confusion(&rows.flag, &rows.fraud, inside);
        let b = &w.baseline;
        assert_eq!([b.confusion.tp, b.confusion.fp, b.confusion.fn_, b.confusion.tn], c);
        let [tp, fp, fn_, _] = c;
        if l.kind == "attack" {
            let recall = check(&format!("fraud_attack.{}.recall", l.subject));
            close(recall.figure.unwrap(), tp as f64 / (tp + fn_) as f64, "attack recall");
            assert_eq!(recall.target, 0.90);
            assert_eq!(
                recall.status,
                if recall.figure.unwrap() >= 0.90 {
                    Status::Pass
                } else {
                    Status::Fail
                }
            );
            let precision = check(&format!("fraud_attack.{}.precision", l.subject));
            close(
                precision.figure.unwrap(),
                tp as f64 / (tp + fp) as f64,
                "attack precision",
            );
            assert_eq!(precision.target, 0.85);
        }
    }
    // The flash sales together.
    let flash: Vec<_> = labels.iter().filter(|l| l.kind == "flash_sale").collect();
    assert!(!flash.is_empty());
    let c = confusion(&rows.flag, &rows.fraud, |i| {
        flash.iter().any(|l| rows.ms[i] >= l.start && rows.ms[i] < l.end)
    });
    let fs = r.flash_sales.as_ref().expect("the flash sales together");
    assert_eq!(fs.baseline.confusion.tp, c[0]);
    assert_eq!(fs.baseline.confusion.fn_, c[2]);
    let flash_check = check("flash_sale.fraud_recall");
    close(
        flash_check.figure.unwrap(),
        c[0] as f64 / (c[0] + c[2]) as f64,
        "flash-sale recall",
    );
    assert_eq!(flash_check.target, 0.90);
    // The headline checks are the baseline's, and say so.
    let recall = check("fraud.recall");
    close(recall.figure.unwrap(), r.baseline.recall, "fraud.recall");
    assert_eq!((recall.target, recall.status), (0.95, Status::Fail));
    assert!(recall.note.as_deref().unwrap().contains("baseline"), "{recall:?}");
    assert!(report.checks.iter().all(|c| c.name != "fraud.prediction_coverage"));
}

#[test]
fn check_without_predictions_prints_the_fraud_checks_as_the_json_has_them() {
    let f = fixture();
    let report: CheckReport = f.typed("checks");
    let run = check(&f.data, &[]);
    for name in ["fraud.recall", "fraud.precision", "flash_sale.fraud_recall"] {
        let status = report.checks.iter().find(|c| c.name == name).unwrap().status;
        let line = run
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} line in\n{}", run.stdout));
        assert!(line.contains(&format!(" {} ", status.as_str())), "{line}");
    }
    assert_eq!(run.status.success(), report.failed == 0, "{}", run.stdout);
}

/// A temp dir and a predictions file in it.
fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn predictions_result(path: &Path) -> FraudResult {
    let out = tempfile::tempdir().unwrap();
    let reports = out.path().join("reports");
    analyze(
        &fixture().data,
        &reports,
        &["--predictions", path.to_str().unwrap(), "--only", "fraud"],
    )
    .success();
    let text = std::fs::read_to_string(reports.join("results/fraud.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_perfect_predictor_scores_one_and_passes_the_fraud_checks() {
    let rows = rows();
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("transaction_id,score\n");
    for (id, fraud) in rows.id.iter().zip(&rows.fraud) {
        csv.push_str(&format!("{id},{}\n", u8::from(*fraud)));
    }
    let path = write(dir.path(), "perfect.csv", &csv);
    let r = predictions_result(&path);
    let p = r.predictions.as_ref().expect("predictions scored");
    assert_eq!((p.covered, p.coverage), (rows.id.len() as u64, 1.0));
    assert!(p.baseline_on_covered.is_none());
    assert_eq!((p.detection.recall, p.detection.precision), (1.0, 1.0));
    assert_eq!(p.detection.confusion.tp, r.fraud);
    assert_eq!(p.detection.roc_auc, Some(1.0));
    assert_eq!(p.detection.money.fraud_missed_cents, 0);
    // The baseline is still there, beside it.
    assert_eq!(counts(&r.baseline), confusion(&rows.flag, &rows.fraud, |_| true));
    let run = check(&fixture().data, &["--predictions", path.to_str().unwrap()]);
    for name in [
        "fraud.recall",
        "fraud.precision",
        "fraud.prediction_coverage",
        "flash_sale.fraud_recall",
        "fraud_attack.card_testing.recall",
    ] {
        let line = run
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} line in\n{}", run.stdout));
        assert!(line.contains(" PASS"), "{line}");
        if name.starts_with("fraud.") && name != "fraud.prediction_coverage" {
            assert!(line.contains("predictions of"), "{line}");
        }
    }
}

/// SplitMix64: a seeded, reproducible uniform source for the random predictor.
fn uniforms(seed: u64, n: usize) -> Vec<f64> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) as f64 / u64::MAX as f64
        })
        .collect()
}

#[test]
fn a_random_predictor_has_the_base_rate_as_precision() {
    let rows = rows();
    let dir = tempfile::tempdir().unwrap();
    let scores = uniforms(20_251_103, rows.id.len());
    let mut csv = String::from("transaction_id,score\n");
    for (id, s) in rows.id.iter().zip(&scores) {
        csv.push_str(&format!("{id},{s:.6}\n"));
    }
    let path = write(dir.path(), "random.csv", &csv);
    let r = predictions_result(&path);
    let d = &r.predictions.as_ref().unwrap().detection;
    // Flagged at score ≥ 0.5 (prediction_threshold): about half, a random half.
    let flagged = d.flagged as f64;
    assert!((flagged / r.attempts as f64 - 0.5).abs() < 0.01, "{flagged}");
    let se = (r.base_rate * (1.0 - r.base_rate) / flagged).sqrt();
    assert!(
        (d.precision - r.base_rate).abs() < 4.0 * se,
        "precision {} vs base rate {} (se {se})",
        d.precision,
        r.base_rate
    );
    assert!((d.recall - 0.5).abs() < 0.02, "{}", d.recall);
    // And no ranking power: the AUC is 0.5 within a few standard errors (Hanley–McNeil bound).
    let (pos, neg) = (r.fraud as f64, (r.attempts - r.fraud) as f64);
    let auc_se = ((1.0 / pos + 1.0 / neg) / 12.0).sqrt();
    assert!((d.roc_auc.unwrap() - 0.5).abs() < 5.0 * auc_se, "{:?}", d.roc_auc);
}

#[test]
fn decision_only_parquet_covering_half_the_attempts() {
    let rows = rows();
    let dir = tempfile::tempdir().unwrap();
    // Every other attempt; the decision is the truth, wrong on every tenth row.
    let keep: Vec<usize> = (0..rows.id.len()).step_by(2).collect();
    let decision = |i: usize| rows.fraud[i] != i.is_multiple_of(10);
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("transaction_id", DataType::Utf8, false),
            Field::new("decision", DataType::Boolean, false),
        ])),
        vec![
            Arc::new(StringArray::from_iter_values(keep.iter().map(|&i| rows.id[i].as_str()))),
            Arc::new(BooleanArray::from(
                keep.iter().map(|&i| decision(i)).collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap();
    let path = dir.path().join("decisions.parquet");
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();

    let r = predictions_result(&path);
    let p = r.predictions.as_ref().unwrap();
    assert!(p.has_decision && !p.has_score);
    assert_eq!(p.covered, keep.len() as u64);
    close(p.coverage, keep.len() as f64 / rows.id.len() as f64, "coverage");
    let flags: Vec<bool> = (0..rows.id.len()).map(decision).collect();
    let covered = |i: usize| i.is_multiple_of(2);
    assert_eq!(counts(&p.detection), confusion(&flags, &rows.fraud, covered));
    // No score: no curves.
    assert!(p.detection.roc_auc.is_none() && p.detection.curve.is_empty());
    // The baseline on the same attempts, for a like-for-like comparison.
    let b = p
        .baseline_on_covered
        .as_ref()
        .expect("baseline on the covered attempts");
    assert_eq!(counts(b), confusion(&rows.flag, &rows.fraud, covered));
    // Per window, the predictions are scored on their covered attempts only.
    let labels = fixture().labels();
    let attack = labels.iter().find(|l| l.kind == "attack").unwrap();
    let w = r.windows.iter().find(|w| w.subject == attack.subject).unwrap();
    let inside = |i: usize| covered(i) && rows.ms[i] >= attack.start && rows.ms[i] < attack.end;
    let c = confusion(&flags, &rows.fraud, inside);
    let wp = w.predictions.as_ref().unwrap();
    assert_eq!([wp.confusion.tp, wp.confusion.fp, wp.confusion.fn_, wp.confusion.tn], c);

    // Half the attempts covered fails the coverage check, and says how many.
    let run = check(&fixture().data, &["--predictions", path.to_str().unwrap()]);
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("fraud.prediction_coverage"))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(
        line.contains("FAIL") && line.contains(&format!("{} of {}", keep.len(), rows.id.len())),
        "{line}"
    );
    assert!(!run.status.success());
}

#[test]
fn bad_predictions_files_are_refused_naming_the_file_and_the_problem() {
    let rows = rows();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (&rows.id[0], &rows.id[1]);
    let cases = [
        (
            "unknown.csv",
            "transaction_id,score\nnot-a-transaction,0.5\n".to_string(),
            "not in the data",
        ),
        (
            "no_id.csv",
            format!("id,score\n{a},0.5\n"),
            "missing column `transaction_id`",
        ),
        (
            "no_score.csv",
            format!("transaction_id,probability\n{a},0.5\n"),
            "missing column `score` or `decision`",
        ),
        (
            "high.csv",
            format!("transaction_id,score\n{a},0.5\n{b},1.5\n"),
            "scores must lie from 0 to 1",
        ),
        (
            "negative.csv",
            format!("transaction_id,score\n{a},-0.1\n{b},0.5\n"),
            "scores must lie from 0 to 1",
        ),
        (
            "duplicates.csv",
            format!("transaction_id,score\n{a},0.5\n{b},0.1\n{a},0.7\n"),
            "appear more than once",
        ),
        (
            "predictions.txt",
            format!("transaction_id,score\n{a},0.5\n"),
            "must be .csv or .parquet",
        ),
    ];
    for (name, text, problem) in cases {
        let path = write(dir.path(), name, &text);
        let shown = path.display().to_string();
        let out = dir.path().join(format!("reports-{name}"));
        let run = analyze(&fixture().data, &out, &["--predictions", &shown, "--only", "fraud"]);
        let run = run.failure().stderr_has(&shown).stderr_has(problem);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        check(&fixture().data, &["--predictions", &shown])
            .failure()
            .stderr_has(&shown)
            .stderr_has(problem);
    }
}
