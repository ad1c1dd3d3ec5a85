//! The abuse page's one pass over the files with arrow (as `regional/pass.rs` does): per customer
//! its calls, rate-limited calls, cost and calls in its local night; per customer-hour its calls
//! and busiest minute. A Polars group-by on (customer, minute) holds every distinct key at once
//! (about one per call at 10M rows); here a file's minutes are counted, folded into its hours and
//! dropped, so memory is one file's keys per worker. Hours are counted within a file: trafficsim's
//! Parquet files are UTC days, so no hour spans two of them.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result};
use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit};
use chrono::{DateTime, Timelike};
use foldhash::HashMap;
use rayon::prelude::*;

use crate::analyze::dataset::SourceFile;
use crate::analyze::stats::binomial_upper_tail;
use crate::validate::coded::Interner;
use crate::validate::read::read_columns;

/// The columns the pass reads.
pub const COLUMNS: [&str; 7] = [
    "customer_id",
    "timestamp",
    "status",
    "cost_usd",
    "timezone",
    "subscription_tier",
    "tier_price_usd",
];
const MINUTE_US: i64 = 60_000_000;
/// Local time is read per 15 minutes: every zone's offset is a multiple of it.
const SLOT_US: i64 = 15 * MINUTE_US;
/// Minutes in an hour: under "no concurrency", a call's minute is uniform over them.
pub const MINUTES: u64 = 60;

/// What the pass needs to know besides the files.
#[derive(Debug, Clone, Copy)]
pub struct PassSpec {
    /// Local hours [night_start, 24) ∪ [0, night_end) are night.
    pub night_start: u32,
    pub night_end: u32,
    /// Keep a customer-hour when its busiest minute's p-value can be at most this (no p-value
    /// above the false-discovery rate can be rejected, so the rest need not be kept).
    pub keep_p: f64,
}

/// One customer's sums.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerCounts {
    pub tier: String,
    pub tier_price: f64,
    pub timezone: String,
    pub calls: u64,
    pub rate_limited: u64,
    pub cost_micros: i64,
    /// Calls whose local time (in the customer's `timezone`) is at night; 0 when the zone is unknown.
    pub night_calls: u64,
    pub known_zone: bool,
}

/// A customer-hour whose busiest minute may be too busy for chance.
#[derive(Debug, Clone, PartialEq)]
pub struct PeakHour {
    pub customer: String,
    /// Hours since the Unix epoch (UTC).
    pub hour: i64,
    pub calls: u64,
    pub peak_minute_calls: u64,
    /// Bonferroni over the hour's minutes: min(1, 60 · P(X ≥ peak)), X ~ Binomial(calls, 1/60).
    pub p_value: f64,
}

/// What the pass found.
#[derive(Debug, Default)]
pub struct Found {
    pub customers: BTreeMap<String, CustomerCounts>,
    /// Customer-hours with at least one call (the concurrency tests).
    pub hours_tested: u64,
    pub peaks: Vec<PeakHour>,
    /// Time zones not in the time-zone database.
    pub unknown_zones: Vec<String>,
}

/// The p-value of an hour's busiest minute (see [`PeakHour::p_value`]).
pub fn peak_p_value(calls: u64, peak: u64) -> f64 {
    (MINUTES as f64 * binomial_upper_tail(peak, calls, 1.0 / MINUTES as f64)).min(1.0)
}

#[derive(Default)]
struct Counts {
    names: Interner,
    customers: Vec<CustomerCounts>,
    zone_names: Interner,
    /// Each interned zone's time-zone database entry (`None`: not a known zone).
    zones: Vec<Option<chrono_tz::Tz>>,
    /// (zone, 15-minute slot) → whether it is night there (`None`: the zone is unknown).
    night: HashMap<(u32, i64), Option<bool>>,
    /// The least busiest-minute count that can reach `keep_p`, by the hour's calls.
    critical: HashMap<u64, u64>,
    hours_tested: u64,
    peaks: Vec<PeakHour>,
}

