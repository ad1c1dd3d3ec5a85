//! The audience: payment methods, devices, browsers (with user-agent templates) and countries.

use std::collections::BTreeMap;
use std::path::Path;

use chrono_tz::Tz;
use serde::Deserialize;

use crate::config::ConfigError;
use crate::config::checks;
use crate::sim::ticketing::catalogue::{Browser, Country, IpBlock, Weighted};

/// Placeholders a user-agent template may use.
const UA_PLACEHOLDERS: [&str; 2] = ["version", "chromium"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBrowser {
    weight: f64,
    versions: [i64; 2],
    #[serde(default)]
    chromium_offset: i64,
    user_agents: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCountry {
    code: String,
    name: String,
    home_share: f64,
    #[serde(default)]
    attack_share: f64,
    cities: Vec<String>,
    time_zone: String,
    ip_blocks: Vec<String>,
}

/// Payment methods and devices: plain weight tables.
pub(super) fn weighted_tables(
    path: &Path,
    payment_methods: &BTreeMap<String, f64>,
    devices: &BTreeMap<String, f64>,
) -> Result<(Vec<Weighted>, Vec<Weighted>), ConfigError> {
    checks::weights(path, "payment_methods", payment_methods)?;
    checks::weights(path, "devices", devices)?;
    let list = |t: &BTreeMap<String, f64>| {
        t.iter()
            .map(|(name, &weight)| Weighted {
                name: name.clone(),
                weight,
            })
            .collect()
    };
    Ok((list(payment_methods), list(devices)))
}

pub(super) fn browsers(
    path: &Path,
    raw: &BTreeMap<String, RawBrowser>,
    devices: &[Weighted],
) -> Result<Vec<Browser>, ConfigError> {
    let weights: BTreeMap<String, f64> = raw.iter().map(|(n, b)| (n.clone(), b.weight)).collect();
    checks::weights(path, "browsers", &weights)?;
    let device_names = || devices.iter().map(|d| d.name.as_str());
    let mut out = Vec::new();
    for (name, b) in raw {
        let key = |field: &str| format!("browsers.\"{name}\".{field}");
        let (lo, hi) = checks::count_range(path, &key("versions"), b.versions, 1, 999)?;
        let offset = checks::count(path, &key("chromium_offset"), b.chromium_offset, 0, 999)?;
        if b.user_agents.is_empty() {
            return Err(ConfigError::invalid(
                path,
                key("user_agents"),
                format!(
                    "must give a user-agent template for at least one device: {}",
                    checks::allowed(device_names())
                ),
            ));
        }
        let mut user_agents = vec![None; devices.len()];
        for (device, template) in &b.user_agents {
            let d = devices.iter().position(|x| &x.name == device).ok_or_else(|| {
                ConfigError::invalid(
                    path,
                    key("user_agents"),
                    format!(
                        "unknown device `{device}`: allowed are the devices under [devices]: {}",
                        checks::allowed(device_names())
                    ),
                )
            })?;
            check_user_agent(template)
                .map_err(|m| ConfigError::invalid(path, format!("{}.{device}", key("user_agents")), m))?;
            user_agents[d] = Some(template.clone());
        }
        out.push(Browser {
            name: name.clone(),
            weight: b.weight,
            versions: (lo as u16, hi as u16),
            chromium_offset: offset as u16,
            user_agents,
        });
    }
    for (d, device) in devices.iter().enumerate() {
        if device.weight > 0.0 && !out.iter().any(|b| b.weight > 0.0 && b.user_agents[d].is_some()) {
            return Err(ConfigError::invalid(
                path,
                "browsers",
                format!(
                    "no browser with a weight above 0 has a user agent for device `{}`: add `{} = \"…\"` to the user_agents of one",
                    device.name, device.name
                ),
            ));
        }
    }
    Ok(out)
}

/// A user-agent template uses only `{version}` and `{chromium}`.
fn check_user_agent(template: &str) -> Result<(), String> {
    let mut rest = template;
    while let Some(o) = rest.find('{') {
        let c = rest[o..]
            .find('}')
            .map(|c| o + c)
            .ok_or_else(|| format!("unclosed `{{` in `{}`", &rest[o..]))?;
        let name = &rest[o + 1..c];
        if !UA_PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder `{{{name}}}`: allowed are {{version}} and {{chromium}}"
            ));
        }
        rest = &rest[c + 1..];
    }
    if template.trim().is_empty() {
        return Err("must not be empty".to_string());
    }
    Ok(())
}

pub(super) fn countries(path: &Path, raw: &[RawCountry]) -> Result<Vec<Country>, ConfigError> {
    if raw.is_empty() {
        return Err(ConfigError::invalid(
            path,
            "countries",
            "must list at least one country",
        ));
    }
    let mut out: Vec<Country> = Vec::new();
    for (i, c) in raw.iter().enumerate() {
        let key = |field: &str| format!("countries[{i}].{field}");
        let code_ok = c.code.len() == 2 && c.code.bytes().all(|b| b.is_ascii_uppercase());
        if !code_ok || out.iter().any(|o| o.code == c.code) {
            return Err(ConfigError::invalid(
                path,
                key("code"),
                format!(
                    "`{}` is not allowed: a two-letter ISO 3166 code in capitals, once per country",
                    c.code
                ),
            ));
        }
        if c.name.trim().is_empty() {
            return Err(ConfigError::invalid(path, key("name"), "must not be empty"));
        }
        checks::in_range(path, &key("home_share"), c.home_share, 0.0, 1.0)?;
        checks::in_range(path, &key("attack_share"), c.attack_share, 0.0, 1.0)?;
        if c.cities.is_empty() || c.cities.iter().any(|x| x.trim().is_empty()) {
            return Err(ConfigError::invalid(
                path,
                key("cities"),
                format!("{}: must list at least one city, and no empty one", c.code),
            ));
        }
        let tz: Tz = c.time_zone.parse().map_err(|_| {
            ConfigError::invalid(
                path,
                key("time_zone"),
                format!(
                    "{}: unknown time zone `{}`: use an IANA name such as Asia/Riyadh",
                    c.code, c.time_zone
                ),
            )
        })?;
        if c.ip_blocks.is_empty() {
            return Err(ConfigError::invalid(
                path,
                key("ip_blocks"),
                format!("{}: must list at least one CIDR block such as 188.48.0.0/13", c.code),
            ));
        }
        let mut ip_blocks = Vec::new();
        for text in &c.ip_blocks {
            let block: IpBlock = text.parse().map_err(|m| {
                ConfigError::invalid(
                    path,
                    key("ip_blocks"),
                    format!("{}: `{text}` is not a CIDR block: {m}", c.code),
                )
            })?;
            ip_blocks.push(block);
        }
        out.push(Country {
            code: c.code.clone(),
            name: c.name.clone(),
            home_share: c.home_share,
            attack_share: c.attack_share,
            cities: c.cities.clone(),
            tz,
            ip_blocks,
        });
    }
    for (field, share) in [
        ("home_share", (|c: &Country| c.home_share) as fn(&Country) -> f64),
        ("attack_share", |c: &Country| c.attack_share),
    ] {
        let table: BTreeMap<String, f64> = out.iter().map(|c| (c.code.clone(), share(c))).collect();
        checks::weights(path, &format!("countries.{field}"), &table)?;
    }
    Ok(out)
}
