//! The cost forecast: a linear trend plus a weekday effect fitted to the daily costs, each
//! future day clamped at zero, with intervals from a rolling-origin backtest.
//!
//! Why this model and not Holt-Winters: the default window is 30 days, about four weeks. An
//! additive Holt-Winters with period 7 needs two seasons just to initialise and then fits three
//! smoothing parameters on the two weeks left; a least-squares trend with seven weekday effects
//! (eight parameters on 30 points) is stable, deterministic, and a pure weekly pattern forecasts
//! itself exactly. The trend is only extrapolated as far ahead as the history it was fitted on,
//! then held: a 30-day slope says nothing about day 200 (round 1 ran a falling line to a $0.00
//! year). Each day is clamped at zero before days are summed, so no negative day cancels a
//! positive one. Intervals come from a rolling-origin backtest's errors by lead (days ahead),
//! not from the fit's residuals, and widen with the horizon.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::DailyCost;

/// Two-sided normal quantiles for the allowed forecast confidences.
const Z_SCORES: [(f64, f64); 4] = [(0.8, 1.2816), (0.9, 1.6449), (0.95, 1.9600), (0.99, 2.5758)];
/// Forecast horizons, days.
pub const HORIZONS: [u32; 3] = [30, 90, 365];
/// Fewest days a backtest fit gets: two weeks, so every weekday is seen twice.
const MIN_TRAIN_DAYS: usize = 14;
/// Fewest days before weekday effects are fitted at all.
const MIN_SEASONAL_DAYS: usize = 14;
/// Sweeps of the trend / weekday alternation (it converges geometrically; 200 is ample).
const SWEEPS: usize = 200;

/// The z-score of an allowed confidence.
pub fn z_score(confidence: f64) -> Option<f64> {
    Z_SCORES
        .iter()
        .find(|(c, _)| (c - confidence).abs() < 1e-9)
        .map(|(_, z)| *z)
}

/// Trend plus weekday effect through the daily cost, with backtested intervals.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Forecast {
    pub method: String,
    pub history_days: u32,
    pub mean_daily_cost: f64,
    /// The original showcase's projection: mean daily cost × 30.
    pub naive_30_day_cost: f64,
    /// Fitted trend (weekday effect aside) on the first day of the window.
    pub intercept: f64,
    /// Change of the daily cost per day.
    pub slope_per_day: f64,
    /// Added to the trend on each ISO weekday, Monday first; they sum to zero.
    pub weekday_effects: Vec<f64>,
    /// The trend is extrapolated this many days past the window, then held.
    pub trend_held_after_days: u32,
    /// Fitted value of every day of the window (trend + weekday effect).
    pub fitted: Vec<f64>,
    /// Root mean square of the backtest's one-day-ahead errors.
    pub backtest_error_sd: f64,
    /// How much the backtest's error variance grows per day of lead ($² per day).
    pub backtest_error_growth_per_day: f64,
    /// Backtest fits (origins) the error comes from.
    pub backtest_origins: u32,
    pub confidence: f64,
    pub horizons: Vec<Horizon>,
    /// The next 30 days, one by one (for the chart).
    pub next_days: Vec<ForecastDay>,
}

/// Total cost over the `days` after the window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Horizon {
    pub days: u32,
    /// Mean daily cost × days.
    pub naive: f64,
    /// Sum of the forecast days, each clamped at zero.
    pub expected: f64,
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ForecastDay {
    pub date: NaiveDate,
    pub expected: f64,
    pub low: f64,
    pub high: f64,
}

/// A fitted trend and weekday effects.
struct Fit {
    intercept: f64,
    slope: f64,
    /// By ISO weekday − 1.
    weekday: [f64; 7],
    /// Days of history (the trend is held after this many days ahead).
    n: usize,
}