/// Reads every file of the dataset once.
pub fn run(files: &[SourceFile], spec: PassSpec) -> Result<Found> {
    let counts = files
        .par_iter()
        .try_fold(Counts::default, |mut c, f| -> Result<Counts> {
            c.file(&f.path, spec)?;
            Ok(c)
        })
        .try_reduce(Counts::default, |a, b| Ok(merge(a, b)))?;
    Ok(counts.found())
}

fn text(a: &StringArray, i: usize) -> &str {
    if a.is_valid(i) { a.value(i) } else { "" }
}

impl Counts {
    fn id(&mut self, name: &str) -> u32 {
        let id = self.names.id(name);
        if id as usize == self.customers.len() {
            self.customers.push(CustomerCounts::default());
        }
        id
    }

    fn zone_id(&mut self, zone: &str) -> u32 {
        let id = self.zone_names.id(zone);
        if id as usize == self.zones.len() {
            self.zones.push(zone.parse::<chrono_tz::Tz>().ok());
        }
        id
    }

    fn is_night(&mut self, zone: u32, slot: i64, spec: PassSpec) -> Option<bool> {
        if let Some(&n) = self.night.get(&(zone, slot)) {
            return n;
        }
        let tz = self.zones[zone as usize];
        let night = tz
            .and_then(|tz| DateTime::from_timestamp_micros(slot * SLOT_US).map(|t| t.with_timezone(&tz).hour()))
            .map(|local| local >= spec.night_start || local < spec.night_end);
        self.night.insert((zone, slot), night);
        night
    }

    fn file(&mut self, path: &Path, spec: PassSpec) -> Result<()> {
        let mut minutes: HashMap<(u32, i64), u32> = HashMap::default();
        for batch in read_columns(path, &COLUMNS, &[])? {
            self.batch(&batch?, spec, &mut minutes)
                .with_context(|| format!("{}: cannot count the calls per customer", path.display()))?;
        }
        self.fold_minutes(minutes, spec);
        Ok(())
    }

    fn batch(&mut self, batch: &RecordBatch, spec: PassSpec, minutes: &mut HashMap<(u32, i64), u32>) -> Result<()> {
        let column = |name: &str, to: &DataType| -> Result<_> {
            let c = batch
                .column_by_name(name)
                .with_context(|| format!("no column `{name}`"))?;
            cast(c, to).with_context(|| format!("column `{name}` is {}, not {to}", c.data_type()))
        };
        let utf8 = |name: &str| column(name, &DataType::Utf8);
        let (ids, status, zone, tier) = (
            utf8("customer_id")?,
            utf8("status")?,
            utf8("timezone")?,
            utf8("subscription_tier")?,
        );
        let (ids, status, zone, tier) = (
            ids.as_string::<i32>(),
            status.as_string::<i32>(),
            zone.as_string::<i32>(),
            tier.as_string::<i32>(),
        );
        let ts = cast(
            &column("timestamp", &DataType::Timestamp(TimeUnit::Microsecond, None))?,
            &DataType::Int64,
        )?;
        let ts = ts.as_primitive::<Int64Type>();
        let (cost, price) = (
            column("cost_usd", &DataType::Float64)?,
            column("tier_price_usd", &DataType::Float64)?,
        );
        let (cost, price) = (cost.as_primitive::<Float64Type>(), price.as_primitive::<Float64Type>());
        // Rows of one customer often follow each other: remember the last one.
        let mut last: Option<(&str, u32, &str, u32)> = None;
        for i in 0..batch.num_rows() {
            let (name, z) = (text(ids, i), text(zone, i));
            let (id, zid) = match last {
                Some((n, id, lz, zid)) if n == name && lz == z => (id, zid),
                _ => {
                    let (id, zid) = (self.id(name), self.zone_id(z));
                    last = Some((name, id, z, zid));
                    (id, zid)
                }
            };
            let us = if ts.is_valid(i) { ts.value(i) } else { 0 };
            let night = self.is_night(zid, us.div_euclid(SLOT_US), spec);
            let c = &mut self.customers[id as usize];
            // The attributes are one per customer in trafficsim's data; elsewhere the least
            // zone (and its row's tier) is kept, whatever the order the rows are read in.
            if c.calls == 0 || z < c.timezone.as_str() {
                c.tier = text(tier, i).to_string();
                c.tier_price = if price.is_valid(i) { price.value(i) } else { 0.0 };
                c.timezone = z.to_string();
                c.known_zone = night.is_some();
            }
            c.calls += 1;
            c.rate_limited += u64::from(text(status, i) == "rate_limited");
            if cost.is_valid(i) {
                c.cost_micros += (cost.value(i) * 1e6).round() as i64;
            }
            c.night_calls += u64::from(night == Some(true));
            *minutes.entry((id, us.div_euclid(MINUTE_US))).or_default() += 1;
        }
        Ok(())
    }

