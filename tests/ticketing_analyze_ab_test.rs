//! The A/B page against independent folds over the rows (read with arrow): each arm's counts,
//! conversion, users and revenue; the conversion uplift with its interval (the delta method over
//! users, written out here from the residuals) and the z-test's; revenue per attempt and per user
//! (Welch); the required sample size; that the interval covers the label's true uplift on the
//! default run (the acceptance); the checks with their figures; and a dataset without an
//! experiment.

mod analyze_support;
mod common;
mod ticketing_analyze_support;
mod ticketing_support;

use std::collections::BTreeMap;

use trafficsim::analyze::checks::{CheckReport, Status};
use trafficsim::analyze::ticketing::ab_test::AbTestResult;
use trafficsim::analyze::ticketing::ab_test::measure::Arm;

use ticketing_analyze_support::{analyze, check, fixture};
use ticketing_support::{Label, bools, floats, ints, str_vals, strs, times_ms};

const Z95: f64 = 1.959_963_984_540_054;
/// Φ⁻¹(0.8).
const Z80: f64 = 0.841_621_233_572_914_3;

/// One user's attempts in an arm.
#[derive(Debug, Default, Clone, Copy)]
struct User {
    legit: u64,
    eligible: u64,
    converted: u64,
    cents: i64,
}

/// One arm, folded row by row.
#[derive(Debug, Default)]
struct Fold {
    attempts: u64,
    fraud: u64,
    sold_out: u64,
    rate_limited: u64,
    eligible: u64,
    converted: u64,
    completed: u64,
    cents: i64,
    users: BTreeMap<String, User>,
}

impl Fold {
    fn legit_users(&self) -> Vec<User> {
        self.users.values().copied().filter(|u| u.legit > 0).collect()
    }

    fn eligible_users(&self) -> Vec<User> {
        self.users.values().copied().filter(|u| u.eligible > 0).collect()
    }

    fn conversion(&self) -> f64 {
        self.converted as f64 / self.eligible as f64
    }

    /// Var(R) of R = Σy/Σn over the eligible users, from the residuals y − R·n:
    /// Σ(y − Rn)²/(N − 1) / (N·n̄²).
    fn clustered_variance(&self, y: impl Fn(&User) -> f64) -> (f64, f64) {
        let users = self.eligible_users();
        let (sum_y, sum_n): (f64, f64) = users
            .iter()
            .map(|u| (y(u), u.eligible as f64))
            .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        let r = sum_y / sum_n;
        let n = users.len() as f64;
        let residuals: f64 = users.iter().map(|u| (y(u) - r * u.eligible as f64).powi(2)).sum();
        let mean_n = sum_n / n;
        (r, residuals / (n - 1.0) / (n * mean_n * mean_n))
    }

    /// Revenue per user (in currency): mean and sample variance, two passes.
    fn revenue_per_user(&self) -> (u64, f64, f64) {
        let users = self.legit_users();
        let n = users.len() as f64;
        let mean = users.iter().map(|u| u.cents as f64 / 100.0).sum::<f64>() / n;
        let var = users
            .iter()
            .map(|u| (u.cents as f64 / 100.0 - mean).powi(2))
            .sum::<f64>()
            / (n - 1.0);
        (users.len() as u64, mean, var)
    }
}

