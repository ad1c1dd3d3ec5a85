//! Drift: has a feature's distribution moved between a reference window and the current one? The
//! population stability index over binned shares, and the two-sample Kolmogorov–Smirnov test over
//! value counts.

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};

/// The population stability index Σᵢ (cᵢ − rᵢ)·ln(cᵢ/rᵢ) over bins, rᵢ and cᵢ the reference and
/// current shares (Yurdakul 2018): a symmetrised Kullback–Leibler divergence, 0 for identical
/// shares; the usual reading is below 0.1 stable, 0.1–0.25 a moderate shift, above 0.25 a major one.
///
/// Each share is floored at `floor` (e.g. 1e-4) first, so a bin empty on one side adds a large but
/// finite term instead of infinity; shares are not renormalised after flooring. A side with no
/// counts at all has every share floored.
///
/// # Panics
/// If the slices differ in length (they must be the same bins), or `floor` is not a positive number.
pub fn psi(reference_counts: &[u64], current_counts: &[u64], floor: f64) -> f64 {
    assert_eq!(
        reference_counts.len(),
        current_counts.len(),
        "psi: reference and current bins differ"
    );
    assert!(
        floor > 0.0 && floor.is_finite(),
        "psi: floor = {floor} is not a positive number"
    );
    let shares = |counts: &[u64]| {
        let total = counts.iter().sum::<u64>().max(1) as f64;
        counts
            .iter()
            .map(move |&c| (c as f64 / total).max(floor))
            .collect::<Vec<_>>()
    };
    let (reference, current) = (shares(reference_counts), shares(current_counts));
    reference
        .iter()
        .zip(&current)
        .map(|(r, c)| (c - r) * (c / r).ln())
        .sum()
}

/// Interior bin edges at the reference's quantiles k/`bins`, k = 1..bins − 1, for [`psi`]: each bin
/// then holds about the same share of the reference, so PSI weighs the whole range alike.
///
/// An edge is the nearest-rank quantile (the ⌈k·n/bins⌉-th smallest value) and closes its bin on
/// the right (see [`bin_index`]). Repeated edges are merged and an edge at the maximum is dropped
/// (its bin would be empty in the reference), so a discrete feature with few values gets fewer
/// bins, never an empty one: [1, 1, 1, 2, 2, 3] in 4 bins gives edges [1, 2], bins ≤ 1, (1, 2], > 2.
/// No values, or `bins` below 2, give no edges: one bin.
pub fn quantile_edges(sorted_values: &[f64], bins: usize) -> Vec<f64> {
    debug_assert!(
        sorted_values.windows(2).all(|w| w[0] <= w[1]),
        "quantile_edges: values are not sorted"
    );
    let n = sorted_values.len();
    let Some(&max) = sorted_values.last() else {
        return Vec::new();
    };
    let mut edges: Vec<f64> = Vec::new();
    for k in 1..bins {
        // ⌈k·n/bins⌉ in integers, ≥ 1 since k, n ≥ 1.
        let edge = sorted_values[(k * n).div_ceil(bins) - 1];
        if edge < max && edges.last().is_none_or(|&last| edge > last) {
            edges.push(edge);
        }
    }
    edges
}

/// [`quantile_edges`] from (value, count) pairs sorted by value, as a group-by returns them: the
/// same edges as over the values themselves, each repeated `count` times, without expanding them.
pub fn quantile_edges_from_counts(sorted_counts: &[(f64, u64)], bins: usize) -> Vec<f64> {
    debug_assert!(
        sorted_counts.windows(2).all(|w| w[0].0 <= w[1].0),
        "quantile_edges_from_counts: values are not sorted"
    );
    let n: u64 = sorted_counts.iter().map(|&(_, count)| count).sum();
    let Some(max) = sorted_counts
        .iter()
        .rev()
        .find(|&&(_, count)| count > 0)
        .map(|&(v, _)| v)
    else {
        return Vec::new();
    };
    let mut edges: Vec<f64> = Vec::new();
    let (mut i, mut seen) = (0, 0u64);
    for k in 1..bins as u64 {
        // The ⌈k·n/bins⌉-th smallest value (1-based rank), as in `quantile_edges`.
        let rank = (k * n).div_ceil(bins as u64);
        while seen < rank {
            seen += sorted_counts[i].1;
            i += 1;
        }
        let edge = sorted_counts[i - 1].0;
        if edge < max && edges.last().is_none_or(|&last| edge > last) {
            edges.push(edge);
        }
    }
    edges
}

/// The bin of `x` for interior `edges` (ascending, as from [`quantile_edges`]): bin i is
/// (edges[i − 1], edges[i]], so 0 is x ≤ edges[0] and `edges.len()` is x > the last edge. NaN falls in
/// bin 0; filter missing values out first.
pub fn bin_index(edges: &[f64], x: f64) -> usize {
    edges.partition_point(|&edge| edge < x)
}

