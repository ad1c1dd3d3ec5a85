//! Ids as exact integer keys ([`crate::validate::id_key`]) and the repeated transaction ids: the
//! keys collected during the replay, sorted at the end.

use std::path::Path;

use anyhow::Result;

use super::super::unique::name_repeats;
use super::{State, UNIQUE_IDS};
use crate::batch::ticketing::transactions::TRANSACTIONS_SCHEMA;

/// The prefixes of trafficsim's ids, for their exact keys ([`super::id_key`]).
pub(super) const TRANSACTION_PREFIX: &str = "txn_";
pub(super) const USER_PREFIX: &str = "usr_";
pub(super) const SESSION_PREFIX: &str = "ses_";

/// An id back from its exact key, for an example; a hashed id cannot be, and says so.
pub(super) fn id_text(key: u128, prefix: &str) -> String {
    let digits = (key >> 64) as usize;
    if (1..=16).contains(&digits) {
        format!("{prefix}{:0digits$x}", key as u64)
    } else {
        "an earlier session".to_string()
    }
}

impl State<'_> {
    /// Repeated transaction ids: the keys sorted, and only when one repeats, a second pass for
    /// the rows that repeat it (the examples name them).
    pub(super) fn finish_unique_ids(&mut self, transactions: &Path) -> Result<()> {
        let repeated = std::mem::take(&mut self.transaction_ids).repeated();
        name_repeats(
            transactions,
            &TRANSACTIONS_SCHEMA,
            "transaction_id",
            TRANSACTION_PREFIX,
            &repeated,
            |at, id| self.fail(UNIQUE_IDS, || format!("row {at}: transaction_id {id} seen before")),
        )
    }
}
