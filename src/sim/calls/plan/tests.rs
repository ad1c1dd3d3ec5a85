//! The planner's promises: an impossible size fails fast, cohort targets sum exactly, units tile
//! each day in time order with exactly the planned rows, and shards partition the units.

use std::path::Path;

use super::*;
use crate::config::{load_catalogue, load_traffic};
use crate::sim::calendar::Window;
use crate::sim::calls::scenarios::{CohortInfo, CohortScenario, ScenarioDef};

fn generator(days: u32) -> TrafficGenerator {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let catalogue = load_catalogue(&dir.join("catalogue.toml")).unwrap();
    let model = load_traffic(&dir.join("traffic.toml")).unwrap();
    let zones: Vec<_> = model.timezones.iter().map(|t| t.tz).collect();
    let window = Window::new(chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(), days, &zones);
    let mut g = TrafficGenerator::new(42, catalogue, model, window);
    let base = ScenarioDef {
        name: "base_traffic".into(),
        description: String::new(),
        modifiers: vec![],
    };
    let compiled = cohorts()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let info = CohortInfo {
                index: i as u16,
                name: c.name.clone(),
                scenario: c.scenario.clone(),
                organization_base: 0,
            };
            CohortScenario::new(&base, info, &g.env(), 42)
        })
        .collect();
    g.set_cohorts(compiled);
    g
}

fn cohorts() -> Vec<PlanCohort> {
    [("a", 0.5), ("b", 0.3), ("c", 0.2)]
        .into_iter()
        .map(|(name, share)| PlanCohort {
            name: name.into(),
            scenario: "base_traffic".into(),
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
fn units_tile_each_day_in_time_and_hold_exactly_the_rows() {
    let (_, p) = plan(40_000, 3_000);
    assert_eq!(p.units.iter().map(|u| u.rows).sum::<u64>(), 40_000);
    for c in &p.cohorts {
        assert!(c.calls >= c.rows, "{}: {} calls for {} rows", c.name, c.calls, c.rows);
    }
    assert_eq!(
        p.cohorts.iter().map(|c| c.rows).collect::<Vec<_>>(),
        vec![20_000, 12_000, 8_000]
    );
    let everyone = 0..p.population.len() as u32;
    let mut next_hour = 0;
    for u in &p.units {
        // Consecutive hours of one day, for every customer, under the cap.
        assert_eq!(u.span.hours.start, next_hour, "units follow each other in time: {u:?}");
        next_hour = u.span.hours.end;
        assert!(
            u.span.hours.start / 24 == u.day && (u.span.hours.end - 1) / 24 == u.day,
            "{u:?}"
        );
        assert_eq!(u.span.customers, everyone);
        assert!(
            u.simulated <= 3_000 || u.span.hours.len() == 1,
            "unit over the cap: {u:?}"
        );
    }
    assert_eq!(next_hour, 5 * 24, "no hour is left out");
    assert!(p.units.len() > 5, "several units per day at this cap");
}

#[test]
fn an_hour_bigger_than_a_unit_is_split_by_customer() {
    let (g, p) = plan(40_000, 200);
    let split: Vec<&Unit> = p
        .units
        .iter()
        .filter(|u| u.span.customers.len() < p.population.len())
        .collect();
    assert!(!split.is_empty(), "busy hours exceed 200 calls");
    for u in &split {
        assert_eq!(u.span.hours.len(), 1);
    }
    // Every unit still generates exactly its rows, and the whole plan its total.
    let total: usize = p
        .units
        .iter()
        .map(|u| {
            let calls = p.generate_unit(&g, u);
            assert_eq!(calls.len() as u64, u.rows);
            calls.len()
        })
        .sum();
    assert_eq!(total, 40_000);
}

#[test]
fn units_in_order_give_a_time_ordered_run() {
    let (g, p) = plan(20_000, 1_000);
    let mut last = i64::MIN;
    for u in &p.units {
        for call in p.generate_unit(&g, u) {
            assert!(call.timestamp_ms >= last, "unit {} goes back in time", u.index);
            last = call.timestamp_ms;
        }
    }
}

#[test]
fn generating_a_unit_gives_its_planned_rows() {
    let (g, p) = plan(8_000, 1_000);
    let mut total = 0;
    for u in &p.units {
        let calls = p.generate_unit(&g, u);
        assert_eq!(calls.len() as u64, u.rows);
        assert!(calls.windows(2).all(|w| w[0].timestamp_ms <= w[1].timestamp_ms));
        assert!(calls.iter().all(|c| u.span.customers.contains(&c.customer)));
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
        let b = &large.population[big.customers.start as usize..big.customers.end as usize];
        // A customer is the same in both runs, and the larger run keeps nearly all of the
        // smaller one's (it may skip one that overshoots its own target).
        let mut kept = 0;
        for x in a {
            if let Some(y) = b.iter().find(|y| y.index_in_cohort == x.index_in_cohort) {
                assert_eq!(x, y, "cohort {}: customer {} changed", c.name, x.id);
                kept += 1;
            }
        }
        assert!(
            kept * 10 >= a.len() * 8,
            "cohort {}: {kept} of {} kept",
            c.name,
            a.len()
        );
    }
}

#[test]
fn thinning_removes_at_most_a_fifth_of_a_cohort() {
    for rows in [3_000, 20_000, 60_000] {
        let (_, p) = plan(rows, 100_000);
        for c in &p.cohorts {
            assert!(
                c.calls as f64 <= c.rows as f64 * 1.25 + 1.0,
                "{rows} rows, cohort {}: {} calls simulated for {} rows",
                c.name,
                c.calls,
                c.rows
            );
        }
    }
}
