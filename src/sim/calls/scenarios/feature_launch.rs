//! Feature launch: a new feature launches on a day with a spike of use, adopters take it up
//! along an S-curve over the first week, and it then adds steady usage (document 000,
//! scenario 8: 3–5× spike on launch day, 40% adoption, 2× baseline in steady state).
//!
//! The feature's calls come on top of the adopter's other calls: its rate is `usage_uplift`
//! times theirs (`launch_spike` times that on launch day, when every future adopter tries it).

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{
    ADOPTION_SEQUENCE, Active, CohortInfo, DayInfo, DayState, Effect, Env, Label, local_day_start_ms, selected,
    utc_day_start_ms,
};
use crate::sim::calls::population::Customer;
use crate::sim::params::{self, Checked, lerp};
use crate::sim::rng::SimRng;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeatureLaunch {
    /// The new feature's id; added to the traffic model if it is not one of its features.
    pub feature: String,
    /// Task type of the feature's calls.
    pub task: String,
    pub launch_day: i64,
    /// Share of the cohort's customers who adopt the feature.
    pub adoption_rate: f64,
    /// Days over which adopters take it up (an S-curve centred on the middle).
    pub adoption_days: i64,
    /// Launch-day use relative to steady use, drawn once per cohort from this range.
    pub launch_spike: [f64; 2],
    /// Steady feature calls as a share of an adopter's other calls (1 = usage doubles).
    pub usage_uplift: f64,
}

impl Default for FeatureLaunch {
    fn default() -> Self {
        FeatureLaunch {
            feature: "ai_assistant".into(),
            task: "chat".into(),
            launch_day: 10,
            adoption_rate: 0.40,
            adoption_days: 7,
            launch_spike: [3.0, 5.0],
            usage_uplift: 1.0,
        }
    }
}

impl Effect for FeatureLaunch {
    fn check(&self, env: &Env) -> Checked {
        if self.feature.is_empty() || !self.feature.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(params::fail(
                "feature",
                format!("\"{}\" is not allowed: use letters, digits and `_`", self.feature),
            ));
        }
        params::one_of("task", &self.task, env.model.tasks.iter().map(|t| t.name.as_str()))?;
        if let Some(f) = env.model.features.iter().find(|f| f.id == self.feature)
            && env.model.tasks[f.task].name != self.task
        {
            return Err(params::fail(
                "task",
                format!(
                    "feature `{}` already exists with task `{}`",
                    self.feature, env.model.tasks[f.task].name
                ),
            ));
        }
        params::day("launch_day", self.launch_day, env.days)?;
        params::number("adoption_rate", self.adoption_rate, 0.0, 1.0)?;
        params::whole("adoption_days", self.adoption_days, 1, 365)?;
        params::pair("launch_spike", self.launch_spike, 1.0, 100.0)?;
        params::number("usage_uplift", self.usage_uplift, 0.01, 100.0)
    }

    fn compile(&self, env: &Env, cohort: &CohortInfo, r: &mut SimRng) -> Box<dyn Active> {
        let feature = env
            .model
            .features
            .iter()
            .position(|f| f.id == self.feature)
            .expect("the config adds launched features to the model");
        Box::new(FeatureLaunchActive {
            p: self.clone(),
            cohort: cohort.clone(),
            feature,
            spike: lerp(self.launch_spike, r.random()),
        })
    }
}

#[derive(Debug)]
struct FeatureLaunchActive {
    p: FeatureLaunch,
    cohort: CohortInfo,
    feature: usize,
    spike: f64,
}

impl Active for FeatureLaunchActive {
    fn customer(&self, c: &mut Customer, r: &mut SimRng, env: &Env) {
        let adopter = selected(
            env.seed,
            c.cohort,
            2,
            c.index_in_cohort,
            ADOPTION_SEQUENCE,
            self.p.adoption_rate,
        );
        if adopter {
            // Logistic quantile: about 95% of adopters within `adoption_days` of the launch.
            let u: f64 = r.random_range(1e-9..1.0 - 1e-9);
            let days = self.p.adoption_days as f64;
            let delay = (days / 2.0 + (u / (1.0 - u)).ln() * days / 7.3).clamp(0.0, 4.0 * days);
            c.state.adopt_day = Some((self.p.launch_day as f64 + delay).floor() as i32);
        }
    }

    fn day(&self, c: &Customer, d: &DayInfo, _seed: u64, state: &mut DayState) {
        let Some(adopt) = c.state.adopt_day else { return };
        let launch = self.p.launch_day as i32;
        if d.day == launch {
            state.feature_extra += self.spike * self.p.usage_uplift;
        } else if d.day > launch && d.day >= adopt {
            state.feature_extra += self.p.usage_uplift;
        }
    }

    fn launched_feature(&self) -> Option<usize> {
        Some(self.feature)
    }

    fn labels(&self, customers: &[Customer], env: &Env, _seed: u64, out: &mut Vec<Label>) {
        let adopters = customers.iter().filter(|c| c.state.adopt_day.is_some()).count();
        out.push(Label {
            scenario: self.cohort.scenario.clone(),
            cohort: self.cohort.name.clone(),
            kind: "feature_launch".into(),
            subject_type: "feature",
            subject: self.p.feature.clone(),
            start_ms: utc_day_start_ms(env.start_date, self.p.launch_day),
            end_ms: utc_day_start_ms(env.start_date, self.p.launch_day + 1),
            magnitude: self.spike,
            detail: format!(
                "{:.1}x launch-day spike; {adopters} of {} customers adopt ({:.0}% target) over {} days",
                self.spike,
                customers.len(),
                self.p.adoption_rate * 100.0,
                self.p.adoption_days
            ),
        });
        for c in customers {
            let Some(day) = c.state.adopt_day else { continue };
            let tz = env.model.timezones[c.timezone as usize].tz;
            out.push(Label {
                scenario: self.cohort.scenario.clone(),
                cohort: self.cohort.name.clone(),
                kind: "feature_adoption".into(),
                subject_type: "customer",
                subject: c.id.clone(),
                start_ms: local_day_start_ms(tz, env.start_date, day.max(self.p.launch_day as i32 + 1), 0),
                end_ms: utc_day_start_ms(env.start_date, i64::from(env.days)),
                magnitude: self.p.usage_uplift,
                detail: format!("adopts {} on local day {day}", self.p.feature),
            });
        }
    }
}
