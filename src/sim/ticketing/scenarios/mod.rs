//! Ticketing scenarios: named combinations of modifiers over the one ticketing model.
//!
//! A scenario (one TOML file in `config/ticketing/scenarios/`, or inline in the run plan) has a
//! population (users at its natural scale, persona mix, events per attempts) and a list of
//! modifiers. A modifier changes one or more of:
//! - the arrival processes: a flash sale's phases, an attack's burst;
//! - a day's shape: persona rates, basket size, price sensitivity, channel mix, load, discounts;
//! - an attempt's price (an A/B test's variant);
//! - the decision service (degradation windows).
//!
//! Every hook is a pure function of its parameters and the time, so counts, contents and labels
//! do not depend on threads or shards, and modifiers compose: day shapes multiply, processes add.
//! Days are 0-based from the run's start date; clock times are Asia/Riyadh local.

mod ab_test;
mod attack;
mod black_friday;
pub mod degradation;
mod drift;
mod flash_sale;

use std::collections::BTreeMap;
use std::fmt::Debug;

use serde::{Deserialize, Serialize};

use super::catalogue::TicketCatalogue;
use super::events::PLATFORM_TZ;
use crate::sim::label::Label;
use crate::sim::params::{self, Checked};

pub use ab_test::AbTest;
pub use attack::Attack;
pub use black_friday::BlackFriday;
pub use degradation::Degradation;
pub use drift::Drift;
pub use flash_sale::{FlashSale, Phase};

/// A scenario: a name, a one-line description, its population and its modifiers.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioDef {
    pub name: String,
    pub description: String,
    /// `"natural"`: run alone (`--scenario`), the scenario runs at its own scale rather than the
    /// plan's size target (the flash sale at the document's 3M attempts).
    #[serde(default)]
    pub size: Option<String>,
    #[serde(default)]
    pub population: Population,
    #[serde(default)]
    pub modifiers: Vec<Modifier>,
}

/// Who shops in a scenario's cohort, and how many events they shop for.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Population {
    /// Users at the scenario's natural scale; a size target scales them.
    pub users: i64,
    /// Persona mix of the users (persona → share, summing to 1); the catalogue's by default.
    pub persona_mix: Option<BTreeMap<String, f64>>,
    /// Everyday shopping: persona-driven visits to the events on sale, all window long.
    pub everyday: bool,
    /// Attempts per event on sale: the cohort gets rows ÷ this many events, so supply follows
    /// demand at any size.
    pub attempts_per_event: f64,
    /// Most events in the cohort.
    pub max_events: i64,
}

impl Default for Population {
    fn default() -> Self {
        Population {
            users: 1_000_000,
            persona_mix: None,
            everyday: true,
            attempts_per_event: 800.0,
            max_events: 2_000,
        }
    }
}

impl Population {
    fn check(&self, env: &Env) -> Checked {
        params::whole("population.users", self.users, 1, 100_000_000)?;
        params::number("population.attempts_per_event", self.attempts_per_event, 1.0, 1e9)?;
        params::whole("population.max_events", self.max_events, 1, 100_000)?;
        if let Some(mix) = &self.persona_mix {
            for (name, w) in mix {
                params::one_of(
                    &format!("population.persona_mix.{name}"),
                    name,
                    env.catalogue.personas.iter().map(|p| p.name.as_str()),
                )?;
                params::number(&format!("population.persona_mix.{name}"), *w, 0.0, 1.0)?;
            }
            let sum: f64 = mix.values().sum();
            if (sum - 1.0).abs() > 1e-6 {
                return Err(params::fail(
                    "population.persona_mix",
                    format!("weights sum to {}; they must sum to 1", (sum * 1e6).round() / 1e6),
                ));
            }
        }
        Ok(())
    }

    /// The persona mix, in catalogue order.
    pub fn mix(&self, catalogue: &TicketCatalogue) -> Vec<f64> {
        match &self.persona_mix {
            None => catalogue.personas.iter().map(|p| p.share).collect(),
            Some(m) => catalogue
                .personas
                .iter()
                .map(|p| m.get(&p.name).copied().unwrap_or(0.0))
                .collect(),
        }
    }
}

impl ScenarioDef {
    /// Checks the population and every modifier; the error's key is relative to the scenario.
    pub fn check(&self, env: &Env) -> Checked {
        self.population.check(env)?;
        if let Some(size) = &self.size
            && size != "natural"
        {
            return Err(params::fail(
                "size",
                format!("\"{size}\" is not allowed: \"natural\", or leave it out"),
            ));
        }
        let flash = self
            .modifiers
            .iter()
            .filter(|m| matches!(m, Modifier::FlashSale(_)))
            .count();
        if flash > 1 {
            return Err(params::fail("modifiers", "at most one flash_sale per scenario"));
        }
        for (i, m) in self.modifiers.iter().enumerate() {
            m.check(env).map_err(|mut e| {
                e.key = format!("modifiers[{i}].{}", e.key);
                e.message = format!("{} (modifier `{}`)", e.message, m.kind());
                e
            })?;
        }
        Ok(())
    }
}

