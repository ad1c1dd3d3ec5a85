//! Imports LiteLLM's price table (`model_prices_and_context_window.json`, the most used table
//! of LLM prices, updated as providers change them) as a trafficsim catalogue: the chat and
//! completion models of the chosen providers with their input, output, cache-read and
//! cache-write prices, converted from USD per token to USD per 1K tokens.
//!
//! LiteLLM has no regions, market shares or billing names: a provider the base catalogue knows
//! (`openai`, `anthropic`; LiteLLM's `gemini` and `vertex_ai-…` are `google`, `bedrock_converse`
//! is `bedrock`, …) keeps the base catalogue's; another serves every geography from `global`
//! and gets an equal share. The result is checked like any catalogue before it is written.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::catalogue::{RawBilling, RawCatalogue, RawPrice, RawProvider, build};
use super::check_regions;
use crate::config::ConfigError;
use crate::sim::calls::catalogue::Catalogue;
use crate::sim::calls::model::TrafficModel;

/// The fields of a LiteLLM entry the import reads; the others are ignored.
#[derive(Debug, Deserialize)]
struct Entry {
    litellm_provider: Option<String>,
    mode: Option<String>,
    input_cost_per_token: Option<f64>,
    output_cost_per_token: Option<f64>,
    cache_read_input_token_cost: Option<f64>,
    cache_creation_input_token_cost: Option<f64>,
}

/// LiteLLM provider names that are a base-catalogue provider under another name.
const ALIASES: [(&str, &str); 9] = [
    ("gemini", "google"),
    ("vertex_ai-language-models", "google"),
    ("vertex_ai-anthropic_models", "google"),
    ("bedrock_converse", "bedrock"),
    ("azure_ai", "azure"),
    ("cohere_chat", "cohere"),
    ("text-completion-openai", "openai"),
    ("mistralai", "mistral"),
    ("codestral", "mistral"),
];

/// The modes of LiteLLM entries that are text-generation models.
const MODES: [&str; 3] = ["chat", "completion", "responses"];

/// A provider's market share when the base catalogue does not know it (before normalizing).
const NEW_PROVIDER_WEIGHT: f64 = 0.05;

/// Which entries to import.
#[derive(Debug, Clone, Default)]
pub struct ImportFilter {
    /// LiteLLM provider names (or the trafficsim names they map to); empty: all.
    pub providers: Vec<String>,
    /// Model names as LiteLLM spells them (the file's keys); empty: all of the providers'.
    pub models: Vec<String>,
}

/// The trafficsim provider name of a LiteLLM provider name.
pub fn provider_name(litellm: &str) -> &str {
    ALIASES
        .iter()
        .find(|(from, _)| *from == litellm)
        .map_or(litellm, |(_, to)| to)
}

