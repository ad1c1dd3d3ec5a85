//! Two means: is B's average (basket value, latency, tickets per order) different from A's, and by
//! how much, with Welch's t-test, which does not assume the groups have equal variances.

use serde::{Deserialize, Serialize};

use super::{Interval, t_two_sided_p, t_two_sided_quantile};

/// Count, mean and sample variance of a group: all Welch's test needs, and computable from the
/// sums a group-by returns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    pub n: u64,
    pub mean: f64,
    /// The sample variance, with Bessel's correction (n − 1); 0 when n < 2.
    pub variance: f64,
}

impl Moments {
    /// From n, Σx and Σx²: mean = Σx/n, variance = (Σx² − Σx·mean)/(n − 1). This one-pass form
    /// cancels when the mean is large against the spread (relative error about 1e-16·mean²/variance),
    /// far below what matters for prices and latencies; rounding can still leave it a hair below 0,
    /// so it is clamped there. n = 0 gives all zeros.
    pub fn from_sums(n: u64, sum: f64, sum_of_squares: f64) -> Self {
        if n == 0 {
            return Self {
                n,
                mean: 0.0,
                variance: 0.0,
            };
        }
        let mean = sum / n as f64;
        let variance = if n < 2 {
            0.0
        } else {
            ((sum_of_squares - sum * mean) / (n - 1) as f64).max(0.0)
        };
        Self { n, mean, variance }
    }

    /// From the values themselves, in two passes (mean, then squared deviations).
    pub fn from_values(values: &[f64]) -> Self {
        let n = values.len() as u64;
        if n == 0 {
            return Self {
                n,
                mean: 0.0,
                variance: 0.0,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let squares: f64 = values.iter().map(|x| (x - mean) * (x - mean)).sum();
        let variance = if n < 2 { 0.0 } else { squares / (n - 1) as f64 };
        Self { n, mean, variance }
    }

    /// The squared standard error of the mean, variance / n.
    fn mean_variance(&self) -> f64 {
        self.variance / self.n as f64
    }
}

/// Welch's two-sample t-test of B's mean against A's.
///
/// When the standard error is 0 (a group with fewer than two observations, or two constant
/// groups) the test is undefined: `t` and `df` are 0, `p_value` is 1 and both intervals are `None`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WelchTest {
    /// mean_b − mean_a.
    pub difference: f64,
    /// (mean_b − mean_a) / √(s_a²/n_a + s_b²/n_b).
    pub t: f64,
    /// Welch–Satterthwaite: (v_a + v_b)² / (v_a²/(n_a − 1) + v_b²/(n_b − 1)), v = s²/n; not an
    /// integer in general.
    pub df: f64,
    /// Two-sided, from Student's t with `df` degrees of freedom.
    pub p_value: f64,
    /// difference ± t₁₋α/₂(df)·√(v_a + v_b).
    pub difference_interval: Option<Interval>,
    /// mean_b / mean_a − 1; `None` when mean_a = 0.
    pub relative_uplift: Option<f64>,
    /// R − 1 ± t₁₋α/₂(df)·√(v_b + R²·v_a) / |mean_a| with R = mean_b/mean_a: the delta method on
    /// the ratio of two independent means (first-order Taylor expansion; good while mean_a is many
    /// standard errors from 0). The same t quantile as the difference, so the two agree for large
    /// samples. `None` when mean_a = 0 or the test is undefined.
    pub relative_interval: Option<Interval>,
}

/// Welch's t-test of `b` against `a`, with intervals at `confidence` (see [`WelchTest`]).
///
/// # Panics
/// If `confidence` is not in (0, 1).
pub fn welch_test(a: &Moments, b: &Moments, confidence: f64) -> WelchTest {
    let difference = b.mean - a.mean;
    let relative_uplift = (a.n > 0 && a.mean != 0.0).then(|| b.mean / a.mean - 1.0);
    let undefined = WelchTest {
        difference,
        t: 0.0,
        df: 0.0,
        p_value: 1.0,
        difference_interval: None,
        relative_uplift,
        relative_interval: None,
    };
    if a.n < 2 || b.n < 2 {
        return undefined;
    }
    let (v_a, v_b) = (a.mean_variance(), b.mean_variance());
    let se2 = v_a + v_b;
    if se2 <= 0.0 || !se2.is_finite() {
        return undefined;
    }
    let df = se2 * se2 / (v_a * v_a / (a.n - 1) as f64 + v_b * v_b / (b.n - 1) as f64);
    let se = se2.sqrt();
    let t = difference / se;
    let quantile = t_two_sided_quantile(confidence, df);
    let relative_interval = relative_uplift
        .map(|uplift| {
            let r = b.mean / a.mean;
            Interval::around(uplift, quantile * (v_b + r * r * v_a).sqrt() / a.mean.abs())
        })
        .and_then(Interval::finite);
    WelchTest {
        difference,
        t,
        df,
        p_value: t_two_sided_p(t, df),
        difference_interval: Interval::around(difference, quantile * se).finite(),
        relative_uplift,
        relative_interval,
    }
}

/// Observations per arm for a two-sided test of two means at level `alpha` to detect a difference
/// of `difference` with probability `power`, when the groups' standard deviations are `sd_a` and
/// `sd_b` (normal approximation, equal arms):
///
/// n = (z₁₋α/₂ + z_power)² · (σ_a² + σ_b²) / δ²,
///
/// rounded up (Welch's test needs a few more at small n, where its t quantile exceeds z). `None`
/// when `difference` is 0 or not finite, or the deviations are not finite.
///
/// # Panics
/// If `alpha` or `power` is not in (0, 1).
pub fn sample_size_two_means(sd_a: f64, sd_b: f64, difference: f64, alpha: f64, power: f64) -> Option<u64> {
    assert!(alpha > 0.0 && alpha < 1.0, "alpha = {alpha} is not in (0, 1)");
    assert!(power > 0.0 && power < 1.0, "power = {power} is not in (0, 1)");
    let spread = sd_a * sd_a + sd_b * sd_b;
    if difference == 0.0 || !difference.is_finite() || !spread.is_finite() {
        return None;
    }
    let z = super::normal_quantile(1.0 - alpha / 2.0) + super::normal_quantile(power);
    Some((z * z * spread / (difference * difference)).ceil() as u64)
}
