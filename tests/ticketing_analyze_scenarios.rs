//! The scenarios page against independent folds over the rows (read with arrow): attempts per
//! scenario, and for every label the signature and the measured figure beside its magnitude —
//! the flash sale's busiest second and first sold-out answers, each attack's attempts in its
//! window, the drift weeks' baskets, the A/B conversion uplift, each degradation window's median
//! latency against outside, Black Friday against the week before.

mod analyze_support;
mod common;
mod ticketing_analyze_support;
mod ticketing_support;

use std::collections::BTreeMap;

use trafficsim::analyze::ticketing::scenarios::ScenariosResult;

use analyze_support::assert_close;
use ticketing_analyze_support::fixture;
use ticketing_support::{Label, bools, floats, ints, str_vals, strs, times_ms};

const SECOND_MS: i64 = 1_000;
const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// `[ticketing.scenarios]` of config/analysis.toml, the settings the fixture ran with.
fn setting(key: &str) -> i64 {
    let text = std::fs::read_to_string(common::repo().join("config/analysis.toml")).unwrap();
    let v: toml::Value = toml::from_str(&text).unwrap();
    v["ticketing"]["scenarios"][key].as_integer().unwrap()
}

struct Rows {
    ms: Vec<i64>,
    scenario: Vec<String>,
    persona: Vec<String>,
    pattern: Vec<Option<String>>,
    event: Vec<String>,
    tier: Vec<String>,
    status: Vec<String>,
    variant: Vec<Option<String>>,
    fraud: Vec<bool>,
    api: Vec<i64>,
    latency: Vec<i64>,
    tickets: Vec<i64>,
    cents: Vec<i64>,
}

fn rows() -> &'static Rows {
    static ROWS: std::sync::OnceLock<Rows> = std::sync::OnceLock::new();
    ROWS.get_or_init(|| {
        let t = fixture().transactions(&[
            "timestamp",
            "scenario",
            "persona",
            "fraud_pattern",
            "event_id",
            "tier",
            "payment_status",
            "ab_variant",
            "is_fraud",
            "api_status",
            "decision_latency_ms",
            "num_tickets",
            "total_amount",
        ]);
        Rows {
            ms: times_ms(&t, "timestamp"),
            scenario: str_vals(&t, "scenario"),
            persona: str_vals(&t, "persona"),
            pattern: strs(&t, "fraud_pattern"),
            event: str_vals(&t, "event_id"),
            tier: str_vals(&t, "tier"),
            status: str_vals(&t, "payment_status"),
            variant: strs(&t, "ab_variant"),
            fraud: bools(&t, "is_fraud"),
            api: ints(&t, "api_status"),
            latency: ints(&t, "decision_latency_ms"),
            tickets: ints(&t, "num_tickets"),
            cents: floats(&t, "total_amount")
                .iter()
                .map(|a| (a * 100.0 + 0.5) as i64)
                .collect(),
        }
    })
}

fn result() -> &'static ScenariosResult {
    static R: std::sync::OnceLock<ScenariosResult> = std::sync::OnceLock::new();
    R.get_or_init(|| fixture().typed("scenarios"))
}

fn labels(kind: &str) -> Vec<Label> {
    let mut l: Vec<Label> = fixture().labels().into_iter().filter(|l| l.kind == kind).collect();
    l.sort_by_key(|l| l.start);
    assert!(!l.is_empty(), "the default run has {kind} labels");
    l
}

/// The rows of `l`'s scenario inside `[l.start - before, l.end + after)`.
fn around(l: &Label, before: i64, after: i64) -> impl Fn(usize) -> bool + '_ {
    move |i| {
        let r = rows();
        r.scenario[i] == l.scenario && r.ms[i] >= l.start - before && r.ms[i] < l.end + after
    }
}

fn indices(keep: impl Fn(usize) -> bool) -> Vec<usize> {
    (0..rows().ms.len()).filter(|&i| keep(i)).collect()
}

/// The measured figure the page shows beside `l`.
fn measured(l: &Label) -> Option<f64> {
    result()
        .figures
        .iter()
        .find(|f| f.label.kind == l.kind && f.label.start.timestamp_millis() == l.start && f.label.subject == l.subject)
        .unwrap_or_else(|| panic!("no figure for {} {}", l.kind, l.subject))
        .measured
}

#[test]
fn attempts_per_scenario_and_every_label_has_a_figure() {
    let r = rows();
    let mut per: BTreeMap<&str, u64> = BTreeMap::new();
    for s in &r.scenario {
        *per.entry(s.as_str()).or_default() += 1;
    }
    let got: Vec<(&str, u64)> = result()
        .scenarios
        .iter()
        .map(|s| (s.scenario.as_str(), s.rows))
        .collect();
    assert_eq!(got, per.into_iter().collect::<Vec<_>>());
    for s in &result().scenarios {
        assert_close(s.share, s.rows as f64 / r.ms.len() as f64, &s.scenario);
    }
    // One figure per label (every label's scenario is in the default run), in label order.
    let all = fixture().labels();
    assert_eq!(result().figures.len(), all.len());
    for w in result().figures.windows(2) {
        assert!(w[0].label.start <= w[1].label.start);
    }
    // Every scenario here has a label-driven signature, so no plain one.
    assert!(result().plain.is_empty());
    // The page shades each label's window: its name is on the page.
    let page = fixture().read("scenarios.html");
    for f in &result().figures {
        assert!(page.contains(&f.label.window_name()), "{}", f.label.window_name());
    }
}

