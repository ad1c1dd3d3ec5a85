//! Scenarios: named combinations of modifiers over the one traffic model.
//!
//! A scenario (declared in TOML: `config/scenarios/*.toml` or inline in the run plan) is a list
//! of modifiers, each with its parameters. A modifier changes one or more of:
//! - the population: who the cohort's customers are (time zones, organizations, churn, adopters);
//! - the hourly rate λ(customer, hour), through a day factor and an hour factor;
//! - the call content: which model or feature a call uses.
//!
//! Every modifier is a pure function of (seed, cohort, customer, day/hour/call stream), so the
//! planner can count calls without generating them, scenarios compose by multiplying their
//! factors, and the output does not depend on threads or shards. Each modifier also writes the
//! events it injects to the `labels` dataset (ground truth for detectors).
//!
//! Days in parameters are 0-based offsets from the run's start date (day 0 is the start date),
//! like the product documents' `launch_day = 10`.

mod burst;
mod cost_optimization;
mod day_multiplier;
mod decline;
mod feature_launch;
mod growth;
mod migration;
mod multi_tenant;

mod seasonal;
mod timezones;
mod viral;
mod weekend;

use std::fmt::Debug;

use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::catalogue::Catalogue;
use super::model::TrafficModel;
use super::population::Customer;
use crate::sim::calendar::{Segment, start_utc};
use crate::sim::params::Checked;
use crate::sim::rng::{self, Domain, SimRng};

pub use crate::sim::label::Label;

pub use crate::sim::params::ParamError;

/// A scenario: a name, a one-line description and its modifiers, applied in order.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioDef {
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub modifiers: Vec<Modifier>,
}

impl ScenarioDef {
    /// Organizations the scenario gives its cohort of its own (numbered after the shared ones).
    pub fn own_organizations(&self) -> u32 {
        self.modifiers
            .iter()
            .map(|m| match m {
                Modifier::Organizations(o) => o.count.max(0) as u32,
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }
}

/// One modifier and its parameters. `kind` in TOML picks the variant.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Modifier {
    Seasonal(seasonal::Seasonal),
    Burst(burst::Burst),
    Decline(decline::Decline),
    Organizations(multi_tenant::Organizations),
    Migration(migration::Migration),
    Weekend(weekend::Weekend),
    Timezones(timezones::Timezones),
    FeatureLaunch(feature_launch::FeatureLaunch),
    CostOptimization(cost_optimization::CostOptimization),
    Growth(growth::Growth),
    Viral(viral::Viral),
    DayMultiplier(day_multiplier::DayMultiplier),
}

impl Modifier {
    /// Every modifier kind with its default parameters, for `trafficsim scenarios`.
    pub fn defaults() -> Vec<Modifier> {
        vec![
            Modifier::Seasonal(Default::default()),
            Modifier::Burst(Default::default()),
            Modifier::Decline(Default::default()),
            Modifier::Organizations(Default::default()),
            Modifier::Migration(Default::default()),
            Modifier::Weekend(Default::default()),
            Modifier::Timezones(Default::default()),
            Modifier::FeatureLaunch(Default::default()),
            Modifier::CostOptimization(Default::default()),
            Modifier::Growth(Default::default()),
            Modifier::Viral(Default::default()),
            Modifier::DayMultiplier(Default::default()),
        ]
    }

    /// The `kind` name used in TOML.
    pub fn kind(&self) -> &'static str {
        match self {
            Modifier::Seasonal(_) => "seasonal",
            Modifier::Burst(_) => "burst",
            Modifier::Decline(_) => "decline",
            Modifier::Organizations(_) => "organizations",
            Modifier::Migration(_) => "migration",
            Modifier::Weekend(_) => "weekend",
            Modifier::Timezones(_) => "timezones",
            Modifier::FeatureLaunch(_) => "feature_launch",
            Modifier::CostOptimization(_) => "cost_optimization",
            Modifier::Growth(_) => "growth",
            Modifier::Viral(_) => "viral",
            Modifier::DayMultiplier(_) => "day_multiplier",
        }
    }

