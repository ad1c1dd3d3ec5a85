//! A ticketing cohort, compiled: its users (a persona layout, generated on demand), its events,
//! and its arrival processes with their rates — the everyday process driven by each persona's
//! purchase frequency, the platform's day and the events on sale, plus the bursts its modifiers
//! add (a flash sale, attacks).

use std::ops::Range;

use super::catalogue::TicketCatalogue;
use super::events::{Event, EventSpec, Timeline, generate_events};
use super::model::TicketModel;
use super::scenarios::{Burst, BurstKind, CohortScenario, DayShape, Env, FlashEvent, platform_offset_ms};
use super::users::UserLayout;

/// Seconds in the month purchase frequencies are counted over.
const MONTH_SECONDS: f64 = 30.0 * 86_400.0;
const HOUR_MS: i64 = 3_600_000;

/// Which personas an event is on sale to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Presale personas (vip, enthusiast): the presale and the general sale.
    Presale = 0,
    /// Everyone else: the general sale only.
    General = 1,
}

/// A group of a crowd: a persona's bots or people, and the weight of their visits.
#[derive(Debug, Clone)]
pub struct Group {
    pub persona: usize,
    pub users: Range<u32>,
    pub bot: bool,
    pub weight: f64,
}

/// A cohort's flash-sale crowd: who arrives, with what weight, in the sale's bursts.
#[derive(Debug, Clone)]
pub struct Crowd {
    pub groups: Vec<Group>,
    /// Cumulative visit weights over `groups`, all of them and presale personas only.
    pub cdf_all: Vec<f64>,
    pub cdf_presale: Vec<f64>,
    /// Mean attempts per visit of the crowd, all and presale.
    pub attempts_all: f64,
    pub attempts_presale: f64,
}

/// Every event's sale curve as coefficients of two exponentials of time shared by all events:
/// rush × popularity × e^(−(t − open)/τ) = [rush × popularity × e^((open − t₀)/τ)] × e^(−(t − t₀)/τ),
/// and likewise the bump, so a slot costs two exponentials, not two per event.
#[derive(Debug, Clone, Default)]
pub struct SaleCurves {
    /// The reference instant t₀ (the window's start).
    pub origin_ms: i64,
    /// Per event: (rush coefficient, bump coefficient).
    pub coefficients: Vec<(f64, f64)>,
}

/// The two exponentials of [`SaleCurves`] at one instant.
#[derive(Debug, Clone, Copy)]
pub struct SaleClock {
    rush: f64,
    bump: f64,
}

impl SaleClock {
    pub fn at(curves: &SaleCurves, model: &TicketModel, t: i64) -> SaleClock {
        let c = &model.sale_curve;
        let hours = (t - curves.origin_ms) as f64 / HOUR_MS as f64;
        SaleClock {
            rush: (-hours / c.rush_hours).exp(),
            bump: (hours / c.bump_hours).exp(),
        }
    }
}

/// A ticketing cohort ready to generate.
#[derive(Debug)]
pub struct Cohort {
    pub index: u16,
    pub scenario: CohortScenario,
    pub layout: UserLayout,
    /// Users at the scenario's natural scale, and this run's scale (users ÷ natural users).
    pub natural_users: u32,
    pub scale: f64,
    pub events: Vec<Event>,
    /// The flash sale's event (index into `events`), when the cohort has one.
    pub flash_event: Option<u32>,
    pub crowd: Option<Crowd>,
    pub bursts: Vec<Burst>,
    /// Per UTC hour of the window, per persona: everyday visits per second.
    pub everyday: Vec<Vec<f64>>,
    /// Per local day of the window: the day's shape.
    pub days: Vec<DayShape>,
    /// Per event: its demand weight (capacity × demand index ^ exponent).
    pub weights: Vec<f64>,
    pub curves: SaleCurves,
    /// Per class: the window mean of the summed event weights (normalises excitement).
    excitement_mean: [f64; 2],
    /// Per persona: its class.
    pub classes: Vec<Class>,
}

/// The inputs to compile a cohort.
pub struct CohortInputs<'a> {
    pub env: &'a Env<'a>,
    pub model: &'a TicketModel,
    pub scenario: CohortScenario,
    /// Users this run gives the cohort, and its expected rows (sizes the events).
    pub users: u32,
    pub expected_rows: f64,
}

