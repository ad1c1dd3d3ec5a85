//! Two proportions: is B's rate (conversion, fraud flags, errors) different from A's, by how much,
//! and how many observations would show a given difference.

use serde::{Deserialize, Serialize};

use super::{Interval, normal_cdf, normal_quantile, normal_two_sided_p, ratio, two_sided_z};

/// B's proportion against A's (A is the control or the reference).
///
/// Degenerate inputs give numbers, never NaN: an empty group has proportion 0; when the pooled
/// standard error is 0 (an empty group, or no successes or no failures at all) there is no
/// evidence of a difference: `z` is 0 and `p_value` 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProportionTest {
    pub p_a: f64,
    pub p_b: f64,
    /// p_b − p_a.
    pub difference: f64,
    /// (p_b − p_a) / SE₀ with the pooled SE₀ = √(p̄(1 − p̄)(1/n_a + 1/n_b)), p̄ = (x_a + x_b)/(n_a + n_b):
    /// under "no difference" both groups share one rate, so it is estimated from both.
    pub z: f64,
    /// Two-sided, from the normal approximation: 2·(1 − Φ(|z|)).
    pub p_value: f64,
    /// Wald interval (p_b − p_a) ± z·√(p_a(1 − p_a)/n_a + p_b(1 − p_b)/n_b), with the unpooled SE
    /// (the interval must not assume the difference is 0), clamped to [−1, 1]. [−1, 1] when a
    /// group is empty; a point when both proportions are 0 or 1.
    pub difference_interval: Interval,
    /// p_b / p_a − 1; `None` when p_a = 0.
    pub relative_uplift: Option<f64>,
    /// exp(ln(p_b/p_a) ± z·s) − 1 with s² = (1 − p_a)/(n_a p_a) + (1 − p_b)/(n_b p_b), the delta
    /// method on the log of the ratio (Katz et al. 1978), whose sampling distribution is closer
    /// to normal than the ratio's; so the interval is not symmetric and stays above −1. `None`
    /// when p_a or p_b is 0 (the log is unbounded).
    pub relative_interval: Option<Interval>,
}

/// Compares `x_b` successes out of `n_b` (B) with `x_a` out of `n_a` (A) by the two-sided
/// two-proportion z-test, with intervals at `confidence`; see [`ProportionTest`] for each field.
///
/// # Panics
/// If successes exceed their group's size, or `confidence` is not in (0, 1).
pub fn two_proportion_test(x_a: u64, n_a: u64, x_b: u64, n_b: u64, confidence: f64) -> ProportionTest {
    assert!(
        x_a <= n_a && x_b <= n_b,
        "two_proportion_test: {x_a}/{n_a} or {x_b}/{n_b} exceeds its group"
    );
    let z_c = two_sided_z(confidence);
    let (p_a, p_b) = (ratio(x_a, n_a), ratio(x_b, n_b));
    let difference = p_b - p_a;
    let both = n_a > 0 && n_b > 0;
    let (na, nb) = (n_a as f64, n_b as f64);

    let pooled = (x_a as f64 + x_b as f64) / (na + nb);
    let pooled_se = if both {
        (pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb)).sqrt()
    } else {
        0.0
    };
    let (z, p_value) = if pooled_se > 0.0 {
        let z = difference / pooled_se;
        (z, normal_two_sided_p(z))
    } else {
        (0.0, 1.0)
    };

    let difference_interval = if both {
        let se = (p_a * (1.0 - p_a) / na + p_b * (1.0 - p_b) / nb).sqrt();
        let Interval { lo, hi } = Interval::around(difference, z_c * se);
        Interval {
            lo: lo.max(-1.0),
            hi: hi.min(1.0),
        }
    } else {
        Interval { lo: -1.0, hi: 1.0 }
    };

    let relative_uplift = (p_a > 0.0).then(|| p_b / p_a - 1.0);
    let relative_interval = (p_a > 0.0 && p_b > 0.0)
        .then(|| {
            // n·p = x, so each term of s² is (1 − p)/x.
            let s = ((1.0 - p_a) / x_a as f64 + (1.0 - p_b) / x_b as f64).sqrt();
            let Interval { lo, hi } = Interval::around((p_b / p_a).ln(), z_c * s);
            Interval {
                lo: lo.exp() - 1.0,
                hi: hi.exp() - 1.0,
            }
        })
        .and_then(Interval::finite);

    ProportionTest {
        p_a,
        p_b,
        difference,
        z,
        p_value,
        difference_interval,
        relative_uplift,
        relative_interval,
    }
}

