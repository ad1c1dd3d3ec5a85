//! Plan, then execute: from the run settings to a plain-data plan of customers and work units.
//!
//! The planner counts every candidate customer's calls exactly (per UTC day, from the count
//! streams), adds customers to each cohort until it holds its share of the rows, then thins the
//! surplus evenly so the run has exactly the rows asked for. Thinning keeps the j-th call of a
//! cohort iff ⌊(j+1)·R/T⌋ > ⌊j·R/T⌋ (R rows kept of T calls): an even, Bresenham-style spread
//! of at most one customer's worth of calls per cohort, decided by plan position alone.

use std::ops::Range;

use rayon::prelude::*;

use super::population::{Customer, MAX_COHORTS, MAX_CUSTOMERS_PER_COHORT};
use super::scenario::Scenario;
use super::traffic::{Call, DayFactors, TrafficGenerator};

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
    pub scenario: Scenario,
    pub share: f64,
}

/// A customer whose calls have been counted.
#[derive(Debug, Clone)]
struct Counted {
    customer: Customer,
    days: Vec<u32>,
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
        let exact: Vec<f64> = self.cohorts.iter().map(|c| c.share * rows as f64).collect();
        let mut out: Vec<u64> = exact.iter().map(|x| x.floor() as u64).collect();
        let mut rest = rows - out.iter().sum::<u64>();
        let mut order: Vec<usize> = (0..exact.len()).collect();
        order.sort_by(|&a, &b| {
            (exact[b] - exact[b].floor())
                .total_cmp(&(exact[a] - exact[a].floor()))
                .then(a.cmp(&b))
        });
        for i in order.into_iter().cycle() {
            if rest == 0 {
                break;
            }
            out[i] += 1;
            rest -= 1;
        }
        out
    }

    /// Counts customers until every cohort can supply its share of `rows`.
    pub fn ensure(&mut self, rows: u64) -> Result<(), PlanError> {
        let targets = self.cohort_targets(rows);
        for (k, &needed) in targets.iter().enumerate() {
            loop {
                let have: u64 = self.counted[k].iter().map(|c| c.total).sum();
                if have >= needed {
                    break;
                }
                let n = self.counted[k].len() as u32;
                let per_customer = if n == 0 {
                    self.expected_calls_per_customer()
                } else {
                    have as f64 / f64::from(n)
                };
                // Fail fast rather than count a million customers that cannot make the rows.
                let projected = f64::from(n) + (needed - have) as f64 / per_customer.max(f64::MIN_POSITIVE);
                if (n > 0 && have == 0) || projected > 1.5 * f64::from(MAX_CUSTOMERS_PER_COHORT) {
                    return Err(PlanError::Unreachable {
                        cohort: self.cohorts[k].name.clone(),
                        needed,
                        customers: projected.min(1e18) as u64,
                        per_customer,
                    });
                }
                let more = ((needed - have) as f64 / per_customer * 1.1).ceil() as u32 + 1;
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
        let customer = Customer::generate(
            g.seed,
            cohort as u16,
            index,
            self.cohorts[cohort].scenario,
            &g.model,
            &g.catalogue,
        );
        let days = g.day_counts(&customer);
        let total = days.iter().map(|&d| u64::from(d)).sum();
        Counted { customer, days, total }
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

    /// How many of each cohort's counted customers a run of `rows` rows uses: the shortest
    /// prefix that holds the cohort's share. `ensure(rows)` must have been called.
    fn prefix_lengths(&self, rows: u64) -> Vec<usize> {
        let targets = self.cohort_targets(rows);
        self.counted
            .iter()
            .zip(targets)
            .map(|(counted, target)| {
                let mut acc = 0u64;
                counted
                    .iter()
                    .position(|c| {
                        acc += c.total;
                        acc >= target
                    })
                    .map_or(0, |i| i + 1)
            })
            .collect()
    }

    /// The customers a run of `rows` rows uses, and the calls they make before thinning.
    pub fn customers_for(&self, rows: u64) -> (Vec<&Customer>, u64) {
        let mut customers = Vec::new();
        let mut calls = 0;
        for (counted, n) in self.counted.iter().zip(self.prefix_lengths(rows)) {
            for c in &counted[..n] {
                customers.push(&c.customer);
                calls += c.total;
            }
        }
        (customers, calls)
    }

    /// The plan for exactly `rows` rows, in units of at most about `unit_rows` calls.
    /// `ensure(rows)` must have been called.
    pub fn finish(self, rows: u64, unit_rows: u64) -> GenerationPlan {
        let targets = self.cohort_targets(rows);
        let prefixes = self.prefix_lengths(rows);
        let days = self.generator.window.days;
        let mut population = Vec::new();
        let mut day_counts: Vec<Vec<u32>> = Vec::new();
        let mut cohorts = Vec::new();
        for (k, (counted, keep)) in self.counted.into_iter().zip(prefixes).enumerate() {
            let start = population.len() as u32;
            let calls = counted[..keep].iter().map(|c| c.total).sum();
            for c in counted.into_iter().take(keep) {
                population.push(c.customer);
                day_counts.push(c.days);
            }
            cohorts.push(CohortPlan {
                name: self.cohorts[k].name.clone(),
                scenario: self.cohorts[k].scenario,
                customers: start..population.len() as u32,
                calls,
                rows: targets[k],
            });
        }

        // Units: each UTC day, customers in order, cut when a unit would pass `unit_rows` calls.
        let mut units = Vec::new();
        let mut seen = vec![0u64; cohorts.len()];
        let cohort_of = |c: u32| {
            cohorts
                .iter()
                .position(|k| k.customers.contains(&c))
                .expect("every customer is in a cohort")
        };
        for day in 0..days {
            let mut start = 0u32;
            while (start as usize) < population.len() {
                let mut end = start;
                let mut calls = 0u64;
                while (end as usize) < population.len() {
                    let add = u64::from(day_counts[end as usize][day as usize]);
                    if calls > 0 && calls + add > unit_rows {
                        break;
                    }
                    calls += add;
                    end += 1;
                }
                if calls > 0 {
                    let mut offsets = Vec::new();
                    let mut rows_in_unit = 0;
                    for c in start..end {
                        let k = cohort_of(c);
                        if offsets.last().is_none_or(|&(last, _)| last != k) {
                            offsets.push((k, seen[k]));
                        }
                        let n = u64::from(day_counts[c as usize][day as usize]);
                        let t = &cohorts[k];
                        rows_in_unit += kept_between(seen[k], seen[k] + n, t.rows, t.calls);
                        seen[k] += n;
                    }
                    units.push(Unit {
                        index: units.len(),
                        day,
                        customers: start..end,
                        calls,
                        rows: rows_in_unit,
                        cohort_offsets: offsets,
                    });
                }
                start = end;
            }
        }
        GenerationPlan {
            population,
            cohorts,
            units,
            rows,
        }
    }
}

/// Calls kept among a cohort's calls number `from..to` when `kept` of `total` are kept.
fn kept_between(from: u64, to: u64, kept: u64, total: u64) -> u64 {
    let f = |j: u64| (u128::from(j) * u128::from(kept) / u128::from(total.max(1))) as u64;
    f(to) - f(from)
}

/// A cohort in the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct CohortPlan {
    pub name: String,
    pub scenario: Scenario,
    /// Its customers' indices in the population.
    pub customers: Range<u32>,
    /// Calls its customers make in the window.
    pub calls: u64,
    /// Rows it contributes after thinning.
    pub rows: u64,
}

/// One work unit: one UTC day of a contiguous range of customers.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub index: usize,
    pub day: u32,
    pub customers: Range<u32>,
    /// Calls before thinning.
    pub calls: u64,
    /// Rows the unit produces.
    pub rows: u64,
    /// For each cohort the unit touches, in order: how many of the cohort's calls come before.
    pub cohort_offsets: Vec<(usize, u64)>,
}

