//! The A/B pricing test (document 004's "pricing revenue uplift", which its original never
//! measured): per labelled experiment, conversion and revenue per user in each arm, the uplift
//! with its interval and a significance test, whether the sample was large enough, and how the
//! measured uplift compares with the label's true one.
//!
//! Users are randomized, not attempts, so the conversion's interval is the delta method over
//! users ([`crate::analyze::stats::ratio`]); the two-proportion z-test over attempts is shown
//! beside it. [`measure`] holds the query (one group-by per user), [`page`] the page.

pub mod measure;
mod page;

use anyhow::Result;
use chrono::{DateTime, Utc};
use maud::Markup;
use serde::{Deserialize, Serialize};

use super::super::checks::{Check, CheckUnit, Op};
use super::super::stats::{
    ProportionTest, RatioTest, WelchTest, ratio_test, sample_size_two_means, sample_size_two_proportions,
    two_proportion_test, welch_test,
};
use super::super::{Analyzer, Context};
use super::labels::{self, Label};
use crate::config::{ConfigError, SettingsCheck, TicketingConfig};
use crate::report::html::Figure;
use measure::{Arm, ArmSums};

pub struct AbTest;

/// `[ticketing.ab_test]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbTestSettings {
    /// Confidence of every interval; the tests' level is α = 1 − confidence.
    pub confidence: f64,
    /// Power the sample size is judged at.
    pub power: f64,
    /// The smallest relative change of conversion the test should detect (either way).
    pub min_detectable_effect: f64,
    /// `ab_test.<experiment>.revenue_uplift` target (document 004: pricing uplift 0.08).
    pub min_revenue_uplift: f64,
}

/// The A/B page's result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AbTestResult {
    pub confidence: f64,
    /// Each labelled experiment, in start order.
    pub experiments: Vec<Experiment>,
    /// Attempts with a variant outside every labelled experiment, and their users (once per
    /// variant): measured by no experiment.
    pub unlabelled_attempts: u64,
    pub unlabelled_users: u64,
    /// Attempts inside an experiment whose variant is neither control nor treatment.
    pub other_variant_attempts: u64,
}

/// One experiment, measured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Experiment {
    /// The label's subject, e.g. `price_plus_10`.
    pub name: String,
    /// `ab_test.<name>`: the stem of its checks.
    pub check_stem: String,
    pub scenario: String,
    pub cohort: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub window: String,
    pub detail: String,
    pub truth: Truth,
    pub control: Arm,
    pub treatment: Arm,
    /// Conversion, attempts taken as independent: the two-proportion z-test.
    pub conversion_z_test: ProportionTest,
    /// Conversion, users as the unit: the delta method over users.
    pub conversion: RatioTest,
    /// Revenue per eligible attempt, users as the unit (the label's revenue figure).
    pub revenue_per_attempt: RatioTest,
    /// Revenue per user: Welch's t-test over users.
    pub revenue_per_user: WelchTest,
    pub sample: SampleSize,
    pub coverage: Coverage,
}

/// The label's true effects.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Truth {
    /// The label's magnitude: the true relative uplift of conversion.
    pub conversion_uplift: f64,
    /// From the label's detail, when it states them.
    pub control_conversion: Option<f64>,
    pub treatment_conversion: Option<f64>,
    pub revenue_per_attempt_uplift: Option<f64>,
}

/// Whether the sample could detect the effects that matter.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SampleSize {
    pub alpha: f64,
    pub power: f64,
    pub min_detectable_effect: f64,
    /// Independent attempts per arm to detect a relative change of `min_detectable_effect` in
    /// the control's conversion, either way (the larger of the two).
    pub attempts_required: Option<u64>,
    /// The same in users: × the control's design effect (at least 1) ÷ its eligible attempts
    /// per user.
    pub users_required: Option<u64>,
    /// Users in the smaller arm.
    pub users_per_arm: u64,
    /// Users per arm to detect a revenue-per-user uplift of `min_revenue_uplift` (Welch, normal
    /// approximation, the arms' standard deviations).
    pub revenue_uplift: f64,
    pub revenue_users_required: Option<u64>,
}

/// Whether each measured interval covers the label's true uplift (`None`: nothing to compare).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Coverage {
    /// The conversion's interval (users as the unit) covers the label's magnitude.
    pub conversion: Option<bool>,
    /// The z-test's interval (attempts as the unit) covers it.
    pub conversion_z_test: Option<bool>,
    /// The revenue-per-attempt interval covers the label's revenue-per-attempt uplift.
    pub revenue_per_attempt: Option<bool>,
}

impl Analyzer<TicketingConfig> for AbTest {
    const NAME: &'static str = "ab_test";
    const TITLE: &'static str = "A/B test";
    const SUMMARY: &'static str = "Each labelled experiment: conversion and revenue per user per arm, the uplift with its interval and test, the sample size, and the label's true uplift.";
    type Settings = AbTestSettings;
    type Output = AbTestResult;

