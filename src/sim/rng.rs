//! Random streams derived from (seed, domain, subject, index), never from threads or entropy.
//!
//! Every random decision draws from a stream keyed by what it is about — a customer, a
//! customer-hour — so the output does not depend on how the work is split into units, on the
//! thread count, or on which shard runs it.

use rand::SeedableRng;
use rand_distr::{Distribution, Poisson};
use rand_xoshiro::Xoshiro256PlusPlus;

/// The generator behind every stream: small, fast, with a documented, stable algorithm.
pub type SimRng = Xoshiro256PlusPlus;

/// What a stream is for; each domain gets independent streams for the same subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Domain {
    /// A customer's attributes.
    Customer = 1,
    /// How many calls a customer makes in an hour.
    Count = 2,
    /// The content of those calls.
    Content = 3,
    /// A customer's day-to-day volume factor.
    DayNoise = 4,
    /// Cohort-level draws (e.g. the low-discrepancy offset for archetypes).
    Cohort = 5,
    /// Scenario instance draws (per cohort and modifier) and share selections.
    Scenario = 6,
    /// A customer's draws for one scenario modifier.
    ScenarioCustomer = 7,
    /// Whether and when a customer-day bursts.
    Burst = 8,
    /// A ticketing event's attributes (category, venue, capacity, name, sale timeline).
    TicketEvent = 9,
    /// A ticketing user's attributes (home, device, signup, loyalty).
    TicketUser = 10,
    /// How many visits a ticketing cohort's process makes in a slot, and their shape.
    TicketCount = 11,
    /// The content of those visits' attempts.
    TicketContent = 12,
    /// How much of a call's prompt the provider's cache serves (a stream of its own, so that
    /// turning caching on changes no other column).
    PromptCache = 13,
}

/// The murmur3 64-bit finalizer: a bijection on u64 with good avalanche.
#[inline]
pub fn fmix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x
}

/// Mixes a stream key from its parts.
#[inline]
pub fn stream_key(seed: u64, domain: Domain, subject: u64, index: u64) -> u64 {
    let mut h = fmix64(seed ^ 0x9e37_79b9_7f4a_7c15);
    h = fmix64(h ^ (domain as u64).wrapping_mul(0xa076_1d64_78bd_642f));
    h = fmix64(h ^ subject);
    fmix64(h ^ index.wrapping_mul(0xe703_7ed1_a0b4_28db))
}

/// The stream for (seed, domain, subject, index).
#[inline]
pub fn stream(seed: u64, domain: Domain, subject: u64, index: u64) -> SimRng {
    SimRng::seed_from_u64(stream_key(seed, domain, subject, index))
}

/// Two uniform numbers in [0, 1) from one hashed key: for a draw or two per row, without
/// seeding a generator.
#[inline]
pub fn uniform_pair(seed: u64, domain: Domain, subject: u64, index: u64) -> (f64, f64) {
    let bits = stream_key(seed, domain, subject, index);
    let unit = |x: u64| (x >> 11) as f64 / (1u64 << 53) as f64;
    (unit(bits), unit(fmix64(bits ^ 0x2545_f491_4f6c_dd1d)))
}

/// A keyed bijection on u64: distinct inputs give distinct outputs, so ids built from distinct
/// keys are unique by construction while still looking random.
#[inline]
pub fn permute(x: u64, key: u64) -> u64 {
    fmix64(fmix64(x ^ key).wrapping_add(key))
}

/// A keyed bijection on 48-bit values (a 4-round Feistel network over two 24-bit halves), so ids
/// packed from a u16 and a u32 print as 12 hex digits and stay unique by construction; `permute`
/// truncated to 48 bits would not be injective.
#[inline]
pub fn permute48(x: u64, key: u64) -> u64 {
    const HALF: u64 = (1 << 24) - 1;
    debug_assert!(x >> 48 == 0, "permute48 takes 48-bit values");
    let (mut left, mut right) = ((x >> 24) & HALF, x & HALF);
    for round in 0..4u64 {
        let f = fmix64(right ^ key ^ round.wrapping_mul(0x9e37_79b9_7f4a_7c15)) & HALF;
        (left, right) = (right, left ^ f);
    }
    (left << 24) | right
}

/// Picks an index from a cumulative distribution (last entry 1.0) with a uniform `u` in [0, 1).
#[inline]
pub fn pick(cdf: &[f64], u: f64) -> usize {
    cdf.iter().position(|&c| u < c).unwrap_or(cdf.len() - 1)
}

/// A Poisson draw; 0 for a zero (or invalid) rate.
#[inline]
pub fn poisson(r: &mut SimRng, lambda: f64) -> u32 {
    if lambda <= 0.0 || !lambda.is_finite() {
        return 0;
    }
    match Poisson::new(lambda) {
        Ok(d) => d.sample(r).min(f64::from(u32::MAX)) as u32,
        Err(_) => 0,
    }
}

/// [`pick`] by binary search, for long distributions (hundreds of events): the same index.
#[inline]
pub fn pick_binary(cdf: &[f64], u: f64) -> usize {
    cdf.partition_point(|&c| c <= u).min(cdf.len() - 1)
}

/// Turns weights into a cumulative distribution ending exactly at 1.0.
pub fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let w: Vec<f64> = weights.into_iter().collect();
    let total: f64 = w.iter().sum();
    let mut acc = 0.0;
    let mut out: Vec<f64> = w
        .iter()
        .map(|x| {
            acc += x / total;
            acc
        })
        .collect();
    if let Some(last) = out.last_mut() {
        *last = 1.0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: u64 = stream(42, Domain::Count, 7, 3).random();
        let b: u64 = stream(42, Domain::Count, 7, 3).random();
        let c: u64 = stream(42, Domain::Count, 7, 4).random();
        let d: u64 = stream(42, Domain::Content, 7, 3).random();
        let e: u64 = stream(43, Domain::Count, 7, 3).random();
        assert_eq!(a, b);
        assert!(a != c && a != d && a != e);
    }

    #[test]
    fn permute_is_injective_on_a_sample() {
        let mut seen = std::collections::HashSet::new();
        for x in 0..100_000u64 {
            assert!(seen.insert(permute(x, 12345)));
        }
    }

    #[test]
    fn permute48_is_injective_and_stays_in_48_bits() {
        let mut seen = std::collections::HashSet::new();
        for x in 0..100_000u64 {
            let y = permute48((7 << 32) | x, 999);
            assert!(y >> 48 == 0);
            assert!(seen.insert(y));
        }
        assert_ne!(permute48(1, 1), permute48(1, 2));
    }

    #[test]
    fn pick_follows_the_cdf() {
        let cdf = cumulative([0.5, 0.25, 0.25]);
        assert_eq!(cdf, vec![0.5, 0.75, 1.0]);
        assert_eq!(pick(&cdf, 0.0), 0);
        assert_eq!(pick(&cdf, 0.5), 1);
        assert_eq!(pick(&cdf, 0.99), 2);
        for u in [0.0, 0.25, 0.5, 0.6, 0.75, 0.99] {
            assert_eq!(pick_binary(&cdf, u), pick(&cdf, u), "u = {u}");
        }
    }
}
