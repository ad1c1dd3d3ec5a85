//! Multiplies the rate on listed days: the building block for one-off events such as the
//! documents' "holiday spike" example, declared in TOML without new code.

use serde::{Deserialize, Serialize};

use super::{Active, CohortInfo, DayInfo, DayState, Effect, Env, Label, utc_day_start_ms};
use crate::sim::calls::population::Customer;
use crate::sim::params::{self, Checked};
use crate::sim::rng::SimRng;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DayMultiplier {
    /// Days of the window (0-based, local to each customer).
    pub days: Vec<i64>,
    pub multiplier: f64,
    /// The `kind` written to the labels.
    pub label: String,
}

impl Default for DayMultiplier {
    fn default() -> Self {
        DayMultiplier {
            days: vec![5, 25],
            multiplier: 3.0,
            label: "holiday_spike".into(),
        }
    }
}

impl Effect for DayMultiplier {
    fn check(&self, env: &Env) -> Checked {
        if self.days.is_empty() {
            return Err(params::fail("days", "list at least one day"));
        }
        for (i, &d) in self.days.iter().enumerate() {
            params::day(&format!("days[{i}]"), d, env.days)?;
        }
        params::number("multiplier", self.multiplier, 0.0, 1000.0)?;
        if self.label.is_empty() || !self.label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(params::fail(
                "label",
                format!("\"{}\" is not allowed: use letters, digits and `_`", self.label),
            ));
        }
        Ok(())
    }

    fn compile(&self, _env: &Env, cohort: &CohortInfo, _r: &mut SimRng) -> Box<dyn Active> {
        Box::new(DayMultiplierActive {
            p: self.clone(),
            cohort: cohort.clone(),
        })
    }
}

#[derive(Debug)]
struct DayMultiplierActive {
    p: DayMultiplier,
    cohort: CohortInfo,
}

impl Active for DayMultiplierActive {
    fn day(&self, _c: &Customer, d: &DayInfo, _seed: u64, state: &mut DayState) {
        if self.p.days.contains(&i64::from(d.day)) {
            state.factor *= self.p.multiplier;
        }
    }

    fn labels(&self, _customers: &[Customer], env: &Env, _seed: u64, out: &mut Vec<Label>) {
        for &d in &self.p.days {
            out.push(Label {
                scenario: self.cohort.scenario.clone(),
                cohort: self.cohort.name.clone(),
                kind: self.p.label.clone(),
                subject_type: "cohort",
                subject: self.cohort.name.clone(),
                start_ms: utc_day_start_ms(env.start_date, d),
                end_ms: utc_day_start_ms(env.start_date, d + 1),
                magnitude: self.p.multiplier,
                detail: format!("local day {d}: rate ×{}", self.p.multiplier),
            });
        }
    }
}
