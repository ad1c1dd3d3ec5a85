//! Plan, then execute: from the run settings to a ticketing plan — each cohort's scale, users and
//! events, the slot grid, and the time-slice units with each cohort's position in its attempt
//! sequence.
//!
//! A cohort's size target is met by scaling its population: users, and with them the everyday
//! visit rates and a flash sale's crowd, grow with the rows asked for, and the number of events
//! grows with them (supply follows demand); an attack's rate stays what it is. The planner draws
//! every slot's attempt counts exactly from the count streams, raises a cohort's scale until it
//! has at least its share, then thins the surplus evenly (see `sim::units`). At the natural size
//! nothing is thinned.

use std::ops::Range;

use rayon::prelude::*;

use super::attempt::{Attempt, Slot};
use super::cohort::{Cohort, CohortInputs, attempts_within};
use super::event_chooser::EventChooser;
use super::model::TicketModel;
use super::scenarios::{CohortInfo, CohortScenario, Env, ScenarioDef};
use super::traffic::TicketGenerator;
use crate::sim::units::{self, CohortRows, UnitBuilder, group_consecutive};

/// Most attempts a slot is expected to hold; busier pieces are split.
const SLOT_ATTEMPTS: f64 = 2_048.0;
/// Rounds of moving a cohort's scale toward its target.
const SCALE_ROUNDS: usize = 40;
/// The most a cohort aims to simulate beyond its target (the rest is thinned evenly).
const THIN_SLACK: f64 = 0.03;
/// Fewest users a cohort keeps, however small the target.
const MIN_USERS: u32 = 20;
const HOUR_MS: i64 = 3_600_000;

/// A problem that makes a plan impossible.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TicketPlanError {
    #[error(
        "cohort `{0}` makes no attempts in the window: its bursts (flash_sale, attack) fall outside it and it has no everyday shopping; lengthen the window (--days) or leave the scenario out (--scenario)"
    )]
    Empty(String),
    #[error(
        "cohort `{cohort}` cannot reach {needed} rows: it would need {users} users, and a cohort holds at most {max}"
    )]
    Unreachable {
        cohort: String,
        needed: u64,
        users: u64,
        max: u64,
    },
    #[error("the run needs {0} time slots, more than the 1048576 a run may have: shorten the window or lower the size")]
    TooManySlots(usize),
    #[error("at most 255 cohorts are supported, got {0}")]
    TooManyCohorts(usize),
}

/// What a ticketing unit covers: consecutive slots of one UTC day.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketSpan {
    pub slots: Range<u32>,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// A ticketing work unit.
pub type Unit = units::Unit<TicketSpan>;

/// A cohort in the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct CohortPlan {
    pub name: String,
    pub scenario: String,
    /// Attempts simulated, and rows kept after thinning.
    pub simulated: u64,
    pub rows: u64,
}

/// What a ticketing run generates, in order.
#[derive(Debug, Clone)]
pub struct TicketPlan {
    pub slots: Vec<Slot>,
    pub cohorts: Vec<CohortPlan>,
    pub units: Vec<Unit>,
    pub rows: u64,
}

/// How big the run is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rows {
    /// Exactly this many rows, shared among cohorts by share.
    Exact(u64),
    /// Every cohort at its scenario's natural scale; nothing thinned.
    Natural,
}

/// A cohort to plan: its scenario, its share of the rows and who it is.
pub struct PlanCohort {
    pub info: CohortInfo,
    pub share: f64,
    pub def: ScenarioDef,
}

