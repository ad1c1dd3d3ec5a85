//! Users: generated on the fly from (seed, cohort, index), never stored.
//!
//! A cohort's users are laid out in persona blocks, so "the scalpers" or "the fraud accounts
//! active today" are index ranges that a traffic generator can draw from without a table of
//! users. Within a block the fraud accounts come first, then the other bots, then everyone else.

use std::ops::Range;

use rand::RngExt;

use super::catalogue::{TicketCatalogue, cdf};
use crate::sim::rng::{self, Domain, pick};

/// Most days before the window a regular user signed up.
const MAX_TENURE_DAYS: i32 = 1_500;
/// Most days before its first active day a fraud account signed up: they are recent.
const FRAUD_SIGNUP_DAYS: i32 = 30;

/// A cohort's users, laid out in persona blocks so a persona's (active) users are an index range.
#[derive(Debug, Clone, PartialEq)]
pub struct UserLayout {
    pub cohort: u16,
    pub total: u32,
    /// Days in the window; fraud accounts' active spells are spread over it.
    pub days: u32,
    /// Per persona: index range in the cohort.
    pub blocks: Vec<Range<u32>>,
    /// Per persona: how many of the block's first users are fraud accounts.
    pub fraud: Vec<u32>,
    /// Per persona: how many of the block's first users are bots (fraud accounts are bots first).
    pub bots: Vec<u32>,
}

impl UserLayout {
    /// Lays out `total` users by `mix` (per persona, in catalogue order; normalised if it does not
    /// sum to 1). Block sizes are rounded by largest remainder, so they sum exactly to `total`.
    /// `days` is the window length, over which fraud accounts' active spells are spread. Panics if
    /// `mix` does not have one weight per persona.
    pub fn new(cohort: u16, total: u32, mix: &[f64], days: u32, catalogue: &TicketCatalogue) -> Self {
        assert_eq!(mix.len(), catalogue.personas.len(), "one mix weight per persona");
        let sizes = largest_remainder(total, mix);
        let mut blocks = Vec::with_capacity(sizes.len());
        let mut start = 0;
        for n in &sizes {
            blocks.push(start..start + n);
            start += n;
        }
        let share = |n: u32, p: f64| ((f64::from(n) * p).round() as u32).min(n);
        let fraud = sizes
            .iter()
            .zip(&catalogue.personas)
            .map(|(&n, p)| share(n, p.fraud_probability))
            .collect();
        let bots = sizes
            .iter()
            .zip(&catalogue.personas)
            .map(|(&n, p)| share(n, p.bot_likelihood))
            .collect();
        UserLayout {
            cohort,
            total,
            days,
            blocks,
            fraud,
            bots,
        }
    }

    /// The persona of user `index`. Panics if `index >= total`.
    pub fn persona_of(&self, index: u32) -> usize {
        self.blocks
            .iter()
            .position(|b| b.contains(&index))
            .expect("user index within the cohort")
    }

    /// Position of `index` in its persona block.
    fn position(&self, index: u32) -> (usize, u32) {
        let p = self.persona_of(index);
        (p, index - self.blocks[p].start)
    }

    /// The first round(fraud_probability × n) users of each block.
    pub fn is_fraud_account(&self, index: u32) -> bool {
        let (p, j) = self.position(index);
        j < self.fraud[p]
    }

    /// The first round(bot_likelihood × n) users of each block, so fraud accounts are bots first.
    pub fn is_bot(&self, index: u32) -> bool {
        let (p, j) = self.position(index);
        j < self.bots[p]
    }

    /// The window day a fraud account becomes active: fraud account j of a block of n starts on
    /// day floor(j × days / n), spreading the starts evenly over the window. None for other users.
    pub fn first_active_day(&self, index: u32) -> Option<u32> {
        let (p, j) = self.position(index);
        (j < self.fraud[p]).then(|| (u64::from(j) * u64::from(self.days) / u64::from(self.fraud[p])) as u32)
    }

