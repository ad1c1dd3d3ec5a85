//! The abuse analyzer against independent folds over the rows (read with arrow; binomial tails
//! summed here term by term, local time read here with chrono-tz per row): rate-limit and
//! off-hours counts and flags, the busiest minute of every customer-hour, the cost spikes against
//! the decisions page's bursts — and a derived dataset with three abusers injected (one
//! rate-limited a third of the time, one shifted to its night, one bunching each hour's calls
//! into one minute), which it must flag, and no one else.

mod analyze_support;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use analyze_support::{analyze, fixture, process_dir};
use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use chrono::{DateTime, Timelike};
use common::{floats, strings, timestamps_us};
use trafficsim::analyze::abuse::AbuseResult;
use trafficsim::analyze::decisions::DecisionsResult;

const MINUTE_US: i64 = 60_000_000;
const HOUR_US: i64 = 3_600_000_000;

fn setting(key: &str) -> f64 {
    let text = std::fs::read_to_string(common::repo().join("config/analysis.toml")).unwrap();
    let file: toml::Table = text.parse().unwrap();
    let v = &file["abuse"][key];
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64)).unwrap()
}

/// P(X ≥ k), X ~ Binomial(n, p), summed term by term in logs.
fn tail(k: u64, n: u64, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    // ln C(n, k)
    let mut ln_c: f64 = (1..=k).map(|i| ((n - k + i) as f64 / i as f64).ln()).sum();
    let mut sum = 0.0;
    for x in k..=n {
        sum += (ln_c + x as f64 * lp + (n - x) as f64 * lq).exp();
        ln_c += ((n - x) as f64 / (x + 1) as f64).ln();
    }
    sum.min(1.0)
}

/// Benjamini–Hochberg by its definition over `m` tests (p-values not given count as 1).
fn bh(p: &[f64], m: usize, q: f64) -> Vec<bool> {
    let mut sorted = p.to_vec();
    sorted.sort_by(f64::total_cmp);
    let cut = (1..=sorted.len())
        .rev()
        .find(|&i| sorted[i - 1] <= i as f64 * q / m as f64)
        .map_or(-1.0, |i| sorted[i - 1]);
    p.iter().map(|&x| x <= cut).collect()
}

#[derive(Default)]
struct Customer {
    calls: u64,
    limited: u64,
    night: u64,
}

struct Expected {
    rate_limited: BTreeSet<String>,
    night: BTreeSet<String>,
    concurrent: BTreeSet<String>,
    limited: u64,
    night_calls: u64,
    hours_tested: u64,
}

/// The three tests recomputed from the rows.
fn expected(b: &RecordBatch) -> Expected {
    let (ids, status, zones) = (strings(b, "customer_id"), strings(b, "status"), strings(b, "timezone"));
    let ts = timestamps_us(b);
    let (start, end) = (setting("night_start_hour") as u32, setting("night_end_hour") as u32);
    let q = setting("fdr");
    let mut by: BTreeMap<&str, Customer> = BTreeMap::new();
    let mut minutes: BTreeMap<(&str, i64), u64> = BTreeMap::new();
    for i in 0..b.num_rows() {
        let c = by.entry(ids[i]).or_default();
        c.calls += 1;
        c.limited += u64::from(status[i] == "rate_limited");
        let tz: chrono_tz::Tz = zones[i].parse().unwrap();
        let h = DateTime::from_timestamp_micros(ts[i]).unwrap().with_timezone(&tz).hour();
        c.night += u64::from(h >= start || h < end);
        *minutes.entry((ids[i], ts[i].div_euclid(MINUTE_US))).or_default() += 1;
    }
    let flag = |k: fn(&Customer) -> u64, multiple: f64| -> BTreeSet<String> {
        let (all_k, all_n): (u64, u64) = by.values().fold((0, 0), |(a, n), c| (a + k(c), n + c.calls));
        let p: Vec<f64> = by
            .values()
            .map(|c| {
                let reference = (all_k - k(c)) as f64 / (all_n - c.calls) as f64;
                tail(k(c), c.calls, (reference * multiple).min(1.0))
            })
            .collect();
        by.keys()
            .zip(bh(&p, p.len(), q))
            .filter(|(_, r)| *r)
            .map(|(id, _)| id.to_string())
            .collect()
    };
    let mut hours: BTreeMap<(&str, i64), (u64, u64)> = BTreeMap::new();
    for (&(id, minute), &n) in &minutes {
        let e = hours.entry((id, minute.div_euclid(60))).or_default();
        e.0 += n;
        e.1 = e.1.max(n);
    }
    let p: Vec<f64> = hours
        .values()
        .map(|&(n, peak)| (60.0 * tail(peak, n, 1.0 / 60.0)).min(1.0))
        .collect();
    let concurrent = hours
        .keys()
        .zip(bh(&p, p.len(), q))
        .filter(|(_, r)| *r)
        .map(|((id, _), _)| id.to_string())
        .collect();
    Expected {
        rate_limited: flag(|c| c.limited, setting("rate_limit_multiple")),
        night: flag(|c| c.night, setting("off_hours_multiple")),
        concurrent,
        limited: by.values().map(|c| c.limited).sum(),
        night_calls: by.values().map(|c| c.night).sum(),
        hours_tested: hours.len() as u64,
    }
}

