//! The statistics the ticketing validators share (fraud detection, drift, A/B tests, service
//! levels), kept free of Polars: plain slices in, plain serde structs out, so each function is
//! tested against published values and cross-checked by brute force (`tests.rs`).
//!
//! Inputs are counts wherever a validator would otherwise pass every row: value counts from a
//! group-by feed the KS test, the detection curves and the percentiles; Σx and Σx² feed
//! [`Moments`]. Results are safe to write as JSON: a figure the data leaves undefined (a ratio over
//! an empty group, an interval with an unbounded end) is an `Option` or a documented convention,
//! never NaN or infinity, which serde_json writes as `null` and then cannot read back as a number.
//!
//! One idea per file: [`proportions`] (two-proportion z-test, sample size, power), [`means`]
//! (Welch's t-test, sample size), [`excess`] (a rate above a reference among many subjects:
//! binomial tail, Benjamini–Hochberg), [`trend`] (a daily series' log-linear trend), [`ratio`] (rates per attempt when users were randomized, by the
//! delta method), [`drift`] (PSI, two-sample Kolmogorov–Smirnov), [`detection`] (ROC AUC, the
//! precision–recall curve, confusion counts). This file holds what they share: the Normal and
//! Student's t distributions (from `statrs`), the Wilson interval and nearest-rank percentiles.
//!
//! statrs' normal cdf is good to about 1e-10 relative (its erfc), ample for p-values; its
//! Student's t quantile fails for large degrees of freedom, so above 1,000 an expansion replaces
//! it (see [`T_QUANTILE_EXPANSION_DF`]).

pub mod detection;
pub mod drift;
pub mod excess;
pub mod means;
pub mod proportions;
pub mod ratio;
pub mod trend;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

pub use detection::{Confusion, CurvePoint, ScoreCounts, average_precision, pr_curve, roc_auc, thin};
pub use drift::{KsTest, bin_index, kolmogorov_q, ks_two_sample, psi, quantile_edges, quantile_edges_from_counts};
pub use excess::{ExcessTest, benjamini_hochberg, binomial_upper_tail, excess_test};
pub use means::{Moments, WelchTest, sample_size_two_means, welch_test};
pub use proportions::{ProportionTest, power_two_proportions, sample_size_two_proportions, two_proportion_test};
pub use ratio::{ClusterSums, RatioTest, ratio_test};
pub use trend::{Trend, log_linear_trend};

/// The standard normal quantile Φ⁻¹(p) (statrs: −√2·erfc⁻¹(2p)); −∞ at 0 and +∞ at 1.
///
/// # Panics
/// If `p` is NaN or outside [0, 1].
pub fn normal_quantile(p: f64) -> f64 {
    assert!((0.0..=1.0).contains(&p), "normal_quantile: p = {p} is not in [0, 1]");
    Normal::standard().inverse_cdf(p)
}

/// The standard normal cdf Φ(x).
pub fn normal_cdf(x: f64) -> f64 {
    Normal::standard().cdf(x)
}

/// z₁₋α/₂ for α = 1 − `confidence`: the half-width, in standard errors, of a two-sided normal
/// interval (0.95 → 1.959964).
///
/// # Panics
/// If `confidence` is not in (0, 1): settings are range-checked before any statistic runs.
pub fn two_sided_z(confidence: f64) -> f64 {
    normal_quantile(two_sided_level(confidence))
}

/// 1 − α/2 for α = 1 − `confidence`.
fn two_sided_level(confidence: f64) -> f64 {
    assert!(
        confidence > 0.0 && confidence < 1.0,
        "confidence = {confidence} is not in (0, 1)"
    );
    0.5 + confidence / 2.0
}

/// Two-sided p-value of a standard normal statistic, 2·(1 − Φ(|z|)), from the upper tail so small
/// p-values keep their precision.
fn normal_two_sided_p(z: f64) -> f64 {
    (2.0 * Normal::standard().sf(z.abs())).min(1.0)
}

/// Above this many degrees of freedom statrs' t quantile (an inverse incomplete beta with a = df/2)
/// goes wrong: 7e-7 relative error at 3·10⁴, 7% at 10⁷, and no answer at all near 10⁹, while Welch's
/// df on a large A/B test is easily 10⁶. The Cornish–Fisher expansion takes over from here, where
/// it is within 2e-13 of the exact quantile (checked against SciPy up to p = 0.99995).
const T_QUANTILE_EXPANSION_DF: f64 = 1e3;

/// Above this many degrees of freedom statrs' t cdf drifts (4e-10 relative at 10⁶, 2e-8 at 10⁷),
/// while the first-order normal transform of [`t_two_sided_p`] is within 1e-11 relative for
/// |t| ≤ 2 and 2e-9 for |t| ≤ 5, and improves as 1/df².
const T_NORMAL_TRANSFORM_DF: f64 = 1e6;

/// Student's t with `df` degrees of freedom (any real df > 0, as Welch's test needs).
fn students_t(df: f64) -> StudentsT {
    StudentsT::new(0.0, 1.0, df).expect("degrees of freedom are finite and positive")
}

/// Two-sided p-value of a t statistic: 2·(1 − F_t(|t|; df)) (statrs: the regularized incomplete
/// beta function). For df above [`T_NORMAL_TRANSFORM_DF`], 2·(1 − Φ(z)) with z = |t| − (|t|³ +
/// |t|)/(4df), the Cornish–Fisher expansion inverted to first order.
pub(crate) fn t_two_sided_p(t: f64, df: f64) -> f64 {
    let t = t.abs();
    if df > T_NORMAL_TRANSFORM_DF {
        return normal_two_sided_p(t - (t * t * t + t) / (4.0 * df));
    }
    (2.0 * students_t(df).sf(t)).min(1.0)
}

