//! An A/B pricing test (document 004's "pricing revenue uplift", which its original never
//! measured): users are split deterministically into control and treatment; the treatment's
//! prices are multiplied by a factor, which changes conversion through price sensitivity. The
//! label carries the true effect, computed from the model, for an analysis to recover.

use serde::{Deserialize, Serialize};

use super::{Active, CohortInfo, Effect, Env, LabelNames};
use crate::sim::label::Label;
use crate::sim::params::{self, Checked};
use crate::sim::rng::fmix64;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AbTest {
    /// The test's name, in the labels.
    pub name: String,
    /// First day of the test and the day after its last (0 = the start date).
    pub start_day: i64,
    pub end_day: i64,
    /// Share of users in the treatment.
    pub treatment_share: f64,
    /// The treatment's price multiplier.
    pub treatment_multiplier: f64,
}

impl Default for AbTest {
    fn default() -> Self {
        AbTest {
            name: "price_plus_10".into(),
            start_day: 7,
            end_day: 21,
            treatment_share: 0.5,
            treatment_multiplier: 1.10,
        }
    }
}

impl Effect for AbTest {
    fn check(&self, env: &Env) -> Checked {
        if self.name.is_empty() {
            return Err(params::fail("name", "give the test a name"));
        }
        params::day("start_day", self.start_day, env.days)?;
        params::day("end_day", self.end_day, env.days)?;
        if self.end_day <= self.start_day {
            return Err(params::fail(
                "end_day",
                format!("{} is not allowed: after start_day ({})", self.end_day, self.start_day),
            ));
        }
        params::number("treatment_share", self.treatment_share, 0.01, 0.99)?;
        params::number("treatment_multiplier", self.treatment_multiplier, 0.1, 10.0)
    }

    fn compile(&self, env: &Env, cohort: &CohortInfo) -> Box<dyn Active> {
        Box::new(AbActive {
            p: self.clone(),
            start_ms: env.local_ms(self.start_day, (0, 0)),
            end_ms: env.local_ms(self.end_day, (0, 0)),
            salt: fmix64(env.seed ^ 0xab7e_57ab_7e57 ^ u64::from(cohort.index)),
        })
    }
}

#[derive(Debug)]
struct AbActive {
    p: AbTest,
    start_ms: i64,
    end_ms: i64,
    salt: u64,
}

impl Active for AbActive {
    fn variant(&self, user_key: u64, t: i64) -> Option<(f64, bool)> {
        if !(self.start_ms..self.end_ms).contains(&t) {
            return None;
        }
        // A user's variant is a hash of the user: the same all test long.
        let u = (fmix64(user_key ^ self.salt) >> 11) as f64 / (1u64 << 53) as f64;
        let treatment = u < self.p.treatment_share;
        Some((if treatment { self.p.treatment_multiplier } else { 1.0 }, treatment))
    }

    fn labels(&self, names: &LabelNames, out: &mut Vec<Label>) {
        let days = self.p.start_day.max(0) as usize..self.p.end_day.max(0) as usize;
        let (conv_a, rev_a) = names.uplift.expected(days.clone(), 1.0);
        let (conv_b, rev_b) = names.uplift.expected(days, self.p.treatment_multiplier);
        let uplift = |b: f64, a: f64| if a > 0.0 { b / a - 1.0 } else { 0.0 };
        let conversion = uplift(conv_b, conv_a);
        let revenue = uplift(rev_b, rev_a);
        out.push(names.label(
            "ab_test",
            "experiment",
            self.p.name.clone(),
            self.start_ms,
            self.end_ms,
            (conversion * 1e6).round() / 1e6,
            format!(
                "treatment: prices ×{} for {} of users; true conversion uplift {:+.4} (control {:.4}, treatment {:.4}, of legitimate attempts not abandoned); true revenue-per-attempt uplift {:+.4}",
                self.p.treatment_multiplier, self.p.treatment_share, conversion, conv_a, conv_b, revenue
            ),
        ));
    }
}