/// Plans a run: compiles the cohorts at the scale the size asks for, and cuts the window into
/// units. Returns the generator the plan is for.
pub fn plan<'a>(
    env: &'a Env<'a>,
    model: &'a TicketModel,
    cohorts: Vec<PlanCohort>,
    size: Rows,
    unit_rows: u64,
) -> Result<(TicketGenerator<'a>, TicketPlan), TicketPlanError> {
    if cohorts.len() > 255 {
        return Err(TicketPlanError::TooManyCohorts(cohorts.len()));
    }
    let shares: Vec<f64> = cohorts.iter().map(|c| c.share).collect();
    let names: Vec<(String, String)> = cohorts
        .iter()
        .map(|c| (c.info.name.clone(), c.info.scenario.clone()))
        .collect();

    // Each cohort at its natural scale: what it makes, and how much of that a size target scales
    // (estimated with events for a rough target, then again with the events of the real one).
    let rough: Vec<(f64, f64)> = cohorts.iter().map(|c| natural_rows(env, model, c, None)).collect();
    let targets: Vec<f64> = match size {
        Rows::Exact(n) => units::cohort_targets(&shares, n)
            .into_iter()
            .map(|t| t as f64)
            .collect(),
        Rows::Natural => rough.iter().map(|n| n.0).collect(),
    };
    let naturals: Vec<(f64, f64)> = cohorts
        .iter()
        .zip(&targets)
        .map(|(c, &t)| natural_rows(env, model, c, Some(t)))
        .collect();
    let mut compiled: Vec<Cohort> = Vec::with_capacity(cohorts.len());
    let mut scales = Vec::with_capacity(cohorts.len());
    for (k, c) in cohorts.iter().enumerate() {
        let (natural, fixed) = naturals[k];
        if natural <= 0.0 {
            return Err(TicketPlanError::Empty(c.info.name.clone()));
        }
        let scale = match size {
            Rows::Natural => 1.0,
            // Aim a little above the target: what is drawn must reach it, the rest is thinned.
            Rows::Exact(_) if natural - fixed > 0.0 => {
                ((targets[k] - fixed) / (natural - fixed)).max(0.0) * (1.0 + THIN_SLACK / 3.0)
            }
            Rows::Exact(_) => 1.0,
        };
        scales.push(scale);
        compiled.push(compile(env, model, c, scale, targets[k]));
    }
    let mut generator = TicketGenerator::new(env, model, compiled);
    let slots = slot_grid(&generator)?;

    // Draw every cohort's counts; move a cohort's scale until it holds its target, with at most
    // a few percent to thin.
    let mut counts: Vec<Vec<u64>> = (0..generator.cohorts.len())
        .map(|k| count(&generator, k, &slots))
        .collect();
    if let Rows::Exact(_) = size {
        for k in 0..generator.cohorts.len() {
            let (natural, fixed) = naturals[k];
            let need = targets[k] as u64;
            for round in 0..SCALE_ROUNDS {
                let have: u64 = counts[k].iter().sum();
                let over = have as f64 > need as f64 * (1.0 + THIN_SLACK);
                if have >= need && (!over || round >= SCALE_ROUNDS / 2 || natural - fixed <= 0.0) {
                    break;
                }
                let scalable = (have as f64 - fixed).max(1.0);
                let ratio = ((need as f64 - fixed).max(1.0) / scalable) * (1.0 + THIN_SLACK / 3.0);
                scales[k] = if natural - fixed > 0.0 && scales[k] > 0.0 {
                    scales[k] * ratio
                } else {
                    scales[k].max(1e-6) * 2.0
                };
                let users = users_for(cohorts[k].def.population.users, scales[k]);
                if u64::from(users) >= u64::from(u32::MAX) / 2 {
                    return Err(TicketPlanError::Unreachable {
                        cohort: names[k].0.clone(),
                        needed: need,
                        users: u64::from(users),
                        max: u64::from(u32::MAX) / 2,
                    });
                }
                generator.cohorts[k] = compile(env, model, &cohorts[k], scales[k], targets[k]);
                counts[k] = count(&generator, k, &slots);
            }
        }
    }

    let totals: Vec<u64> = counts.iter().map(|c| c.iter().sum()).collect();
    let rows_of: Vec<u64> = match size {
        Rows::Exact(_) => targets.iter().map(|t| *t as u64).collect(),
        Rows::Natural => totals.clone(),
    };
    for (k, (&have, &need)) in totals.iter().zip(&rows_of).enumerate() {
        if have < need {
            return Err(TicketPlanError::Unreachable {
                cohort: names[k].0.clone(),
                needed: need,
                users: u64::from(generator.cohorts[k].layout.total),
                max: u64::from(u32::MAX) / 2,
            });
        }
    }
    let cohort_plans: Vec<CohortPlan> = names
        .into_iter()
        .zip(totals.iter().zip(&rows_of))
        .map(|((name, scenario), (&simulated, &rows))| CohortPlan {
            name,
            scenario,
            simulated,
            rows,
        })
        .collect();
    let units = plan_units(&generator, &slots, &counts, &cohort_plans, unit_rows);
    let rows = cohort_plans.iter().map(|c| c.rows).sum();
    Ok((
        generator,
        TicketPlan {
            slots,
            cohorts: cohort_plans,
            units,
            rows,
        },
    ))
}

