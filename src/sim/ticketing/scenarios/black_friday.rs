//! Black Friday: a day of extreme load across every event on sale, with discounts in place of the
//! usual dynamic prices.

use serde::{Deserialize, Serialize};

use super::{Active, CohortInfo, DayShape, Effect, Env, LabelNames};
use crate::sim::label::Label;
use crate::sim::params::{self, Checked};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlackFriday {
    /// The day (0 = the start date; the default plan starts on Monday 2025-11-03, so day 25 is
    /// Black Friday, 2025-11-28), whole local days.
    pub day: i64,
    pub days: i64,
    /// Everyday visit rate multiplier on those days.
    pub load: f64,
    /// Price multiplier range replacing the dynamic price.
    pub discount: [f64; 2],
}

impl Default for BlackFriday {
    fn default() -> Self {
        BlackFriday {
            day: 25,
            days: 1,
            load: 8.0,
            discount: [0.6, 0.85],
        }
    }
}

impl Effect for BlackFriday {
    fn check(&self, env: &Env) -> Checked {
        params::day("day", self.day, env.days)?;
        params::whole("days", self.days, 1, 31)?;
        params::number("load", self.load, 0.0, 10_000.0)?;
        params::pair("discount", self.discount, 0.01, 1.0)
    }

    fn compile(&self, env: &Env, _cohort: &CohortInfo) -> Box<dyn Active> {
        Box::new(BlackFridayActive {
            p: self.clone(),
            start_ms: env.local_ms(self.day, (0, 0)),
        })
    }
}

#[derive(Debug)]
struct BlackFridayActive {
    p: BlackFriday,
    start_ms: i64,
}

impl BlackFridayActive {
    fn covers(&self, day: u32) -> bool {
        (self.p.day..self.p.day + self.p.days).contains(&i64::from(day))
    }
}

impl Active for BlackFridayActive {
    fn day(&self, day: u32, shape: &mut DayShape) {
        if self.covers(day) {
            shape.load *= self.p.load;
            shape.discount = Some(self.p.discount);
        }
    }

    fn labels(&self, names: &LabelNames, out: &mut Vec<Label>) {
        out.push(names.label(
            "black_friday",
            "cohort",
            names.cohort.name.clone(),
            self.start_ms,
            self.start_ms + self.p.days * 86_400_000,
            self.p.load,
            format!(
                "load ×{}; prices ×{}–{} in place of dynamic pricing",
                self.p.load, self.p.discount[0], self.p.discount[1]
            ),
        ));
    }
}
