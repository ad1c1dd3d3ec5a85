//! The regional figures from the one pass of [`pass`]: the cells (time zone, task type,
//! provider, model, region) summed into the breakdowns, their latency bins read as nearest-rank
//! percentiles, the 15-minute slots placed in local time, and the like-for-like routes.

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Datelike, Timelike};

use super::pass::{self, CellKey, SLOT_US, bin_start};
use super::{LocalHours, RegionRow, RegionalResult, RegionalSettings, Route};
use crate::analyze::Context;
use crate::analyze::frame::{DAYS_PER_MONTH, Totals, desc, ratio};
use crate::analyze::stats::nearest_rank;
use crate::report::html::{self as h, Recommendation, Severity};

const COLUMNS: [&str; 2] = ["timezone", "region"];

/// Latency counts by bin index (see [`pass`]), only the bins that hold calls.
type Bins = BTreeMap<i64, u64>;
/// A group's sums (all calls) and its successful calls' tokens (what the cost bought).
type Sums = (Totals, i64);

fn add(into: &mut Sums, from: &Sums) {
    into.0.add(&from.0);
    into.1 += from.1;
}

/// The latency a bin stands for: its middle (ms).
fn bin_ms(index: i64) -> f64 {
    let (start, width) = bin_start(index as usize);
    if width == 1 {
        start as f64
    } else {
        (start + width / 2) as f64
    }
}

/// Nearest-rank percentile `q` of binned latencies (0 without calls).
fn percentile(bins: &Bins, q: f64) -> f64 {
    let counts: Vec<(i64, u64)> = bins.iter().map(|(&b, &n)| (b, n)).collect();
    nearest_rank(&counts, q).map_or(0.0, bin_ms)
}

fn merge(into: &mut Bins, from: &Bins) {
    for (&b, &n) in from {
        *into.entry(b).or_default() += n;
    }
}

pub fn analyze(ctx: &Context<'_>, s: &RegionalSettings) -> Result<RegionalResult> {
    let schema = ctx.calls().collect_schema()?;
    let missing: Vec<String> = COLUMNS
        .iter()
        .filter(|c| schema.get(c).is_none())
        .map(|c| c.to_string())
        .collect();
    let mut out = RegionalResult {
        window_days: ctx.window.days,
        missing_columns: missing,
        by_timezone: Vec::new(),
        by_region: Vec::new(),
        by_provider_region: Vec::new(),
        local_hours: Vec::new(),
        unknown_timezones: Vec::new(),
        routes: Vec::new(),
        comparable_cells: 0,
        recommendations: Vec::new(),
    };
    if !out.missing_columns.is_empty() {
        return Ok(out);
    }
    let found = pass::run(&ctx.source.files)?;
    let mut cells: BTreeMap<CellKey, Bins> = BTreeMap::new();
    let mut cell_sums: BTreeMap<CellKey, Sums> = BTreeMap::new();
    for (key, cell) in found.cells {
        let bins: Bins = cell
            .bins
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, &n)| (i as i64, n))
            .collect();
        if !bins.is_empty() {
            cells.insert(key.clone(), bins);
        }
        cell_sums.insert(key, (cell.totals, cell.ok_tokens));
    }
    let mut by_tz: BTreeMap<String, (Sums, Bins)> = BTreeMap::new();
    let mut by_region: BTreeMap<String, (Sums, Bins)> = BTreeMap::new();
    let mut by_pr: BTreeMap<String, (Sums, Bins)> = BTreeMap::new();
    for ((z, _, p, _, r), t) in &cell_sums {
        add(&mut by_tz.entry(z.clone()).or_default().0, t);
        add(&mut by_region.entry(r.clone()).or_default().0, t);
        add(&mut by_pr.entry(format!("{p} · {r}")).or_default().0, t);
    }
    for ((z, _, p, _, r), b) in &cells {
        merge(&mut by_tz.entry(z.clone()).or_default().1, b);
        merge(&mut by_region.entry(r.clone()).or_default().1, b);
        merge(&mut by_pr.entry(format!("{p} · {r}")).or_default().1, b);
    }
    out.by_timezone = rows(by_tz);
    out.by_region = rows(by_region);
    out.by_provider_region = rows(by_pr);

    let (hours, unknown) = local_hours(&found.slots);
    out.local_hours = hours;
    out.unknown_timezones = unknown;

    let per_month = DAYS_PER_MONTH / f64::from(ctx.window.days.max(1));
    let cost_per_1m = |key: &CellKey| {
        cell_sums
            .get(key)
            .map_or(0.0, |(t, ok)| ratio(t.cost_usd() * 1e6, *ok as f64))
    };
    let (routes, comparable) = routes(&cells, s, per_month, cost_per_1m);
    out.routes = routes;
    out.comparable_cells = comparable;
    out.recommendations = recommendations(&out);
    Ok(out)
}