    /// Fraud accounts of `persona` active on window day `day`, as an index range. Account j is
    /// active on the days d with start_j ≤ d < start_j + fraud_lifetime_days; starts never decrease
    /// with j, so the active accounts are contiguous: those with day − lifetime < start_j ≤ day.
    pub fn active_fraud(&self, persona: usize, day: u32, catalogue: &TicketCatalogue) -> Range<u32> {
        let start = self.blocks[persona].start;
        let n = u64::from(self.fraud[persona]);
        let days = u64::from(self.days.max(1));
        // How many accounts start on or before day x: those with j × days < (x + 1) × n.
        let started_by = |x: i64| -> u32 {
            if x < 0 || n == 0 {
                0
            } else {
                ((x as u64 + 1) * n).div_ceil(days).min(n) as u32
            }
        };
        let lifetime = catalogue.personas[persona].fraud_lifetime_days;
        let lo = started_by((f64::from(day) - lifetime).floor() as i64);
        let hi = started_by(i64::from(day));
        start + lo..start + hi.max(lo)
    }
}

/// Splits `total` by `weights` into whole numbers that sum exactly to `total`: floors first, then
/// one more for the largest remainders (ties to the lower index).
fn largest_remainder(total: u32, weights: &[f64]) -> Vec<u32> {
    let sum: f64 = weights.iter().filter(|w| w.is_finite() && **w > 0.0).sum();
    if sum <= 0.0 {
        let mut out = vec![0; weights.len()];
        if let Some(first) = out.first_mut() {
            *first = total;
        }
        return out;
    }
    let quotas: Vec<f64> = weights
        .iter()
        .map(|&w| {
            if w.is_finite() && w > 0.0 {
                w / sum * f64::from(total)
            } else {
                0.0
            }
        })
        .collect();
    let mut out: Vec<u32> = quotas.iter().map(|q| (q.floor() as u32).min(total)).collect();
    let mut order: Vec<usize> = (0..quotas.len()).collect();
    order.sort_by(|&a, &b| {
        (quotas[b] - quotas[b].floor())
            .total_cmp(&(quotas[a] - quotas[a].floor()))
            .then(a.cmp(&b))
    });
    // Only blocks with a positive weight take the remainder, so a persona weighted 0 stays empty.
    let positive: Vec<usize> = order.into_iter().filter(|&i| quotas[i] > 0.0).collect();
    let left = total.saturating_sub(out.iter().sum());
    for k in 0..left as usize {
        out[positive[k % positive.len()]] += 1;
    }
    // Floors can only overshoot through rounding of huge totals; trim from the largest block.
    while out.iter().sum::<u32>() > total {
        let i = (0..out.len()).max_by_key(|&i| out[i]).expect("weights are not empty");
        out[i] -= 1;
    }
    out
}

/// One user.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub index: u32,
    pub cohort: u16,
    /// Unique by construction: a keyed 48-bit bijection of (cohort, index).
    pub id: u64,
    pub persona: usize,
    pub is_bot: bool,
    pub is_fraud_account: bool,
    pub home_country: usize,
    /// Index in the country's cities.
    pub city: usize,
    /// The address the user normally buys from, in the home country.
    pub home_ip: std::net::Ipv4Addr,
    pub device: usize,
    pub browser: usize,
    pub browser_version: u16,
    /// Days relative to the window start, negative = before: 1–1,500 days before for regular
    /// users, 0–30 days before their first active day for fraud accounts.
    pub signup_day: i32,
    /// Index into `loyalty_tiers`; fraud accounts are in the lowest.
    pub loyalty: usize,
    /// A sleeper fraud account looks clean (home IP, usual device).
    pub sleeper: bool,
}

impl User {
    /// The id as written in the data: `usr_` and 12 hex digits.
    pub fn id_string(&self) -> String {
        format!("usr_{:012x}", self.id)
    }
}

/// The stream subject of user `index` of a cohort (also what its id permutes).
#[inline]
pub fn user_key(cohort: u16, index: u32) -> u64 {
    (u64::from(cohort) << 32) | u64::from(index)
}

/// The id of user `index` of a cohort, without generating the user.
pub fn user_id(seed: u64, cohort: u16, index: u32) -> u64 {
    rng::permute48(
        user_key(cohort, index),
        rng::stream_key(seed, Domain::TicketUser, u64::MAX, 0),
    )
}

