//! Ratio metrics over clusters: a rate per attempt (conversion, revenue per attempt) when users,
//! not attempts, were randomized. A user's attempts are not independent draws (a persona that
//! rarely abandons does so on every attempt), so the binomial standard error √(p(1 − p)/n) of the
//! attempts understates the spread; the delta method on the per-user sums does not (Deng, Knoblich
//! & Lu, "Applying the Delta Method in Metric Analytics", KDD 2018, §3).
//!
//! With yᵢ and nᵢ the numerator and denominator of user i (conversions and attempts), N users and
//! R = Σy/Σn, the first-order (delta method) variance of R is
//!
//! Var(R) ≈ Σ(yᵢ − R·nᵢ)² · N / ((N − 1)·(Σn)²),
//!
//! the sample variance of the residuals yᵢ − R·nᵢ (whose mean is 0) over N·n̄². With one attempt
//! per user it is the Wald variance p(1 − p)/n, times N/(N − 1).

use serde::{Deserialize, Serialize};

use super::{Interval, normal_two_sided_p, two_sided_z};

/// One group's per-cluster sums: all the delta method needs, from a group-by on the cluster.
/// Sums of squares of money in cents overflow i64 on large data: add them up exactly (e.g. in
/// i128) and convert at the end, so the result does not depend on the order of the rows.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ClusterSums {
    /// Clusters (users) with a denominator above 0.
    pub clusters: u64,
    /// Σy, Σn.
    pub num: f64,
    pub den: f64,
    /// Σy², Σn², Σy·n.
    pub num_sq: f64,
    pub den_sq: f64,
    pub num_den: f64,
}

impl ClusterSums {
    /// R = Σy/Σn; `None` when Σn = 0.
    pub fn ratio(&self) -> Option<f64> {
        (self.den > 0.0).then(|| self.num / self.den)
    }

    /// The delta-method variance of R (see the module); `None` with fewer than two clusters or
    /// Σn = 0. Σ(y − Rn)² = Σy² − 2RΣyn + R²Σn² can round a hair below 0: clamped there.
    pub fn ratio_variance(&self) -> Option<f64> {
        let r = self.ratio()?;
        if self.clusters < 2 {
            return None;
        }
        let residual = (self.num_sq - 2.0 * r * self.num_den + r * r * self.den_sq).max(0.0);
        let n = self.clusters as f64;
        Some(residual * n / ((n - 1.0) * self.den * self.den))
    }

    /// The design effect: Var(R) over the variance if the Σn units were independent Bernoulli
    /// trials, R(1 − R)/Σn (for a rate of 0/1 outcomes). 1 for independent attempts; above 1 when
    /// a user's attempts go together. `None` when either variance is undefined or 0.
    pub fn design_effect(&self) -> Option<f64> {
        let r = self.ratio()?;
        let binomial = r * (1.0 - r) / self.den;
        let clustered = self.ratio_variance()?;
        (binomial > 0.0 && binomial.is_finite()).then(|| clustered / binomial)
    }
}

/// B's ratio against A's (A is the control), from independent groups of clusters.
///
/// When a ratio or its variance is undefined (no denominator, fewer than two clusters) or the
/// standard error is 0, there is no test: `z` is 0, `p_value` 1 and the intervals `None`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatioTest {
    /// R_a and R_b (0 when undefined).
    pub ratio_a: f64,
    pub ratio_b: f64,
    /// R_b − R_a.
    pub difference: f64,
    /// (R_b − R_a) / √(Var R_a + Var R_b).
    pub z: f64,
    /// Two-sided, from the normal approximation.
    pub p_value: f64,
    /// difference ± z₁₋α/₂·√(Var R_a + Var R_b).
    pub difference_interval: Option<Interval>,
    /// R_b / R_a − 1; `None` when R_a = 0.
    pub relative_uplift: Option<f64>,
    /// exp(ln(R_b/R_a) ± z₁₋α/₂·s) − 1 with s² = Var R_a / R_a² + Var R_b / R_b²: the delta method
    /// on the log of the ratio, as [`super::ProportionTest::relative_interval`] (it stays above
    /// −1). `None` when R_a or R_b is 0 or a variance is undefined.
    pub relative_interval: Option<Interval>,
}