/// One modifier and its parameters. `kind` in TOML picks the variant.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Modifier {
    FlashSale(FlashSale),
    Attack(Attack),
    Drift(Drift),
    Degradation(Degradation),
    AbTest(AbTest),
    BlackFriday(BlackFriday),
}

impl Modifier {
    /// Every modifier kind with its default parameters, for `trafficsim scenarios`.
    pub fn defaults() -> Vec<Modifier> {
        vec![
            Modifier::FlashSale(Default::default()),
            Modifier::Attack(Default::default()),
            Modifier::Drift(Default::default()),
            Modifier::Degradation(Default::default()),
            Modifier::AbTest(Default::default()),
            Modifier::BlackFriday(Default::default()),
        ]
    }

    /// The `kind` name used in TOML.
    pub fn kind(&self) -> &'static str {
        match self {
            Modifier::FlashSale(_) => "flash_sale",
            Modifier::Attack(_) => "attack",
            Modifier::Drift(_) => "drift",
            Modifier::Degradation(_) => "degradation",
            Modifier::AbTest(_) => "ab_test",
            Modifier::BlackFriday(_) => "black_friday",
        }
    }

    /// One line on what the modifier does.
    pub fn summary(&self) -> &'static str {
        match self {
            Modifier::FlashSale(_) => "one mega event's sale in phases of requests per second, bots and a presale",
            Modifier::Attack(_) => "a fraud burst (credential stuffing, card testing, bot scalping) at its rate",
            Modifier::Drift(_) => "weekly shift of persona mix, basket size, price sensitivity and channels",
            Modifier::Degradation(_) => "windows in which the decision service slows down, errors and times out",
            Modifier::AbTest(_) => "users split into two price variants with a true effect on conversion",
            Modifier::BlackFriday(_) => "a day of extreme load across the events on sale, with discounts",
        }
    }

    fn effect(&self) -> &dyn Effect {
        match self {
            Modifier::FlashSale(m) => m,
            Modifier::Attack(m) => m,
            Modifier::Drift(m) => m,
            Modifier::Degradation(m) => m,
            Modifier::AbTest(m) => m,
            Modifier::BlackFriday(m) => m,
        }
    }

    /// Checks the parameters against the catalogue and the window.
    pub fn check(&self, env: &Env) -> Checked {
        self.effect().check(env)
    }
}

/// What modifiers are checked and compiled against.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    pub seed: u64,
    pub catalogue: &'a TicketCatalogue,
    /// Epoch ms of the window's first UTC midnight, and its length in days.
    pub start_ms: i64,
    pub days: u32,
}

impl Env<'_> {
    /// Epoch ms of local (Asia/Riyadh) time `hh:mm` on window day `day`.
    pub fn local_ms(&self, day: i64, clock: (u32, u32)) -> i64 {
        let offset = platform_offset_ms();
        self.start_ms + day * 86_400_000 + i64::from(clock.0) * 3_600_000 + i64::from(clock.1) * 60_000 - offset
    }

    /// Epoch ms of the window's end.
    pub fn end_ms(&self) -> i64 {
        self.start_ms + i64::from(self.days) * 86_400_000
    }
}

/// The platform zone's offset from UTC, ms (Asia/Riyadh keeps UTC+3 all year).
pub fn platform_offset_ms() -> i64 {
    use chrono::{Offset, TimeZone};
    let probe = chrono::DateTime::from_timestamp(0, 0).expect("epoch").naive_utc();
    i64::from(PLATFORM_TZ.offset_from_utc_datetime(&probe).fix().local_minus_utc()) * 1000
}

/// Parses a local clock time `HH:MM`.
pub fn parse_clock(key: &str, text: &str) -> Result<(u32, u32), params::ParamError> {
    let bad = || {
        params::fail(
            key,
            format!("\"{text}\" is not a clock time: use HH:MM from 00:00 to 23:59, e.g. \"12:00\""),
        )
    };
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (
        h.trim().parse().map_err(|_| bad())?,
        m.trim().parse().map_err(|_| bad())?,
    );
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok((h, m))
}

/// A day's shape as the modifiers leave it, for one cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct DayShape {
    /// Multiplier of each persona's everyday visit rate.
    pub persona_rate: Vec<f64>,
    /// Multiplier of the everyday visit rate of everyone.
    pub load: f64,
    /// Multiplier of every persona's mean tickets per order.
    pub basket: f64,
    /// Multiplier of every persona's price sensitivity.
    pub sensitivity: f64,
    /// Extra share of attempts made on mobile, and paid by wallet.
    pub mobile: f64,
    pub wallet: f64,
    /// A discount range replacing the dynamic price that day.
    pub discount: Option<[f64; 2]>,
}

