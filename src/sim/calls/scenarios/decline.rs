//! Gradual decline: usage falls by a daily rate, and a share of customers churn on random days
//! (document 000, scenario 3; document 001's variant: `daily_decline = 0.0043`,
//! `decline_variation = [0.7, 1.0]`).

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{Active, CHURN_SEQUENCE, CohortInfo, Effect, Env, Label, local_day_start_ms, selected, utc_day_start_ms};
use crate::sim::calls::population::Customer;
use crate::sim::params::{self, Checked, lerp};
use crate::sim::rng::SimRng;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Decline {
    /// Share of usage lost per day (2%: 1–3% in the document).
    pub daily_decline: f64,
    /// Each customer's decline is the daily rate times a factor drawn from this range.
    pub decline_variation: [f64; 2],
    /// Share of the cohort's customers who churn during the window.
    pub churn_share: f64,
}

impl Default for Decline {
    fn default() -> Self {
        Decline {
            daily_decline: 0.02,
            decline_variation: [1.0, 1.0],
            churn_share: 0.20,
        }
    }
}

impl Effect for Decline {
    fn check(&self, _env: &Env) -> Checked {
        params::number("daily_decline", self.daily_decline, 0.0, 0.5)?;
        params::pair("decline_variation", self.decline_variation, 0.0, 2.0)?;
        params::number("churn_share", self.churn_share, 0.0, 1.0)
    }

    fn compile(&self, _env: &Env, cohort: &CohortInfo, _r: &mut SimRng) -> Box<dyn Active> {
        Box::new(DeclineActive {
            p: self.clone(),
            cohort: cohort.clone(),
        })
    }
}

#[derive(Debug)]
struct DeclineActive {
    p: Decline,
    cohort: CohortInfo,
}

impl Active for DeclineActive {
    fn customer(&self, c: &mut Customer, r: &mut SimRng, env: &Env) {
        let rate = self.p.daily_decline * lerp(self.p.decline_variation, r.random());
        c.state.log_trend += (1.0 - rate).ln();
        // Churn on a day after the first, so every churned customer shows some usage first.
        let day = r.random_range(1..env.days.max(2)) as i32;
        if selected(
            env.seed,
            c.cohort,
            1,
            c.index_in_cohort,
            CHURN_SEQUENCE,
            self.p.churn_share,
        ) {
            c.state.churn_day = Some(c.state.churn_day.map_or(day, |d| d.min(day)));
        }
    }

    fn labels(&self, customers: &[Customer], env: &Env, _seed: u64, out: &mut Vec<Label>) {
        out.push(Label {
            scenario: self.cohort.scenario.clone(),
            cohort: self.cohort.name.clone(),
            kind: "decline".into(),
            subject_type: "cohort",
            subject: self.cohort.name.clone(),
            start_ms: utc_day_start_ms(env.start_date, 0),
            end_ms: utc_day_start_ms(env.start_date, i64::from(env.days)),
            magnitude: self.p.daily_decline,
            detail: format!("usage falls {:.1}% a day", self.p.daily_decline * 100.0),
        });
        for c in customers {
            let Some(day) = c.state.churn_day else { continue };
            let tz = env.model.timezones[c.timezone as usize].tz;
            out.push(Label {
                scenario: self.cohort.scenario.clone(),
                cohort: self.cohort.name.clone(),
                kind: "churn".into(),
                subject_type: "customer",
                subject: c.id.clone(),
                start_ms: local_day_start_ms(tz, env.start_date, day, 0),
                end_ms: utc_day_start_ms(env.start_date, i64::from(env.days)),
                magnitude: f64::from(day),
                detail: format!("no calls from local day {day}"),
            });
        }
    }
}
