//! The ticketing catalogue: event categories, venues, popularity classes, ticket tiers, buyer
//! personas, fraud patterns and the audience (devices, browsers, countries, loyalty tiers).
//!
//! Plain data, validated once by `config::ticketing` and then shared read-only. Every name that
//! refers to another entry is resolved to an index at load time, so generation never looks up names.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use chrono_tz::Tz;

use crate::sim::rng;

/// Ticket tiers, in the order of every `[_; 3]` per-tier array.
pub const TIER_NAMES: [&str; 3] = ["VIP", "Premium", "Standard"];
/// Index of the Standard tier, which takes the seats the other tiers leave.
pub const STANDARD: usize = 2;

/// Everything the ticketing workload draws events and users from.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketCatalogue {
    pub categories: Vec<Category>,
    pub venues: Vec<Venue>,
    pub placeholders: Vec<Placeholder>,
    pub popularity: Popularity,
    /// VIP, Premium, Standard.
    pub tiers: [TierSpec; 3],
    pub personas: Vec<Persona>,
    pub fraud_patterns: Vec<FraudPattern>,
    pub payment_methods: Vec<Weighted>,
    pub devices: Vec<Weighted>,
    pub browsers: Vec<Browser>,
    pub countries: Vec<Country>,
    /// From the lowest tier up.
    pub loyalty_tiers: Vec<Weighted>,
}

/// A kind of event, with its share of events and its name templates.
#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    pub name: String,
    pub weight: f64,
    pub templates: Vec<Template>,
    /// Venues hosting the category (indices into `venues`), in venue order; never empty.
    pub venues: Vec<usize>,
}

/// An event-name template, parsed once so that filling it cannot fail.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub text: String,
    pub pieces: Vec<Piece>,
    /// The placeholder list of each slot. Slots drawing from one list get distinct values.
    pub slots: Vec<usize>,
}

/// A part of a name template.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    /// The event's venue name.
    Venue,
    /// The event's venue city.
    City,
    /// The value drawn for slot `n` of the template (the same name twice is the same slot).
    Slot(usize),
}

/// A named list of values for templates (teams, artists…).
#[derive(Debug, Clone, PartialEq)]
pub struct Placeholder {
    pub name: String,
    pub values: Vec<String>,
    /// Values of this list are performers of the event they name.
    pub performer: bool,
}

/// A place events happen, with the most seats any event there can sell.
#[derive(Debug, Clone, PartialEq)]
pub struct Venue {
    pub name: String,
    pub city: String,
    pub capacity: u32,
    /// Categories hosted (indices into `categories`).
    pub categories: Vec<usize>,
}

/// The heavy-tailed demand model and the popularity classes it sorts events into.
#[derive(Debug, Clone, PartialEq)]
pub struct Popularity {
    /// Pareto shape of the demand index (scale 1).
    pub alpha: f64,
    /// Demand cap, so one draw cannot dominate a sum.
    pub max_demand: f64,
    /// From the least popular up; the last is the mega class.
    pub classes: Vec<PopularityClass>,
}

/// A band of demand with the capacities and prices that go with it.
#[derive(Debug, Clone, PartialEq)]
pub struct PopularityClass {
    pub name: String,
    /// Upper bound of the class's demand (inclusive); infinite for the last class.
    pub max_demand: f64,
    /// Seats on sale, [lo, hi], before the venue ceiling.
    pub capacity: (u32, u32),
    /// SAR per ticket for VIP, Premium, Standard.
    pub prices: [f64; 3],
}

impl Popularity {
    /// The mega class: the most popular one, which flash sales force.
    pub fn mega(&self) -> usize {
        self.classes.len() - 1
    }

    pub fn class_index(&self, name: &str) -> Option<usize> {
        self.classes.iter().position(|c| c.name == name)
    }

    /// The class holding demand `d`.
    pub fn class_of(&self, d: f64) -> usize {
        self.classes
            .iter()
            .position(|c| d <= c.max_demand)
            .unwrap_or(self.mega())
    }

    /// The demand range of a class: (previous threshold or 1, own threshold or the cap).
    pub fn demand_range(&self, class: usize) -> (f64, f64) {
        let lo = if class == 0 {
            1.0
        } else {
            self.classes[class - 1].max_demand
        };
        (lo, self.classes[class].max_demand.min(self.max_demand))
    }

