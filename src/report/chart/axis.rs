//! Axis ranges and tick positions chosen here rather than by plotters, so ticks land on round
//! values (1-2-2.5-5 steps) or whole days, and labels never repeat.

use chrono::{Datelike, NaiveDate, Weekday};

use super::format::{Unit, format_date};

/// How tick values print.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TickFormat {
    Unit(Unit),
    /// Values are days since 0001-01-01 (chrono's `num_days_from_ce`).
    Date,
}

/// A numeric axis: its range and the tick positions inside it.
#[derive(Debug, Clone)]
pub(crate) struct Axis {
    pub lo: f64,
    pub hi: f64,
    pub ticks: Vec<f64>,
    pub format: TickFormat,
}

impl Axis {
    /// A range covering `min..=max` (and 0 if `include_zero`), widened to round tick values.
    pub fn linear(min: f64, max: f64, include_zero: bool, unit: Unit, max_ticks: usize) -> Axis {
        let (mut min, mut max) = if min.is_finite() && max.is_finite() && min <= max {
            (min, max)
        } else {
            (0.0, 1.0)
        };
        if include_zero {
            min = min.min(0.0);
            max = max.max(0.0);
        }
        if max - min < f64::EPSILON * max.abs().max(1.0) {
            let pad = if min == 0.0 { 1.0 } else { min.abs() * 0.1 };
            if include_zero && min >= 0.0 {
                max += pad;
            } else {
                min -= pad;
                max += pad;
            }
        }
        let step = nice_step(max - min, max_ticks.max(2));
        let first = (min / step).floor() as i64;
        let last = (max / step).ceil() as i64;
        let ticks = (first..=last).map(|i| i as f64 * step).collect::<Vec<_>>();
        Axis {
            lo: first as f64 * step,
            hi: last as f64 * step,
            ticks,
            format: TickFormat::Unit(unit),
        }
    }

    /// Like `linear` without zero, with 5% room each side so points do not sit on the frame.
    pub fn padded(min: f64, max: f64, unit: Unit, max_ticks: usize) -> Axis {
        let pad = if max > min { (max - min) * 0.05 } else { 0.0 };
        Axis::linear(min - pad, max + pad, false, unit, max_ticks)
    }

    /// A day axis from `first` to `last` (day numbers), half a day of room each side, with ticks on
    /// whole days: every day or two for short spans, Mondays every week or more for long ones.
    pub fn dates(first: i32, last: i32, max_ticks: usize) -> Axis {
        let span = (last - first).max(0) as usize;
        let step = [1usize, 2, 7, 14, 28, 56, 91, 182, 364]
            .into_iter()
            .find(|s| span / s < max_ticks.max(2))
            .unwrap_or(728);
        let mut start = first;
        if step >= 7 {
            let from_monday =
                NaiveDate::from_num_days_from_ce_opt(first).map_or(0, |d| d.weekday().days_since(Weekday::Mon) as i32);
            if from_monday > 0 {
                start += 7 - from_monday;
            }
        }
        let ticks = (start..=last).step_by(step).map(f64::from).collect();
        Axis {
            lo: first as f64 - 0.5,
            hi: last as f64 + 0.5,
            ticks,
            format: TickFormat::Date,
        }
    }

    /// A range with no ticks, for category axes whose labels the chart draws itself.
    pub fn bare(lo: f64, hi: f64) -> Axis {
        Axis {
            lo,
            hi,
            ticks: Vec::new(),
            format: TickFormat::Unit(Unit::Number),
        }
    }

    pub fn label(&self, v: f64) -> String {
        match self.format {
            TickFormat::Unit(unit) => {
                let largest = self.ticks.iter().fold(0.0, |m: f64, t| m.max(t.abs()));
                unit.format_tick_scaled(v, largest >= 10_000.0)
            }
            TickFormat::Date => NaiveDate::from_num_days_from_ce_opt(v.round() as i32)
                .map(format_date)
                .unwrap_or_default(),
        }
    }
}

/// The smallest of 1, 2, 2.5, 5 × 10^k that splits `span` into at most `max_ticks` steps.
fn nice_step(span: f64, max_ticks: usize) -> f64 {
    let raw = span / max_ticks as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude)
}

/// Smallest and largest finite value, or `None` if there is none.
pub(crate) fn finite_extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_are_round_and_cover_the_data() {
        let axis = Axis::linear(3.0, 97.0, true, Unit::Number, 6);
        assert_eq!(axis.ticks, vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!((axis.lo, axis.hi), (0.0, 100.0));
        let axis = Axis::linear(-12.0, 30.0, true, Unit::Percent, 6);
        assert!(axis.lo <= -12.0 && axis.hi >= 30.0 && axis.ticks.contains(&0.0));
    }

    #[test]
    fn flat_and_missing_data_still_give_a_range() {
        let axis = Axis::linear(5.0, 5.0, false, Unit::Number, 5);
        assert!(axis.lo < 5.0 && axis.hi > 5.0);
        let axis = Axis::linear(f64::NAN, f64::NAN, true, Unit::Number, 5);
        assert_eq!((axis.lo, axis.hi), (0.0, 1.0));
    }

    #[test]
    fn date_ticks_fall_on_mondays_for_long_spans() {
        let day = |m, d| NaiveDate::from_ymd_opt(2025, m, d).unwrap().num_days_from_ce();
        let axis = Axis::dates(day(1, 1), day(3, 31), 8);
        assert_eq!(axis.label(axis.ticks[0]), "Jan 06");
        assert!(axis.ticks.len() <= 8);
        let short = Axis::dates(day(1, 1), day(1, 3), 8);
        assert_eq!(short.ticks.len(), 3);
    }
}
