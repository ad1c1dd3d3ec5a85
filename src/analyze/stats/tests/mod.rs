//! Expected values are published figures, or were computed independently with SciPy 1.18
//! (`scipy.stats`: `norm`, `t`, `ttest_ind(equal_var=False)`, `chi2_contingency`, `kstwobign`,
//! `ks_2samp`) and typed in; the rest is checked against brute force in the test itself.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::*;

mod detection;
mod drift;

#[track_caller]
fn close(actual: f64, expected: f64, tolerance: f64) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{actual} is not within {tolerance} of {expected}"
    );
}

#[track_caller]
fn close_interval(actual: Interval, lo: f64, hi: f64, tolerance: f64) {
    close(actual.lo, lo, tolerance);
    close(actual.hi, hi, tolerance);
}

/// Every number in `value` is finite (serde_json would write NaN and ±inf as `null`), and its JSON
/// reads back. (Not compared for equality: serde_json's parser may differ from the written value
/// in the last bit.)
#[track_caller]
fn json_round_trip<T: Serialize + DeserializeOwned + std::fmt::Debug>(value: &T) {
    let debug = format!("{value:?}");
    let words = debug.split(|c: char| !c.is_alphanumeric());
    assert!(
        !words.into_iter().any(|w| w == "NaN" || w == "inf"),
        "not finite: {debug}"
    );
    let json = serde_json::to_string(value).unwrap();
    let _: T = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json} does not read back: {e}"));
}

/// SplitMix64: a seeded stream for the randomized checks, no crate needed.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// Distributions.

#[test]
fn normal_quantiles_match_published_values() {
    close(normal_quantile(0.975), 1.959964, 1e-6);
    close(normal_quantile(0.975), 1.959963984540054, 1e-12);
    close(normal_quantile(0.05), -1.6448536269514729, 1e-12);
    close(normal_quantile(1e-10), -6.361340902404056, 1e-9);
    assert_eq!(normal_quantile(0.5), 0.0);
    assert_eq!(normal_quantile(1.0), f64::INFINITY);
    close(two_sided_z(0.95), 1.959964, 1e-6);
    close(two_sided_z(0.99), 2.5758293035489004, 1e-12);
    // statrs' erfc is good to about 1e-10 relative.
    close(normal_cdf(1.959963984540054), 0.975, 1e-10);
    close(normal_cdf(-3.0), 0.0013498980316300933, 1e-10 * 0.0013498980316300933);
}

#[test]
#[should_panic(expected = "not in (0, 1)")]
fn a_confidence_of_one_is_refused() {
    two_sided_z(1.0);
}

#[test]
fn student_t_matches_scipy() {
    // (df, t.ppf(0.975, df), t.sf(2.0, df)).
    let cases = [
        (1.0, 12.706204736174694, 0.14758361765043326),
        (2.5, 3.5746548420036817, 0.07869574787898295),
        (10.0, 2.228138851986274, 0.03669401738537018),
        (24.9, 2.0599580324598343, 0.02826033576759972),
        (1000.0, 1.9623390808264083, 0.02288517324662583),
        (3e4, 1.9600430633839347, 0.022754631266618114),
        (1e6, 1.959966356814107, 0.02275026692565962),
        (1e7, 1.959964221767205, 0.02275014544592148),
        (1e9, 1.959963986912325, 0.022750132083156623),
    ];
    for (df, quantile, sf) in cases {
        close(t_two_sided_quantile(0.95, df), quantile, 1e-9 * quantile);
        close(t_two_sided_p(2.0, df), 2.0 * sf, 1e-8 * sf);
        close(t_two_sided_p(-2.0, df), 2.0 * sf, 1e-8 * sf);
    }
    // Either side of the switches to the expansion and to the normal transform.
    close(t_two_sided_quantile(0.99, 5e3), 2.5768129665562802, 1e-12);
    close(t_two_sided_p(2.0, 3e7), 0.045500272894853, 1e-10 * 0.0455);
    close(
        t_two_sided_p(5.0, 3e7),
        5.733063649912948e-07,
        1e-9 * 5.733063649912948e-07,
    );
}

// Wilson.

#[test]
fn wilson_matches_published_intervals() {
    // 8/10: the textbook example, [0.4902, 0.9433].
    close_interval(wilson_interval(8, 10, 0.95), 0.4902, 0.9433, 5e-5);
    // Newcombe (1998), Statistics in Medicine 17, table I, method 3.
    close_interval(wilson_interval(81, 263, 0.95), 0.2553, 0.3662, 5e-5);
    close_interval(wilson_interval(15, 148, 0.95), 0.0624, 0.1605, 5e-5);
    close_interval(wilson_interval(0, 20, 0.95), 0.0, 0.1611, 5e-5);
    close_interval(wilson_interval(1, 29, 0.95), 0.0061, 0.1718, 5e-5);
}