/// What a run generates: the population, the cohorts and the work units, in order.
#[derive(Debug, Clone)]
pub struct GenerationPlan {
    pub population: Vec<Customer>,
    pub cohorts: Vec<CohortPlan>,
    pub units: Vec<Unit>,
    pub rows: u64,
}

impl GenerationPlan {
    /// Units of shard `k` of `n` (1-based): contiguous, with about equal rows.
    pub fn shard_units(&self, k: u32, n: u32) -> Range<usize> {
        let total = u128::from(self.rows);
        let bound = |s: u32| u128::from(s) * total / u128::from(n);
        let (lo, hi) = (bound(k - 1), bound(k));
        let mut before = 0u128;
        let mut start = self.units.len();
        let mut end = self.units.len();
        for (i, u) in self.units.iter().enumerate() {
            if start == self.units.len() && before >= lo {
                start = i;
            }
            if before >= hi {
                end = i;
                break;
            }
            before += u128::from(u.rows);
        }
        start.min(end)..end
    }

    /// Generates one unit's rows, sorted by time.
    pub fn generate_unit(&self, generator: &TrafficGenerator, unit: &Unit) -> Vec<Call> {
        let mut out = Vec::with_capacity(unit.calls as usize);
        let mut offsets = unit.cohort_offsets.iter();
        let mut current: Option<(usize, Thinning)> = None;
        for c in unit.customers.clone() {
            let customer = &self.population[c as usize];
            let k = customer.cohort as usize;
            if current.as_ref().is_none_or(|(ck, _)| *ck != k) {
                let &(ok, offset) = offsets.next().expect("the plan lists every cohort of the unit");
                debug_assert_eq!(ok, k);
                let cohort = &self.cohorts[k];
                current = Some((k, Thinning::new(cohort.rows, cohort.calls, offset)));
            }
            let thinning = &mut current.as_mut().expect("set above").1;
            let mut days = DayFactors::default();
            for hour in unit.day * 24..unit.day * 24 + 24 {
                generator.customer_hour(customer, c, hour, &mut days, || thinning.keep(), &mut out);
            }
        }
        out.sort_unstable_by_key(|call| (call.timestamp_ms, call.customer, call.call_id));
        debug_assert_eq!(out.len() as u64, unit.rows);
        out
    }
}

