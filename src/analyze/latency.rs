//! Calls per (task type, provider, model, latency ms), counted in one pass over the files with
//! arrow-rs rather than a Polars group-by: the group-by holds every distinct key (millions on
//! large data, ~850 MiB at 10M rows), while here each group keeps a dense array indexed by
//! latency, so memory depends on the groups and the latency range, not on the rows. Exact.
//! Only successful calls are counted: a failed call's latency is not a response time (a
//! rate-limited call returns in 20–150 ms without an answer).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context as _, Result};
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use rustc_hash::FxHashMap;

use super::DataSource;
use super::frame::SUCCESS;
use crate::validate::coded::Coded;
use crate::validate::read::read_columns;

/// (task type, provider, model); a null reads as "" (as [`super::frame::strings`] does).
pub type GroupKey = (String, String, String);

const KEY_COLUMNS: [&str; 3] = ["task_type", "provider", "model"];
const LATENCY: &str = "latency_ms";
const STATUS: &str = "status";
/// Latencies below this are counted in a dense array; others (rare) in a map.
const DENSE_MS: i64 = 1 << 16;

/// Successful calls per latency value (ms) of every group, groups and latencies sorted.
pub fn latency_counts(source: &DataSource) -> Result<BTreeMap<GroupKey, BTreeMap<i64, u64>>> {
    let files: Vec<PathBuf> = source.files.iter().map(|f| f.path.clone()).collect();
    // One worker per thread, each taking the next file and keeping its own counts: a fixed
    // number of histograms sets, where a rayon reduction could hold one per split.
    let next = AtomicUsize::new(0);
    let work = || -> Result<Counts> {
        let mut counts = Counts::default();
        while let Some(f) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
            count_file(f, &mut counts)?;
        }
        Ok(counts)
    };
    let workers = rayon::current_num_threads().clamp(1, files.len().max(1));
    let mut all = Counts::default();
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = (0..workers).map(|_| s.spawn(work)).collect();
        for h in handles {
            let counts = h
                .join()
                .map_err(|_| anyhow::anyhow!("a latency counting thread panicked"))??;
            all.merge(counts);
        }
        Ok(())
    })?;
    Ok(all.into_sorted())
}

fn count_file(path: &Path, counts: &mut Counts) -> Result<()> {
    let mut columns = KEY_COLUMNS.to_vec();
    columns.extend([LATENCY, STATUS]);
    let mut coded = KEY_COLUMNS.to_vec();
    coded.push(STATUS);
    for batch in read_columns(path, &columns, &coded)? {
        counts
            .batch(&batch?)
            .with_context(|| format!("{}: cannot count latencies", path.display()))?;
    }
    Ok(())
}

/// One group's counts: dense below [`DENSE_MS`] (grown to the largest latency seen), sparse above.
#[derive(Default)]
struct Histogram {
    dense: Vec<u64>,
    sparse: BTreeMap<i64, u64>,
}

impl Histogram {
    fn add(&mut self, ms: i64, n: u64) {
        if (0..DENSE_MS).contains(&ms) {
            let i = ms as usize;
            if i >= self.dense.len() {
                self.dense.resize(i + 1, 0);
            }
            self.dense[i] += n;
        } else {
            *self.sparse.entry(ms).or_default() += n;
        }
    }

    fn merge(&mut self, other: Histogram) {
        if other.dense.len() > self.dense.len() {
            self.dense.resize(other.dense.len(), 0);
        }
        for (a, b) in self.dense.iter_mut().zip(other.dense) {
            *a += b;
        }
        for (ms, n) in other.sparse {
            *self.sparse.entry(ms).or_default() += n;
        }
    }

    fn into_sorted(self) -> BTreeMap<i64, u64> {
        let mut out = self.sparse;
        for (ms, n) in self.dense.into_iter().enumerate() {
            if n > 0 {
                out.insert(ms as i64, n);
            }
        }
        out
    }
}

