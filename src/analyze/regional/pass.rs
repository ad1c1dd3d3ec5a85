//! The regional page's one pass over the files with arrow (as `latency.rs` counts latencies):
//! per cell (time zone, task type, provider, model, region) the sums of its calls and its
//! successful calls' latency bins, and per (time zone, 15-minute slot) the calls and cost. A
//! Polars group-by on the five names and the bin holds every distinct key (1.2 GiB at 10M
//! rows); here each cell keeps a dense array of bins, so memory depends on the cells only.

use std::collections::BTreeMap;

use foldhash::HashMap;
use std::path::Path;

use anyhow::{Context as _, Result};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit};
use rayon::prelude::*;

use crate::analyze::dataset::SourceFile;
use crate::analyze::frame::{SUCCESS, Totals};
use crate::validate::coded::{Coded, Interner, text_column};
use crate::validate::read::read_columns;

const KEYS: [&str; 5] = ["timezone", "task_type", "provider", "model", "region"];
const VALUES: [&str; 6] = [
    "timestamp",
    "status",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "cost_usd",
];
/// Latencies are exact below this (ms); above it, 128 bins per doubling.
pub const EXACT_BELOW_MS: i64 = 256;
/// The highest doubling binned on its own (2^28 ms, about 3 days); above it, the last bin.
const TOP_OCTAVE: u32 = 28;
const BINS: usize = EXACT_BELOW_MS as usize + (TOP_OCTAVE as usize - 7) * 128;
/// Local-hour slots: 15 minutes, in µs (every zone's offset is a multiple of it).
pub const SLOT_US: i64 = 15 * 60 * 1_000_000;

/// (time zone, task type, provider, model, region).
pub type CellKey = (String, String, String, String, String);

/// The bin index of a latency.
fn bin_index(ms: i64) -> usize {
    let ms = ms.clamp(0, (1 << (TOP_OCTAVE + 1)) - 1);
    if ms < EXACT_BELOW_MS {
        return ms as usize;
    }
    let octave = 63 - ms.leading_zeros();
    EXACT_BELOW_MS as usize + (octave as usize - 8) * 128 + ((ms >> (octave - 7)) as usize - 128)
}

/// The first latency of bin `index` and the bin's width (ms).
pub fn bin_start(index: usize) -> (i64, i64) {
    if index < EXACT_BELOW_MS as usize {
        return (index as i64, 1);
    }
    let i = index - EXACT_BELOW_MS as usize;
    let octave = 8 + (i / 128) as u32;
    let mantissa = 128 + (i % 128) as i64;
    (mantissa << (octave - 7), 1 << (octave - 7))
}

/// One cell: sums over its calls, successful calls' tokens, latency bins.
#[derive(Default, Clone)]
pub struct Cell {
    pub totals: Totals,
    pub ok_tokens: i64,
    pub bins: Vec<u64>,
}

/// What the pass found.
#[derive(Default)]
pub struct Found {
    pub cells: BTreeMap<CellKey, Cell>,
    /// (time zone, slot) → (calls, cost micros).
    pub slots: BTreeMap<(String, i64), (u64, i64)>,
}

/// Counts of one worker, names interned as small ids.
#[derive(Default)]
struct Counts {
    names: [Interner; 5],
    cells: HashMap<[u32; 5], Cell>,
    slots: HashMap<(u32, i64), (u64, i64)>,
}

/// Reads every file of the dataset once.
pub fn run(files: &[SourceFile]) -> Result<Found> {
    let counts = files
        .par_iter()
        .try_fold(Counts::default, |mut c, f| -> Result<Counts> {
            c.file(&f.path)?;
            Ok(c)
        })
        .try_reduce(Counts::default, |mut a, b| {
            a.merge(b);
            Ok(a)
        })?;
    Ok(counts.found())
}

impl Counts {
    fn file(&mut self, path: &Path) -> Result<()> {
        let columns: Vec<&str> = KEYS.iter().chain(&VALUES).copied().collect();
        for batch in read_columns(path, &columns, &[KEYS.as_slice(), &["status"]].concat())? {
            self.batch(&batch?)
                .with_context(|| format!("{}: cannot count the regions", path.display()))?;
        }
        Ok(())
    }

