//! The invariants of a `calls` dataset: unique ids, one set of attributes per customer, models
//! of their provider, costs from the price table, ranges and known values.
//!
//! Streams the dataset batch by batch; memory grows with distinct customers and call ids only.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use anyhow::Result;
use arrow::array::{Array, AsArray, PrimitiveArray, RecordBatch, StringArray};
use arrow::datatypes::{Float64Type, Int64Type};

use super::{Check, Report, read};
use crate::batch::calls::{CACHED_INPUT_TOKENS, CALLS_SCHEMA, column_names};
use crate::sim::calls::catalogue::{Catalogue, round6};
use crate::sim::calls::model::{Status, TrafficModel};

/// Tolerance on `cost_usd`: the value is rounded to 6 places.
const COST_TOLERANCE: f64 = 1.5e-6;

/// Attributes that must be constant per customer.
const PER_CUSTOMER: [&str; 5] = [
    "subscription_tier",
    "customer_archetype",
    "organization_id",
    "product_id",
    "timezone",
];

struct State<'a> {
    catalogue: &'a Catalogue,
    model: &'a TrafficModel,
    checks: Vec<Check>,
    rows: u64,
    call_ids: rustc_hash::FxHashSet<u128>,
    customers: HashMap<String, [String; 5]>,
    /// Customers already reported as inconsistent, per attribute.
    reported: HashSet<(String, usize)>,
}

const NO_NULLS: usize = 0;
const UNIQUE_IDS: usize = 1;
const ONE_PER_CUSTOMER: usize = 2;
const MODEL_PROVIDER: usize = 3;
const COST: usize = 4;
const RANGES: usize = 5;
const VALUES: usize = 6;
const COLUMNS: usize = 7;
const CACHE: usize = 8;

impl<'a> State<'a> {
    fn new(catalogue: &'a Catalogue, model: &'a TrafficModel) -> Self {
        let check = Check::new;
        State {
            catalogue,
            model,
            checks: vec![
                check("no_nulls", "no null or empty value in any column"),
                check("unique_call_id", "every call_id is unique"),
                check(
                    "one_per_customer",
                    "one tier, archetype, org, product, time zone per customer",
                ),
                check(
                    "model_of_provider",
                    "every model is in the catalogue under its provider",
                ),
                check(
                    "cost_matches_prices",
                    "cost_usd = price table × tokens (6 places); 0 unless success",
                ),
                check("ranges", "tokens, total_tokens and latency within their ranges"),
                check(
                    "allowed_values",
                    "status, environment, tier, archetype and tier price are known",
                ),
                check("known_columns", "every column belongs to the calls schema"),
                check(
                    "cached_tokens",
                    "cached_input_tokens within 0..=input_tokens; 0 unless success on a caching model",
                ),
            ],
            rows: 0,
            call_ids: rustc_hash::FxHashSet::default(),
            customers: HashMap::new(),
            reported: HashSet::new(),
        }
    }

    fn fail(&mut self, check: usize, example: impl FnOnce() -> String) {
        self.checks[check].fail(example);
    }

