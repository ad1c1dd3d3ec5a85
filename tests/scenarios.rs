//! Each scenario, generated alone, shows its defining shape in its own rows, and its labels
//! list exactly the events it injected: the calendar, time-zone, organization, migration, cost
//! and user-defined scenarios (the customer events are in `scenario_events.rs`).

mod common;
mod scenarios_support;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate, Timelike, Weekday};
use common::*;
use scenarios_support::*;

#[test]
fn seasonal_peaks_mid_week_at_midday_and_at_month_end() {
    // March 2025: a whole month, starting on a Saturday.
    let d = run("seasonal_pattern", 300_000, 31, "2025-03-01", &[]);
    let local = d.local();
    let mut by_hour = [0.0f64; 24];
    let mut by_weekday = [0.0f64; 7];
    let mut weekdays_seen = [
        HashSet::new(),
        HashSet::new(),
        HashSet::new(),
        HashSet::new(),
        HashSet::new(),
        HashSet::new(),
        HashSet::new(),
    ];
    for (day, t) in &local {
        by_hour[t.hour() as usize] += 1.0;
        let w = t.weekday().num_days_from_monday() as usize;
        by_weekday[w] += 1.0;
        weekdays_seen[w].insert(*day);
    }
    // Daily cycle, ±50% peaking at 12:00 local, on top of flat business hours 8–20.
    let business = &by_hour[8..20];
    let peak = 8 + business.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
    assert!((11..=13).contains(&peak), "busiest business hour {peak}: {by_hour:?}");
    let ratio = by_hour[12] / by_hour[8];
    assert!(
        (1.1..1.32).contains(&ratio),
        "12:00 / 08:00 = {ratio:.3} (expected 1.5/1.25 = 1.2)"
    );

    // Weekly cycle, ±30% peaking on Wednesday: busiest weekday Tue–Thu, Wed/Mon ≈ 1.3/0.93.
    let per_day: Vec<f64> = (0..7).map(|w| by_weekday[w] / weekdays_seen[w].len() as f64).collect();
    let busiest = per_day.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
    assert!((1..=3).contains(&busiest), "busiest weekday {busiest}: {per_day:?}");
    let wed_mon = per_day[2] / per_day[0];
    assert!(
        (1.2..1.65).contains(&wed_mon),
        "Wednesday / Monday = {wed_mon:.3} (expected 1.39)"
    );

    // Monthly cycle, ±20% peaking on the 28th: weekdays of the last week against mid-month.
    let weekday_mean = |days: std::ops::RangeInclusive<u32>| {
        let counts: Vec<f64> = d
            .per_day(|_| true)
            .into_iter()
            .filter(|(day, _)| {
                if *day < 0 {
                    return false;
                }
                let date = d.start + chrono::Days::new(*day as u64);
                days.contains(&date.day()) && !is_weekend(date) && date.month() == 3
            })
            .map(|(_, n)| n)
            .collect();
        counts.iter().sum::<f64>() / counts.len() as f64
    };
    let month_end = weekday_mean(24..=31) / weekday_mean(10..=17);
    assert!(
        month_end > 1.25,
        "month-end / mid-month weekday volume {month_end:.3} (expected ≈ 1.45)"
    );
    assert_eq!(d.labels_of("seasonal_cycle").len(), 1);
}