#[test]
fn wilson_ends_are_exact_and_an_empty_group_knows_nothing() {
    assert_eq!(wilson_interval(0, 20, 0.95).lo, 0.0);
    assert_eq!(wilson_interval(10, 10, 0.95).hi, 1.0);
    close(wilson_interval(10, 10, 0.95).lo, 0.7224672001371107, 1e-12);
    assert_eq!(wilson_interval(0, 0, 0.95), Interval { lo: 0.0, hi: 1.0 });
    // A higher confidence gives a wider interval around the same proportion.
    let (i95, i99) = (wilson_interval(30, 100, 0.95), wilson_interval(30, 100, 0.99));
    assert!(i99.lo < i95.lo && i95.hi < i99.hi && i95.contains(0.3));
}

// Two proportions.

#[test]
fn two_proportion_z_squared_is_the_chi_square_of_the_table() {
    // 120/1000 against 150/1000: the uncorrected chi-square of the 2×2 table is z² of the pooled
    // test, scipy.stats.chi2_contingency(correction=False): 3.8535645472061657, p 0.049640386865368834.
    let test = two_proportion_test(120, 1000, 150, 1000, 0.95);
    assert_eq!((test.p_a, test.p_b), (0.12, 0.15));
    close(test.difference, 0.03, 1e-15);
    close(test.z * test.z, 3.8535645472061657, 1e-10);
    assert!(test.z > 0.0);
    close(test.p_value, 0.049640386865368834, 1e-10 * 0.05);
    // Worked by hand: 0.03 ± 1.959964·√(0.12·0.88/1000 + 0.15·0.85/1000).
    close_interval(
        test.difference_interval,
        7.602882129778554e-05,
        0.05992397117870221,
        1e-12,
    );
    close(test.relative_uplift.unwrap(), 0.25, 1e-12);
    // exp(ln(1.25) ± 1.959964·√(0.88/120 + 0.85/150)) − 1.
    close_interval(
        test.relative_interval.unwrap(),
        -0.0003266722419859036,
        0.5630105921743935,
        1e-12,
    );

    // Swapping the groups negates z and keeps the p-value.
    let swapped = two_proportion_test(150, 1000, 120, 1000, 0.95);
    close(swapped.z, -test.z, 1e-12);
    close(swapped.p_value, test.p_value, 1e-15);
}

#[test]
fn degenerate_proportions_give_documented_finite_figures() {
    for (x_a, n_a, x_b, n_b) in [
        (0, 0, 0, 0),
        (0, 0, 5, 10),
        (5, 10, 0, 0),
        (0, 10, 0, 10),
        (10, 10, 10, 10),
        (0, 10, 5, 10),
        (5, 10, 0, 10),
    ] {
        let test = two_proportion_test(x_a, n_a, x_b, n_b, 0.95);
        json_round_trip(&test);
        assert!(test.p_value > 0.0 && test.p_value <= 1.0);
        assert!(test.difference_interval.lo >= -1.0 && test.difference_interval.hi <= 1.0);
        assert_eq!(test.relative_uplift.is_some(), x_a > 0, "{test:?}");
        assert_eq!(test.relative_interval.is_some(), x_a > 0 && x_b > 0, "{test:?}");
    }
    let empty = two_proportion_test(0, 0, 5, 10, 0.95);
    assert_eq!((empty.z, empty.p_value), (0.0, 1.0));
    assert_eq!(empty.difference_interval, Interval { lo: -1.0, hi: 1.0 });
    let all_zero = two_proportion_test(0, 10, 0, 10, 0.95);
    assert_eq!((all_zero.z, all_zero.p_value), (0.0, 1.0));
    assert_eq!(two_proportion_test(5, 10, 0, 10, 0.95).relative_uplift, Some(-1.0));
}