/// Compares B's ratio with A's, with intervals at `confidence` (see [`RatioTest`]).
///
/// # Panics
/// If `confidence` is not in (0, 1).
pub fn ratio_test(a: &ClusterSums, b: &ClusterSums, confidence: f64) -> RatioTest {
    let z_c = two_sided_z(confidence);
    let (r_a, r_b) = (a.ratio().unwrap_or(0.0), b.ratio().unwrap_or(0.0));
    let difference = r_b - r_a;
    let relative_uplift = (r_a != 0.0 && a.ratio().is_some() && b.ratio().is_some()).then(|| r_b / r_a - 1.0);
    let mut out = RatioTest {
        ratio_a: r_a,
        ratio_b: r_b,
        difference,
        z: 0.0,
        p_value: 1.0,
        difference_interval: None,
        relative_uplift,
        relative_interval: None,
    };
    let (Some(v_a), Some(v_b)) = (a.ratio_variance(), b.ratio_variance()) else {
        return out;
    };
    let se = (v_a + v_b).sqrt();
    if se <= 0.0 || !se.is_finite() {
        return out;
    }
    out.z = difference / se;
    out.p_value = normal_two_sided_p(out.z);
    out.difference_interval = Interval::around(difference, z_c * se).finite();
    out.relative_interval = (r_a > 0.0 && r_b > 0.0)
        .then(|| {
            let s = (v_a / (r_a * r_a) + v_b / (r_b * r_b)).sqrt();
            let Interval { lo, hi } = Interval::around((r_b / r_a).ln(), z_c * s);
            Interval {
                lo: lo.exp() - 1.0,
                hi: hi.exp() - 1.0,
            }
        })
        .and_then(Interval::finite);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::stats::two_proportion_test;

    /// Sums of (y, n) pairs, one per cluster.
    fn sums(clusters: &[(f64, f64)]) -> ClusterSums {
        clusters.iter().fold(ClusterSums::default(), |s, &(y, n)| ClusterSums {
            clusters: s.clusters + 1,
            num: s.num + y,
            den: s.den + n,
            num_sq: s.num_sq + y * y,
            den_sq: s.den_sq + n * n,
            num_den: s.num_den + y * n,
        })
    }

    #[test]
    fn one_attempt_per_user_is_the_wald_variance() {
        // 30 of 100 users converted on their single attempt.
        let a: Vec<(f64, f64)> = (0..100).map(|i| (f64::from(u8::from(i < 30)), 1.0)).collect();
        let s = sums(&a);
        let p = 0.3;
        let wald = p * (1.0 - p) / 100.0;
        let v = s.ratio_variance().unwrap();
        assert!((v - wald * 100.0 / 99.0).abs() < 1e-15, "{v} vs {wald}");
        assert!((s.design_effect().unwrap() - 100.0 / 99.0).abs() < 1e-12);
    }

    #[test]
    fn matches_the_residual_variance_written_out() {
        let a = [(3.0, 4.0), (0.0, 2.0), (5.0, 5.0), (1.0, 3.0), (2.0, 2.0)];
        let s = sums(&a);
        let r = 11.0 / 16.0;
        let residual: f64 = a.iter().map(|(y, n)| (y - r * n) * (y - r * n)).sum();
        let expected = residual / 4.0 / (5.0 * (16.0f64 / 5.0).powi(2));
        assert!((s.ratio_variance().unwrap() - expected).abs() < 1e-15);
    }

    #[test]
    fn independent_single_attempts_agree_with_the_two_proportion_test() {
        // With one attempt per user the relative interval is the z-test's Katz interval, up to
        // the N/(N − 1) factor and the Wald (not x-based) variance of each log rate, which agree.
        let arm = |k: usize, n: usize| sums(&(0..n).map(|i| (f64::from(u8::from(i < k)), 1.0)).collect::<Vec<_>>());
        let t = ratio_test(&arm(400, 5000), &arm(460, 5000), 0.95);
        let z = two_proportion_test(400, 5000, 460, 5000, 0.95);
        let (ri, zi) = (t.relative_interval.unwrap(), z.relative_interval.unwrap());
        assert!((t.relative_uplift.unwrap() - z.relative_uplift.unwrap()).abs() < 1e-12);
        assert!(
            (ri.lo - zi.lo).abs() < 1e-4 && (ri.hi - zi.hi).abs() < 1e-4,
            "{ri:?} vs {zi:?}"
        );
        assert!(t.p_value > 0.0 && t.p_value < 0.05);
    }

    #[test]
    fn clustered_users_widen_the_interval() {
        // Half the users always convert, half never: the attempts are far from independent.
        let users: Vec<(f64, f64)> = (0..200)
            .map(|i| if i % 2 == 0 { (10.0, 10.0) } else { (0.0, 10.0) })
            .collect();
        let s = sums(&users);
        assert!(s.design_effect().unwrap() > 9.0, "{:?}", s.design_effect());
    }

    #[test]
    fn degenerate_groups_give_no_test() {
        let empty = ClusterSums::default();
        let one = sums(&[(1.0, 2.0)]);
        let some = sums(&[(1.0, 2.0), (0.0, 1.0), (2.0, 2.0)]);
        for (a, b) in [(empty, some), (some, one), (one, one)] {
            let t = ratio_test(&a, &b, 0.95);
            assert_eq!((t.z, t.p_value), (0.0, 1.0));
            assert!(t.difference_interval.is_none() && t.relative_interval.is_none());
            assert!(serde_json::to_string(&t).unwrap().find("null").is_some());
        }
        assert!(empty.ratio().is_none() && empty.ratio_variance().is_none());
    }
}