/// The ab_test labels in start order, each with its control and treatment folded.
fn folds() -> &'static Vec<(Label, [Fold; 2])> {
    static FOLDS: std::sync::OnceLock<Vec<(Label, [Fold; 2])>> = std::sync::OnceLock::new();
    FOLDS.get_or_init(|| {
        let f = fixture();
        let t = f.transactions(&[
            "timestamp",
            "ab_variant",
            "user_id",
            "is_fraud",
            "payment_status",
            "api_status",
            "total_amount",
        ]);
        let (ms, variant, user) = (
            times_ms(&t, "timestamp"),
            strs(&t, "ab_variant"),
            str_vals(&t, "user_id"),
        );
        let (fraud, status, api) = (
            bools(&t, "is_fraud"),
            str_vals(&t, "payment_status"),
            ints(&t, "api_status"),
        );
        let amount = floats(&t, "total_amount");
        let mut labels: Vec<Label> = f.labels().into_iter().filter(|l| l.kind == "ab_test").collect();
        labels.sort_by_key(|l| l.start);
        labels
            .into_iter()
            .map(|l| {
                let mut arms = [Fold::default(), Fold::default()];
                for i in 0..t.num_rows() {
                    let arm = match variant[i].as_deref() {
                        Some("control") => 0,
                        Some("treatment") => 1,
                        _ => continue,
                    };
                    if ms[i] < l.start || ms[i] >= l.end {
                        continue;
                    }
                    let a = &mut arms[arm];
                    let u = a.users.entry(user[i].clone()).or_default();
                    a.attempts += 1;
                    let completed = status[i] == "completed";
                    a.completed += u64::from(completed);
                    if fraud[i] {
                        a.fraud += 1;
                        continue;
                    }
                    u.legit += 1;
                    if status[i] == "sold_out" {
                        a.sold_out += 1;
                    } else if api[i] == 429 {
                        a.rate_limited += 1;
                    } else {
                        a.eligible += 1;
                        u.eligible += 1;
                        if status[i] != "abandoned" {
                            a.converted += 1;
                            u.converted += 1;
                        }
                    }
                    if completed {
                        let cents = (amount[i] * 100.0).round() as i64;
                        a.cents += cents;
                        u.cents += cents;
                    }
                }
                (l, arms)
            })
            .collect()
    })
}

fn result() -> AbTestResult {
    fixture().typed("ab_test")
}

#[track_caller]
fn close(a: f64, b: f64, tolerance: f64, what: &str) {
    assert!((a - b).abs() <= tolerance * b.abs().max(1.0), "{what}: {a} vs {b}");
}

/// `x` in [lo, hi].
fn covers(lo: f64, hi: f64, x: f64) -> bool {
    lo <= x && x <= hi
}

/// The number after `key` in a label's detail, read here by splitting on spaces and commas.
fn detail_number(detail: &str, key: &str) -> f64 {
    let rest = detail
        .split(key)
        .nth(1)
        .unwrap_or_else(|| panic!("no {key:?} in {detail}"));
    rest.split([' ', ',', ')', ';']).next().unwrap().parse().unwrap()
}

#[test]
fn arms_match_a_plain_fold_over_the_rows() {
    let r = result();
    let folds = folds();
    assert_eq!(folds.len(), 1, "the default run has one experiment");
    assert_eq!(r.experiments.len(), folds.len());
    assert_eq!((r.unlabelled_attempts, r.other_variant_attempts), (0, 0));
    for (e, (l, arms)) in r.experiments.iter().zip(folds) {
        assert_eq!(e.name, l.subject);
        assert_eq!(e.check_stem, format!("ab_test.{}", l.subject));
        assert_eq!((e.start.timestamp_millis(), e.end.timestamp_millis()), (l.start, l.end));
        for (arm, fold) in [(&e.control, &arms[0]), (&e.treatment, &arms[1])] {
            let Arm {
                attempts,
                fraud,
                sold_out,
                rate_limited,
                eligible,
                converted,
                completed,
                users,
                eligible_users,
                revenue_cents,
                ..
            } = *arm;
            assert_eq!(
                [attempts, fraud, sold_out, rate_limited, eligible, converted, completed],
                [
                    fold.attempts,
                    fold.fraud,
                    fold.sold_out,
                    fold.rate_limited,
                    fold.eligible,
                    fold.converted,
                    fold.completed
                ],
                "{}",
                arm.variant
            );
            assert_eq!(users, fold.legit_users().len() as u64);
            assert_eq!(eligible_users, fold.eligible_users().len() as u64);
            assert_eq!(revenue_cents, fold.cents);
            close(arm.conversion, fold.conversion(), 1e-15, "conversion");
            close(
                arm.completion_rate,
                fold.completed as f64 / fold.attempts as f64,
                1e-15,
                "completion",
            );
            let (_, mean, var) = fold.revenue_per_user();
            close(arm.revenue_per_user, mean, 1e-12, "revenue per user");
            close(arm.revenue_per_user_sd, var.sqrt(), 1e-9, "revenue sd");
            close(
                arm.revenue_per_attempt,
                fold.cents as f64 / 100.0 / fold.eligible as f64,
                1e-12,
                "revenue per attempt",
            );
            let (p, v) = fold.clustered_variance(|u| u.converted as f64);
            let ci = arm.conversion_interval.unwrap();
            close(ci.lo, p - Z95 * v.sqrt(), 1e-9, "conversion interval lo");
            close(ci.hi, p + Z95 * v.sqrt(), 1e-9, "conversion interval hi");
            let binomial = p * (1.0 - p) / fold.eligible as f64;
            close(arm.design_effect.unwrap(), v / binomial, 1e-9, "design effect");
        }
        // A sizeable experiment, with real clustering: each arm has thousands of users making
        // several attempts each.
        assert!(e.control.users > 1000 && e.treatment.users > 1000, "{e:?}");
        assert!(e.control.design_effect.unwrap() > 1.0);
    }
}

