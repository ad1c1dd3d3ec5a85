//! Named one-sided checks: an analyzer's figure against a target from the settings, e.g.
//! `service.p99_latency_ms 143 <= 200 PASS`. Document 004's checks were two-sided (±10%), so
//! doing better than the target failed; here a figure passes when it is on the right side.
//!
//! Analyzers return their checks ([`super::Analyzer::checks`]); the run then applies the skips
//! of the settings' `[<workload>.checks]` table ([`CheckSettings`]): a check is skipped only
//! there, with a reason, never silently. The gathered checks become `results/checks.json`, the
//! Checks page and the table `trafficsim check` prints.

use std::fmt::Write as _;

use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, SettingsCheck};
use crate::report::html::{self as h, Cell, Figure};

/// Which side of the target passes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum Op {
    /// The figure must be at most the target (latency, error rate).
    #[serde(rename = "<=")]
    AtMost,
    /// The figure must be at least the target (recall, availability).
    #[serde(rename = ">=")]
    AtLeast,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::AtMost => "<=",
            Op::AtLeast => ">=",
        }
    }
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Fail,
    Pass,
    Skip,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// How a check's figure and target are shown.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CheckUnit {
    /// Milliseconds.
    Ms,
    /// A share from 0 to 1, shown with four decimals (0.9990).
    Share,
    /// Requests per second.
    Rps,
    /// A plain number.
    Number,
}

/// One named check with its figure, its target and its outcome.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Check {
    /// `<analyzer or scenario>.<figure>`, e.g. `fraud.recall`, `flash_sale.p99_latency_ms`.
    pub name: String,
    /// What is measured, in a few words.
    pub description: String,
    /// `None` when the data holds nothing to measure it on: the check then fails (a target that
    /// cannot be shown to hold does not hold).
    pub figure: Option<f64>,
    pub op: Op,
    pub target: f64,
    pub unit: CheckUnit,
    pub status: Status,
    /// Why it was skipped, or why it has no figure.
    pub note: Option<String>,
}

impl Check {
    /// A check that passes when `figure <= target`.
    pub fn at_most(name: impl Into<String>, description: impl Into<String>, figure: f64, target: f64) -> Check {
        Check::new(name, description, Some(figure), Op::AtMost, target)
    }

    /// A check that passes when `figure >= target`.
    pub fn at_least(name: impl Into<String>, description: impl Into<String>, figure: f64, target: f64) -> Check {
        Check::new(name, description, Some(figure), Op::AtLeast, target)
    }

    /// A check with an optional figure (`None` fails, with `note` saying why).
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        figure: Option<f64>,
        op: Op,
        target: f64,
    ) -> Check {
        let figure = figure.filter(|f| f.is_finite());
        let pass = figure.is_some_and(|f| match op {
            Op::AtMost => f <= target,
            Op::AtLeast => f >= target,
        });
        Check {
            name: name.into(),
            description: description.into(),
            note: figure
                .is_none()
                .then(|| "nothing to measure it on in this data".to_string()),
            figure,
            op,
            target,
            unit: CheckUnit::Number,
            status: if pass { Status::Pass } else { Status::Fail },
        }
    }

    /// The same check with its figure shown in `unit`.
    pub fn unit(mut self, unit: CheckUnit) -> Check {
        self.unit = unit;
        self
    }

    /// The same check with a note (why it has no figure, what it covers).
    pub fn note(mut self, note: impl Into<String>) -> Check {
        self.note = Some(note.into());
        self
    }

    /// The figure as shown: `-` when there is none.
    pub fn figure_text(&self) -> String {
        self.figure.map_or_else(|| "-".to_string(), |f| show(f, self.unit))
    }

    pub fn target_text(&self) -> String {
        show(self.target, self.unit)
    }
}

fn show(v: f64, unit: CheckUnit) -> String {
    match unit {
        CheckUnit::Ms => format!("{} ms", h::number(v, 0)),
        CheckUnit::Share => format!("{v:.4}"),
        CheckUnit::Rps => format!("{}/s", h::number(v, 0)),
        CheckUnit::Number if v.fract() == 0.0 && v.abs() < 1e15 => h::number(v, 0),
        CheckUnit::Number => format!("{v:.4}"),
    }
}