/// Rows of a breakdown, most cost first (ties by name).
fn rows(groups: BTreeMap<String, (Sums, Bins)>) -> Vec<RegionRow> {
    let total: i64 = groups.values().map(|((t, _), _)| t.cost_micros).sum();
    let mut out: Vec<RegionRow> = groups
        .into_iter()
        .map(|(name, ((t, ok), b))| RegionRow {
            name,
            calls: t.calls,
            successful_calls: t.successes,
            failure_share: ratio((t.calls - t.successes) as f64, t.calls as f64),
            cost_usd: t.cost_usd(),
            cost_share: ratio(t.cost_micros as f64, total as f64),
            cost_per_call: t.cost_per_call(),
            cost_per_1m_tokens: ratio(t.cost_usd() * 1e6, ok as f64),
            p50_ms: percentile(&b, 0.50),
            p95_ms: percentile(&b, 0.95),
            p99_ms: percentile(&b, 0.99),
        })
        .collect();
    out.sort_by(|a, b| desc(a.cost_usd, b.cost_usd).then_with(|| a.name.cmp(&b.name)));
    out
}

/// Calls and cost by local hour per time zone; the names not in the time-zone database apart.
fn local_hours(slots: &BTreeMap<(String, i64), (u64, i64)>) -> (Vec<LocalHours>, Vec<String>) {
    // Per zone: calls and cost micros per hour, business-hour and night calls.
    let mut acc: BTreeMap<String, ([u64; 24], [i64; 24], u64, u64)> = BTreeMap::new();
    let mut unknown: Vec<String> = Vec::new();
    for ((zone, slot), &(calls, cost)) in slots {
        let Ok(tz) = zone.parse::<chrono_tz::Tz>() else {
            if unknown.last() != Some(zone) {
                unknown.push(zone.clone());
            }
            continue;
        };
        let Some(utc) = DateTime::from_timestamp_micros(slot * SLOT_US) else {
            continue;
        };
        let local = utc.with_timezone(&tz);
        let (hour, weekday) = (local.hour() as usize, local.weekday().num_days_from_monday());
        let e = acc.entry(zone.clone()).or_insert(([0; 24], [0; 24], 0, 0));
        e.0[hour] += calls;
        e.1[hour] += cost;
        if weekday < 5 && (9..18).contains(&hour) {
            e.2 += calls;
        }
        if !(6..22).contains(&hour) {
            e.3 += calls;
        }
    }
    let hours = acc
        .into_iter()
        .map(|(timezone, (calls, cost, business, night))| {
            let all: u64 = calls.iter().sum();
            let peak = (0..24).max_by_key(|&h| (calls[h], std::cmp::Reverse(h))).unwrap_or(0);
            LocalHours {
                timezone,
                calls: calls.to_vec(),
                cost_usd: cost.iter().map(|&c| crate::analyze::frame::usd(c)).collect(),
                peak_hour: peak as u32,
                business_hours_share: ratio(business as f64, all as f64),
                night_share: ratio(night as f64, all as f64),
            }
        })
        .collect();
    (hours, unknown)
}

