//! Plan, then execute: from the run settings to a plain-data plan of customers and work units.
//!
//! The planner counts every candidate customer's calls exactly (per UTC day, from the count
//! streams), adds customers to each cohort until it holds its share of the rows, then thins the
//! surplus evenly so the run has exactly the rows asked for. Thinning keeps the j-th call of a
//! cohort iff ⌊(j+1)·R/T⌋ > ⌊j·R/T⌋ (R rows kept of T calls): an even, Bresenham-style spread
//! of at most one customer's worth of calls per cohort, decided by plan position alone. A
//! cohort's calls are numbered in time order of hours: (UTC hour, customer, call).
//!
//! Work units are time slices: consecutive UTC hours of one day, for every customer, of at most
//! `unit_rows` calls, so units written in order make a time-ordered dataset and each Parquet row
//! group covers a narrow time range. Only an hour with more calls than that is split further, by
//! customer range.

use std::ops::Range;

use rayon::prelude::*;

use super::population::{Customer, MAX_COHORTS, MAX_CUSTOMERS_PER_COHORT};
use super::traffic::{Call, DayFactors, TrafficGenerator};
use crate::sim::label::Label;
use crate::sim::units::{self, CohortRows, UnitBuilder, group_consecutive};

/// A problem that makes a plan impossible.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    #[error(
        "cohort `{cohort}` cannot reach {needed} rows: at {per_customer:.1} calls per customer in the window it would need about {customers} customers, and a cohort holds at most {MAX_CUSTOMERS_PER_COHORT}; lower the size, lengthen the window (--days) or raise the archetypes' calls_per_day"
    )]
    Unreachable {
        cohort: String,
        needed: u64,
        customers: u64,
        per_customer: f64,
    },
    #[error("at most {MAX_COHORTS} cohorts are supported, got {0}")]
    TooManyCohorts(usize),
}

/// A cohort as the planner sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanCohort {
    pub name: String,
    pub scenario: String,
    pub share: f64,
}

/// A customer whose calls have been counted.
#[derive(Debug, Clone)]
struct Counted {
    customer: Customer,
    total: u64,
}

/// Grows cohorts to a row count, reusing every customer it has counted.
pub struct Planner<'a> {
    generator: &'a TrafficGenerator,
    cohorts: Vec<PlanCohort>,
    counted: Vec<Vec<Counted>>,
}

impl<'a> Planner<'a> {
    pub fn new(generator: &'a TrafficGenerator, cohorts: Vec<PlanCohort>) -> Result<Self, PlanError> {
        if cohorts.len() > MAX_COHORTS {
            return Err(PlanError::TooManyCohorts(cohorts.len()));
        }
        let counted = cohorts.iter().map(|_| Vec::new()).collect();
        Ok(Planner {
            generator,
            cohorts,
            counted,
        })
    }

    /// Rows each cohort must hold for `rows` in all: shares, rounded by largest remainder.
    pub fn cohort_targets(&self, rows: u64) -> Vec<u64> {
        let shares: Vec<f64> = self.cohorts.iter().map(|c| c.share).collect();
        units::cohort_targets(&shares, rows)
    }

