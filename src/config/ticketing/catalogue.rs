//! Loads the ticketing catalogue (`config/ticketing/catalogue.toml`): categories, venues, name
//! templates, popularity classes, tiers, personas, fraud patterns and the audience.
//!
//! Every check names the file, the key and what is allowed, and runs before anything is generated,
//! so generation can index without failing.

mod audience;
mod names;
mod people;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::config::ConfigError;
use crate::config::checks;
use crate::sim::ticketing::catalogue::{
    Category, Popularity, PopularityClass, TIER_NAMES, TicketCatalogue, TierSpec, Venue,
};

/// Most seats a venue or an event may have.
const MAX_SEATS: i64 = 1_000_000;
/// Tolerance for "sums to at most 1".
const SUM_TOLERANCE: f64 = 1e-6;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    #[serde(default)]
    performers: Vec<String>,
    categories: BTreeMap<String, f64>,
    templates: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    placeholders: BTreeMap<String, Vec<String>>,
    venues: Vec<RawVenue>,
    popularity: RawPopularity,
    tiers: BTreeMap<String, RawTier>,
    personas: BTreeMap<String, people::RawPersona>,
    fraud_patterns: BTreeMap<String, people::RawPattern>,
    payment_methods: BTreeMap<String, f64>,
    devices: BTreeMap<String, f64>,
    browsers: BTreeMap<String, audience::RawBrowser>,
    countries: Vec<audience::RawCountry>,
    loyalty_tiers: Vec<people::RawWeighted>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVenue {
    name: String,
    city: String,
    /// i64 so that a negative capacity gets a range message, not a type error.
    capacity: i64,
    categories: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPopularity {
    alpha: f64,
    max_demand: f64,
    classes: Vec<RawClass>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClass {
    name: String,
    max_demand: Option<f64>,
    capacity: [i64; 2],
    prices: [f64; 3],
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    share: f64,
    #[serde(default)]
    benefits: Vec<String>,
}

/// A sum as a reader would write it: 1.1, not 1.0999999999999999.
fn tidy(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

/// Reads and validates a ticketing catalogue file.
pub fn load_ticket_catalogue(path: &Path) -> Result<TicketCatalogue, ConfigError> {
    let raw: RawCatalogue = checks::read_toml(path)?;
    build(path, raw)
}

fn build(path: &Path, raw: RawCatalogue) -> Result<TicketCatalogue, ConfigError> {
    checks::weights(path, "categories", &raw.categories)?;
    let category_names: Vec<&str> = raw.categories.keys().map(String::as_str).collect();
    let venues = venues(path, &raw.venues, &category_names)?;
    let placeholders = names::placeholders(path, &raw.placeholders, &raw.performers)?;
    let mut templates = names::templates(path, &raw.templates, &category_names, &placeholders)?;
    let mut categories = Vec::new();
    for (c, (name, weight)) in raw.categories.iter().enumerate() {
        let hosts: Vec<usize> = (0..venues.len())
            .filter(|&v| venues[v].categories.contains(&c))
            .collect();
        if hosts.is_empty() {
            return Err(ConfigError::invalid(
                path,
                format!("categories.{name}"),
                format!("no venue hosts `{name}` events: add \"{name}\" to the `categories` of a [[venues]] entry"),
            ));
        }
        categories.push(Category {
            name: name.clone(),
            weight: *weight,
            templates: std::mem::take(&mut templates[c]),
            venues: hosts,
        });
    }
    let popularity = popularity(path, &raw.popularity, &venues)?;
    let tiers = tiers(path, &raw.tiers)?;
    let loyalty_tiers = people::loyalty_tiers(path, &raw.loyalty_tiers)?;
    let personas = people::personas(path, &raw.personas, &loyalty_tiers)?;
    let fraud_patterns = people::fraud_patterns(path, &raw.fraud_patterns)?;
    let (payment_methods, devices) = audience::weighted_tables(path, &raw.payment_methods, &raw.devices)?;
    let browsers = audience::browsers(path, &raw.browsers, &devices)?;
    let countries = audience::countries(path, &raw.countries)?;
    Ok(TicketCatalogue {
        categories,
        venues,
        placeholders,
        popularity,
        tiers,
        personas,
        fraud_patterns,
        payment_methods,
        devices,
        browsers,
        countries,
        loyalty_tiers,
    })
}

fn venues(path: &Path, raw: &[RawVenue], categories: &[&str]) -> Result<Vec<Venue>, ConfigError> {
    if raw.is_empty() {
        return Err(ConfigError::invalid(path, "venues", "must list at least one venue"));
    }
    let mut venues: Vec<Venue> = Vec::new();
    for (i, v) in raw.iter().enumerate() {
        let key = format!("venues[{i}]");
        for (field, text) in [("name", &v.name), ("city", &v.city)] {
            if text.trim().is_empty() {
                return Err(ConfigError::invalid(
                    path,
                    format!("{key}.{field}"),
                    "must not be empty",
                ));
            }
        }
        if venues.iter().any(|w| w.name == v.name) {
            return Err(ConfigError::invalid(
                path,
                format!("{key}.name"),
                format!("venue `{}` is listed twice: give each venue one entry", v.name),
            ));
        }
        let capacity = checks::count(path, &format!("{key}.capacity"), v.capacity, 1, MAX_SEATS)?;
        if v.categories.is_empty() {
            return Err(ConfigError::invalid(
                path,
                format!("{key}.categories"),
                format!("venue `{}` hosts no category: list at least one", v.name),
            ));
        }
        let mut hosted = Vec::new();
        for name in &v.categories {
            let c = categories.iter().position(|c| c == name).ok_or_else(|| {
                ConfigError::invalid(
                    path,
                    format!("{key}.categories"),
                    format!(
                        "venue `{}`: unknown category `{name}`: allowed are the categories under [categories]: {}",
                        v.name,
                        checks::allowed(categories.iter().copied())
                    ),
                )
            })?;
            if !hosted.contains(&c) {
                hosted.push(c);
            }
        }
        venues.push(Venue {
            name: v.name.clone(),
            city: v.city.clone(),
            capacity,
            categories: hosted,
        });
    }
    Ok(venues)
}

fn popularity(path: &Path, raw: &RawPopularity, venues: &[Venue]) -> Result<Popularity, ConfigError> {
    checks::in_range(path, "popularity.alpha", raw.alpha, 0.1, 10.0)?;
    checks::in_range(path, "popularity.max_demand", raw.max_demand, 1.0, 1e9)?;
    if raw.classes.is_empty() {
        return Err(ConfigError::invalid(
            path,
            "popularity.classes",
            "must list at least one class ([[popularity.classes]])",
        ));
    }
    let last = raw.classes.len() - 1;
    let mut classes: Vec<PopularityClass> = Vec::new();
    let mut below = 1.0;
    for (i, c) in raw.classes.iter().enumerate() {
        let key = format!("popularity.classes[{i}]");
        if c.name.trim().is_empty() || classes.iter().any(|d| d.name == c.name) {
            return Err(ConfigError::invalid(
                path,
                format!("{key}.name"),
                format!("`{}` is not allowed: every class needs its own, non-empty name", c.name),
            ));
        }
        let max_demand = match (i == last, c.max_demand) {
            (true, None) => f64::INFINITY,
            (true, Some(_)) => {
                return Err(ConfigError::invalid(
                    path,
                    format!("{key}.max_demand"),
                    format!(
                        "class `{}` is the last, most popular class and takes every demand above the previous one: remove its max_demand",
                        c.name
                    ),
                ));
            }
            (false, None) => {
                return Err(ConfigError::invalid(
                    path,
                    format!("{key}.max_demand"),
                    format!(
                        "class `{}` needs a max_demand (only the last class is unbounded)",
                        c.name
                    ),
                ));
            }
            (false, Some(m)) => {
                if !(m.is_finite() && m > below && m < raw.max_demand) {
                    return Err(ConfigError::invalid(
                        path,
                        format!("{key}.max_demand"),
                        format!(
                            "{m} is not allowed: class thresholds must rise, each above {below} (the previous threshold, or the minimum demand 1) and below popularity.max_demand = {}",
                            raw.max_demand
                        ),
                    ));
                }
                below = m;
                m
            }
        };
        let capacity = checks::count_range(path, &format!("{key}.capacity"), c.capacity, 1, MAX_SEATS)?;
        for (t, price) in c.prices.iter().enumerate() {
            checks::in_range(
                path,
                &format!("{key}.prices[{t}] ({})", TIER_NAMES[t]),
                *price,
                0.0,
                1e6,
            )?;
        }
        let biggest = venues
            .iter()
            .max_by_key(|v| v.capacity)
            .expect("venues checked non-empty");
        if biggest.capacity < capacity.0 {
            return Err(ConfigError::invalid(
                path,
                format!("{key}.capacity"),
                format!(
                    "no venue holds a `{}` event of {} seats: the largest venue, {}, holds {}; add a bigger venue or lower the class's capacity",
                    c.name, capacity.0, biggest.name, biggest.capacity
                ),
            ));
        }
        classes.push(PopularityClass {
            name: c.name.clone(),
            max_demand,
            capacity,
            prices: c.prices,
        });
    }
    Ok(Popularity {
        alpha: raw.alpha,
        max_demand: raw.max_demand,
        classes,
    })
}

fn tiers(path: &Path, raw: &BTreeMap<String, RawTier>) -> Result<[TierSpec; 3], ConfigError> {
    for name in raw.keys() {
        if !TIER_NAMES.contains(&name.as_str()) {
            return Err(ConfigError::invalid(
                path,
                format!("tiers.{name}"),
                format!("unknown tier `{name}`: allowed are {}", checks::allowed(TIER_NAMES)),
            ));
        }
    }
    let mut out = Vec::new();
    for name in TIER_NAMES {
        let tier = raw.get(name).ok_or_else(|| {
            ConfigError::invalid(
                path,
                "tiers",
                format!("tier `{name}` is missing: define [tiers.{name}] with a share"),
            )
        })?;
        checks::positive(path, &format!("tiers.{name}.share"), tier.share, 1.0)?;
        out.push(TierSpec {
            name: name.to_string(),
            share: tier.share,
            benefits: tier.benefits.clone(),
        });
    }
    let sum: f64 = out.iter().map(|t| t.share).sum();
    if sum > 1.0 + SUM_TOLERANCE {
        return Err(ConfigError::invalid(
            path,
            "tiers",
            format!(
                "the tier shares sum to {} ({:.1}%): a tier split over 100% sells seats the event does not have; they must sum to at most 1",
                tidy(sum),
                sum * 100.0
            ),
        ));
    }
    Ok(out.try_into().expect("one entry per tier name"))
}
