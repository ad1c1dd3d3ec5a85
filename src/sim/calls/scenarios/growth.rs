//! Steady growth: every customer's usage compounds by 2–5% a day (document 000, scenario 10).

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{Active, CohortInfo, Effect, Env, Label, utc_day_start_ms};
use crate::sim::calls::population::Customer;
use crate::sim::params::{self, Checked, lerp};
use crate::sim::rng::SimRng;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Growth {
    /// Range a customer's daily growth rate is drawn from.
    pub daily_growth: [f64; 2],
}

impl Default for Growth {
    fn default() -> Self {
        Growth {
            daily_growth: [0.02, 0.05],
        }
    }
}

impl Effect for Growth {
    fn check(&self, _env: &Env) -> Checked {
        params::pair("daily_growth", self.daily_growth, -0.5, 1.0)
    }

    fn compile(&self, _env: &Env, cohort: &CohortInfo, _r: &mut SimRng) -> Box<dyn Active> {
        Box::new(GrowthActive {
            p: self.clone(),
            cohort: cohort.clone(),
        })
    }
}

#[derive(Debug)]
struct GrowthActive {
    p: Growth,
    cohort: CohortInfo,
}

impl Active for GrowthActive {
    fn customer(&self, c: &mut Customer, r: &mut SimRng, _env: &Env) {
        c.state.log_trend += (1.0 + lerp(self.p.daily_growth, r.random())).ln();
    }

    fn labels(&self, _customers: &[Customer], env: &Env, _seed: u64, out: &mut Vec<Label>) {
        let [lo, hi] = self.p.daily_growth;
        out.push(Label {
            scenario: self.cohort.scenario.clone(),
            cohort: self.cohort.name.clone(),
            kind: "growth".into(),
            subject_type: "cohort",
            subject: self.cohort.name.clone(),
            start_ms: utc_day_start_ms(env.start_date, 0),
            end_ms: utc_day_start_ms(env.start_date, i64::from(env.days)),
            magnitude: (lo + hi) / 2.0,
            detail: format!("{:.1}–{:.1}% a day per customer", lo * 100.0, hi * 100.0),
        });
    }
}