#[test]
fn sample_size_and_power() {
    // Fleiss without continuity correction, worked by hand for 10% → 12%:
    // [1.959964·√(2·0.11·0.89) + 0.841621·√(0.1·0.9 + 0.12·0.88)]² / 0.02² = 3840.85.
    // (Cohen's arcsine effect size h gives nearly the same: 2·((z + z_power)/h)² = 3834.6.)
    assert_eq!(sample_size_two_proportions(0.10, 0.2, 0.05, 0.8), Some(3841));
    // 5% → 5.5% at 90% power, the same formula in SciPy: 41812.2.
    assert_eq!(sample_size_two_proportions(0.05, 0.1, 0.05, 0.9), Some(41813));
    // Power inverts it: just enough at 3841 per arm, not at 3840.
    close(
        power_two_proportions(0.10, 0.12, 3841, 3841, 0.05),
        0.800016528616374,
        1e-9,
    );
    close(
        power_two_proportions(0.10, 0.12, 3840, 3840, 0.05),
        0.7999143736058018,
        1e-9,
    );
    close(
        power_two_proportions(0.10, 0.13, 1000, 2000, 0.05),
        0.670211802332953,
        1e-9,
    );
    // No difference: the test rejects at its level.
    close(power_two_proportions(0.3, 0.3, 500, 700, 0.05), 0.05, 1e-10 * 0.05);

    // Degenerate inputs.
    for (p, mde) in [
        (0.0, 0.2),
        (1.0, -0.2),
        (0.1, 0.0),
        (0.6, 1.0),
        (0.1, f64::NAN),
        (0.1, f64::INFINITY),
    ] {
        assert_eq!(sample_size_two_proportions(p, mde, 0.05, 0.8), None, "{p} {mde}");
    }
    assert_eq!(sample_size_two_proportions(0.5, 1.0, 0.05, 0.8), Some(11));
    assert_eq!(power_two_proportions(0.1, 0.2, 0, 100, 0.05), 0.0);
    assert_eq!(power_two_proportions(0.0, 1.0, 10, 10, 0.05), 1.0);
    assert_eq!(power_two_proportions(0.0, 0.0, 10, 10, 0.05), 0.0);

    // Two means, the textbook normal formula 2σ²(z₁₋α/₂ + z_power)²/δ²: (1.959964 + 0.841621)²·(10² + 10²)/5² = 62.79.
    assert_eq!(sample_size_two_means(10.0, 10.0, 5.0, 0.05, 0.8), Some(63));
    assert_eq!(sample_size_two_means(10.0, 10.0, -5.0, 0.05, 0.8), Some(63));
    assert_eq!(sample_size_two_means(10.0, 10.0, 0.0, 0.05, 0.8), None);
    assert_eq!(sample_size_two_means(f64::NAN, 10.0, 5.0, 0.05, 0.8), None);
}

// Welch.

/// The example of Welch's t-test on Wikipedia ("Welch's t-test", example 1).
const A1: [f64; 15] = [
    27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4,
];
const A2: [f64; 15] = [
    27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4,
];

#[test]
fn welch_matches_scipy() {
    let (a, b) = (Moments::from_values(&A1), Moments::from_values(&A2));
    close(a.mean, 20.82, 1e-12);
    close(a.variance, 7.867428571428571, 1e-12);
    close(b.variance, 3.8126666666666686, 1e-12);
    let test = welch_test(&a, &b, 0.95);
    // scipy.stats.ttest_ind(A2, A1, equal_var=False) and its confidence_interval(0.95).
    close(test.t, 2.455356398286006, 1e-10);
    close(test.df, 24.988529290231416, 1e-10);
    close(test.p_value, 0.021378001462866992, 1e-10);
    close_interval(
        test.difference_interval.unwrap(),
        0.3492370661924069,
        3.984096267140929,
        1e-9,
    );
    close(test.relative_uplift.unwrap(), 0.10406660262568046, 1e-12);
    // Worked by hand: R − 1 ± t.ppf(0.975, df)·√(v_b + R²·v_a)/mean_a.
    close_interval(
        test.relative_interval.unwrap(),
        0.010558124962792403,
        0.19757508028856852,
        1e-9,
    );
    json_round_trip(&test);

    // The same from sums, as a group-by gives them.
    let sums = |values: &[f64]| {
        let sum_of_squares = values.iter().map(|x| x * x).sum();
        Moments::from_sums(values.len() as u64, values.iter().sum(), sum_of_squares)
    };
    let from_sums = welch_test(&sums(&A1), &sums(&A2), 0.95);
    close(from_sums.t, test.t, 1e-9);
    close(from_sums.df, test.df, 1e-9);
}

#[test]
fn welch_on_millions_of_rows_uses_the_large_df_forms() {
    // scipy.stats.ttest_ind_from_stats(10, 2, 5e6, 10.002, 2.1, 4e6, equal_var=False), with the
    // sign of B − A; the interval from t.ppf(0.975, df). statrs alone is 7% off here, or hangs.
    let a = Moments {
        n: 5_000_000,
        mean: 10.0,
        variance: 4.0,
    };
    let b = Moments {
        n: 4_000_000,
        mean: 10.002,
        variance: 2.1 * 2.1,
    };
    let test = welch_test(&a, &b, 0.95);
    close(test.t, 1.4499988671893118, 1e-9);
    close(test.df, 8380879.429550143, 1e-3);
    close(test.p_value, 0.14705887253766142, 1e-10);
    close_interval(
        test.difference_interval.unwrap(),
        -0.0007034011018194949,
        0.004703401101819495,
        1e-12,
    );
}