/// For each cell with enough calls, the fastest other region (by p95) serving the same task
/// type, provider and model with enough calls; the count of comparable cells.
fn routes(
    cells: &BTreeMap<CellKey, Bins>,
    s: &RegionalSettings,
    per_month: f64,
    cost_per_1m: impl Fn(&CellKey) -> f64,
) -> (Vec<Route>, u64) {
    struct Cell<'a> {
        key: &'a CellKey,
        calls: u64,
        p50: f64,
        p95: f64,
    }
    // (task, provider, model) → the comparable cells, in key order.
    let mut groups: BTreeMap<(&str, &str, &str), Vec<Cell<'_>>> = BTreeMap::new();
    for (key, bins) in cells {
        let calls: u64 = bins.values().sum();
        if calls < s.min_calls {
            continue;
        }
        groups
            .entry((key.1.as_str(), key.2.as_str(), key.3.as_str()))
            .or_default()
            .push(Cell {
                key,
                calls,
                p50: percentile(bins, 0.5),
                p95: percentile(bins, 0.95),
            });
    }
    let comparable = groups.values().map(|g| g.len() as u64).sum();
    let mut out = Vec::new();
    for group in groups.values() {
        for cell in group {
            let region = &cell.key.4;
            // The fastest other region by p95 (ties: fewer ms at p50, then the name).
            let best = group.iter().filter(|o| &o.key.4 != region).min_by(|a, b| {
                a.p95
                    .total_cmp(&b.p95)
                    .then(a.p50.total_cmp(&b.p50))
                    .then_with(|| a.key.cmp(b.key))
            });
            let Some(best) = best.filter(|b| b.p95 < cell.p95) else {
                continue;
            };
            let (p50_gain, p95_gain) = (1.0 - ratio(best.p50, cell.p50), 1.0 - ratio(best.p95, cell.p95));
            let monthly_calls = cell.calls as f64 * per_month;
            let (z, t, p, m, r) = cell.key;
            out.push(Route {
                timezone: z.clone(),
                task_type: t.clone(),
                provider: p.clone(),
                model: m.clone(),
                region: r.clone(),
                calls: cell.calls,
                p50_ms: cell.p50,
                p95_ms: cell.p95,
                cost_per_1m_tokens: cost_per_1m(cell.key),
                better_region: best.key.4.clone(),
                better_calls: best.calls,
                better_p50_ms: best.p50,
                better_p95_ms: best.p95,
                better_cost_per_1m_tokens: cost_per_1m(best.key),
                p50_gain,
                p95_gain,
                suggested: p50_gain >= s.min_gain && p95_gain >= s.min_gain,
                monthly_calls,
                monthly_hours_saved: (monthly_calls * (cell.p50 - best.p50) / 3.6e6).max(0.0),
            });
        }
    }
    out.sort_by(|a, b| {
        desc(a.p95_gain, b.p95_gain).then_with(|| {
            (&a.timezone, &a.task_type, &a.provider, &a.model, &a.region).cmp(&(
                &b.timezone,
                &b.task_type,
                &b.provider,
                &b.model,
                &b.region,
            ))
        })
    });
    (out, comparable)
}

fn recommendations(r: &RegionalResult) -> Vec<Recommendation> {
    r.routes
        .iter()
        .filter(|x| x.suggested)
        .take(3)
        .map(|x| Recommendation {
            severity: Severity::Low,
            title: format!("Route {} {} calls to {}", x.timezone, x.model, x.better_region),
            message: format!(
                "Customers in {} get {} ({}) for {} from {} at p50 {} / p95 {}; the same model and task from {} \
                 runs at p50 {} / p95 {} ({} faster at p95), measured on its {} calls from other time zones.",
                x.timezone,
                x.model,
                x.provider,
                x.task_type,
                x.region,
                h::format_value(x.p50_ms, h::Unit::Ms),
                h::format_value(x.p95_ms, h::Unit::Ms),
                x.better_region,
                h::format_value(x.better_p50_ms, h::Unit::Ms),
                h::format_value(x.better_p95_ms, h::Unit::Ms),
                h::percent(x.p95_gain),
                h::count(x.better_calls as f64)
            ),
            action: format!(
                "Trial routing a share of these calls to {} and compare the latency the customers see; about {} \
                 hours of waiting a month at p50.",
                x.better_region,
                h::number(x.monthly_hours_saved, 1)
            ),
            amount_usd: None,
        })
        .collect()
}
