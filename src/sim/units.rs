//! The generic parts of a plan: time-slice work units, even thinning to an exact row count, and
//! shards. Every workload plans its own population and time bins, then cuts them into [`Unit`]s
//! here, so units, thinning and shards behave the same for calls and for ticketing.
//!
//! Thinning keeps the j-th simulated row of a cohort iff ⌊(j+1)·R/T⌋ > ⌊j·R/T⌋ (R rows kept of T
//! simulated): an even, Bresenham-style spread decided by plan position alone, so a unit can
//! thin its rows knowing only how many of each cohort's rows come before it.

use std::ops::Range;

/// One work unit: a slice of the run, generated in parallel, written in order as one Parquet row
/// group. `span` says what it covers in the workload's terms (calls: UTC hours and a customer
/// range; ticketing: a range of time buckets).
#[derive(Debug, Clone, PartialEq)]
pub struct Unit<S> {
    pub index: usize,
    /// Window day (0 = the start date) the unit lies in; units never cross a UTC midnight.
    pub day: u32,
    pub span: S,
    /// Rows simulated before thinning.
    pub simulated: u64,
    /// Rows the unit produces.
    pub rows: u64,
    /// For each cohort: how many of its simulated rows come before this unit.
    pub cohort_offsets: Vec<u64>,
}

impl<S> Unit<S> {
    /// A thinning state per cohort, positioned at this unit's first row.
    pub fn thinning(&self, cohorts: &[CohortRows]) -> Vec<Thinning> {
        cohorts
            .iter()
            .zip(&self.cohort_offsets)
            .map(|(c, &offset)| Thinning::new(c.rows, c.simulated, offset))
            .collect()
    }
}

/// A cohort's rows before and after thinning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CohortRows {
    pub simulated: u64,
    pub rows: u64,
}

/// Builds units in plan order, tracking each cohort's position in its row sequence.
pub struct UnitBuilder<S> {
    cohorts: Vec<CohortRows>,
    seen: Vec<u64>,
    units: Vec<Unit<S>>,
}

impl<S> UnitBuilder<S> {
    pub fn new(cohorts: Vec<CohortRows>) -> Self {
        UnitBuilder {
            seen: vec![0; cohorts.len()],
            cohorts,
            units: Vec::new(),
        }
    }

    /// Appends a unit that simulates `per_cohort` rows of each cohort; a unit with no simulated
    /// row is skipped unless `keep_empty` (a workload whose units must tile time keeps them).
    pub fn push(&mut self, day: u32, span: S, per_cohort: &[u64], keep_empty: bool) {
        let simulated: u64 = per_cohort.iter().sum();
        if simulated == 0 && !keep_empty {
            return;
        }
        let offsets = self.seen.clone();
        let mut rows = 0;
        for (k, n) in per_cohort.iter().enumerate() {
            let c = self.cohorts[k];
            rows += kept_between(self.seen[k], self.seen[k] + n, c.rows, c.simulated);
            self.seen[k] += n;
        }
        self.units.push(Unit {
            index: self.units.len(),
            day,
            span,
            simulated,
            rows,
            cohort_offsets: offsets,
        });
    }

    pub fn finish(self) -> Vec<Unit<S>> {
        self.units
    }
}

/// Rows kept among a cohort's simulated rows number `from..to` when `kept` of `total` are kept.
pub fn kept_between(from: u64, to: u64, kept: u64, total: u64) -> u64 {
    let f = |j: u64| (u128::from(j) * u128::from(kept) / u128::from(total.max(1))) as u64;
    f(to) - f(from)
}

/// The even thinning of one cohort's row sequence.
#[derive(Debug, Clone)]
pub struct Thinning {
    kept: u64,
    total: u64,
    next: u64,
}

impl Thinning {
    pub fn new(kept: u64, total: u64, next: u64) -> Self {
        Thinning { kept, total, next }
    }

    /// Whether the next row of the sequence is kept.
    #[inline]
    pub fn keep(&mut self) -> bool {
        let j = self.next;
        self.next += 1;
        kept_between(j, j + 1, self.kept, self.total) == 1
    }
}