/// The `[<workload>.checks]` table: the only way to skip a check.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CheckSettings {
    /// Checks not to gate on, each with the reason, shown beside it.
    #[serde(default)]
    pub skip: Vec<Skip>,
}

/// One skipped check (or every check under a prefix: `fraud_attack.*`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Skip {
    pub check: String,
    pub reason: String,
}

impl Skip {
    fn matches(&self, name: &str) -> bool {
        match self.check.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == self.check,
        }
    }
}

impl CheckSettings {
    /// Names and reasons must be given (a skip without a reason would be a silent one).
    pub fn check(&self, c: SettingsCheck<'_>) -> Result<(), ConfigError> {
        for (i, s) in self.skip.iter().enumerate() {
            let valid_name = !s.check.is_empty()
                && s.check
                    .trim_end_matches('*')
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '.' | '-' | ':'));
            if !valid_name {
                return Err(c.invalid(
                    &format!("skip[{i}].check"),
                    format!(
                        "`{}` is not a check name: give one as `trafficsim check` prints it (e.g. `fraud.recall`), or a prefix ending in `*` (e.g. `fraud_attack.*`)",
                        s.check
                    ),
                ));
            }
            if s.reason.trim().is_empty() {
                return Err(c.invalid(
                    &format!("skip[{i}].reason"),
                    "must say why the check is skipped: the Checks page shows it",
                ));
            }
        }
        Ok(())
    }
}

/// Every check of a run, with the skips applied.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckReport {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub checks: Vec<Check>,
    /// Skip entries that matched no check of this data (a typo, or a scenario it lacks).
    pub unused_skips: Vec<Skip>,
}

impl CheckReport {
    /// Applies `settings`' skips to `checks` (kept in the analyzers' order).
    pub fn new(mut checks: Vec<Check>, settings: &CheckSettings) -> CheckReport {
        let mut used = vec![false; settings.skip.len()];
        for c in &mut checks {
            if let Some((i, s)) = settings.skip.iter().enumerate().find(|(_, s)| s.matches(&c.name)) {
                used[i] = true;
                c.status = Status::Skip;
                c.note = Some(format!("skipped in the settings: {}", s.reason));
            }
        }
        let count = |st: Status| checks.iter().filter(|c| c.status == st).count();
        CheckReport {
            passed: count(Status::Pass),
            failed: count(Status::Fail),
            skipped: count(Status::Skip),
            unused_skips: settings
                .skip
                .iter()
                .zip(used)
                .filter(|(_, u)| !u)
                .map(|(s, _)| s.clone())
                .collect(),
            checks,
        }
    }

    pub fn all_passed(&self) -> bool {
        self.failed == 0
    }

    /// The plain-text table `trafficsim check` prints: one line per check, then the tally.
    pub fn render_text(&self) -> String {
        let rows: Vec<[String; 5]> = self
            .checks
            .iter()
            .map(|c| {
                [
                    c.name.clone(),
                    c.figure_text(),
                    c.op.as_str().to_string(),
                    c.target_text(),
                    c.status.as_str().to_string(),
                ]
            })
            .collect();
        let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
        let (w0, w1, w3) = (width(0), width(1), width(3));
        let mut out = String::new();
        for (r, c) in rows.iter().zip(&self.checks) {
            let _ = write!(out, "{:<w0$}  {:>w1$} {} {:<w3$}  {}", r[0], r[1], r[2], r[3], r[4]);
            if let Some(n) = &c.note {
                let _ = write!(out, "  ({n})");
            }
            out.push('\n');
        }
        for s in &self.unused_skips {
            let _ = writeln!(out, "note: the skip `{}` matches no check of this data", s.check);
        }
        let _ = writeln!(
            out,
            "{} checks: {} passed, {} failed, {} skipped",
            self.checks.len(),
            self.passed,
            self.failed,
            self.skipped
        );
        out
    }

    /// The headline figures of the Checks page.
    pub fn headline(&self) -> Vec<Figure> {
        vec![
            Figure::count("Checks", self.checks.len() as u64),
            Figure::count("Passed", self.passed as u64),
            Figure::count("Failed", self.failed as u64),
            Figure::count("Skipped", self.skipped as u64),
        ]
    }

