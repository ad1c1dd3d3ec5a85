//! The Arrow adapter of the `calls` dataset: its columns declared once, each with the line that
//! builds it from simulated `Call`s, and the builder that resolves indices to the strings written
//! to CSV and Parquet.
//!
//! Column order: the 19 columns of the seed-era CSV (document 001) first, so tools written for
//! it keep working, then the extra columns of document 002, then trafficsim's own; a new column
//! goes last, so a dataset written with the previous columns (`--columns`) stays byte-identical.

use std::sync::LazyLock;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use super::columns::{
    self, Column, ColumnType as T, fixed_width, floats, hex_ids, ints, strings, timestamps_ms, write_hex,
};
use crate::sim::calls::catalogue::Catalogue;
use crate::sim::calls::model::TrafficModel;
use crate::sim::calls::population::{Customer, organization_id};
use crate::sim::calls::traffic::{Call, TrafficGenerator};

/// Every column of `calls`, in schema order, with its builder; no column is nullable.
pub fn calls_columns<'a>() -> [Column<CallBatchBuilder<'a>, Call>; 27] {
    [
        Column::new("timestamp", T::Timestamp, |_, r| timestamps_ms(r, |c| c.timestamp_ms)),
        Column::new("call_id", T::Utf8, |_, r| {
            hex_ids(r, "call_", 16, |c| u128::from(c.call_id))
        }),
        Column::new("provider", T::Utf8, |x, r| strings(r, |c| x.provider(c))),
        Column::new("model", T::Utf8, |x, r| {
            strings(r, |c| x.catalogue.models[c.model as usize].name.as_str())
        }),
        Column::new("input_tokens", T::Int64, |_, r| ints(r, |c| i64::from(c.input_tokens))),
        Column::new("output_tokens", T::Int64, |_, r| {
            ints(r, |c| i64::from(c.output_tokens))
        }),
        Column::new("cost_usd", T::Float64, |_, r| floats(r, |c| c.cost_usd)),
        Column::new("latency_ms", T::Int64, |_, r| ints(r, |c| i64::from(c.latency_ms))),
        Column::new("customer_id", T::Utf8, |x, r| strings(r, |c| x.customer(c).id.as_str())),
        Column::new("subscription_tier", T::Utf8, |x, r| {
            strings(r, |c| x.model.tiers[x.customer(c).tier as usize].name.as_str())
        }),
        Column::new("organization_id", T::Utf8, |x, r| {
            strings(r, |c| x.organizations[x.customer(c).organization as usize].as_str())
        }),
        Column::new("product_id", T::Utf8, |x, r| {
            strings(r, |c| x.model.products[x.customer(c).product as usize].id.as_str())
        }),
        Column::new("feature_id", T::Utf8, |x, r| {
            strings(r, |c| x.model.features[c.feature as usize].id.as_str())
        }),
        Column::new("task_type", T::Utf8, |x, r| {
            strings(r, |c| x.model.tasks[c.task as usize].name.as_str())
        }),
        Column::new("environment", T::Utf8, |x, r| {
            strings(r, |c| x.model.environments[c.environment as usize].0.as_str())
        }),
        Column::new("request_id", T::Utf8, |_, r| {
            // A version-4 UUID as text: 8-4-4-4-12 hex digits.
            fixed_width(r, 36, |c, out| {
                let v = c.request_id;
                for (range, shift) in [(0..8, 96), (9..13, 80), (14..18, 64), (19..23, 48), (24..36, 0)] {
                    write_hex(v >> shift, &mut out[range]);
                }
                for dash in [8, 13, 18, 23] {
                    out[dash] = b'-';
                }
            })
        }),
        Column::new("trace_id", T::Utf8, |_, r| hex_ids(r, "", 32, |c| c.trace_id)),
        Column::new("session_id", T::Utf8, |_, r| {
            hex_ids(r, "sess_", 16, |c| u128::from(c.session_id))
        }),
        Column::new("user_agent", T::Utf8, |x, r| {
            strings(r, |c| x.model.user_agents[x.customer(c).user_agent as usize].0.as_str())
        }),
        Column::new("total_tokens", T::Int64, |_, r| {
            ints(r, |c| i64::from(c.input_tokens + c.output_tokens))
        }),
        Column::new("status", T::Utf8, |_, r| strings(r, |c| c.status.as_str())),
        Column::new("region", T::Utf8, |x, r| {
            strings(r, |c| {
                let provider = x.catalogue.models[c.model as usize].provider;
                x.regions[provider][x.customer(c).timezone as usize]
            })
        }),
        Column::new("tier_price_usd", T::Float64, |x, r| {
            floats(r, |c| x.model.tiers[x.customer(c).tier as usize].monthly_price_usd)
        }),
        Column::new("customer_archetype", T::Utf8, |x, r| {
            strings(r, |c| {
                x.model.archetypes[x.customer(c).archetype as usize].name.as_str()
            })
        }),
        Column::new("scenario", T::Utf8, |x, r| {
            strings(r, |c| x.scenarios[x.customer(c).cohort as usize])
        }),
        Column::new("timezone", T::Utf8, |x, r| {
            strings(r, |c| x.model.timezones[x.customer(c).timezone as usize].tz.name())
        }),
        // Cache reads: the part of input_tokens the provider's prompt cache served.
        Column::new(CACHED_INPUT_TOKENS, T::Int64, |_, r| {
            ints(r, |c| i64::from(c.cached_tokens))
        }),
    ]
}

