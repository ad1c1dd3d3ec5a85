//! Weekend effect: Saturday 40–60%, Sunday 30–50%, holidays 20–40% of weekday volume, and a
//! Friday-afternoon taper (document 000, scenario 6). Its day shares replace the base model's
//! weekend factor.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{Active, CohortInfo, DayInfo, DayState, Effect, Env, Label, utc_day_start_ms};
use crate::sim::calendar::Segment;
use crate::sim::calls::population::Customer;
use crate::sim::params::{self, Checked, lerp};
use crate::sim::rng::SimRng;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Weekend {
    /// Saturday volume relative to a weekday, drawn per customer from this range.
    pub saturday: [f64; 2],
    pub sunday: [f64; 2],
    pub holiday: [f64; 2],
    /// Holidays, as days of the window (0-based).
    pub holidays: Vec<i64>,
    /// Friday volume from `friday_taper_from_hour` (local) on, relative to other Friday hours.
    pub friday_taper: f64,
    pub friday_taper_from_hour: i64,
}

impl Default for Weekend {
    fn default() -> Self {
        Weekend {
            saturday: [0.4, 0.6],
            sunday: [0.3, 0.5],
            holiday: [0.2, 0.4],
            holidays: vec![7, 21],
            friday_taper: 0.7,
            friday_taper_from_hour: 15,
        }
    }
}

impl Effect for Weekend {
    fn check(&self, env: &Env) -> Checked {
        params::pair("saturday", self.saturday, 0.0, 1.0)?;
        params::pair("sunday", self.sunday, 0.0, 1.0)?;
        params::pair("holiday", self.holiday, 0.0, 1.0)?;
        for (i, &d) in self.holidays.iter().enumerate() {
            params::day(&format!("holidays[{i}]"), d, env.days)?;
        }
        params::number("friday_taper", self.friday_taper, 0.0, 1.0)?;
        params::whole("friday_taper_from_hour", self.friday_taper_from_hour, 0, 23)
    }

    fn compile(&self, _env: &Env, cohort: &CohortInfo, _r: &mut SimRng) -> Box<dyn Active> {
        Box::new(WeekendActive {
            p: self.clone(),
            cohort: cohort.clone(),
        })
    }
}

#[derive(Debug)]
struct WeekendActive {
    p: Weekend,
    cohort: CohortInfo,
}

impl Active for WeekendActive {
    fn customer(&self, c: &mut Customer, r: &mut SimRng, _env: &Env) {
        c.state.weekend = Some([
            lerp(self.p.saturday, r.random()),
            lerp(self.p.sunday, r.random()),
            lerp(self.p.holiday, r.random()),
        ]);
    }

    fn day(&self, c: &Customer, d: &DayInfo, _seed: u64, state: &mut DayState) {
        let [sat, sun, holiday] = c.state.weekend.unwrap_or([1.0; 3]);
        state.weekday_share = Some(if self.p.holidays.contains(&i64::from(d.day)) {
            holiday
        } else {
            match d.weekday {
                5 => sat,
                6 => sun,
                _ => 1.0,
            }
        });
    }

    fn hour(&self, _c: &Customer, seg: &Segment, _state: &DayState) -> f64 {
        if seg.weekday == 4 && i64::from(seg.local_hour) >= self.p.friday_taper_from_hour {
            self.p.friday_taper
        } else {
            1.0
        }
    }

    fn labels(&self, customers: &[Customer], env: &Env, _seed: u64, out: &mut Vec<Label>) {
        let n = customers.len().max(1) as f64;
        let mean = customers
            .iter()
            .map(|c| c.state.weekend.map_or(0.0, |w| w[2]))
            .sum::<f64>()
            / n;
        for &d in &self.p.holidays {
            out.push(Label {
                scenario: self.cohort.scenario.clone(),
                cohort: self.cohort.name.clone(),
                kind: "holiday".into(),
                subject_type: "cohort",
                subject: self.cohort.name.clone(),
                start_ms: utc_day_start_ms(env.start_date, d),
                end_ms: utc_day_start_ms(env.start_date, d + 1),
                magnitude: mean,
                detail: format!("local day {d}: volume at {:.0}% of a weekday", mean * 100.0),
            });
        }
    }
}