    /// One line on what the modifier does.
    pub fn summary(&self) -> &'static str {
        match self {
            Modifier::Seasonal(_) => "weekly, daily and monthly cycles of the call rate",
            Modifier::Burst(_) => "random customer-days with a 1-3 hour spike of several times the rate",
            Modifier::Decline(_) => "daily decline of usage; a share of customers churn on random days",
            Modifier::Organizations(_) => "own organizations with different usage levels and preferred providers",
            Modifier::Migration(_) => "S-curve shift of a workload from a source model to a target model",
            Modifier::Weekend(_) => "Saturday, Sunday and holiday volumes, Friday-afternoon taper",
            Modifier::Timezones(_) => "customers' home time zones (local business hours, real DST)",
            Modifier::FeatureLaunch(_) => "a new feature: launch-day spike, S-curve adoption, extra usage",
            Modifier::CostOptimization(_) => "routing to cheaper models and caching, ramped in from a start day",
            Modifier::Growth(_) => "compounding daily growth of every customer's usage",
            Modifier::Viral(_) => "compounding growth to a peak day, then decay",
            Modifier::DayMultiplier(_) => "multiplies the rate on listed days (e.g. a holiday spike)",
        }
    }

    fn effect(&self) -> &dyn Effect {
        match self {
            Modifier::Seasonal(m) => m,
            Modifier::Burst(m) => m,
            Modifier::Decline(m) => m,
            Modifier::Organizations(m) => m,
            Modifier::Migration(m) => m,
            Modifier::Weekend(m) => m,
            Modifier::Timezones(m) => m,
            Modifier::FeatureLaunch(m) => m,
            Modifier::CostOptimization(m) => m,
            Modifier::Growth(m) => m,
            Modifier::Viral(m) => m,
            Modifier::DayMultiplier(m) => m,
        }
    }

    /// Checks the parameters against the traffic model, the catalogue and the window.
    pub fn check(&self, env: &Env) -> Checked {
        self.effect().check(env)
    }
}

/// What modifiers are checked and compiled against.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    pub seed: u64,
    pub model: &'a TrafficModel,
    pub catalogue: &'a Catalogue,
    pub start_date: NaiveDate,
    pub days: u32,
}

/// What a customer's day looks like to the modifiers.
#[derive(Debug, Clone, Copy)]
pub struct DayInfo {
    /// Local day, 0-based from the start date.
    pub day: i32,
    /// 0 = Monday.
    pub weekday: u8,
    /// 1-based day of the month, and the month's length.
    pub month_day: u8,
    pub month_len: u8,
    pub weekend: bool,
}

impl DayInfo {
    pub fn of(seg: &Segment) -> DayInfo {
        DayInfo {
            day: seg.local_day,
            weekday: seg.weekday,
            month_day: seg.month_day,
            month_len: seg.month_len,
            weekend: seg.weekend,
        }
    }
}

/// A customer-day as the modifiers leave it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DayState {
    /// The local day, 0-based from the start date.
    pub local_day: i32,
    /// Multiplier of the day's rate.
    pub factor: f64,
    /// A burst on this day: local hours `[start, end)` at `multiplier`.
    pub burst: Option<(u8, u8, f64)>,
    /// Extra rate for a launched feature, as a share of the rest (0 = none).
    pub feature_extra: f64,
    /// The day's volume relative to a weekday, when a scenario sets it; it then replaces the
    /// base model's weekend factor.
    pub weekday_share: Option<f64>,
}

/// What scenarios add to a customer.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerState {
    /// Static multiplier of the rate (e.g. the organization's usage level).
    pub factor: f64,
    /// First local day without calls.
    pub churn_day: Option<i32>,
    /// Natural log of the daily growth factor (negative for decline).
    pub log_trend: f64,
    /// Local day from which the customer uses the launched feature.
    pub adopt_day: Option<i32>,
    /// Saturday, Sunday and holiday volume relative to a weekday, when a scenario sets them.
    pub weekend: Option<[f64; 3]>,
}

impl Default for CustomerState {
    fn default() -> Self {
        CustomerState {
            factor: 1.0,
            churn_day: None,
            log_trend: 0.0,
            adopt_day: None,
            weekend: None,
        }
    }
}

/// What a modifier does. Every hook has a neutral default, so a modifier implements only the
/// parts of the model it changes.
pub trait Effect: Debug + Send + Sync {
    /// Checks the parameters.
    fn check(&self, env: &Env) -> Checked;
    /// Compiles instance-level state (draws made once per cohort, resolved names).
    fn compile(&self, env: &Env, cohort: &CohortInfo, r: &mut SimRng) -> Box<dyn Active>;
}

/// A modifier compiled for one cohort.
pub trait Active: Debug + Send + Sync {
    /// Adjusts a new customer (population modifiers); `r` is the customer's own stream for this
    /// modifier.
    fn customer(&self, _c: &mut Customer, _r: &mut SimRng, _env: &Env) {}
    /// Multiplies the day factor of a customer's local day, or sets day-level state.
    fn day(&self, _c: &Customer, _d: &DayInfo, _seed: u64, _state: &mut DayState) {}
    /// Multiplier of one piece of an hour.
    fn hour(&self, _c: &Customer, _seg: &Segment, _state: &DayState) -> f64 {
        1.0
    }
    /// Replaces the model a call uses. `t` is the call's time in days since the window start.
    fn model(&self, _c: &Customer, _t: f64, model: usize, _task: usize, _r: &mut SimRng) -> usize {
        model
    }
    /// The launched feature, when this modifier launches one.
    fn launched_feature(&self) -> Option<usize> {
        None
    }
    /// Events this modifier injects for `customers` of the cohort.
    fn labels(&self, _customers: &[Customer], _env: &Env, _seed: u64, _out: &mut Vec<Label>) {}
}

/// Who a cohort is, for compiling modifiers and naming labels.
#[derive(Debug, Clone)]
pub struct CohortInfo {
    pub index: u16,
    pub name: String,
    pub scenario: String,
    /// First organization index this cohort may give its own organizations.
    pub organization_base: u32,
}