    /// The demand at uniform `u` in [0, 1): the Pareto inverse CDF, capped.
    pub fn demand(&self, u: f64) -> f64 {
        pareto_inverse(u, self.alpha).min(self.max_demand)
    }

    /// The demand at uniform `u` within a class's range (the Pareto truncated to the class), so
    /// forcing a class keeps the distribution's shape inside it.
    pub fn demand_in(&self, class: usize, u: f64) -> f64 {
        let (lo, hi) = self.demand_range(class);
        let cdf = |d: f64| 1.0 - d.powf(-self.alpha);
        let (a, b) = (cdf(lo), cdf(hi));
        pareto_inverse(a + (b - a) * u, self.alpha).clamp(lo, hi)
    }
}

fn pareto_inverse(u: f64, alpha: f64) -> f64 {
    (1.0 - u).powf(-1.0 / alpha)
}

/// A ticket tier: its share of an event's seats and what it gives.
#[derive(Debug, Clone, PartialEq)]
pub struct TierSpec {
    pub name: String,
    pub share: f64,
    pub benefits: Vec<String>,
}

/// A kind of buyer and how it behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct Persona {
    pub name: String,
    /// Share of users.
    pub share: f64,
    /// Visits per month.
    pub purchase_frequency: f64,
    /// 0 = ignores price … 1 = very sensitive.
    pub price_sensitivity: f64,
    /// Share of the persona's accounts that are fraud accounts.
    pub fraud_probability: f64,
    /// Share of the persona's accounts driven by a bot.
    pub bot_likelihood: f64,
    pub cart_abandonment: f64,
    pub avg_tickets: f64,
    /// Mean purchase attempts in one visit.
    pub attempts_per_visit: f64,
    /// P(VIP, Premium, Standard).
    pub tier_preference: [f64; 3],
    pub presale: bool,
    /// P(each loyalty tier), aligned with `loyalty_tiers`.
    pub loyalty: Vec<f64>,
    /// Days a fraud account stays active before it is closed (0 when the persona has none).
    pub fraud_lifetime_days: f64,
    /// Share of fraud accounts that look clean.
    pub fraud_sleeper_share: f64,
}

/// An attack pattern (document §1.5).
#[derive(Debug, Clone, PartialEq)]
pub struct FraudPattern {
    pub name: String,
    pub description: String,
    /// Attempts per second during an attack.
    pub attack_rate: f64,
    /// Share of attempts that get past detection.
    pub success_rate: f64,
    pub characteristics: Vec<String>,
}

/// A name with a weight (the weights of a list sum to 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Weighted {
    pub name: String,
    pub weight: f64,
}

/// A browser with the versions in use and a user-agent template per device class.
#[derive(Debug, Clone, PartialEq)]
pub struct Browser {
    pub name: String,
    pub weight: f64,
    /// Major versions in use, [lo, hi].
    pub versions: (u16, u16),
    /// Added to the version for `{chromium}` in templates.
    pub chromium_offset: u16,
    /// Per device (aligned with `devices`): the template, if the browser runs there.
    pub user_agents: Vec<Option<String>>,
}

/// A country users live in or attacks come from.
#[derive(Debug, Clone, PartialEq)]
pub struct Country {
    /// ISO 3166-1 alpha-2.
    pub code: String,
    pub name: String,
    pub home_share: f64,
    pub attack_share: f64,
    /// Largest first.
    pub cities: Vec<String>,
    pub tz: Tz,
    pub ip_blocks: Vec<IpBlock>,
}

impl Country {
    /// An address of the country for a random `x`: a block chosen in proportion to its size, then
    /// an address inside it.
    pub fn address(&self, x: u64) -> Ipv4Addr {
        let total: u64 = self.ip_blocks.iter().map(IpBlock::usable).sum();
        let mut at = mul_high(x, total);
        for block in &self.ip_blocks {
            if at < block.usable() {
                return block.address(rng::fmix64(x ^ 0x5851_f42d_4c95_7f2d));
            }
            at -= block.usable();
        }
        self.ip_blocks[0].address(x)
    }

