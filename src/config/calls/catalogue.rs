//! Loads `catalogue.toml`: market weights, providers, their models and prices (input, output,
//! and the prompt cache's read and write prices where the provider publishes them), and the
//! names a bill carries (FOCUS export).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;
use crate::config::checks;
use crate::sim::calls::catalogue::{Billing, Catalogue, Model, Provider};

/// The file as written: read here, and written by the LiteLLM importer (`litellm.rs`).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCatalogue {
    pub market_weights: BTreeMap<String, f64>,
    pub providers: BTreeMap<String, RawProvider>,
    pub prices: BTreeMap<String, RawPrice>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub latency_multipliers: BTreeMap<String, f64>,
    /// Model → who made it, for a model a provider resells (Claude on Bedrock).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub publishers: BTreeMap<String, String>,
    /// Model → quality score from a public benchmark (rate optimization switches on it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub quality: BTreeMap<String, f64>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProvider {
    pub models: Vec<String>,
    pub regions: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing: Option<RawBilling>,
}

/// The names of a provider on a bill; each defaults to the provider's key.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBilling {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_issuer: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrice {
    pub input: f64,
    pub output: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<f64>,
}

/// Reads and validates a catalogue file.
pub fn load_catalogue(path: &Path) -> Result<Catalogue, ConfigError> {
    let raw: RawCatalogue = checks::read_toml(path)?;
    build(path, &raw)
}

/// Checks a catalogue read from (or to be written to) `path` and builds it.
pub(super) fn build(path: &Path, raw: &RawCatalogue) -> Result<Catalogue, ConfigError> {
    if raw.providers.is_empty() {
        return Err(ConfigError::invalid(
            path,
            "providers",
            "must define at least one provider",
        ));
    }
    let provider_names = || raw.providers.keys().map(String::as_str);
    for name in raw.market_weights.keys() {
        if !raw.providers.contains_key(name) {
            return Err(ConfigError::invalid(
                path,
                format!("market_weights.{name}"),
                format!(
                    "unknown provider `{name}`: allowed are the providers defined under [providers]: {}",
                    checks::allowed(provider_names())
                ),
            ));
        }
    }
    for name in raw.providers.keys() {
        if !raw.market_weights.contains_key(name) {
            return Err(ConfigError::invalid(
                path,
                "market_weights",
                format!("provider `{name}` has no market weight: give every provider a weight"),
            ));
        }
    }
    checks::weights(path, "market_weights", &raw.market_weights)?;

    let mut providers = Vec::new();
    let mut models: Vec<Model> = Vec::new();
    for (p_index, (p_name, p)) in raw.providers.iter().enumerate() {
        if p.models.is_empty() {
            return Err(ConfigError::invalid(
                path,
                format!("providers.{p_name}.models"),
                "must list at least one model",
            ));
        }
        let billing = billing(path, p_name, p.billing.as_ref())?;
        let mut indices = Vec::new();
        for m_name in &p.models {
            if models.iter().any(|m| &m.name == m_name) {
                return Err(ConfigError::invalid(
                    path,
                    format!("providers.{p_name}.models"),
                    format!("model `{m_name}` is listed twice: a model belongs to exactly one provider"),
                ));
            }
            let price = raw.prices.get(m_name).ok_or_else(|| {
                ConfigError::invalid(
                    path,
                    format!("providers.{p_name}.models"),
                    format!(
                        "model `{m_name}` has no price: add `\"{m_name}\" = {{ input = …, output = … }}` under [prices]"
                    ),
                )
            })?;
            let optional = [("cache_read", price.cache_read), ("cache_write", price.cache_write)];
            let priced = [("input", Some(price.input)), ("output", Some(price.output))];
            for (side, value) in priced.into_iter().chain(optional) {
                if let Some(value) = value {
                    checks::in_range(path, &format!("prices.\"{m_name}\".{side}"), value, 0.0, 1000.0)?;
                }
            }
            let multiplier = raw.latency_multipliers.get(m_name).copied().unwrap_or(1.0);
            checks::in_range(
                path,
                &format!("latency_multipliers.\"{m_name}\""),
                multiplier,
                0.01,
                100.0,
            )?;
            indices.push(models.len());
            models.push(Model {
                name: m_name.clone(),
                provider: p_index,
                input_per_1k: price.input,
                output_per_1k: price.output,
                cache_read_per_1k: price.cache_read,
                cache_write_per_1k: price.cache_write,
                latency_multiplier: multiplier,
                publisher: raw
                    .publishers
                    .get(m_name)
                    .cloned()
                    .unwrap_or_else(|| billing.provider_name.clone()),
                quality: raw.quality.get(m_name).copied(),
            });
        }
        providers.push(Provider {
            name: p_name.clone(),
            market_weight: raw.market_weights[p_name],
            regions: p.regions.clone(),
            models: indices,
            billing,
        });
    }
    for (name, score) in &raw.quality {
        checks::in_range(path, &format!("quality.\"{name}\""), *score, 0.0, 1e6)?;
    }
    let listed = || models.iter().map(|m| m.name.as_str());
    for (table, names) in [
        ("prices", raw.prices.keys().collect::<Vec<_>>()),
        ("latency_multipliers", raw.latency_multipliers.keys().collect()),
        ("publishers", raw.publishers.keys().collect()),
        ("quality", raw.quality.keys().collect()),
    ] {
        for name in names {
            if !listed().any(|m| m == name) {
                return Err(ConfigError::invalid(
                    path,
                    format!("{table}.\"{name}\""),
                    format!(
                        "unknown model `{name}`: allowed are the models listed under [providers]: {}",
                        checks::allowed(listed())
                    ),
                ));
            }
        }
    }
    Ok(Catalogue { providers, models })
}

/// A provider's names on a bill, each the provider's key unless given (and never empty).
fn billing(path: &Path, provider: &str, raw: Option<&RawBilling>) -> Result<Billing, ConfigError> {
    let name = |key: &str, value: Option<&String>| -> Result<String, ConfigError> {
        match value {
            Some(v) if v.trim().is_empty() => Err(ConfigError::invalid(
                path,
                format!("providers.{provider}.billing.{key}"),
                "must not be empty: leave it out to use the provider's key",
            )),
            Some(v) => Ok(v.clone()),
            None => Ok(provider.to_string()),
        }
    };
    Ok(Billing {
        provider_name: name("provider", raw.and_then(|b| b.provider.as_ref()))?,
        service_name: name("service", raw.and_then(|b| b.service.as_ref()))?,
        invoice_issuer_name: name("invoice_issuer", raw.and_then(|b| b.invoice_issuer.as_ref()))?,
    })
}