#[test]
fn the_uplift_and_its_interval_match_a_fold_and_cover_the_true_uplift() {
    let r = result();
    for (e, (l, [c, t])) in r.experiments.iter().zip(folds()) {
        // Conversion: the relative uplift and the delta-method interval over users.
        let (p_c, v_c) = c.clustered_variance(|u| u.converted as f64);
        let (p_t, v_t) = t.clustered_variance(|u| u.converted as f64);
        let uplift = p_t / p_c - 1.0;
        let s = (v_c / (p_c * p_c) + v_t / (p_t * p_t)).sqrt();
        let (lo, hi) = ((p_t / p_c).ln() - Z95 * s, (p_t / p_c).ln() + Z95 * s);
        let (lo, hi) = (lo.exp() - 1.0, hi.exp() - 1.0);
        close(
            e.conversion.relative_uplift.unwrap(),
            uplift,
            1e-12,
            "conversion uplift",
        );
        let ci = e.conversion.relative_interval.unwrap();
        close(ci.lo, lo, 1e-9, "uplift lo");
        close(ci.hi, hi, 1e-9, "uplift hi");
        close(e.conversion.difference, p_t - p_c, 1e-12, "difference");
        close(e.conversion.z, (p_t - p_c) / (v_c + v_t).sqrt(), 1e-9, "z");

        // The acceptance: on the default run the interval covers the label's true uplift.
        assert_eq!(e.truth.conversion_uplift, l.magnitude);
        assert!(
            covers(lo, hi, l.magnitude),
            "the true uplift {} is outside {lo}..{hi}",
            l.magnitude
        );
        assert_eq!(e.coverage.conversion, Some(true));
        // The price rise lowers conversion, and the test says so.
        assert!(hi < 0.0 && e.conversion.p_value < 1e-6, "{:?}", e.conversion);

        // The z-test over attempts: Katz's log interval, s² = (1 − p_c)/x_c + (1 − p_t)/x_t.
        let z = &e.conversion_z_test;
        let s_katz = ((1.0 - p_c) / c.converted as f64 + (1.0 - p_t) / t.converted as f64).sqrt();
        let zi = z.relative_interval.unwrap();
        close(zi.lo, ((p_t / p_c).ln() - Z95 * s_katz).exp() - 1.0, 1e-9, "z-test lo");
        close(zi.hi, ((p_t / p_c).ln() + Z95 * s_katz).exp() - 1.0, 1e-9, "z-test hi");
        let pooled = (c.converted + t.converted) as f64 / (c.eligible + t.eligible) as f64;
        let se0 = (pooled * (1.0 - pooled) * (1.0 / c.eligible as f64 + 1.0 / t.eligible as f64)).sqrt();
        close(z.z, (p_t - p_c) / se0, 1e-9, "pooled z");
        // Ignoring that a user's attempts go together makes it narrower.
        assert!(zi.hi - zi.lo < ci.hi - ci.lo);
        assert_eq!(e.coverage.conversion_z_test, Some(covers(zi.lo, zi.hi, l.magnitude)));

        // Revenue per attempt, against the label's revenue-per-attempt truth.
        let (r_c, w_c) = c.clustered_variance(|u| u.cents as f64 / 100.0);
        let (r_t, w_t) = t.clustered_variance(|u| u.cents as f64 / 100.0);
        let s = (w_c / (r_c * r_c) + w_t / (r_t * r_t)).sqrt();
        let (lo, hi) = (
            ((r_t / r_c).ln() - Z95 * s).exp() - 1.0,
            ((r_t / r_c).ln() + Z95 * s).exp() - 1.0,
        );
        let rpa = e.revenue_per_attempt.relative_interval.unwrap();
        close(
            e.revenue_per_attempt.relative_uplift.unwrap(),
            r_t / r_c - 1.0,
            1e-12,
            "rpa uplift",
        );
        close(rpa.lo, lo, 1e-9, "rpa lo");
        close(rpa.hi, hi, 1e-9, "rpa hi");
        let truth = detail_number(&l.detail, "revenue-per-attempt uplift ");
        assert_eq!(e.truth.revenue_per_attempt_uplift, Some(truth));
        assert_eq!(e.truth.control_conversion, Some(detail_number(&l.detail, "(control ")));
        assert!(covers(lo, hi, truth), "revenue per attempt: {truth} outside {lo}..{hi}");
        assert_eq!(e.coverage.revenue_per_attempt, Some(true));
    }
    // The page states it.
    let page = fixture().read("ab_test.html");
    assert!(
        page.contains("price_plus_10") && page.contains("covers the label"),
        "the page"
    );
    assert!(page.contains("Revenue per user (Welch"));
}

