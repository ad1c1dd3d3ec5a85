//! The price catalogue: providers, their models, prices and latency multipliers.
//!
//! Plain data, validated once by `config` and then shared read-only by every work unit.

use std::collections::BTreeMap;

/// An AI provider with its market weight and the region it serves each geography from.
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    pub name: String,
    /// Share of all calls that go to this provider (the weights sum to 1).
    pub market_weight: f64,
    /// Geography key (see `TimeZoneShare::geo`) to provider region name.
    pub regions: BTreeMap<String, String>,
    /// Indices into `Catalogue::models`.
    pub models: Vec<usize>,
}

/// One model and its prices, in USD per 1,000 tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub name: String,
    pub provider: usize,
    pub input_per_1k: f64,
    pub output_per_1k: f64,
    pub latency_multiplier: f64,
}

/// Every provider and model the simulation may use.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalogue {
    pub providers: Vec<Provider>,
    pub models: Vec<Model>,
}

impl Catalogue {
    /// The cost of a successful call, rounded to 6 decimal places as the product documents do.
    pub fn cost_usd(&self, model: usize, input_tokens: u32, output_tokens: u32) -> f64 {
        let m = &self.models[model];
        round6(f64::from(input_tokens) * m.input_per_1k / 1000.0 + f64::from(output_tokens) * m.output_per_1k / 1000.0)
    }

    pub fn model_index(&self, name: &str) -> Option<usize> {
        self.models.iter().position(|m| m.name == name)
    }
}

/// Rounds half away from zero to 6 decimal places.
pub fn round6(x: f64) -> f64 {
    (x * 1_000_000.0).round() / 1_000_000.0
}
