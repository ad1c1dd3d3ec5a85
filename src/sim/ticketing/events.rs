//! Events: what is on sale, where, how many seats at what price, and when the sale opens.
//!
//! An event is a pure function of (catalogue, seed, cohort, index): it is regenerated wherever it
//! is needed rather than stored. Its draws come from separate streams for what it is (stream 0),
//! its name (1) and its timeline (2), so that editing the name templates does not move any sale.

use chrono::{DateTime, Days, NaiveDate, TimeZone, Timelike};
use chrono_tz::Tz;
use rand::RngExt;

use super::catalogue::{Piece, STANDARD, TicketCatalogue, TierSpec, cdf};
use crate::sim::rng::{self, Domain, SimRng};

/// The platform's clock: every sale and event time is a whole hour here.
pub const PLATFORM_TZ: Tz = chrono_tz::Asia::Riyadh;
const DAY_MS: i64 = 86_400_000;
/// General sales open at a whole local hour in this range (office hours, when sales are announced).
const SALE_HOURS: (u32, u32) = (10, 20);
/// Events start at a whole local hour in this range (evening shows and matches).
const EVENT_HOURS: (u32, u32) = (16, 21);
/// Days from presale back to the announcement.
const ANNOUNCE_DAYS: (u64, u64) = (3, 14);
/// Days from presale to general sale.
const PRESALE_DAYS: (u64, u64) = (1, 7);
/// Days from general sale to the event.
const EVENT_DAYS: (u64, u64) = (14, 90);
/// How far before the window a general sale may open, so some sales are already running at its start.
const EARLY_SALE_DAYS: i64 = 21;

/// What a cohort's events look like.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSpec {
    pub cohort: u16,
    pub count: u32,
    /// Force every event into this class (flash sale: mega).
    pub class: Option<usize>,
    /// Restrict categories (flash sale: concert or sports); empty means all.
    pub categories: Option<Vec<usize>>,
    /// Seats on sale: overrides the drawn capacity (still capped by the venue ceiling).
    pub capacity: Option<u32>,
    /// Sale timeline rules.
    pub timeline: Timeline,
}

/// When sales open and events happen.
#[derive(Debug, Clone, PartialEq)]
pub enum Timeline {
    /// General sale opens on a day drawn uniformly over [window_start − 21 days, window_end − 1 day]
    /// at a whole local hour from 10:00 to 20:00 Asia/Riyadh; presale opens 1–7 days before it (same
    /// hour), the announcement 3–14 days before the presale (same hour); the event starts 14–90 days
    /// after general sale at 16:00–21:00, but never before window start + 1 day.
    Spread { window_start_ms: i64, window_end_ms: i64 },
    /// Fixed instants (flash sale): presale and general sale open at these epoch ms; the
    /// announcement is 3–14 days before presale (at presale's hour), the event 14–90 days after.
    Fixed { presale_ms: i64, general_ms: i64 },
}

/// One event and its sale.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub index: u32,
    pub cohort: u16,
    /// Unique by construction: a keyed 48-bit bijection of (cohort, index).
    pub id: u64,
    pub name: String,
    pub category: usize,
    pub venue: usize,
    /// The teams, artists, comedians or shows the name features (empty if none).
    pub performers: Vec<String>,
    /// Demand index d ≥ 1 (Pareto).
    pub demand: f64,
    /// 1 − 1/d, in [0, 1).
    pub popularity: f64,
    pub class: usize,
    pub is_mega: bool,
    pub venue_capacity: u32,
    /// Seats on sale, at most `venue_capacity`.
    pub capacity: u32,
    /// VIP, Premium, Standard; they sum exactly to `capacity`.
    pub tier_capacity: [u32; 3],
    /// SAR per ticket, VIP, Premium, Standard.
    pub tier_price: [f64; 3],
    pub announce_ms: i64,
    pub presale_ms: i64,
    pub general_ms: i64,
    pub event_ms: i64,
}

impl Event {
    /// The id as written in the data: `evt_` and 12 hex digits.
    pub fn event_id_string(&self) -> String {
        format!("evt_{:012x}", self.id)
    }
}

/// The stream subject of event `index` of a cohort (also what its id permutes).
#[inline]
pub fn event_key(cohort: u16, index: u32) -> u64 {
    (u64::from(cohort) << 32) | u64::from(index)
}

