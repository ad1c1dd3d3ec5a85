//! System degradation (document 004's partial failures: "Redis slow, ML model timeout"): windows
//! in which the decision service is slower by a factor, answers 503 and times out (504) at given
//! rates. Outside the windows the service is as the model says.

use serde::{Deserialize, Serialize};

use super::{Active, CohortInfo, Effect, Env, LabelNames, ServiceState, parse_clock};
use crate::sim::label::Label;
use crate::sim::params::{self, Checked};

/// One degraded window.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub day: i64,
    /// Local start time, HH:MM.
    pub start: String,
    pub minutes: f64,
    /// Decision latency multiplier.
    pub latency_multiplier: f64,
    /// Share of 503 answers, and of timeouts (504).
    pub error_rate: f64,
    pub timeout_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Degradation {
    pub windows: Vec<Window>,
}

impl Default for Degradation {
    fn default() -> Self {
        let w = |day, start: &str, minutes, latency_multiplier, error_rate, timeout_rate| Window {
            day,
            start: start.into(),
            minutes,
            latency_multiplier,
            error_rate,
            timeout_rate,
        };
        Degradation {
            windows: vec![
                w(8, "19:00", 45.0, 6.0, 0.05, 0.03),
                w(16, "12:30", 30.0, 3.0, 0.02, 0.01),
                w(23, "20:00", 60.0, 10.0, 0.10, 0.08),
            ],
        }
    }
}

impl Effect for Degradation {
    fn check(&self, env: &Env) -> Checked {
        if self.windows.is_empty() {
            return Err(params::fail("windows", "list at least one window"));
        }
        for (i, w) in self.windows.iter().enumerate() {
            let k = |name: &str| format!("windows[{i}].{name}");
            params::day(&k("day"), w.day, env.days)?;
            parse_clock(&k("start"), &w.start)?;
            params::number(&k("minutes"), w.minutes, 1.0, 7.0 * 24.0 * 60.0)?;
            params::number(&k("latency_multiplier"), w.latency_multiplier, 1.0, 1000.0)?;
            params::number(&k("error_rate"), w.error_rate, 0.0, 1.0)?;
            params::number(&k("timeout_rate"), w.timeout_rate, 0.0, 1.0)?;
            if w.error_rate + w.timeout_rate > 1.0 {
                return Err(params::fail(
                    &k("error_rate"),
                    "error_rate + timeout_rate is over 1: allowed is at most 1 together",
                ));
            }
        }
        Ok(())
    }

    fn compile(&self, env: &Env, _cohort: &CohortInfo) -> Box<dyn Active> {
        let windows = self
            .windows
            .iter()
            .map(|w| {
                let start = env.local_ms(w.day, parse_clock("start", &w.start).unwrap_or((0, 0)));
                (start, start + (w.minutes * 60_000.0).round() as i64, w.clone())
            })
            .collect();
        Box::new(DegradationActive { windows })
    }
}

#[derive(Debug)]
struct DegradationActive {
    windows: Vec<(i64, i64, Window)>,
}

impl Active for DegradationActive {
    fn service(&self, t: i64, state: &mut ServiceState) {
        for (start, end, w) in &self.windows {
            if (*start..*end).contains(&t) {
                state.latency_multiplier *= w.latency_multiplier;
                state.error_rate += w.error_rate;
                state.timeout_rate += w.timeout_rate;
            }
        }
    }

    fn labels(&self, names: &LabelNames, out: &mut Vec<Label>) {
        for (start, end, w) in &self.windows {
            out.push(names.label(
                "degradation",
                "service",
                "decision_service",
                *start,
                *end,
                w.latency_multiplier,
                describe(w),
            ));
        }
    }
}

/// A window's label detail: the rates in words that `serve-mock --faults-from-labels` reads back
/// with [`parse_detail`] (the multiplier is the label's magnitude).
fn describe(w: &Window) -> String {
    format!(
        "latency ×{}, error rate {} (503), timeout rate {} (504)",
        w.latency_multiplier, w.error_rate, w.timeout_rate
    )
}

/// The error and timeout rates of a label detail written by [`describe`].
pub fn parse_detail(detail: &str) -> Option<(f64, f64)> {
    let rate = |name: &str, code: &str| -> Option<f64> {
        let rest = &detail[detail.find(name)? + name.len()..];
        rest[..rest.find(code)?].trim().parse().ok()
    };
    Some((rate("error rate ", "(503)")?, rate("timeout rate ", "(504)")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_detail_reads_back() {
        for w in Degradation::default().windows {
            assert_eq!(parse_detail(&describe(&w)), Some((w.error_rate, w.timeout_rate)));
        }
        assert_eq!(parse_detail("latency ×3"), None);
    }
}
