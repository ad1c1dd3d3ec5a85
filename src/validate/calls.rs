//! The invariants of a `calls` dataset: unique ids, one set of attributes per customer, models
//! of their provider, costs from the price table, ranges and known values.
//!
//! Streams the dataset batch by batch; memory grows with distinct customers and call ids only.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use anyhow::Result;
use arrow::array::{Array, AsArray, PrimitiveArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int32Type, Int64Type};
use rustc_hash::FxHashMap;

use super::coded::Coded;
use super::unique::{IdKeys, name_repeats};
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
    call_ids: IdKeys,
    /// Each customer's slot in `first`.
    customers: FxHashMap<String, u32>,
    /// Each customer's first attributes ([`PER_CUSTOMER`]), as ids into `attr_names`.
    first: Vec<[u32; 5]>,
    /// The distinct values of each attribute, and their ids (`""` for a null or an absent column).
    attr_ids: [FxHashMap<String, u32>; 5],
    attr_names: [Vec<String>; 5],
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
    fn new(catalogue: &'a Catalogue, model: &'a TrafficModel, rows_hint: usize) -> Self {
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
            call_ids: IdKeys::with_capacity(rows_hint),
            customers: FxHashMap::default(),
            first: Vec::new(),
            attr_ids: Default::default(),
            attr_names: Default::default(),
            reported: HashSet::new(),
        }
    }

    /// The id of value `v` of attribute `k`.
    fn attr_id(&mut self, k: usize, v: &str) -> u32 {
        if let Some(&id) = self.attr_ids[k].get(v) {
            return id;
        }
        let id = self.attr_names[k].len() as u32;
        self.attr_names[k].push(v.to_string());
        self.attr_ids[k].insert(v.to_string(), id);
        id
    }

    fn fail(&mut self, check: usize, example: impl FnOnce() -> String) {
        self.checks[check].fail(example);
    }

    fn batch(&mut self, batch: &RecordBatch) {
        let base = self.rows;
        let n = batch.num_rows();
        let str_col = |name: &str| batch.column_by_name(name).and_then(|a| a.as_string_opt::<i32>());
        let coded = |name: &str| batch.column_by_name(name).and_then(|a| Coded::of(a.as_ref()));
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
            let nulls = null_or_empty(col.as_ref());
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
            for id in ids.iter().flatten() {
                self.call_ids.push(super::id_key(id, CALL_PREFIX));
            }
        } else if let Some(ids) = batch.column_by_name("call_id").and_then(|a| a.as_string_view_opt()) {
            for id in ids.iter().flatten() {
                self.call_ids.push(super::id_key(id, CALL_PREFIX));
            }
        }

        if let Some(customers) = coded("customer_id") {
            let attrs: Vec<Option<Coded<'_>>> = PER_CUSTOMER.iter().map(|a| coded(a)).collect();
            // Each attribute's batch codes as global ids (a null or absent column reads "").
            let empty: [u32; 5] = std::array::from_fn(|k| self.attr_id(k, ""));
            let globals: Vec<Vec<u32>> = (0..PER_CUSTOMER.len())
                .map(|k| match &attrs[k] {
                    Some(a) => a.values.iter().map(|v| self.attr_id(k, v.unwrap_or(""))).collect(),
                    None => Vec::new(),
                })
                .collect();
            let attr = |k: usize, i: usize| -> u32 {
                match &attrs[k] {
                    Some(a) => a.codes[i].map_or(empty[k], |c| globals[k][c as usize]),
                    None => empty[k],
                }
            };
            // The customer's slot per batch code, looked up at its first row in the batch.
            let mut slots: Vec<Option<u32>> = vec![None; customers.values.len()];
            for i in 0..n {
                let Some(code) = customers.codes[i] else { continue };
                let Some(cust) = customers.values[code as usize] else {
                    continue;
                };
                let values: [u32; 5] = std::array::from_fn(|k| attr(k, i));
                let slot = match slots[code as usize] {
                    Some(slot) => slot,
                    None => match self.customers.get(cust) {
                        Some(&slot) => {
                            slots[code as usize] = Some(slot);
                            slot
                        }
                        None => {
                            let slot = self.first.len() as u32;
                            self.first.push(values);
                            self.customers.insert(cust.to_string(), slot);
                            slots[code as usize] = Some(slot);
                            continue;
                        }
                    },
                };
                let first = self.first[slot as usize];
                for k in 0..PER_CUSTOMER.len() {
                    if attrs[k].is_none() || first[k] == values[k] {
                        continue;
                    }
                    if self.reported.insert((cust.to_string(), k)) {
                        let (was, now) = (
                            &self.attr_names[k][first[k] as usize],
                            &self.attr_names[k][values[k] as usize],
                        );
                        self.checks[ONE_PER_CUSTOMER].fail(|| {
                            format!(
                                "row {}: customer {cust} has {} `{was}` and also `{now}`",
                                base + 1 + i as u64,
                                PER_CUSTOMER[k],
                            )
                        });
                    }
                }
            }
        }

        let cat = self.catalogue;
        let (provider, model) = (coded("provider"), coded("model"));
        // Per batch code: the model's index in the catalogue, the provider's.
        let model_index: Vec<Option<usize>> = model.as_ref().map_or(Vec::new(), |m| {
            m.values.iter().map(|v| v.and_then(|v| cat.model_index(v))).collect()
        });
        let provider_index: Vec<Option<usize>> = provider.as_ref().map_or(Vec::new(), |p| {
            p.values
                .iter()
                .map(|v| v.and_then(|v| cat.providers.iter().position(|x| x.name == v)))
                .collect()
        });
        let (input, output, total) = (
            int_col("input_tokens"),
            int_col("output_tokens"),
            int_col("total_tokens"),
        );
        let (cost, latency, status) = (f64_col("cost_usd"), int_col("latency_ms"), coded("status"));
        let success_code: Vec<bool> = status.as_ref().map_or(Vec::new(), |s| {
            s.values.iter().map(|v| *v == Some(Status::Success.as_str())).collect()
        });
        // Data written before the column existed read no tokens from a cache.
        let cached = int_col(CACHED_INPUT_TOKENS);
        let values = ValueColumns::new(
            self.model,
            coded("environment"),
            coded("customer_archetype"),
            coded("subscription_tier"),
            f64_col("tier_price_usd"),
        );
        let limits = &self.model.token_limits;
        let max_latency = i64::from(self.model.latency.timeout_ms).max(60_000);
        for i in 0..n {
            let row = base + 1 + i as u64;
            let model_code = model.as_ref().and_then(|a| a.codes[i]);
            let m = model_code.and_then(|c| model.as_ref().and_then(|a| a.values[c as usize]));
            let model_index = model_code.and_then(|c| model_index[c as usize]);
            let provider_code = provider.as_ref().and_then(|a| a.codes[i]);
            if let (Some(pc), Some(m)) = (provider_code, m)
                && let Some(p) = provider.as_ref().and_then(|a| a.values[pc as usize])
            {
                let ok = model_index.is_some_and(|mi| provider_index[pc as usize] == Some(cat.models[mi].provider));
                if !ok {
                    self.fail(MODEL_PROVIDER, || {
                        format!("row {row}: model `{m}` is not a model of provider `{p}`")
                    });
                }
            }
            let status_code = status.as_ref().and_then(|a| a.codes[i]);
            let st = status_code.and_then(|c| status.as_ref().and_then(|a| a.values[c as usize]));
            let success = st.is_some() && status_code.is_some_and(|c| success_code[c as usize]);
            let get =
                |a: Option<&arrow::array::PrimitiveArray<Int64Type>>| a.filter(|a| a.is_valid(i)).map(|a| a.value(i));
            let (tin, tout) = (get(input), get(output));
            let tcached = if cached.is_some() { get(cached) } else { Some(0) };
            if let (Some(k), Some(_)) = (tcached, st) {
                let max = tin.unwrap_or(i64::MAX);
                let caches = model_index.is_some_and(|mi| cat.caches(mi));
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
                    round6(cat.cost_usd(mi, tin as u32, k as u32, tout as u32))
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
        if let Some((e, false)) = cols.environment.value(i) {
            self.fail(VALUES, || format!("row {row}: unknown environment `{e}`"));
        }
        if let Some((a, false)) = cols.archetype.value(i) {
            self.fail(VALUES, || format!("row {row}: unknown archetype `{a}`"));
        }
        if let Some((t, tier)) = cols.tier.value(i) {
            match tier {
                None => self.fail(VALUES, || format!("row {row}: unknown tier `{t}`")),
                Some(price) => {
                    if let Some(p) = cols.tier_price.filter(|a| a.is_valid(i)).map(|a| a.value(i))
                        && (p - price).abs() > 1e-9
                    {
                        self.fail(VALUES, || {
                            format!("row {row}: tier `{t}` costs {price} but tier_price_usd is {p}")
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

/// A coded column with what a lookup found for each of its values.
struct Looked<'b, T> {
    column: Option<Coded<'b>>,
    found: Vec<T>,
}

impl<'b, T: Copy> Looked<'b, T> {
    fn new(column: Option<Coded<'b>>, look: impl Fn(&str) -> T) -> Self {
        let found = column
            .as_ref()
            .map_or(Vec::new(), |c| c.values.iter().map(|v| look(v.unwrap_or(""))).collect());
        Looked { column, found }
    }

    /// Row `i`'s value and what the lookup found, unless the row is null (or the column absent).
    fn value(&self, i: usize) -> Option<(&'b str, T)> {
        let c = self.column.as_ref()?;
        let code = c.codes[i]? as usize;
        Some((c.values[code]?, self.found[code]))
    }
}

/// The columns the value checks read, with their values looked up once per batch: whether an
/// environment or archetype is known, a tier's monthly price (`None`: unknown tier).
struct ValueColumns<'b> {
    environment: Looked<'b, bool>,
    archetype: Looked<'b, bool>,
    tier: Looked<'b, Option<f64>>,
    tier_price: Option<&'b PrimitiveArray<Float64Type>>,
}

impl<'b> ValueColumns<'b> {
    fn new(
        m: &TrafficModel,
        environment: Option<Coded<'b>>,
        archetype: Option<Coded<'b>>,
        tier: Option<Coded<'b>>,
        tier_price: Option<&'b PrimitiveArray<Float64Type>>,
    ) -> Self {
        ValueColumns {
            environment: Looked::new(environment, |e| m.environments.iter().any(|(name, _)| name == e)),
            archetype: Looked::new(archetype, |a| m.archetypes.iter().any(|x| x.name == a)),
            tier: Looked::new(tier, |t| {
                m.tiers.iter().find(|x| x.name == t).map(|x| x.monthly_price_usd)
            }),
            tier_price,
        }
    }
}

/// Nulls and empty strings in a column (of strings, plain or dictionary, or of anything else).
fn null_or_empty(col: &dyn Array) -> usize {
    let empty = if let Some(s) = col.as_string_opt::<i32>() {
        let offsets = s.value_offsets();
        (0..s.len())
            .filter(|&i| s.is_valid(i) && offsets[i] == offsets[i + 1])
            .count()
    } else if let Some(s) = col.as_string_view_opt() {
        // A view's low 32 bits are its string's length.
        (0..s.len())
            .filter(|&i| s.is_valid(i) && s.views()[i] as u32 == 0)
            .count()
    } else if let Some(dict) = col.as_dictionary_opt::<Int32Type>()
        && let Some(values) = dict.values().as_string_opt::<i32>()
    {
        // Keys pointing at an empty (or null) value.
        let blank: Vec<bool> = (0..values.len())
            .map(|v| !values.is_valid(v) || values.value(v).is_empty())
            .collect();
        dict.keys().iter().flatten().filter(|&k| blank[k as usize]).count()
    } else {
        0
    };
    col.null_count() + empty
}

/// Columns read as Parquet dictionaries: the few distinct values the checks look up.
const CODED: &[&str] = &[
    "provider",
    "model",
    "status",
    "environment",
    "customer_id",
    "subscription_tier",
    "customer_archetype",
    "organization_id",
    "product_id",
    "timezone",
];

/// The prefix of trafficsim's call ids, for their exact keys ([`super::id_key`]).
const CALL_PREFIX: &str = "call_";

/// Validates the dataset at `path` (CSV file, Parquet file or Parquet directory).
pub fn validate(path: &Path, catalogue: &Catalogue, model: &TrafficModel) -> Result<Report> {
    let mut state = State::new(catalogue, model, read::row_count_hint(path));
    let mut columns: Option<Vec<String>> = None;
    let strings = read::Strings {
        dictionary: CODED,
        views: true,
    };
    read::for_each_batch_coded(path, &CALLS_SCHEMA, strings, |batch| {
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
    let repeated = std::mem::take(&mut state.call_ids).repeated();
    name_repeats(path, &CALLS_SCHEMA, "call_id", CALL_PREFIX, &repeated, |at, id| {
        state.fail(UNIQUE_IDS, || format!("row {at}: call_id {id} seen before"));
    })?;
    Ok(state.finish(columns))
}