/// A scenario compiled for one cohort: what the generator consults on its hot path.
#[derive(Debug)]
pub struct CohortScenario {
    pub info: CohortInfo,
    active: Vec<Box<dyn Active>>,
    launched_feature: Option<usize>,
}

impl CohortScenario {
    pub fn new(def: &ScenarioDef, info: CohortInfo, env: &Env, seed: u64) -> CohortScenario {
        let active: Vec<Box<dyn Active>> = def
            .modifiers
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mut r = rng::stream(seed, Domain::Scenario, u64::from(info.index), i as u64);
                m.effect().compile(env, &info, &mut r)
            })
            .collect();
        let launched_feature = active.iter().find_map(|a| a.launched_feature());
        CohortScenario {
            info,
            active,
            launched_feature,
        }
    }

    /// True when no modifier is active (the base traffic): the generator's fast path.
    pub fn is_neutral(&self) -> bool {
        self.active.is_empty()
    }

    pub fn customer(&self, c: &mut Customer, seed: u64, env: &Env) {
        for (i, a) in self.active.iter().enumerate() {
            let mut r = rng::stream(seed, Domain::ScenarioCustomer, c.key(), i as u64);
            a.customer(c, &mut r, env);
        }
    }

    /// The day-level state of a customer's local day.
    pub fn day(&self, c: &Customer, d: &DayInfo, seed: u64) -> DayState {
        let mut state = DayState {
            local_day: d.day,
            factor: c.state.factor,
            burst: None,
            feature_extra: 0.0,
            weekday_share: None,
        };
        if let Some(churn) = c.state.churn_day
            && d.day >= churn
        {
            state.factor = 0.0;
            return state;
        }
        if c.state.log_trend != 0.0 {
            state.factor *= (c.state.log_trend * f64::from(d.day.max(0))).exp();
        }
        for a in &self.active {
            a.day(c, d, seed, &mut state);
        }
        state
    }

    /// The hour-level multiplier of a piece of an hour, including a launched feature's extra.
    pub fn hour(&self, c: &Customer, seg: &Segment, state: &DayState) -> f64 {
        let mut f = 1.0 + state.feature_extra;
        for a in &self.active {
            f *= a.hour(c, seg, state);
        }
        f
    }

    /// The model a call uses after every modifier has had its say.
    pub fn model(&self, c: &Customer, t: f64, mut model: usize, task: usize, r: &mut SimRng) -> usize {
        for a in &self.active {
            model = a.model(c, t, model, task, r);
        }
        model
    }

    /// The launched feature, if the call is one of its calls: the extra share of the day.
    pub fn launched_feature(&self, state: &DayState, r: &mut SimRng) -> Option<usize> {
        use rand::RngExt;
        let f = self.launched_feature?;
        if state.feature_extra <= 0.0 {
            return None;
        }
        (r.random::<f64>() < state.feature_extra / (1.0 + state.feature_extra)).then_some(f)
    }

    pub fn labels(&self, customers: &[Customer], env: &Env, seed: u64, out: &mut Vec<Label>) {
        for a in &self.active {
            a.labels(customers, env, seed, out);
        }
    }
}

/// Low-discrepancy constants for selecting an exact share of a cohort's customers. They differ
/// from the golden ratio used for archetypes (and from each other), so a selection does not
/// line up with the archetype or tier mix.
pub const CHURN_SEQUENCE: f64 = 0.754_877_666_246_692_7;
pub const ADOPTION_SEQUENCE: f64 = 0.569_840_290_998_053_2;

/// True when customer `index` falls in the first `share` of a Weyl sequence with step `alpha`.
pub fn selected(seed: u64, cohort: u16, salt: u64, index: u32, alpha: f64, share: f64) -> bool {
    use rand::RngExt;
    let offset: f64 = rng::stream(seed, Domain::Scenario, u64::from(cohort) | (salt << 32), u64::MAX).random();
    (offset + f64::from(index) * alpha).fract() < share
}

/// Epoch milliseconds of local midnight starting local day `day` in `tz`.
pub fn local_day_start_ms(tz: chrono_tz::Tz, start: NaiveDate, day: i32, hour: u32) -> i64 {
    let date = start + TimeDelta::days(i64::from(day));
    let naive = date.and_hms_opt(hour.min(23), 0, 0).expect("valid hour");
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.with_timezone(&Utc).timestamp_millis()
        }
        // A local time skipped by daylight saving: take the instant an hour later.
        chrono::LocalResult::None => {
            let later = naive + TimeDelta::hours(1);
            tz.from_local_datetime(&later)
                .earliest()
                .map(|t| t.with_timezone(&Utc).timestamp_millis())
                .unwrap_or_else(|| start_utc(date).timestamp_millis())
        }
    }
}

/// Epoch milliseconds of UTC midnight starting window day `day`.
pub fn utc_day_start_ms(start: NaiveDate, day: i64) -> i64 {
    start_utc(start).timestamp_millis() + day * 86_400_000
}
