//! The traffic model: an hourly call rate λ(customer, hour), the calls drawn from it, and the
//! content of each call.
//!
//! Counts and content come from separate streams keyed by (customer, UTC hour): the planner
//! counts every customer-hour's calls exactly without generating them, and a call's content
//! does not depend on how many rows the run keeps.

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use super::catalogue::Catalogue;
use super::model::{Status, TrafficModel};
use super::population::Customer;
use super::scenarios::{CohortScenario, DayInfo, DayState, Env};
use crate::sim::calendar::{Segment, Window};
use crate::sim::rng::{self, Domain, SimRng, cumulative, permute, pick, poisson};

/// Most calls one customer makes in one UTC hour (ids pack the sequence number in 16 bits).
pub const MAX_CALLS_PER_HOUR: u32 = u16::MAX as u32;

/// Keys for the id bijections, so call, request and session ids never collide by construction.
const CALL_ID_KEY: u64 = 0x6361_6c6c_5f69_6421;
const SESSION_ID_KEY: u64 = 0x7365_7373_696f_6e21;

/// One simulated API call, as plain data; strings are resolved by the Arrow adapter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Call {
    pub timestamp_ms: i64,
    /// Index into the population.
    pub customer: u32,
    pub call_id: u64,
    pub session_id: u64,
    pub request_id: u128,
    pub trace_id: u128,
    pub model: u16,
    pub feature: u16,
    pub task: u8,
    pub environment: u8,
    pub status: Status,
    pub input_tokens: u32,
    /// Input tokens read from the provider's prompt cache (a part of `input_tokens`).
    pub cached_tokens: u32,
    pub output_tokens: u32,
    pub latency_ms: u32,
    pub cost_usd: f64,
}

/// Read-only state shared by every work unit: parameters, calendar and the cohorts' scenarios.
#[derive(Debug)]
pub struct TrafficGenerator {
    pub seed: u64,
    pub catalogue: Catalogue,
    pub model: TrafficModel,
    pub window: Window,
    /// The scenario of each cohort, compiled, indexed like `Customer::cohort`.
    pub cohorts: Vec<CohortScenario>,
    hour_shares: [f64; 24],
    environment_cdf: Vec<f64>,
    status_cdf: Vec<f64>,
}

impl TrafficGenerator {
    /// A generator without cohorts; `set_cohorts` adds them (they are compiled against it).
    pub fn new(seed: u64, catalogue: Catalogue, model: TrafficModel, window: Window) -> Self {
        TrafficGenerator {
            seed,
            cohorts: Vec::new(),
            hour_shares: model.calendar.hour_shares(),
            environment_cdf: cumulative(model.environments.iter().map(|e| e.1)),
            status_cdf: cumulative(model.statuses.iter().map(|s| s.1)),
            catalogue,
            model,
            window,
        }
    }

    pub fn set_cohorts(&mut self, cohorts: Vec<CohortScenario>) {
        self.cohorts = cohorts;
    }