/// Observations per arm for the two-sided pooled z-test of [`two_proportion_test`] at level
/// `alpha` to detect p₂ = `p_base`·(1 + `relative_mde`) against p₁ = `p_base` with probability
/// `power` (Fleiss, Levin & Paik, *Statistical Methods for Rates and Proportions*, ch. 4, without
/// the continuity correction):
///
/// n = [z₁₋α/₂·√(2p̄(1 − p̄)) + z_power·√(p₁(1 − p₁) + p₂(1 − p₂))]² / (p₂ − p₁)², p̄ = (p₁ + p₂)/2,
///
/// rounded up. It inverts [`power_two_proportions`] for equal arms (up to the far tail, which that
/// adds and this formula neglects). `None` when no such test exists: `p_base` not in (0, 1), a
/// zero or non-finite `relative_mde`, or a target p₂ outside [0, 1].
///
/// # Panics
/// If `alpha` or `power` is not in (0, 1).
pub fn sample_size_two_proportions(p_base: f64, relative_mde: f64, alpha: f64, power: f64) -> Option<u64> {
    assert!(alpha > 0.0 && alpha < 1.0, "alpha = {alpha} is not in (0, 1)");
    assert!(power > 0.0 && power < 1.0, "power = {power} is not in (0, 1)");
    let (p1, p2) = (p_base, p_base * (1.0 + relative_mde));
    let valid = p1 > 0.0 && p1 < 1.0 && relative_mde != 0.0 && relative_mde.is_finite() && (0.0..=1.0).contains(&p2);
    if !valid {
        return None;
    }
    let p_bar = (p1 + p2) / 2.0;
    let spread = normal_quantile(1.0 - alpha / 2.0) * (2.0 * p_bar * (1.0 - p_bar)).sqrt()
        + normal_quantile(power) * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    Some((spread * spread / ((p2 - p1) * (p2 - p1))).ceil() as u64)
}

/// The power of the two-sided pooled z-test of [`two_proportion_test`] at level `alpha` when the
/// true proportions are `p_a` and `p_b` with `n_a` and `n_b` observations (normal approximation,
/// both tails):
///
/// Φ((|Δ| − z₁₋α/₂·SE₀)/SE₁) + Φ((−|Δ| − z₁₋α/₂·SE₀)/SE₁),
///
/// Δ = p_b − p_a, SE₀ pooled at p̄ = (n_a p_a + n_b p_b)/(n_a + n_b) (what the test computes),
/// SE₁ unpooled (how z is really spread). It is `alpha` when p_a = p_b. 0 when a group is empty
/// (the test never rejects); when SE₁ = 0 (both proportions 0 or 1) z is certain, so 1 if it
/// rejects and 0 if not.
///
/// # Panics
/// If `p_a` or `p_b` is not in [0, 1], or `alpha` not in (0, 1).
pub fn power_two_proportions(p_a: f64, p_b: f64, n_a: u64, n_b: u64, alpha: f64) -> f64 {
    assert!(
        (0.0..=1.0).contains(&p_a) && (0.0..=1.0).contains(&p_b),
        "proportions {p_a}, {p_b} not in [0, 1]"
    );
    assert!(alpha > 0.0 && alpha < 1.0, "alpha = {alpha} is not in (0, 1)");
    if n_a == 0 || n_b == 0 {
        return 0.0;
    }
    let (na, nb) = (n_a as f64, n_b as f64);
    let z = normal_quantile(1.0 - alpha / 2.0);
    let delta = (p_b - p_a).abs();
    let p_bar = (na * p_a + nb * p_b) / (na + nb);
    let se0 = (p_bar * (1.0 - p_bar) * (1.0 / na + 1.0 / nb)).sqrt();
    let se1 = (p_a * (1.0 - p_a) / na + p_b * (1.0 - p_b) / nb).sqrt();
    if se1 == 0.0 {
        return if se0 > 0.0 && delta / se0 > z { 1.0 } else { 0.0 };
    }
    (normal_cdf((delta - z * se0) / se1) + normal_cdf((-delta - z * se0) / se1)).min(1.0)
}
