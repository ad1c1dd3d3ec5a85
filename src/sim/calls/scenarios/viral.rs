//! Viral spike: usage compounds by 10–30% a day from a start day to a peak day, then decays
//! (document 000, scenario 11).

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{Active, CohortInfo, DayInfo, DayState, Effect, Env, Label, utc_day_start_ms};
use crate::sim::calls::population::Customer;
use crate::sim::params::{self, Checked, lerp};
use crate::sim::rng::SimRng;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Viral {
    pub start_day: i64,
    pub peak_day: i64,
    /// Range the cohort's daily compound growth is drawn from, once per cohort.
    pub daily_growth: [f64; 2],
    /// Share of the excess lost per day after the peak.
    pub daily_decay: f64,
}

impl Default for Viral {
    fn default() -> Self {
        Viral {
            start_day: 8,
            peak_day: 18,
            daily_growth: [0.10, 0.30],
            daily_decay: 0.15,
        }
    }
}

impl Effect for Viral {
    fn check(&self, env: &Env) -> Checked {
        params::day("start_day", self.start_day, env.days)?;
        params::day("peak_day", self.peak_day, env.days)?;
        if self.peak_day < self.start_day {
            return Err(params::fail("peak_day", "must not come before start_day"));
        }
        params::pair("daily_growth", self.daily_growth, 0.0, 2.0)?;
        params::number("daily_decay", self.daily_decay, 0.0, 1.0)
    }

    fn compile(&self, _env: &Env, cohort: &CohortInfo, r: &mut SimRng) -> Box<dyn Active> {
        Box::new(ViralActive {
            p: self.clone(),
            cohort: cohort.clone(),
            growth: lerp(self.daily_growth, r.random()),
        })
    }
}

#[derive(Debug)]
struct ViralActive {
    p: Viral,
    cohort: CohortInfo,
    growth: f64,
}

impl ViralActive {
    /// The multiplier on window day `day`.
    fn factor(&self, day: i64) -> f64 {
        let (start, peak) = (self.p.start_day, self.p.peak_day);
        let peak_factor = (1.0 + self.growth).powi((peak - start) as i32);
        if day <= start {
            1.0
        } else if day <= peak {
            (1.0 + self.growth).powi((day - start) as i32)
        } else {
            // The excess over the baseline decays.
            1.0 + (peak_factor - 1.0) * (1.0 - self.p.daily_decay).powi((day - peak) as i32)
        }
    }
}

impl Active for ViralActive {
    fn day(&self, _c: &Customer, d: &DayInfo, _seed: u64, state: &mut DayState) {
        state.factor *= self.factor(i64::from(d.day));
    }

    fn labels(&self, _customers: &[Customer], env: &Env, _seed: u64, out: &mut Vec<Label>) {
        out.push(Label {
            scenario: self.cohort.scenario.clone(),
            cohort: self.cohort.name.clone(),
            kind: "viral_spike".into(),
            subject_type: "cohort",
            subject: self.cohort.name.clone(),
            start_ms: utc_day_start_ms(env.start_date, self.p.peak_day),
            end_ms: utc_day_start_ms(env.start_date, self.p.peak_day + 1),
            magnitude: self.factor(self.p.peak_day),
            detail: format!(
                "+{:.1}% a day from day {} to the peak on day {}, then the excess decays {:.0}% a day",
                self.growth * 100.0,
                self.p.start_day,
                self.p.peak_day,
                self.p.daily_decay * 100.0
            ),
        });
    }
}
