//! Builds Arrow record batches from simulated calls: the one place where plain `Call`s become
//! columns and indices become the strings written to CSV and Parquet.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Builder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder};
use arrow::datatypes::SchemaRef;

use super::schema::{COLUMN_NAMES, TIMESTAMP_TZ, projected_schema};
use crate::sim::catalogue::Catalogue;
use crate::sim::model::TrafficModel;
use crate::sim::population::{Customer, organization_id};
use crate::sim::traffic::{Call, TrafficGenerator};

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
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter()
            .map(|&c| self.column(COLUMN_NAMES[c], calls))
            .collect();
        RecordBatch::try_new(self.schema.clone(), arrays).expect("columns match the schema by construction")
    }

    fn column(&self, name: &str, calls: &[Call]) -> ArrayRef {
        let cat = self.catalogue;
        let m = self.model;
        let customer = |call: &Call| &self.population[call.customer as usize];
        match name {
            "timestamp" => {
                let mut b = TimestampMicrosecondBuilder::with_capacity(calls.len()).with_timezone(TIMESTAMP_TZ);
                for c in calls {
                    b.append_value(c.timestamp_ms * 1000);
                }
                Arc::new(b.finish())
            }
            "call_id" => hex_column(calls, 21, |b, c| write!(b, "call_{:016x}", c.call_id)),
            "provider" => strings(calls, |c| {
                cat.providers[cat.models[c.model as usize].provider].name.as_str()
            }),
            "model" => strings(calls, |c| cat.models[c.model as usize].name.as_str()),
            "input_tokens" => ints(calls, |c| i64::from(c.input_tokens)),
            "output_tokens" => ints(calls, |c| i64::from(c.output_tokens)),
            "total_tokens" => ints(calls, |c| i64::from(c.input_tokens + c.output_tokens)),
            "latency_ms" => ints(calls, |c| i64::from(c.latency_ms)),
            "cost_usd" => floats(calls, |c| c.cost_usd),
            "customer_id" => strings(calls, |c| customer(c).id.as_str()),
            "subscription_tier" => strings(calls, |c| m.tiers[customer(c).tier as usize].name.as_str()),
            "tier_price_usd" => floats(calls, |c| m.tiers[customer(c).tier as usize].monthly_price_usd),
            "organization_id" => strings(calls, |c| {
                self.organizations[customer(c).organization as usize].as_str()
            }),
            "product_id" => strings(calls, |c| m.products[customer(c).product as usize].id.as_str()),
            "feature_id" => strings(calls, |c| m.features[c.feature as usize].id.as_str()),
            "task_type" => strings(calls, |c| m.tasks[c.task as usize].name.as_str()),
            "environment" => strings(calls, |c| m.environments[c.environment as usize].0.as_str()),
            "request_id" => hex_column(calls, 36, |b, c| {
                let v = c.request_id;
                write!(
                    b,
                    "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                    (v >> 96) as u32,
                    (v >> 80) as u16,
                    (v >> 64) as u16,
                    (v >> 48) as u16,
                    (v as u64) & 0xffff_ffff_ffff
                )
            }),
            "trace_id" => hex_column(calls, 32, |b, c| write!(b, "{:032x}", c.trace_id)),
            "session_id" => hex_column(calls, 21, |b, c| write!(b, "sess_{:016x}", c.session_id)),
            "user_agent" => strings(calls, |c| m.user_agents[customer(c).user_agent as usize].0.as_str()),
            "status" => strings(calls, |c| c.status.as_str()),
            "region" => strings(calls, |c| {
                let provider = cat.models[c.model as usize].provider;
                self.regions[provider][customer(c).timezone as usize]
            }),
            "customer_archetype" => strings(calls, |c| m.archetypes[customer(c).archetype as usize].name.as_str()),
            "scenario" => strings(calls, |c| self.scenarios[customer(c).cohort as usize]),
            "timezone" => strings(calls, |c| m.timezones[customer(c).timezone as usize].tz.name()),
            other => unreachable!("column `{other}` is in COLUMN_NAMES but has no builder"),
        }
    }
}

fn strings<'s>(calls: &[Call], value: impl Fn(&Call) -> &'s str) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(calls.len(), calls.len() * 12);
    for c in calls {
        b.append_value(value(c));
    }
    Arc::new(b.finish())
}

fn hex_column(calls: &[Call], width: usize, write: impl Fn(&mut StringBuilder, &Call) -> std::fmt::Result) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(calls.len(), calls.len() * width);
    for c in calls {
        write(&mut b, c).expect("writing to a string builder cannot fail");
        b.append_value("");
    }
    Arc::new(b.finish())
}

fn ints(calls: &[Call], value: impl Fn(&Call) -> i64) -> ArrayRef {
    let mut b = Int64Builder::with_capacity(calls.len());
    for c in calls {
        b.append_value(value(c));
    }
    Arc::new(b.finish())
}

fn floats(calls: &[Call], value: impl Fn(&Call) -> f64) -> ArrayRef {
    let mut b = Float64Builder::with_capacity(calls.len());
    for c in calls {
        b.append_value(value(c));
    }
    Arc::new(b.finish())
}
