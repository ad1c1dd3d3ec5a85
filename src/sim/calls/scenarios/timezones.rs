//! Time-zone patterns: the cohort's customers live in the given time zones and call in their
//! local business hours (document 000, scenario 7). Local hours, and daylight saving, come from
//! the time-zone database through the calendar.

use std::collections::BTreeMap;

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{Active, CohortInfo, Effect, Env, Label, utc_day_start_ms};
use crate::sim::calls::population::Customer;
use crate::sim::params::{self, Checked};
use crate::sim::rng::{SimRng, cumulative, pick};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timezones {
    /// IANA time zone → share of the cohort's customers. Each must be listed in the traffic
    /// file's `[[timezones]]` (which names its provider-region geography).
    pub zones: BTreeMap<String, f64>,
}

impl Default for Timezones {
    fn default() -> Self {
        let zones = [
            ("US/Eastern", 0.30),
            ("US/Pacific", 0.20),
            ("Europe/London", 0.15),
            ("Europe/Paris", 0.10),
            ("Asia/Tokyo", 0.15),
            ("Asia/Kolkata", 0.10),
        ];
        Timezones {
            zones: zones.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        }
    }
}

impl Effect for Timezones {
    fn check(&self, env: &Env) -> Checked {
        if self.zones.is_empty() {
            return Err(params::fail("zones", "list at least one time zone"));
        }
        let known: Vec<&str> = env.model.timezones.iter().map(|t| t.tz.name()).collect();
        for (name, &w) in &self.zones {
            params::one_of("zones", name, known.iter().copied())?;
            params::number(&format!("zones.\"{name}\""), w, 0.0, 1.0)?;
        }
        let sum: f64 = self.zones.values().sum();
        if (sum - 1.0).abs() > 1e-6 {
            return Err(params::fail(
                "zones",
                format!("weights sum to {sum}; they must sum to 1"),
            ));
        }
        Ok(())
    }

    fn compile(&self, env: &Env, cohort: &CohortInfo, _r: &mut SimRng) -> Box<dyn Active> {
        let zones: Vec<(usize, f64)> = self
            .zones
            .iter()
            .map(|(name, &w)| {
                let i = env
                    .model
                    .timezones
                    .iter()
                    .position(|t| t.tz.name() == name)
                    .expect("checked");
                (i, w)
            })
            .collect();
        Box::new(TimezonesActive {
            cdf: cumulative(zones.iter().map(|z| z.1)),
            zones,
            cohort: cohort.clone(),
        })
    }
}

#[derive(Debug)]
struct TimezonesActive {
    zones: Vec<(usize, f64)>,
    cdf: Vec<f64>,
    cohort: CohortInfo,
}

impl Active for TimezonesActive {
    fn customer(&self, c: &mut Customer, r: &mut SimRng, _env: &Env) {
        c.timezone = self.zones[pick(&self.cdf, r.random())].0 as u8;
    }

    fn labels(&self, customers: &[Customer], env: &Env, _seed: u64, out: &mut Vec<Label>) {
        for &(zone, weight) in &self.zones {
            let n = customers.iter().filter(|c| c.timezone as usize == zone).count();
            out.push(Label {
                scenario: self.cohort.scenario.clone(),
                cohort: self.cohort.name.clone(),
                kind: "timezone".into(),
                subject_type: "timezone",
                subject: env.model.timezones[zone].tz.name().to_string(),
                start_ms: utc_day_start_ms(env.start_date, 0),
                end_ms: utc_day_start_ms(env.start_date, i64::from(env.days)),
                magnitude: weight,
                detail: format!("{n} customers; local business hours"),
            });
        }
    }
}
