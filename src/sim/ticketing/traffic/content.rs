//! The content of one attempt: tier, tickets, price, device, payment instrument, IP and the
//! rest of what does not depend on earlier attempts (that is resolved by `carry`). Its own
//! stream, so counting attempts never draws it.

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use super::{HOUR_MS, INSTRUMENT_KEY, TicketGenerator, fmix, round2, round4};
use crate::sim::rng::{SimRng, permute, pick, poisson};
use crate::sim::ticketing::attempt::{Attempt, PaymentStatus};
use crate::sim::ticketing::catalogue::STANDARD;
use crate::sim::ticketing::cohort::Cohort;
use crate::sim::ticketing::scenarios::{BurstKind, MAX_ABANDONMENT};
use crate::sim::ticketing::users::{User, user_key};

impl TicketGenerator<'_> {
    /// Everything about one attempt but what depends on earlier ones.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn content(
        &self,
        cohort: &Cohort,
        j: usize,
        user: &User,
        event: u32,
        t: i64,
        key: u64,
        r: &mut SimRng,
    ) -> Attempt {
        let cat = self.catalogue;
        let m = self.model;
        let persona = &cat.personas[user.persona];
        let day = cohort.local_day(self.start_ms, t);
        let shape = &cohort.days[day as usize];
        let attack = match cohort.bursts.get(j.wrapping_sub(1)).map(|b| &b.kind) {
            Some(BurstKind::Attack { pattern, success_rate }) => Some((*pattern, *success_rate, self.styles[*pattern])),
            _ => None,
        };
        let style = attack.map(|a| a.2);
        let ev = &cohort.events[event as usize];

        // What is bought.
        let tier = match style {
            Some(s) if s.cheap => STANDARD,
            _ => pick(&self.tier_cdfs[user.persona], r.random()),
        };
        let mean_tickets = persona.avg_tickets * shape.basket;
        let drawn = 1 + poisson(r, (mean_tickets - 1.0).max(0.0));
        let num_tickets = match style {
            Some(s) if s.cheap => 1,
            _ => drawn.min(m.orders.max_tickets),
        };
        let ab = cohort.scenario.variant(user_key(user.cohort, user.index), t);
        let u_dynamic: f64 = r.random();
        let u_range: f64 = r.random();
        let base = match shape.discount {
            Some([lo, hi]) => lo + (hi - lo) * u_range,
            None if u_dynamic < m.orders.dynamic_share => {
                let [lo, hi] = m.orders.dynamic_range;
                1.0 + lo + (hi - lo) * u_range
            }
            None => 1.0,
        };
        let price_multiplier = round4(base * ab.map_or(1.0, |v| v.0));
        let price_per_ticket = round2(ev.tier_price[tier] * price_multiplier);
        let sensitivity = persona.price_sensitivity * shape.sensitivity * m.orders.elasticity;
        let abandonment =
            (persona.cart_abandonment + sensitivity * (price_multiplier - 1.0)).clamp(0.0, MAX_ABANDONMENT) as f32;

        // How it is paid.
        let fraud_account = user.is_fraud_account;
        let u_wallet: f64 = r.random();
        let mut payment = pick(&self.payment_cdf, r.random()) as u8;
        if u_wallet < shape.wallet {
            payment = self.wallet;
        }
        let u_instrument: f64 = r.random();
        let second = fmix(user.id) < m.behaviour.second_instrument;
        let new_card = style.is_some_and(|s| s.new_card) || (fraud_account && !user.sleeper && attack.is_none());
        let instrument_slot = if new_card {
            key
        } else if second && u_instrument < 1.0 / 3.0 {
            (u64::from(user.cohort) << 40) ^ (u64::from(user.index) << 1) ^ 1
        } else {
            (u64::from(user.cohort) << 40) ^ (u64::from(user.index) << 1)
        };
        let instrument = permute(instrument_slot, INSTRUMENT_KEY ^ self.seed);

        // From where and what.
        let b = &m.behaviour;
        let u_device: f64 = r.random();
        let u_mobile: f64 = r.random();
        let u_other: f64 = r.random();
        let u_browser: f64 = r.random();
        let u_version: f64 = r.random();
        let u_geo: f64 = r.random();
        let u_country: f64 = r.random();
        let u_ip: u64 = r.random();
        let (switch, geo) = match (style, fraud_account && !user.sleeper) {
            (Some(s), _) if s.takeover => (1.0, 0.85),
            (Some(_), _) => (0.05, 0.1),
            (None, true) => (b.fraud_device_mismatch, b.fraud_geo_mismatch),
            (None, false) if fraud_account => (0.0, 0.0),
            (None, false) => (b.device_switch, b.travel),
        };
        let mut device = user.device;
        if u_mobile < shape.mobile && attack.is_none() {
            device = self.mobile;
        }
        if u_device < switch {
            device = pick(&self.device_cdf, u_other);
        }
        let (browser, browser_version) = if device == user.device && style.is_none_or(|s| !s.rotate_agent) {
            (user.browser, user.browser_version)
        } else {
            let browser = pick(&self.browser_cdfs[device], u_browser);
            let (lo, hi) = cat.browsers[browser].versions;
            (
                browser,
                lo + ((f64::from(hi - lo) + 1.0) * u_version).min(f64::from(hi - lo)) as u16,
            )
        };
        let (ip_country, ip) = if u_geo < geo {
            let cdf = if attack.is_some() || fraud_account {
                &self.attack_cdf
            } else {
                &self.home_cdf
            };
            let mut country = pick(cdf, u_country);
            if country == user.home_country {
                country = pick(&self.attack_cdf, u_country);
            }
            (country, u32::from(cat.countries[country].address(u_ip)))
        } else if style.is_some_and(|s| s.takeover) {
            (
                user.home_country,
                u32::from(cat.countries[user.home_country].address(u_ip)),
            )
        } else {
            (user.home_country, u32::from(user.home_ip))
        };
        let hour = ((t - self.start_ms) / HOUR_MS) as usize;
        let local_hour = self.local_hours[user.home_country][hour.min(self.local_hours[0].len() - 1)];
        let [night_from, night_to] = b.night_hours;
        let time_anomaly = (night_from..=night_to).contains(&local_hour);
        let new_account = i64::from(day) - i64::from(user.signup_day) < 7;

        // Ground truth.
        let (is_fraud, pattern, success_rate) = match attack {
            Some((p, success, _)) => (true, Some(p as u8), success),
            None if fraud_account => (true, self.everyday_patterns[user.persona], b.fraud_success),
            None => (false, None, 0.0),
        };

        // The decision service.
        let service = cohort.scenario.service(t);
        let s = &m.service;
        let z: f64 = StandardNormal.sample(r);
        let u_error: f64 = r.random();
        let latency = s.latency_median_ms * (s.latency_sigma * z).exp() * service.latency_multiplier;
        let (api_status, latency_ms) = if u_error < s.error_rate + service.error_rate {
            (503, (latency * 0.3).round().max(1.0) as u32)
        } else if u_error < s.error_rate + service.error_rate + s.timeout_rate + service.timeout_rate
            || latency >= f64::from(s.timeout_ms)
        {
            (504, s.timeout_ms)
        } else {
            (200, latency.round().max(1.0) as u32)
        };

        Attempt {
            timestamp_ms: t,
            key,
            cohort: user.cohort,
            user: user.index,
            event,
            persona: user.persona as u8,
            tier: tier as u8,
            num_tickets,
            price_multiplier,
            price_per_ticket,
            payment,
            instrument,
            device: device as u8,
            browser: browser as u8,
            browser_version,
            ip,
            ip_country: ip_country as u16,
            home_country: user.home_country as u16,
            device_mismatch: device != user.device,
            geo_mismatch: ip_country != user.home_country,
            time_anomaly,
            new_account,
            is_fraud,
            is_bot: user.is_bot || attack.is_some(),
            pattern,
            attack: attack.is_some(),
            success_rate: success_rate as f32,
            ab: ab.map(|v| v.1),
            abandonment,
            u_abandon: r.random(),
            u_outcome: r.random(),
            u_limit: r.random(),
            z_risk: StandardNormal.sample(r),
            latency_ms,
            api_status,
            velocity: 0,
            session: 0,
            risk: 0.0,
            status: PaymentStatus::Completed,
        }
    }
}