impl Fit {
    /// Least squares of `y = a + b·t + s[weekday]` (Σs = 0), by alternating the trend fit on
    /// the de-seasonalised series with weekday means of the de-trended one (each sweep lowers
    /// the squared error; the fixed point is the joint least-squares fit).
    fn new(y: &[f64], weekdays: &[usize]) -> Fit {
        let n = y.len();
        let mut s = [0.0; 7];
        let (mut a, mut b) = (0.0, 0.0);
        let seasonal = n >= MIN_SEASONAL_DAYS;
        for _ in 0..if seasonal { SWEEPS } else { 1 } {
            let z: Vec<f64> = (0..n).map(|i| y[i] - s[weekdays[i]]).collect();
            (a, b) = line(&z);
            if !seasonal {
                break;
            }
            let (mut sum, mut count) = ([0.0; 7], [0usize; 7]);
            for i in 0..n {
                sum[weekdays[i]] += y[i] - a - b * i as f64;
                count[weekdays[i]] += 1;
            }
            let mut next = [0.0; 7];
            for d in 0..7 {
                next[d] = if count[d] > 0 { sum[d] / count[d] as f64 } else { 0.0 };
            }
            let seen = count.iter().filter(|c| **c > 0).count().max(1) as f64;
            let mean = next
                .iter()
                .zip(&count)
                .filter(|(_, c)| **c > 0)
                .map(|(v, _)| v)
                .sum::<f64>()
                / seen;
            for d in 0..7 {
                if count[d] > 0 {
                    next[d] -= mean;
                }
            }
            s = next;
        }
        Fit {
            intercept: a,
            slope: b,
            weekday: s,
            n,
        }
    }

    /// The value on day `t` (0 = the window's first day), before clamping: the trend stops
    /// moving `n` days after the history ends.
    fn at(&self, t: usize, weekday: usize) -> f64 {
        let held = t.min(2 * self.n.max(1) - 1);
        self.intercept + self.slope * held as f64 + self.weekday[weekday]
    }
}

