//! The scenarios that inject events into customers' traffic, each generated alone: bursts,
//! churn, a feature launch, steady growth and a viral spike show in the rows as their labels say.

mod common;
mod scenarios_support;

use std::collections::{BTreeMap, HashMap, HashSet};

use common::*;
use scenarios_support::*;

#[test]
fn bursts_are_5_to_20_times_the_customers_usual_hour_and_labelled_exactly() {
    let d = run("burst_traffic", 200_000, 30, "2025-01-06", &[]);
    let bursts = d.labels_of("burst");
    let customers: HashSet<&str> = strings(&d.calls, "customer_id").into_iter().collect();
    // About 8% of customer-days (30 days each, and a few local days at the window's edges).
    let share = bursts.len() as f64 / (customers.len() as f64 * 30.0);
    assert!(
        (0.05..0.11).contains(&share),
        "{} bursts over {} customers: {share:.3}",
        bursts.len(),
        customers.len()
    );

    // Calls per (customer, UTC hour), and each customer's mean by hour of the day outside bursts.
    let mut per_hour: HashMap<(&str, i64), f64> = HashMap::new();
    let ts = timestamps_us(&d.calls);
    for (c, t) in strings(&d.calls, "customer_id").into_iter().zip(&ts) {
        *per_hour.entry((c, t.div_euclid(HOUR_US))).or_insert(0.0) += 1.0;
    }
    let first_hour = ts.iter().min().unwrap().div_euclid(HOUR_US) / 24 * 24;
    let in_burst = |c: &str, h: i64| {
        bursts
            .iter()
            .any(|b| b.subject == c && b.start_us <= h * HOUR_US && h * HOUR_US < b.end_us)
    };
    let mut usual: HashMap<(&str, i64), (f64, f64)> = HashMap::new();
    for &c in &customers {
        for h in first_hour..first_hour + 30 * 24 {
            if !in_burst(c, h) {
                let e = usual.entry((c, h.rem_euclid(24))).or_insert((0.0, 0.0));
                e.0 += per_hour.get(&(c, h)).copied().unwrap_or(0.0);
                e.1 += 1.0;
            }
        }
    }
    let usual_rate = |c: &str, h: i64| usual.get(&(c, h.rem_euclid(24))).map_or(0.0, |(n, k)| n / k);

    // Every labelled window holds its multiple of the customer's usual hour.
    let (mut observed, mut expected) = (0.0, 0.0);
    for b in &bursts {
        let (h0, h1) = (b.start_us / HOUR_US, b.end_us / HOUR_US);
        let calls: f64 = (h0..h1)
            .map(|h| per_hour.get(&(b.subject.as_str(), h)).copied().unwrap_or(0.0))
            .sum();
        let base: f64 = (h0..h1).map(|h| usual_rate(&b.subject, h)).sum();
        assert!((5.0..=20.0).contains(&b.magnitude), "{b:?}");
        if base >= 3.0 {
            let ratio = calls / base;
            assert!(
                (3.0..=30.0).contains(&ratio),
                "burst {b:?}: {calls} calls against {base:.1} usual ({ratio:.1}x)"
            );
        }
        observed += calls;
        expected += base * b.magnitude;
    }
    let fit = observed / expected;
    assert!(
        (0.8..1.25).contains(&fit),
        "burst calls / (usual × multiplier) = {fit:.3}"
    );

    // No burst happens outside the labels: no other customer-hour is far above its usual.
    for (&(c, h), &n) in &per_hour {
        if in_burst(c, h) {
            continue;
        }
        let u = usual_rate(c, h);
        assert!(
            n <= 4.0 * u + 12.0,
            "unlabelled spike: {c} hour {h}: {n} calls, usual {u:.1}"
        );
    }
}

#[test]
fn churned_customers_stop_on_their_churn_day_and_usage_declines() {
    let d = run("gradual_decline", 120_000, 30, "2025-01-06", &[]);
    let churn = d.labels_of("churn");
    let customers: HashSet<&str> = strings(&d.calls, "customer_id").into_iter().collect();
    let expected = 0.20 * customers.len() as f64;
    assert!(
        (churn.len() as f64 - expected).abs() <= 1.0,
        "{} churned of {} customers (20% is {expected:.1})",
        churn.len(),
        customers.len()
    );
    let ts = timestamps_us(&d.calls);
    let ids = strings(&d.calls, "customer_id");
    for c in &churn {
        let calls: Vec<i64> = ids
            .iter()
            .zip(&ts)
            .filter(|(id, _)| **id == c.subject)
            .map(|(_, t)| *t)
            .collect();
        assert!(!calls.is_empty(), "{} made calls before churning", c.subject);
        let after = calls.iter().filter(|&&t| t >= c.start_us).count();
        assert_eq!(
            after, 0,
            "{} has {after} calls after its churn at {}",
            c.subject, c.start_us
        );
    }
    // Customers who stay decline 2% a day: the slope of log weekday volume.
    let churned: HashSet<&str> = churn.iter().map(|c| c.subject.as_str()).collect();
    let per_day = d.per_day(|i| !churned.contains(ids[i]));
    let points: Vec<(f64, f64)> = per_day
        .iter()
        .filter(|(day, _)| (0..30).contains(*day) && !is_weekend(d.start + chrono::Days::new(**day as u64)))
        .map(|(day, n)| (*day as f64, n.ln()))
        .collect();
    let s = slope(&points);
    assert!(
        (-0.032..-0.01).contains(&s),
        "log volume slope {s:.4} a day (expected ln 0.98 = -0.0202)"
    );
}

