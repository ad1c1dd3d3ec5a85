//! Buyers: loyalty tiers, personas and the fraud patterns attackers follow.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{SUM_TOLERANCE, tidy};
use crate::config::ConfigError;
use crate::config::checks;
use crate::sim::ticketing::catalogue::{FraudPattern, Persona, Weighted};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPersona {
    share: f64,
    purchase_frequency: f64,
    price_sensitivity: f64,
    fraud_probability: f64,
    bot_likelihood: f64,
    cart_abandonment: f64,
    avg_tickets: f64,
    attempts_per_visit: f64,
    tier_preference: [f64; 3],
    presale: bool,
    loyalty: Option<Vec<f64>>,
    fraud_lifetime_days: Option<f64>,
    fraud_sleeper_share: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPattern {
    description: String,
    attack_rate: f64,
    success_rate: f64,
    #[serde(default)]
    characteristics: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWeighted {
    name: String,
    weight: f64,
}

pub(super) fn loyalty_tiers(path: &Path, raw: &[RawWeighted]) -> Result<Vec<Weighted>, ConfigError> {
    let mut table = BTreeMap::new();
    for (i, t) in raw.iter().enumerate() {
        if t.name.trim().is_empty() || table.contains_key(&t.name) {
            return Err(ConfigError::invalid(
                path,
                format!("loyalty_tiers[{i}].name"),
                format!("`{}` is not allowed: every tier needs its own, non-empty name", t.name),
            ));
        }
        table.insert(t.name.clone(), t.weight);
    }
    checks::weights(path, "loyalty_tiers", &table)?;
    Ok(raw
        .iter()
        .map(|t| Weighted {
            name: t.name.clone(),
            weight: t.weight,
        })
        .collect())
}

pub(super) fn personas(
    path: &Path,
    raw: &BTreeMap<String, RawPersona>,
    loyalty_tiers: &[Weighted],
) -> Result<Vec<Persona>, ConfigError> {
    let mut shares = BTreeMap::new();
    let mut out = Vec::new();
    for (name, p) in raw {
        let key = |field: &str| format!("personas.{name}.{field}");
        checks::in_range(path, &key("share"), p.share, 0.0, 1.0)?;
        shares.insert(name.clone(), p.share);
        checks::in_range(path, &key("purchase_frequency"), p.purchase_frequency, 0.0, 10_000.0)?;
        for (field, value) in [
            ("price_sensitivity", p.price_sensitivity),
            ("fraud_probability", p.fraud_probability),
            ("bot_likelihood", p.bot_likelihood),
            ("cart_abandonment", p.cart_abandonment),
        ] {
            checks::in_range(path, &key(field), value, 0.0, 1.0)?;
        }
        checks::in_range(path, &key("avg_tickets"), p.avg_tickets, 1.0, 100.0)?;
        checks::in_range(path, &key("attempts_per_visit"), p.attempts_per_visit, 1.0, 100.0)?;
        probabilities(
            path,
            &key("tier_preference"),
            &p.tier_preference,
            "P(VIP, Premium, Standard)",
        )?;
        let loyalty = match &p.loyalty {
            None => loyalty_tiers.iter().map(|t| t.weight).collect(),
            Some(row) => {
                if row.len() != loyalty_tiers.len() {
                    return Err(ConfigError::invalid(
                        path,
                        key("loyalty"),
                        format!(
                            "lists {} numbers: give one per loyalty tier, in order: {}",
                            row.len(),
                            checks::allowed(loyalty_tiers.iter().map(|t| t.name.as_str()))
                        ),
                    ));
                }
                probabilities(path, &key("loyalty"), row, "the loyalty tier probabilities")?;
                row.clone()
            }
        };
        let (lifetime, sleepers) = if p.fraud_probability > 0.0 {
            let needed = |field: &str, what: &str| {
                ConfigError::invalid(
                    path,
                    key(field),
                    format!("is required because fraud_probability is above 0: {what}"),
                )
            };
            let lifetime = p
                .fraud_lifetime_days
                .ok_or_else(|| needed("fraud_lifetime_days", "how many days a fraud account stays active"))?;
            checks::positive(path, &key("fraud_lifetime_days"), lifetime, 365.0)?;
            let sleepers = p
                .fraud_sleeper_share
                .ok_or_else(|| needed("fraud_sleeper_share", "the share of fraud accounts that look clean"))?;
            checks::in_range(path, &key("fraud_sleeper_share"), sleepers, 0.0, 1.0)?;
            (lifetime, sleepers)
        } else {
            (0.0, 0.0)
        };
        out.push(Persona {
            name: name.clone(),
            share: p.share,
            purchase_frequency: p.purchase_frequency,
            price_sensitivity: p.price_sensitivity,
            fraud_probability: p.fraud_probability,
            bot_likelihood: p.bot_likelihood,
            cart_abandonment: p.cart_abandonment,
            avg_tickets: p.avg_tickets,
            attempts_per_visit: p.attempts_per_visit,
            tier_preference: p.tier_preference,
            presale: p.presale,
            loyalty,
            fraud_lifetime_days: lifetime,
            fraud_sleeper_share: sleepers,
        });
    }
    checks::weights(path, "personas", &shares)?;
    Ok(out)
}

/// A row of probabilities, each from 0 to 1, summing to 1.
fn probabilities(path: &Path, key: &str, row: &[f64], what: &str) -> Result<(), ConfigError> {
    if row.iter().any(|p| !p.is_finite() || !(0.0..=1.0).contains(p)) {
        return Err(ConfigError::invalid(
            path,
            key,
            format!("{row:?} is not allowed: {what} are numbers from 0 to 1"),
        ));
    }
    let sum: f64 = row.iter().sum();
    if (sum - 1.0).abs() > SUM_TOLERANCE {
        return Err(ConfigError::invalid(
            path,
            key,
            format!("{row:?} sums to {}; {what} must sum to 1", tidy(sum)),
        ));
    }
    Ok(())
}

pub(super) fn fraud_patterns(
    path: &Path,
    raw: &BTreeMap<String, RawPattern>,
) -> Result<Vec<FraudPattern>, ConfigError> {
    let mut out = Vec::new();
    for (name, p) in raw {
        let key = |field: &str| format!("fraud_patterns.{name}.{field}");
        if p.description.trim().is_empty() {
            return Err(ConfigError::invalid(path, key("description"), "must not be empty"));
        }
        checks::positive(path, &key("attack_rate"), p.attack_rate, 1e6)?;
        checks::in_range(path, &key("success_rate"), p.success_rate, 0.0, 1.0)?;
        out.push(FraudPattern {
            name: name.clone(),
            description: p.description.clone(),
            attack_rate: p.attack_rate,
            success_rate: p.success_rate,
            characteristics: p.characteristics.clone(),
        });
    }
    Ok(out)
}