#[test]
fn organizations_differ_in_usage_and_prefer_their_provider() {
    let d = run("multi_tenant", 200_000, 14, "2025-01-06", &[]);
    let profiles = d.labels_of("organization_profile");
    assert_eq!(profiles.len(), 10);
    let orgs = strings(&d.calls, "organization_id");
    let seen: HashSet<&str> = orgs.iter().copied().collect();
    for o in &seen {
        assert!(profiles.iter().any(|p| p.subject == *o), "{o} has no label");
        assert!(
            *o > "org_010",
            "the cohort's own organizations come after the shared ones: {o}"
        );
    }
    // Usage level per organization: calls per customer against what its customers' archetypes
    // would make at the base rate (light 12.5, power 100, heavy 350 calls a weekday).
    let archetype_rate = |a: &str| match a {
        "light" => 12.5,
        "power" => 100.0,
        _ => 350.0,
    };
    let mut customers: HashMap<&str, (&str, &str)> = HashMap::new();
    let mut calls: HashMap<&str, f64> = HashMap::new();
    for ((c, o), a) in strings(&d.calls, "customer_id")
        .into_iter()
        .zip(&orgs)
        .zip(strings(&d.calls, "customer_archetype"))
    {
        customers.insert(c, (o, a));
        *calls.entry(o).or_insert(0.0) += 1.0;
    }
    let mut base: HashMap<&str, f64> = HashMap::new();
    for (o, a) in customers.values() {
        *base.entry(o).or_insert(0.0) += archetype_rate(a);
    }
    let mut levels: Vec<(f64, f64)> = Vec::new(); // (label, observed)
    for p in &profiles {
        let (Some(n), Some(b)) = (calls.get(p.subject.as_str()), base.get(p.subject.as_str())) else {
            continue;
        };
        levels.push((p.magnitude, n / b));
    }
    let observed: Vec<f64> = levels.iter().map(|l| l.1).collect();
    let spread = observed.iter().cloned().fold(0.0, f64::max) / observed.iter().cloned().fold(f64::MAX, f64::min);
    assert!(
        spread >= 3.0,
        "organizations' usage levels differ {spread:.1}x: {levels:?}"
    );
    // The observed level follows the labelled one: rank correlation.
    let rank = |v: Vec<f64>| {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        let mut r = vec![0.0; v.len()];
        for (k, &i) in idx.iter().enumerate() {
            r[i] = k as f64;
        }
        r
    };
    let (ra, rb) = (rank(levels.iter().map(|l| l.0).collect()), rank(observed.clone()));
    let n = ra.len() as f64;
    let rho = 1.0 - 6.0 * ra.iter().zip(&rb).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / (n * (n * n - 1.0));
    assert!(
        rho > 0.7,
        "rank correlation of labelled and observed levels {rho:.2}: {levels:?}"
    );

    // Each organization sends most calls to its preferred provider (60% + its market share).
    let providers = strings(&d.calls, "provider");
    for p in &profiles {
        let preferred = p.detail.split("prefers ").nth(1).unwrap().split(' ').next().unwrap();
        let mine: Vec<&str> = orgs
            .iter()
            .zip(&providers)
            .filter(|(o, _)| **o == p.subject)
            .map(|(_, pr)| *pr)
            .collect();
        if mine.len() < 500 {
            continue;
        }
        let share = mine.iter().filter(|pr| **pr == preferred).count() as f64 / mine.len() as f64;
        assert!(
            share > 0.58,
            "{} prefers {preferred}: {share:.3} of {} calls",
            p.subject,
            mine.len()
        );
    }
}

#[test]
fn migration_follows_the_s_curve_from_source_to_target() {
    let d = run("model_migration", 200_000, 30, "2025-01-01", &[]);
    let label = d.labels_of("migration");
    assert_eq!(label.len(), 1);
    assert_eq!(label[0].subject, "gpt-4 -> claude-sonnet-4");
    let ts = timestamps_us(&d.calls);
    let t0 = ts.iter().min().unwrap().div_euclid(24 * HOUR_US) * 24 * HOUR_US;
    assert_eq!(label[0].start_us, t0 + 10 * 24 * HOUR_US);
    assert_eq!(label[0].end_us, t0 + 24 * 24 * HOUR_US);
    // Target share among calls to the two models, per UTC day.
    let mut per_day: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for (m, t) in strings(&d.calls, "model").into_iter().zip(&ts) {
        if m == "gpt-4" || m == "claude-sonnet-4" {
            let e = per_day.entry((t - t0) / (24 * HOUR_US)).or_insert((0.0, 0.0));
            e.1 += 1.0;
            if m == "claude-sonnet-4" {
                e.0 += 1.0;
            }
        }
    }
    let curve = |t: f64| 1.0 / (1.0 + (-10.0 * ((t - 10.0) / 14.0 - 0.5)).exp());
    for (&day, &(target, all)) in &per_day {
        let share = target / all;
        if day < 10 {
            assert!(share <= 0.10, "day {day}: target share {share:.3} before the window");
        }
        if day >= 24 {
            assert!(share >= 0.90, "day {day}: target share {share:.3} after the window");
        }
        if all >= 300.0 {
            let expected = curve(day as f64 + 0.5);
            assert!(
                (share - expected).abs() < 0.08,
                "day {day}: {share:.3} against the S-curve's {expected:.3}"
            );
        }
    }
    // The workload is a visible part of the traffic, and providers follow the model.
    let total: f64 = per_day.values().map(|v| v.1).sum();
    assert!(
        total / d.calls.num_rows() as f64 > 0.4,
        "workload share {:.3}",
        total / d.calls.num_rows() as f64
    );
    for (m, p) in strings(&d.calls, "model")
        .into_iter()
        .zip(strings(&d.calls, "provider"))
    {
        if m == "claude-sonnet-4" {
            assert_eq!(p, "anthropic");
        }
    }
}

