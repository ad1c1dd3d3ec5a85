//! Unique ids over millions of rows: every id's exact key ([`super::id_key`]) collected during
//! the pass and sorted at the end to find repeats (a hash set over 10M ids takes twice the
//! memory and time), then, only when one repeats, a second pass that names the rows repeating
//! it. Shared by the calls and ticketing invariants.

use std::path::Path;

use anyhow::Result;
use arrow::array::{Array, AsArray};
use arrow::datatypes::SchemaRef;
use rayon::slice::ParallelSliceMut;
use rustc_hash::FxHashSet;

use super::id_key;
use super::read::for_each_batch;

/// The tag of an exact key of 16 hex digits: without it the key is the id's 64-bit value.
const SIXTEEN_DIGITS: u128 = 16 << 64;

/// A key as a 64-bit value when it is of a prefix + 16 hex digits (all of trafficsim's ids),
/// else the whole key.
pub(crate) fn split_key(key: u128) -> Result<u64, u128> {
    u64::try_from(key ^ SIXTEEN_DIGITS).map_err(|_| key)
}

/// The keys of one id column, collected in a pass.
#[derive(Default)]
pub(crate) struct IdKeys {
    sixteen: Vec<u64>,
    /// The keys of ids that are not prefix + 16 hex digits (none in trafficsim's data).
    others: Vec<u128>,
}

impl IdKeys {
    /// Room for `ids` ids, so the vector is not doubled (and copied) as it grows.
    pub(crate) fn with_capacity(ids: usize) -> IdKeys {
        IdKeys {
            sixteen: Vec::with_capacity(ids),
            others: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, key: u128) {
        match split_key(key) {
            Ok(value) => self.sixteen.push(value),
            Err(key) => self.others.push(key),
        }
    }

    /// The keys that occur more than once.
    pub(crate) fn repeated(self) -> FxHashSet<u128> {
        let IdKeys {
            mut sixteen,
            mut others,
        } = self;
        sixteen.par_sort_unstable();
        let mut repeated: FxHashSet<u128> = sixteen
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| u128::from(w[0]) ^ SIXTEEN_DIGITS)
            .collect();
        drop(sixteen);
        others.par_sort_unstable();
        repeated.extend(others.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]));
        repeated
    }
}

/// Calls `fail(row, id)` (rows 1-based, in file order) for every row whose id in `column` is one
/// of `repeated` and was seen on an earlier row: the second pass, run only when ids repeat.
pub(crate) fn name_repeats(
    path: &Path,
    schema: &SchemaRef,
    column: &str,
    prefix: &str,
    repeated: &FxHashSet<u128>,
    mut fail: impl FnMut(u64, &str),
) -> Result<()> {
    if repeated.is_empty() {
        return Ok(());
    }
    let mut seen: FxHashSet<u128> = FxHashSet::default();
    let mut row = 0u64;
    for_each_batch(path, schema, |b| {
        if let Some(ids) = b.column_by_name(column).and_then(|a| a.as_string_opt::<i32>()) {
            for i in 0..b.num_rows() {
                if ids.is_valid(i) {
                    let id = ids.value(i);
                    let key = id_key(id, prefix);
                    if repeated.contains(&key) && !seen.insert(key) {
                        fail(row + 1 + i as u64, id);
                    }
                }
            }
        }
        row += b.num_rows() as u64;
        Ok(())
    })
}