/// Converts the LiteLLM price table `json` (read from `source`, for messages) to a catalogue
/// file's text. `base` (the run plan's catalogue) lends regions, shares and billing names to
/// the providers it knows; `traffic` names the geographies every provider must serve.
pub fn import(
    source: &Path,
    json: &str,
    filter: &ImportFilter,
    base: &Catalogue,
    traffic: &TrafficModel,
) -> Result<String, ConfigError> {
    let invalid = |key: &str, message: String| ConfigError::invalid(source, key, message);
    let table: BTreeMap<String, serde_json::Value> = serde_json::from_str(json).map_err(|e| ConfigError::Parse {
        path: source.to_path_buf(),
        message: format!("not LiteLLM's price table (a JSON object of models): {e}"),
    })?;
    let wanted_provider = |litellm: &str| {
        filter.providers.is_empty()
            || filter
                .providers
                .iter()
                .any(|p| p == litellm || p == provider_name(litellm))
    };
    let mut raw = RawCatalogue::default();
    let mut seen_providers: BTreeMap<String, ()> = BTreeMap::new();
    for (model, value) in &table {
        // `sample_spec` documents the format; an entry of another shape is not a model.
        let Ok(entry) = serde_json::from_value::<Entry>(value.clone()) else {
            continue;
        };
        let (Some(litellm), Some(input), Some(output)) = (
            &entry.litellm_provider,
            entry.input_cost_per_token,
            entry.output_cost_per_token,
        ) else {
            continue;
        };
        if model == "sample_spec" || !entry.mode.as_deref().is_some_and(|m| MODES.contains(&m)) {
            continue;
        }
        seen_providers.insert(litellm.clone(), ());
        if !wanted_provider(litellm) || !(filter.models.is_empty() || filter.models.contains(model)) {
            continue;
        }
        let provider = provider_name(litellm).to_string();
        let per_1k = |per_token: f64| (per_token * 1000.0 * 1e12).round() / 1e12;
        let cache_write = entry
            .cache_creation_input_token_cost
            .map(per_1k)
            .filter(|w| *w != per_1k(input));
        raw.prices.insert(
            model.clone(),
            RawPrice {
                input: per_1k(input),
                output: per_1k(output),
                cache_read: entry.cache_read_input_token_cost.map(per_1k),
                cache_write,
            },
        );
        raw.providers
            .entry(provider)
            .or_insert_with(|| RawProvider {
                models: Vec::new(),
                regions: BTreeMap::new(),
                billing: None,
            })
            .models
            .push(model.clone());
    }
    for wanted in &filter.models {
        if !raw.prices.contains_key(wanted) {
            return Err(invalid(
                wanted,
                format!(
                    "model `{wanted}` is not a chat or completion model with input and output prices{} in this file",
                    if filter.providers.is_empty() {
                        String::new()
                    } else {
                        format!(" of provider(s) {}", filter.providers.join(", "))
                    }
                ),
            ));
        }
    }
    if raw.providers.is_empty() {
        return Err(invalid(
            "litellm_provider",
            format!(
                "no model matched: the file's providers with chat models are {}",
                seen_providers.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let geographies: Vec<&str> = traffic.timezones.iter().map(|t| t.geo.as_str()).collect();
    for (name, provider) in raw.providers.iter_mut() {
        let known = base.providers.iter().find(|p| &p.name == name);
        let weight = known.map_or(NEW_PROVIDER_WEIGHT, |p| p.market_weight);
        raw.market_weights.insert(name.clone(), weight);
        provider.regions = geographies
            .iter()
            .map(|g| {
                let region = known.and_then(|p| p.regions.get(*g)).map_or("global", String::as_str);
                (g.to_string(), region.to_string())
            })
            .collect();
        provider.billing = known.map(|p| RawBilling {
            provider: Some(p.billing.provider_name.clone()),
            service: Some(p.billing.service_name.clone()),
            invoice_issuer: Some(p.billing.invoice_issuer_name.clone()),
        });
    }
    // Shares of the known providers keep their proportions; all sum to 1.
    let total: f64 = raw.market_weights.values().sum();
    for w in raw.market_weights.values_mut() {
        *w = (*w / total * 1e9).round() / 1e9;
    }
    let drift: f64 = 1.0 - raw.market_weights.values().sum::<f64>();
    if let Some(w) = raw.market_weights.values_mut().next() {
        *w += drift;
    }
    let catalogue = build(source, &raw)?;
    check_regions(source, &catalogue, traffic)?;
    let body = toml::to_string(&raw).map_err(|e| ConfigError::Parse {
        path: source.to_path_buf(),
        message: format!("cannot write the imported catalogue as TOML: {e}"),
    })?;
    Ok(format!(
        "# Price catalogue imported from LiteLLM's price table ({}) by `trafficsim catalogue import litellm`:\n\
         # {} model(s) of {} provider(s). Prices are USD per 1,000 tokens (LiteLLM's per-token prices × 1000);\n\
         # cache_read and cache_write are the prompt cache's read and write prices. Regions, market shares and\n\
         # billing names come from the base catalogue for the providers it knows; see config/catalogue.toml.\n\n{body}",
        source.display(),
        raw.prices.len(),
        raw.providers.len(),
    ))
}
