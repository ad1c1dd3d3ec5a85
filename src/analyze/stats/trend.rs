//! Is a daily count series growing or declining? Ordinary least squares of ln(1 + count) on the
//! day index, with a day-off indicator when the series has both kinds of day (a weekend dip is
//! not a trend), and Student's t-test on the slope. On the log scale a slope b is a compound
//! rate: e^b − 1 a day, e^7b − 1 a week, the shape of the traffic's growth and decline; the
//! residual variance absorbs the day-to-day noise (over-dispersed or not) that a Poisson model
//! would understate.

use serde::{Deserialize, Serialize};

use super::t_two_sided_p;

/// A series' fitted trend and its test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    pub days: u32,
    /// The slope of ln(1 + count) per day.
    pub slope: f64,
    pub std_error: f64,
    /// slope / std_error (0 when both are 0).
    pub t: f64,
    /// Residual degrees of freedom.
    pub df: u32,
    /// Two-sided p-value of "no trend".
    pub p_value: f64,
    /// e^slope − 1 and e^(7·slope) − 1.
    pub daily_rate: f64,
    pub weekly_rate: f64,
}

/// The fit of `counts` (one per day, consecutive) with `day_off[i]` marking weekends and
/// holidays. `None` with fewer than `min_days` days or fewer than 3 residual degrees of freedom.
///
/// # Panics
/// If the slices differ in length.
pub fn log_linear_trend(counts: &[f64], day_off: &[bool], min_days: usize) -> Option<Trend> {
    assert_eq!(counts.len(), day_off.len(), "log_linear_trend: one kind per day");
    let n = counts.len();
    let both_kinds = day_off.iter().any(|&d| d) && day_off.iter().any(|&d| !d);
    let k = if both_kinds { 3 } else { 2 };
    if n < min_days.max(k + 3) {
        return None;
    }
    let y: Vec<f64> = counts.iter().map(|&c| c.max(0.0).ln_1p()).collect();
    let row = |i: usize| -> [f64; 3] { [1.0, i as f64, if day_off[i] { 1.0 } else { 0.0 }] };
    // Normal equations XᵀX β = Xᵀy on the first k regressors.
    let mut xtx = [[0.0; 3]; 3];
    let mut xty = [0.0; 3];
    for (i, &yi) in y.iter().enumerate() {
        let x = row(i);
        for a in 0..k {
            xty[a] += x[a] * yi;
            for b in 0..k {
                xtx[a][b] += x[a] * x[b];
            }
        }
    }
    let inv = invert(&xtx, k)?;
    let beta: Vec<f64> = (0..k).map(|a| (0..k).map(|b| inv[a][b] * xty[b]).sum()).collect();
    let rss: f64 = y
        .iter()
        .enumerate()
        .map(|(i, &yi)| {
            let x = row(i);
            let fit: f64 = (0..k).map(|a| x[a] * beta[a]).sum();
            (yi - fit).powi(2)
        })
        .sum();
    let df = n - k;
    let sigma2 = rss / df as f64;
    let slope = beta[1];
    let std_error = (sigma2 * inv[1][1]).max(0.0).sqrt();
    let (t, p_value) = if std_error > 0.0 {
        let t = slope / std_error;
        (t, t_two_sided_p(t, df as f64))
    } else if slope.abs() > 1e-12 {
        // A perfect line: the trend is certain.
        (f64::MAX.copysign(slope), 0.0)
    } else {
        (0.0, 1.0)
    };
    Some(Trend {
        days: n as u32,
        slope,
        std_error,
        t,
        df: df as u32,
        p_value,
        daily_rate: slope.exp() - 1.0,
        weekly_rate: (7.0 * slope).exp() - 1.0,
    })
}

/// The inverse of the leading k × k block of `m` (Gauss–Jordan with partial pivoting), or
/// `None` when it is singular.
fn invert(m: &[[f64; 3]; 3], k: usize) -> Option<[[f64; 3]; 3]> {
    let mut a = *m;
    let mut inv = [[0.0; 3]; 3];
    for (i, row) in inv.iter_mut().enumerate().take(k) {
        row[i] = 1.0;
    }
    for c in 0..k {
        let p = (c..k).max_by(|&x, &y| a[x][c].abs().total_cmp(&a[y][c].abs()))?;
        if a[p][c].abs() < 1e-12 {
            return None;
        }
        a.swap(c, p);
        inv.swap(c, p);
        let d = a[c][c];
        for j in 0..k {
            a[c][j] /= d;
            inv[c][j] /= d;
        }
        for r in 0..k {
            if r != c {
                let f = a[r][c];
                for j in 0..k {
                    a[r][j] -= f * a[c][j];
                    inv[r][j] -= f * inv[c][j];
                }
            }
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compound_growth_is_its_rate_and_a_weekend_dip_is_not_a_trend() {
        // 3% a day on 28 days, weekends at half: ln(1 + c) ≈ ln c for large c.
        let off: Vec<bool> = (0..28).map(|d| d % 7 >= 5).collect();
        let grow: Vec<f64> = (0..28)
            .map(|d| 1000.0 * 1.03f64.powi(d) * if off[d as usize] { 0.5 } else { 1.0 })
            .collect();
        let t = log_linear_trend(&grow, &off, 14).unwrap();
        assert!((t.daily_rate - 0.03).abs() < 1e-3, "{t:?}");
        assert!(t.p_value < 1e-6);
        let flat: Vec<f64> = (0..28)
            .map(|d| if off[d] { 50.0 } else { 100.0 } + [3.0, -2.0, 1.0, -1.0][d % 4])
            .collect();
        let t = log_linear_trend(&flat, &off, 14).unwrap();
        assert!(t.slope.abs() < 2e-3 && t.p_value > 0.05, "{t:?}");
        assert!(log_linear_trend(&flat[..10], &off[..10], 14).is_none());
    }

    #[test]
    fn the_slope_test_matches_a_hand_computed_regression() {
        let c: Vec<f64> = [0.0f64, 1.0, 1.0, 3.0].iter().map(|y| y.exp() - 1.0).collect();
        let t = log_linear_trend(&c, &[false; 4], 0);
        assert!(t.is_none(), "2 parameters need at least 5 days");
        let c5: Vec<f64> = [0.0f64, 1.0, 1.0, 3.0, 4.0].iter().map(|y| y.exp() - 1.0).collect();
        let t = log_linear_trend(&c5, &[false; 5], 0).unwrap();
        // y = ln(1 + c) = 0, 1, 1, 3, 4 on days 0..5: x̄ = 2, ȳ = 1.8, Sxy = 3.6 + 0.8 + 0 + 1.2
        // + 4.4 = 10, Sxx = 10 → slope 1; fit −0.2, 0.8, 1.8, 2.8, 3.8 → residuals 0.2, 0.2,
        // −0.8, 0.2, 0.2, RSS = 0.8; σ² = 0.8 / 3; SE = √(σ² / Sxx) = √(0.8 / 30).
        assert!((t.slope - 1.0).abs() < 1e-12);
        assert!((t.std_error - (0.8f64 / 30.0).sqrt()).abs() < 1e-12);
        assert_eq!(t.df, 3);
    }
}
