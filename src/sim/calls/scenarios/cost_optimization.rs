//! Cost optimization: from a start day, engineering routes simple work to cheaper models and
//! caches duplicate calls, ramping in until cost per call is down by the target (document 000,
//! scenario 9: baseline to day 10, gradual over days 10–20, then 70% lower).
//!
//! A routed call goes to the cheapest model of its own provider (task routing, model downgrade)
//! or, for `arbitrage_share` of them, to the cheapest model of any provider (provider
//! arbitrage). The share of calls routed per task type is solved from the price table so that
//! the expected cost per call of every task falls by `cost_reduction_target`; caching removes
//! `cache_share` of the calls on top.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{Active, CohortInfo, DayInfo, DayState, Effect, Env, Label, utc_day_start_ms};
use crate::sim::calls::catalogue::Catalogue;
use crate::sim::calls::model::TrafficModel;
use crate::sim::calls::population::Customer;
use crate::sim::params::{self, Checked};
use crate::sim::rng::SimRng;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CostOptimization {
    /// First day of the change.
    pub start_day: i64,
    /// Days until it is complete.
    pub ramp_days: i64,
    /// Reduction of the cost per call once complete.
    pub cost_reduction_target: f64,
    /// Share of routed calls that move to the cheapest provider rather than the cheapest model
    /// of their own provider.
    pub arbitrage_share: f64,
    /// Share of calls removed by caching once complete.
    pub cache_share: f64,
}

impl Default for CostOptimization {
    fn default() -> Self {
        CostOptimization {
            start_day: 10,
            ramp_days: 10,
            cost_reduction_target: 0.70,
            arbitrage_share: 0.3,
            cache_share: 0.30,
        }
    }
}

/// Routing tables solved from the price table.
#[derive(Debug, Clone)]
struct Routing {
    /// Cheapest model of each provider, per task.
    own: Vec<Vec<usize>>,
    /// Cheapest model of all, per task.
    any: Vec<usize>,
    /// Share of calls to route once complete, per task.
    share: Vec<f64>,
}

/// Expected cost of a call of task `t` on model `m`, from the task's mean tokens.
fn expected_cost(model: &TrafficModel, catalogue: &Catalogue, t: usize, m: usize) -> f64 {
    let task = &model.tasks[t];
    let (a, c, b) = task.input_tokens;
    let input = (a + c + b) / 3.0;
    let output = input * (task.output_ratio.0 + task.output_ratio.1) / 2.0;
    let p = &catalogue.models[m];
    input * p.input_per_1k / 1000.0 + output * p.output_per_1k / 1000.0
}

impl CostOptimization {
    /// Solves the routing; `Err` holds the largest reachable reduction when the target is not.
    fn routing(&self, model: &TrafficModel, catalogue: &Catalogue) -> Result<Routing, f64> {
        let mut routing = Routing {
            own: Vec::new(),
            any: Vec::new(),
            share: Vec::new(),
        };
        let mut reachable = f64::INFINITY;
        for t in 0..model.tasks.len() {
            let cost = |m: usize| expected_cost(model, catalogue, t, m);
            let cheapest = |ms: &mut dyn Iterator<Item = usize>| {
                ms.min_by(|&x, &y| cost(x).total_cmp(&cost(y)).then(x.cmp(&y)))
                    .expect("providers have models")
            };
            let own: Vec<usize> = catalogue
                .providers
                .iter()
                .map(|p| cheapest(&mut p.models.iter().copied()))
                .collect();
            let any = cheapest(&mut (0..catalogue.models.len()));
            let mut before = 0.0;
            let mut after = 0.0;
            for (p, provider) in catalogue.providers.iter().enumerate() {
                let mean: f64 = provider.models.iter().map(|&m| cost(m)).sum::<f64>() / provider.models.len() as f64;
                before += provider.market_weight * mean;
                after += provider.market_weight
                    * ((1.0 - self.arbitrage_share) * cost(own[p]) + self.arbitrage_share * cost(any));
            }
            let max = (before - after) / before;
            reachable = reachable.min(max);
            routing.share.push(self.cost_reduction_target / max);
            routing.own.push(own);
            routing.any.push(any);
        }
        if routing.share.iter().any(|&s| s > 1.0) {
            return Err(reachable);
        }
        Ok(routing)
    }

    /// How far the change has gone at `t` days.
    fn progress(&self, t: f64) -> f64 {
        ((t - self.start_day as f64) / self.ramp_days as f64).clamp(0.0, 1.0)
    }
}

impl Effect for CostOptimization {
    fn check(&self, env: &Env) -> Checked {
        params::day("start_day", self.start_day, env.days)?;
        params::whole("ramp_days", self.ramp_days, 1, 3660)?;
        params::number("arbitrage_share", self.arbitrage_share, 0.0, 1.0)?;
        params::number("cache_share", self.cache_share, 0.0, 0.95)?;
        params::number("cost_reduction_target", self.cost_reduction_target, 0.0, 1.0)?;
        self.routing(env.model, env.catalogue).map(|_| ()).map_err(|max| {
            params::fail(
                "cost_reduction_target",
                format!(
                    "{} is not reachable with this catalogue: routing to the cheapest models lowers the cost per call by at most {:.3} for some task type",
                    self.cost_reduction_target, max
                ),
            )
        })
    }

    fn compile(&self, env: &Env, cohort: &CohortInfo, _r: &mut SimRng) -> Box<dyn Active> {
        Box::new(CostOptimizationActive {
            p: self.clone(),
            cohort: cohort.clone(),
            routing: self.routing(env.model, env.catalogue).expect("checked"),
            provider_of: env.catalogue.models.iter().map(|m| m.provider).collect(),
        })
    }
}

#[derive(Debug)]
struct CostOptimizationActive {
    p: CostOptimization,
    cohort: CohortInfo,
    routing: Routing,
    provider_of: Vec<usize>,
}

impl Active for CostOptimizationActive {
    fn day(&self, _c: &Customer, d: &DayInfo, _seed: u64, state: &mut DayState) {
        state.factor *= 1.0 - self.p.cache_share * self.p.progress(f64::from(d.day) + 0.5);
    }

    fn model(&self, _c: &Customer, t: f64, model: usize, task: usize, r: &mut SimRng) -> usize {
        let progress = self.p.progress(t);
        if progress == 0.0 || r.random::<f64>() >= self.routing.share[task] * progress {
            return model;
        }
        if r.random::<f64>() < self.p.arbitrage_share {
            self.routing.any[task]
        } else {
            self.routing.own[task][self.provider_of[model]]
        }
    }

    fn labels(&self, _customers: &[Customer], env: &Env, _seed: u64, out: &mut Vec<Label>) {
        let p = &self.p;
        out.push(Label {
            scenario: self.cohort.scenario.clone(),
            cohort: self.cohort.name.clone(),
            kind: "optimization".into(),
            subject_type: "cohort",
            subject: self.cohort.name.clone(),
            start_ms: utc_day_start_ms(env.start_date, p.start_day),
            end_ms: utc_day_start_ms(env.start_date, p.start_day + p.ramp_days),
            magnitude: p.cost_reduction_target,
            detail: format!(
                "cost per call −{:.0}% by routing ({:.0}% arbitrage), {:.0}% of calls cached",
                p.cost_reduction_target * 100.0,
                p.arbitrage_share * 100.0,
                p.cache_share * 100.0
            ),
        });
    }
}