#[test]
fn revenue_per_user_is_welchs_test_over_users() {
    let r = result();
    for (e, (_, [c, t])) in r.experiments.iter().zip(folds()) {
        let (n_c, m_c, var_c) = c.revenue_per_user();
        let (n_t, m_t, var_t) = t.revenue_per_user();
        let (a, b) = (var_c / n_c as f64, var_t / n_t as f64);
        let df = (a + b).powi(2) / (a * a / (n_c - 1) as f64 + b * b / (n_t - 1) as f64);
        // t quantile for large df (Cornish–Fisher, two terms: ample at df in the thousands).
        let x = Z95;
        let q = x + (x.powi(3) + x) / (4.0 * df) + (5.0 * x.powi(5) + 16.0 * x.powi(3) + 3.0 * x) / (96.0 * df * df);
        let w = &e.revenue_per_user;
        assert!(df > 1000.0, "{df}");
        close(w.df, df, 1e-9, "df");
        close(w.t, (m_t - m_c) / (a + b).sqrt(), 1e-9, "t");
        close(w.difference, m_t - m_c, 1e-9, "difference");
        let ratio = m_t / m_c;
        close(w.relative_uplift.unwrap(), ratio - 1.0, 1e-12, "uplift");
        let half = q * (b + ratio * ratio * a).sqrt() / m_c;
        let ri = w.relative_interval.unwrap();
        close(ri.lo, ratio - 1.0 - half, 1e-7, "lo");
        close(ri.hi, ratio - 1.0 + half, 1e-7, "hi");
    }
}