    /// The cumulative distribution of a user's city: weight 1/rank, cities being listed by size.
    pub fn city_cdf(&self) -> Vec<f64> {
        rng::cumulative((1..=self.cities.len()).map(|rank| 1.0 / rank as f64))
    }
}

/// An IPv4 network, `base/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpBlock {
    pub base: u32,
    pub prefix: u8,
}

impl IpBlock {
    /// Shortest prefix accepted: larger blocks are not one carrier's.
    pub const MIN_PREFIX: u8 = 8;
    /// Longest prefix accepted: a /31 or /32 has no host besides network and broadcast.
    pub const MAX_PREFIX: u8 = 30;

    /// Addresses in the block other than the network and broadcast addresses.
    pub fn usable(&self) -> u64 {
        (1u64 << (32 - self.prefix)) - 2
    }

    /// Whether `addr` lies in the block.
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        let mask = u32::MAX << (32 - u32::from(self.prefix));
        u32::from(addr) & mask == self.base
    }

    /// Maps a random `x` onto a host address (never the network or broadcast address).
    pub fn address(&self, x: u64) -> Ipv4Addr {
        let host = 1 + mul_high(x, self.usable());
        Ipv4Addr::from(self.base + host as u32)
    }
}

/// `x` scaled into [0, n) without modulo bias: the high half of the 128-bit product.
fn mul_high(x: u64, n: u64) -> u64 {
    ((u128::from(x) * u128::from(n)) >> 64) as u64
}

impl FromStr for IpBlock {
    type Err = String;

    /// Parses `a.b.c.d/n`; the address must be the network address (host bits zero).
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| "missing `/prefix`: write a block as a.b.c.d/n".to_string())?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| format!("`{addr}` is not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| (Self::MIN_PREFIX..=Self::MAX_PREFIX).contains(p))
            .ok_or_else(|| {
                format!(
                    "prefix `{prefix}` is not allowed: a whole number from {} to {}",
                    Self::MIN_PREFIX,
                    Self::MAX_PREFIX
                )
            })?;
        let base = u32::from(addr);
        let host_bits = (1u32 << (32 - prefix)) - 1;
        if base & host_bits != 0 {
            let network = Ipv4Addr::from(base & !host_bits);
            return Err(format!(
                "{addr} is not the start of a /{prefix} block: did you mean {network}/{prefix}?"
            ));
        }
        Ok(IpBlock { base, prefix })
    }
}

impl fmt::Display for IpBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }
}

impl TicketCatalogue {
    pub fn category_index(&self, name: &str) -> Option<usize> {
        self.categories.iter().position(|c| c.name == name)
    }

    pub fn venue_index(&self, name: &str) -> Option<usize> {
        self.venues.iter().position(|v| v.name == name)
    }

    pub fn persona_index(&self, name: &str) -> Option<usize> {
        self.personas.iter().position(|p| p.name == name)
    }

    pub fn pattern_index(&self, name: &str) -> Option<usize> {
        self.fraud_patterns.iter().position(|p| p.name == name)
    }

    /// By ISO code.
    pub fn country_index(&self, code: &str) -> Option<usize> {
        self.countries.iter().position(|c| c.code == code)
    }

    pub fn device_index(&self, name: &str) -> Option<usize> {
        self.devices.iter().position(|d| d.name == name)
    }

    pub fn browser_index(&self, name: &str) -> Option<usize> {
        self.browsers.iter().position(|b| b.name == name)
    }

    pub fn loyalty_index(&self, name: &str) -> Option<usize> {
        self.loyalty_tiers.iter().position(|l| l.name == name)
    }

    /// The persona mix of the catalogue, as `UserLayout::new` takes it.
    pub fn persona_mix(&self) -> Vec<f64> {
        self.personas.iter().map(|p| p.share).collect()
    }

    /// Cumulative distribution of the users' home countries.
    pub fn home_cdf(&self) -> Vec<f64> {
        cdf(self.countries.iter().map(|c| c.home_share))
    }

    /// Cumulative distribution of the countries attacks come from.
    pub fn attack_cdf(&self) -> Vec<f64> {
        cdf(self.countries.iter().map(|c| c.attack_share))
    }

    pub fn device_cdf(&self) -> Vec<f64> {
        cdf(self.devices.iter().map(|d| d.weight))
    }