fn check(r: &AbuseResult, e: &Expected, rows: usize) {
    let ids = |v: &[trafficsim::analyze::abuse::FlaggedCustomer]| -> BTreeSet<String> {
        v.iter().map(|f| f.customer_id.clone()).collect()
    };
    assert_eq!(r.calls, rows as u64);
    assert_eq!((r.rate_limits.events, r.rate_limits.calls), (e.limited, rows as u64));
    assert_eq!((r.off_hours.events, r.off_hours.calls), (e.night_calls, rows as u64));
    assert_eq!(r.concurrency.hours_tested, e.hours_tested);
    assert_eq!(ids(&r.rate_limits.flagged), e.rate_limited, "rate limits");
    assert_eq!(ids(&r.off_hours.flagged), e.night, "off-hours");
    let concurrent: BTreeSet<String> = r.concurrency.customers.iter().map(|c| c.customer_id.clone()).collect();
    assert_eq!(concurrent, e.concurrent, "concurrency");
}

#[test]
fn the_tests_match_a_fold_and_the_cost_spikes_are_the_decisions_bursts() {
    let f = fixture();
    let r: AbuseResult = f.typed("abuse");
    let e = expected(&f.rows);
    check(&r, &e, f.rows.num_rows());
    // The simulator injects none of these: nothing is flagged on its data.
    assert!(e.rate_limited.is_empty() && e.night.is_empty() && e.concurrent.is_empty());
    assert!(r.recommendations.iter().all(|x| x.title.contains("cost spikes")));

    // Cost spikes: the decisions page's bursts, each once, with its excess.
    let d: DecisionsResult = f.typed("decisions");
    let key = |c: &str, s: &str| (c.to_string(), s.to_string());
    let bursts: BTreeSet<(String, String)> = d.bursts.bursts.iter().map(|b| key(&b.customer_id, &b.start)).collect();
    let spikes: BTreeSet<(String, String)> = r.cost_spikes.spikes.iter().map(|x| key(&x.customer_id, &x.start)).collect();
    assert_eq!(spikes, bursts);
    assert_eq!(r.cost_spikes.spikes.len(), d.bursts.bursts.len());
    let excess: f64 = d.bursts.bursts.iter().map(|b| b.excess_cost_usd).sum();
    assert!((r.cost_spikes.excess_cost_usd - excess).abs() < 1e-6);
    assert!(
        r.cost_spikes
            .spikes
            .windows(2)
            .all(|w| w[0].share_of_price >= w[1].share_of_price),
        "largest share of the plan first"
    );
    // Scored: the burst labels are found, and every spike explained by one overlaps it.
    let b = r.cost_spikes.burst_score.as_ref().unwrap();
    assert!(b.labelled > 0 && b.recall > 0.0);
    let ex = r.cost_spikes.explained.as_ref().unwrap();
    assert_eq!(ex.by_burst_label + ex.by_viral_cohort + ex.unexplained, r.cost_spikes.spikes.len() as u64);
    let page = f.read("abuse.html");
    assert!(page.contains("Rate-limit abuse") && page.contains("Cost spikes"));
    common::assert_page_stands_alone("abuse", &page);
}

#[test]
fn injected_abusers_are_flagged_and_no_one_else() {
    let f = fixture();
    let b = &f.rows;
    let ids = strings(b, "customer_id");
    // The three customers with most calls (ties by id): most power to find them.
    let mut calls: BTreeMap<&str, u64> = BTreeMap::new();
    for id in &ids {
        *calls.entry(id).or_default() += 1;
    }
    let mut ranked: Vec<(&str, u64)> = calls.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let (limited, nightly, bunched) = (ranked[0].0, ranked[1].0, ranked[2].0);

    let ts = timestamps_us(b);
    let last = *ts.iter().max().unwrap();
    let status = strings(b, "status");
    let cost = floats(b, "cost_usd");
    let mut seen = 0u64;
    let (mut new_status, mut new_cost, mut new_ts) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..b.num_rows() {
        let (mut s, mut c, mut t) = (status[i].to_string(), cost[i], ts[i]);
        if ids[i] == limited {
            seen += 1;
            if seen % 3 == 0 {
                (s, c) = ("rate_limited".to_string(), 0.0);
            }
        } else if ids[i] == nightly {
            t += 12 * HOUR_US;
            if t > last {
                t -= 24 * HOUR_US;
            }
        } else if ids[i] == bunched {
            // Every call of the hour into its first minute, in order.
            t = t.div_euclid(HOUR_US) * HOUR_US + t.rem_euclid(HOUR_US) / 60;
        }
        new_status.push(s);
        new_cost.push(c);
        new_ts.push(t);
    }
    let schema = b.schema();
    let mut columns: Vec<ArrayRef> = b.columns().to_vec();
    columns[schema.index_of("status").unwrap()] = Arc::new(StringArray::from(new_status));
    columns[schema.index_of("cost_usd").unwrap()] = Arc::new(Float64Array::from(new_cost));
    let ts_index = schema.index_of("timestamp").unwrap();
    columns[ts_index] = Arc::new(TimestampMicrosecondArray::from(new_ts).with_timezone("UTC"));
    let batch = RecordBatch::try_new(schema, columns).unwrap();

    let root = process_dir("abusers");
    std::fs::create_dir_all(&root).unwrap();
    let data = root.join("calls.parquet");
    let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&data).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let reports = root.join("reports");
    analyze(&data, &reports, &["--only", "abuse"]).success();
    let r: AbuseResult = serde_json::from_value(analyze_support::result_in(&reports, "abuse")).unwrap();
    let e = expected(&batch);
    check(&r, &e, batch.num_rows());
    let one = |id: &str| BTreeSet::from([id.to_string()]);
    assert_eq!(e.rate_limited, one(limited));
    assert_eq!(e.night, one(nightly));
    assert_eq!(e.concurrent, one(bunched));
    let titles: Vec<&str> = r.recommendations.iter().map(|x| x.title.as_str()).collect();
    for want in ["rate limits", "local night", "bunch calls"] {
        assert!(titles.iter().any(|t| t.contains(want)), "{want}: {titles:?}");
    }
}