    fn batch(&mut self, batch: &RecordBatch) {
        let base = self.rows;
        let n = batch.num_rows();
        let str_col = |name: &str| batch.column_by_name(name).and_then(|a| a.as_string_opt::<i32>());
        let int_col = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|a| a.as_primitive_opt::<Int64Type>())
        };
        let f64_col = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|a| a.as_primitive_opt::<Float64Type>())
        };

        for field in batch.schema().fields() {
            let col = batch.column_by_name(field.name()).expect("field of this batch");
            let empty = col
                .as_string_opt::<i32>()
                .map_or(0, |s| s.iter().filter(|v| v.is_some_and(str::is_empty)).count());
            let nulls = col.null_count() + empty;
            if nulls > 0 {
                self.checks[NO_NULLS].violations += nulls as u64 - 1;
                self.fail(NO_NULLS, || {
                    format!(
                        "column {}: {nulls} null or empty value(s) in rows {}..{}",
                        field.name(),
                        base + 1,
                        base + n as u64
                    )
                });
            }
        }

        if let Some(ids) = str_col("call_id") {
            for (i, id) in ids.iter().enumerate() {
                let Some(id) = id else { continue };
                if !self.call_ids.insert(super::id_key(id, "call_")) {
                    self.fail(UNIQUE_IDS, || {
                        format!("row {}: call_id {id} seen before", base + 1 + i as u64)
                    });
                }
            }
        }

        if let Some(customers) = str_col("customer_id") {
            let attrs: Vec<_> = PER_CUSTOMER.iter().map(|a| str_col(a)).collect();
            let attr = |k: usize, i: usize| attrs[k].filter(|a| a.is_valid(i)).map_or("", |a| a.value(i));
            for i in 0..n {
                if !customers.is_valid(i) {
                    continue;
                }
                let cust = customers.value(i);
                let Some(first) = self.customers.get(cust) else {
                    let values = std::array::from_fn(|k| attr(k, i).to_string());
                    self.customers.insert(cust.to_string(), values);
                    continue;
                };
                // Compare in place; only a (rare) mismatch allocates.
                let mismatches: Vec<(usize, String)> = (0..PER_CUSTOMER.len())
                    .filter(|&k| attrs[k].is_some() && first[k] != attr(k, i))
                    .map(|k| (k, first[k].clone()))
                    .collect();
                for (k, was) in mismatches {
                    if self.reported.insert((cust.to_string(), k)) {
                        self.fail(ONE_PER_CUSTOMER, || {
                            format!(
                                "row {}: customer {cust} has {} `{was}` and also `{}`",
                                base + 1 + i as u64,
                                PER_CUSTOMER[k],
                                attr(k, i)
                            )
                        });
                    }
                }
            }
        }

        let (provider, model) = (str_col("provider"), str_col("model"));
        let (input, output, total) = (
            int_col("input_tokens"),
            int_col("output_tokens"),
            int_col("total_tokens"),
        );
        let (cost, latency, status) = (f64_col("cost_usd"), int_col("latency_ms"), str_col("status"));
        // Data written before the column existed read no tokens from a cache.
        let cached = int_col(CACHED_INPUT_TOKENS);
        let values = ValueColumns {
            environment: str_col("environment"),
            archetype: str_col("customer_archetype"),
            tier: str_col("subscription_tier"),
            tier_price: f64_col("tier_price_usd"),
        };
        let limits = &self.model.token_limits;
        let max_latency = i64::from(self.model.latency.timeout_ms).max(60_000);
        for i in 0..n {
            let row = base + 1 + i as u64;
            let m = model.filter(|a| a.is_valid(i)).map(|a| a.value(i));
            let model_index = m.and_then(|m| self.catalogue.model_index(m));
            if let (Some(p), Some(m)) = (provider.filter(|a| a.is_valid(i)).map(|a| a.value(i)), m) {
                let ok = model_index
                    .is_some_and(|mi| self.catalogue.providers[self.catalogue.models[mi].provider].name == p);
                if !ok {
                    self.fail(MODEL_PROVIDER, || {
                        format!("row {row}: model `{m}` is not a model of provider `{p}`")
                    });
                }
            }
            let st = status.filter(|a| a.is_valid(i)).map(|a| a.value(i));
            let success = st == Some(Status::Success.as_str());
            let get =
                |a: Option<&arrow::array::PrimitiveArray<Int64Type>>| a.filter(|a| a.is_valid(i)).map(|a| a.value(i));
            let (tin, tout) = (get(input), get(output));
            let tcached = if cached.is_some() { get(cached) } else { Some(0) };
            if let (Some(k), Some(_)) = (tcached, st) {
                let max = tin.unwrap_or(i64::MAX);
                let caches = model_index.is_some_and(|mi| self.catalogue.caches(mi));
                if k < 0 || k > max || (k > 0 && (!success || (m.is_some() && !caches))) {
                    self.fail(CACHE, || {
                        format!(
                            "row {row}: cached_input_tokens {k} not allowed with input_tokens {} and status {} on {}{}",
                            tin.map_or("?".to_string(), |t| t.to_string()),
                            st.unwrap_or("?"),
                            m.unwrap_or("?"),
                            if caches {
                                ""
                            } else {
                                " (no cache_read price: no prompt caching)"
                            }
                        )
                    });
                }
            }
            if let (Some(c), Some(mi), Some(tin), Some(tout), Some(_), Some(k)) = (
                cost.filter(|a| a.is_valid(i)).map(|a| a.value(i)),
                model_index,
                tin,
                tout,
                st,
                tcached,
            ) {
                let expected = if success && tin >= 0 && tout >= 0 && (0..=tin).contains(&k) {
                    round6(self.catalogue.cost_usd(mi, tin as u32, k as u32, tout as u32))
                } else {
                    0.0
                };
                if (c - expected).abs() > COST_TOLERANCE {
                    self.fail(COST, || format!("row {row}: cost_usd {c} but the price table gives {expected} for {tin} in ({k} cached) / {tout} out on {}", m.unwrap_or("?")));
                }
            }
            if let Some(t) = tin
                && (t < i64::from(limits.input.0) || t > i64::from(limits.input.1))
            {
                self.fail(RANGES, || {
                    format!(
                        "row {row}: input_tokens {t} outside {}..={}",
                        limits.input.0, limits.input.1
                    )
                });
            }
            if let (Some(t), Some(_)) = (tout, st) {
                let ok = if success {
                    t >= i64::from(limits.output.0) && t <= i64::from(limits.output.1)
                } else {
                    t == 0
                };
                if !ok {
                    self.fail(RANGES, || {
                        format!(
                            "row {row}: output_tokens {t} not allowed for status {}",
                            st.unwrap_or("?")
                        )
                    });
                }
            }
            if let (Some(a), Some(b), Some(t)) = (tin, tout, get(total))
                && a + b != t
            {
                self.fail(RANGES, || format!("row {row}: total_tokens {t} != {a} + {b}"));
            }
            if let Some(l) = get(latency)
                && (l < 1 || l > max_latency)
            {
                self.fail(RANGES, || {
                    format!("row {row}: latency_ms {l} outside 1..={max_latency}")
                });
            }
            if let Some(s) = st
                && Status::parse(s).is_none()
            {
                self.fail(VALUES, || format!("row {row}: unknown status `{s}`"));
            }
            self.value_checks(&values, i, row);
        }
        self.rows += n as u64;
    }

    fn value_checks(&mut self, cols: &ValueColumns, i: usize, row: u64) {
        let m = self.model;
        if let Some(e) = valid_str(cols.environment, i)
            && !m.environments.iter().any(|(name, _)| name == e)
        {
            self.fail(VALUES, || format!("row {row}: unknown environment `{e}`"));
        }
        if let Some(a) = valid_str(cols.archetype, i)
            && !m.archetypes.iter().any(|x| x.name == a)
        {
            self.fail(VALUES, || format!("row {row}: unknown archetype `{a}`"));
        }
        if let Some(t) = valid_str(cols.tier, i) {
            match m.tiers.iter().find(|x| x.name == t) {
                None => self.fail(VALUES, || format!("row {row}: unknown tier `{t}`")),
                Some(tier) => {
                    if let Some(p) = cols.tier_price.filter(|a| a.is_valid(i)).map(|a| a.value(i))
                        && (p - tier.monthly_price_usd).abs() > 1e-9
                    {
                        self.fail(VALUES, || {
                            format!(
                                "row {row}: tier `{t}` costs {} but tier_price_usd is {p}",
                                tier.monthly_price_usd
                            )
                        });
                    }
                }
            }
        }
    }

    fn finish(mut self, columns: Vec<String>) -> Report {
        let present = |c: &str| columns.iter().any(|x| x == c);
        for c in &columns {
            if CALLS_SCHEMA.field_with_name(c).is_err() {
                self.fail(COLUMNS, || {
                    format!("unknown column `{c}`: allowed are {}", column_names().join(", "))
                });
            }
        }
        let needs: [(usize, &[&str]); 7] = [
            (UNIQUE_IDS, &["call_id"]),
            (ONE_PER_CUSTOMER, &["customer_id"]),
            (MODEL_PROVIDER, &["provider", "model"]),
            (COST, &["cost_usd", "model", "input_tokens", "output_tokens", "status"]),
            (RANGES, &["input_tokens"]),
            (VALUES, &["status"]),
            (CACHE, &[CACHED_INPUT_TOKENS, "input_tokens", "status"]),
        ];
        for (check, cols) in needs {
            let missing: Vec<&str> = cols.iter().copied().filter(|c| !present(c)).collect();
            if !missing.is_empty() {
                self.checks[check].skipped = Some(format!("no column {}", missing.join(", ")));
            }
        }
        Report {
            rows: self.rows,
            columns,
            counts: BTreeMap::from([("customers", self.customers.len())]),
            checks: self.checks,
        }
    }
}