    fn batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let column = |name: &str, to: &DataType| -> Result<_> {
            let c = batch
                .column_by_name(name)
                .with_context(|| format!("no column `{name}`"))?;
            cast(c, to).with_context(|| format!("column `{name}` is {}, not {to}", c.data_type()))
        };
        let mut keys = Vec::with_capacity(KEYS.len());
        for (k, c) in KEYS.iter().enumerate() {
            let ids = self.names[k].row_ids(text_column(batch, c)?.as_ref());
            keys.push(ids.context("a text column")?);
        }
        let status = text_column(batch, "status")?;
        let status = Coded::of(status.as_ref()).context("a text column")?;
        let success: Vec<bool> = status.values.iter().map(|v| *v == Some(SUCCESS)).collect();
        let ts = cast(
            &column("timestamp", &DataType::Timestamp(TimeUnit::Microsecond, None))?,
            &DataType::Int64,
        )?;
        let ints = ["latency_ms", "input_tokens", "output_tokens"]
            .iter()
            .map(|c| column(c, &DataType::Int64))
            .collect::<Result<Vec<_>>>()?;
        let cost = column("cost_usd", &DataType::Float64)?;
        let (ts, cost) = (ts.as_primitive::<Int64Type>(), cost.as_primitive::<Float64Type>());
        let int = |k: usize, i: usize| {
            let a = ints[k].as_primitive::<Int64Type>();
            if a.is_valid(i) { a.value(i) } else { 0 }
        };
        let row_keys = (0..batch.num_rows()).map(|i| -> [u32; 5] { std::array::from_fn(|k| keys[k][i]) });
        for (i, key) in row_keys.enumerate() {
            let (latency, input, output) = (int(0, i), int(1, i), int(2, i));
            let micros = if cost.is_valid(i) {
                (cost.value(i) * 1e6).round() as i64
            } else {
                0
            };
            let ok = status.codes[i].is_some_and(|c| success[c as usize]);
            let cell = self.cells.entry(key).or_default();
            let t = &mut cell.totals;
            t.calls += 1;
            t.cost_micros += micros;
            t.input_tokens += input;
            t.output_tokens += output;
            t.latency_ms += latency;
            if ok {
                t.successes += 1;
                cell.ok_tokens += input + output;
                if cell.bins.is_empty() {
                    cell.bins = vec![0; BINS];
                }
                cell.bins[bin_index(latency)] += 1;
            }
            let us = if ts.is_valid(i) { ts.value(i) } else { 0 };
            let slot = self.slots.entry((key[0], us.div_euclid(SLOT_US))).or_default();
            slot.0 += 1;
            slot.1 += micros;
        }
        Ok(())
    }

    fn merge(&mut self, other: Counts) {
        let map = |s: &mut Counts, key: [u32; 5]| -> [u32; 5] {
            std::array::from_fn(|k| s.names[k].id(other.names[k].name(key[k])))
        };
        for (key, cell) in &other.cells {
            let key = map(self, *key);
            let mine = self.cells.entry(key).or_default();
            mine.totals.add(&cell.totals);
            mine.ok_tokens += cell.ok_tokens;
            if !cell.bins.is_empty() {
                if mine.bins.is_empty() {
                    mine.bins = vec![0; BINS];
                }
                for (a, b) in mine.bins.iter_mut().zip(&cell.bins) {
                    *a += b;
                }
            }
        }
        for (&(tz, slot), &(calls, cost)) in &other.slots {
            let tz = self.names[0].id(other.names[0].name(tz));
            let mine = self.slots.entry((tz, slot)).or_default();
            mine.0 += calls;
            mine.1 += cost;
        }
    }

    fn found(self) -> Found {
        let name = |k: usize, id: u32| self.names[k].name(id).to_string();
        let cells = self
            .cells
            .iter()
            .map(|(key, cell)| {
                let key = (
                    name(0, key[0]),
                    name(1, key[1]),
                    name(2, key[2]),
                    name(3, key[3]),
                    name(4, key[4]),
                );
                (key, cell.clone())
            })
            .collect();
        let slots = self
            .slots
            .iter()
            .map(|(&(tz, slot), &v)| ((name(0, tz), slot), v))
            .collect();
        Found { cells, slots }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_exact_below_256_ms_then_within_half_a_percent() {
        for ms in [0, 1, 255, 256, 257, 511, 512, 1000, 4095, 30_000, 1 << 28] {
            let (start, width) = bin_start(bin_index(ms));
            assert!(
                start <= ms && ms < start + width,
                "{ms} in [{start}, {})",
                start + width
            );
            assert!(width == 1 || (width as f64) / (start as f64) <= 1.0 / 128.0, "{ms}");
        }
        assert_eq!(bin_index(-5), 0);
        assert!(bin_index(i64::MAX) < BINS);
        let indices: Vec<usize> = (0..100_000).map(bin_index).collect();
        assert!(indices.windows(2).all(|w| w[0] <= w[1]), "bins rise with latency");
    }
}