#[test]
fn weekends_holidays_and_friday_afternoons_are_quiet() {
    // Four weeks from a Monday; holidays on days 7 and 21 are Mondays.
    let d = run("weekend_effect", 250_000, 28, "2025-01-06", &[]);
    let holidays: Vec<i64> = d
        .labels_of("holiday")
        .iter()
        .map(|l| (l.start_us / (24 * HOUR_US)) - d.start.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp() / 86_400)
        .collect();
    assert_eq!(holidays, vec![7, 21]);
    let per_day = d.per_day(|_| true);
    let mean = |pick: &dyn Fn(i64, NaiveDate) -> bool| {
        let v: Vec<f64> = per_day
            .iter()
            .filter(|(day, _)| (0..28).contains(*day) && pick(**day, d.start + chrono::Days::new(**day as u64)))
            .map(|(_, n)| *n)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let weekday = mean(&|day, date| {
        !holidays.contains(&day)
            && matches!(
                date.weekday(),
                Weekday::Mon | Weekday::Tue | Weekday::Wed | Weekday::Thu
            )
    });
    let ratio = |w: Weekday| mean(&|day, date| !holidays.contains(&day) && date.weekday() == w) / weekday;
    let (sat, sun) = (ratio(Weekday::Sat), ratio(Weekday::Sun));
    let holiday = mean(&|day, _| holidays.contains(&day)) / weekday;
    assert!((0.4..=0.6).contains(&sat), "Saturday at {sat:.3} of a weekday");
    assert!((0.3..=0.5).contains(&sun), "Sunday at {sun:.3} of a weekday");
    assert!((0.2..=0.4).contains(&holiday), "holidays at {holiday:.3} of a weekday");
    // Friday from 15:00 against Thursday from 15:00.
    let local = d.local();
    let after3 = |w: Weekday| local.iter().filter(|(_, t)| t.weekday() == w && t.hour() >= 15).count() as f64;
    let taper = after3(Weekday::Fri) / after3(Weekday::Thu);
    assert!(
        (0.6..0.8).contains(&taper),
        "Friday afternoon at {taper:.3} of Thursday's"
    );
}

#[test]
fn time_zones_cover_the_day_in_utc_and_follow_daylight_saving() {
    // US clocks move forward on 2025-03-09 (a Sunday); Europe's on 2025-03-30.
    let d = run("timezone_patterns", 250_000, 14, "2025-03-03", &[]);
    let zones = strings(&d.calls, "timezone");
    let ts = timestamps_us(&d.calls);
    let customers: HashMap<&str, &str> = strings(&d.calls, "customer_id")
        .into_iter()
        .zip(zones.iter().copied())
        .collect();
    let in_zone: HashSet<&str> = customers.values().copied().collect();
    for z in [
        "US/Eastern",
        "US/Pacific",
        "Europe/London",
        "Europe/Paris",
        "Asia/Tokyo",
        "Asia/Kolkata",
    ] {
        assert!(in_zone.contains(z), "no customer in {z}");
    }
    assert_eq!(d.labels_of("timezone").len(), 6);
    // Around the clock in UTC: no UTC hour is nearly empty (a single-continent product's are).
    let mut utc = [0.0f64; 24];
    for t in &ts {
        utc[(t.div_euclid(HOUR_US) % 24) as usize] += 1.0;
    }
    let total: f64 = utc.iter().sum();
    let quiet = utc.iter().cloned().fold(f64::MAX, f64::min) / total;
    assert!(quiet > 0.01, "quietest UTC hour holds {quiet:.4} of calls: {utc:?}");
    // Local business hours hold in every zone.
    let local = d.local();
    for z in ["US/Eastern", "Europe/London", "Asia/Tokyo", "Asia/Kolkata"] {
        let hours: Vec<u32> = local
            .iter()
            .zip(&zones)
            .filter(|(_, zz)| **zz == z)
            .map(|((_, t), _)| t.hour())
            .collect();
        let s = hours.iter().filter(|h| (8..20).contains(*h)).count() as f64 / hours.len() as f64;
        assert!((s - 0.85).abs() < 0.035, "{z}: business-hours share {s:.3}");
    }
    // In New York, 12:00–13:00 UTC is 07:00 local before the change (off hours) and 08:00 after
    // (business hours): its share of the zone's weekday calls jumps by the time-zone database.
    let change = NaiveDate::from_ymd_opt(2025, 3, 9).unwrap();
    for (label, before) in [("before", true), ("after", false)] {
        let mut n = 0.0;
        let mut noon = 0.0;
        for ((z, t), (_, l)) in zones.iter().zip(&ts).zip(&local) {
            if *z != "US/Eastern" || is_weekend(l.date()) || (l.date() < change) != before {
                continue;
            }
            n += 1.0;
            if t.div_euclid(HOUR_US) % 24 == 12 {
                noon += 1.0;
            }
        }
        let share = noon / n;
        if before {
            assert!(share < 0.025, "12 UTC {label} the change: {share:.4} (off hours)");
        } else {
            assert!(share > 0.05, "12 UTC {label} the change: {share:.4} (business hours)");
        }
    }
}

#[test]
fn cost_optimization_cuts_cost_per_call_by_its_target() {
    let d = run("cost_optimization", 250_000, 30, "2025-01-06", &[]);
    assert_eq!(d.labels_of("optimization").len(), 1);
    let costs = floats(&d.calls, "cost_usd");
    let local = d.local();
    let mut before = (0.0, 0.0);
    let mut after = (0.0, 0.0);
    for ((day, _), c) in local.iter().zip(&costs) {
        if (0..10).contains(day) {
            before = (before.0 + c, before.1 + 1.0);
        } else if (20..30).contains(day) {
            after = (after.0 + c, after.1 + 1.0);
        }
    }
    let reduction = 1.0 - (after.0 / after.1) / (before.0 / before.1);
    assert!(
        (reduction - 0.70).abs() < 0.06,
        "cost per call down {reduction:.3} (target 0.70)"
    );
    // Caching removes 30% of the calls: weekday volume after against before.
    let per_day = d.per_day(|_| true);
    let weekday_mean = |r: std::ops::Range<i64>| {
        let v: Vec<f64> = r
            .filter(|day| !is_weekend(d.start + chrono::Days::new(*day as u64)))
            .map(|day| per_day[&day])
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let volume = weekday_mean(20..30) / weekday_mean(0..10);
    assert!(
        (0.6..0.8).contains(&volume),
        "volume after caching at {volume:.3} (expected 0.70)"
    );
    // Routed calls land on cheap models that exist in the catalogue.
    let cheap = ["gemini-1.5-flash", "mistral-small", "titan-text-lite", "gpt-4o-mini"];
    let models = strings(&d.calls, "model");
    let share = |r: std::ops::Range<i64>| {
        let v: Vec<&str> = local
            .iter()
            .zip(&models)
            .filter(|((day, _), _)| r.contains(day))
            .map(|(_, m)| *m)
            .collect();
        v.iter().filter(|m| cheap.contains(m)).count() as f64 / v.len() as f64
    };
    assert!(
        share(20..30) > share(0..10) + 0.3,
        "cheap models {:.3} → {:.3}",
        share(0..10),
        share(20..30)
    );
}

#[test]
fn a_user_defined_scenario_runs_from_its_toml_alone() {
    // tests/fixtures/plan.toml declares `holiday_spike` (3x on days 5 and 25, customers in
    // London) in its own scenario directory: two modifiers composed, without any Rust.
    let dir = tempfile::tempdir().unwrap();
    let plan = repo().join("tests/fixtures/plan.toml");
    run_bin([
        "generate".as_ref(),
        "--config".as_ref(),
        plan.as_os_str(),
        "--out".as_ref(),
        dir.path().as_os_str(),
        "--quiet".as_ref(),
    ] as [&std::ffi::OsStr; 6])
    .success();
    let calls = read_all(&dir.path().join("data/calls"));
    assert_eq!(calls.num_rows(), 60_000);
    assert!(strings(&calls, "scenario").iter().all(|s| *s == "holiday_spike"));
    assert!(strings(&calls, "timezone").iter().all(|s| *s == "Europe/London"));
    let labels = labels(&read_parquet_file(&dir.path().join("data/labels.parquet")));
    let spikes: Vec<&LabelRow> = labels.iter().filter(|l| l.kind == "holiday_spike").collect();
    assert_eq!(spikes.len(), 2);
    let d = Data {
        calls,
        labels: labels.clone(),
        start: NaiveDate::from_ymd_opt(2025, 1, 6).unwrap(),
    };
    let per_day = d.per_day(|_| true);
    for day in [5i64, 25] {
        // Against the same weekday in other weeks.
        let others: Vec<f64> = [-14, -7, 7, 14]
            .iter()
            .map(|k| day + k)
            .filter(|o| (0..28).contains(o) && *o != 5 && *o != 25)
            .map(|o| per_day[&o])
            .collect();
        let ratio = per_day[&day] / (others.iter().sum::<f64>() / others.len() as f64);
        assert!(
            (2.3..3.8).contains(&ratio),
            "day {day} at {ratio:.2}x the same weekday in other weeks"
        );
    }
}

#[test]
fn a_scenario_declared_inline_in_the_run_plan_runs() {
    let dir = tempfile::tempdir().unwrap();
    let config = repo().join("config");
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            r#"catalogue = "{c}/catalogue.toml"
traffic = "{c}/traffic.toml"
scenario_dir = "{c}/scenarios"

[[scenarios]]
name = "tokyo_migration"
description = "Tokyo customers moving from gpt-4o to gemini-1.5-pro from day 2"

[[scenarios.modifiers]]
kind = "timezones"
zones = {{ "Asia/Tokyo" = 1.0 }}

[[scenarios.modifiers]]
kind = "migration"
source_model = "gpt-4o"
target_model = "gemini-1.5-pro"
start_day = 2
duration_days = 2

[run]
seed = 3
start_date = "2025-01-06"
days = 7
rows = 20_000
formats = ["csv"]
out = "output"

[[cohorts]]
name = "tokyo"
scenario = "tokyo_migration"
share = 1
"#,
            c = config.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    run_bin([
        "generate".as_ref(),
        "--config".as_ref(),
        plan.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--quiet".as_ref(),
    ] as [&std::ffi::OsStr; 6])
    .success();
    let calls = read_all(&out.join("data/simulated_calls.csv"));
    assert!(strings(&calls, "timezone").iter().all(|z| *z == "Asia/Tokyo"));
    assert!(strings(&calls, "scenario").iter().all(|s| *s == "tokyo_migration"));
    // After the window (days 2–3), the workload runs on the target.
    let ts = timestamps_us(&calls);
    let late: Vec<&str> = strings(&calls, "model")
        .into_iter()
        .zip(&ts)
        .filter(|(m, t)| {
            (*m == "gpt-4o" || *m == "gemini-1.5-pro") && **t >= 1_736_294_400_000_000 + 3 * 86_400_000_000
        })
        .map(|(m, _)| m)
        .collect();
    let target = late.iter().filter(|m| **m == "gemini-1.5-pro").count() as f64 / late.len() as f64;
    assert!(target > 0.95, "target share after the window {target:.3}");
}