/// Rows each cohort must hold for `rows` in all: shares (summing to 1), rounded by largest
/// remainder so they sum exactly to `rows`.
pub fn cohort_targets(shares: &[f64], rows: u64) -> Vec<u64> {
    let exact: Vec<f64> = shares.iter().map(|s| s * rows as f64).collect();
    let mut out: Vec<u64> = exact.iter().map(|x| x.floor() as u64).collect();
    let mut rest = rows.saturating_sub(out.iter().sum::<u64>());
    let mut order: Vec<usize> = (0..exact.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    for i in order.into_iter().cycle() {
        if rest == 0 {
            break;
        }
        out[i] += 1;
        rest -= 1;
    }
    out
}

/// Units of shard `k` of `n` (1-based): contiguous, with about equal rows.
pub fn shard_units<S>(units: &[Unit<S>], k: u32, n: u32) -> Range<usize> {
    let total: u128 = units.iter().map(|u| u128::from(u.rows)).sum();
    let bound = |s: u32| u128::from(s) * total / u128::from(n);
    let (lo, hi) = (bound(k - 1), bound(k));
    let mut before = 0u128;
    let mut start = units.len();
    let mut end = units.len();
    for (i, u) in units.iter().enumerate() {
        if start == units.len() && before >= lo {
            start = i;
        }
        if before >= hi {
            end = i;
            break;
        }
        before += u128::from(u.rows);
    }
    start.min(end)..end
}

/// Groups consecutive bins while their sum stays within `cap`; a bin over `cap` forms a group of
/// its own (the caller may split it further).
pub fn group_consecutive(sizes: &[u64], cap: u64) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < sizes.len() {
        let start = i;
        if sizes[i] > cap {
            i += 1;
        } else {
            let mut sum = 0;
            while i < sizes.len() && sizes[i] <= cap && (i == start || sum + sizes[i] <= cap) {
                sum += sizes[i];
                i += 1;
            }
        }
        out.push(start..i);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_exactly_the_target_and_spreads_evenly() {
        let mut t = Thinning::new(97, 100, 0);
        let kept: Vec<bool> = (0..100).map(|_| t.keep()).collect();
        assert_eq!(kept.iter().filter(|k| **k).count(), 97);
        // The three dropped rows are spread, not bunched at the end.
        let dropped: Vec<usize> = kept.iter().enumerate().filter(|(_, k)| !**k).map(|(i, _)| i).collect();
        assert!(
            dropped[1] - dropped[0] > 20 && dropped[2] - dropped[1] > 20,
            "{dropped:?}"
        );
    }

    #[test]
    fn thinning_split_anywhere_gives_the_same_decisions() {
        let whole: Vec<bool> = {
            let mut t = Thinning::new(1000, 1234, 0);
            (0..1234).map(|_| t.keep()).collect()
        };
        let mut t1 = Thinning::new(1000, 1234, 0);
        let mut t2 = Thinning::new(1000, 1234, 600);
        let split: Vec<bool> = (0..600)
            .map(|_| t1.keep())
            .chain((600..1234).map(|_| t2.keep()))
            .collect();
        assert_eq!(whole, split);
        assert_eq!(
            kept_between(0, 600, 1000, 1234) + kept_between(600, 1234, 1000, 1234),
            1000
        );
    }

    #[test]
    fn cohort_targets_follow_shares_and_sum_exactly() {
        assert_eq!(cohort_targets(&[0.5, 0.3, 0.2], 1001), vec![501, 300, 200]);
        assert_eq!(cohort_targets(&[0.5, 0.3, 0.2], 7).iter().sum::<u64>(), 7);
    }

    #[test]
    fn consecutive_bins_group_under_the_cap() {
        assert_eq!(
            group_consecutive(&[3, 3, 3, 9, 1, 12, 2, 2], 8),
            vec![0..2, 2..3, 3..4, 4..5, 5..6, 6..8]
        );
        assert_eq!(group_consecutive(&[], 8), Vec::<Range<usize>>::new());
        assert_eq!(group_consecutive(&[0, 0, 5], 4), vec![0..2, 2..3]);
    }

    #[test]
    fn units_carry_offsets_and_thin_exactly() {
        let cohorts = vec![
            CohortRows { simulated: 10, rows: 7 },
            CohortRows { simulated: 4, rows: 4 },
        ];
        let mut b = UnitBuilder::new(cohorts);
        b.push(0, (), &[6, 1], false);
        b.push(0, (), &[0, 0], false);
        b.push(1, (), &[4, 3], false);
        let units = b.finish();
        assert_eq!(units.len(), 2);
        assert_eq!(units[1].cohort_offsets, vec![6, 1]);
        assert_eq!(units.iter().map(|u| u.rows).sum::<u64>(), 11);
        for n in [1, 2, 3, 100] {
            let mut next = 0;
            let mut rows = 0;
            for k in 1..=n {
                let r = shard_units(&units, k, n);
                assert_eq!(r.start, next, "shard {k}/{n} starts where the last ended");
                next = r.end;
                rows += units[r].iter().map(|u| u.rows).sum::<u64>();
            }
            assert_eq!((next, rows), (units.len(), 11));
        }
    }
}