#[test]
fn a_launched_feature_spikes_on_launch_day_and_reaches_its_adoption_rate() {
    // From a Monday: day 10 is a Thursday.
    let d = run("feature_launch", 200_000, 30, "2025-01-06", &[]);
    let launch = d.labels_of("feature_launch");
    assert_eq!(launch.len(), 1);
    assert_eq!(launch[0].subject, "ai_assistant");
    let features = strings(&d.calls, "feature_id");
    let ids = strings(&d.calls, "customer_id");
    let tasks = strings(&d.calls, "task_type");
    let local = d.local();
    let mut per_day: BTreeMap<i64, f64> = BTreeMap::new();
    for (i, f) in features.iter().enumerate() {
        if *f == "ai_assistant" {
            assert_eq!(tasks[i], "chat");
            let day = local[i].0;
            assert!(day >= 10, "a call of the feature before its launch, on local day {day}");
            *per_day.entry(day).or_insert(0.0) += 1.0;
        }
    }
    // Launch day against steady weekdays at the end of the window.
    let steady: Vec<f64> = (20..30)
        .filter(|day| !is_weekend(d.start + chrono::Days::new(*day as u64)))
        .map(|day| per_day.get(&day).copied().unwrap_or(0.0))
        .collect();
    let steady = steady.iter().sum::<f64>() / steady.len() as f64;
    let spike = per_day[&10] / steady;
    assert!(
        (spike / launch[0].magnitude - 1.0).abs() < 0.3 && spike >= 2.5,
        "launch day at {spike:.2}x steady use, labelled {:.2}x",
        launch[0].magnitude
    );
    // Adoption: the share of customers using it in the last week is the adoption rate.
    let customers: HashSet<&str> = ids.iter().copied().collect();
    let users: HashSet<&str> = (0..ids.len())
        .filter(|&i| features[i] == "ai_assistant" && local[i].0 >= 23)
        .map(|i| ids[i])
        .collect();
    let rate = users.len() as f64 / customers.len() as f64;
    assert!(
        (rate - 0.40).abs() <= 0.05,
        "{} of {} customers use it: {rate:.3}",
        users.len(),
        customers.len()
    );
    assert_eq!(
        d.labels_of("feature_adoption").len(),
        users.len(),
        "one adoption label per adopter"
    );
    // Adoption spreads over the first days (an S-curve), not all at once.
    let adopted_by = |day: i64| {
        let first: HashMap<&str, i64> = (0..ids.len())
            .filter(|&i| features[i] == "ai_assistant" && local[i].0 > 10)
            .fold(HashMap::new(), |mut m, i| {
                let e = m.entry(ids[i]).or_insert(i64::MAX);
                *e = (*e).min(local[i].0);
                m
            });
        first.values().filter(|&&d| d <= day).count()
    };
    assert!(
        adopted_by(12) < adopted_by(15) && adopted_by(15) < adopted_by(22),
        "adoption grows over the week"
    );
}

#[test]
fn steady_growth_compounds_two_to_five_percent_a_day() {
    let d = run("steady_growth", 150_000, 30, "2025-01-06", &[]);
    assert_eq!(d.labels_of("growth").len(), 1);
    let per_day = d.per_day(|_| true);
    let points: Vec<(f64, f64)> = per_day
        .iter()
        .filter(|(day, _)| (0..30).contains(*day) && !is_weekend(d.start + chrono::Days::new(**day as u64)))
        .map(|(day, n)| (*day as f64, n.ln()))
        .collect();
    let s = slope(&points).exp() - 1.0;
    assert!((0.015..=0.055).contains(&s), "daily growth {s:.4}");
}

#[test]
fn a_viral_spike_compounds_to_its_peak_day_then_decays() {
    let d = run("viral_spike", 150_000, 30, "2025-01-06", &[]);
    let peak = d.labels_of("viral_spike");
    assert_eq!(peak.len(), 1);
    // Weekday-adjusted daily volume (weekends run at 0.7 in the base model).
    let per_day: BTreeMap<i64, f64> = d
        .per_day(|_| true)
        .into_iter()
        .filter(|(day, _)| (0..30).contains(day))
        .map(|(day, n)| {
            (
                day,
                if is_weekend(d.start + chrono::Days::new(day as u64)) {
                    n / 0.7
                } else {
                    n
                },
            )
        })
        .collect();
    let busiest = per_day.iter().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
    assert!((17..=19).contains(busiest), "busiest day {busiest}: {per_day:?}");
    let baseline = (0..8).map(|day| per_day[&day]).sum::<f64>() / 8.0;
    let observed = per_day[&18] / baseline;
    assert!(
        (observed / peak[0].magnitude - 1.0).abs() < 0.35,
        "peak at {observed:.2}x the start, labelled {:.2}x",
        peak[0].magnitude
    );
    assert!(per_day[&25] < per_day[&18] * 0.6, "decays after the peak");
    assert!(
        peak[0].magnitude >= 1.1_f64.powi(10) * 0.99,
        "compounds at least 10% a day for 10 days"
    );
}
