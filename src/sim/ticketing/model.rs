//! The ticketing traffic model: how the platform's day, an event's sale and a visit look, what
//! buyers do, how fraud shows, how the platform scores risk and how its decision service answers.
//! Plain data, loaded from `config/ticketing/model.toml`.

/// The platform's day (document 004's `TrafficPattern`, which its original never used): a base
/// rate, with the peak hours at `peak_multiplier` times it, in Asia/Riyadh local time.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyPattern {
    pub peak_hours: Vec<u8>,
    pub peak_multiplier: f64,
}

impl DailyPattern {
    /// Relative rate of each local hour, with a mean of 1 over the day.
    pub fn hour_factors(&self) -> [f64; 24] {
        let mut f = [1.0; 24];
        for &h in &self.peak_hours {
            f[usize::from(h)] = self.peak_multiplier;
        }
        let mean = f.iter().sum::<f64>() / 24.0;
        f.map(|x| x / mean)
    }
}

/// An event's demand over its sale: a rush when the general sale opens that decays, and a bump
/// before the event.
#[derive(Debug, Clone, PartialEq)]
pub struct SaleCurve {
    /// Extra demand at the general-sale opening, times the event's popularity.
    pub rush: f64,
    /// Decay time of the rush, hours.
    pub rush_hours: f64,
    /// Extra demand just before the event.
    pub bump: f64,
    pub bump_hours: f64,
    /// Demand during the presale (presale personas only), relative to the general sale's base.
    pub presale_weight: f64,
    /// An event's demand weight is capacity × demand index ^ this.
    pub demand_exponent: f64,
}

/// How one visit (a session's burst of attempts) unfolds.
#[derive(Debug, Clone, PartialEq)]
pub struct Visits {
    /// Seconds between a person's attempts in one visit, [low, high].
    pub human_gap_seconds: [f64; 2],
    /// Seconds between a bot's attempts.
    pub bot_gap_seconds: [f64; 2],
    /// Seconds between a person's attempts in a flash sale's rush (retrying, not browsing).
    pub rush_gap_seconds: [f64; 2],
    /// Most attempts in one visit.
    pub max_attempts: u32,
    /// A session ends after this much inactivity.
    pub session_gap_minutes: f64,
}

/// Orders and prices.
#[derive(Debug, Clone, PartialEq)]
pub struct Orders {
    /// Most tickets in one order.
    pub max_tickets: u32,
    /// Share of attempts with a dynamic price adjustment, and its range (document: 0.5, U(−0.15, 0.25)).
    pub dynamic_share: f64,
    pub dynamic_range: [f64; 2],
    /// Abandonment rises by price_sensitivity × elasticity × (multiplier − 1).
    pub elasticity: f64,
    /// Share of legitimate payments the bank declines.
    pub payment_failure: f64,
    /// Share of each tier's seats the presale may sell; the rest waits for the general sale.
    pub presale_allocation: f64,
}

/// How legitimate buyers and fraud look in the indicators.
#[derive(Debug, Clone, PartialEq)]
pub struct Behaviour {
    /// Share of a person's attempts on another device than their usual one.
    pub device_switch: f64,
    /// Share of a person's attempts from abroad (travel).
    pub travel: f64,
    /// Share of legitimate users with a second payment instrument, used in a third of attempts.
    pub second_instrument: f64,
    /// Fraud accounts that are not sleepers: share of attempts on another device, and from a
    /// foreign (attack-source) country.
    pub fraud_device_mismatch: f64,
    pub fraud_geo_mismatch: f64,
    /// Share of everyday fraud attempts (stolen cards) that get through.
    pub fraud_success: f64,
    /// Local hours counted as a time anomaly, [first, last] inclusive.
    pub night_hours: [u8; 2],
    /// Per persona (catalogue order): the fraud pattern (index into the catalogue's patterns) of
    /// its fraud accounts' everyday purchases.
    pub everyday_patterns: Vec<Option<u8>>,
}

/// The platform's own risk score: a logistic model of the indicators plus noise, so it ranks
/// fraud well but not perfectly.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskModel {
    pub intercept: f64,
    /// Per 10 attempts in the last hour (capped at 60).
    pub velocity: f64,
    pub device_mismatch: f64,
    pub geo_mismatch: f64,
    pub time_anomaly: f64,
    /// An account younger than a week.
    pub new_account: f64,
    /// Standard deviation of the noise on the logit.
    pub noise: f64,
    /// Fraud attempts at or above this score are blocked (the rest fail at the bank).
    pub block_threshold: f64,
    /// Legitimate attempts at or above this score are blocked too (false positives).
    pub legit_block_threshold: f64,
}

/// The platform's decision service, as the rows record it (`decision_latency_ms`, `api_status`).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceModel {
    /// Log-normal latency: median and sigma of its log.
    pub latency_median_ms: f64,
    pub latency_sigma: f64,
    /// A call that takes longer is a 504 recorded at this latency.
    pub timeout_ms: u32,
    /// Baseline share of 503 and 504 answers.
    pub error_rate: f64,
    pub timeout_rate: f64,
    /// Attempts of a user beyond this many in the last hour are rate limited (429) with
    /// probability `rate_limit_share`; a 429 fails the purchase.
    pub rate_limit_per_hour: u32,
    pub rate_limit_share: f64,
}

/// The whole ticketing traffic model.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketModel {
    pub daily: DailyPattern,
    pub sale_curve: SaleCurve,
    pub visits: Visits,
    pub orders: Orders,
    pub behaviour: Behaviour,
    pub risk: RiskModel,
    pub service: ServiceModel,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_factors_have_mean_one_and_the_peak_ratio() {
        let d = DailyPattern {
            peak_hours: vec![12, 13, 18, 19, 20],
            peak_multiplier: 10.0,
        };
        let f = d.hour_factors();
        assert!((f.iter().sum::<f64>() / 24.0 - 1.0).abs() < 1e-12);
        assert!((f[12] / f[3] - 10.0).abs() < 1e-12);
    }
}
