//! Loads the ticketing traffic model (`config/ticketing/model.toml`), checking every number's
//! range and every name against the catalogue.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::config::{ConfigError, checks};
use crate::sim::ticketing::catalogue::TicketCatalogue;
use crate::sim::ticketing::model::{
    Behaviour, DailyPattern, Orders, RiskModel, SaleCurve, ServiceModel, TicketModel, Visits,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    daily: RawDaily,
    sale_curve: RawSaleCurve,
    visits: RawVisits,
    orders: RawOrders,
    behaviour: RawBehaviour,
    risk: RawRisk,
    service: RawService,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDaily {
    peak_hours: Vec<i64>,
    peak_multiplier: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSaleCurve {
    rush: f64,
    rush_hours: f64,
    bump: f64,
    bump_hours: f64,
    presale_weight: f64,
    demand_exponent: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVisits {
    human_gap_seconds: [f64; 2],
    bot_gap_seconds: [f64; 2],
    rush_gap_seconds: [f64; 2],
    max_attempts: i64,
    session_gap_minutes: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrders {
    max_tickets: i64,
    dynamic_share: f64,
    dynamic_range: [f64; 2],
    elasticity: f64,
    payment_failure: f64,
    presale_allocation: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBehaviour {
    device_switch: f64,
    travel: f64,
    second_instrument: f64,
    fraud_device_mismatch: f64,
    fraud_geo_mismatch: f64,
    fraud_success: f64,
    night_hours: [i64; 2],
    #[serde(default)]
    everyday_patterns: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRisk {
    intercept: f64,
    velocity: f64,
    device_mismatch: f64,
    geo_mismatch: f64,
    time_anomaly: f64,
    new_account: f64,
    noise: f64,
    block_threshold: f64,
    legit_block_threshold: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    latency_median_ms: f64,
    latency_sigma: f64,
    timeout_ms: i64,
    error_rate: f64,
    timeout_rate: f64,
    rate_limit_per_hour: i64,
    rate_limit_share: f64,
}

/// Reads and validates a ticketing model file against its catalogue.
pub fn load_ticket_model(path: &Path, catalogue: &TicketCatalogue) -> Result<TicketModel, ConfigError> {
    let raw: RawModel = checks::read_toml(path)?;
    let p = path;
    let prob = |key: &str, v: f64| checks::in_range(p, key, v, 0.0, 1.0);

    let d = &raw.daily;
    for (i, h) in d.peak_hours.iter().enumerate() {
        checks::count(p, &format!("daily.peak_hours[{i}]"), *h, 0, 23)?;
    }
    checks::in_range(p, "daily.peak_multiplier", d.peak_multiplier, 0.0, 1000.0)?;

    let c = &raw.sale_curve;
    checks::in_range(p, "sale_curve.rush", c.rush, 0.0, 1000.0)?;
    checks::positive(p, "sale_curve.rush_hours", c.rush_hours, 10_000.0)?;
    checks::in_range(p, "sale_curve.bump", c.bump, 0.0, 1000.0)?;
    checks::positive(p, "sale_curve.bump_hours", c.bump_hours, 10_000.0)?;
    checks::in_range(p, "sale_curve.presale_weight", c.presale_weight, 0.0, 1000.0)?;
    checks::in_range(p, "sale_curve.demand_exponent", c.demand_exponent, 0.0, 4.0)?;

    let v = &raw.visits;
    let human = checks::range_pair(p, "visits.human_gap_seconds", v.human_gap_seconds, 0.0, 3600.0)?;
    let bot = checks::range_pair(p, "visits.bot_gap_seconds", v.bot_gap_seconds, 0.0, 3600.0)?;
    let rush = checks::range_pair(p, "visits.rush_gap_seconds", v.rush_gap_seconds, 0.0, 3600.0)?;
    let max_attempts = checks::count(p, "visits.max_attempts", v.max_attempts, 1, 255)?;
    checks::positive(p, "visits.session_gap_minutes", v.session_gap_minutes, 60.0)?;

    let o = &raw.orders;
    let max_tickets = checks::count(p, "orders.max_tickets", o.max_tickets, 1, 1000)?;
    prob("orders.dynamic_share", o.dynamic_share)?;
    let range = checks::range_pair(p, "orders.dynamic_range", o.dynamic_range, -0.99, 10.0)?;
    checks::in_range(p, "orders.elasticity", o.elasticity, 0.0, 100.0)?;
    prob("orders.payment_failure", o.payment_failure)?;
    prob("orders.presale_allocation", o.presale_allocation)?;

    let b = &raw.behaviour;
    for (key, value) in [
        ("device_switch", b.device_switch),
        ("travel", b.travel),
        ("second_instrument", b.second_instrument),
        ("fraud_device_mismatch", b.fraud_device_mismatch),
        ("fraud_geo_mismatch", b.fraud_geo_mismatch),
        ("fraud_success", b.fraud_success),
    ] {
        prob(&format!("behaviour.{key}"), value)?;
    }
    let night_from = checks::count(p, "behaviour.night_hours[0]", b.night_hours[0], 0, 23)?;
    let night_to = checks::count(
        p,
        "behaviour.night_hours[1]",
        b.night_hours[1],
        i64::from(night_from),
        23,
    )?;
    let mut everyday_patterns = vec![None; catalogue.personas.len()];
    for (persona, pattern) in &b.everyday_patterns {
        let key = format!("behaviour.everyday_patterns.{persona}");
        let pi = catalogue.persona_index(persona).ok_or_else(|| {
            ConfigError::invalid(
                p,
                &key,
                format!(
                    "unknown persona `{persona}`: allowed are {}",
                    checks::allowed(catalogue.personas.iter().map(|x| x.name.as_str()))
                ),
            )
        })?;
        let fi = catalogue.pattern_index(pattern).ok_or_else(|| {
            ConfigError::invalid(
                p,
                &key,
                format!(
                    "unknown fraud pattern `{pattern}`: allowed are {}",
                    checks::allowed(catalogue.fraud_patterns.iter().map(|x| x.name.as_str()))
                ),
            )
        })?;
        everyday_patterns[pi] = Some(fi as u8);
    }

    let r = &raw.risk;
    for (key, value) in [
        ("intercept", r.intercept),
        ("velocity", r.velocity),
        ("device_mismatch", r.device_mismatch),
        ("geo_mismatch", r.geo_mismatch),
        ("time_anomaly", r.time_anomaly),
        ("new_account", r.new_account),
    ] {
        checks::in_range(p, &format!("risk.{key}"), value, -50.0, 50.0)?;
    }
    checks::in_range(p, "risk.noise", r.noise, 0.0, 50.0)?;
    prob("risk.block_threshold", r.block_threshold)?;
    prob("risk.legit_block_threshold", r.legit_block_threshold)?;

    let s = &raw.service;
    checks::positive(p, "service.latency_median_ms", s.latency_median_ms, 600_000.0)?;
    checks::in_range(p, "service.latency_sigma", s.latency_sigma, 0.0, 5.0)?;
    let timeout_ms = checks::count(p, "service.timeout_ms", s.timeout_ms, 1, 600_000)?;
    prob("service.error_rate", s.error_rate)?;
    prob("service.timeout_rate", s.timeout_rate)?;
    let rate_limit_per_hour = checks::count(p, "service.rate_limit_per_hour", s.rate_limit_per_hour, 1, 1_000_000)?;
    prob("service.rate_limit_share", s.rate_limit_share)?;

    Ok(TicketModel {
        daily: DailyPattern {
            peak_hours: d.peak_hours.iter().map(|&h| h as u8).collect(),
            peak_multiplier: d.peak_multiplier,
        },
        sale_curve: SaleCurve {
            rush: c.rush,
            rush_hours: c.rush_hours,
            bump: c.bump,
            bump_hours: c.bump_hours,
            presale_weight: c.presale_weight,
            demand_exponent: c.demand_exponent,
        },
        visits: Visits {
            human_gap_seconds: [human.0, human.1],
            bot_gap_seconds: [bot.0, bot.1],
            rush_gap_seconds: [rush.0, rush.1],
            max_attempts,
            session_gap_minutes: v.session_gap_minutes,
        },
        orders: Orders {
            max_tickets,
            dynamic_share: o.dynamic_share,
            dynamic_range: [range.0, range.1],
            elasticity: o.elasticity,
            payment_failure: o.payment_failure,
            presale_allocation: o.presale_allocation,
        },
        behaviour: Behaviour {
            device_switch: b.device_switch,
            travel: b.travel,
            second_instrument: b.second_instrument,
            fraud_device_mismatch: b.fraud_device_mismatch,
            fraud_geo_mismatch: b.fraud_geo_mismatch,
            fraud_success: b.fraud_success,
            night_hours: [night_from as u8, night_to as u8],
            everyday_patterns,
        },
        risk: RiskModel {
            intercept: r.intercept,
            velocity: r.velocity,
            device_mismatch: r.device_mismatch,
            geo_mismatch: r.geo_mismatch,
            time_anomaly: r.time_anomaly,
            new_account: r.new_account,
            noise: r.noise,
            block_threshold: r.block_threshold,
            legit_block_threshold: r.legit_block_threshold,
        },
        service: ServiceModel {
            latency_median_ms: s.latency_median_ms,
            latency_sigma: s.latency_sigma,
            timeout_ms,
            error_rate: s.error_rate,
            timeout_rate: s.timeout_rate,
            rate_limit_per_hour,
            rate_limit_share: s.rate_limit_share,
        },
    })
}
