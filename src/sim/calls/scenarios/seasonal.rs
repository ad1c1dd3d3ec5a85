//! Seasonal pattern: weekly, daily and monthly cycles (document 000, scenario 1).
//!
//! Each cycle multiplies the rate by `1 + amplitude · cos(2π · (position − peak) / period)`.
//! The document adds the three sines; multiplying them keeps every cycle's amplitude measurable
//! on its own and the rate positive, and the peaks are parameters rather than where a sine of
//! the raw hour happens to peak (06:00), so "peak hours 10am–2pm" and "month-end" hold.

use std::f64::consts::TAU;

use serde::{Deserialize, Serialize};

use super::{Active, CohortInfo, DayInfo, DayState, Effect, Env, Label, utc_day_start_ms};
use crate::sim::calendar::Segment;
use crate::sim::calls::population::Customer;
use crate::sim::params::{self, Checked};
use crate::sim::rng::SimRng;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Seasonal {
    /// ±30% over the week.
    pub weekly_amplitude: f64,
    /// Day of the week with the most calls, 0 = Monday (mid-week by default).
    pub weekly_peak_day: i64,
    /// ±50% over the day.
    pub daily_amplitude: f64,
    /// Local hour with the most calls.
    pub daily_peak_hour: i64,
    /// ±20% over the month.
    pub monthly_amplitude: f64,
    /// Day of the month with the most calls (reporting at month-end).
    pub monthly_peak_day: i64,
}

impl Default for Seasonal {
    fn default() -> Self {
        Seasonal {
            weekly_amplitude: 0.3,
            weekly_peak_day: 2,
            daily_amplitude: 0.5,
            daily_peak_hour: 12,
            monthly_amplitude: 0.2,
            monthly_peak_day: 28,
        }
    }
}

impl Effect for Seasonal {
    fn check(&self, _env: &Env) -> Checked {
        params::number("weekly_amplitude", self.weekly_amplitude, 0.0, 0.95)?;
        params::number("daily_amplitude", self.daily_amplitude, 0.0, 0.95)?;
        params::number("monthly_amplitude", self.monthly_amplitude, 0.0, 0.95)?;
        params::whole("weekly_peak_day", self.weekly_peak_day, 0, 6)?;
        params::whole("daily_peak_hour", self.daily_peak_hour, 0, 23)?;
        params::whole("monthly_peak_day", self.monthly_peak_day, 1, 31)
    }

    fn compile(&self, _env: &Env, cohort: &CohortInfo, _r: &mut SimRng) -> Box<dyn Active> {
        Box::new(SeasonalActive {
            p: self.clone(),
            cohort: cohort.clone(),
        })
    }
}

#[derive(Debug)]
struct SeasonalActive {
    p: Seasonal,
    cohort: CohortInfo,
}

/// `1 + amplitude · cos(2π (x − peak) / period)`.
pub fn cycle(amplitude: f64, x: f64, peak: f64, period: f64) -> f64 {
    1.0 + amplitude * (TAU * (x - peak) / period).cos()
}

impl Active for SeasonalActive {
    fn day(&self, _c: &Customer, d: &DayInfo, _seed: u64, state: &mut DayState) {
        let p = &self.p;
        state.factor *= cycle(p.weekly_amplitude, f64::from(d.weekday), p.weekly_peak_day as f64, 7.0)
            * cycle(
                p.monthly_amplitude,
                f64::from(d.month_day),
                p.monthly_peak_day as f64,
                f64::from(d.month_len),
            );
    }

    fn hour(&self, _c: &Customer, seg: &Segment, _state: &DayState) -> f64 {
        cycle(
            self.p.daily_amplitude,
            f64::from(seg.local_hour) + 0.5,
            self.p.daily_peak_hour as f64 + 0.5,
            24.0,
        )
    }

    fn labels(&self, _customers: &[Customer], env: &Env, _seed: u64, out: &mut Vec<Label>) {
        let p = &self.p;
        out.push(Label {
            scenario: self.cohort.scenario.clone(),
            cohort: self.cohort.name.clone(),
            kind: "seasonal_cycle".into(),
            subject_type: "cohort",
            subject: self.cohort.name.clone(),
            start_ms: utc_day_start_ms(env.start_date, 0),
            end_ms: utc_day_start_ms(env.start_date, i64::from(env.days)),
            magnitude: p.weekly_amplitude,
            detail: format!(
                "weekly ±{:.0}% peak weekday {} (0=Mon); daily ±{:.0}% peak {:02}:00 local; monthly ±{:.0}% peak day {}",
                p.weekly_amplitude * 100.0,
                p.weekly_peak_day,
                p.daily_amplitude * 100.0,
                p.daily_peak_hour,
                p.monthly_amplitude * 100.0,
                p.monthly_peak_day
            ),
        });
    }
}
