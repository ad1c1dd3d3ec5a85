//! Customers: who they are, decided once per customer from its own random stream.
//!
//! A customer is identified by (cohort, index in cohort). Its attributes depend only on the seed
//! and that identity, so a cohort that grows for a larger target keeps its first customers as
//! they were, and every customer has exactly one tier, archetype, organization, product and
//! time zone across the whole dataset.

use rand::RngExt;

use super::catalogue::Catalogue;
use super::model::TrafficModel;
use super::rng::{self, Domain, cumulative, pick};
use super::scenario::Scenario;

/// Most customers a cohort may have (ids pack the index into 20 bits).
pub const MAX_CUSTOMERS_PER_COHORT: u32 = 1 << 20;
/// Most cohorts a run may have (ids pack the cohort into 8 bits).
pub const MAX_COHORTS: usize = 256;

/// 1/φ: successive multiples mod 1 spread evenly, so every prefix of a cohort has archetype
/// shares close to the configured weights, even a cohort of a few dozen customers.
const GOLDEN: f64 = 0.618_033_988_749_894_9;

/// One simulated customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub id: String,
    pub cohort: u16,
    pub index_in_cohort: u32,
    pub scenario: Scenario,
    pub archetype: u8,
    pub tier: u8,
    pub organization: u32,
    pub product: u8,
    pub timezone: u8,
    pub user_agent: u8,
    /// Mean calls on a weekday before scenario modifiers.
    pub base_rate: f64,
    /// Features the customer uses (indices into the model's features) and the cumulative
    /// distribution of its calls over them.
    pub features: Vec<u16>,
    pub feature_cdf: Vec<f64>,
    /// Cumulative distribution of the customer's calls over providers.
    pub provider_cdf: Vec<f64>,
}

impl Customer {
    /// The key that identifies the customer in random streams and ids.
    #[inline]
    pub fn key(&self) -> u64 {
        customer_key(self.cohort, self.index_in_cohort)
    }

    /// Generates customer `index` of cohort `cohort`.
    pub fn generate(
        seed: u64,
        cohort: u16,
        index: u32,
        scenario: Scenario,
        model: &TrafficModel,
        catalogue: &Catalogue,
    ) -> Customer {
        let key = customer_key(cohort, index);
        let mut r = rng::stream(seed, Domain::Customer, key, 0);

        let offset: f64 = rng::stream(seed, Domain::Cohort, u64::from(cohort), 0).random();
        let u = (offset + f64::from(index) * GOLDEN).fract();
        let archetype_cdf = cumulative(model.archetypes.iter().map(|a| a.weight));
        let archetype = pick(&archetype_cdf, u);
        let a = &model.archetypes[archetype];
        let tier = pick(&cumulative(a.tier_weights.iter().copied()), r.random());
        let (lo, hi) = a.calls_per_day;
        let base_rate = lo + (hi - lo) * r.random::<f64>();

        let organization = r.random_range(0..model.organizations);
        let product = pick(&cumulative(model.products.iter().map(|p| p.weight)), r.random());
        let timezone = pick(&cumulative(model.timezones.iter().map(|t| t.weight)), r.random());
        let user_agent = pick(&cumulative(model.user_agents.iter().map(|u| u.1)), r.random());

        // Features: each of the product's features with its adoption probability, at least one.
        let offered = &model.products[product].features;
        let mut features: Vec<u16> = offered
            .iter()
            .filter(|&&f| r.random::<f64>() < model.features[f].adoption)
            .map(|&f| f as u16)
            .collect();
        if features.is_empty() {
            let weights = cumulative(offered.iter().map(|&f| model.features[f].weight));
            features.push(offered[pick(&weights, r.random())] as u16);
        }
        let feature_cdf = cumulative(features.iter().map(|&f| model.features[f as usize].weight));

        // Providers: the market mix, with `loyalty` of the calls moved to a preferred provider
        // drawn by market weight, so the expected mix over customers is still the market's.
        let market: Vec<f64> = catalogue.providers.iter().map(|p| p.market_weight).collect();
        let preferred = pick(&cumulative(market.iter().copied()), r.random());
        let loyalty = model.provider_loyalty;
        let provider_cdf = cumulative(
            market
                .iter()
                .enumerate()
                .map(|(i, w)| (1.0 - loyalty) * w + if i == preferred { loyalty } else { 0.0 }),
        );

        Customer {
            id: format!("cust-{cohort:02}-{index:05}"),
            cohort,
            index_in_cohort: index,
            scenario,
            archetype: archetype as u8,
            tier: tier as u8,
            organization,
            product: product as u8,
            timezone: timezone as u8,
            user_agent: user_agent as u8,
            base_rate,
            features,
            feature_cdf,
            provider_cdf,
        }
    }
}

/// Packs (cohort, index) into the key used for streams and ids.
#[inline]
pub fn customer_key(cohort: u16, index: u32) -> u64 {
    (u64::from(cohort) << 20) | u64::from(index)
}

/// Organization id as written in the data.
pub fn organization_id(index: u32) -> String {
    format!("org_{:03}", index + 1)
}
