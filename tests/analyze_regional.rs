//! The regional analyzer against independent folds over the rows (read with arrow): sums and
//! exact latency percentiles by time zone and provider-region, calls by local hour (time zones
//! resolved here with chrono-tz), the route comparisons — and a derived dataset whose `us-west`
//! region is made twice as slow, where only its cells may be routed elsewhere.

mod analyze_derived;
mod analyze_support;
mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use analyze_derived::setting;
use analyze_support::{analyze, assert_close, fixture, process_dir, result_in};
use arrow::array::{ArrayRef, Int64Array, RecordBatch};
use chrono::{Datelike, Timelike};
use common::{floats, ints, local_datetimes, strings};
use trafficsim::analyze::regional::{RegionRow, RegionalResult};

#[derive(Default)]
struct Group {
    calls: u64,
    successes: u64,
    cost_micros: i64,
    ok_tokens: i64,
    latencies: Vec<i64>,
}

/// The ⌈q·n⌉-th smallest.
fn nearest_rank(sorted: &[i64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64) - 1e-9).ceil() as usize;
    sorted[rank.max(1) - 1] as f64
}

fn fold(b: &RecordBatch, key: impl Fn(usize) -> String) -> BTreeMap<String, Group> {
    let status = strings(b, "status");
    let (input, output, latency) = (ints(b, "input_tokens"), ints(b, "output_tokens"), ints(b, "latency_ms"));
    let cost = floats(b, "cost_usd");
    let mut out: BTreeMap<String, Group> = BTreeMap::new();
    for i in 0..b.num_rows() {
        let g = out.entry(key(i)).or_default();
        g.calls += 1;
        g.cost_micros += (cost[i] * 1e6).round() as i64;
        if status[i] == "success" {
            g.successes += 1;
            g.ok_tokens += input[i] + output[i];
            g.latencies.push(latency[i]);
        }
    }
    for g in out.values_mut() {
        g.latencies.sort_unstable();
    }
    out
}

/// A binned percentile is within 0.4% (half a bin) of the exact one.
fn assert_binned(got: f64, exact: f64, what: &str) {
    assert!(
        (got - exact).abs() <= 0.004 * exact + 1.0,
        "{what}: got {got}, exact {exact}"
    );
}

fn assert_rows(rows: &[RegionRow], want: &BTreeMap<String, Group>, what: &str) {
    assert_eq!(rows.len(), want.len(), "{what}");
    let total: i64 = want.values().map(|g| g.cost_micros).sum();
    for r in rows {
        let g = &want[&r.name];
        let name = format!("{what} {}", r.name);
        assert_eq!((r.calls, r.successful_calls), (g.calls, g.successes), "{name}");
        assert_close(r.cost_usd, g.cost_micros as f64 / 1e6, &name);
        assert_close(r.cost_share, g.cost_micros as f64 / total as f64, &name);
        assert_close(r.cost_per_1m_tokens, g.cost_micros as f64 / g.ok_tokens as f64, &name);
        assert_binned(r.p50_ms, nearest_rank(&g.latencies, 0.5), &name);
        assert_binned(r.p95_ms, nearest_rank(&g.latencies, 0.95), &name);
        assert_binned(r.p99_ms, nearest_rank(&g.latencies, 0.99), &name);
    }
    assert!(
        rows.windows(2).all(|w| w[0].cost_usd >= w[1].cost_usd),
        "{what}: most cost first"
    );
}

#[test]
fn time_zones_and_provider_regions_match_a_fold() {
    let f = fixture();
    let r: RegionalResult = f.typed("regional");
    let b = &f.rows;
    assert!(r.missing_columns.is_empty());
    let (tz, provider, region) = (strings(b, "timezone"), strings(b, "provider"), strings(b, "region"));
    assert_rows(&r.by_timezone, &fold(b, |i| tz[i].to_string()), "time zone");
    assert_rows(&r.by_region, &fold(b, |i| region[i].to_string()), "region");
    assert_rows(
        &r.by_provider_region,
        &fold(b, |i| format!("{} · {}", provider[i], region[i])),
        "provider-region",
    );
}