/// The column of input tokens read from the prompt cache (0 in data written before it existed).
pub const CACHED_INPUT_TOKENS: &str = "cached_input_tokens";

/// Columns whose values are (nearly) unique per row: Parquet dictionary encoding is off for them.
pub const UNIQUE_COLUMNS: [&str; 3] = ["call_id", "request_id", "trace_id"];

/// The full `calls` schema.
pub static CALLS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| columns::full_schema(&calls_columns()));

/// Column names, in schema order.
pub fn column_names() -> Vec<&'static str> {
    columns::names(&calls_columns())
}

/// Resolves column names to indices into [`calls_columns`].
pub fn parse_columns<'n>(names: impl IntoIterator<Item = &'n str>) -> Result<Vec<usize>, String> {
    columns::parse_columns(&calls_columns(), names)
}

/// The schema restricted to `columns` (indices into [`calls_columns`]), in that order.
pub fn projected_schema(columns: &[usize]) -> SchemaRef {
    let all = calls_columns();
    if columns.len() == all.len() && columns.iter().enumerate().all(|(i, c)| i == *c) {
        return CALLS_SCHEMA.clone();
    }
    columns::schema(&all, columns)
}

/// Turns calls into record batches of the chosen columns.
pub struct CallBatchBuilder<'a> {
    catalogue: &'a Catalogue,
    model: &'a TrafficModel,
    population: &'a [Customer],
    columns: Vec<usize>,
    schema: SchemaRef,
    organizations: Vec<String>,
    /// Scenario name of each cohort.
    scenarios: Vec<&'a str>,
    /// Region name per (provider, time zone).
    regions: Vec<Vec<&'a str>>,
}

impl<'a> CallBatchBuilder<'a> {
    pub fn new(generator: &'a TrafficGenerator, population: &'a [Customer], columns: &[usize]) -> Self {
        let (catalogue, model) = (&generator.catalogue, &generator.model);
        let used_orgs = population.iter().map(|c| c.organization + 1).max().unwrap_or(0);
        let regions = catalogue
            .providers
            .iter()
            .map(|p| model.timezones.iter().map(|tz| p.regions[&tz.geo].as_str()).collect())
            .collect();
        CallBatchBuilder {
            catalogue,
            model,
            population,
            columns: columns.to_vec(),
            schema: projected_schema(columns),
            organizations: (0..used_orgs).map(organization_id).collect(),
            scenarios: generator.cohorts.iter().map(|c| c.info.scenario.as_str()).collect(),
            regions,
        }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// One record batch holding `calls`, in order.
    pub fn build(&self, calls: &[Call]) -> RecordBatch {
        columns::build(&calls_columns(), &self.schema, &self.columns, self, calls)
    }

    fn customer(&self, call: &Call) -> &Customer {
        &self.population[call.customer as usize]
    }

    fn provider(&self, call: &Call) -> &str {
        let cat = self.catalogue;
        cat.providers[cat.models[call.model as usize].provider].name.as_str()
    }
}