/// Histograms per group, the group's names interned as small ids (no allocation per row).
#[derive(Default)]
struct Counts {
    ids: [HashMap<String, u32>; 3],
    names: [Vec<String>; 3],
    groups: FxHashMap<[u32; 3], Histogram>,
}

impl Counts {
    fn id(&mut self, k: usize, name: &str) -> u32 {
        if let Some(&id) = self.ids[k].get(name) {
            return id;
        }
        let id = self.names[k].len() as u32;
        self.names[k].push(name.to_string());
        self.ids[k].insert(name.to_string(), id);
        id
    }

    fn batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let column = |name: &str| -> Result<&ArrayRef> {
            batch
                .column_by_name(name)
                .with_context(|| format!("no column `{name}`"))
        };
        // The keys as codes (Parquet's dictionaries; other types as text first), each batch
        // code's id looked up once.
        let texts = KEY_COLUMNS
            .iter()
            .map(|c| -> Result<ArrayRef> {
                let a = column(c)?;
                if Coded::of(a.as_ref()).is_some() {
                    return Ok(a.clone());
                }
                cast(a, &DataType::Utf8).with_context(|| format!("column `{c}` is {}, not text", a.data_type()))
            })
            .collect::<Result<Vec<_>>>()?;
        let keys: Vec<Coded<'_>> = texts.iter().filter_map(|a| Coded::of(a.as_ref())).collect();
        let ids: Vec<Vec<u32>> = keys
            .iter()
            .enumerate()
            .map(|(k, c)| c.values.iter().map(|v| self.id(k, v.unwrap_or(""))).collect())
            .collect();
        let empty: [u32; 3] = std::array::from_fn(|k| self.id(k, ""));
        let status = column(STATUS)?;
        let status = match Coded::of(status.as_ref()) {
            Some(_) => status.clone(),
            None => cast(status, &DataType::Utf8)
                .with_context(|| format!("column `{STATUS}` is {}, not text", status.data_type()))?,
        };
        let status = Coded::of(status.as_ref()).context("status read as text")?;
        let success: Vec<bool> = status.values.iter().map(|v| *v == Some(SUCCESS)).collect();
        let latency = column(LATENCY)?;
        let latency = cast(latency, &DataType::Int64)
            .with_context(|| format!("column `{LATENCY}` is {}, not {}", latency.data_type(), DataType::Int64))?;
        let latency = latency.as_primitive::<Int64Type>();
        for i in 0..batch.num_rows() {
            if !status.codes[i].is_some_and(|c| success[c as usize]) {
                continue;
            }
            let key: [u32; 3] = std::array::from_fn(|k| keys[k].codes[i].map_or(empty[k], |c| ids[k][c as usize]));
            let ms = if latency.is_valid(i) { latency.value(i) } else { 0 };
            self.groups.entry(key).or_default().add(ms, 1);
        }
        Ok(())
    }

    fn merge(&mut self, other: Counts) {
        for (key, h) in other.groups {
            let key = std::array::from_fn(|k| self.id(k, &other.names[k][key[k] as usize]));
            self.groups.entry(key).or_default().merge(h);
        }
    }

    fn into_sorted(self) -> BTreeMap<GroupKey, BTreeMap<i64, u64>> {
        let name = |k: usize, id: u32| self.names[k][id as usize].clone();
        let mut out: BTreeMap<GroupKey, BTreeMap<i64, u64>> = BTreeMap::new();
        for (key, h) in self.groups {
            let key = (name(0, key[0]), name(1, key[1]), name(2, key[2]));
            out.insert(key, h.into_sorted());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sparse_latencies_merge_into_one_sorted_count() {
        let (mut a, mut b) = (Histogram::default(), Histogram::default());
        for ms in [5, 5, 70_000, -1, 0] {
            a.add(ms, 1);
        }
        for ms in [5, 65_535, 65_536, 70_000] {
            b.add(ms, 2);
        }
        a.merge(b);
        let want = BTreeMap::from([(-1, 1), (0, 1), (5, 4), (65_535, 2), (65_536, 2), (70_000, 3)]);
        assert_eq!(a.into_sorted(), want);
    }
}
