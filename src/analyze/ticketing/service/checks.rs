//! The page's one-sided checks, against the settings' targets:
//! - `service.p50/p95/p99_latency_ms`, `service.error_rate`, `service.availability`: the
//!   service outside the labelled degradation windows (the latency ones on its worst busy hour);
//! - `degradation.<start>.p99_latency_ms`, `.error_rate`: the same targets inside each window,
//!   which a degradation should break (the validator catching it), and `.availability`:
//!   graceful degradation, degraded but up;
//! - `<scenario>.peak_rps`, `.p99_latency_ms`, `.error_rate`: the scenarios' expected metrics.

use super::super::super::checks::{Check, CheckUnit, Op};
use super::ScenarioLevels;
use super::ServiceResult;
use super::ServiceSettings;
use super::degradation::{DegradationWindow, Outside};

pub fn all(r: &ServiceResult, s: &ServiceSettings) -> Vec<Check> {
    let mut out = service(&r.outside, s);
    for sc in &r.scenarios {
        out.extend(scenario(sc, s));
    }
    for w in &r.degradation {
        out.extend(window(w, s));
    }
    out
}

fn error_rate_description(s: &ServiceSettings) -> &'static str {
    if s.rate_limited_is_error {
        "share of requests answered with an error, rate-limited (429) ones included"
    } else {
        "share of requests answered with an error, among those not rate-limited (429)"
    }
}

/// "outside the 3 labelled degradation windows; see degradation.*".
fn outside_of(o: &Outside) -> String {
    match o.windows {
        0 => "over every attempt (no labelled degradation window)".into(),
        1 => "outside the labelled degradation window; see degradation.*".into(),
        n => format!("outside the {n} labelled degradation windows; see degradation.*"),
    }
}

/// The `service.*` checks: the service outside every labelled degradation window.
pub fn service(o: &Outside, s: &ServiceSettings) -> Vec<Check> {
    let outside = outside_of(o);
    let mut out = Vec::new();
    for (name, target) in [
        ("p50", s.p50_latency_ms),
        ("p95", s.p95_latency_ms),
        ("p99", s.p99_latency_ms),
    ] {
        let worst = o.worst.get(name);
        let check = Check::new(
            format!("service.{name}_latency_ms"),
            format!("{name} decision latency (nearest rank, successful decisions) of the worst busy hour, {outside}"),
            worst.map(|w| w.ms),
            Op::AtMost,
            target,
        )
        .unit(CheckUnit::Ms);
        out.push(match worst {
            Some(w) => check.note(format!(
                "worst of {} busy hours: {} UTC, {} decisions",
                o.worst.busy_hours,
                w.at.format("%Y-%m-%d %H:00"),
                w.decisions
            )),
            None => check.note(format!(
                "no hour has {} successful decisions (`min_requests_per_hour`)",
                s.min_requests_per_hour
            )),
        });
    }
    let counts = format!(
        "{} requests, {} errors, {} rate-limited",
        o.levels.tally.requests, o.levels.tally.errors, o.levels.tally.rate_limited
    );
    out.push(
        Check::new(
            "service.error_rate",
            format!("{}, {outside}", error_rate_description(s)),
            o.levels.error_rate,
            Op::AtMost,
            s.error_rate,
        )
        .unit(CheckUnit::Share)
        .note(counts),
    );
    out.push(
        Check::new(
            "service.availability",
            format!("share of busy minutes in which the service was up, {outside}"),
            o.levels.availability,
            Op::AtLeast,
            s.availability,
        )
        .unit(CheckUnit::Share)
        .note(format!(
            "{} of {} counted minutes down",
            o.levels.minutes_down, o.levels.minutes_counted
        )),
    );
    out
}

/// A degradation window's checks: the SLA's p99 and error rate inside it (expected to fail),
/// and its availability (graceful degradation: expected to hold).
pub fn window(w: &DegradationWindow, s: &ServiceSettings) -> Vec<Check> {
    let name = |figure: &str| format!("degradation.{}.{figure}", w.key);
    let window = w.label.window_name();
    let l = &w.levels;
    let own = &w.own;
    let share = |v: Option<f64>| v.map_or_else(|| "–".into(), |v| format!("{:.4}", v));
    let ms = |v: Option<f64>| v.map_or_else(|| "–".into(), |v| format!("{v:.0} ms"));
    vec![
        Check::new(
            name("p99_latency_ms"),
            format!(
                "p99 decision latency (nearest rank, successful decisions) inside the degradation window {window}, every attempt in it"
            ),
            l.tally.p99_ms,
            Op::AtMost,
            s.p99_latency_ms,
        )
        .unit(CheckUnit::Ms)
        .note(format!(
            "{} decisions; {} alone: {} over {}",
            l.tally.decisions,
            w.label.scenario,
            ms(own.tally.p99_ms),
            own.tally.decisions
        )),
        Check::new(
            name("error_rate"),
            format!(
                "{} inside the degradation window {window}, every attempt in it",
                error_rate_description(s)
            ),
            l.error_rate,
            Op::AtMost,
            s.error_rate,
        )
        .unit(CheckUnit::Share)
        .note(format!(
            "{} of {} counted requests failed; {} alone: {} ({} of {})",
            s.failed(&l.tally),
            s.counted(&l.tally),
            w.label.scenario,
            share(own.error_rate),
            s.failed(&own.tally),
            s.counted(&own.tally)
        )),
        Check::new(
            name("availability"),
            format!("graceful degradation: availability inside the degradation window {window} (degraded but up)"),
            l.availability,
            Op::AtLeast,
            s.availability,
        )
        .unit(CheckUnit::Share)
        .note(format!("{} of {} counted minutes down", l.minutes_down, l.minutes_counted)),
    ]
}

/// A scenario's expected metrics, those its settings name.
pub fn scenario(sc: &ScenarioLevels, s: &ServiceSettings) -> Vec<Check> {
    let mut out = Vec::new();
    let Some(t) = s.scenarios.get(&sc.scenario) else {
        return out;
    };
    if let Some(target) = t.peak_rps {
        let c = Check::new(
            format!("{}.peak_rps", sc.scenario),
            "attempts in the scenario's busiest second",
            sc.peak.as_ref().map(|p| p.attempts as f64),
            Op::AtLeast,
            target,
        )
        .unit(CheckUnit::Rps);
        out.push(match &sc.peak {
            Some(p) => c.note(format!("busiest second {} UTC", p.at.format("%Y-%m-%d %H:%M:%S"))),
            None => c,
        });
    }
    if let Some(target) = t.p99_latency_ms {
        out.push(
            Check::new(
                format!("{}.p99_latency_ms", sc.scenario),
                "p99 decision latency over the scenario's successful decisions",
                sc.levels.tally.p99_ms,
                Op::AtMost,
                target,
            )
            .unit(CheckUnit::Ms)
            .note(format!("{} decisions", sc.levels.tally.decisions)),
        );
    }
    if let Some(target) = t.error_rate {
        out.push(
            Check::new(
                format!("{}.error_rate", sc.scenario),
                format!("{} (the scenario's rows)", error_rate_description(s)),
                sc.levels.error_rate,
                Op::AtMost,
                target,
            )
            .unit(CheckUnit::Share),
        );
    }
    out
}