#[test]
fn moments_from_sums_never_go_negative() {
    // Seven 0.7s: Σx² − Σx·mean rounds to −2.2e-16 in floating point.
    let values = [0.7; 7];
    let moments = Moments::from_sums(7, values.iter().sum(), values.iter().map(|x| x * x).sum());
    assert_eq!(moments.variance, 0.0);
    close(moments.mean, 0.7, 1e-15);
    assert_eq!(
        Moments::from_sums(0, 0.0, 0.0),
        Moments {
            n: 0,
            mean: 0.0,
            variance: 0.0
        }
    );
    assert_eq!(
        Moments::from_sums(1, 3.0, 9.0),
        Moments {
            n: 1,
            mean: 3.0,
            variance: 0.0
        }
    );
    assert_eq!(
        Moments::from_values(&[]),
        Moments {
            n: 0,
            mean: 0.0,
            variance: 0.0
        }
    );
}

#[test]
fn degenerate_welch_tests_are_undefined_not_nan() {
    let constant = |n, mean| Moments { n, mean, variance: 0.0 };
    let spread = Moments {
        n: 10,
        mean: 5.0,
        variance: 4.0,
    };
    for (a, b) in [
        (constant(0, 0.0), constant(0, 0.0)),
        (constant(1, 3.0), spread),
        (spread, constant(1, 3.0)),
        (constant(10, 3.0), constant(10, 4.0)),
        (constant(10, 0.0), constant(10, 0.0)),
    ] {
        let test = welch_test(&a, &b, 0.95);
        json_round_trip(&test);
        assert_eq!((test.t, test.df, test.p_value), (0.0, 0.0, 1.0), "{a:?} {b:?}");
        assert_eq!((test.difference_interval, test.relative_interval), (None, None));
    }
    // One constant group: the other's n − 1 degrees of freedom.
    let test = welch_test(&constant(10, 3.0), &spread, 0.95);
    close(test.df, 9.0, 1e-12);
    // mean_a = 0: a difference but no ratio.
    let test = welch_test(
        &Moments {
            n: 10,
            mean: 0.0,
            variance: 1.0,
        },
        &spread,
        0.95,
    );
    assert!(test.difference_interval.is_some() && test.relative_uplift.is_none() && test.relative_interval.is_none());
    json_round_trip(&test);
}

// Percentiles.

#[test]
fn nearest_rank_percentiles() {
    let one_to_ten: Vec<(i64, u64)> = (1..=10).map(|v| (v, 1)).collect();
    assert_eq!(nearest_rank(&one_to_ten, 0.5), Some(5));
    assert_eq!(nearest_rank(&one_to_ten, 0.99), Some(10));
    assert_eq!(nearest_rank(&one_to_ten, 0.1), Some(1));
    assert_eq!(nearest_rank(&one_to_ten, 0.11), Some(2));
    assert_eq!(nearest_rank(&one_to_ten, 1.0), Some(10));
    // 0.07 × 100 is 7.000000000000001 in floating point; the rank is still 7.
    let hundred: Vec<(i64, u64)> = (1..=100).map(|v| (v, 1)).collect();
    assert_eq!(nearest_rank(&hundred, 0.07), Some(7));
    assert_eq!(nearest_rank(&hundred, 0.95), Some(95));
    // Weighted: 90 requests at 20 ms, 9 at 150 ms, 1 at 900 ms.
    let latencies = [(20, 90), (150, 9), (900, 1)];
    assert_eq!(nearest_rank(&latencies, 0.5), Some(20));
    assert_eq!(nearest_rank(&latencies, 0.9), Some(20));
    assert_eq!(nearest_rank(&latencies, 0.95), Some(150));
    assert_eq!(nearest_rank(&latencies, 0.99), Some(150));
    assert_eq!(nearest_rank(&latencies, 0.999), Some(900));
    assert_eq!(nearest_rank(&[], 0.5), None);
    assert_eq!(nearest_rank(&[(3, 0)], 0.5), None);
}

#[test]
#[should_panic(expected = "not in (0, 1]")]
fn the_zeroth_percentile_is_refused() {
    nearest_rank(&[(1, 1)], 0.0);
}

#[test]
fn quantile_edges_from_counts_match_the_expanded_values() {
    let counts = [(0.5, 3u64), (1.0, 0), (2.0, 7), (3.5, 1), (4.0, 12), (9.0, 2)];
    let expanded: Vec<f64> = counts
        .iter()
        .flat_map(|&(v, c)| std::iter::repeat_n(v, c as usize))
        .collect();
    for bins in 1..=12 {
        assert_eq!(
            quantile_edges_from_counts(&counts, bins),
            quantile_edges(&expanded, bins),
            "{bins} bins"
        );
    }
    assert!(quantile_edges_from_counts(&[], 10).is_empty());
    assert!(quantile_edges_from_counts(&[(1.0, 0)], 10).is_empty());
}