/// The id of event `index` of a cohort, without generating the event.
pub fn event_id(seed: u64, cohort: u16, index: u32) -> u64 {
    rng::permute48(
        event_key(cohort, index),
        rng::stream_key(seed, Domain::TicketEvent, u64::MAX, 0),
    )
}

/// Every event of a spec, in index order.
pub fn generate_events(catalogue: &TicketCatalogue, seed: u64, spec: &EventSpec) -> Vec<Event> {
    (0..spec.count)
        .map(|i| generate_event(catalogue, seed, spec, i))
        .collect()
}

/// Generates event `index` of `spec`'s cohort. `spec.class` and `spec.categories` must be indices
/// of `catalogue`.
pub fn generate_event(catalogue: &TicketCatalogue, seed: u64, spec: &EventSpec, index: u32) -> Event {
    let key = event_key(spec.cohort, index);
    let stream = |k: u64| rng::stream(seed, Domain::TicketEvent, key, k);
    let mut r = stream(0);

    let category = draw_category(catalogue, spec.categories.as_deref(), r.random());
    let popularity = &catalogue.popularity;
    let (class, demand) = match spec.class {
        Some(c) => (c, popularity.demand_in(c, r.random())),
        None => {
            let d = popularity.demand(r.random());
            (popularity.class_of(d), d)
        }
    };
    let band = &popularity.classes[class];
    let (lo, hi) = band.capacity;
    let venue = draw_venue(catalogue, category, lo, r.random());
    let venue_capacity = catalogue.venues[venue].capacity;
    let drawn = r.random_range(lo..=hi);
    let capacity = spec.capacity.unwrap_or(drawn).min(venue_capacity);

    let (name, performers) = name(catalogue, category, venue, &mut stream(1));
    let (announce_ms, presale_ms, general_ms, event_ms) = timeline(&spec.timeline, &mut stream(2));

    Event {
        index,
        cohort: spec.cohort,
        id: event_id(seed, spec.cohort, index),
        name,
        category,
        venue,
        performers,
        demand,
        popularity: 1.0 - 1.0 / demand,
        class,
        is_mega: class == popularity.mega(),
        venue_capacity,
        capacity,
        tier_capacity: split_tiers(capacity, &catalogue.tiers),
        tier_price: band.prices.map(round2),
        announce_ms,
        presale_ms,
        general_ms,
        event_ms,
    }
}

/// A category by weight among the allowed ones (uniform if their weights are all 0).
fn draw_category(catalogue: &TicketCatalogue, allowed: Option<&[usize]>, u: f64) -> usize {
    let all: Vec<usize> = match allowed {
        Some(a) if !a.is_empty() => a.to_vec(),
        _ => (0..catalogue.categories.len()).collect(),
    };
    let weights: Vec<f64> = all.iter().map(|&c| catalogue.categories[c].weight).collect();
    let dist = if weights.iter().sum::<f64>() > 0.0 {
        cdf(weights)
    } else {
        cdf(all.iter().map(|_| 1.0))
    };
    all[rng::pick(&dist, u)]
}

/// A venue hosting the category that can hold `min_seats`, uniformly; if none can, the biggest
/// one hosting it (the capacity is then capped at its ceiling).
fn draw_venue(catalogue: &TicketCatalogue, category: usize, min_seats: u32, u: f64) -> usize {
    let venues = &catalogue.venues;
    let hosts = &catalogue.categories[category].venues;
    let fit: Vec<usize> = hosts
        .iter()
        .copied()
        .filter(|&v| venues[v].capacity >= min_seats)
        .collect();
    if fit.is_empty() {
        let biggest = hosts
            .iter()
            .copied()
            .max_by_key(|&v| (venues[v].capacity, std::cmp::Reverse(v)));
        return biggest.expect("the loader gives every category a venue");
    }
    fit[((u * fit.len() as f64) as usize).min(fit.len() - 1)]
}

/// Seats per tier: VIP and Premium get their share rounded down, Standard the rest, so the tiers
/// add up exactly to the capacity.
pub fn split_tiers(capacity: u32, tiers: &[TierSpec; 3]) -> [u32; 3] {
    let mut out = [0u32; 3];
    let mut left = capacity;
    for (t, tier) in tiers.iter().enumerate() {
        if t != STANDARD {
            // The epsilon keeps 0.3 × 70 = 20.999… from losing a seat to floating point.
            let seats = ((f64::from(capacity) * tier.share + 1e-9).floor() as u32).min(left);
            out[t] = seats;
            left -= seats;
        }
    }
    out[STANDARD] = left;
    out
}