    pub fn payment_cdf(&self) -> Vec<f64> {
        cdf(self.payment_methods.iter().map(|p| p.weight))
    }

    /// Cumulative distribution of browsers among those with a user agent for `device` (the loader
    /// guarantees every device has one).
    pub fn browser_cdf(&self, device: usize) -> Vec<f64> {
        cdf(self
            .browsers
            .iter()
            .map(|b| if b.user_agents[device].is_some() { b.weight } else { 0.0 }))
    }
}

/// A cumulative distribution (for `rng::pick`) in which entries of weight 0 can never be picked:
/// `rng::cumulative` ends at exactly 1.0, so a trailing zero-weight entry would otherwise take the
/// rounding gap below 1.
pub fn cdf(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let weights: Vec<f64> = weights.into_iter().collect();
    let mut out = rng::cumulative(weights.iter().copied());
    if let Some(last) = weights.iter().rposition(|&w| w > 0.0) {
        out[last..].fill(1.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_weights_are_never_picked() {
        let c = cdf([0.1, 0.2, 0.3, 0.4, 0.0, 0.0]);
        assert_eq!(rng::pick(&c, 1.0 - f64::EPSILON), 3);
        assert_eq!(c[3], 1.0);
        assert_eq!(rng::pick(&cdf([0.0, 1.0]), 0.0), 1);
    }

    #[test]
    fn ip_blocks_parse_and_map_inside_without_network_or_broadcast() {
        let b: IpBlock = "188.48.0.0/13".parse().unwrap();
        assert_eq!(b.to_string(), "188.48.0.0/13");
        let lo = u32::from(Ipv4Addr::new(188, 48, 0, 0));
        let hi = lo + (1 << 19) - 1;
        for x in [0, 1, u64::MAX / 2, u64::MAX - 1, u64::MAX] {
            let a = u32::from(b.address(x));
            assert!(a > lo && a < hi, "{x} → {}", Ipv4Addr::from(a));
        }
        let small: IpBlock = "10.0.0.0/30".parse().unwrap();
        let hosts: std::collections::BTreeSet<Ipv4Addr> =
            [0, u64::MAX / 3, u64::MAX].iter().map(|&x| small.address(x)).collect();
        assert_eq!(hosts.len(), 2);
        assert!(
            hosts
                .iter()
                .all(|h| *h != Ipv4Addr::new(10, 0, 0, 0) && *h != Ipv4Addr::new(10, 0, 0, 3))
        );
    }

    #[test]
    fn malformed_blocks_say_why() {
        for (text, says) in [
            ("188.48.0.0", "missing"),
            ("188.48.0/13", "not an IPv4"),
            ("188.48.0.0/33", "prefix"),
            ("188.48.0.0/31", "prefix"),
            ("188.49.0.0/13", "did you mean 188.48.0.0/13"),
        ] {
            let e = text.parse::<IpBlock>().unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn demand_classes_follow_the_pareto_tail() {
        let p = Popularity {
            alpha: 1.2,
            max_demand: 200.0,
            classes: ["regular", "large", "mega"]
                .iter()
                .zip([4.0, 18.5, f64::INFINITY])
                .map(|(n, m)| PopularityClass {
                    name: n.to_string(),
                    max_demand: m,
                    capacity: (1, 2),
                    prices: [1.0; 3],
                })
                .collect(),
        };
        let n = 100_000;
        let mut counts = [0usize; 3];
        for i in 0..n {
            let u = (i as f64 + 0.5) / n as f64;
            counts[p.class_of(p.demand(u))] += 1;
        }
        let share = |c: usize| counts[c] as f64 / n as f64;
        assert!(
            (share(0) - 0.81).abs() < 0.01 && (share(2) - 0.03).abs() < 0.005,
            "{counts:?}"
        );
        for class in 0..3 {
            let (lo, hi) = p.demand_range(class);
            for u in [0.0, 0.3, 0.999_999] {
                let d = p.demand_in(class, u);
                assert!(
                    d >= lo && d <= hi && p.class_of(d.max(lo + 1e-9)) == class,
                    "{class} {u} {d}"
                );
            }
        }
        assert_eq!(p.mega(), 2);
    }
}