    fn check(s: &AbTestSettings, c: SettingsCheck<'_>, _: &TicketingConfig) -> Result<(), ConfigError> {
        c.range("confidence", s.confidence, 0.5, 0.9999)?;
        c.range("power", s.power, 0.5, 0.9999)?;
        c.range("min_detectable_effect", s.min_detectable_effect, 0.001, 0.99)?;
        c.range("min_revenue_uplift", s.min_revenue_uplift, -0.99, 10.0)
    }

    fn analyze(ctx: &Context<'_, TicketingConfig>, s: &AbTestSettings) -> Result<AbTestResult> {
        let labels = labels::read(ctx)?;
        let labelled: Vec<&Label> = labels::of_kind(&labels, "ab_test").collect();
        let windows: Vec<(i64, i64)> = labelled
            .iter()
            .map(|l| (l.start.timestamp_micros(), l.end.timestamp_micros()))
            .collect();
        let measured = measure::measure(ctx, &windows)?;
        let stems = check_stems(&labelled);
        let experiments = labelled
            .iter()
            .zip(&measured.arms)
            .zip(stems)
            .map(|((l, [control, treatment]), stem)| experiment(l, stem, control, treatment, s))
            .collect();
        Ok(AbTestResult {
            confidence: s.confidence,
            experiments,
            unlabelled_attempts: measured.unlabelled_attempts,
            unlabelled_users: measured.unlabelled_users,
            other_variant_attempts: measured.other_variant_attempts,
        })
    }

    fn headline(r: &AbTestResult) -> Vec<Figure> {
        let Some(e) = r.experiments.first() else {
            return vec![Figure::count("Experiments", 0)];
        };
        let mut out = vec![
            Figure::count("Users per arm (smaller)", e.sample.users_per_arm),
            Figure::percent("Conversion, control", e.control.conversion),
            Figure::percent("Conversion, treatment", e.treatment.conversion),
        ];
        if let Some(u) = e.conversion.relative_uplift {
            out.push(Figure::percent(format!("Conversion uplift ({})", e.name), u));
        }
        out.push(Figure::percent(
            "True conversion uplift (label)",
            e.truth.conversion_uplift,
        ));
        if let Some(u) = e.revenue_per_user.relative_uplift {
            out.push(Figure::percent("Revenue per user uplift", u));
        }
        if r.experiments.len() > 1 {
            out.push(Figure::count("Experiments", r.experiments.len() as u64));
        }
        out
    }

    fn render(r: &AbTestResult, s: &AbTestSettings) -> Result<Markup> {
        page::render(r, s)
    }

    fn checks(r: &AbTestResult, s: &AbTestSettings) -> Vec<Check> {
        r.experiments.iter().flat_map(|e| checks(e, s)).collect()
    }
}

/// `ab_test.<subject>` in snake_case; an experiment labelled twice gets its start in its name, so
/// check names stay unique.
fn check_stems(labelled: &[&Label]) -> Vec<String> {
    let snake = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect()
    };
    labelled
        .iter()
        .map(|l| {
            let name = snake(&l.subject);
            if labelled.iter().filter(|o| snake(&o.subject) == name).count() > 1 {
                format!("ab_test.{name}.{}", l.start.format("%Y-%m-%dT%H:%M"))
            } else {
                format!("ab_test.{name}")
            }
        })
        .collect()
}

