//! Service levels of a set of attempts: the error rate and availability from counts, the
//! worst busy hour of each percentile, and the verdict of a set of checks.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::super::super::checks::{Check, Status};
use super::ServiceSettings;

impl ServiceSettings {
    /// Requests counted by the error rate: every request when 429s are errors, else those not
    /// rate-limited.
    pub fn counted(&self, t: &Tally) -> u64 {
        if self.rate_limited_is_error {
            t.requests
        } else {
            t.requests - t.rate_limited
        }
    }

    pub fn failed(&self, t: &Tally) -> u64 {
        t.errors + if self.rate_limited_is_error { t.rate_limited } else { 0 }
    }

    pub fn error_rate_of(&self, t: &Tally) -> Option<f64> {
        let n = self.counted(t);
        (n > 0).then(|| self.failed(t) as f64 / n as f64)
    }

    /// `Some(down)` for a minute that counts in the availability, `None` for one too quiet.
    pub fn minute_down(&self, t: &Tally) -> Option<bool> {
        let n = self.counted(t);
        (n >= self.min_requests_per_minute && n > 0).then(|| self.failed(t) as f64 / n as f64 > self.down_error_share)
    }
}

/// Counts and percentiles of one group of attempts.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Tally {
    /// Every attempt (a request to the decision service).
    pub requests: u64,
    /// Answered 429 by the rate limiter.
    pub rate_limited: u64,
    /// Answered with an error: api_status neither 200 nor 429 (503 error, 504 timeout).
    pub errors: u64,
    /// Answered 200: successful decisions, the ones the latency percentiles are over.
    pub decisions: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

impl Tally {
    /// Adds another group's counts (percentiles do not add: they are left as they are).
    pub fn add_counts(&mut self, o: &Tally) {
        self.requests += o.requests;
        self.rate_limited += o.rate_limited;
        self.errors += o.errors;
        self.decisions += o.decisions;
    }
}

/// Counts, percentiles and the derived service levels of a set of attempts.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Levels {
    #[serde(flatten)]
    pub tally: Tally,
    /// `None` when no request is counted by the error rate.
    pub error_rate: Option<f64>,
    pub rate_limited_share: Option<f64>,
    /// Minutes with enough requests to count in the availability, and the down ones among them.
    pub minutes_counted: u64,
    pub minutes_down: u64,
    /// `None` when no minute counts.
    pub availability: Option<f64>,
}

impl Levels {
    /// The levels of `tally`'s attempts, whose UTC minutes' counts are `minutes`.
    pub fn new<'a>(tally: Tally, minutes: impl Iterator<Item = &'a Tally>, s: &ServiceSettings) -> Levels {
        let (mut counted, mut down) = (0u64, 0u64);
        for m in minutes {
            if let Some(d) = s.minute_down(m) {
                counted += 1;
                down += u64::from(d);
            }
        }
        Levels {
            error_rate: s.error_rate_of(&tally),
            rate_limited_share: (tally.requests > 0).then(|| tally.rate_limited as f64 / tally.requests as f64),
            minutes_counted: counted,
            minutes_down: down,
            availability: (counted > 0).then(|| (counted - down) as f64 / counted as f64),
            tally,
        }
    }
}

/// Whether a set of attempts met its service-level checks, and the checks it missed (a figure
/// that cannot be measured is missed): the page's verdict is the checks', never a second rule.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Verdict {
    pub met: bool,
    /// Names of the failed checks.
    pub missed: Vec<String>,
}

impl Verdict {
    pub fn of(checks: &[Check]) -> Verdict {
        let missed: Vec<String> = checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| c.name.clone())
            .collect();
        Verdict {
            met: missed.is_empty(),
            missed,
        }
    }
}

/// One time bucket (a minute or an hour) of attempts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TimePoint {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub tally: Tally,
}

/// The worst busy hour of one percentile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WorstHour {
    pub at: DateTime<Utc>,
    pub decisions: u64,
    pub ms: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct WorstHours {
    /// Hours with at least `min_requests_per_hour` successful decisions.
    pub busy_hours: u64,
    pub p50: Option<WorstHour>,
    pub p95: Option<WorstHour>,
    pub p99: Option<WorstHour>,
}

impl WorstHours {
    /// The worst value of each percentile among `hours` with at least `min` decisions (ties:
    /// the earliest hour; `hours` are in time order).
    pub fn of(hours: &[TimePoint], min: u64) -> WorstHours {
        let busy: Vec<&TimePoint> = hours.iter().filter(|h| h.tally.decisions >= min).collect();
        let worst = |pick: fn(&Tally) -> Option<f64>| {
            busy.iter()
                .filter_map(|h| pick(&h.tally).map(|ms| (h, ms)))
                .fold(None::<WorstHour>, |acc, (h, ms)| match acc {
                    Some(w) if w.ms >= ms => Some(w),
                    _ => Some(WorstHour {
                        at: h.at,
                        decisions: h.tally.decisions,
                        ms,
                    }),
                })
        };
        WorstHours {
            busy_hours: busy.len() as u64,
            p50: worst(|t| t.p50_ms),
            p95: worst(|t| t.p95_ms),
            p99: worst(|t| t.p99_ms),
        }
    }

    pub fn get(&self, percentile: &str) -> Option<&WorstHour> {
        match percentile {
            "p50" => self.p50.as_ref(),
            "p95" => self.p95.as_ref(),
            "p99" => self.p99.as_ref(),
            _ => None,
        }
    }
}
