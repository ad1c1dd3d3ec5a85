//! A fraud attack (document 004's fraud patterns): a burst of one pattern at its rate, mixed into
//! the cohort's legitimate traffic, so a detector meets it among clean rows.
//! - credential stuffing: stolen logins of the cohort's own users, from abroad, on new devices;
//! - card testing: fraud accounts buying one cheap ticket at a time, a new card each time;
//! - bot scalping: scalper bots buying the most wanted event in bulk.

use serde::{Deserialize, Serialize};

use super::{Active, Burst, BurstKind, CohortInfo, Effect, Env, LabelNames, parse_clock};
use crate::sim::label::Label;
use crate::sim::params::{self, Checked};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Attack {
    /// A pattern of the catalogue's `[fraud_patterns]`.
    pub pattern: String,
    /// Day of the attack (0 = the start date) and local start time, HH:MM.
    pub day: i64,
    pub start: String,
    pub seconds: f64,
    /// Attempts per second; the pattern's `attack_rate` when left out. Not scaled by the size
    /// target: the rate is what defines the attack.
    pub rate: Option<f64>,
    /// Share of the attempts that get past detection; the pattern's when left out.
    pub success_rate: Option<f64>,
}

impl Default for Attack {
    fn default() -> Self {
        Attack {
            pattern: "credential_stuffing".into(),
            day: 9,
            start: "02:30".into(),
            seconds: 120.0,
            rate: None,
            success_rate: None,
        }
    }
}

impl Effect for Attack {
    fn check(&self, env: &Env) -> Checked {
        params::one_of(
            "pattern",
            &self.pattern,
            env.catalogue.fraud_patterns.iter().map(|p| p.name.as_str()),
        )?;
        params::day("day", self.day, env.days)?;
        parse_clock("start", &self.start)?;
        params::number("seconds", self.seconds, 1.0, 86_400.0)?;
        if let Some(r) = self.rate {
            params::number("rate", r, 0.0, 1_000_000.0)?;
        }
        if let Some(s) = self.success_rate {
            params::number("success_rate", s, 0.0, 1.0)?;
        }
        Ok(())
    }

    fn compile(&self, env: &Env, _cohort: &CohortInfo) -> Box<dyn Active> {
        let pattern = env
            .catalogue
            .fraud_patterns
            .iter()
            .position(|p| p.name == self.pattern)
            .expect("checked before");
        let spec = &env.catalogue.fraud_patterns[pattern];
        let rate = self.rate.unwrap_or(spec.attack_rate);
        let success_rate = self.success_rate.unwrap_or(spec.success_rate);
        let start = env.local_ms(self.day, parse_clock("start", &self.start).unwrap_or((0, 0)));
        let end = start + (self.seconds * 1000.0).round() as i64;
        Box::new(AttackActive {
            name: self.pattern.clone(),
            burst: Burst {
                pieces: vec![(start, end, rate)],
                kind: BurstKind::Attack { pattern, success_rate },
                scaled: false,
            },
        })
    }
}

#[derive(Debug)]
struct AttackActive {
    name: String,
    burst: Burst,
}

impl Active for AttackActive {
    fn bursts(&self) -> Vec<Burst> {
        vec![self.burst.clone()]
    }

    fn labels(&self, names: &LabelNames, out: &mut Vec<Label>) {
        let (start, end, rate) = self.burst.pieces[0];
        let BurstKind::Attack { success_rate, .. } = self.burst.kind else {
            return;
        };
        let expected = rate * (end - start) as f64 / 1000.0;
        out.push(names.label(
            "attack",
            "fraud_pattern",
            self.name.clone(),
            start,
            end,
            rate,
            format!("{rate} attempts/s, success rate {success_rate}, about {expected:.0} attempts"),
        ));
    }
}