    /// Counts customers until every cohort can supply its share of `rows`.
    pub fn ensure(&mut self, rows: u64) -> Result<(), PlanError> {
        let targets = self.cohort_targets(rows);
        for (k, &needed) in targets.iter().enumerate() {
            loop {
                let (_, selected, complete) = select(&self.counted[k], needed);
                if complete {
                    break;
                }
                let have: u64 = self.counted[k].iter().map(|c| c.total).sum();
                let n = self.counted[k].len() as u32;
                let per_customer = if n == 0 {
                    self.expected_calls_per_customer()
                } else {
                    have as f64 / f64::from(n)
                };
                // Fail fast rather than count a million customers that cannot make the rows.
                let missing = needed - selected;
                let projected = f64::from(n) + missing as f64 / per_customer.max(f64::MIN_POSITIVE);
                if (n > 0 && have == 0) || projected > 1.5 * f64::from(MAX_CUSTOMERS_PER_COHORT) {
                    return Err(PlanError::Unreachable {
                        cohort: self.cohorts[k].name.clone(),
                        needed,
                        customers: projected.min(1e18) as u64,
                        per_customer,
                    });
                }
                let more = (missing as f64 / per_customer * 1.1).ceil() as u32 + 1;
                let end = n.saturating_add(more).min(MAX_CUSTOMERS_PER_COHORT);
                if end == n {
                    return Err(PlanError::Unreachable {
                        cohort: self.cohorts[k].name.clone(),
                        needed,
                        customers: u64::from(n) + 1,
                        per_customer,
                    });
                }
                let fresh: Vec<Counted> = (n..end).into_par_iter().map(|i| self.count(k, i)).collect();
                self.counted[k].extend(fresh);
            }
        }
        Ok(())
    }

    fn count(&self, cohort: usize, index: u32) -> Counted {
        let g = self.generator;
        let customer = g.customer(cohort, index);
        let total = g.hourly_calls(&customer).map(u64::from).sum();
        Counted { customer, total }
    }

    /// The analytic mean of a customer's calls over the window, to size the first batch.
    fn expected_calls_per_customer(&self) -> f64 {
        let m = &self.generator.model;
        let per_weekday: f64 = m
            .archetypes
            .iter()
            .map(|a| a.weight * (a.calls_per_day.0 + a.calls_per_day.1) / 2.0)
            .sum();
        let week = (5.0 + 2.0 * m.calendar.weekend_factor) / 7.0;
        (per_weekday * week * f64::from(self.generator.window.days)).max(1.0)
    }

    /// Which of each cohort's counted customers a run of `rows` rows uses (see `select`).
    /// `ensure(rows)` must have been called.
    fn selections(&self, rows: u64) -> Vec<Vec<usize>> {
        let targets = self.cohort_targets(rows);
        self.counted
            .iter()
            .zip(targets)
            .map(|(counted, target)| select(counted, target).0)
            .collect()
    }

    /// The customers a run of `rows` rows uses, and the calls they make before thinning.
    pub fn customers_for(&self, rows: u64) -> (Vec<&Customer>, u64) {
        let mut customers = Vec::new();
        let mut calls = 0;
        for (counted, chosen) in self.counted.iter().zip(self.selections(rows)) {
            for i in chosen {
                customers.push(&counted[i].customer);
                calls += counted[i].total;
            }
        }
        (customers, calls)
    }

    /// The plan for exactly `rows` rows, in units of at most about `unit_rows` calls.
    /// `ensure(rows)` must have been called.
    pub fn finish(self, rows: u64, unit_rows: u64) -> GenerationPlan {
        let generator = self.generator;
        let targets = self.cohort_targets(rows);
        let selections = self.selections(rows);
        let mut population = Vec::new();
        let mut cohorts = Vec::new();
        for (k, (counted, chosen)) in self.counted.into_iter().zip(selections).enumerate() {
            let start = population.len() as u32;
            let calls = chosen.iter().map(|&i| counted[i].total).sum();
            let mut counted: Vec<Option<Counted>> = counted.into_iter().map(Some).collect();
            population.extend(chosen.iter().map(|&i| counted[i].take().expect("chosen once").customer));
            cohorts.push(CohortPlan {
                name: self.cohorts[k].name.clone(),
                scenario: self.cohorts[k].scenario.clone(),
                customers: start..population.len() as u32,
                calls,
                rows: targets[k],
            });
        }
        let units = plan_units(generator, &population, &cohorts, unit_rows);
        GenerationPlan {
            population,
            cohorts,
            units,
            rows,
        }
    }
}