/// The columns the value checks read, resolved once per batch.
struct ValueColumns<'b> {
    environment: Option<&'b StringArray>,
    archetype: Option<&'b StringArray>,
    tier: Option<&'b StringArray>,
    tier_price: Option<&'b PrimitiveArray<Float64Type>>,
}

/// The value of row `i`, if the column exists and the row is not null.
fn valid_str(col: Option<&StringArray>, i: usize) -> Option<&str> {
    col.filter(|a| a.is_valid(i)).map(|a| a.value(i))
}

/// Validates the dataset at `path` (CSV file, Parquet file or Parquet directory).
pub fn validate(path: &Path, catalogue: &Catalogue, model: &TrafficModel) -> Result<Report> {
    let mut state = State::new(catalogue, model);
    let mut columns: Option<Vec<String>> = None;
    read::for_each_batch(path, &CALLS_SCHEMA, |batch| {
        if columns.is_none() {
            columns = Some(batch.schema().fields().iter().map(|f| f.name().clone()).collect());
        }
        state.batch(&batch);
        Ok(())
    })?;
    let columns = match columns {
        Some(c) => c,
        None if path.extension().is_some_and(|e| e == "csv") => read::csv_schema(path)?
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect(),
        None => Vec::new(),
    };
    Ok(state.finish(columns))
}