#[test]
fn local_hours_place_each_call_in_its_customer_time_zone() {
    let f = fixture();
    let r: RegionalResult = f.typed("regional");
    let b = &f.rows;
    let tz = strings(b, "timezone");
    let local = local_datetimes(b);
    let mut want: BTreeMap<&str, ([u64; 24], u64, u64)> = BTreeMap::new();
    for i in 0..b.num_rows() {
        let e = want.entry(tz[i]).or_insert(([0; 24], 0, 0));
        let (h, wd) = (local[i].hour() as usize, local[i].weekday().num_days_from_monday());
        e.0[h] += 1;
        if wd < 5 && (9..18).contains(&h) {
            e.1 += 1;
        }
        if !(6..22).contains(&h) {
            e.2 += 1;
        }
    }
    assert!(r.unknown_timezones.is_empty());
    assert_eq!(r.local_hours.len(), want.len());
    for l in &r.local_hours {
        let (hours, business, night) = want[l.timezone.as_str()];
        assert_eq!(l.calls, hours.to_vec(), "{}", l.timezone);
        let n: u64 = hours.iter().sum();
        assert_close(l.business_hours_share, business as f64 / n as f64, &l.timezone);
        assert_close(l.night_share, night as f64 / n as f64, &l.timezone);
        assert_eq!(
            hours[l.peak_hour as usize],
            *hours.iter().max().unwrap(),
            "{}",
            l.timezone
        );
    }
}

/// Successful latencies per cell (time zone, task type, provider, model, region).
fn cells(b: &RecordBatch) -> BTreeMap<String, Group> {
    let (tz, task, provider, model, region) = (
        strings(b, "timezone"),
        strings(b, "task_type"),
        strings(b, "provider"),
        strings(b, "model"),
        strings(b, "region"),
    );
    fold(b, |i| {
        format!("{}|{}|{}|{}|{}", tz[i], task[i], provider[i], model[i], region[i])
    })
}

/// Every route: its cells as the fold has them, like for like, the gains and the flag.
fn assert_routes(r: &RegionalResult, b: &RecordBatch) {
    let min_calls = setting("regional", "min_calls") as u64;
    let min_gain = setting("regional", "min_gain");
    let cells = cells(b);
    let comparable = cells.values().filter(|g| g.successes >= min_calls).count() as u64;
    assert_eq!(r.comparable_cells, comparable);
    for x in &r.routes {
        let key = |region: &str, tz: &str| format!("{tz}|{}|{}|{}|{region}", x.task_type, x.provider, x.model);
        let here = &cells[&key(&x.region, &x.timezone)];
        assert_eq!(x.calls, here.successes);
        assert!(x.calls >= min_calls && x.better_calls >= min_calls);
        assert_ne!(x.better_region, x.region, "another region");
        assert_binned(x.p95_ms, nearest_rank(&here.latencies, 0.95), "route p95");
        assert!(x.better_p95_ms < x.p95_ms);
        assert_close(x.p95_gain, 1.0 - x.better_p95_ms / x.p95_ms, "p95 gain");
        assert_close(x.p50_gain, 1.0 - x.better_p50_ms / x.p50_ms, "p50 gain");
        assert_eq!(x.suggested, x.p50_gain >= min_gain && x.p95_gain >= min_gain);
    }
}

#[test]
fn simulated_regions_are_alike_so_no_route_is_suggested() {
    let f = fixture();
    let r: RegionalResult = f.typed("regional");
    assert_routes(&r, &f.rows);
    // The simulator's latency does not depend on the region.
    assert!(
        r.routes.iter().all(|x| !x.suggested),
        "{:?}",
        r.routes.iter().find(|x| x.suggested)
    );
    assert!(r.recommendations.is_empty());
}

#[test]
fn a_slow_region_is_routed_around() {
    const SLOW: &str = "us-west";
    let b = &fixture().rows;
    let region = strings(b, "region");
    let latency = ints(b, "latency_ms");
    let slowed: Int64Array = (0..b.num_rows())
        .map(|i| Some(if region[i] == SLOW { latency[i] * 2 } else { latency[i] }))
        .collect();
    let mut columns: Vec<ArrayRef> = b.columns().to_vec();
    columns[b.schema().index_of("latency_ms").unwrap()] = Arc::new(slowed);
    let batch = RecordBatch::try_new(b.schema(), columns).unwrap();
    let root = process_dir("slow-region");
    std::fs::create_dir_all(&root).unwrap();
    let data = root.join("calls.parquet");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&data).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let reports = root.join("reports");
    analyze(&data, &reports, &["--only", "regional"]).success();
    let r: RegionalResult = serde_json::from_value(result_in(&reports, "regional")).unwrap();
    assert_routes(&r, &batch);
    let suggested: Vec<_> = r.routes.iter().filter(|x| x.suggested).collect();
    assert!(!suggested.is_empty(), "the slowed region is routed around");
    for x in &suggested {
        assert_eq!(x.region, SLOW, "{x:?}");
        assert!(x.p95_gain > 0.3, "twice as slow: {x:?}");
    }
    assert!(!r.recommendations.is_empty());
    let page = std::fs::read_to_string(reports.join("regional.html")).unwrap();
    common::assert_page_stands_alone("regional", &page);
}
