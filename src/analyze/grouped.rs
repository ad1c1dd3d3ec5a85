//! The standard sums ([`Totals`]) per combination of key columns, folded from the query's
//! batches as they stream (`sink_batches`): memory is the groups, never the rows.
//!
//! Polars' streaming group-by places keys in a fixed-size hot table and keeps the rows of every
//! key it cannot place until the input ends. At 100M rows the organization page's 308,614
//! (organization, product, feature, environment, customer) cells took 2.5 GB that way, and
//! the features page's (customer, product, feature) cells 1.8 GB.

use std::sync::{Arc, Mutex};

use anyhow::{Result, bail};
use polars::prelude::*;
use rustc_hash::FxHashMap;

use crate::analyze::Context;
use crate::analyze::frame::{Totals, cost_micros, is_success};
use crate::validate::coded::Interner;

/// The most key columns a fold takes.
const MAX_KEYS: usize = 5;

/// One combination of keys: its values (in the order asked), its sums and its first and last
/// timestamps (µs since the epoch).
#[derive(Debug, Clone, PartialEq)]
pub struct Grouped {
    pub keys: Vec<String>,
    pub totals: Totals,
    pub first_us: i64,
    pub last_us: i64,
}

/// The sums so far: each key column's values interned, each combination's sums.
struct Fold {
    names: Vec<Interner>,
    index: FxHashMap<[u32; MAX_KEYS], u32>,
    groups: Vec<([u32; MAX_KEYS], Totals, i64, i64)>,
}

impl Fold {
    fn add(&mut self, df: &DataFrame) -> PolarsResult<()> {
        let keys = (0..self.names.len())
            .map(|k| df.column(&key_name(k))?.str())
            .collect::<PolarsResult<Vec<_>>>()?;
        let mut values: Vec<_> = keys.iter().map(|c| c.iter()).collect();
        let int = |name: &str| df.column(name).and_then(|c| c.i64().cloned());
        let (ts, successes, cost, input, output, latency) = (
            int("ts")?,
            int("successes")?,
            int("cost_micros")?,
            int("input_tokens")?,
            int("output_tokens")?,
            int("latency_ms")?,
        );
        let numbers = ts
            .iter()
            .zip(successes.iter())
            .zip(cost.iter())
            .zip(input.iter())
            .zip(output.iter())
            .zip(latency.iter());
        for (((((ts, ok), cost), input), output), latency) in numbers {
            let mut key = [0u32; MAX_KEYS];
            for (slot, (names, column)) in key.iter_mut().zip(self.names.iter_mut().zip(values.iter_mut())) {
                // A null reads as "", as `frame::strings` reads it.
                *slot = names.id(column.next().flatten().unwrap_or(""));
            }
            let next = self.groups.len() as u32;
            let g = *self.index.entry(key).or_insert(next);
            if g == next {
                self.groups.push((key, Totals::default(), i64::MAX, i64::MIN));
            }
            let (_, t, first, last) = &mut self.groups[g as usize];
            t.calls += 1;
            t.successes += ok.unwrap_or(0) as u64;
            t.cost_micros += cost.unwrap_or(0);
            t.input_tokens += input.unwrap_or(0);
            t.output_tokens += output.unwrap_or(0);
            t.latency_ms += latency.unwrap_or(0);
            if let Some(ts) = ts {
                (*first, *last) = ((*first).min(ts), (*last).max(ts));
            }
        }
        Ok(())
    }

    fn finish(self) -> Vec<Grouped> {
        let mut out: Vec<Grouped> = (self.groups.into_iter())
            .map(|(key, totals, first_us, last_us)| Grouped {
                keys: (self.names.iter().zip(key))
                    .map(|(names, id)| names.name(id).to_string())
                    .collect(),
                totals,
                first_us,
                last_us,
            })
            .collect();
        out.sort_by(|a, b| a.keys.cmp(&b.keys));
        out
    }
}

/// Streams the batches of `query` into `state`, one `add` at a time, and returns the state: a
/// fold whose memory is the state's, never the rows'.
pub fn fold_batches<T: Send + 'static>(
    query: LazyFrame,
    state: T,
    add: impl Fn(&mut T, &DataFrame) -> PolarsResult<()> + Send + Sync + 'static,
) -> Result<T> {
    let state = Arc::new(Mutex::new(state));
    let into = state.clone();
    let sink = PlanCallback::new(move |df: DataFrame| {
        add(&mut into.lock().unwrap_or_else(|e| e.into_inner()), &df)?;
        // false: keep the batches coming.
        Ok(false)
    });
    query
        .sink_batches(sink, false, None)?
        .collect_with_engine(Engine::Streaming)?;
    Ok(Arc::try_unwrap(state)
        .map_err(|_| anyhow::anyhow!("a fold's state is still shared after its query"))?
        .into_inner()
        .unwrap_or_else(|e| e.into_inner()))
}

fn key_name(k: usize) -> String {
    format!("key{k}")
}

/// The usage cells' keys: the organization page's cells, which the features page rolls up.
const CELL_KEYS: [&str; 5] = [
    "organization_id",
    "product_id",
    "feature_id",
    "environment",
    "customer_id",
];

/// The sums per (organization, product, feature, environment, customer) cell ([`CELL_KEYS`]),
/// computed once for the organization and features pages ([`Context::shared`]).
pub fn usage_cells(ctx: &Context<'_>) -> Result<Arc<Vec<Grouped>>> {
    ctx.shared("usage_cells", || fold_totals(ctx, &CELL_KEYS))
}

/// The sums of the calls per combination of the `keys` columns (1 to 5 of them, read as text),
/// sorted by the keys. For keys with many combinations; [`frame::totals_by`](crate::analyze::frame::totals_by),
/// a Polars group-by, is faster where the combinations are few (providers, models).
pub fn fold_totals(ctx: &Context<'_>, keys: &[&str]) -> Result<Vec<Grouped>> {
    if keys.is_empty() || keys.len() > MAX_KEYS {
        bail!("a fold takes 1 to {MAX_KEYS} key columns, not {}", keys.len());
    }
    let i64_of = |e: Expr| e.cast(DataType::Int64);
    let mut columns: Vec<Expr> = (keys.iter().enumerate())
        .map(|(k, name)| col(*name).cast(DataType::String).alias(key_name(k)))
        .collect();
    columns.extend([
        i64_of(col("timestamp")).alias("ts"),
        i64_of(is_success()).alias("successes"),
        cost_micros().alias("cost_micros"),
        i64_of(col("input_tokens")).alias("input_tokens"),
        i64_of(col("output_tokens")).alias("output_tokens"),
        i64_of(col("latency_ms")).alias("latency_ms"),
    ]);
    let fold = Fold {
        names: vec![Interner::default(); keys.len()],
        index: FxHashMap::default(),
        groups: Vec::new(),
    };
    let fold = fold_batches(ctx.calls().select(columns), fold, Fold::add)?;
    Ok(fold.finish())
}