    /// What modifiers are checked and compiled against.
    pub fn env(&self) -> Env<'_> {
        Env {
            seed: self.seed,
            model: &self.model,
            catalogue: &self.catalogue,
            start_date: self.window.start_date,
            days: self.window.days,
        }
    }

    /// Generates customer `index` of cohort `cohort`.
    pub fn customer(&self, cohort: usize, index: u32) -> Customer {
        Customer::generate(&self.env(), cohort as u16, index, &self.cohorts[cohort])
    }

    /// Expected calls of `customer` in piece `seg` of an hour, given its day.
    #[inline]
    fn rate(&self, customer: &Customer, seg: &Segment, day: &DayState) -> f64 {
        let base = customer.base_rate * day.factor * self.hour_shares[seg.local_hour as usize] * seg.fraction();
        let cohort = &self.cohorts[customer.cohort as usize];
        if cohort.is_neutral() || base == 0.0 {
            base
        } else {
            base * cohort.hour(customer, seg, day)
        }
    }

    /// A customer's local day: weekend factor × day-to-day noise × the scenario's day state.
    fn day_state(&self, customer: &Customer, seg: &Segment) -> DayState {
        let cohort = &self.cohorts[customer.cohort as usize];
        let mut state = cohort.day(customer, &DayInfo::of(seg), self.seed);
        state.local_day = seg.local_day;
        if state.factor == 0.0 {
            return state;
        }
        state.factor *= self.day_factor(customer, seg, state.weekday_share);
        state
    }

    /// The customer's volume factor for a local day: weekend factor (or the day's share of a
    /// weekday when a scenario sets it) × day-to-day noise.
    fn day_factor(&self, customer: &Customer, seg: &Segment, weekday_share: Option<f64>) -> f64 {
        let cal = &self.model.calendar;
        let weekend = match weekday_share {
            Some(share) => share,
            None if seg.weekend => cal.weekend_factor,
            None => 1.0,
        };
        let noise = if cal.daily_noise > 0.0 {
            let mut r = rng::stream(self.seed, Domain::DayNoise, customer.key(), seg.local_day as u64);
            let z: f64 = StandardNormal.sample(&mut r);
            (cal.daily_noise * z - cal.daily_noise * cal.daily_noise / 2.0).exp()
        } else {
            1.0
        };
        weekend * noise
    }

    /// Calls of `customer` in each piece of UTC hour `hour`.
    pub fn hour_counts(&self, customer: &Customer, hour: u32, days: &mut DayFactors) -> [u32; 2] {
        let mut counts = [0u32; 2];
        let mut r = rng::stream(self.seed, Domain::Count, customer.key(), u64::from(hour));
        for (i, seg) in self.window.segments(customer.timezone as usize, hour).enumerate() {
            let day = days.get(seg.local_day, || self.day_state(customer, seg));
            let lambda = self.rate(customer, seg, &day);
            counts[i] = poisson(&mut r, lambda);
        }
        let total = counts[0] + counts[1];
        if total > MAX_CALLS_PER_HOUR {
            // Cap deterministically, keeping the split between the pieces.
            counts[0] = (u64::from(counts[0]) * u64::from(MAX_CALLS_PER_HOUR) / u64::from(total)) as u32;
            counts[1] = MAX_CALLS_PER_HOUR - counts[0];
        }
        counts
    }

    /// Calls of `customer` in each UTC hour of the window, in order.
    pub fn hourly_calls<'a>(&'a self, customer: &'a Customer) -> impl Iterator<Item = u32> + 'a {
        let mut days = DayFactors::default();
        (0..self.window.hours()).map(move |h| self.hour_counts(customer, h, &mut days).iter().sum())
    }

    /// Generates the calls of customer `index` in UTC hour `hour`, in time order, and pushes
    /// those for which `keep` (called once per call, in order) says yes.
    pub fn customer_hour(
        &self,
        customer: &Customer,
        index: u32,
        hour: u32,
        days: &mut DayFactors,
        mut keep: impl FnMut() -> bool,
        out: &mut Vec<Call>,
    ) {
        let counts = self.hour_counts(customer, hour, days);
        if counts == [0, 0] {
            return;
        }
        let mut r = rng::stream(self.seed, Domain::Content, customer.key(), u64::from(hour));
        let hour_ms = self.window.hour_start_ms(hour);
        let mut seq = 0u64;
        for (seg, &count) in self.window.segments(customer.timezone as usize, hour).zip(&counts) {
            if count == 0 {
                continue;
            }
            let day = days.get(seg.local_day, || self.day_state(customer, seg));
            let mut offsets: Vec<u32> = (0..count)
                .map(|_| seg.start_ms + r.random_range(0..seg.len_ms))
                .collect();
            offsets.sort_unstable();
            for offset in offsets {
                let id_key = (customer.key() << 36) | (u64::from(hour) << 16) | seq;
                seq += 1;
                let call = self.call_content(&mut r, customer, index, hour_ms + i64::from(offset), id_key, &day);
                if keep() {
                    out.push(call);
                }
            }
        }
    }

    /// Draws everything about one call but its time.
    fn call_content(
        &self,
        r: &mut SimRng,
        customer: &Customer,
        index: u32,
        timestamp_ms: i64,
        id_key: u64,
        day: &DayState,
    ) -> Call {
        let local_day = day.local_day;
        let m = &self.model;
        let cohort = &self.cohorts[customer.cohort as usize];
        let feature = match cohort.launched_feature(day, r) {
            Some(f) => f as u16,
            None => customer.features[pick(&customer.feature_cdf, r.random())],
        };
        let task = m.features[feature as usize].task;
        let provider = &self.catalogue.providers[pick(&customer.provider_cdf, r.random())];
        let mut model = provider.models[r.random_range(0..provider.models.len())];
        if !cohort.is_neutral() {
            let t = (timestamp_ms - self.window.hour_start_ms(0)) as f64 / 86_400_000.0;
            model = cohort.model(customer, t, model, task, r);
        }

        let t = &m.tasks[task];
        let limits = &m.token_limits;
        let input = triangular(r.random(), t.input_tokens).round() as u32;
        let input = input.clamp(limits.input.0, limits.input.1);
        let ratio = t.output_ratio.0 + (t.output_ratio.1 - t.output_ratio.0) * r.random::<f64>();
        let output = ((f64::from(input) * ratio).round() as u32).clamp(limits.output.0, limits.output.1);

        let status = m.statuses[pick(&self.status_cdf, r.random())].0;
        let environment = pick(&self.environment_cdf, r.random()) as u8;
        let jitter = m.latency.jitter.0 + (m.latency.jitter.1 - m.latency.jitter.0) * r.random::<f64>();
        let per_token = m.latency.ms_per_token * self.catalogue.models[model].latency_multiplier * jitter;
        let cached = match status {
            Status::Success => self.cached_tokens(customer, id_key, task, model, input),
            _ => 0,
        };
        let (output, latency, cost) = match status {
            Status::Success => (
                output,
                f64::from(input + output) * per_token,
                self.catalogue.cost_usd(model, input, cached, output),
            ),
            // Refused before any work: fast, nothing produced, nothing billed.
            Status::RateLimited => (0, 20.0 + 130.0 * r.random::<f64>(), 0.0),
            // Failed part-way through reading the prompt.
            Status::ServerError => (0, f64::from(input) * per_token * (0.2 + 0.8 * r.random::<f64>()), 0.0),
            Status::Timeout => (0, f64::from(m.latency.timeout_ms), 0.0),
        };
        let request_id: u128 = r.random();
        let trace_id: u128 = r.random();
        let session_key = (customer.key() << 16) | u64::from((local_day + 1) as u16);
        Call {
            timestamp_ms,
            customer: index,
            call_id: permute(id_key, CALL_ID_KEY ^ self.seed),
            session_id: permute(session_key, SESSION_ID_KEY ^ self.seed),
            // Version 4, variant 1 bits, so the id reads as a UUID.
            request_id: (request_id & !(0xf_u128 << 76) & !(0x3_u128 << 62)) | (0x4_u128 << 76) | (0x2_u128 << 62),
            trace_id,
            model: model as u16,
            feature,
            task: task as u8,
            environment,
            status,
            input_tokens: input,
            cached_tokens: cached,
            output_tokens: output,
            latency_ms: (latency.round() as u32).max(1),
            cost_usd: cost,
        }
    }
}

