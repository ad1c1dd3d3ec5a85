//! The windows and what each is compared with. Days are UTC days numbered from the data's first
//! day (as everywhere in the report); the reference is days `0..reference_days`.
//!
//! A window is compared with the reference minus its own days, so a reference day is never
//! compared with itself (no in-sample bias) and the reference's days are real negatives. A
//! window that holds the whole reference (a weekly window over a one-week reference) is scored
//! as its first half of reference days against the rest of the window: two disjoint undrifted
//! samples, the same comparison the detector makes.

use chrono::{NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};

use super::WindowSize;
use crate::analyze::ticketing::labels::Label;

/// Days `first..=last`, numbered from the data's first day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DaySpan {
    pub first: u32,
    pub last: u32,
}

impl DaySpan {
    pub fn days(self) -> impl Iterator<Item = u32> {
        self.first..=self.last
    }

    /// Days in the span (at least one).
    pub fn day_count(self) -> u32 {
        self.last - self.first + 1
    }

    /// The span as dates: `2025-11-03` or `2025-11-03 – 2025-11-09`.
    pub fn name(self, first_day: NaiveDate) -> String {
        let date = |d: u32| first_day + chrono::Days::new(u64::from(d));
        if self.first == self.last {
            date(self.first).to_string()
        } else {
            format!("{} – {}", date(self.first), date(self.last))
        }
    }

    /// Maximal runs of consecutive days.
    pub fn runs(days: impl IntoIterator<Item = u32>) -> Vec<DaySpan> {
        let mut out: Vec<DaySpan> = Vec::new();
        for d in days {
            match out.last_mut() {
                Some(run) if run.last + 1 == d => run.last = d,
                _ => out.push(DaySpan { first: d, last: d }),
            }
        }
        out
    }
}

/// The data's days and its reference.
pub struct Grid {
    pub days: u32,
    pub reference_days: u32,
}

impl Grid {
    /// Consecutive windows of `size` from the first day; the last may be shorter.
    pub fn windows(&self, size: WindowSize) -> Vec<DaySpan> {
        let n = size.days();
        (0..self.days.div_ceil(n))
            .map(|k| DaySpan {
                first: k * n,
                last: ((k + 1) * n).min(self.days) - 1,
            })
            .collect()
    }

    /// (current days, reference days) for `window`; both empty when it cannot be scored (a
    /// one-day reference inside the window).
    pub fn comparison(&self, window: DaySpan) -> (Vec<DaySpan>, Vec<DaySpan>) {
        let reference = 0..self.reference_days;
        let rest: Vec<u32> = reference
            .clone()
            .filter(|d| !(window.first..=window.last).contains(d))
            .collect();
        if !rest.is_empty() {
            return (vec![window], DaySpan::runs(rest));
        }
        if self.reference_days < 2 {
            return (Vec::new(), Vec::new());
        }
        let half = self.reference_days.div_ceil(2);
        (
            vec![DaySpan {
                first: half,
                last: window.last,
            }],
            vec![DaySpan {
                first: 0,
                last: half - 1,
            }],
        )
    }
}

/// The largest magnitude among the drift labels that cover at least half of `span` (by time),
/// `None` when none does. Label windows are instants (the generator's are local midnights), the
/// report's windows UTC days, so a window can straddle two labels by a few hours: the label
/// covering most of it decides.
pub fn label_magnitude(drift_labels: &[Label], first_day: NaiveDate, span: DaySpan) -> Option<f64> {
    let midnight = first_day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
    let start = midnight + TimeDelta::days(i64::from(span.first));
    let end = midnight + TimeDelta::days(i64::from(span.last) + 1);
    let length = (end - start).num_seconds();
    drift_labels
        .iter()
        .filter(|l| {
            let overlap = (l.end.min(end) - l.start.max(start)).num_seconds();
            2 * overlap >= length
        })
        .map(|l| l.magnitude)
        .reduce(f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(days: u32, reference_days: u32) -> Grid {
        Grid { days, reference_days }
    }

    #[test]
    fn weekly_windows_cover_the_days_and_the_last_may_be_short() {
        let w = grid(30, 7).windows(WindowSize::Week);
        assert_eq!(w.len(), 5);
        assert_eq!(w[4], DaySpan { first: 28, last: 29 });
        assert_eq!(grid(3, 3).windows(WindowSize::Day).len(), 3);
    }

    #[test]
    fn a_reference_day_is_compared_with_the_rest_of_the_reference() {
        let g = grid(28, 7);
        let (cur, refs) = g.comparison(DaySpan { first: 2, last: 2 });
        assert_eq!(cur, vec![DaySpan { first: 2, last: 2 }]);
        assert_eq!(refs, vec![DaySpan { first: 0, last: 1 }, DaySpan { first: 3, last: 6 }]);
        let (_, refs) = g.comparison(DaySpan { first: 7, last: 13 });
        assert_eq!(refs, vec![DaySpan { first: 0, last: 6 }]);
    }

    #[test]
    fn a_window_holding_the_whole_reference_is_split_in_halves() {
        let (cur, refs) = grid(28, 7).comparison(DaySpan { first: 0, last: 6 });
        assert_eq!(cur, vec![DaySpan { first: 4, last: 6 }]);
        assert_eq!(refs, vec![DaySpan { first: 0, last: 3 }]);
        let (cur, refs) = grid(28, 1).comparison(DaySpan { first: 0, last: 6 });
        assert!(cur.is_empty() && refs.is_empty());
    }
}
