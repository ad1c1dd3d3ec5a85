//! Multi-tenant variability: the cohort's own organizations, each with its usage level and a
//! preferred provider (document 000, scenario 4).

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{Active, CohortInfo, Effect, Env, Label, utc_day_start_ms};
use crate::sim::calls::population::{Customer, organization_id};
use crate::sim::params::{self, Checked};
use crate::sim::rng::{SimRng, cumulative, pick};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Organizations {
    /// How many organizations the cohort's customers belong to.
    pub count: i64,
    /// Range of an organization's usage level, drawn log-uniformly (1–10: up to 10× apart), then
    /// scaled so the organizations' mean level is 1.
    pub usage_multiplier: [f64; 2],
    /// Share of an organization's calls that go to its preferred provider (the rest follow the
    /// market mix).
    pub provider_loyalty: f64,
}

impl Default for Organizations {
    fn default() -> Self {
        Organizations {
            count: 10,
            usage_multiplier: [1.0, 10.0],
            provider_loyalty: 0.6,
        }
    }
}

impl Effect for Organizations {
    fn check(&self, _env: &Env) -> Checked {
        params::whole("count", self.count, 1, 999)?;
        params::pair("usage_multiplier", self.usage_multiplier, 0.01, 1000.0)?;
        params::number("provider_loyalty", self.provider_loyalty, 0.0, 1.0)
    }

    fn compile(&self, env: &Env, cohort: &CohortInfo, r: &mut SimRng) -> Box<dyn Active> {
        let market = cumulative(env.catalogue.providers.iter().map(|p| p.market_weight));
        let [lo, hi] = self.usage_multiplier;
        let mut orgs: Vec<(f64, usize)> = (0..self.count as u32)
            .map(|_| {
                let level = (lo.ln() + (hi.ln() - lo.ln()) * r.random::<f64>()).exp();
                (level, pick(&market, r.random()))
            })
            .collect();
        // Levels are relative: scaled to a mean of 1, so the cohort's volume per customer stays
        // the base model's and a size target buys as many customers as in other cohorts.
        let mean = orgs.iter().map(|o| o.0).sum::<f64>() / orgs.len() as f64;
        for o in &mut orgs {
            o.0 /= mean;
        }
        Box::new(OrganizationsActive {
            p: self.clone(),
            cohort: cohort.clone(),
            orgs,
        })
    }
}

#[derive(Debug)]
struct OrganizationsActive {
    p: Organizations,
    cohort: CohortInfo,
    /// Per organization: usage multiplier and preferred provider.
    orgs: Vec<(f64, usize)>,
}

impl Active for OrganizationsActive {
    fn customer(&self, c: &mut Customer, r: &mut SimRng, env: &Env) {
        let k = r.random_range(0..self.orgs.len());
        let (level, preferred) = self.orgs[k];
        c.organization = self.cohort.organization_base + k as u32;
        c.state.factor *= level;
        let loyalty = self.p.provider_loyalty;
        c.provider_cdf = cumulative(
            env.catalogue
                .providers
                .iter()
                .enumerate()
                .map(|(i, p)| (1.0 - loyalty) * p.market_weight + if i == preferred { loyalty } else { 0.0 }),
        );
    }

    fn labels(&self, _customers: &[Customer], env: &Env, _seed: u64, out: &mut Vec<Label>) {
        for (k, (level, preferred)) in self.orgs.iter().enumerate() {
            out.push(Label {
                scenario: self.cohort.scenario.clone(),
                cohort: self.cohort.name.clone(),
                kind: "organization_profile".into(),
                subject_type: "organization",
                subject: organization_id(self.cohort.organization_base + k as u32),
                start_ms: utc_day_start_ms(env.start_date, 0),
                end_ms: utc_day_start_ms(env.start_date, i64::from(env.days)),
                magnitude: *level,
                detail: format!(
                    "usage ×{level:.2}, prefers {} for {:.0}% of calls",
                    env.catalogue.providers[*preferred].name,
                    self.p.provider_loyalty * 100.0
                ),
            });
        }
    }
}