impl DayShape {
    pub fn neutral(personas: usize) -> DayShape {
        DayShape {
            persona_rate: vec![1.0; personas],
            load: 1.0,
            basket: 1.0,
            sensitivity: 1.0,
            mobile: 0.0,
            wallet: 0.0,
            discount: None,
        }
    }
}

/// The decision service's state at a moment (degradation windows).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServiceState {
    pub latency_multiplier: f64,
    /// Extra share of 503 and of 504 answers.
    pub error_rate: f64,
    pub timeout_rate: f64,
}

/// A burst of arrivals a modifier adds to its cohort: a flash sale's phases or an attack.
#[derive(Debug, Clone, PartialEq)]
pub struct Burst {
    /// Pieces of constant rate: (start ms, end ms, attempts per second at the natural scale).
    pub pieces: Vec<(i64, i64, f64)>,
    pub kind: BurstKind,
    /// Whether a size target scales the rate (a flash sale's crowd) or not (an attack's rate is
    /// what defines it).
    pub scaled: bool,
}

/// Who arrives in a burst.
#[derive(Debug, Clone, PartialEq)]
pub enum BurstKind {
    /// The cohort's users rush one event; the first `presale_pieces` pieces are its presale
    /// (presale personas only). Bots get `bot_share` of the attempts.
    FlashSale { presale_pieces: usize, bot_share: f64 },
    /// A fraud pattern (index into the catalogue's patterns) with its success rate.
    Attack { pattern: usize, success_rate: f64 },
}

/// A modifier's parameters: checked, then compiled for one cohort.
pub trait Effect: Debug + Send + Sync {
    fn check(&self, env: &Env) -> Checked;
    fn compile(&self, env: &Env, cohort: &CohortInfo) -> Box<dyn Active>;
}

/// A modifier compiled for one cohort. Every hook is neutral by default.
pub trait Active: Debug + Send + Sync {
    /// Changes the shape of window day `day`.
    fn day(&self, _day: u32, _shape: &mut DayShape) {}
    /// Bursts of arrivals this modifier adds.
    fn bursts(&self) -> Vec<Burst> {
        Vec::new()
    }
    /// The flash sale's event: (presale opens, general sale opens), epoch ms.
    fn flash_event(&self) -> Option<FlashEvent> {
        None
    }
    /// The price variant of a user at `t`: (multiplier, treatment?) while a test runs.
    fn variant(&self, _user_key: u64, _t: i64) -> Option<(f64, bool)> {
        None
    }
    /// Changes the decision service at `t`.
    fn service(&self, _t: i64, _state: &mut ServiceState) {}
    /// Events this modifier injects, for the labels (subjects resolved by the caller's `names`).
    fn labels(&self, _names: &LabelNames, _out: &mut Vec<Label>) {}
}

/// A flash sale's one event.
#[derive(Debug, Clone, PartialEq)]
pub struct FlashEvent {
    pub presale_ms: i64,
    pub general_ms: i64,
    /// Restricts the event's category (indices into the catalogue's categories).
    pub categories: Vec<usize>,
    /// Attempts per seat: the event's capacity is the cohort's rows ÷ this.
    pub attempts_per_seat: f64,
}

/// Who a cohort is, for compiling modifiers and naming labels.
#[derive(Debug, Clone)]
pub struct CohortInfo {
    pub index: u16,
    pub name: String,
    pub scenario: String,
}

/// What labels need to name their subjects, known once the cohort is planned.
#[derive(Debug, Clone)]
pub struct LabelNames {
    pub cohort: CohortInfo,
    /// The flash sale's event id, when there is one.
    pub flash_event: Option<String>,
    /// The cohort's scale: its users ÷ the scenario's natural users.
    pub scale: f64,
    /// What an A/B test's true uplift depends on.
    pub uplift: UpliftTerms,
}

/// The model's terms behind a price test's true effect: per persona, how abandonment answers a
/// price, and per local day, who buys and how prices are drawn.
#[derive(Debug, Clone, Default)]
pub struct UpliftTerms {
    pub personas: Vec<PersonaTerms>,
    /// Per local day of the window.
    pub days: Vec<DayTerms>,
    pub elasticity: f64,
}

/// One persona's terms.
#[derive(Debug, Clone)]
pub struct PersonaTerms {
    pub abandonment: f64,
    pub sensitivity: f64,
    /// Mean tickets per order × mean ticket price: the revenue of a completed order.
    pub order_value: f64,
}