#[test]
fn the_checks_carry_their_figures() {
    let f = fixture();
    let r = result();
    let report: CheckReport = f.typed("checks");
    let run = check(&f.data, &[]);
    for (e, (l, [c, t])) in r.experiments.iter().zip(folds()) {
        let find = |name: String| {
            report
                .checks
                .iter()
                .find(|k| k.name == name)
                .unwrap_or_else(|| panic!("no check {name}"))
                .clone()
        };
        // Revenue per user uplift against document 004's 0.08.
        let revenue = find(format!("ab_test.{}.revenue_uplift", l.subject));
        let (_, m_c, _) = c.revenue_per_user();
        let (_, m_t, _) = t.revenue_per_user();
        let uplift = m_t / m_c - 1.0;
        close(revenue.figure.unwrap(), uplift, 1e-12, "revenue_uplift");
        assert_eq!(revenue.target, 0.08);
        assert_eq!(revenue.status, if uplift >= 0.08 { Status::Pass } else { Status::Fail });

        // Users per arm against the sample size for a 5% relative change of conversion
        // (Fleiss, α 0.05, power 0.8), in users: × design effect ÷ attempts per user.
        let users = find(format!("ab_test.{}.users_per_arm", l.subject));
        let smaller = c.legit_users().len().min(t.legit_users().len()) as f64;
        assert_eq!(users.figure, Some(smaller));
        let p1 = c.conversion();
        let fleiss = |p2: f64| {
            let bar = (p1 + p2) / 2.0;
            let spread = Z95 * (2.0 * bar * (1.0 - bar)).sqrt() + Z80 * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
            (spread * spread / ((p2 - p1) * (p2 - p1))).ceil()
        };
        let attempts = fleiss(p1 * 1.05).max(fleiss(p1 * 0.95));
        assert_eq!(e.sample.attempts_required, Some(attempts as u64));
        let (_, v) = c.clustered_variance(|u| u.converted as f64);
        let deff = (v / (p1 * (1.0 - p1) / c.eligible as f64)).max(1.0);
        let per_user = c.eligible as f64 / c.eligible_users().len() as f64;
        let required = (attempts * deff / per_user).ceil();
        assert_eq!(users.target, required);
        assert_eq!(
            users.status,
            if smaller >= required {
                Status::Pass
            } else {
                Status::Fail
            }
        );
        assert_eq!(users.status, Status::Pass, "the default run is large enough: {users:?}");

        // No check gates on the labels.
        assert!(report.checks.iter().filter(|k| k.name.starts_with("ab_test.")).count() == 2);
        // `trafficsim check` prints them as the JSON has them.
        for k in [&revenue, &users] {
            let line = run
                .stdout
                .lines()
                .find(|line| line.split_whitespace().next() == Some(k.name.as_str()))
                .unwrap_or_else(|| panic!("no {} line in\n{}", k.name, run.stdout));
            assert!(line.contains(&format!(" {} ", k.status.as_str())), "{line}");
        }
    }
}

#[test]
fn a_dataset_without_an_experiment_has_no_ab_checks() {
    let dir = tempfile::tempdir().unwrap();
    ticketing_support::generate(
        dir.path(),
        &["--scenario", "black_friday", "--rows", "20000", "--format", "parquet"],
    );
    let data = dir.path().join("data");
    let reports = dir.path().join("reports");
    analyze(&data, &reports, &["--only", "ab_test"]).success();
    let text = std::fs::read_to_string(reports.join("results/ab_test.json")).unwrap();
    let r: AbTestResult = serde_json::from_str(&text).unwrap();
    assert!(r.experiments.is_empty());
    assert_eq!(r.unlabelled_attempts, 0);
    let checks: CheckReport =
        serde_json::from_str(&std::fs::read_to_string(reports.join("results/checks.json")).unwrap()).unwrap();
    assert!(
        checks.checks.iter().all(|c| !c.name.starts_with("ab_test.")),
        "{:?}",
        checks.checks
    );
    let page = std::fs::read_to_string(reports.join("ab_test.html")).unwrap();
    assert!(page.contains("no ab_test experiment"), "the page says why it is empty");
}