impl Cohort {
    pub fn new(inputs: CohortInputs<'_>) -> Cohort {
        let CohortInputs {
            env,
            model,
            scenario,
            users,
            expected_rows,
        } = inputs;
        let cat = env.catalogue;
        let index = scenario.info.index;
        let population = scenario.population.clone();
        let natural_users = population.users.max(1) as u32;
        let layout = UserLayout::new(index, users, &population.mix(cat), env.days, cat);
        let scale = f64::from(users) / f64::from(natural_users);
        let bursts = scenario.bursts();
        let flash = scenario.flash_event();

        // Events: the everyday ones sized to the rows (supply follows demand), then the flash
        // sale's mega event with seats for its crowd.
        let mut events = Vec::new();
        let flash_rows: f64 = bursts
            .iter()
            .filter(|b| matches!(b.kind, BurstKind::FlashSale { .. }))
            .map(|b| attempts(b) * if b.scaled { scale } else { 1.0 })
            .sum();
        if population.everyday {
            let everyday_rows = (expected_rows - flash_rows).max(0.0);
            let count = (everyday_rows / population.attempts_per_event)
                .round()
                .clamp(1.0, population.max_events as f64) as u32;
            let spec = EventSpec {
                cohort: index,
                count,
                class: None,
                categories: None,
                capacity: None,
                timeline: Timeline::Spread {
                    window_start_ms: env.start_ms,
                    window_end_ms: env.end_ms(),
                },
            };
            events = generate_events(cat, env.seed, &spec);
        }
        let flash_event = flash.map(|f: FlashEvent| {
            let capacity = (flash_rows / f.attempts_per_seat)
                .round()
                .clamp(10.0, f64::from(u32::MAX)) as u32;
            let spec = EventSpec {
                cohort: index,
                count: 1,
                class: Some(cat.popularity.mega()),
                categories: Some(f.categories.clone()).filter(|c| !c.is_empty()),
                capacity: Some(capacity),
                timeline: Timeline::Fixed {
                    presale_ms: f.presale_ms,
                    general_ms: f.general_ms,
                },
            };
            let i = events.len() as u32;
            let mut e = super::events::generate_event(cat, env.seed, &spec, i);
            e.index = i;
            events.push(e);
            i
        });

        let curve = &model.sale_curve;
        let weights: Vec<f64> = events
            .iter()
            .map(|e| f64::from(e.capacity) * e.demand.powf(curve.demand_exponent))
            .collect();
        let hours = |ms: i64| ms as f64 / HOUR_MS as f64;
        let curves = SaleCurves {
            origin_ms: env.start_ms,
            coefficients: events
                .iter()
                .map(|e| {
                    (
                        curve.rush * e.popularity * (hours(e.general_ms - env.start_ms) / curve.rush_hours).exp(),
                        curve.bump * (-hours(e.event_ms - env.start_ms) / curve.bump_hours).exp(),
                    )
                })
                .collect(),
        };
        let classes: Vec<Class> = cat
            .personas
            .iter()
            .map(|p| if p.presale { Class::Presale } else { Class::General })
            .collect();
        let local_days = env.days + 1;
        let days: Vec<DayShape> = (0..local_days).map(|d| scenario.day(d, cat.personas.len())).collect();

        let mut cohort = Cohort {
            index,
            scenario,
            layout,
            natural_users,
            scale,
            flash_event,
            crowd: None,
            bursts,
            everyday: Vec::new(),
            days,
            weights,
            curves,
            excitement_mean: [0.0; 2],
            classes,
            events,
        };
        cohort.crowd = cohort.flash_event.map(|_| cohort.crowd(cat));
        if population.everyday {
            cohort.everyday_rates(env, model);
        }
        cohort
    }

    /// Epoch ms of the window's UTC midnight, recovered from the env.
    fn everyday_rates(&mut self, env: &Env, model: &TicketModel) {
        let cat = env.catalogue;
        let hours = env.days * 24;
        let daily = model.daily.hour_factors();
        let offset_hours = (platform_offset_ms() / HOUR_MS) as u32;
        // Excitement per class and hour, from the events on sale at the hour's middle (the
        // everyday events; the flash sale's event has its own process).
        let everyday_events = self.events.len() - usize::from(self.flash_event.is_some());
        let mut excitement = vec![[0.0f64; 2]; hours as usize];
        for (h, x) in excitement.iter_mut().enumerate() {
            let mid = env.start_ms + h as i64 * HOUR_MS + HOUR_MS / 2;
            let clock = SaleClock::at(&self.curves, model, mid);
            for e in 0..everyday_events {
                for class in [Class::Presale, Class::General] {
                    x[class as usize] += self.event_weight_at(model, e, class, mid, &clock);
                }
            }
        }
        for class in 0..2 {
            self.excitement_mean[class] = excitement.iter().map(|x| x[class]).sum::<f64>() / f64::from(hours.max(1));
        }
        self.everyday = (0..hours)
            .map(|h| {
                let local = h + offset_hours;
                let (day, hour) = ((local / 24) as usize, (local % 24) as usize);
                let shape = &self.days[day.min(self.days.len() - 1)];
                cat.personas
                    .iter()
                    .enumerate()
                    .map(|(p, persona)| {
                        let class = self.classes[p] as usize;
                        let mean = self.excitement_mean[class];
                        if mean == 0.0 {
                            return 0.0;
                        }
                        let users = self.active_users(p, day as u32, cat);
                        let x = excitement[h as usize][class] / mean;
                        users as f64 * persona.purchase_frequency / MONTH_SECONDS
                            * daily[hour]
                            * x
                            * shape.persona_rate[p]
                            * shape.load
                    })
                    .collect()
            })
            .collect();
    }