/// A two-sample Kolmogorov–Smirnov test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KsTest {
    /// D = maxₓ |F_a(x) − F_b(x)|, the largest gap between the two empirical cdfs.
    pub statistic: f64,
    /// Asymptotic, see [`ks_two_sample`].
    pub p_value: f64,
    pub n_a: u64,
    pub n_b: u64,
}

/// The two-sample Kolmogorov–Smirnov test from (value, count) pairs sorted by value, so a
/// group-by's value counts stand in for the rows. At each distinct value both empirical cdfs step
/// past every observation equal to it before they are compared, so values tied across the samples
/// open no spurious gap. D is exact: the gaps are compared as integers |c_a·n_b − c_b·n_a|.
///
/// The p-value is asymptotic: Q_KS(λ) ([`kolmogorov_q`]) with λ = (√nₑ + 0.12 + 0.11/√nₑ)·D,
/// nₑ = n_a·n_b/(n_a + n_b) (Stephens 1970; Numerical Recipes, 3rd ed., §14.3.3). Stephens'
/// correction makes it good from nₑ ≈ 4 on; with many ties (a discrete feature) it is
/// conservative. An empty sample gives D = 0 and p = 1.
pub fn ks_two_sample(a: &[(f64, u64)], b: &[(f64, u64)]) -> KsTest {
    debug_assert!(
        a.windows(2).all(|w| w[0].0 <= w[1].0),
        "ks_two_sample: a is not sorted by value"
    );
    debug_assert!(
        b.windows(2).all(|w| w[0].0 <= w[1].0),
        "ks_two_sample: b is not sorted by value"
    );
    let n_a: u64 = a.iter().map(|&(_, count)| count).sum();
    let n_b: u64 = b.iter().map(|&(_, count)| count).sum();
    if n_a == 0 || n_b == 0 {
        return KsTest {
            statistic: 0.0,
            p_value: 1.0,
            n_a,
            n_b,
        };
    }
    let (mut i, mut j) = (0, 0);
    let (mut c_a, mut c_b) = (0u64, 0u64);
    let mut max_gap = 0u128;
    while i < a.len() || j < b.len() {
        let x = match (a.get(i), b.get(j)) {
            (Some(&(x_a, _)), Some(&(x_b, _))) => x_a.min(x_b),
            (Some(&(x, _)), None) | (None, Some(&(x, _))) => x,
            (None, None) => unreachable!("the loop runs while either side has values"),
        };
        while let Some(&(value, count)) = a.get(i)
            && value == x
        {
            c_a += count;
            i += 1;
        }
        while let Some(&(value, count)) = b.get(j)
            && value == x
        {
            c_b += count;
            j += 1;
        }
        // F_a − F_b = (c_a·n_b − c_b·n_a) / (n_a·n_b), exact in u128.
        max_gap = max_gap.max((c_a as u128 * n_b as u128).abs_diff(c_b as u128 * n_a as u128));
    }
    let statistic = max_gap as f64 / (n_a as f64 * n_b as f64);
    let n_e = (n_a as f64 * n_b as f64 / (n_a as f64 + n_b as f64)).sqrt();
    let lambda = (n_e + 0.12 + 0.11 / n_e) * statistic;
    KsTest {
        statistic,
        p_value: kolmogorov_q(lambda),
        n_a,
        n_b,
    }
}

/// The survival function of the Kolmogorov distribution, Q_KS(λ) = 2 Σⱼ≥₁ (−1)ʲ⁻¹ e^(−2j²λ²).
/// That series converges fast for large λ and is summed as written from λ = 1.18 on; below, it is
/// 1 − P_KS(λ) with the equivalent P_KS(λ) = (√(2π)/λ) Σⱼ≥₁ e^(−(2j−1)²π²/(8λ²)), which converges
/// fast there (Numerical Recipes, 3rd ed., §6.14.12). Four terms of either reach double precision
/// in its range. Clamped to [0, 1]; 1 for λ ≤ 0.
pub fn kolmogorov_q(lambda: f64) -> f64 {
    if lambda.is_nan() || lambda <= 0.0 {
        return 1.0;
    }
    let q = if lambda < 1.18 {
        let y = (-PI * PI / (8.0 * lambda * lambda)).exp();
        1.0 - (2.0 * PI).sqrt() / lambda * (y + y.powi(9) + y.powi(25) + y.powi(49))
    } else {
        let x = (-2.0 * lambda * lambda).exp();
        2.0 * (x - x.powi(4) + x.powi(9))
    };
    q.clamp(0.0, 1.0)
}