    /// Folds one file's minutes into its customer-hours, keeping the hours whose busiest minute
    /// may be significant.
    fn fold_minutes(&mut self, minutes: HashMap<(u32, i64), u32>, spec: PassSpec) {
        let mut hours: HashMap<(u32, i64), (u64, u64)> = HashMap::default();
        for ((id, minute), n) in minutes {
            let e = hours.entry((id, minute.div_euclid(60))).or_default();
            e.0 += u64::from(n);
            e.1 = e.1.max(u64::from(n));
        }
        self.hours_tested += hours.len() as u64;
        for ((id, hour), (calls, peak)) in hours {
            let critical = *self
                .critical
                .entry(calls)
                .or_insert_with(|| critical_peak(calls, spec.keep_p));
            if peak >= critical {
                self.peaks.push(PeakHour {
                    customer: self.names.name(id).to_string(),
                    hour,
                    calls,
                    peak_minute_calls: peak,
                    p_value: peak_p_value(calls, peak),
                });
            }
        }
    }

    fn found(self) -> Found {
        let mut unknown: Vec<String> = (self.zone_names.names().iter())
            .zip(&self.zones)
            .filter(|(_, tz)| tz.is_none())
            .map(|(z, _)| z.clone())
            .collect();
        unknown.sort();
        let mut peaks = self.peaks;
        peaks.sort_by(|a, b| a.customer.cmp(&b.customer).then(a.hour.cmp(&b.hour)));
        Found {
            customers: self.names.names().iter().cloned().zip(self.customers).collect(),
            hours_tested: self.hours_tested,
            peaks,
            unknown_zones: unknown,
        }
    }
}

/// The least busiest-minute count whose p-value is at most `p` among `calls` calls (above
/// `calls` when none is).
fn critical_peak(calls: u64, p: f64) -> u64 {
    let mean = calls as f64 / MINUTES as f64;
    // The p-value falls as the peak rises: step up from the mean.
    let mut m = mean.ceil().max(1.0) as u64;
    while m <= calls && peak_p_value(calls, m) > p {
        m += 1;
    }
    m
}

fn merge(mut a: Counts, b: Counts) -> Counts {
    for (name, c) in b.names.names().iter().zip(b.customers) {
        let id = a.id(name);
        let mine = &mut a.customers[id as usize];
        if mine.calls == 0 {
            *mine = c;
            continue;
        }
        if c.timezone < mine.timezone {
            (mine.tier, mine.tier_price, mine.timezone, mine.known_zone) =
                (c.tier.clone(), c.tier_price, c.timezone.clone(), c.known_zone);
        }
        mine.calls += c.calls;
        mine.rate_limited += c.rate_limited;
        mine.cost_micros += c.cost_micros;
        mine.night_calls += c.night_calls;
    }
    for z in b.zone_names.names() {
        a.zone_id(z);
    }
    a.hours_tested += b.hours_tested;
    a.peaks.extend(b.peaks);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_critical_peak_is_the_first_count_whose_p_value_is_small_enough() {
        for calls in [1u64, 10, 60, 500, 3000] {
            let m = critical_peak(calls, 0.05);
            assert!(m > calls || peak_p_value(calls, m) <= 0.05, "{calls}: {m}");
            assert!(m <= 1 || peak_p_value(calls, m - 1) > 0.05 || m - 1 < (calls as f64 / 60.0).ceil() as u64);
        }
        // 60 calls in one minute of an hour with 60 calls: 60 · (1/60)^60, about 0.
        assert!(peak_p_value(60, 60) < 1e-100);
    }
}