impl TrafficGenerator {
    /// Tokens of a successful call's prompt read from the provider's cache: none unless the
    /// model caches and the task's caching is on; drawn from the call's own key, so the other
    /// columns are the same with caching on or off.
    fn cached_tokens(&self, customer: &Customer, id_key: u64, task: usize, model: usize, input: u32) -> u32 {
        let caching = &self.model.tasks[task].caching;
        if caching.is_off() || !self.catalogue.caches(model) {
            return 0;
        }
        let (hit, share) = rng::uniform_pair(self.seed, Domain::PromptCache, customer.key(), id_key);
        caching.cached_tokens(input, hit, share)
    }
}

/// Caches a customer's day state for the local days touched while walking its hours.
#[derive(Debug, Default)]
pub struct DayFactors {
    cached: [(i32, DayState); 2],
    filled: [bool; 2],
}

impl DayFactors {
    fn get(&mut self, day: i32, compute: impl FnOnce() -> DayState) -> DayState {
        for i in 0..2 {
            if self.filled[i] && self.cached[i].0 == day {
                return self.cached[i].1;
            }
        }
        let value = compute();
        // Local days only move forward while walking hours: replace the older entry.
        let slot = if !self.filled[0] {
            0
        } else if !self.filled[1] {
            1
        } else if self.cached[0].0 < self.cached[1].0 {
            0
        } else {
            1
        };
        self.cached[slot] = (day, value);
        self.filled[slot] = true;
        value
    }
}

/// Inverse CDF of the triangular distribution (min, mode, max) at `u`.
fn triangular(u: f64, (a, c, b): (f64, f64, f64)) -> f64 {
    let fc = (c - a) / (b - a);
    if u < fc {
        a + ((b - a) * (c - a) * u).sqrt()
    } else {
        b - ((b - a) * (b - c) * (1.0 - u)).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triangular_stays_in_range_and_peaks_at_the_mode() {
        let t = (100.0, 300.0, 700.0);
        assert_eq!(triangular(0.0, t), 100.0);
        assert!((triangular(1.0, t) - 700.0).abs() < 1e-9);
        let fc = (300.0 - 100.0) / 600.0;
        assert!((triangular(fc, t) - 300.0).abs() < 1e-9);
    }

    #[test]
    fn day_factors_cache_two_days() {
        let s = |factor: f64| DayState {
            factor,
            ..DayState::default()
        };
        let mut d = DayFactors::default();
        let mut get = |day, f| d.get(day, || s(f)).factor;
        assert_eq!(get(0, 1.5), 1.5);
        assert_eq!(get(0, 9.0), 1.5);
        assert_eq!(get(1, 2.5), 2.5);
        assert_eq!(get(0, 9.0), 1.5);
        assert_eq!(get(2, 3.5), 3.5);
        assert_eq!(get(1, 9.0), 2.5);
    }
}
