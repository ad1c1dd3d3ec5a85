//! PSI, quantile edges and the two-sample Kolmogorov–Smirnov test, against published values and brute force.

use super::*;

// PSI.

#[test]
fn psi_of_known_shares() {
    assert_eq!(psi(&[10, 20, 30], &[10, 20, 30], 1e-4), 0.0);
    close(psi(&[1, 2, 3], &[10, 20, 30], 1e-4), 0.0, 1e-15);
    // (0.25 − 0.5)·ln(0.25/0.5) + (0.75 − 0.5)·ln(0.75/0.5).
    close(psi(&[50, 50], &[25, 75], 1e-4), 0.2746530721670274, 1e-12);
    close(psi(&[25, 75], &[50, 50], 1e-4), 0.2746530721670274, 1e-12);
    // An emptied bin, floored at 1e-4: (0.9 − 1)·ln(0.9) + (0.1 − 1e-4)·ln(0.1/1e-4).
    close(psi(&[100, 0], &[90, 10], 1e-4), 0.7006208039360982, 1e-12);
    assert!(psi(&[0, 0], &[3, 4], 1e-4).is_finite());
    assert_eq!(psi(&[], &[], 1e-4), 0.0);
}

#[test]
fn quantile_edges_make_even_bins_and_merge_repeated_values() {
    let values: Vec<f64> = (1..=100).map(f64::from).collect();
    let edges = quantile_edges(&values, 4);
    assert_eq!(edges, [25.0, 50.0, 75.0]);
    let mut per_bin = [0; 4];
    for &x in &values {
        per_bin[bin_index(&edges, x)] += 1;
    }
    assert_eq!(per_bin, [25; 4]);
    assert_eq!(
        (
            bin_index(&edges, 25.0),
            bin_index(&edges, 25.5),
            bin_index(&edges, -1e9)
        ),
        (0, 1, 0)
    );
    assert_eq!(bin_index(&edges, 1e9), 3);

    // A discrete feature: three values give three bins, none empty.
    let edges = quantile_edges(&[1.0, 1.0, 1.0, 2.0, 2.0, 3.0], 4);
    assert_eq!(edges, [1.0, 2.0]);
    assert_eq!([1.0, 2.0, 3.0].map(|x| bin_index(&edges, x)), [0, 1, 2]);
    assert_eq!(quantile_edges(&[1.0, 1.0, 1.0, 1.0, 2.0], 4), [1.0]);
    assert!(quantile_edges(&[5.0; 8], 10).is_empty());
    assert!(quantile_edges(&[], 10).is_empty());
    assert!(quantile_edges(&values, 1).is_empty());
    assert_eq!(bin_index(&[], 3.0), 0);
}

// Kolmogorov–Smirnov.

/// (value, count) pairs of the distinct values of `values`.
fn value_counts(values: &[f64]) -> Vec<(f64, u64)> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut counts: Vec<(f64, u64)> = Vec::new();
    for x in sorted {
        match counts.last_mut() {
            Some(last) if last.0 == x => last.1 += 1,
            _ => counts.push((x, 1)),
        }
    }
    counts
}

/// D by brute force: both ecdfs, from the raw values, at every observed value.
fn brute_force_ks(a: &[f64], b: &[f64]) -> f64 {
    let ecdf = |sample: &[f64], x: f64| sample.iter().filter(|&&v| v <= x).count() as f64 / sample.len() as f64;
    a.iter()
        .chain(b)
        .map(|&x| (ecdf(a, x) - ecdf(b, x)).abs())
        .fold(0.0, f64::max)
}

#[test]
fn ks_matches_scipy_and_brute_force() {
    let a = [1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 5.0, 8.0];
    let b = [2.0, 3.0, 3.0, 4.0, 6.0, 7.0, 9.0, 9.0, 10.0, 11.0];
    let test = ks_two_sample(&value_counts(&a), &value_counts(&b));
    // scipy.stats.ks_2samp: 0.475; kstwobign.sf((√nₑ + 0.12 + 0.11/√nₑ)·0.475).
    close(test.statistic, 0.475, 1e-15);
    close(brute_force_ks(&a, &b), 0.475, 1e-15);
    close(test.p_value, 0.1912346520472268, 1e-12);
    assert_eq!((test.n_a, test.n_b), (8, 10));
    json_round_trip(&test);

    // Random samples with many ties (a handful of distinct values), against brute force.
    let mut rng = SplitMix(7);
    for _ in 0..200 {
        let sample = |rng: &mut SplitMix, shift: u64| -> Vec<f64> {
            let (len, range) = (1 + rng.below(40), 2 + rng.below(12));
            (0..len).map(|_| (rng.below(range) + shift) as f64 * 0.5).collect()
        };
        let shift = rng.below(3);
        let (a, b) = (sample(&mut rng, 0), sample(&mut rng, shift));
        let test = ks_two_sample(&value_counts(&a), &value_counts(&b));
        close(test.statistic, brute_force_ks(&a, &b), 1e-12);
        assert!((0.0..=1.0).contains(&test.p_value));
    }
    // Identical samples: no gap; an empty one: nothing to test.
    let same = value_counts(&a);
    assert_eq!(ks_two_sample(&same, &same).statistic, 0.0);
    assert_eq!(ks_two_sample(&same, &same).p_value, 1.0);
    assert_eq!(
        ks_two_sample(&same, &[]),
        KsTest {
            statistic: 0.0,
            p_value: 1.0,
            n_a: 8,
            n_b: 0
        }
    );
}

#[test]
fn kolmogorov_q_matches_scipy() {
    // scipy.stats.kstwobign.sf(λ).
    for (lambda, q) in [
        (0.3, 0.9999906941986655),
        (0.5, 0.9639452436648751),
        (1.0, 0.26999967167735456),
        (1.18, 0.1234538094297657),
        (1.358, 0.05002679733444698),
        (2.0, 0.0006709252557796953),
        (3.0, 3.045995948942526e-08),
    ] {
        close(kolmogorov_q(lambda), q, 1e-14);
    }
    assert_eq!(kolmogorov_q(0.0), 1.0);
    assert_eq!(kolmogorov_q(0.01), 1.0);
    assert_eq!(kolmogorov_q(40.0), 0.0);
    // The two series agree where they meet.
    close(kolmogorov_q(1.18 - 1e-12), kolmogorov_q(1.18), 1e-12);
}
