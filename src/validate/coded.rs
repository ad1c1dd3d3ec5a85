//! A string column of a record batch as small integer codes into its distinct values, so a
//! pass that looks values up (a catalogue, a map of names) does it once per distinct value,
//! not once per row.

use anyhow::{Context as _, Result};
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int32Type};
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

/// Names → small integer ids, kept across the batches and files of a pass: the passes that count
/// per customer, model or region key their counts by id, and look a name up once per distinct
/// value of a batch ([`Coded`]), not once per row.
#[derive(Debug, Default, Clone)]
pub(crate) struct Interner {
    ids: FxHashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    /// The id of `name`, given on first sight.
    pub(crate) fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }

    /// The name of `id`.
    pub(crate) fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    /// Every name, in the order of their ids.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// Each row's id in a text column of a batch (a null reads as ""); `None` when the column is
    /// not text.
    pub(crate) fn row_ids(&mut self, array: &dyn Array) -> Option<Vec<u32>> {
        let coded = Coded::of(array)?;
        let ids: Vec<u32> = coded.values.iter().map(|v| self.id(v.unwrap_or(""))).collect();
        let null = self.id("");
        Some(
            coded
                .codes
                .iter()
                .map(|c| c.map_or(null, |c| ids[c as usize]))
                .collect(),
        )
    }
}

/// Column `name` of `batch` as text that [`Coded::of`] reads: as it is when it is text or a
/// dictionary of text, else cast to text (a CSV column typed as a number). An error names the
/// column when it is missing or cannot be read as text.
pub(crate) fn text_column(batch: &RecordBatch, name: &str) -> Result<ArrayRef> {
    let c = batch
        .column_by_name(name)
        .with_context(|| format!("no column `{name}`"))?;
    let text = |t: &DataType| t == &DataType::Utf8;
    match c.data_type() {
        DataType::Dictionary(k, v) if k.as_ref() == &DataType::Int32 && text(v) => return Ok(c.clone()),
        t if text(t) => return Ok(c.clone()),
        _ => {}
    }
    cast(c, &DataType::Utf8).with_context(|| format!("column `{name}` is {}, not text", c.data_type()))
}
