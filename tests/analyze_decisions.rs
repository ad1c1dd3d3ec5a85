//! The real-time decisions analyzer: budgets and risk against a fold over the rows, patterns
//! against filters, and an injected cost spike that the anomaly detector must find.

mod analyze_support;
mod common;

use std::collections::BTreeMap;
use std::fs;

use analyze_support::{analyze, assert_close, fixture};
use chrono::{DateTime, NaiveDate};
use common::{floats, ints, strings, timestamps_us};
use trafficsim::analyze::decisions::DecisionsResult;
use trafficsim::report::html::Severity;

fn result() -> DecisionsResult {
    fixture().typed("decisions")
}

fn day(us: i64) -> NaiveDate {
    DateTime::from_timestamp_micros(us).unwrap().date_naive()
}

#[test]
fn budgets_match_tier_prices_prorated_to_active_days() {
    let r = result();
    let b = &fixture().rows;
    let (ids, prices, cost, ts) = (
        strings(b, "customer_id"),
        floats(b, "tier_price_usd"),
        floats(b, "cost_usd"),
        timestamps_us(b),
    );
    // customer → (price, cost, first day, last day)
    let mut want: BTreeMap<&str, (f64, f64, NaiveDate, NaiveDate)> = BTreeMap::new();
    for i in 0..b.num_rows() {
        let d = day(ts[i]);
        let e = want.entry(ids[i]).or_insert((prices[i], 0.0, d, d));
        e.1 += cost[i];
        e.2 = e.2.min(d);
        e.3 = e.3.max(d);
    }
    assert_eq!(r.budgets.len(), want.len());
    let mut over = 0;
    for s in &r.budgets {
        let (price, cost, first, last) = want[s.customer_id.as_str()];
        let days = (last - first).num_days() + 1;
        assert_eq!(s.active_days as i64, days, "{}", s.customer_id);
        let budget = price * days as f64 / 30.0;
        assert_close(s.budget_usd, budget, "budget");
        assert_close(s.cost_usd, cost, "cost");
        let share = cost / budget;
        let risk = if share > 1.0 {
            Severity::Critical
        } else if share > 0.8 {
            Severity::High
        } else if share > 0.5 {
            Severity::Medium
        } else {
            Severity::Low
        };
        assert_eq!(s.risk, risk, "{}: {share}", s.customer_id);
        over += u64::from(risk == Severity::Critical);
    }
    assert_eq!(r.portfolio.critical, over);
    assert!(
        over > 0,
        "heavy users on pro and power users on starter cost more than they pay"
    );
    assert_eq!(
        r.portfolio.critical + r.portfolio.high + r.portfolio.medium + r.portfolio.low,
        want.len() as u64
    );
    // Every over-budget customer gets an alert naming it, with the overspend in dollars.
    for s in r.budgets.iter().filter(|s| s.risk == Severity::Critical) {
        let alert = r
            .alerts
            .iter()
            .find(|a| a.kind == "over_budget" && a.customer_id.as_deref() == Some(s.customer_id.as_str()))
            .unwrap_or_else(|| panic!("alert for {}", s.customer_id));
        let rec = &alert.recommendation;
        assert_close(rec.amount_usd.unwrap(), s.cost_usd - s.budget_usd, "overspend");
        assert!(rec.message.contains(&s.customer_id) && rec.action.contains(&s.customer_id));
    }
}

#[test]
fn inefficient_patterns_count_the_matching_calls() {
    let r = result();
    let b = &fixture().rows;
    let (cost, tokens, lat) = (floats(b, "cost_usd"), ints(b, "total_tokens"), ints(b, "latency_ms"));
    let small: Vec<usize> = (0..b.num_rows())
        .filter(|&i| cost[i] > 0.01 && tokens[i] < 500)
        .collect();
    let slow: Vec<usize> = (0..b.num_rows()).filter(|&i| lat[i] > 5000 && cost[i] > 0.05).collect();
    let p = |kind: &str| r.patterns.iter().find(|p| p.kind == kind).unwrap();
    for (kind, rows, saving) in [
        ("expensive_small_calls", &small, 0.8),
        ("slow_expensive_calls", &slow, 0.5),
    ] {
        let total: f64 = rows.iter().map(|&i| cost[i]).sum();
        assert_eq!(p(kind).calls, rows.len() as u64, "{kind}");
        assert_close(p(kind).cost_usd, total, kind);
        assert_close(p(kind).saving_usd, total * saving, kind);
    }
    assert!(p("expensive_small_calls").calls > 0);
}

