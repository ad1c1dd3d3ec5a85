//! The mock's fault model: a log-normal latency set by its p50 and p99, an error rate (503) and
//! a timeout rate (the service never answers), and degradation windows — read from a dataset's
//! labels — that multiply them at the right moments of the replay.
//!
//! "The right moments" are the request's own `timestamp` (the row's time), not the wall clock:
//! a replay at any `--speed` or `--rate` meets the windows where the data has them. Every draw
//! is keyed by (seed, the request's id), so the same request meets the same fate in every run.

use std::hash::{BuildHasher as _, Hasher as _};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use rand::{RngExt as _, SeedableRng as _};
use rand_distr::{Distribution as _, LogNormal};

use crate::analyze::ticketing::labels::{self, Label};
use crate::sim::rng::{SimRng, fmix64};
use crate::sim::ticketing::scenarios::degradation;

/// The normal quantile of 0.99: a log-normal's p99 is `p50 · exp(σ · Z99)`.
const Z99: f64 = 2.326_347_874_040_841;

/// What the mock does to the requests.
#[derive(Debug, Clone, Default)]
pub struct FaultModel {
    /// The latency added to every answer; none when `None`.
    pub latency: Option<Latency>,
    /// Share of requests answered 503.
    pub error_rate: f64,
    /// Share of requests never answered (the client times out).
    pub timeout_rate: f64,
    /// Degraded windows, by the request's timestamp.
    pub windows: Vec<Window>,
    /// Keys the draws: another seed, other fates.
    pub seed: u64,
}

/// A log-normal latency with the given median and 99th percentile.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub p50: Duration,
    pub p99: Duration,
}

/// One degraded window: `[start, end)` of the requests' timestamps.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub latency_multiplier: f64,
    pub error_rate: f64,
    pub timeout_rate: f64,
}

/// The fate of one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fate {
    /// Answer after this long.
    Answer(Duration),
    /// Answer 503 after this long.
    Fail(Duration),
    /// Never answer.
    Hang,
}

impl Latency {
    /// Checks that the percentiles make a distribution (p99 ≥ p50 > 0, or both zero).
    pub fn new(p50: Duration, p99: Duration) -> Result<Latency> {
        if p50.is_zero() || p99 < p50 {
            bail!(
                "--latency-p50 {} and --latency-p99 {}: allowed is 0 < p50 ≤ p99",
                humantime::format_duration(p50),
                humantime::format_duration(p99)
            );
        }
        Ok(Latency { p50, p99 })
    }

    fn sample(&self, rng: &mut SimRng, multiplier: f64) -> Duration {
        let mu = self.p50.as_secs_f64().ln();
        let sigma = (self.p99.as_secs_f64() / self.p50.as_secs_f64()).ln() / Z99;
        let secs = match LogNormal::new(mu, sigma) {
            Ok(d) => d.sample(rng),
            Err(_) => self.p50.as_secs_f64(),
        };
        // At most an hour: a far tail must not hold a connection for days.
        Duration::from_secs_f64((secs * multiplier).min(3600.0))
    }
}

impl FaultModel {
    /// Whether any fault is configured (the fast path answers at once).
    pub fn is_none(&self) -> bool {
        self.latency.is_none() && self.error_rate == 0.0 && self.timeout_rate == 0.0 && self.windows.is_empty()
    }

    /// The fate of the request with this id, sent for a row at `at` (when the body has one).
    pub fn fate(&self, id: &str, at: Option<DateTime<Utc>>) -> Fate {
        let mut hasher = rustc_hash::FxBuildHasher.build_hasher();
        hasher.write(id.as_bytes());
        let mut rng = SimRng::seed_from_u64(fmix64(hasher.finish() ^ fmix64(self.seed)));
        let (mut multiplier, mut error_rate, mut timeout_rate) = (1.0, self.error_rate, self.timeout_rate);
        if let Some(t) = at {
            for w in self.windows.iter().filter(|w| (w.start..w.end).contains(&t)) {
                multiplier *= w.latency_multiplier;
                error_rate += w.error_rate;
                timeout_rate += w.timeout_rate;
            }
        }
        let u: f64 = rng.random();
        let delay = self.latency.map_or(Duration::ZERO, |l| l.sample(&mut rng, multiplier));
        if u < timeout_rate {
            Fate::Hang
        } else if u < timeout_rate + error_rate {
            Fate::Fail(delay)
        } else {
            Fate::Answer(delay)
        }
    }
}

