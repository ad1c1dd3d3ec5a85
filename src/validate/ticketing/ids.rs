//! Ids as exact integer keys ([`crate::validate::id_key`]) and the repeated transaction ids: the
//! keys collected during the replay, sorted at the end.

use std::path::Path;

use anyhow::Result;
use arrow::array::{Array, AsArray};
use rayon::slice::ParallelSliceMut;
use rustc_hash::FxHashSet;

use super::super::read::for_each_batch;
use super::{State, UNIQUE_IDS};
use crate::batch::ticketing::transactions::TRANSACTIONS_SCHEMA;

/// The prefixes of trafficsim's ids, for their exact keys ([`super::id_key`]).
pub(super) const TRANSACTION_PREFIX: &str = "txn_";
pub(super) const USER_PREFIX: &str = "usr_";
pub(super) const SESSION_PREFIX: &str = "ses_";

/// The tag of an exact key of 16 hex digits: without it the key is the id's 64-bit value.
const SIXTEEN_DIGITS: u128 = 16 << 64;

/// An id back from its exact key, for an example; a hashed id cannot be, and says so.
pub(super) fn id_text(key: u128, prefix: &str) -> String {
    let digits = (key >> 64) as usize;
    if (1..=16).contains(&digits) {
        format!("{prefix}{:0digits$x}", key as u64)
    } else {
        "an earlier session".to_string()
    }
}

/// A transaction id's key as a 64-bit value when it is `txn_` + 16 hex digits (all of
/// trafficsim's), else the whole key.
pub(super) fn split_key(key: u128) -> Result<u64, u128> {
    u64::try_from(key ^ SIXTEEN_DIGITS).map_err(|_| key)
}

impl State<'_> {
    /// Repeated transaction ids: the keys sorted, and only when one repeats, a second pass for
    /// the rows that repeat it (the examples name them).
    pub(super) fn finish_unique_ids(&mut self, transactions: &Path) -> Result<()> {
        let mut values = std::mem::take(&mut self.transaction_ids);
        values.par_sort_unstable();
        let mut repeated: FxHashSet<u128> = values
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| u128::from(w[0]) ^ SIXTEEN_DIGITS)
            .collect();
        drop(values);
        let mut others = std::mem::take(&mut self.other_transaction_ids);
        others.par_sort_unstable();
        repeated.extend(others.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]));
        drop(others);
        if repeated.is_empty() {
            return Ok(());
        }
        let mut seen: FxHashSet<u128> = FxHashSet::default();
        let mut row = 0u64;
        for_each_batch(transactions, &TRANSACTIONS_SCHEMA, |b| {
            let Some(ids) = b
                .column_by_name("transaction_id")
                .and_then(|a| a.as_string_opt::<i32>())
            else {
                return Ok(());
            };
            for i in 0..b.num_rows() {
                if ids.is_valid(i) {
                    let id = ids.value(i);
                    let key = super::super::id_key(id, TRANSACTION_PREFIX);
                    if repeated.contains(&key) && !seen.insert(key) {
                        let at = row + 1 + i as u64;
                        self.fail(UNIQUE_IDS, || format!("row {at}: transaction_id {id} seen before"));
                    }
                }
            }
            row += b.num_rows() as u64;
            Ok(())
        })
    }
}