#[test]
fn an_injected_spike_is_found_and_named() {
    let f = fixture();
    // The customer with the most rows, on the 15th day: its rows of that day repeated 10 times.
    let b = &f.rows;
    let (ids, ts) = (strings(b, "customer_id"), timestamps_us(b));
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    ids.iter().for_each(|id| *counts.entry(id).or_default() += 1);
    let (victim, _) = counts
        .iter()
        .max_by_key(|(id, n)| (**n, std::cmp::Reverse(**id)))
        .unwrap();
    let spike_day = NaiveDate::from_ymd_opt(2025, 1, 15).unwrap();
    let csv = fs::read_to_string(f.data.join("simulated_calls.csv")).unwrap();
    let mut lines = csv.lines();
    let mut out = String::from(lines.next().unwrap());
    out.push('\n');
    for (i, line) in lines.enumerate() {
        let times = if ids[i] == *victim && day(ts[i]) == spike_day {
            11
        } else {
            1
        };
        for _ in 0..times {
            out.push_str(line);
            out.push('\n');
        }
    }
    let dir = f.root.join("spike");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("spiked.csv"), out).unwrap();
    analyze(&dir.join("spiked.csv"), &dir.join("reports"), &[]).success();
    let r: DecisionsResult =
        serde_json::from_str(&fs::read_to_string(dir.join("reports/results/decisions.json")).unwrap()).unwrap();
    let hit = r
        .customer_day_anomalies
        .anomalies
        .iter()
        .find(|a| a.subject == *victim && a.date == spike_day)
        .expect("the spike is detected");
    assert_eq!(hit.direction, "spike");
    assert!(hit.robust_z > 3.5 && hit.cost_usd > 5.0 * hit.baseline_usd, "{hit:?}");
    assert!(
        r.alerts
            .iter()
            .any(|a| a.kind == "cost_spike" && a.recommendation.message.contains(*victim)),
        "an alert names the customer"
    );
    // The un-spiked data has no anomaly for that customer-day.
    assert!(
        !result()
            .customer_day_anomalies
            .anomalies
            .iter()
            .any(|a| a.subject == *victim && a.date == spike_day && a.direction == "spike")
    );
}