    /// The Checks page body.
    pub fn render(&self) -> Markup {
        html! {
            (h::cards(&self.headline()))
            (h::section(
                "Checks",
                Some("Each success criterion of document 004 and each scenario's expectation as a one-sided check: a figure better than its target passes. `trafficsim check` prints this table and exits 1 when a check fails; a check is skipped only in the settings' checks table, with its reason."),
                table(&self.checks),
            ))
            @if !self.unused_skips.is_empty() {
                (h::section("Unused skips", Some("Skip entries of the settings that match no check of this data."), h::table(
                    &["Skip", "Reason"],
                    &self.unused_skips.iter().map(|s| vec![Cell::text(&s.check), Cell::text(&s.reason)]).collect::<Vec<_>>(),
                )))
            }
        }
    }
}

/// A table of checks, for the Checks page and each analyzer's own page.
pub fn table(checks: &[Check]) -> Markup {
    html! {
        div.table-wrap {
            table {
                thead { tr { th { "Check" } th { "Figure" } th { "" } th { "Target" } th { "Status" } th { "What" } } }
                tbody {
                    @for c in checks {
                        tr {
                            td { code { (c.name) } }
                            td.num { (c.figure_text()) }
                            td { (c.op.as_str()) }
                            td.num { (c.target_text()) }
                            td { span class={ "status status-" (c.status.as_str().to_lowercase()) } { (c.status.as_str()) } }
                            td.text {
                                (c.description)
                                @if let Some(n) = &c.note { br; span.note { (n) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_are_one_sided() {
        // Better than the target passes: document 004's ±10% failed these.
        assert_eq!(Check::at_most("a.p99", "", 79.0, 200.0).status, Status::Pass);
        assert_eq!(Check::at_most("a.err", "", 0.0, 0.01).status, Status::Pass);
        assert_eq!(Check::at_least("a.precision", "", 1.0, 0.85).status, Status::Pass);
        assert_eq!(Check::at_most("a.p99", "", 200.0, 200.0).status, Status::Pass);
        assert_eq!(Check::at_most("a.p99", "", 201.0, 200.0).status, Status::Fail);
        assert_eq!(Check::at_least("a.recall", "", 0.91, 0.95).status, Status::Fail);
        // Nothing measured fails, and says so.
        let c = Check::new("a.b", "", None, Op::AtLeast, 0.5);
        assert_eq!(c.status, Status::Fail);
        assert!(c.note.is_some());
        assert_eq!(Check::at_most("x", "", f64::NAN, 1.0).status, Status::Fail);
    }

    #[test]
    fn skips_apply_by_name_or_prefix_and_unused_ones_are_reported() {
        let checks = vec![
            Check::at_least("fraud.recall", "", 0.5, 0.95),
            Check::at_most("fraud_attack.card_testing.p99", "", 500.0, 200.0),
            Check::at_most("service.p99_latency_ms", "", 500.0, 200.0),
        ];
        let settings = CheckSettings {
            skip: vec![
                Skip {
                    check: "fraud.recall".into(),
                    reason: "baseline rules".into(),
                },
                Skip {
                    check: "fraud_attack.*".into(),
                    reason: "attack drill".into(),
                },
                Skip {
                    check: "nope".into(),
                    reason: "typo".into(),
                },
            ],
        };
        let r = CheckReport::new(checks, &settings);
        assert_eq!((r.passed, r.failed, r.skipped), (0, 1, 2));
        assert!(!r.all_passed());
        assert_eq!(r.unused_skips.len(), 1);
        assert_eq!(
            r.checks[0].note.as_deref(),
            Some("skipped in the settings: baseline rules")
        );
        let text = r.render_text();
        assert!(text.contains("service.p99_latency_ms"), "{text}");
        assert!(
            text.lines()
                .any(|l| l.starts_with("service.p99_latency_ms") && l.contains("500 <= 200") && l.ends_with("FAIL")),
            "{text}"
        );
        assert!(text.contains("3 checks: 0 passed, 1 failed, 2 skipped"), "{text}");
        assert!(text.contains("`nope` matches no check"), "{text}");
    }
}
