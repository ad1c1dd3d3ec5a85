//! Rates far above a reference, among many subjects at once: the exact one-sided binomial tail
//! (is this customer's share of rate-limited, or night-time, calls above the reference?) and the
//! Benjamini–Hochberg step-up procedure, which keeps the expected share of false discoveries
//! among the flagged subjects at `q` however many subjects are tested. A fixed cut ("more than
//! 10 a day") ignores both the subject's volume and the number of subjects.

use serde::{Deserialize, Serialize};
use statrs::distribution::{Binomial, DiscreteCDF};

/// P(X ≥ k) for X ~ Binomial(n, p): the exact upper tail (statrs' regularized incomplete beta).
/// 1 when k = 0; 0 when k > n or when p = 0 and k > 0.
///
/// # Panics
/// If `p` is not in [0, 1].
pub fn binomial_upper_tail(k: u64, n: u64, p: f64) -> f64 {
    assert!(
        (0.0..=1.0).contains(&p),
        "binomial_upper_tail: p = {p} is not in [0, 1]"
    );
    if k == 0 {
        return 1.0;
    }
    if k > n || p == 0.0 {
        return 0.0;
    }
    if p == 1.0 {
        return 1.0;
    }
    Binomial::new(p, n).expect("p is in [0, 1]").sf(k - 1)
}

/// One subject's count against the reference rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ExcessTest {
    /// Events and trials.
    pub k: u64,
    pub n: u64,
    pub rate: f64,
    /// The rate tested against: the reference times the multiple.
    pub null_rate: f64,
    /// P(X ≥ k | n, null_rate), one-sided.
    pub p_value: f64,
}

/// Tests `k` of `n` against `reference × multiple` (capped at 1).
pub fn excess_test(k: u64, n: u64, reference: f64, multiple: f64) -> ExcessTest {
    let null_rate = (reference * multiple).clamp(0.0, 1.0);
    ExcessTest {
        k,
        n,
        rate: if n == 0 { 0.0 } else { k as f64 / n as f64 },
        null_rate,
        p_value: binomial_upper_tail(k, n, null_rate),
    }
}

/// The Benjamini–Hochberg step-up procedure (1995) at false-discovery rate `q` over `tested`
/// hypotheses of which `p_values` are the ones worth keeping (any p-value above `q` can never be
/// rejected, so callers may leave those out and still pass the full count): rejects the `r`
/// smallest, r the largest rank i with p₍ᵢ₎ ≤ i·q/m. Returns whether each of `p_values` is
/// rejected, in the input's order.
///
/// # Panics
/// If `tested` is less than the p-values given, or `q` is not in (0, 1).
pub fn benjamini_hochberg(p_values: &[f64], tested: usize, q: f64) -> Vec<bool> {
    assert!(q > 0.0 && q < 1.0, "benjamini_hochberg: q = {q} is not in (0, 1)");
    assert!(
        tested >= p_values.len(),
        "benjamini_hochberg: {tested} tested < {}",
        p_values.len()
    );
    let mut order: Vec<usize> = (0..p_values.len()).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]).then(a.cmp(&b)));
    let m = tested as f64;
    let cut = order
        .iter()
        .enumerate()
        .filter(|&(rank, &i)| p_values[i] <= (rank + 1) as f64 * q / m)
        .map(|(rank, _)| rank + 1)
        .max()
        .unwrap_or(0);
    let mut out = vec![false; p_values.len()];
    for &i in &order[..cut] {
        out[i] = true;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binomial_tail_matches_a_direct_sum() {
        // P(X ≥ 3) for Bin(10, 0.1) = 1 − Σ_{x<3} C(10,x) 0.1^x 0.9^(10−x) = 0.0701908.
        let direct = 1.0 - (0.9f64.powi(10) + 10.0 * 0.1 * 0.9f64.powi(9) + 45.0 * 0.01 * 0.9f64.powi(8));
        assert!((binomial_upper_tail(3, 10, 0.1) - direct).abs() < 1e-12);
        assert_eq!(binomial_upper_tail(0, 10, 0.1), 1.0);
        assert_eq!(binomial_upper_tail(11, 10, 0.1), 0.0);
        assert_eq!(binomial_upper_tail(1, 10, 0.0), 0.0);
        assert_eq!(binomial_upper_tail(10, 10, 1.0), 1.0);
    }

    #[test]
    fn benjamini_hochberg_steps_up() {
        // m = 5, q = 0.05: thresholds 0.01, 0.02, 0.03, 0.04, 0.05. 0.035 fails its own rank (3:
        // 0.03) but rank 4's 0.039 passes, so the three below it are rejected too.
        let p = [0.039, 0.001, 0.5, 0.035, 0.02];
        assert_eq!(benjamini_hochberg(&p, 5, 0.05), vec![true, true, false, true, true]);
        // The same p-values among 40 tested: only 0.001 ≤ 1·0.05/40 (rank 2 needs ≤ 0.0025).
        assert_eq!(benjamini_hochberg(&p, 40, 0.05), vec![false, true, false, false, false]);
        assert!(benjamini_hochberg(&[], 10, 0.05).is_empty());
    }
}