/// The number written right after `key` in `detail` (`+0.0285`, `0.8642,`), if any.
fn number_after(detail: &str, key: &str) -> Option<f64> {
    let rest = &detail[detail.find(key)? + key.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e')))
        .unwrap_or(rest.len());
    rest[..end]
        .trim_start_matches('+')
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
}

/// The label's truth: its magnitude, and what its detail states (the generator writes "control
/// 0.8642, treatment 0.8014" and "true revenue-per-attempt uplift +0.0285").
fn truth(l: &Label) -> Truth {
    Truth {
        conversion_uplift: l.magnitude,
        control_conversion: number_after(&l.detail, "(control "),
        treatment_conversion: number_after(&l.detail, ", treatment "),
        revenue_per_attempt_uplift: number_after(&l.detail, "revenue-per-attempt uplift "),
    }
}

fn experiment(l: &Label, check_stem: String, c: &ArmSums, t: &ArmSums, s: &AbTestSettings) -> Experiment {
    let confidence = s.confidence;
    // 1 − 0.95 is 0.050000000000000044 in binary; the settings have at most a few decimals.
    let alpha = ((1.0 - confidence) * 1e9).round() / 1e9;
    let control = Arm::new("control", c, confidence);
    let treatment = Arm::new("treatment", t, confidence);
    let conversion_z_test = two_proportion_test(c.converted, c.eligible, t.converted, t.eligible, confidence);
    let conversion = ratio_test(&c.conversion_sums(), &t.conversion_sums(), confidence);
    let revenue_per_attempt = ratio_test(&c.revenue_sums(), &t.revenue_sums(), confidence);
    let revenue_per_user = welch_test(&c.revenue_moments(), &t.revenue_moments(), confidence);

    let mde = s.min_detectable_effect;
    let attempts_required = [mde, -mde]
        .into_iter()
        .filter_map(|m| sample_size_two_proportions(control.conversion, m, alpha, s.power))
        .max();
    // Attempts of one user go together: each counts for 1/deff of an independent one.
    let design_effect = control.design_effect.unwrap_or(1.0).max(1.0);
    let users_required = attempts_required
        .filter(|_| control.attempts_per_user > 0.0)
        .map(|n| (n as f64 * design_effect / control.attempts_per_user).ceil() as u64);
    let revenue_users_required = sample_size_two_means(
        control.revenue_per_user_sd,
        treatment.revenue_per_user_sd,
        s.min_revenue_uplift * control.revenue_per_user,
        alpha,
        s.power,
    );

    let truth = truth(l);
    let covers = |i: Option<crate::analyze::stats::Interval>, x: Option<f64>| i.zip(x).map(|(i, x)| i.contains(x));
    let coverage = Coverage {
        conversion: covers(conversion.relative_interval, Some(truth.conversion_uplift)),
        conversion_z_test: covers(conversion_z_test.relative_interval, Some(truth.conversion_uplift)),
        revenue_per_attempt: covers(revenue_per_attempt.relative_interval, truth.revenue_per_attempt_uplift),
    };
    Experiment {
        name: l.subject.clone(),
        check_stem,
        scenario: l.scenario.clone(),
        cohort: l.cohort.clone(),
        start: l.start,
        end: l.end,
        window: l.window_name(),
        detail: l.detail.clone(),
        truth,
        sample: SampleSize {
            alpha,
            power: s.power,
            min_detectable_effect: mde,
            attempts_required,
            users_required,
            users_per_arm: control.users.min(treatment.users),
            revenue_uplift: s.min_revenue_uplift,
            revenue_users_required,
        },
        control,
        treatment,
        conversion_z_test,
        conversion,
        revenue_per_attempt,
        revenue_per_user,
        coverage,
    }
}

/// An experiment's checks: the business target on revenue per user, and the sample size.
fn checks(e: &Experiment, s: &AbTestSettings) -> Vec<Check> {
    let pct = |v: f64| format!("{:+.2}%", v * 100.0);
    let rpu = &e.revenue_per_user;
    let revenue_note = match (rpu.relative_uplift, rpu.relative_interval) {
        (Some(u), Some(i)) => format!(
            "{}: revenue per user {:.2} (treatment) vs {:.2} (control), uplift {} ({:.0}% interval {} to {}, Welch p = {:.4})",
            e.window,
            e.treatment.revenue_per_user,
            e.control.revenue_per_user,
            pct(u),
            (1.0 - e.sample.alpha) * 100.0,
            pct(i.lo),
            pct(i.hi),
            rpu.p_value
        ),
        _ => format!("{}: no revenue in the control arm to compare with", e.window),
    };
    let sample = &e.sample;
    let sample_note = match sample.users_required {
        Some(n) => format!(
            "users in the smaller arm vs users needed to detect a {} relative change of conversion (control {:.4}) at α {:.2}, power {:.2}: {} independent attempts × design effect {:.2} ÷ {:.2} attempts per user = {n}",
            pct(sample.min_detectable_effect).trim_start_matches('+'),
            e.control.conversion,
            sample.alpha,
            sample.power,
            sample.attempts_required.unwrap_or(0),
            e.control.design_effect.unwrap_or(1.0).max(1.0),
            e.control.attempts_per_user,
        ),
        None => "no sample size: the control's conversion is 0 or 1, or it has no eligible attempts".into(),
    };
    vec![
        Check::new(
            format!("{}.revenue_uplift", e.check_stem),
            "relative uplift of revenue per user, treatment over control (document 004's pricing revenue uplift)",
            rpu.relative_uplift,
            Op::AtLeast,
            s.min_revenue_uplift,
        )
        .unit(CheckUnit::Share)
        .note(revenue_note),
        Check::new(
            format!("{}.users_per_arm", e.check_stem),
            "users in the smaller arm, against those needed for the minimum detectable effect",
            sample.users_required.map(|_| sample.users_per_arm as f64),
            Op::AtLeast,
            sample.users_required.unwrap_or(0) as f64,
        )
        .unit(CheckUnit::Number)
        .note(sample_note),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generators_detail_is_read() {
        let d = "treatment: prices ×1.1 for 0.5 of users; true conversion uplift -0.0727 (control 0.8642, treatment 0.8014, of legitimate attempts not abandoned); true revenue-per-attempt uplift +0.0285";
        assert_eq!(number_after(d, "(control "), Some(0.8642));
        assert_eq!(number_after(d, ", treatment "), Some(0.8014));
        assert_eq!(number_after(d, "revenue-per-attempt uplift "), Some(0.0285));
        assert_eq!(number_after(d, "missing "), None);
        assert_eq!(number_after("uplift x", "uplift "), None);
    }
}