/// The degradation windows of a dataset's labels (`labels.parquet` or `.csv`, or a data
/// directory holding one): their latency multiplier, error and timeout rates.
pub fn windows_from_labels(path: &Path) -> Result<Vec<Window>> {
    let file = if path.is_dir() {
        crate::sink::layout::side_table(path, crate::sink::layout::LABELS)
            .with_context(|| format!("{}: no labels.parquet or labels.csv in this directory", path.display()))?
    } else {
        path.to_path_buf()
    };
    let all = labels::read_file(&file)?;
    let windows: Vec<Window> = labels::of_kind(&all, "degradation")
        .map(|l| window_of(l).with_context(|| format!("{}: degradation label {}", file.display(), l.window_name())))
        .collect::<Result<_>>()?;
    if windows.is_empty() {
        bail!(
            "{}: no degradation windows in these labels (kind = \"degradation\"): generate with the system_degradation scenario, or leave out --faults-from-labels",
            file.display()
        );
    }
    Ok(windows)
}

fn window_of(l: &Label) -> Result<Window> {
    let (error_rate, timeout_rate) = degradation::parse_detail(&l.detail)
        .with_context(|| format!("cannot read the error and timeout rates from `{}`", l.detail))?;
    Ok(Window {
        start: l.start,
        end: l.end,
        latency_multiplier: l.magnitude,
        error_rate,
        timeout_rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Option<DateTime<Utc>> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn fates_are_keyed_by_the_id_and_follow_the_rates() {
        let model = FaultModel {
            error_rate: 0.10,
            timeout_rate: 0.05,
            seed: 7,
            ..FaultModel::default()
        };
        assert_eq!(model.fate("txn_1", None), model.fate("txn_1", None));
        let n = 20_000;
        let fates: Vec<Fate> = (0..n).map(|i| model.fate(&format!("txn_{i}"), None)).collect();
        let share = |f: &dyn Fn(&Fate) -> bool| fates.iter().filter(|x| f(x)).count() as f64 / f64::from(n);
        assert!((share(&|f| *f == Fate::Hang) - 0.05).abs() < 0.01);
        assert!((share(&|f| matches!(f, Fate::Fail(_))) - 0.10).abs() < 0.01);
    }

    #[test]
    fn the_latency_has_the_percentiles_it_was_given() {
        let model = FaultModel {
            latency: Some(Latency::new(Duration::from_millis(20), Duration::from_millis(150)).unwrap()),
            ..FaultModel::default()
        };
        let mut ms: Vec<f64> = (0..20_000)
            .map(|i| match model.fate(&format!("r{i}"), None) {
                Fate::Answer(d) => d.as_secs_f64() * 1e3,
                other => panic!("no faults configured, got {other:?}"),
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        let (p50, p99) = (ms[10_000], ms[19_800]);
        assert!((p50 - 20.0).abs() < 1.0, "p50 {p50}");
        assert!((p99 - 150.0).abs() < 15.0, "p99 {p99}");
    }

    #[test]
    fn windows_degrade_only_the_requests_stamped_inside_them() {
        let model = FaultModel {
            windows: vec![Window {
                start: "2025-11-11T16:00:00Z".parse().unwrap(),
                end: "2025-11-11T16:45:00Z".parse().unwrap(),
                latency_multiplier: 1.0,
                error_rate: 1.0,
                timeout_rate: 0.0,
            }],
            ..FaultModel::default()
        };
        assert!(matches!(model.fate("a", at("2025-11-11T16:10:00Z")), Fate::Fail(_)));
        assert_eq!(
            model.fate("a", at("2025-11-11T16:45:00Z")),
            Fate::Answer(Duration::ZERO)
        );
        assert_eq!(model.fate("a", None), Fate::Answer(Duration::ZERO));
    }

    #[test]
    fn bad_percentiles_are_refused() {
        assert!(Latency::new(Duration::from_millis(50), Duration::from_millis(10)).is_err());
        assert!(Latency::new(Duration::ZERO, Duration::from_millis(10)).is_err());
    }
}
