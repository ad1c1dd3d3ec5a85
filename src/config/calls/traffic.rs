//! Loads `traffic.toml`: the base traffic model's population and call parameters.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::config::ConfigError;
use crate::config::checks;
use crate::sim::calls::model::{
    Archetype, Calendar, Feature, Latency, Product, PromptCaching, Status, TaskType, Tier, TimeZoneShare, TokenLimits,
    TrafficModel, TrafficProfile,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTraffic {
    tiers: BTreeMap<String, f64>,
    archetypes: BTreeMap<String, RawArchetype>,
    calendar: RawCalendar,
    timezones: Vec<RawTimeZone>,
    organizations: RawOrganizations,
    products: BTreeMap<String, RawProduct>,
    features: BTreeMap<String, RawFeature>,
    tasks: BTreeMap<String, RawTask>,
    token_limits: RawTokenLimits,
    environments: BTreeMap<String, f64>,
    statuses: BTreeMap<String, f64>,
    user_agents: BTreeMap<String, f64>,
    providers: RawProviderChoice,
    latency: RawLatency,
    #[serde(default)]
    profiles: BTreeMap<String, RawProfile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    description: String,
    /// Task type → its prompt caching under this profile.
    #[serde(default)]
    caching: BTreeMap<String, RawCaching>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCaching {
    calls: f64,
    read_share: [f64; 2],
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArchetype {
    weight: f64,
    calls_per_day: [f64; 2],
    tiers: BTreeMap<String, f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    business_hours: [i64; 2],
    business_share: f64,
    weekend_factor: f64,
    daily_noise: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeZone {
    name: String,
    weight: f64,
    geo: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrganizations {
    count: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProduct {
    weight: f64,
    features: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeature {
    task: String,
    weight: f64,
    adoption: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    input_tokens: [f64; 3],
    output_ratio: [f64; 2],
    #[serde(default)]
    caching: Option<RawCaching>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTokenLimits {
    input: [i64; 2],
    output: [i64; 2],
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProviderChoice {
    loyalty: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLatency {
    ms_per_token: f64,
    jitter: [f64; 2],
    timeout_ms: i64,
}

/// Largest number of calls a customer may be configured to make per day.
const MAX_CALLS_PER_DAY: f64 = 100_000.0;

/// Reads and validates a traffic model file.
pub fn load_traffic(path: &Path) -> Result<TrafficModel, ConfigError> {
    let raw: RawTraffic = checks::read_toml(path)?;
    build(path, raw)
}

fn build(path: &Path, raw: RawTraffic) -> Result<TrafficModel, ConfigError> {
    let p = path;
    // Tiers and their prices.
    if raw.tiers.is_empty() {
        return Err(ConfigError::invalid(p, "tiers", "must define at least one tier"));
    }
    let mut tiers = Vec::new();
    for (name, price) in &raw.tiers {
        checks::in_range(p, &format!("tiers.{name}"), *price, 0.0, 1e9)?;
        tiers.push(Tier {
            name: name.clone(),
            monthly_price_usd: *price,
        });
    }
    let tier_names = || tiers.iter().map(|t| t.name.as_str());

    // Archetypes.
    let archetype_weights = raw.archetypes.iter().map(|(k, a)| (k.clone(), a.weight)).collect();
    checks::weights(p, "archetypes (weight)", &archetype_weights)?;
    let mut archetypes = Vec::new();
    for (name, a) in &raw.archetypes {
        let key = format!("archetypes.{name}");
        let calls = checks::range_pair(
            p,
            &format!("{key}.calls_per_day"),
            a.calls_per_day,
            0.0,
            MAX_CALLS_PER_DAY,
        )?;
        for tier in a.tiers.keys() {
            if !raw.tiers.contains_key(tier) {
                return Err(ConfigError::invalid(
                    p,
                    format!("{key}.tiers.{tier}"),
                    format!("unknown tier `{tier}`: allowed are {}", checks::allowed(tier_names())),
                ));
            }
        }
        checks::weights(p, &format!("{key}.tiers"), &a.tiers)?;
        archetypes.push(Archetype {
            name: name.clone(),
            weight: a.weight,
            calls_per_day: calls,
            tier_weights: tiers
                .iter()
                .map(|t| a.tiers.get(&t.name).copied().unwrap_or(0.0))
                .collect(),
        });
    }

    // Calendar.
    let c = &raw.calendar;
    let start = checks::count(p, "calendar.business_hours[0]", c.business_hours[0], 0, 23)?;
    let end = checks::count(p, "calendar.business_hours[1]", c.business_hours[1], 1, 24)?;
    if start >= end || end - start == 24 {
        return Err(ConfigError::invalid(
            p,
            "calendar.business_hours",
            format!("[{start}, {end}] is not allowed: [start, end) with 0 <= start < end <= 24, not the whole day"),
        ));
    }
    checks::in_range(p, "calendar.business_share", c.business_share, 0.0, 1.0)?;
    checks::in_range(p, "calendar.weekend_factor", c.weekend_factor, 0.0, 10.0)?;
    checks::in_range(p, "calendar.daily_noise", c.daily_noise, 0.0, 2.0)?;
    let calendar = Calendar {
        business_hours: (start, end),
        business_share: c.business_share,
        weekend_factor: c.weekend_factor,
        daily_noise: c.daily_noise,
    };

    // Time zones.
    let mut tz_weights = BTreeMap::new();
    let mut timezones = Vec::new();
    for (i, tz) in raw.timezones.iter().enumerate() {
        let parsed: chrono_tz::Tz = tz.name.parse().map_err(|_| {
            ConfigError::invalid(
                p,
                format!("timezones[{i}].name"),
                format!(
                    "unknown time zone `{}`: use an IANA name such as \"Europe/Paris\"",
                    tz.name
                ),
            )
        })?;
        if tz_weights.insert(tz.name.clone(), tz.weight).is_some() {
            return Err(ConfigError::invalid(
                p,
                format!("timezones[{i}].name"),
                format!("time zone `{}` is listed twice", tz.name),
            ));
        }
        timezones.push(TimeZoneShare {
            tz: parsed,
            weight: tz.weight,
            geo: tz.geo.clone(),
        });
    }
    checks::weights(p, "timezones (weight)", &tz_weights)?;

    let organizations = checks::count(p, "organizations.count", raw.organizations.count, 1, 999_999)?;

    // Tasks, features, products.
    let limits = TokenLimits {
        input: token_pair(p, "token_limits.input", raw.token_limits.input)?,
        output: token_pair(p, "token_limits.output", raw.token_limits.output)?,
    };
    if raw.tasks.is_empty() {
        return Err(ConfigError::invalid(p, "tasks", "must define at least one task type"));
    }
    let mut tasks = Vec::new();
    for (name, t) in &raw.tasks {
        let key = format!("tasks.{name}");
        let [lo, mode, hi] = t.input_tokens;
        let (min, max) = (f64::from(limits.input.0), f64::from(limits.input.1));
        if !(lo.is_finite() && mode.is_finite() && hi.is_finite())
            || lo < min
            || hi > max
            || lo > mode
            || mode > hi
            || lo >= hi
        {
            return Err(ConfigError::invalid(
                p,
                format!("{key}.input_tokens"),
                format!(
                    "[{lo}, {mode}, {hi}] is not allowed: [min, mode, max] with {min} <= min <= mode <= max <= {max} and min < max"
                ),
            ));
        }
        let ratio = checks::range_pair(p, &format!("{key}.output_ratio"), t.output_ratio, 0.0, 100.0)?;
        let caching = match &t.caching {
            Some(c) => caching(p, &format!("{key}.caching"), c)?,
            None => PromptCaching::default(),
        };
        tasks.push(TaskType {
            name: name.clone(),
            input_tokens: (lo, mode, hi),
            output_ratio: ratio,
            caching,
        });
    }
    let task_names = || tasks.iter().map(|t| t.name.as_str());
    let mut profiles = Vec::new();
    for (name, raw) in &raw.profiles {
        let mut cached = Vec::new();
        for (task, c) in &raw.caching {
            let key = format!("profiles.{name}.caching.{task}");
            let index = tasks.iter().position(|t| &t.name == task).ok_or_else(|| {
                ConfigError::invalid(
                    p,
                    key.clone(),
                    format!(
                        "unknown task type `{task}`: allowed are {}",
                        checks::allowed(task_names())
                    ),
                )
            })?;
            cached.push((index, caching(p, &key, c)?));
        }
        profiles.push(TrafficProfile {
            name: name.clone(),
            description: raw.description.clone(),
            caching: cached,
        });
    }
    let mut features = Vec::new();
    for (name, f) in &raw.features {
        let key = format!("features.{name}");
        let task = tasks.iter().position(|t| t.name == f.task).ok_or_else(|| {
            ConfigError::invalid(
                p,
                format!("{key}.task"),
                format!(
                    "unknown task type `{}`: allowed are {}",
                    f.task,
                    checks::allowed(task_names())
                ),
            )
        })?;
        checks::in_range(p, &format!("{key}.weight"), f.weight, 0.0, 1e6)?;
        checks::in_range(p, &format!("{key}.adoption"), f.adoption, 0.0, 1.0)?;
        features.push(Feature {
            id: name.clone(),
            task,
            weight: f.weight,
            adoption: f.adoption,
        });
    }
    let product_weights = raw.products.iter().map(|(k, v)| (k.clone(), v.weight)).collect();
    checks::weights(p, "products (weight)", &product_weights)?;
    let mut products = Vec::new();
    for (name, prod) in &raw.products {
        let key = format!("products.{name}.features");
        if prod.features.is_empty() {
            return Err(ConfigError::invalid(p, key, "must list at least one feature"));
        }
        let mut idx = Vec::new();
        for f in &prod.features {
            let i = features.iter().position(|x| &x.id == f).ok_or_else(|| {
                ConfigError::invalid(
                    p,
                    key.clone(),
                    format!(
                        "unknown feature `{f}`: allowed are the features defined under [features]: {}",
                        checks::allowed(features.iter().map(|x| x.id.as_str()))
                    ),
                )
            })?;
            if features[i].weight <= 0.0 {
                return Err(ConfigError::invalid(
                    p,
                    format!("features.{f}.weight"),
                    "must be above 0 for a feature a product offers",
                ));
            }
            idx.push(i);
        }
        products.push(Product {
            id: name.clone(),
            weight: prod.weight,
            features: idx,
        });
    }

    checks::weights(p, "environments", &raw.environments)?;
    checks::weights(p, "statuses", &raw.statuses)?;
    let mut statuses = Vec::new();
    for (name, w) in &raw.statuses {
        let status = Status::parse(name).ok_or_else(|| {
            ConfigError::invalid(
                p,
                format!("statuses.{name}"),
                format!(
                    "unknown status `{name}`: allowed are {}",
                    checks::allowed(Status::ALL.iter().map(|s| s.as_str()))
                ),
            )
        })?;
        statuses.push((status, *w));
    }
    checks::weights(p, "user_agents", &raw.user_agents)?;
    checks::in_range(p, "providers.loyalty", raw.providers.loyalty, 0.0, 1.0)?;

    let l = &raw.latency;
    checks::in_range(p, "latency.ms_per_token", l.ms_per_token, 0.0, 1000.0)?;
    let jitter = checks::range_pair(p, "latency.jitter", l.jitter, 0.0, 100.0)?;
    let timeout_ms = checks::count(p, "latency.timeout_ms", l.timeout_ms, 1, 3_600_000)?;

    Ok(TrafficModel {
        tiers,
        archetypes,
        timezones,
        organizations,
        products,
        features,
        tasks,
        environments: raw.environments.into_iter().collect(),
        statuses,
        user_agents: raw.user_agents.into_iter().collect(),
        calendar,
        provider_loyalty: raw.providers.loyalty,
        latency: Latency {
            ms_per_token: l.ms_per_token,
            jitter,
            timeout_ms,
        },
        token_limits: limits,
        profiles,
    })
}

/// A task's prompt caching: a share of calls, and a range of the prompt's share read.
fn caching(p: &Path, key: &str, c: &RawCaching) -> Result<PromptCaching, ConfigError> {
    checks::in_range(p, &format!("{key}.calls"), c.calls, 0.0, 1.0)?;
    let read_share = checks::range_pair(p, &format!("{key}.read_share"), c.read_share, 0.0, 1.0)?;
    Ok(PromptCaching {
        calls: c.calls,
        read_share,
    })
}

fn token_pair(p: &Path, key: &str, pair: [i64; 2]) -> Result<(u32, u32), ConfigError> {
    let lo = checks::count(p, &format!("{key}[0]"), pair[0], 1, 10_000_000)?;
    let hi = checks::count(p, &format!("{key}[1]"), pair[1], 1, 10_000_000)?;
    if lo > hi {
        return Err(ConfigError::invalid(
            p,
            key,
            format!("[{lo}, {hi}] is not allowed: [min, max] with min <= max"),
        ));
    }
    Ok((lo, hi))
}