/// A cohort's expected attempts at its natural scale, and how many of them no size target scales
/// (attacks), with the events a cohort of `rows` rows has (one event when unknown: excitement is
/// normalised to a mean of 1, so the events change the rate only through its timing).
fn natural_rows(env: &Env, model: &TicketModel, c: &PlanCohort, rows: Option<f64>) -> (f64, f64) {
    let cohort = compile(env, model, c, 1.0, rows.unwrap_or(c.def.population.attempts_per_event));
    let everyday: f64 = cohort
        .everyday
        .iter()
        .map(|rates| {
            rates
                .iter()
                .zip(&env.catalogue.personas)
                .map(|(r, p)| r * p.attempts_per_visit * 3600.0)
                .sum::<f64>()
        })
        .sum();
    let (mut scaled, mut fixed) = (0.0, 0.0);
    for b in &cohort.bursts {
        let a = attempts_within(b, env.start_ms, env.end_ms());
        if b.scaled { scaled += a } else { fixed += a }
    }
    (everyday + scaled + fixed, fixed)
}

/// The users a cohort has at `scale`.
fn users_for(natural: i64, scale: f64) -> u32 {
    (natural.max(1) as f64 * scale)
        .round()
        .clamp(f64::from(MIN_USERS), f64::from(u32::MAX) / 2.0) as u32
}

/// Compiles cohort `c` at `scale`, with events for `expected_rows`.
fn compile(env: &Env, model: &TicketModel, c: &PlanCohort, scale: f64, expected_rows: f64) -> Cohort {
    Cohort::new(CohortInputs {
        env,
        model,
        scenario: CohortScenario::new(&c.def, c.info.clone(), env),
        users: users_for(c.def.population.users, scale),
        expected_rows,
    })
}

