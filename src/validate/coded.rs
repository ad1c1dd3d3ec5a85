//! A string column of a record batch as small integer codes into its distinct values, so a
//! pass that looks values up (a catalogue, a map of names) does it once per distinct value,
//! not once per row.

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int32Type;
use rustc_hash::FxHashMap;

/// A string column of a batch as codes into its distinct values, so a lookup runs once per
/// value: Parquet's own dictionary when the column was read as one, else interned here (CSV).
pub(crate) struct Coded<'b> {
    /// The distinct values (`None`: a null in the dictionary).
    pub(crate) values: Vec<Option<&'b str>>,
    /// Each row's value, `None` for a null.
    pub(crate) codes: Vec<Option<u32>>,
}

impl<'b> Coded<'b> {
    pub(crate) fn of(array: &'b dyn Array) -> Option<Coded<'b>> {
        if let Some(dict) = array.as_dictionary_opt::<Int32Type>() {
            let values = dict.values().as_string_opt::<i32>()?;
            return Some(Coded {
                values: values.iter().collect(),
                codes: dict.keys().iter().map(|k| k.map(|k| k as u32)).collect(),
            });
        }
        let strings = array.as_string_opt::<i32>()?;
        let mut ids: FxHashMap<&str, u32> = FxHashMap::default();
        let mut values = Vec::new();
        let codes = strings
            .iter()
            .map(|v| {
                v.map(|v| {
                    *ids.entry(v).or_insert_with(|| {
                        values.push(Some(v));
                        values.len() as u32 - 1
                    })
                })
            })
            .collect();
        Some(Coded { values, codes })
    }
}
