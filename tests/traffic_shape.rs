//! The base traffic model's shape, measured from the rows the generator writes.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate, Timelike, Weekday};
use common::*;

/// One run shared by the shape tests: 14 days (two full weeks), 600k rows, ~750 customers.
fn dataset() -> &'static arrow::array::RecordBatch {
    static DATA: std::sync::OnceLock<arrow::array::RecordBatch> = std::sync::OnceLock::new();
    DATA.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        generate(
            dir.path(),
            &[
                "--rows",
                "600000",
                "--days",
                "14",
                "--format",
                "parquet",
                "--scenario",
                "base_traffic",
            ],
        );
        read_all(&dir.path().join("data/calls"))
    })
}

/// (local date, local hour) of each row, from its timestamp and its customer's time zone.
fn local_times(b: &arrow::array::RecordBatch) -> Vec<(NaiveDate, u32)> {
    local_datetimes(b).iter().map(|t| (t.date(), t.hour())).collect()
}

fn share(count: usize, total: usize) -> f64 {
    count as f64 / total as f64
}

#[test]
fn row_count_is_exact() {
    assert_eq!(dataset().num_rows(), 600_000);
}

#[test]
fn archetype_shares_of_customers_match_the_weights() {
    let b = dataset();
    let mut archetype: HashMap<&str, &str> = HashMap::new();
    for (c, a) in strings(b, "customer_id")
        .into_iter()
        .zip(strings(b, "customer_archetype"))
    {
        archetype.insert(c, a);
    }
    let n = archetype.len();
    assert!(n > 500, "{n} customers");
    for (name, weight) in [("light", 0.70), ("power", 0.20), ("heavy", 0.10)] {
        let s = share(archetype.values().filter(|a| **a == name).count(), n);
        assert!(
            (s - weight).abs() <= 0.02,
            "{name}: {s:.3} of {n} customers, expected {weight}"
        );
    }
}

#[test]
fn provider_shares_of_calls_match_market_weights() {
    assert_market_mix(dataset(), 0.02);
}

#[test]
fn weekend_days_carry_70_percent_of_a_weekday() {
    let b = dataset();
    let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    // Only local dates that lie wholly inside the window in every zone: the interior days.
    let interior = |d: NaiveDate| d > start && d < start + chrono::Days::new(13);
    let mut per_day: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for (date, _) in local_times(b) {
        if interior(date) {
            *per_day.entry(date).or_default() += 1;
        }
    }
    let weekend = |d: &NaiveDate| matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
    let mean = |pick: bool| {
        let days: Vec<usize> = per_day
            .iter()
            .filter(|(d, _)| weekend(d) == pick)
            .map(|(_, n)| *n)
            .collect();
        assert!(!days.is_empty());
        days.iter().sum::<usize>() as f64 / days.len() as f64
    };
    let ratio = mean(true) / mean(false);
    assert!((ratio - 0.70).abs() <= 0.05, "weekend/weekday = {ratio:.3}");
}

#[test]
fn business_hours_carry_85_percent_of_calls_in_local_time() {
    let times = local_times(dataset());
    let business = times.iter().filter(|(_, h)| (8..20).contains(h)).count();
    let s = share(business, times.len());
    assert!((s - 0.85).abs() <= 0.03, "business-hours share {s:.4}");
}

#[test]
fn archetypes_call_at_their_documented_rates() {
    // Mean weekday calls per customer, per archetype, over the interior weekdays.
    let b = dataset();
    let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let mut calls: HashMap<(&str, NaiveDate), usize> = HashMap::new();
    let customers = strings(b, "customer_id");
    let archetypes = strings(b, "customer_archetype");
    let mut archetype_of: HashMap<&str, &str> = HashMap::new();
    for ((c, a), (date, _)) in customers.iter().zip(&archetypes).zip(local_times(b)) {
        archetype_of.insert(c, a);
        if date > start
            && date < start + chrono::Days::new(13)
            && !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
        {
            *calls.entry((c, date)).or_default() += 1;
        }
    }
    let weekdays: HashSet<NaiveDate> = calls.keys().map(|(_, d)| *d).collect();
    for (name, lo, hi) in [("light", 5.0, 20.0), ("power", 50.0, 150.0), ("heavy", 200.0, 500.0)] {
        let members: Vec<&str> = archetype_of
            .iter()
            .filter(|(_, a)| **a == name)
            .map(|(c, _)| *c)
            .collect();
        let total: usize = calls
            .iter()
            .filter(|((c, _), _)| archetype_of[c] == name)
            .map(|(_, n)| n)
            .sum();
        let mean = total as f64 / (members.len() * weekdays.len()) as f64;
        let mid = (lo + hi) / 2.0;
        assert!(
            (mean - mid).abs() <= 0.12 * mid,
            "{name}: {mean:.1} calls per weekday, expected about {mid}"
        );
    }
}

#[test]
fn sessions_are_reused_within_a_customer_day_only() {
    let b = dataset();
    let mut owner: HashMap<&str, (&str, NaiveDate)> = HashMap::new();
    for ((s, c), (date, _)) in strings(b, "session_id")
        .into_iter()
        .zip(strings(b, "customer_id"))
        .zip(local_times(b))
    {
        let first = *owner.entry(s).or_insert((c, date));
        assert_eq!(first, (c, date), "session {s} spans customer-days");
    }
    let customer_days: HashSet<(&str, NaiveDate)> = owner.values().copied().collect();
    assert_eq!(customer_days.len(), owner.len(), "one session per customer-day");
}

#[test]
fn failed_calls_are_a_small_unbilled_share() {
    let b = dataset();
    let statuses = strings(b, "status");
    let costs = floats(b, "cost_usd");
    let failed: Vec<usize> = (0..statuses.len()).filter(|&i| statuses[i] != "success").collect();
    let s = share(failed.len(), statuses.len());
    assert!((s - 0.03).abs() < 0.005, "failed share {s:.4}");
    assert!(failed.iter().all(|&i| costs[i] == 0.0));
    let environments = strings(b, "environment");
    let production = share(
        environments.iter().filter(|e| **e == "production").count(),
        environments.len(),
    );
    assert!((production - 0.95).abs() < 0.01, "production share {production:.4}");
}

#[test]
fn local_business_hours_hold_across_a_daylight_saving_change() {
    // US clocks move forward on 2025-03-09. Were local time a fixed offset, the week after would
    // put business hours one hour off and their share would fall to about 0.79.
    let dir = tempfile::tempdir().unwrap();
    generate(
        dir.path(),
        &[
            "--rows",
            "200000",
            "--days",
            "14",
            "--start-date",
            "2025-03-03",
            "--format",
            "parquet",
            "--scenario",
            "base_traffic",
        ],
    );
    let b = read_all(&dir.path().join("data/calls"));
    let zones = strings(&b, "timezone");
    let change = NaiveDate::from_ymd_opt(2025, 3, 9).unwrap();
    for zone in ["US/Eastern", "US/Pacific"] {
        for (label, before) in [("before", true), ("after", false)] {
            let hours: Vec<u32> = local_times(&b)
                .into_iter()
                .zip(&zones)
                .filter(|((date, _), z)| **z == zone && (*date < change) == before && *date != change)
                .map(|((_, h), _)| h)
                .collect();
            let s = share(hours.iter().filter(|h| (8..20).contains(*h)).count(), hours.len());
            assert!(hours.len() > 5_000, "{zone} {label}: {} calls", hours.len());
            assert!(
                (s - 0.85).abs() <= 0.025,
                "{zone} {label} the change: business-hours share {s:.4}"
            );
        }
    }
}
