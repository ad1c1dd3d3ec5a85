//! The Arrow adapter of `transactions`: one row per purchase attempt, its columns declared once
//! with the line that builds each from resolved `Attempt`s.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::sync::LazyLock;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use crate::batch::columns::{
    self, Column, ColumnType as T, bools, dictionary, floats, formatted, hex_ids, ints, optional_strings, strings,
    timestamps_ms,
};
use crate::sim::ticketing::attempt::Attempt;
use crate::sim::ticketing::catalogue::TIER_NAMES;
use crate::sim::ticketing::traffic::{TicketGenerator, round2};
use crate::sim::ticketing::users::{user_agent, user_id};

/// The platform's currency.
pub const CURRENCY: &str = "SAR";

/// Every column of `transactions`, in schema order, with its builder.
pub fn transaction_columns<'a>() -> [Column<TransactionBatchBuilder<'a>, Attempt>; 32] {
    [
        Column::new("timestamp", T::Timestamp, |_, r| timestamps_ms(r, |a| a.timestamp_ms)),
        Column::new("transaction_id", T::Utf8, |x, r| {
            hex_ids(r, "txn_", 16, |a| u128::from(x.g.transaction_id(a.key)))
        }),
        Column::new("event_id", T::Utf8, |x, r| {
            strings(r, |a| x.event_ids[usize::from(a.cohort)][a.event as usize].as_str())
        }),
        Column::new("user_id", T::Utf8, |x, r| {
            hex_ids(r, "usr_", 12, |a| u128::from(user_id(x.g.seed, a.cohort, a.user)))
        }),
        Column::new("session_id", T::Utf8, |_, r| {
            hex_ids(r, "ses_", 16, |a| u128::from(a.session))
        }),
        Column::new("persona", T::Utf8, |x, r| {
            strings(r, |a| x.g.catalogue.personas[usize::from(a.persona)].name.as_str())
        }),
        Column::new("tier", T::Utf8, |_, r| strings(r, |a| TIER_NAMES[usize::from(a.tier)])),
        Column::new("num_tickets", T::Int64, |_, r| ints(r, |a| i64::from(a.num_tickets))),
        Column::new("price_per_ticket", T::Float64, |_, r| floats(r, |a| a.price_per_ticket)),
        Column::new("price_multiplier", T::Float64, |_, r| floats(r, |a| a.price_multiplier)),
        Column::new("total_amount", T::Float64, |_, r| floats(r, total_amount)),
        Column::new("currency", T::Utf8, |_, r| strings(r, |_| CURRENCY)),
        Column::new("payment_method", T::Utf8, |x, r| {
            strings(r, |a| {
                x.g.catalogue.payment_methods[usize::from(a.payment)].name.as_str()
            })
        }),
        Column::new("payment_instrument_id", T::Utf8, |_, r| {
            hex_ids(r, "pi_", 16, |a| u128::from(a.instrument))
        }),
        Column::new("payment_status", T::Utf8, |_, r| strings(r, |a| a.status.as_str())),
        Column::new("device_type", T::Utf8, |x, r| {
            strings(r, |a| x.g.catalogue.devices[usize::from(a.device)].name.as_str())
        }),
        Column::new("browser", T::Utf8, |x, r| {
            strings(r, |a| x.g.catalogue.browsers[usize::from(a.browser)].name.as_str())
        }),
        Column::new("user_agent", T::DictUtf8, |x, r| {
            dictionary(r, &x.agent_values(), |a| x.agent_key(a))
        }),
        Column::new("ip_address", T::Utf8, |_, r| {
            formatted(r, 15, |b, a| write!(b, "{}", Ipv4Addr::from(a.ip)))
        }),
        Column::new("ip_country", T::Utf8, |x, r| {
            strings(r, |a| x.g.catalogue.countries[usize::from(a.ip_country)].code.as_str())
        }),
        Column::new("velocity_1h", T::Int64, |_, r| ints(r, |a| i64::from(a.velocity))),
        Column::new("device_mismatch", T::Boolean, |_, r| bools(r, |a| a.device_mismatch)),
        Column::new("geo_mismatch", T::Boolean, |_, r| bools(r, |a| a.geo_mismatch)),
        Column::new("time_anomaly", T::Boolean, |_, r| bools(r, |a| a.time_anomaly)),
        Column::new("risk_score", T::Float64, |_, r| floats(r, |a| a.risk)),
        Column::new("is_fraud", T::Boolean, |_, r| bools(r, |a| a.is_fraud)),
        Column::new("is_bot", T::Boolean, |_, r| bools(r, |a| a.is_bot)),
        Column::nullable("fraud_pattern", T::Utf8, |x, r| {
            optional_strings(r, |a| {
                a.pattern
                    .map(|p| x.g.catalogue.fraud_patterns[usize::from(p)].name.as_str())
            })
        }),
        Column::new("scenario", T::Utf8, |x, r| {
            strings(r, |a| x.scenarios[usize::from(a.cohort)].as_str())
        }),
        Column::nullable("ab_variant", T::Utf8, |_, r| {
            optional_strings(r, |a| a.ab.map(|t| if t { "treatment" } else { "control" }))
        }),
        Column::new("decision_latency_ms", T::Int64, |_, r| {
            ints(r, |a| i64::from(a.latency_ms))
        }),
        Column::new("api_status", T::Int64, |_, r| ints(r, |a| i64::from(a.api_status))),
    ]
}

