//! Burst traffic: on a share of customer-days, a 1–3 hour window at 5–20× the rate
//! (document 000, scenario 2; document 001 differs: 15% of days and a 20% baseline on other
//! days, set `day_probability = 0.15, baseline = 0.2` for that).

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{Active, CohortInfo, DayInfo, DayState, Effect, Env, Label, local_day_start_ms};
use crate::sim::calendar::Segment;
use crate::sim::calls::population::Customer;
use crate::sim::params::{self, Checked};
use crate::sim::rng::{self, Domain, SimRng};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Burst {
    /// Probability that a customer-day has a burst.
    pub day_probability: f64,
    /// Whole-number multiplier range of the burst hours.
    pub multiplier: [f64; 2],
    /// Whole-number range of the burst's length in hours.
    pub duration_hours: [f64; 2],
    /// Local hour range the burst may start in.
    pub start_hour: [f64; 2],
    /// Rate on days without a burst, relative to the base traffic.
    pub baseline: f64,
}

impl Default for Burst {
    fn default() -> Self {
        Burst {
            day_probability: 0.08,
            multiplier: [5.0, 20.0],
            duration_hours: [1.0, 3.0],
            start_hour: [0.0, 21.0],
            baseline: 1.0,
        }
    }
}

impl Effect for Burst {
    fn check(&self, _env: &Env) -> Checked {
        params::number("day_probability", self.day_probability, 0.0, 1.0)?;
        params::pair("multiplier", self.multiplier, 1.0, 1000.0)?;
        params::pair("duration_hours", self.duration_hours, 1.0, 24.0)?;
        params::pair("start_hour", self.start_hour, 0.0, 23.0)?;
        params::number("baseline", self.baseline, 0.0, 1.0)
    }

    fn compile(&self, _env: &Env, cohort: &CohortInfo, _r: &mut SimRng) -> Box<dyn Active> {
        Box::new(BurstActive {
            p: self.clone(),
            cohort: cohort.clone(),
        })
    }
}

#[derive(Debug)]
struct BurstActive {
    p: Burst,
    cohort: CohortInfo,
}

/// A whole number drawn uniformly from an inclusive range.
fn whole_in(r: &mut SimRng, [lo, hi]: [f64; 2]) -> f64 {
    let (lo, hi) = (lo.round() as i64, hi.round() as i64);
    r.random_range(lo..=hi) as f64
}

impl BurstActive {
    /// The burst of a customer's local day: (start hour, end hour, multiplier), if any.
    fn burst(&self, c: &Customer, day: i32, seed: u64) -> Option<(u8, u8, f64)> {
        let mut r = rng::stream(seed, Domain::Burst, c.key(), day as u64);
        if r.random::<f64>() >= self.p.day_probability {
            return None;
        }
        let multiplier = whole_in(&mut r, self.p.multiplier);
        let start = whole_in(&mut r, self.p.start_hour) as u8;
        let length = whole_in(&mut r, self.p.duration_hours) as u8;
        Some((start, (start + length).min(24), multiplier))
    }
}

impl Active for BurstActive {
    fn day(&self, c: &Customer, d: &DayInfo, seed: u64, state: &mut DayState) {
        state.burst = self.burst(c, d.day, seed);
        if state.burst.is_none() {
            state.factor *= self.p.baseline;
        }
    }

    fn hour(&self, _c: &Customer, seg: &Segment, state: &DayState) -> f64 {
        match state.burst {
            Some((start, end, m)) if seg.local_hour >= start && seg.local_hour < end => m,
            _ => 1.0,
        }
    }

    fn labels(&self, customers: &[Customer], env: &Env, seed: u64, out: &mut Vec<Label>) {
        for c in customers {
            let tz = env.model.timezones[c.timezone as usize].tz;
            // Local days that overlap the window: the one before day 0 up to the last.
            for day in -1..=env.days as i32 {
                let Some((start, end, m)) = self.burst(c, day, seed) else {
                    continue;
                };
                let start_ms = local_day_start_ms(tz, env.start_date, day, u32::from(start));
                let end_ms = start_ms + i64::from(end - start) * 3_600_000;
                let window_end = super::utc_day_start_ms(env.start_date, i64::from(env.days));
                let window_start = super::utc_day_start_ms(env.start_date, 0);
                if end_ms <= window_start || start_ms >= window_end {
                    continue;
                }
                out.push(Label {
                    scenario: self.cohort.scenario.clone(),
                    cohort: self.cohort.name.clone(),
                    kind: "burst".into(),
                    subject_type: "customer",
                    subject: c.id.clone(),
                    start_ms,
                    end_ms,
                    magnitude: m,
                    detail: format!("{m:.0}x for {} h from {start:02}:00 local", end - start),
                });
            }
        }
    }
}
