//! The analyzers' shared context: the data as a lazy frame, its columns and window, the side
//! tables, and the results several analyzers read, computed once.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use polars::prelude::*;

use super::predictions::Predictions;
use super::{Columns, DataSource, SideTables, Window, replay};
use crate::config::CallsConfig;

/// What the analyzers share: the data as a lazy frame, its window, the run plan and what it names.
pub struct Context<'a, C = CallsConfig> {
    pub config: &'a C,
    pub source: &'a DataSource,
    pub window: Window,
    /// The columns of the data as the analyzers read it (after any columns map).
    pub(super) present: Vec<String>,
    /// Every column the workload's analyzers may read ([`Columns::All`]).
    pub(super) all_columns: &'static [&'static str],
    pub(super) calls: LazyFrame,
    pub(super) side: SideTables,
    pub(super) predictions: Option<&'a Predictions>,
    pub(super) replay: Option<&'a replay::ReplayRun>,
    pub(super) engine: Engine,
    pub(super) shared: SharedResults,
}

/// Results that several analyzers read, each computed by the first that asks ([`Context::shared`]).
pub(super) type SharedResults = Mutex<HashMap<&'static str, SharedResult>>;
type SharedResult = Arc<dyn Any + Send + Sync>;

impl<C> Context<'_, C> {
    /// Whether the data has the column `name`.
    pub fn has_column(&self, name: &str) -> bool {
        self.present.iter().any(|c| c == name)
    }

    /// The columns of `wanted` the data lacks, in declaration order.
    pub fn missing(&self, wanted: Columns) -> Vec<&'static str> {
        wanted
            .names(self.all_columns)
            .iter()
            .copied()
            .filter(|c| !self.has_column(c))
            .collect()
    }

    /// The calls dataset as a fresh lazy query (cheap to clone: it is a plan, not data).
    pub fn calls(&self) -> LazyFrame {
        self.calls.clone()
    }

    /// The workload's fact table as a fresh lazy query.
    pub fn rows(&self) -> LazyFrame {
        self.calls.clone()
    }

    /// A small table beside the fact table (ticketing: `events`, `users`, `labels`) as a fresh
    /// lazy query.
    pub fn table(&self, name: &str) -> Result<LazyFrame> {
        self.side
            .get(name)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("the dataset has no `{name}` table"))
    }

    /// The `--replay` directory, when one was given.
    pub fn replay(&self) -> Option<&replay::ReplayRun> {
        self.replay
    }

    /// The checked `--predictions` file, when one was given.
    pub fn predictions(&self) -> Option<&Predictions> {
        self.predictions
    }

    /// The result named `key`, computed by `compute` the first time an analyzer asks for it and
    /// shared after that: a query two pages read runs once (at 10M rows, where the analyzers run
    /// one after the other, one scan fewer). No lock is held while computing (analyzers that
    /// run side by side on rayon could otherwise wait on each other): two at once both compute,
    /// and the first to finish is kept.
    pub fn shared<T: Any + Send + Sync>(
        &self,
        key: &'static str,
        compute: impl FnOnce() -> Result<T>,
    ) -> Result<Arc<T>> {
        let done = self.shared.lock().unwrap_or_else(|e| e.into_inner()).get(key).cloned();
        let done = match done {
            Some(done) => done,
            None => {
                let fresh: SharedResult = Arc::new(compute()?);
                let mut all = self.shared.lock().unwrap_or_else(|e| e.into_inner());
                all.entry(key).or_insert(fresh).clone()
            }
        };
        done.downcast::<T>()
            .map_err(|_| anyhow::anyhow!("the shared result `{key}` was computed as another type"))
    }

    /// Runs a query. Large datasets use the streaming engine, so memory stays bounded.
    pub fn collect(&self, query: LazyFrame) -> Result<DataFrame> {
        Ok(query.collect_with_engine(self.engine)?.unwrap_single())
    }

    /// Runs several queries together: a scan they share (the same filtered rows) is read once.
    pub fn collect_all(&self, queries: Vec<LazyFrame>) -> Result<Vec<DataFrame>> {
        let Some(opt_state) = queries.first().map(|q| q.get_current_optimizations()) else {
            return Ok(Vec::new());
        };
        let plans = queries.into_iter().map(|q| q.logical_plan).collect();
        Ok(LazyFrame::collect_all_with_engine(plans, self.engine, opt_state)?)
    }
}