/// The even thinning of one cohort's call sequence.
#[derive(Debug, Clone)]
struct Thinning {
    kept: u64,
    total: u64,
    next: u64,
}

impl Thinning {
    fn new(kept: u64, total: u64, next: u64) -> Self {
        Thinning { kept, total, next }
    }

    #[inline]
    fn keep(&mut self) -> bool {
        let j = self.next;
        self.next += 1;
        kept_between(j, j + 1, self.kept, self.total) == 1
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
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_exactly_the_target_and_spreads_evenly() {
        let mut t = Thinning::new(97, 100, 0);
        let kept: Vec<bool> = (0..100).map(|_| t.keep()).collect();
        assert_eq!(kept.iter().filter(|k| **k).count(), 97);
        // The three dropped calls are spread, not bunched at the end.
        let dropped: Vec<usize> = kept.iter().enumerate().filter(|(_, k)| !**k).map(|(i, _)| i).collect();
        assert!(
            dropped[1] - dropped[0] > 20 && dropped[2] - dropped[1] > 20,
            "{dropped:?}"
        );
    }

    #[test]
    fn thinning_split_anywhere_gives_the_same_decisions() {
        let whole: Vec<bool> = {
            let mut t = Thinning::new(1000, 1234, 0);
            (0..1234).map(|_| t.keep()).collect()
        };
        let mut t1 = Thinning::new(1000, 1234, 0);
        let mut t2 = Thinning::new(1000, 1234, 600);
        let split: Vec<bool> = (0..600)
            .map(|_| t1.keep())
            .chain((600..1234).map(|_| t2.keep()))
            .collect();
        assert_eq!(whole, split);
        assert_eq!(
            kept_between(0, 600, 1000, 1234) + kept_between(600, 1234, 1000, 1234),
            1000
        );
    }
}

#[cfg(test)]
mod plan_tests {
    use std::path::Path;

    use super::*;
    use crate::config::{load_catalogue, load_traffic};
    use crate::sim::calendar::Window;

    fn generator(days: u32) -> TrafficGenerator {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let catalogue = load_catalogue(&dir.join("catalogue.toml")).unwrap();
        let model = load_traffic(&dir.join("traffic.toml")).unwrap();
        let zones: Vec<_> = model.timezones.iter().map(|t| t.tz).collect();
        let window = Window::new(chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(), days, &zones);
        TrafficGenerator::new(42, catalogue, model, window)
    }