/// The cumulative distributions users are drawn from, computed once per run rather than per user.
#[derive(Debug, Clone)]
pub struct UserTables {
    home: Vec<f64>,
    /// Per country.
    cities: Vec<Vec<f64>>,
    device: Vec<f64>,
    /// Per device.
    browsers: Vec<Vec<f64>>,
    /// Per persona.
    loyalty: Vec<Vec<f64>>,
}

impl UserTables {
    pub fn new(catalogue: &TicketCatalogue) -> Self {
        UserTables {
            home: catalogue.home_cdf(),
            cities: catalogue.countries.iter().map(|c| c.city_cdf()).collect(),
            device: catalogue.device_cdf(),
            browsers: (0..catalogue.devices.len()).map(|d| catalogue.browser_cdf(d)).collect(),
            loyalty: catalogue
                .personas
                .iter()
                .map(|p| cdf(p.loyalty.iter().copied()))
                .collect(),
        }
    }
}

/// Generates user `index` (< `layout.total`) of the layout's cohort. Every draw is made whatever
/// the user turns out to be, so changing one share does not reshuffle everyone else's attributes.
pub fn generate_user(catalogue: &TicketCatalogue, seed: u64, layout: &UserLayout, index: u32) -> User {
    generate_user_with(catalogue, &UserTables::new(catalogue), seed, layout, index)
}

/// [`generate_user`] with the distributions computed once.
pub fn generate_user_with(
    catalogue: &TicketCatalogue,
    tables: &UserTables,
    seed: u64,
    layout: &UserLayout,
    index: u32,
) -> User {
    let mut r = rng::stream(seed, Domain::TicketUser, user_key(layout.cohort, index), 0);
    let persona = layout.persona_of(index);
    let is_fraud_account = layout.is_fraud_account(index);

    let home_country = pick(&tables.home, r.random());
    let country = &catalogue.countries[home_country];
    let city = pick(&tables.cities[home_country], r.random());
    let home_ip = country.address(r.random());
    let device = pick(&tables.device, r.random());
    let browser = pick(&tables.browsers[device], r.random());
    let (lo, hi) = catalogue.browsers[browser].versions;
    let browser_version = r.random_range(lo..=hi);
    let tenure = r.random_range(1..=MAX_TENURE_DAYS);
    let recent = r.random_range(0..=FRAUD_SIGNUP_DAYS);
    let loyalty_u: f64 = r.random();

    let p = &catalogue.personas[persona];
    let (signup_day, loyalty, sleeper) = match layout.first_active_day(index) {
        Some(first) => {
            // Sleepers are spread evenly over the fraud accounts, so every day's active range
            // holds its share of them.
            let j = f64::from(index - layout.blocks[persona].start);
            let s = p.fraud_sleeper_share;
            let sleeper = ((j + 1.0) * s).floor() > (j * s).floor();
            (first as i32 - recent, 0, sleeper)
        }
        None => (-tenure, pick(&tables.loyalty[persona], loyalty_u), false),
    };

    User {
        index,
        cohort: layout.cohort,
        id: user_id(seed, layout.cohort, index),
        persona,
        is_bot: layout.is_bot(index),
        is_fraud_account,
        home_country,
        city,
        home_ip,
        device,
        browser,
        browser_version,
        signup_day,
        loyalty,
        sleeper,
    }
}

/// The user-agent string of a browser version on a device class, from the browser's template for
/// that device (or its first template if it has none there).
pub fn user_agent(catalogue: &TicketCatalogue, browser: usize, device: usize, version: u16) -> String {
    let b = &catalogue.browsers[browser];
    let template = b.user_agents[device]
        .as_deref()
        .or_else(|| b.user_agents.iter().flatten().next().map(String::as_str))
        .unwrap_or("Mozilla/5.0");
    let chromium = u32::from(version) + u32::from(b.chromium_offset);
    template
        .replace("{version}", &version.to_string())
        .replace("{chromium}", &chromium.to_string())
}

#[cfg(test)]
mod tests;
