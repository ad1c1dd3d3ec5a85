//! Model migration: a workload moves from a source model to a target model along an S-curve
//! (document 000, scenario 5): `share(t) = 1 / (1 + exp(−steepness · (progress − 0.5)))`,
//! `progress = (t − start_day) / duration_days`.
//!
//! The workload is `workload_share` of the cohort's calls plus every call the market mix would
//! send to either model, so among calls to the two models the target's share is the curve.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{Active, CohortInfo, Effect, Env, Label, utc_day_start_ms};
use crate::sim::calls::population::Customer;
use crate::sim::params::{self, Checked, logistic};
use crate::sim::rng::SimRng;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Migration {
    pub source_model: String,
    pub target_model: String,
    /// First day of the migration window.
    pub start_day: i64,
    /// Length of the window in days (7–30 in the document).
    pub duration_days: i64,
    /// Steepness of the S-curve.
    pub steepness: f64,
    /// Share of calls, besides those already on either model, that belong to the workload.
    pub workload_share: f64,
}

impl Default for Migration {
    fn default() -> Self {
        Migration {
            source_model: "gpt-4".into(),
            target_model: "claude-sonnet-4".into(),
            start_day: 10,
            duration_days: 14,
            steepness: 10.0,
            workload_share: 0.5,
        }
    }
}

impl Effect for Migration {
    fn check(&self, env: &Env) -> Checked {
        let names = env.catalogue.models.iter().map(|m| m.name.as_str());
        params::one_of("source_model", &self.source_model, names.clone())?;
        params::one_of("target_model", &self.target_model, names)?;
        if self.source_model == self.target_model {
            return Err(params::fail("target_model", "must differ from source_model"));
        }
        params::day("start_day", self.start_day, env.days)?;
        params::whole("duration_days", self.duration_days, 1, 3660)?;
        params::number("steepness", self.steepness, 0.1, 100.0)?;
        params::number("workload_share", self.workload_share, 0.0, 1.0)
    }

    fn compile(&self, env: &Env, cohort: &CohortInfo, _r: &mut SimRng) -> Box<dyn Active> {
        let index = |name: &str| env.catalogue.model_index(name).expect("checked");
        Box::new(MigrationActive {
            p: self.clone(),
            cohort: cohort.clone(),
            source: index(&self.source_model),
            target: index(&self.target_model),
        })
    }
}

#[derive(Debug)]
struct MigrationActive {
    p: Migration,
    cohort: CohortInfo,
    source: usize,
    target: usize,
}

impl Migration {
    /// Share of the workload on the target model at `t` days.
    pub fn target_share(&self, t: f64) -> f64 {
        let progress = (t - self.start_day as f64) / self.duration_days as f64;
        logistic(self.steepness * (progress - 0.5))
    }
}

impl Active for MigrationActive {
    fn model(&self, _c: &Customer, t: f64, model: usize, _task: usize, r: &mut SimRng) -> usize {
        let workload = model == self.source || model == self.target || r.random::<f64>() < self.p.workload_share;
        if !workload {
            return model;
        }
        if r.random::<f64>() < self.p.target_share(t) {
            self.target
        } else {
            self.source
        }
    }

    fn labels(&self, _customers: &[Customer], env: &Env, _seed: u64, out: &mut Vec<Label>) {
        let p = &self.p;
        out.push(Label {
            scenario: self.cohort.scenario.clone(),
            cohort: self.cohort.name.clone(),
            kind: "migration".into(),
            subject_type: "model",
            subject: format!("{} -> {}", p.source_model, p.target_model),
            start_ms: utc_day_start_ms(env.start_date, p.start_day),
            end_ms: utc_day_start_ms(env.start_date, p.start_day + p.duration_days),
            magnitude: p.workload_share,
            detail: format!(
                "S-curve, steepness {}: {:.1}% on target at the start, {:.1}% at the end",
                p.steepness,
                p.target_share(p.start_day as f64) * 100.0,
                p.target_share((p.start_day + p.duration_days) as f64) * 100.0
            ),
        });
    }
}