/// The amount of an attempt: its rounded price times its tickets, rounded to the cent.
pub fn total_amount(a: &Attempt) -> f64 {
    round2(a.price_per_ticket * f64::from(a.num_tickets))
}

/// Columns whose values are (nearly) unique per row: no Parquet dictionary.
/// (`user_id` too: a row group holds thousands of users, a dictionary of them only costs.)
pub const UNIQUE_COLUMNS: [&str; 5] = [
    "transaction_id",
    "user_id",
    "session_id",
    "payment_instrument_id",
    "ip_address",
];

/// The full `transactions` schema.
pub static TRANSACTIONS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| columns::full_schema(&transaction_columns()));

/// Column names, in schema order.
pub fn column_names() -> Vec<&'static str> {
    columns::names(&transaction_columns())
}

/// Resolves column names to indices into [`transaction_columns`].
pub fn parse_columns<'n>(names: impl IntoIterator<Item = &'n str>) -> Result<Vec<usize>, String> {
    columns::parse_columns(&transaction_columns(), names)
}

/// Turns resolved attempts into record batches of the chosen columns.
pub struct TransactionBatchBuilder<'a> {
    g: &'a TicketGenerator<'a>,
    columns: Vec<usize>,
    schema: SchemaRef,
    /// Per cohort, per event: the id as written.
    event_ids: Vec<Vec<String>>,
    /// Per cohort: its scenario's name.
    scenarios: Vec<String>,
    /// Per browser, per device, per version from the browser's lowest: the user agent.
    agents: Vec<Vec<Vec<String>>>,
    /// Per browser, per device: the key of its first version in the flattened list.
    agent_offsets: Vec<Vec<usize>>,
}

impl<'a> TransactionBatchBuilder<'a> {
    pub fn new(g: &'a TicketGenerator<'a>, columns: &[usize]) -> Self {
        let cat = g.catalogue;
        let agents: Vec<Vec<Vec<String>>> = (0..cat.browsers.len())
            .map(|b| {
                let (lo, hi) = cat.browsers[b].versions;
                (0..cat.devices.len())
                    .map(|d| (lo..=hi).map(|v| user_agent(cat, b, d, v)).collect())
                    .collect()
            })
            .collect();
        let mut next = 0;
        let agent_offsets = agents
            .iter()
            .map(|per_device: &Vec<Vec<String>>| {
                per_device
                    .iter()
                    .map(|versions| {
                        let first = next;
                        next += versions.len();
                        first
                    })
                    .collect()
            })
            .collect();
        assert!(next <= usize::from(u16::MAX), "at most 65,535 user agents");
        TransactionBatchBuilder {
            g,
            agent_offsets,
            columns: columns.to_vec(),
            schema: columns::schema(&transaction_columns(), columns),
            event_ids: g
                .cohorts
                .iter()
                .map(|c| c.events.iter().map(|e| e.event_id_string()).collect())
                .collect(),
            scenarios: g.cohorts.iter().map(|c| c.scenario.info.scenario.clone()).collect(),
            agents,
        }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// One record batch holding `attempts`, in order.
    pub fn build(&self, attempts: &[Attempt]) -> RecordBatch {
        columns::build(&transaction_columns(), &self.schema, &self.columns, self, attempts)
    }

    /// Every user agent, in key order.
    fn agent_values(&self) -> Vec<&str> {
        self.agents.iter().flatten().flatten().map(String::as_str).collect()
    }

    /// The key of an attempt's user agent in [`Self::agent_values`].
    fn agent_key(&self, a: &Attempt) -> u16 {
        let (b, d) = (usize::from(a.browser), usize::from(a.device));
        let (lo, _) = self.g.catalogue.browsers[b].versions;
        let versions = &self.agents[b][d];
        let v = usize::from(a.browser_version.saturating_sub(lo)).min(versions.len() - 1);
        (self.agent_offsets[b][d] + v) as u16
    }
}