    /// Users of persona `p` who may shop on local day `day`: its regular accounts and the fraud
    /// accounts active that day.
    pub fn active_users(&self, p: usize, day: u32, cat: &TicketCatalogue) -> u32 {
        let (regular, fraud) = self.active_ranges(p, day, cat);
        regular.len() as u32 + fraud.len() as u32
    }

    /// The two index ranges of persona `p`'s active users on local day `day`.
    pub fn active_ranges(&self, p: usize, day: u32, cat: &TicketCatalogue) -> (Range<u32>, Range<u32>) {
        let block = &self.layout.blocks[p];
        let regular = block.start + self.layout.fraud[p]..block.end;
        let day = day.min(self.layout.days.saturating_sub(1));
        (regular, self.layout.active_fraud(p, day, cat))
    }

    /// Demand weight of event `e` for `class` at `t`: zero outside its sale, a share of its
    /// weight in the presale, and in the general sale a rush after opening and a bump before
    /// the event.
    pub fn event_weight(&self, model: &TicketModel, e: usize, class: Class, t: i64) -> f64 {
        self.event_weight_at(model, e, class, t, &SaleClock::at(&self.curves, model, t))
    }

    /// [`Cohort::event_weight`] with the time's exponentials computed once for every event.
    pub fn event_weight_at(&self, model: &TicketModel, e: usize, class: Class, t: i64, clock: &SaleClock) -> f64 {
        let ev = &self.events[e];
        if t >= ev.event_ms || t < ev.presale_ms {
            return 0.0;
        }
        if t < ev.general_ms {
            return match class {
                Class::Presale => self.weights[e] * model.sale_curve.presale_weight,
                Class::General => 0.0,
            };
        }
        let (rush, bump) = self.curves.coefficients[e];
        self.weights[e] * (1.0 + rush * clock.rush) * (1.0 + bump * clock.bump)
    }

    /// The flash sale's crowd: every persona's bots and people, with the bots' visits weighted so
    /// that they make the sale's `bot_share` of its attempts.
    fn crowd(&self, cat: &TicketCatalogue) -> Crowd {
        let bot_share = self
            .bursts
            .iter()
            .find_map(|b| match b.kind {
                BurstKind::FlashSale { bot_share, .. } => Some(bot_share),
                _ => None,
            })
            .unwrap_or(0.0);
        let mut groups = Vec::new();
        for (p, block) in self.layout.blocks.iter().enumerate() {
            let bots = block.start..block.start + self.layout.bots[p];
            let people = bots.end..block.end;
            for (users, bot) in [(bots, true), (people, false)] {
                if !users.is_empty() {
                    groups.push(Group {
                        persona: p,
                        users,
                        bot,
                        weight: 1.0,
                    });
                }
            }
        }
        let k = |p: usize| cat.personas[p].attempts_per_visit;
        let mass = |bot: bool| -> f64 {
            groups
                .iter()
                .filter(|g| g.bot == bot)
                .map(|g| g.users.len() as f64 * k(g.persona))
                .sum()
        };
        let (bots, people) = (mass(true), mass(false));
        let bot_weight = if bots > 0.0 && people > 0.0 && bot_share > 0.0 {
            bot_share * people / ((1.0 - bot_share) * bots)
        } else {
            1.0
        };
        for g in &mut groups {
            g.weight = g.users.len() as f64 * if g.bot { bot_weight } else { 1.0 };
        }
        let presale = |g: &Group| cat.personas[g.persona].presale;
        let cdf_of = |filter: &dyn Fn(&Group) -> bool| {
            let w: Vec<f64> = groups.iter().map(|g| if filter(g) { g.weight } else { 0.0 }).collect();
            let total: f64 = w.iter().sum();
            let mean_k = if total > 0.0 {
                groups.iter().zip(&w).map(|(g, w)| w * k(g.persona)).sum::<f64>() / total
            } else {
                1.0
            };
            (super::catalogue::cdf(w.iter().copied()), mean_k)
        };
        let (cdf_all, attempts_all) = cdf_of(&|_| true);
        let (cdf_presale, attempts_presale) = cdf_of(&presale);
        Crowd {
            groups,
            cdf_all,
            cdf_presale,
            attempts_all,
            attempts_presale,
        }
    }

    /// The local (platform) day of `t`.
    pub fn local_day(&self, env_start_ms: i64, t: i64) -> u32 {
        (((t - env_start_ms + platform_offset_ms()) / 86_400_000).max(0) as u32).min(self.days.len() as u32 - 1)
    }
}

/// Attempts a burst makes at its natural rate.
pub fn attempts(b: &Burst) -> f64 {
    attempts_within(b, i64::MIN, i64::MAX)
}

/// Attempts a burst makes at its natural rate between `start` and `end` (epoch ms).
pub fn attempts_within(b: &Burst, start: i64, end: i64) -> f64 {
    b.pieces
        .iter()
        .map(|&(s, e, r)| r * (e.min(end) - s.max(start)).max(0) as f64 / 1000.0)
        .sum()
}
