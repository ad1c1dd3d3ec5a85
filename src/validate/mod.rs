//! The validate stage: checks a dataset against the invariants of its workload, streaming it
//! batch by batch, and reports every check with example rows of what violates it.
//!
//! The framework is shared: [`Check`] and [`Report`] here, reading in [`read`]; each workload's
//! invariants live in their own file (`calls`, `ticketing`).

pub mod calls;
pub(crate) mod coded;
pub mod read;
pub mod ticketing;
mod unique;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

/// A compact, exact key for an id: `prefix` + 1 to 16 hex digits (trafficsim's own ids) is its
/// value tagged with its digit count, so no two such ids share a key; any other id is a 64-bit
/// hash in a space of its own.
pub(crate) fn id_key(id: &str, prefix: &str) -> u128 {
    use std::hash::{Hash, Hasher};
    if let Some(hex) = id.strip_prefix(prefix)
        && (1..=16).contains(&hex.len())
        && let Some(v) = hex_value(hex.as_bytes())
    {
        return (hex.len() as u128) << 64 | u128::from(v);
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    HASHED_ID | u128::from(h.finish())
}

/// The value of at most 16 hex digits (either case); `None` at any other byte. Hand-rolled
/// because `from_str_radix` also takes a sign, and this runs once per id per row.
fn hex_value(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |v, &b| {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        Some(v << 4 | u64::from(d))
    })
}

/// The key space of hashed ids (above every digit count of an exact key).
const HASHED_ID: u128 = 0xff << 64;

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

#[cfg(test)]
mod tests {
    use super::id_key;

    #[test]
    fn id_keys_are_exact_for_hex_ids_of_any_length_and_apart_from_hashed_ones() {
        assert_eq!(id_key("usr_00000000002a", "usr_"), 12u128 << 64 | 0x2a);
        assert_ne!(id_key("usr_2a", "usr_"), id_key("usr_002a", "usr_"), "lengths differ");
        assert_ne!(id_key("usr_abc", "usr_"), id_key("usr_3000000000000abc", "usr_"));
        assert_eq!(
            id_key("txn_ffffffffffffffff", "txn_"),
            16u128 << 64 | u128::from(u64::MAX)
        );
        assert!(id_key("user-7", "usr_") >= 0xff << 64, "not ours: hashed");
        assert!(id_key("usr_+1", "usr_") >= 0xff << 64, "a sign is not a hex digit");
        assert_eq!(id_key("user-7", "usr_"), id_key("user-7", "usr_"));
        assert_eq!(id_key("usr_00000000002A", "usr_"), id_key("usr_00000000002a", "usr_"));
    }
}