/// The run plan's holidays (days counted from its start date) of the `weekend_effect` scenario.
fn holidays() -> Vec<NaiveDate> {
    let root = common::repo().join("config");
    let plan: toml::Table = toml::from_str(&fs::read_to_string(root.join("default.toml")).unwrap()).unwrap();
    let start: NaiveDate = plan["run"]["start_date"].as_str().unwrap().parse().unwrap();
    let sc: toml::Table =
        toml::from_str(&fs::read_to_string(root.join("scenarios/weekend_effect.toml")).unwrap()).unwrap();
    sc["modifiers"][0]["holidays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| start + chrono::Days::new(d.as_integer().unwrap() as u64))
        .collect()
}

#[test]
fn weekends_and_holidays_are_not_anomalies() {
    use chrono::Datelike;
    let r = result();
    let hol = holidays();
    assert_eq!(r.holidays, hol, "the plan's holidays, from the weekend modifier");
    let b = &fixture().rows;
    let (ids, sc, cost, ts) = (
        strings(b, "customer_id"),
        strings(b, "scenario"),
        floats(b, "cost_usd"),
        timestamps_us(b),
    );
    // The weekend cohort's daily cost per customer, from the rows.
    let mut daily: BTreeMap<&str, BTreeMap<NaiveDate, f64>> = BTreeMap::new();
    for i in 0..b.num_rows() {
        if sc[i] == "weekend_effect" {
            *daily.entry(ids[i]).or_default().entry(day(ts[i])).or_default() += cost[i];
        }
    }
    assert!(!daily.is_empty());
    let off = |d: NaiveDate| d.weekday().number_from_monday() >= 6 || hol.contains(&d);
    // The old rule, each day against the previous 7 calendar days (median and MAD), would call
    // these customers' days off drops: the data has the dips the new rule must not flag.
    let mut naive_drops = 0;
    for days in daily.values() {
        let v: Vec<(NaiveDate, f64)> = days.iter().map(|(d, c)| (*d, *c)).collect();
        for t in 7..v.len() {
            if !off(v[t].0) {
                continue;
            }
            let mut h: Vec<f64> = v[t - 7..t].iter().map(|x| x.1).collect();
            h.sort_by(f64::total_cmp);
            let m = h[3];
            let mut dev: Vec<f64> = h.iter().map(|x| (x - m).abs()).collect();
            dev.sort_by(f64::total_cmp);
            if dev[3] > 0.0 && 0.6745 * (v[t].1 - m) / dev[3] < -3.5 {
                naive_drops += 1;
            }
        }
    }
    assert!(
        naive_drops > 0,
        "calendar-blind baselines see weekend and holiday drops"
    );
    // The detector compares days off with days off: none of the cohort's days off is a drop, and
    // every anomaly's day kind is its calendar's.
    for a in &r.customer_day_anomalies.anomalies {
        let kind = a.day_kind.expect("customer-day anomalies carry their day kind");
        if daily.contains_key(a.subject.as_str()) {
            let want = if hol.contains(&a.date) {
                "holiday"
            } else if a.date.weekday().number_from_monday() >= 6 {
                "weekend"
            } else {
                "weekday"
            };
            assert_eq!(kind.as_str(), want, "{a:?}");
            assert!(
                !(off(a.date) && a.direction == "drop"),
                "a day off flagged as a drop: {a:?}"
            );
        } else if a.date.weekday().number_from_monday() >= 6 {
            assert_eq!(kind.as_str(), "weekend", "{a:?}");
        }
    }
}

#[test]
fn alerts_carry_real_amounts_and_respect_the_materiality_floor() {
    let r = result();
    let settings: toml::Table =
        toml::from_str(&fs::read_to_string(common::repo().join("config/analysis.toml")).unwrap()).unwrap();
    let d = &settings["decisions"];
    let (floor, critical, high, medium) = (
        d["materiality_usd"].as_float().unwrap(),
        d["stake_critical"].as_float().unwrap(),
        d["stake_high"].as_float().unwrap(),
        d["stake_medium"].as_float().unwrap(),
    );
    assert!(!r.alerts.is_empty());
    // Tier prices from the rows: the revenue each customer alert is weighed against.
    let b = &fixture().rows;
    let (ids, prices) = (strings(b, "customer_id"), floats(b, "tier_price_usd"));
    let price: BTreeMap<&str, f64> = (0..b.num_rows()).map(|i| (ids[i], prices[i])).collect();
    for a in &r.alerts {
        let rec = &a.recommendation;
        let amount = rec.amount_usd.expect("every alert states its amount");
        assert!(amount > 0.0, "no $0.00 headline: {a:?}");
        let want = if amount < floor {
            Severity::Low
        } else if let Some(c) = a.customer_id.as_ref().filter(|c| price[c.as_str()] > 0.0) {
            let share = amount / price[c.as_str()];
            assert_close(a.stake_share.unwrap(), share, "stake share");
            assert_close(a.monthly_revenue_usd.unwrap(), price[c.as_str()], "revenue");
            if share >= critical {
                Severity::Critical
            } else if share >= high {
                Severity::High
            } else if share >= medium {
                Severity::Medium
            } else {
                Severity::Low
            }
        } else {
            Severity::Medium
        };
        assert_eq!(rec.severity, want, "{a:?}");
    }
    // Ranked: severity first, then dollars at stake.
    for w in r.alerts.windows(2) {
        let (x, y) = (&w[0].recommendation, &w[1].recommendation);
        assert!(
            x.severity > y.severity || (x.severity == y.severity && x.amount_usd >= y.amount_usd),
            "{x:?} before {y:?}"
        );
    }
    // Each burst's alert states its excess cost; each churned customer's, its monthly revenue.
    for x in &r.bursts.bursts {
        assert!(r.alerts.iter().any(|a| a.kind == "burst"
            && a.customer_id.as_deref() == Some(x.customer_id.as_str())
            && a.recommendation.amount_usd == Some(x.excess_cost_usd)));
    }
    for c in r.churn_risks.iter().filter(|c| c.churned) {
        let a = r
            .alerts
            .iter()
            .find(|a| a.kind == "churn" && a.customer_id.as_ref() == Some(&c.customer_id))
            .unwrap();
        assert_close(
            a.recommendation.amount_usd.unwrap(),
            price[c.customer_id.as_str()],
            "revenue at risk",
        );
    }
}