/// Cuts the window into slots: every UTC hour, split where any burst's rate changes, and split
/// evenly where more attempts are expected than a slot should hold.
fn slot_grid(g: &TicketGenerator) -> Result<Vec<Slot>, TicketPlanError> {
    let mut slots = Vec::new();
    for hour in 0..g.days * 24 {
        let start = g.start_ms + i64::from(hour) * HOUR_MS;
        let end = start + HOUR_MS;
        let mut cuts = vec![start, end];
        for c in &g.cohorts {
            for b in &c.bursts {
                for &(s, e, _) in &b.pieces {
                    cuts.extend([s, e].into_iter().filter(|&x| x > start && x < end));
                }
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
        for w in cuts.windows(2) {
            let piece = Slot {
                start_ms: w[0],
                len_ms: w[1] - w[0],
                hour,
            };
            let expected: f64 = (0..g.cohorts.len())
                .map(|c| (0..g.processes(c)).map(|j| g.attempt_rate(c, j, &piece)).sum::<f64>())
                .sum::<f64>()
                * piece.len_ms as f64
                / 1000.0;
            let parts = ((expected / SLOT_ATTEMPTS).ceil() as i64).clamp(1, piece.len_ms.max(1));
            for i in 0..parts {
                let a = piece.start_ms + piece.len_ms * i / parts;
                let b = piece.start_ms + piece.len_ms * (i + 1) / parts;
                slots.push(Slot {
                    start_ms: a,
                    len_ms: b - a,
                    hour,
                });
            }
        }
    }
    if slots.len() >= 1 << 20 {
        return Err(TicketPlanError::TooManySlots(slots.len()));
    }
    Ok(slots)
}

/// Attempts cohort `k` makes in each slot (exact: the same draws generation makes).
fn count(g: &TicketGenerator, k: usize, slots: &[Slot]) -> Vec<u64> {
    let hours = hour_ranges(slots);
    let per_hour: Vec<Vec<u64>> = hours
        .par_iter()
        .map(|range| {
            let chooser = g.chooser(k, slots[range.start].hour);
            range
                .clone()
                .map(|s| {
                    (0..g.processes(k))
                        .map(|j| g.visits(k, j, s as u32, &slots[s], &chooser).attempts())
                        .sum()
                })
                .collect()
        })
        .collect();
    per_hour.into_iter().flatten().collect()
}

/// The slots of each hour, as consecutive ranges.
fn hour_ranges(slots: &[Slot]) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for (s, slot) in slots.iter().enumerate() {
        match out.last_mut() {
            Some(r) if slots[r.start].hour == slot.hour => r.end = s + 1,
            _ => out.push(s..s + 1),
        }
    }
    out
}

/// Consecutive slots of one UTC day, as long as they hold at most `unit_rows` attempts. Units
/// tile the window, empty ones included, so every attempt's time falls in exactly one unit.
fn plan_units(
    g: &TicketGenerator,
    slots: &[Slot],
    counts: &[Vec<u64>],
    cohorts: &[CohortPlan],
    unit_rows: u64,
) -> Vec<Unit> {
    let mut builder = UnitBuilder::new(
        cohorts
            .iter()
            .map(|c| CohortRows {
                simulated: c.simulated,
                rows: c.rows,
            })
            .collect(),
    );
    let totals: Vec<u64> = (0..slots.len()).map(|s| counts.iter().map(|c| c[s]).sum()).collect();
    let mut s = 0;
    for day in 0..g.days {
        let day_end = g.start_ms + i64::from(day + 1) * 86_400_000;
        let first = s;
        while s < slots.len() && slots[s].start_ms < day_end {
            s += 1;
        }
        for group in group_consecutive(&totals[first..s], unit_rows) {
            let (a, b) = (first + group.start, first + group.end);
            let per_cohort: Vec<u64> = counts.iter().map(|c| c[a..b].iter().sum()).collect();
            let span = TicketSpan {
                slots: a as u32..b as u32,
                start_ms: slots[a].start_ms,
                end_ms: slots[b - 1].end_ms(),
            };
            builder.push(day, span, &per_cohort, true);
        }
    }
    builder.finish()
}

impl TicketPlan {
    /// Generates one unit's attempts, sorted by time (not yet carried).
    pub fn generate_unit(&self, g: &TicketGenerator, unit: &Unit) -> Vec<Attempt> {
        let rows: Vec<CohortRows> = self
            .cohorts
            .iter()
            .map(|c| CohortRows {
                simulated: c.simulated,
                rows: c.rows,
            })
            .collect();
        let mut thinning = unit.thinning(&rows);
        let mut out = Vec::with_capacity(unit.simulated as usize);
        let mut choosers: Vec<Option<(u32, EventChooser)>> = (0..thinning.len()).map(|_| None).collect();
        for s in unit.span.slots.clone() {
            let slot = &self.slots[s as usize];
            for (k, thin) in thinning.iter_mut().enumerate() {
                if choosers[k].as_ref().is_none_or(|(h, _)| *h != slot.hour) {
                    choosers[k] = Some((slot.hour, g.chooser(k, slot.hour)));
                }
                let chooser = &choosers[k].as_ref().expect("set above").1;
                for j in 0..g.processes(k) {
                    g.attempts(k, j, s, slot, chooser, || thin.keep(), &mut out);
                }
            }
        }
        debug_assert_eq!(out.len() as u64, unit.rows);
        sort_attempts(out)
    }

    /// Units of shard `k` of `n` (1-based).
    pub fn shard_units(&self, k: u32, n: u32) -> Range<usize> {
        units::shard_units(&self.units, k, n)
    }
}

/// Sorts attempts by (time, key) copying each (large) attempt once: sort the keys, then gather.
pub fn sort_attempts(attempts: Vec<Attempt>) -> Vec<Attempt> {
    let mut order: Vec<(i64, u64, u32)> = attempts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.timestamp_ms, a.key, i as u32))
        .collect();
    order.sort_unstable();
    order.into_iter().map(|(_, _, i)| attempts[i as usize]).collect()
}
