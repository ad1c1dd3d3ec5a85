//! The mock's fraud rule: document 004's `POST /predict` contract — a transaction in,
//! `{fraud_score, is_fraud}` out, `is_fraud` when the score is at least 0.5 — scored from the
//! indicators the request carries, never from its ground truth (replay does not send it).
//!
//! The rule, so a user can predict every answer:
//!
//! ```text
//! fraud_score = clamp(0.55 · risk_score
//!                     + 0.15 · device_mismatch + 0.15 · geo_mismatch + 0.05 · time_anomaly
//!                     + 0.10 · min(velocity_1h / 10, 1), 0, 1)
//! is_fraud    = fraud_score ≥ 0.5
//! ```
//!
//! (booleans count 1 when true). A field the request lacks counts as 0 / false.

use serde::{Deserialize, Serialize};

/// The score at and above which the mock flags a transaction (the document's contract).
pub const FLAG_AT: f64 = 0.5;

/// The fields of a transaction the rule reads; the body may have more.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Transaction {
    pub transaction_id: Option<String>,
    /// RFC 3339; places the request in a degradation window.
    pub timestamp: Option<String>,
    pub risk_score: f64,
    pub velocity_1h: f64,
    pub device_mismatch: bool,
    pub geo_mismatch: bool,
    pub time_anomaly: bool,
}

/// The answer of `POST /predict`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub fraud_score: f64,
    pub is_fraud: bool,
}

/// Scores a transaction by the rule above.
pub fn score(t: &Transaction) -> Prediction {
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let raw = 0.55 * t.risk_score
        + 0.15 * flag(t.device_mismatch)
        + 0.15 * flag(t.geo_mismatch)
        + 0.05 * flag(t.time_anomaly)
        + 0.10 * (t.velocity_1h / 10.0).clamp(0.0, 1.0);
    // Rounded to 4 places, as a service's JSON would carry it.
    let fraud_score = (raw.clamp(0.0, 1.0) * 1e4).round() / 1e4;
    Prediction {
        fraud_score,
        is_fraud: fraud_score >= FLAG_AT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_weighs_the_indicators() {
        let clean = Transaction::default();
        assert_eq!(
            score(&clean),
            Prediction {
                fraud_score: 0.0,
                is_fraud: false
            }
        );
        let risky = Transaction {
            risk_score: 0.6,
            device_mismatch: true,
            geo_mismatch: true,
            ..Transaction::default()
        };
        // 0.33 + 0.15 + 0.15 = 0.63
        assert_eq!(
            score(&risky),
            Prediction {
                fraud_score: 0.63,
                is_fraud: true
            }
        );
        let capped = Transaction {
            risk_score: 1.0,
            velocity_1h: 50.0,
            device_mismatch: true,
            geo_mismatch: true,
            time_anomaly: true,
            ..Transaction::default()
        };
        assert_eq!(score(&capped).fraud_score, 1.0);
    }

    #[test]
    fn the_contract_reads_a_replayed_body() {
        let body = r#"{"transaction_id":"txn_1","timestamp":"2025-11-03T10:00:00.000Z","risk_score":0.2,
            "velocity_1h":5,"device_mismatch":false,"geo_mismatch":true,"time_anomaly":false,"user_id":"usr_1"}"#;
        let t: Transaction = serde_json::from_str(body).unwrap();
        // 0.11 + 0.15 + 0.05
        assert_eq!(
            score(&t),
            Prediction {
                fraud_score: 0.31,
                is_fraud: false
            }
        );
    }
}