#[test]
fn flash_sale_per_second_peak_and_sold_out_answers_match_a_fold() {
    let r = rows();
    let margin = setting("flash_sale_margin_s") * SECOND_MS;
    for l in labels("flash_sale") {
        let sig = result()
            .flash_sales
            .iter()
            .find(|f| f.label.subject == l.subject)
            .unwrap();
        let mut per: BTreeMap<i64, u64> = BTreeMap::new();
        for i in indices(around(&l, margin, margin)) {
            *per.entry(r.ms[i].div_euclid(SECOND_MS)).or_default() += 1;
        }
        let open = l.start / SECOND_MS;
        let want: Vec<(i64, u64)> = ((l.start - margin) / SECOND_MS..(l.end + margin) / SECOND_MS)
            .map(|s| (s - open, per.get(&s).copied().unwrap_or(0)))
            .collect();
        assert_eq!(sig.per_second, want);
        // The busiest second inside the window (ties: the earliest).
        let (second, n) = per
            .range(l.start / SECOND_MS..l.end / SECOND_MS)
            .fold((0, 0), |b, (&s, &n)| if n > b.1 { (s, n) } else { b });
        let (at, got) = sig.peak.unwrap();
        assert_eq!((at.timestamp(), got), (second, n));
        assert_eq!(measured(&l), Some(n as f64));
        // Each tier's first attempt answered sold_out, over every row of the event.
        for t in &sig.tiers {
            let first =
                indices(|i| r.event[i] == l.subject && r.status[i] == "sold_out" && r.tier[i].to_lowercase() == t.tier)
                    .into_iter()
                    .map(|i| r.ms[i])
                    .min();
            assert_eq!(
                t.first_sold_out_answer.map(|a| a.timestamp_millis()),
                first,
                "{}",
                t.tier
            );
        }
    }
}

#[test]
fn attacks_count_their_patterns_attempts_in_the_window() {
    let r = rows();
    let margin = setting("attack_margin_minutes") * MINUTE_MS;
    for l in labels("attack") {
        let sig = result().attacks.iter().find(|a| a.label.subject == l.subject).unwrap();
        let of_pattern = |i: usize| r.pattern[i].as_deref() == Some(l.subject.as_str());
        let in_window = indices(|i| around(&l, 0, 0)(i) && of_pattern(i)).len() as u64;
        assert_eq!(sig.in_window, in_window, "{}", l.subject);
        let mut per: BTreeMap<i64, u64> = BTreeMap::new();
        for i in indices(|i| around(&l, margin, margin)(i) && of_pattern(i)) {
            *per.entry((r.ms[i] - l.start).div_euclid(MINUTE_MS)).or_default() += 1;
        }
        let total: u64 = sig.per_minute.iter().map(|p| p.1).sum();
        assert_eq!(total, per.values().sum::<u64>());
        for (m, n) in &sig.per_minute {
            assert_eq!(per.get(m).copied().unwrap_or(0), *n, "{} minute {m}", l.subject);
        }
        let seconds = (l.end - l.start) as f64 / 1000.0;
        assert_close(measured(&l).unwrap(), in_window as f64 / seconds, &l.subject);
    }
}