    fn cohorts() -> Vec<PlanCohort> {
        [("a", 0.5), ("b", 0.3), ("c", 0.2)]
            .into_iter()
            .map(|(name, share)| PlanCohort {
                name: name.into(),
                scenario: Scenario::BaseTraffic,
                share,
            })
            .collect()
    }

    fn plan(rows: u64, unit_rows: u64) -> (TrafficGenerator, GenerationPlan) {
        let g = generator(5);
        let mut planner = Planner::new(&g, cohorts()).unwrap();
        planner.ensure(rows).unwrap();
        let p = planner.finish(rows, unit_rows);
        (g, p)
    }

    #[test]
    fn an_impossible_size_fails_fast_with_the_reason() {
        let g = generator(1);
        let mut planner = Planner::new(&g, cohorts()).unwrap();
        let err = planner.ensure(1_000_000_000_000).unwrap_err();
        assert!(
            matches!(err, PlanError::Unreachable { ref cohort, .. } if cohort == "a"),
            "{err}"
        );
        assert!(err.to_string().contains("at most 1048576"), "{err}");
        assert!(planner.counted.iter().all(Vec::is_empty), "nothing was counted");
    }

    #[test]
    fn cohort_targets_follow_shares_and_sum_exactly() {
        let g = generator(1);
        let planner = Planner::new(&g, cohorts()).unwrap();
        assert_eq!(planner.cohort_targets(1001), vec![501, 300, 200]);
        assert_eq!(planner.cohort_targets(7).iter().sum::<u64>(), 7);
    }

    #[test]
    fn units_cover_every_customer_day_once_and_hold_exactly_the_rows() {
        let (_, p) = plan(40_000, 3_000);
        assert_eq!(p.units.iter().map(|u| u.rows).sum::<u64>(), 40_000);
        for c in &p.cohorts {
            assert!(c.calls >= c.rows, "{}: {} calls for {} rows", c.name, c.calls, c.rows);
        }
        assert_eq!(
            p.cohorts.iter().map(|c| c.rows).collect::<Vec<_>>(),
            vec![20_000, 12_000, 8_000]
        );
        for day in 0..5 {
            let mut next = 0;
            for u in p.units.iter().filter(|u| u.day == day) {
                assert_eq!(u.customers.start, next, "day {day}: contiguous customer ranges");
                next = u.customers.end;
                assert!(u.calls <= 3_000 || u.customers.len() == 1, "unit over the cap: {u:?}");
            }
            assert_eq!(next as usize, p.population.len());
        }
        // Days come in order, so partitions are written one after another.
        assert!(p.units.windows(2).all(|w| w[0].day <= w[1].day));
    }

    #[test]
    fn generating_a_unit_gives_its_planned_rows() {
        let (g, p) = plan(8_000, 1_000);
        let mut total = 0;
        for u in &p.units {
            let calls = p.generate_unit(&g, u);
            assert_eq!(calls.len() as u64, u.rows);
            assert!(calls.windows(2).all(|w| w[0].timestamp_ms <= w[1].timestamp_ms));
            assert!(calls.iter().all(|c| u.customers.contains(&c.customer)));
            total += calls.len();
        }
        assert_eq!(total, 8_000);
    }

    #[test]
    fn shards_partition_the_units() {
        let (_, p) = plan(40_000, 3_000);
        for n in [1, 2, 3, 7, 100] {
            let mut next = 0;
            let mut rows = 0;
            for k in 1..=n {
                let r = p.shard_units(k, n);
                assert_eq!(r.start, next, "shard {k}/{n} starts where the last ended");
                next = r.end;
                rows += p.units[r].iter().map(|u| u.rows).sum::<u64>();
            }
            assert_eq!(next, p.units.len());
            assert_eq!(rows, 40_000);
        }
    }

    #[test]
    fn a_bigger_run_keeps_the_smaller_runs_customers() {
        let (_, small) = plan(5_000, 100_000);
        let (_, large) = plan(50_000, 100_000);
        for c in &small.cohorts {
            let big = large.cohorts.iter().find(|b| b.name == c.name).unwrap();
            assert!(big.customers.len() > c.customers.len());
            let a = &small.population[c.customers.start as usize..c.customers.end as usize];
            let b = &large.population[big.customers.start as usize..big.customers.start as usize + a.len()];
            assert_eq!(a, b, "cohort {} grew by adding customers, not by changing them", c.name);
        }
    }
}