/// The two-sided t quantile t₁₋α/₂(df) for α = 1 − `confidence`: statrs' inverse cdf up to
/// [`T_QUANTILE_EXPANSION_DF`], above it the Cornish–Fisher expansion in 1/df around the normal
/// quantile x (Abramowitz & Stegun 26.7.5): x + g₁/df + g₂/df² + g₃/df³ + g₄/df⁴ with
/// g₁ = (x³ + x)/4, g₂ = (5x⁵ + 16x³ + 3x)/96, g₃ = (3x⁷ + 19x⁵ + 17x³ − 15x)/384,
/// g₄ = (79x⁹ + 776x⁷ + 1482x⁵ − 1920x³ − 945x)/92160.
fn t_two_sided_quantile(confidence: f64, df: f64) -> f64 {
    let level = two_sided_level(confidence);
    if df <= T_QUANTILE_EXPANSION_DF {
        return students_t(df).inverse_cdf(level);
    }
    let x = normal_quantile(level);
    let x2 = x * x;
    let g1 = (x2 + 1.0) * x / 4.0;
    let g2 = ((5.0 * x2 + 16.0) * x2 + 3.0) * x / 96.0;
    let g3 = (((3.0 * x2 + 19.0) * x2 + 17.0) * x2 - 15.0) * x / 384.0;
    let g4 = ((((79.0 * x2 + 776.0) * x2 + 1482.0) * x2 - 1920.0) * x2 - 945.0) * x / 92160.0;
    x + (g1 + (g2 + (g3 + g4 / df) / df) / df) / df
}

/// `num / den`, or 0 when `den` is 0 (rates of empty groups).
fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 { 0.0 } else { num as f64 / den as f64 }
}

/// A closed interval [lo, hi].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
}

impl Interval {
    /// `center ± half_width`.
    fn around(center: f64, half_width: f64) -> Self {
        Self {
            lo: center - half_width,
            hi: center + half_width,
        }
    }

    /// `Some(self)` when both ends are finite numbers, so `None` stands for "unbounded" in JSON.
    fn finite(self) -> Option<Self> {
        (self.lo.is_finite() && self.hi.is_finite()).then_some(self)
    }

    pub fn contains(&self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }
}

/// The Wilson score interval for a binomial proportion (Wilson 1927; Newcombe 1998, method 3):
/// (p̂ + z²/2n ± z·√(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n). Unlike the Wald interval p̂ ± z·√(p̂(1 −
/// p̂)/n) it stays inside [0, 1] and does not shrink to a point at 0 or n successes, which matters
/// for the small counts of rare flags. `n = 0` gives [0, 1]: nothing is known.
///
/// # Panics
/// If `successes > n`, or `confidence` is not in (0, 1).
pub fn wilson_interval(successes: u64, n: u64, confidence: f64) -> Interval {
    assert!(successes <= n, "wilson_interval: {successes} successes out of {n}");
    let z = two_sided_z(confidence);
    if n == 0 {
        return Interval { lo: 0.0, hi: 1.0 };
    }
    let (n_f, z2) = (n as f64, z * z);
    let p = successes as f64 / n_f;
    let denominator = 1.0 + z2 / n_f;
    let center = (p + z2 / (2.0 * n_f)) / denominator;
    let half_width = z / denominator * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    // The ends at 0 and n successes are exactly 0 and 1; rounding must not move them past.
    Interval {
        lo: if successes == 0 {
            0.0
        } else {
            (center - half_width).max(0.0)
        },
        hi: if successes == n {
            1.0
        } else {
            (center + half_width).min(1.0)
        },
    }
}

/// The `q`-quantile by nearest rank: the smallest value whose cumulative count reaches ⌈q·n⌉
/// (the inverse of the empirical cdf, Hyndman & Fan type 1). Always an observed value, never
/// interpolated: a p99 that says 200 ms means 99% of requests took at most 200 ms. This is the
/// definition the ticketing service levels use; the calls analyzers' percentiles
/// (`performance::quantile_from_counts`) interpolate instead.
///
/// `counts` are (value, count) pairs sorted by value, e.g. a group-by on latency. `None` when the
/// counts add up to 0. q·n is a float product: one that lands a rounding error above an integer
/// (0.07 × 100 = 7.000000000000001) is taken as that integer, so p7 of 100 values is the 7th.
///
/// # Panics
/// If `q` is not in (0, 1].
pub fn nearest_rank(counts: &[(i64, u64)], q: f64) -> Option<i64> {
    assert!(q > 0.0 && q <= 1.0, "nearest_rank: q = {q} is not in (0, 1]");
    debug_assert!(
        counts.windows(2).all(|w| w[0].0 <= w[1].0),
        "nearest_rank: counts are not sorted by value"
    );
    let n: u64 = counts.iter().map(|&(_, count)| count).sum();
    if n == 0 {
        return None;
    }
    let rank = ((q * n as f64 * (1.0 - 1e-12)).ceil() as u64).clamp(1, n);
    let mut cumulative = 0;
    counts
        .iter()
        .find(|&&(_, count)| {
            cumulative += count;
            cumulative >= rank
        })
        .map(|&(value, _)| value)
}
