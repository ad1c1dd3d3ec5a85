//! The validate stage: checks a dataset against the invariants of its workload, streaming it
//! batch by batch, and reports every check with example rows of what violates it.
//!
//! The framework is shared: [`Check`] and [`Report`] here, reading in [`read`]; each workload's
//! invariants live in their own file (`calls`, `ticketing`).

pub mod calls;
pub mod read;
pub mod ticketing;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

/// A compact key for an id: the 64-bit value of trafficsim's own (`prefix` + 16 hex digits), a
/// hash of others.
pub(crate) fn id_key(id: &str, prefix: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    if let Some(hex) = id.strip_prefix(prefix)
        && hex.len() == 16
        && let Ok(v) = u64::from_str_radix(hex, 16)
    {
        return v;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

/// Most example rows a check reports.
const EXAMPLES: usize = 5;

/// One invariant and what was found against it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Check {
    pub name: &'static str,
    pub description: &'static str,
    pub violations: u64,
    pub examples: Vec<String>,
    /// Why the check could not run (e.g. a column it needs is missing).
    pub skipped: Option<String>,
}

impl Check {
    pub fn new(name: &'static str, description: &'static str) -> Check {
        Check {
            name,
            description,
            violations: 0,
            examples: Vec::new(),
            skipped: None,
        }
    }

    /// Counts a violation, keeping its description among the first few examples.
    pub fn fail(&mut self, example: impl FnOnce() -> String) {
        self.violations += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push(example());
        }
    }
}

/// The result of validating a dataset.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub rows: u64,
    pub columns: Vec<String>,
    /// What else was counted (calls: customers; ticketing: events, users).
    #[serde(flatten)]
    pub counts: BTreeMap<&'static str, usize>,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.violations == 0)
    }

    /// The number of checks with violations.
    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| c.violations > 0).count()
    }

    /// A readable report: one line per check, with examples of violations.
    pub fn render(&self, path: &Path) -> String {
        let mut s = format!("{}: {} rows, {} columns", path.display(), self.rows, self.columns.len());
        for (what, n) in &self.counts {
            s.push_str(&format!(", {n} {what}"));
        }
        s.push('\n');
        for c in &self.checks {
            let status = match (&c.skipped, c.violations) {
                (Some(why), _) => format!("skipped ({why})"),
                (None, 0) => "ok".to_string(),
                (None, n) => format!("FAILED: {n} violation(s)"),
            };
            s.push_str(&format!("  {:<22} {:<60} {status}\n", c.name, c.description));
            for e in &c.examples {
                s.push_str(&format!("      {e}\n"));
            }
        }
        match self.failed() {
            0 => s.push_str("all checks passed\n"),
            n => s.push_str(&format!("{n} check(s) failed\n")),
        }
        s
    }
}