/// Cuts the window into time-slice units of at most `unit_rows` calls, with each cohort's
/// position in its call sequence at the start of every unit.
fn plan_units(
    generator: &TrafficGenerator,
    population: &[Customer],
    cohorts: &[CohortPlan],
    unit_rows: u64,
) -> Vec<Unit> {
    let hours = generator.window.hours() as usize;
    // Calls per cohort per UTC hour (summed in parallel; integer sums do not depend on order).
    let hour_calls: Vec<Vec<u64>> = population
        .par_iter()
        .fold(
            || vec![vec![0u64; hours]; cohorts.len()],
            |mut acc, customer| {
                for (h, n) in generator.hourly_calls(customer).enumerate() {
                    acc[customer.cohort as usize][h] += u64::from(n);
                }
                acc
            },
        )
        .reduce(
            || vec![vec![0u64; hours]; cohorts.len()],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    for (p, q) in x.iter_mut().zip(y) {
                        *p += q;
                    }
                }
                a
            },
        );
    let totals: Vec<u64> = (0..hours).map(|h| hour_calls.iter().map(|c| c[h]).sum()).collect();
    let everyone = 0..population.len() as u32;
    let mut builder = UnitBuilder::new(
        cohorts
            .iter()
            .map(|c| CohortRows {
                simulated: c.calls,
                rows: c.rows,
            })
            .collect(),
    );
    for day in 0..generator.window.days {
        let first = day as usize * 24;
        for group in group_consecutive(&totals[first..first + 24], unit_rows) {
            let (h0, h1) = (first + group.start, first + group.end);
            if totals[h0] <= unit_rows {
                // Consecutive hours that fit one unit.
                let per_cohort: Vec<u64> = hour_calls.iter().map(|c| c[h0..h1].iter().sum()).collect();
                let span = CallSpan {
                    hours: h0 as u32..h1 as u32,
                    customers: everyone.clone(),
                };
                builder.push(day, span, &per_cohort, false);
                continue;
            }
            // One hour too big for a unit: split it by customer range, in customer order.
            let per_customer: Vec<u64> = population
                .par_iter()
                .map(|c| {
                    let mut days = DayFactors::default();
                    generator
                        .hour_counts(c, h0 as u32, &mut days)
                        .iter()
                        .map(|&n| u64::from(n))
                        .sum()
                })
                .collect();
            let mut c0 = 0usize;
            while c0 < population.len() {
                let mut c1 = c0;
                let mut per_cohort = vec![0u64; cohorts.len()];
                let mut calls = 0;
                while c1 < population.len() && (calls == 0 || calls + per_customer[c1] <= unit_rows) {
                    calls += per_customer[c1];
                    per_cohort[population[c1].cohort as usize] += per_customer[c1];
                    c1 += 1;
                }
                let span = CallSpan {
                    hours: h0 as u32..h0 as u32 + 1,
                    customers: c0 as u32..c1 as u32,
                };
                builder.push(day, span, &per_cohort, false);
                c0 = c1;
            }
        }
    }
    builder.finish()
}

/// Most customers in a row `select` skips before taking the next one whatever its size.
const MAX_SKIPPED: usize = 32;

/// The customers (indices into `counted`, in order) that give a cohort `target` calls, their
/// calls, and whether they reach the target.
///
/// Customers are taken in index order while they fit within the target plus a 25% slack; one
/// who would overshoot by more is skipped (unless `MAX_SKIPPED` in a row have been). Taking the
/// shortest prefix instead would let the last customer overshoot by up to its whole volume: in
/// a small cohort one heavy customer can be most of it, and thinning it away would cut every
/// customer's rate by as much (73% in a 50 MiB run). With the slack, thinning removes at most a
/// fifth. The price: a small cohort leans toward light customers, since a heavy one late in the
/// sequence does not fit (at 50 MiB, 5 heavy customers of 145 instead of 10%; at 500 MiB, 10.4%).
fn select(counted: &[Counted], target: u64) -> (Vec<usize>, u64, bool) {
    let slack = (target / 4).max(1);
    let mut chosen = Vec::new();
    let mut sum = 0u64;
    let mut skipped = 0;
    for (i, c) in counted.iter().enumerate() {
        if sum >= target {
            break;
        }
        if sum + c.total <= target + slack || skipped >= MAX_SKIPPED {
            chosen.push(i);
            sum += c.total;
            skipped = 0;
        } else {
            skipped += 1;
        }
    }
    (chosen, sum, sum >= target)
}

