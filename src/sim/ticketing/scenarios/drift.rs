//! Gradual drift: buyers' behaviour shifts over weeks — the persona mix, basket size, price
//! sensitivity and channels (mobile, wallets) — at a labelled level from 0 to 1 per week, so a
//! drift detector can be scored against the level it should see.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Active, CohortInfo, DayShape, Effect, Env, LabelNames};
use crate::sim::label::Label;
use crate::sim::params::{self, Checked};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Drift {
    /// Drift level of each week (week 0 starts on the start date); the last holds after.
    pub levels: Vec<f64>,
    /// Each persona's visit rate at level 1, relative to level 0 (unlisted personas: 1).
    pub persona_shift: BTreeMap<String, f64>,
    /// Mean tickets per order grow by this share at level 1.
    pub basket: f64,
    /// Price sensitivity grows by this share at level 1.
    pub sensitivity: f64,
    /// Extra share of attempts on mobile, and paid by wallet, at level 1.
    pub mobile: f64,
    pub wallet: f64,
}

impl Default for Drift {
    fn default() -> Self {
        Drift {
            levels: vec![0.0, 0.33, 0.67, 1.0],
            persona_shift: BTreeMap::from([
                ("casual".to_string(), 0.6),
                ("vip".to_string(), 0.8),
                ("scalper".to_string(), 2.0),
            ]),
            basket: 0.5,
            sensitivity: 1.0,
            mobile: 0.25,
            wallet: 0.2,
        }
    }
}

impl Effect for Drift {
    fn check(&self, env: &Env) -> Checked {
        if self.levels.is_empty() {
            return Err(params::fail(
                "levels",
                "list at least one weekly level, e.g. [0, 0.5, 1]",
            ));
        }
        for (i, l) in self.levels.iter().enumerate() {
            params::number(&format!("levels[{i}]"), *l, 0.0, 1.0)?;
        }
        for (name, f) in &self.persona_shift {
            let key = format!("persona_shift.{name}");
            params::one_of(&key, name, env.catalogue.personas.iter().map(|p| p.name.as_str()))?;
            params::number(&key, *f, 0.0, 100.0)?;
        }
        params::number("basket", self.basket, -0.9, 10.0)?;
        params::number("sensitivity", self.sensitivity, -1.0, 10.0)?;
        params::number("mobile", self.mobile, 0.0, 1.0)?;
        params::number("wallet", self.wallet, 0.0, 1.0)
    }

    fn compile(&self, env: &Env, _cohort: &CohortInfo) -> Box<dyn Active> {
        let shift = env
            .catalogue
            .personas
            .iter()
            .map(|p| self.persona_shift.get(&p.name).copied().unwrap_or(1.0))
            .collect();
        Box::new(DriftActive {
            p: self.clone(),
            shift,
            start_ms: env.local_ms(0, (0, 0)),
            days: env.days,
        })
    }
}

#[derive(Debug)]
struct DriftActive {
    p: Drift,
    /// Per persona (catalogue order), the rate multiplier at level 1.
    shift: Vec<f64>,
    start_ms: i64,
    days: u32,
}

impl DriftActive {
    fn level(&self, day: u32) -> f64 {
        let week = (day / 7) as usize;
        self.p.levels[week.min(self.p.levels.len() - 1)]
    }
}

impl Active for DriftActive {
    fn day(&self, day: u32, shape: &mut DayShape) {
        let l = self.level(day);
        for (rate, shift) in shape.persona_rate.iter_mut().zip(&self.shift) {
            *rate *= 1.0 + (shift - 1.0) * l;
        }
        shape.basket *= 1.0 + self.p.basket * l;
        shape.sensitivity *= 1.0 + self.p.sensitivity * l;
        shape.mobile += self.p.mobile * l;
        shape.wallet += self.p.wallet * l;
    }

    fn labels(&self, names: &LabelNames, out: &mut Vec<Label>) {
        let weeks = self.days.div_ceil(7);
        for w in 0..weeks {
            let l = self.level(w * 7);
            let start = self.start_ms + i64::from(w) * 7 * 86_400_000;
            let end = self.start_ms + i64::from((w * 7 + 7).min(self.days)) * 86_400_000;
            let shifts: Vec<String> = self
                .p
                .persona_shift
                .iter()
                .map(|(name, f)| format!("{name} ×{:.3}", 1.0 + (f - 1.0) * l))
                .collect();
            out.push(names.label(
                "drift",
                "cohort",
                names.cohort.name.clone(),
                start,
                end,
                l,
                format!(
                    "week {w}: persona rates {}; basket ×{:.3}; price sensitivity ×{:.3}; mobile +{:.3}; wallet +{:.3}",
                    shifts.join(", "),
                    1.0 + self.p.basket * l,
                    1.0 + self.p.sensitivity * l,
                    self.p.mobile * l,
                    self.p.wallet * l
                ),
            ));
        }
    }
}