/// The event name from a template of its category, and the performers it names.
fn name(catalogue: &TicketCatalogue, category: usize, venue: usize, r: &mut SimRng) -> (String, Vec<String>) {
    let templates = &catalogue.categories[category].templates;
    let template = &templates[r.random_range(0..templates.len())];
    // Slots of one list get distinct values: draw among the values not yet used.
    let mut chosen: Vec<(usize, usize)> = Vec::with_capacity(template.slots.len());
    for &list in &template.slots {
        let values = &catalogue.placeholders[list].values;
        let taken: Vec<usize> = chosen.iter().filter(|(l, _)| *l == list).map(|(_, v)| *v).collect();
        let free: Vec<usize> = (0..values.len()).filter(|v| !taken.contains(v)).collect();
        chosen.push((list, free[r.random_range(0..free.len())]));
    }
    let value = |slot: usize| {
        let (list, v) = chosen[slot];
        catalogue.placeholders[list].values[v].as_str()
    };
    let place = &catalogue.venues[venue];
    let mut text = String::new();
    for piece in &template.pieces {
        text.push_str(match piece {
            Piece::Text(t) => t,
            Piece::Venue => &place.name,
            Piece::City => &place.city,
            Piece::Slot(s) => value(*s),
        });
    }
    let performers = (0..chosen.len())
        .filter(|&s| catalogue.placeholders[chosen[s].0].performer)
        .map(|s| value(s).to_string())
        .collect();
    (text, performers)
}

/// (announce, presale, general, event) in epoch ms.
fn timeline(timeline: &Timeline, r: &mut SimRng) -> (i64, i64, i64, i64) {
    let (presale, general, hour, not_before) = match *timeline {
        Timeline::Spread {
            window_start_ms,
            window_end_ms,
        } => {
            let first = local_date(window_start_ms - EARLY_SALE_DAYS * DAY_MS);
            let last = local_date(window_end_ms - DAY_MS).max(first);
            let day = first + Days::new(r.random_range(0..=(last - first).num_days()) as u64);
            let hour = r.random_range(SALE_HOURS.0..=SALE_HOURS.1);
            let presale_day = day - Days::new(r.random_range(PRESALE_DAYS.0..=PRESALE_DAYS.1));
            (
                at_hour(presale_day, hour),
                at_hour(day, hour),
                hour,
                Some(window_start_ms + DAY_MS),
            )
        }
        Timeline::Fixed { presale_ms, general_ms } => (presale_ms, general_ms, local_hour(presale_ms), None),
    };
    let announce_day = local_date(presale) - Days::new(r.random_range(ANNOUNCE_DAYS.0..=ANNOUNCE_DAYS.1));
    let announce = at_hour(announce_day, hour);
    let event_hour = r.random_range(EVENT_HOURS.0..=EVENT_HOURS.1);
    let mut event_day = local_date(general) + Days::new(r.random_range(EVENT_DAYS.0..=EVENT_DAYS.1));
    if let Some(min) = not_before
        && at_hour(event_day, event_hour) < min
    {
        event_day = local_date(min);
        if at_hour(event_day, event_hour) < min {
            event_day = event_day + Days::new(1);
        }
    }
    (announce, presale, general, at_hour(event_day, event_hour))
}

/// The platform-local date of an instant.
fn local_date(ms: i64) -> NaiveDate {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&PLATFORM_TZ)
        .date_naive()
}

/// The platform-local hour of an instant.
fn local_hour(ms: i64) -> u32 {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&PLATFORM_TZ)
        .hour()
}

/// The instant of a whole local hour on a platform-local date.
fn at_hour(date: NaiveDate, hour: u32) -> i64 {
    let local = date.and_hms_opt(hour, 0, 0).expect("hours come from 0..24");
    // Riyadh has no daylight saving, so every local hour exists; UTC is a fallback that never runs.
    PLATFORM_TZ
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.timestamp_millis())
        .unwrap_or_else(|| local.and_utc().timestamp_millis())
}

/// Rounds half away from zero to 2 decimals (SAR and halalas).
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
pub(crate) mod tests;