/// One day's terms.
#[derive(Debug, Clone)]
pub struct DayTerms {
    /// Expected legitimate everyday attempts of each persona that day.
    pub attempts: Vec<f64>,
    /// Price sensitivity multiplier that day (drift).
    pub sensitivity: f64,
    /// How the price multiplier is drawn: with probability `share`, 1 + U(range); else 1.
    pub dynamic_share: f64,
    pub dynamic_range: [f64; 2],
}

impl UpliftTerms {
    /// Expected conversion (share of legitimate attempts not abandoned) and revenue per attempt
    /// over local days `days`, with every price multiplied by `variant`.
    pub fn expected(&self, days: std::ops::Range<usize>, variant: f64) -> (f64, f64) {
        let (mut attempts, mut kept, mut revenue) = (0.0, 0.0, 0.0);
        for d in &self.days[days.start.min(self.days.len())..days.end.min(self.days.len())] {
            for (p, &n) in self.personas.iter().zip(&d.attempts) {
                let sens = p.sensitivity * d.sensitivity * self.elasticity;
                let abandon = |m: f64| (p.abandonment + sens * (m - 1.0)).clamp(0.0, MAX_ABANDONMENT);
                // The multiplier's distribution: 1 with probability 1 − share, else uniform.
                const STEPS: usize = 400;
                let [lo, hi] = d.dynamic_range;
                let (mut k_dyn, mut r_dyn) = (0.0, 0.0);
                for i in 0..STEPS {
                    let m = (1.0 + lo + (hi - lo) * (i as f64 + 0.5) / STEPS as f64) * variant;
                    k_dyn += 1.0 - abandon(m);
                    r_dyn += m * (1.0 - abandon(m));
                }
                let (k_dyn, r_dyn) = (k_dyn / STEPS as f64, r_dyn / STEPS as f64);
                let k = (1.0 - d.dynamic_share) * (1.0 - abandon(variant)) + d.dynamic_share * k_dyn;
                let r = (1.0 - d.dynamic_share) * variant * (1.0 - abandon(variant)) + d.dynamic_share * r_dyn;
                attempts += n;
                kept += n * k;
                revenue += n * r * p.order_value;
            }
        }
        if attempts == 0.0 {
            return (0.0, 0.0);
        }
        (kept / attempts, revenue / attempts)
    }
}

/// Abandonment never reaches 1: someone always buys.
pub const MAX_ABANDONMENT: f64 = 0.98;

impl LabelNames {
    /// A label of this cohort.
    #[allow(clippy::too_many_arguments)]
    pub fn label(
        &self,
        kind: &str,
        subject_type: &'static str,
        subject: impl Into<String>,
        start_ms: i64,
        end_ms: i64,
        magnitude: f64,
        detail: impl Into<String>,
    ) -> Label {
        Label {
            scenario: self.cohort.scenario.clone(),
            cohort: self.cohort.name.clone(),
            kind: kind.to_string(),
            subject_type,
            subject: subject.into(),
            start_ms,
            end_ms,
            magnitude,
            detail: detail.into(),
        }
    }
}

/// A scenario compiled for one cohort.
#[derive(Debug)]
pub struct CohortScenario {
    pub info: CohortInfo,
    pub population: Population,
    active: Vec<Box<dyn Active>>,
}

impl CohortScenario {
    pub fn new(def: &ScenarioDef, info: CohortInfo, env: &Env) -> CohortScenario {
        let active = def.modifiers.iter().map(|m| m.effect().compile(env, &info)).collect();
        CohortScenario {
            info,
            population: def.population.clone(),
            active,
        }
    }

    /// The shape of window day `day`, every modifier applied in order.
    pub fn day(&self, day: u32, personas: usize) -> DayShape {
        let mut shape = DayShape::neutral(personas);
        for a in &self.active {
            a.day(day, &mut shape);
        }
        shape
    }

    pub fn bursts(&self) -> Vec<Burst> {
        self.active.iter().flat_map(|a| a.bursts()).collect()
    }

    pub fn flash_event(&self) -> Option<FlashEvent> {
        self.active.iter().find_map(|a| a.flash_event())
    }

    pub fn variant(&self, user_key: u64, t: i64) -> Option<(f64, bool)> {
        self.active.iter().find_map(|a| a.variant(user_key, t))
    }

    /// The decision service at `t`.
    pub fn service(&self, t: i64) -> ServiceState {
        let mut s = ServiceState {
            latency_multiplier: 1.0,
            error_rate: 0.0,
            timeout_rate: 0.0,
        };
        for a in &self.active {
            a.service(t, &mut s);
        }
        s
    }

    /// Events the modifiers inject, for the labels.
    pub fn labels(&self, names: &LabelNames, out: &mut Vec<Label>) {
        for a in &self.active {
            a.labels(names, out);
        }
    }
}