#[test]
fn drift_weeks_days_and_the_ab_uplift_match_a_fold() {
    let r = rows();
    let drift = labels("drift");
    let scenario = drift[0].scenario.clone();
    let sig = result().everyday.iter().find(|e| e.scenario == scenario).unwrap();
    // Attempts and mean amount per UTC day of the scenario.
    let mut days: BTreeMap<i64, (u64, i64)> = BTreeMap::new();
    for i in indices(|i| r.scenario[i] == scenario) {
        let d = days.entry(r.ms[i].div_euclid(DAY_MS)).or_default();
        d.0 += 1;
        d.1 += r.cents[i];
    }
    assert_eq!(sig.days.len(), days.len());
    for (got, (day, (n, cents))) in sig.days.iter().zip(&days) {
        let epoch_day = got
            .date
            .signed_duration_since(chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap());
        assert_eq!(epoch_day.num_days(), *day);
        assert_eq!(got.attempts, *n);
        assert_close(got.mean_amount, *cents as f64 / 100.0 / *n as f64, "mean amount");
        assert_eq!(got.personas.values().sum::<u64>(), *n);
    }
    // Each drift week: attempts, cents, tickets, personas; the figure is its mean basket ÷ week 0's.
    let week = |l: &Label| {
        let idx = indices(around(l, 0, 0));
        let mut personas: BTreeMap<String, u64> = BTreeMap::new();
        for &i in &idx {
            *personas.entry(r.persona[i].clone()).or_default() += 1;
        }
        (
            idx.len() as u64,
            idx.iter().map(|&i| r.cents[i]).sum::<i64>(),
            idx.iter().map(|&i| r.tickets[i]).sum::<i64>(),
            personas,
        )
    };
    let reference = week(&drift[0]);
    for (l, got) in drift.iter().zip(&sig.drift_windows) {
        let (n, cents, tickets, personas) = week(l);
        assert_eq!((got.attempts, got.cents, got.tickets), (n, cents, tickets));
        assert_eq!(got.personas, personas);
        let ratio = (tickets as f64 / n as f64) / (reference.2 as f64 / reference.0 as f64);
        assert_close(measured(l).unwrap(), ratio, "drift figure");
    }
    // The A/B conversion uplift with the label's definition: not abandoned, among legitimate
    // attempts not sold out nor rate-limited, in the test's window.
    for l in labels("ab_test") {
        let rate = |variant: &str| {
            let idx = indices(|i| {
                around(&l, 0, 0)(i)
                    && r.variant[i].as_deref() == Some(variant)
                    && !r.fraud[i]
                    && r.status[i] != "sold_out"
                    && r.api[i] != 429
            });
            let converted = idx.iter().filter(|&&i| r.status[i] != "abandoned").count();
            converted as f64 / idx.len() as f64
        };
        assert_close(
            measured(&l).unwrap(),
            rate("treatment") / rate("control") - 1.0,
            "uplift",
        );
    }
}

/// The value at rank ⌈q·n⌉ of the values (see `ticketing_support::nearest_rank`).
fn nearest_rank(mut v: Vec<i64>, q: f64) -> Option<f64> {
    v.sort_unstable();
    ticketing_support::nearest_rank(&v, q)
}

#[test]
fn degradation_medians_and_minutes_match_a_fold() {
    let r = rows();
    let windows = labels("degradation");
    let margin = setting("degradation_margin_minutes") * MINUTE_MS;
    let ok = |keep: &dyn Fn(usize) -> bool| -> Vec<i64> {
        indices(|i| keep(i) && r.api[i] == 200)
            .into_iter()
            .map(|i| r.latency[i])
            .collect()
    };
    let scenario = windows[0].scenario.clone();
    let outside = nearest_rank(
        ok(&|i| r.scenario[i] == scenario && !windows.iter().any(|l| around(l, 0, 0)(i))),
        0.5,
    );
    for l in &windows {
        let sig = result()
            .degradations
            .iter()
            .find(|d| d.label.start.timestamp_millis() == l.start)
            .unwrap();
        let inside = nearest_rank(ok(&around(l, 0, 0)), 0.5);
        assert_eq!((sig.p50_inside, sig.p50_outside), (inside, outside));
        assert_close(
            measured(l).unwrap(),
            inside.unwrap() / outside.unwrap(),
            "latency multiplier",
        );
        // p99 per minute of the scenario's successful decisions, the margin either side.
        let mut minutes: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for i in indices(|i| around(l, margin, margin)(i) && r.api[i] == 200) {
            minutes
                .entry((r.ms[i] - l.start).div_euclid(MINUTE_MS))
                .or_default()
                .push(r.latency[i]);
        }
        let want: Vec<(i64, f64)> = minutes
            .into_iter()
            .map(|(m, v)| (m, nearest_rank(v, 0.99).unwrap()))
            .collect();
        assert_eq!(sig.per_minute_p99, want);
    }
}

#[test]
fn black_friday_is_compared_with_the_same_hours_a_week_before() {
    let r = rows();
    let lag = setting("black_friday_lag_days") * DAY_MS;
    for l in labels("black_friday") {
        let sig = result()
            .black_fridays
            .iter()
            .find(|b| b.label.start.timestamp_millis() == l.start)
            .unwrap();
        assert!(sig.before_in_data);
        let hours = ((l.end - l.start) / HOUR_MS) as usize;
        let mut want = vec![(0u64, 0u64); hours];
        for i in indices(|i| r.scenario[i] == l.scenario) {
            let t = r.ms[i];
            if t >= l.start && t < l.end {
                want[((t - l.start) / HOUR_MS) as usize].0 += 1;
            } else if t >= l.start - lag && t < l.end - lag {
                want[((t - l.start + lag) / HOUR_MS) as usize].1 += 1;
            }
        }
        let got: Vec<(u64, u64)> = sig.per_hour.iter().map(|p| (p.1, p.2)).collect();
        assert_eq!(got, want);
        let (now, before): (u64, u64) = want.iter().fold((0, 0), |a, w| (a.0 + w.0, a.1 + w.1));
        assert_close(measured(&l).unwrap(), now as f64 / before as f64, "load multiplier");
    }
}