/// Least-squares line through `y` against 0, 1, 2, …: (intercept, slope).
fn line(y: &[f64]) -> (f64, f64) {
    let n = y.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let nf = n as f64;
    let mean_x = (nf - 1.0) / 2.0;
    let mean_y = y.iter().sum::<f64>() / nf;
    let sxx: f64 = (0..n).map(|i| (i as f64 - mean_x).powi(2)).sum();
    let sxy: f64 = (0..n).map(|i| (i as f64 - mean_x) * (y[i] - mean_y)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (mean_y - slope * mean_x, slope)
}

/// ISO weekday − 1 (Monday = 0).
fn weekday(d: NaiveDate) -> usize {
    d.weekday().num_days_from_monday() as usize
}

/// Backtest errors: from every origin that leaves at least [`MIN_TRAIN_DAYS`] of training, a
/// fit on the days before it forecasts every later day of the window; the errors are kept by
/// lead (days ahead, from 1).
fn backtest(y: &[f64], weekdays: &[usize]) -> (Vec<Vec<f64>>, u32) {
    let mut by_lead: Vec<Vec<f64>> = Vec::new();
    let mut origins = 0u32;
    for o in MIN_TRAIN_DAYS..y.len() {
        let fit = Fit::new(&y[..o], &weekdays[..o]);
        for t in o..y.len() {
            let lead = t - o;
            if by_lead.len() <= lead {
                by_lead.push(Vec::new());
            }
            by_lead[lead].push(y[t] - fit.at(t, weekdays[t]).max(0.0));
        }
        origins += 1;
    }
    (by_lead, origins)
}

/// The error variance of a forecast `h` days ahead as `a + b·h` (a level error plus one that
/// grows with the lead, as a misjudged trend's does), fitted by least squares to the backtest's
/// mean squared error at each lead that has at least 3 errors; `b` is floored at 0 and `a` at
/// the lead-1 variance's share, so the spread never shrinks with the horizon.
#[derive(Debug, Clone, Copy)]
struct ErrorGrowth {
    a: f64,
    b: f64,
}

impl ErrorGrowth {
    fn from_backtest(by_lead: &[Vec<f64>]) -> ErrorGrowth {
        let points: Vec<(f64, f64)> = by_lead
            .iter()
            .enumerate()
            .filter(|(_, e)| e.len() >= 3)
            .map(|(lead, e)| ((lead + 1) as f64, e.iter().map(|x| x * x).sum::<f64>() / e.len() as f64))
            .collect();
        if points.is_empty() {
            return ErrorGrowth { a: 0.0, b: 0.0 };
        }
        let n = points.len() as f64;
        let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
        let my = points.iter().map(|p| p.1).sum::<f64>() / n;
        let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let b = if sxx > 0.0 { (sxy / sxx).max(0.0) } else { 0.0 };
        let a = (my - b * mx).max(0.0);
        ErrorGrowth { a, b }
    }

    /// Standard deviation of the error `h` days ahead.
    fn sd(&self, h: f64) -> f64 {
        (self.a + self.b * h).max(0.0).sqrt()
    }
}

/// The forecast of the days after `daily`. The interval of day `h` ahead is ±z·σ(h), σ(h) the
/// backtest's error spread at that lead ([`ErrorGrowth`]); the interval of a total over H days
/// is ±z·Σσ(h): neighbouring days share the same level and trend error, so their errors add up
/// rather than cancel (the wide, honest bound). With too few days for a backtest, σ falls back
/// to the fit's residual standard deviation, constant over the lead.
pub fn forecast(daily: &[DailyCost], confidence: f64) -> Forecast {
    let n = daily.len();
    let y: Vec<f64> = daily.iter().map(|d| d.cost_usd).collect();
    let weekdays: Vec<usize> = daily.iter().map(|d| weekday(d.date)).collect();
    let mean_y = if n == 0 { 0.0 } else { y.iter().sum::<f64>() / n as f64 };
    let fit = Fit::new(&y, &weekdays);
    let fitted: Vec<f64> = (0..n).map(|i| fit.at(i, weekdays[i])).collect();
    let (by_lead, origins) = backtest(&y, &weekdays);
    let mut growth = ErrorGrowth::from_backtest(&by_lead);
    if origins == 0 && n > 2 {
        let ssr: f64 = (0..n).map(|i| (y[i] - fitted[i]).powi(2)).sum();
        growth = ErrorGrowth {
            a: ssr / (n as f64 - 2.0),
            b: 0.0,
        };
    }
    let one_day: Vec<f64> = by_lead.first().cloned().unwrap_or_default();
    let backtest_error_sd = if one_day.is_empty() {
        growth.sd(1.0)
    } else {
        (one_day.iter().map(|e| e * e).sum::<f64>() / one_day.len() as f64).sqrt()
    };
    let z = z_score(confidence).unwrap_or(1.6449);
    let last = daily.last().map(|d| d.date);
    let longest = HORIZONS.iter().copied().max().unwrap_or(0) as usize;
    // Every future day up to the longest horizon: (date, expected), clamped per day.
    let future: Vec<(NaiveDate, f64)> = (0..longest)
        .filter_map(|k| {
            let date = last?.checked_add_days(chrono::Days::new(k as u64 + 1))?;
            Some((date, fit.at(n + k, weekday(date)).max(0.0)))
        })
        .collect();
    let next_days = future
        .iter()
        .take(30)
        .enumerate()
        .map(|(k, &(date, expected))| {
            let half = z * growth.sd((k + 1) as f64);
            ForecastDay {
                date,
                expected,
                low: (expected - half).max(0.0),
                high: expected + half,
            }
        })
        .collect();
    let horizons = HORIZONS
        .iter()
        .map(|&days| {
            let h = f64::from(days);
            let expected: f64 = future.iter().take(days as usize).map(|(_, v)| v).sum();
            let half = z * (1..=days).map(|lead| growth.sd(f64::from(lead))).sum::<f64>();
            Horizon {
                days,
                naive: mean_y * h,
                expected,
                low: (expected - half).max(0.0),
                high: expected + half,
            }
        })
        .collect();
    Forecast {
        method: "least-squares trend plus weekday effects (period 7), trend held after as many days as the history, \
                 each day clamped at zero; interval from a rolling-origin backtest"
            .into(),
        history_days: n as u32,
        mean_daily_cost: mean_y,
        naive_30_day_cost: mean_y * 30.0,
        intercept: fit.intercept,
        slope_per_day: fit.slope,
        weekday_effects: fit.weekday.to_vec(),
        trend_held_after_days: n as u32,
        fitted,
        backtest_error_sd,
        backtest_error_growth_per_day: growth.b,
        backtest_origins: origins,
        confidence,
        horizons,
        next_days,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Days from Monday 2025-01-06.
    fn days(costs: &[f64]) -> Vec<DailyCost> {
        let d0 = NaiveDate::from_ymd_opt(2025, 1, 6).unwrap();
        costs
            .iter()
            .enumerate()
            .map(|(i, &c)| DailyCost {
                date: d0 + chrono::Days::new(i as u64),
                calls: 1,
                cost_usd: c,
            })
            .collect()
    }

    #[test]
    fn a_pure_weekly_pattern_forecasts_itself() {
        let week = [100.0, 110.0, 105.0, 120.0, 90.0, 40.0, 35.0];
        let costs: Vec<f64> = (0..30).map(|i| week[i % 7]).collect();
        let f = forecast(&days(&costs), 0.9);
        assert!(f.slope_per_day.abs() < 1e-9, "{}", f.slope_per_day);
        assert!(f.backtest_error_sd < 1e-6, "{}", f.backtest_error_sd);
        for (k, d) in f.next_days.iter().enumerate() {
            assert!((d.expected - week[(30 + k) % 7]).abs() < 1e-6, "day {k}: {d:?}");
        }
        // Day 30 after a Monday start is a Wednesday.
        assert_eq!(f.next_days[0].date.weekday(), chrono::Weekday::Wed);
        let weekly: f64 = week.iter().sum();
        let h = |d: u32| f.horizons.iter().find(|x| x.days == d).unwrap().expected;
        // 364 days = 52 whole weeks, plus the first day of the 53rd (a Wednesday).
        assert!((h(365) - (52.0 * weekly + week[2])).abs() < 1e-6, "{}", h(365));
    }

    #[test]
    fn a_declining_series_never_goes_negative() {
        let week = [10.0, 12.0, 11.0, 13.0, 9.0, 4.0, 3.0];
        // Steep: the line crosses zero within the month ahead; gentle: it would cross within the year.
        for (per_day, year_positive) in [(1.0 / 40.0, false), (1.0 / 100.0, true)] {
            let costs: Vec<f64> = (0..30).map(|i| week[i % 7] * (1.0 - i as f64 * per_day)).collect();
            let f = forecast(&days(&costs), 0.95);
            assert!(f.slope_per_day < 0.0);
            for d in &f.next_days {
                assert!(
                    d.expected >= 0.0 && d.low >= 0.0 && d.low <= d.expected && d.expected <= d.high,
                    "{d:?}"
                );
            }
            for h in &f.horizons {
                assert!(
                    h.expected >= 0.0 && h.low >= 0.0 && h.low <= h.expected && h.expected <= h.high,
                    "{h:?}"
                );
            }
            // Days are clamped one by one: the 30-day total is the sum of the clamped days.
            let h30 = &f.horizons[0];
            let sum: f64 = f.next_days.iter().map(|d| d.expected).sum();
            assert!((h30.expected - sum).abs() < 1e-9);
            // The trend is held after 30 days, so a gentle decline keeps the year above zero.
            let year = f.horizons.iter().find(|x| x.days == 365).unwrap();
            if year_positive {
                assert!(year.expected > 0.0, "{year:?}");
            } else {
                // The steep line crosses zero: those days are clamped, not negative.
                assert!(f.next_days.iter().any(|d| d.expected == 0.0), "{:?}", f.next_days);
            }
        }
    }

    #[test]
    fn intervals_widen_with_the_horizon_and_come_from_the_backtest() {
        // A weekly pattern with deterministic noise.
        let week = [100.0, 110.0, 105.0, 120.0, 90.0, 40.0, 35.0];
        let costs: Vec<f64> = (0..30)
            .map(|i| week[i % 7] + [6.0, -4.0, 3.0, -7.0, 2.0][i % 5])
            .collect();
        let f = forecast(&days(&costs), 0.9);
        assert_eq!(f.backtest_origins, 16);
        assert!(f.backtest_error_sd > 0.0);
        let widths: Vec<f64> = f.horizons.iter().map(|h| h.high - h.low).collect();
        assert!(widths[0] < widths[1] && widths[1] < widths[2], "{widths:?}");
        let day = |k: usize| f.next_days[k].high - f.next_days[k].low;
        assert!(day(0) <= day(29));
    }

    #[test]
    fn a_straight_line_forecasts_exactly_until_the_trend_is_held() {
        let costs: Vec<f64> = (0..28).map(|i| 10.0 + 2.0 * i as f64).collect();
        let f = forecast(&days(&costs), 0.9);
        assert!((f.slope_per_day - 2.0).abs() < 1e-9);
        assert!((f.intercept - 10.0).abs() < 1e-9);
        assert!(f.weekday_effects.iter().all(|s| s.abs() < 1e-9));
        assert!((f.next_days[0].expected - 66.0).abs() < 1e-9);
        // Held from day 2n − 1 = 55 on: 10 + 2·55 = 120.
        let h90 = f.horizons.iter().find(|x| x.days == 90).unwrap();
        let want: f64 = (28..118).map(|t| 10.0 + 2.0 * (t.min(55) as f64)).sum();
        assert!((h90.expected - want).abs() < 1e-6, "{} vs {want}", h90.expected);
    }
}
