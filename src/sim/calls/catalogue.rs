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
    /// Who bills the calls, as a cost-and-usage export (FOCUS) names them.
    pub billing: Billing,
}

/// The names a bill carries for a provider's calls (FOCUS `ProviderName`, `ServiceName`,
/// `InvoiceIssuerName`): a model sold through a cloud (Claude on Bedrock) is provided and
/// invoiced by the cloud and published by its maker.
#[derive(Debug, Clone, PartialEq)]
pub struct Billing {
    pub provider_name: String,
    pub service_name: String,
    pub invoice_issuer_name: String,
}

/// One model and its prices, in USD per 1,000 tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub name: String,
    pub provider: usize,
    pub input_per_1k: f64,
    pub output_per_1k: f64,
    /// Price of an input token read from the prompt cache; `None`: the model has no prompt
    /// caching, and its calls never read from a cache.
    pub cache_read_per_1k: Option<f64>,
    /// Price of an input token written to the prompt cache; `None`: writing costs the input
    /// price (OpenAI and Google charge nothing extra; Anthropic charges 1.25×).
    pub cache_write_per_1k: Option<f64>,
    pub latency_multiplier: f64,
    /// Who made the model (FOCUS `PublisherName`): the provider's own name unless it resells.
    pub publisher: String,
    /// Quality score from a public benchmark (the catalogue's `[quality]` table cites it);
    /// `None`: the benchmark has no score for the model, so no switch starts or ends on it.
    pub quality: Option<f64>,
}

impl Model {
    /// The price of the uncached part of a prompt: a call that read a cached prefix wrote the
    /// rest of its prompt to the cache for the next turn (agent loops mark the last message
    /// as a cache breakpoint), so it pays the write price; a call that read nothing pays the
    /// input price.
    pub fn uncached_input_per_1k(&self, cached_tokens: u32) -> f64 {
        match (cached_tokens, self.cache_write_per_1k) {
            (1.., Some(write)) => write,
            _ => self.input_per_1k,
        }
    }
}

/// Every provider and model the simulation may use.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalogue {
    pub providers: Vec<Provider>,
    pub models: Vec<Model>,
}

impl Catalogue {
    /// The cost of a successful call, rounded to 6 decimal places as the product documents do:
    /// `input × input price + output × output price` per 1K tokens when nothing came from the
    /// prompt cache (the documents' formula, to the bit); otherwise the `cached` tokens (a part
    /// of `input_tokens`) at the cache-read price and the rest at [`Model::uncached_input_per_1k`].
    pub fn cost_usd(&self, model: usize, input_tokens: u32, cached: u32, output_tokens: u32) -> f64 {
        let m = &self.models[model];
        let output = f64::from(output_tokens) * m.output_per_1k / 1000.0;
        if cached == 0 {
            return round6(f64::from(input_tokens) * m.input_per_1k / 1000.0 + output);
        }
        let read = m.cache_read_per_1k.unwrap_or(m.input_per_1k);
        let uncached = f64::from(input_tokens.saturating_sub(cached)) * m.uncached_input_per_1k(cached) / 1000.0;
        round6(uncached + f64::from(cached) * read / 1000.0 + output)
    }

    /// What a successful call would have cost with no prompt caching; the difference from
    /// [`Catalogue::cost_usd`] is what caching saved (negative while writes outweigh reads).
    pub fn uncached_cost_usd(&self, model: usize, input_tokens: u32, output_tokens: u32) -> f64 {
        self.cost_usd(model, input_tokens, 0, output_tokens)
    }

    /// Whether calls to `model` can read from a prompt cache.
    pub fn caches(&self, model: usize) -> bool {
        self.models[model].cache_read_per_1k.is_some()
    }

    pub fn model_index(&self, name: &str) -> Option<usize> {
        self.models.iter().position(|m| m.name == name)
    }
}

/// Rounds half away from zero to 6 decimal places.
pub fn round6(x: f64) -> f64 {
    (x * 1_000_000.0).round() / 1_000_000.0
}