/// A cohort in the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct CohortPlan {
    pub name: String,
    pub scenario: String,
    /// Its customers' indices in the population.
    pub customers: Range<u32>,
    /// Calls its customers make in the window.
    pub calls: u64,
    /// Rows it contributes after thinning.
    pub rows: u64,
}

/// What a calls unit covers: consecutive UTC hours of one day, for a range of customers (all of
/// them unless a single hour is too big for one unit).
#[derive(Debug, Clone, PartialEq)]
pub struct CallSpan {
    /// UTC hours of the window.
    pub hours: Range<u32>,
    pub customers: Range<u32>,
}

/// A calls work unit.
pub type Unit = units::Unit<CallSpan>;

/// What a run generates: the population, the cohorts and the work units, in order.
#[derive(Debug, Clone)]
pub struct GenerationPlan {
    pub population: Vec<Customer>,
    pub cohorts: Vec<CohortPlan>,
    pub units: Vec<Unit>,
    pub rows: u64,
}

impl GenerationPlan {
    /// The events every cohort's scenario injects into this plan's customers, cohort by cohort.
    pub fn labels(&self, generator: &TrafficGenerator) -> Vec<Label> {
        let mut out = Vec::new();
        for (cohort, scenario) in self.cohorts.iter().zip(&generator.cohorts) {
            let customers = &self.population[cohort.customers.start as usize..cohort.customers.end as usize];
            scenario.labels(customers, &generator.env(), generator.seed, &mut out);
        }
        // Events after the window (a scenario day beyond a short run) did not happen in it.
        let end = generator.window.hour_start_ms(generator.window.hours());
        out.retain(|l| l.start_ms < end);
        out
    }

    /// Units of shard `k` of `n` (1-based): contiguous, with about equal rows.
    pub fn shard_units(&self, k: u32, n: u32) -> Range<usize> {
        units::shard_units(&self.units, k, n)
    }

    /// The thinning rows of each cohort.
    fn cohort_rows(&self) -> Vec<CohortRows> {
        self.cohorts
            .iter()
            .map(|c| CohortRows {
                simulated: c.calls,
                rows: c.rows,
            })
            .collect()
    }

    /// Generates one unit's rows, sorted by time.
    pub fn generate_unit(&self, generator: &TrafficGenerator, unit: &Unit) -> Vec<Call> {
        let mut out = Vec::with_capacity(unit.simulated as usize);
        let mut thinning = unit.thinning(&self.cohort_rows());
        let span = &unit.span;
        let customers = &self.population[span.customers.start as usize..span.customers.end as usize];
        let mut days: Vec<DayFactors> = customers.iter().map(|_| DayFactors::default()).collect();
        for hour in span.hours.clone() {
            for ((customer, index), days) in customers.iter().zip(span.customers.clone()).zip(&mut days) {
                let thin = &mut thinning[customer.cohort as usize];
                generator.customer_hour(customer, index, hour, days, || thin.keep(), &mut out);
            }
        }
        out.sort_unstable_by_key(|call| (call.timestamp_ms, call.customer, call.call_id));
        debug_assert_eq!(out.len() as u64, unit.rows);
        out
    }
}

/// Calls of every customer in the sampled UTC hours (every `stride`-th hour), unthinned: the
/// pilot that measures what a row costs in bytes before the run is sized.
pub fn sample_calls(generator: &TrafficGenerator, customers: &[&Customer], stride: u32) -> Vec<Call> {
    let hours = generator.window.hours();
    let first = stride / 2;
    customers
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, customer)| {
            let mut out = Vec::new();
            let mut days = DayFactors::default();
            let mut h = first.min(hours.saturating_sub(1));
            while h < hours {
                generator.customer_hour(customer, i as u32, h, &mut days, || true, &mut out);
                h += stride;
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests;
