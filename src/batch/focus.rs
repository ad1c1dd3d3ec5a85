//! The Arrow adapter of the FOCUS export (`trafficsim export focus`): the FOCUS 1.2
//! cost-and-usage columns, declared once with the line that builds each from a [`Charge`], in
//! FOCUS's alphabetical order, then trafficsim's own `x_` columns (FOCUS: custom columns come
//! after the FOCUS ones, prefixed `x_`).
//!
//! Money is in USD as float64 (the validator takes DOUBLE for FOCUS's Decimal); the list and
//! contracted costs are `PricingQuantity × unit price` exactly, as FOCUS requires, while the
//! billed and effective costs are the calls' own `cost_usd` (each call rounded to 6 places, as a
//! provider meters it), so they add up to the calls dataset's total to the micro-dollar.

use std::sync::LazyLock;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use super::columns::{self, Column, ColumnType as T, floats, ints, optional_strings, strings, timestamps_ms};
use crate::sim::calls::catalogue::Catalogue;

/// What a token of a call is billed as: one SKU per (model, meter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Meter {
    Input,
    CacheWrite,
    CacheRead,
    Output,
}

impl Meter {
    pub const ALL: [Meter; 4] = [Meter::Input, Meter::CacheWrite, Meter::CacheRead, Meter::Output];

    /// The code the aggregation query carries.
    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn from_code(code: i64) -> Option<Meter> {
        Meter::ALL.into_iter().find(|m| i64::from(m.code()) == code)
    }

    /// FOCUS `SkuMeter`.
    pub fn name(self) -> &'static str {
        match self {
            Meter::Input => "Input Tokens",
            Meter::CacheWrite => "Cache Write Tokens",
            Meter::CacheRead => "Cache Read Tokens",
            Meter::Output => "Output Tokens",
        }
    }

    /// The last part of the SKU id.
    pub fn slug(self) -> &'static str {
        match self {
            Meter::Input => "input",
            Meter::CacheWrite => "cache-write",
            Meter::CacheRead => "cache-read",
            Meter::Output => "output",
        }
    }
}

/// One FOCUS row: the successful calls of one (charge period, provider, model, meter,
/// organization, customer, product, feature, environment, region).
#[derive(Debug, Clone, PartialEq)]
pub struct Charge {
    pub billing_start_ms: i64,
    pub billing_end_ms: i64,
    pub charge_start_ms: i64,
    pub charge_end_ms: i64,
    /// Index into the catalogue's models (the provider follows).
    pub model: usize,
    pub meter: Meter,
    pub organization: String,
    pub customer: String,
    pub product: String,
    pub feature: String,
    pub environment: String,
    pub region: String,
    /// Tokens.
    pub quantity: i64,
    /// USD per 1,000 tokens, from the catalogue.
    pub unit_price: f64,
    /// The calls' `cost_usd` attributed to this meter, in micro-dollars.
    pub billed_micros: i64,
    /// Calls that used this SKU in the row.
    pub calls: i64,
}

impl Charge {
    /// FOCUS `PricingQuantity`: thousands of tokens.
    pub fn pricing_quantity(&self) -> f64 {
        self.quantity as f64 / 1000.0
    }

    /// FOCUS `ListCost` and `ContractedCost`: `PricingQuantity × ListUnitPrice`.
    pub fn list_cost(&self) -> f64 {
        self.pricing_quantity() * self.unit_price
    }

    pub fn billed_usd(&self) -> f64 {
        self.billed_micros as f64 / 1_000_000.0
    }
}

/// What the row builders look up: the catalogue (names, billing names, publishers).
pub struct FocusContext<'a> {
    pub catalogue: &'a Catalogue,
}

impl FocusContext<'_> {
    fn provider(&self, c: &Charge) -> &crate::sim::calls::catalogue::Provider {
        &self.catalogue.providers[self.catalogue.models[c.model].provider]
    }

    fn model(&self, c: &Charge) -> &str {
        &self.catalogue.models[c.model].name
    }

    fn sku(&self, c: &Charge) -> String {
        format!("{}/{}/{}", self.provider(c).name, self.model(c), c.meter.slug())
    }
}

/// The FOCUS columns, alphabetical, then trafficsim's.
pub fn focus_columns<'a>() -> [Column<FocusContext<'a>, Charge>; 40] {
    [
        Column::new("BilledCost", T::Float64, |_, r| floats(r, Charge::billed_usd)),
        Column::new("BillingAccountId", T::Utf8, |x, r| {
            owned(r, |c| format!("{}/trafficsim", x.provider(c).name))
        }),
        Column::new("BillingAccountName", T::Utf8, |x, r| {
            owned(r, |c| format!("trafficsim ({})", x.provider(c).billing.provider_name))
        }),
        Column::new("BillingCurrency", T::Utf8, |_, r| strings(r, |_| "USD")),
        Column::new("BillingPeriodEnd", T::Timestamp, |_, r| {
            timestamps_ms(r, |c| c.billing_end_ms)
        }),
        Column::new("BillingPeriodStart", T::Timestamp, |_, r| {
            timestamps_ms(r, |c| c.billing_start_ms)
        }),
        Column::new("ChargeCategory", T::Utf8, |_, r| strings(r, |_| "Usage")),
        // Null: no row is a correction of an earlier billing period.
        Column::nullable("ChargeClass", T::Utf8, |_, r| optional_strings(r, |_| None)),
        Column::new("ChargeDescription", T::Utf8, |x, r| {
            owned(r, |c| format!("{} {}", x.model(c), c.meter.name().to_lowercase()))
        }),
        Column::new("ChargeFrequency", T::Utf8, |_, r| strings(r, |_| "Usage-Based")),
        Column::new("ChargePeriodEnd", T::Timestamp, |_, r| {
            timestamps_ms(r, |c| c.charge_end_ms)
        }),
        Column::new("ChargePeriodStart", T::Timestamp, |_, r| {
            timestamps_ms(r, |c| c.charge_start_ms)
        }),
        Column::new("ConsumedQuantity", T::Float64, |_, r| floats(r, |c| c.quantity as f64)),
        Column::new("ConsumedUnit", T::Utf8, |_, r| strings(r, |_| "Tokens")),
        Column::new("ContractedCost", T::Float64, |_, r| floats(r, Charge::list_cost)),
        Column::new("ContractedUnitPrice", T::Float64, |_, r| floats(r, |c| c.unit_price)),
        Column::new("EffectiveCost", T::Float64, |_, r| floats(r, Charge::billed_usd)),
        // The provider's monthly invoice for the billing account (a provisional id, as FOCUS allows).
        Column::new("InvoiceId", T::Utf8, |x, r| {
            owned(r, |c| format!("{}-{}", x.provider(c).name, month(c.billing_start_ms)))
        }),
        Column::new("InvoiceIssuerName", T::Utf8, |x, r| {
            strings(r, |c| x.provider(c).billing.invoice_issuer_name.as_str())
        }),
        Column::new("ListCost", T::Float64, |_, r| floats(r, Charge::list_cost)),
        Column::new("ListUnitPrice", T::Float64, |_, r| floats(r, |c| c.unit_price)),
        Column::new("PricingCategory", T::Utf8, |_, r| strings(r, |_| "Standard")),
        Column::new("PricingQuantity", T::Float64, |_, r| {
            floats(r, Charge::pricing_quantity)
        }),
        // FOCUS's unit format: a whole quantity and a unit ("1K Tokens" is not one).
        Column::new("PricingUnit", T::Utf8, |_, r| strings(r, |_| "1000 Tokens")),
        Column::new("ProviderName", T::Utf8, |x, r| {
            strings(r, |c| x.provider(c).billing.provider_name.as_str())
        }),
        Column::new("PublisherName", T::Utf8, |x, r| {
            strings(r, |c| x.catalogue.models[c.model].publisher.as_str())
        }),
        Column::new("RegionId", T::Utf8, |_, r| strings(r, |c| c.region.as_str())),
        Column::new("RegionName", T::Utf8, |_, r| strings(r, |c| c.region.as_str())),
        Column::new("ServiceCategory", T::Utf8, |_, r| {
            strings(r, |_| "AI and Machine Learning")
        }),
        Column::new("ServiceName", T::Utf8, |x, r| {
            strings(r, |c| x.provider(c).billing.service_name.as_str())
        }),
        Column::new("ServiceSubcategory", T::Utf8, |_, r| strings(r, |_| "Generative AI")),
        Column::new("SkuId", T::Utf8, |x, r| owned(r, |c| x.sku(c))),
        Column::new("SkuMeter", T::Utf8, |_, r| strings(r, |c| c.meter.name())),
        // Properties that are not FOCUS-defined carry the `x_` prefix.
        Column::new("SkuPriceDetails", T::Utf8, |x, r| {
            owned(r, |c| {
                serde_json::json!({ "x_Model": x.model(c), "x_TokenType": c.meter.slug() }).to_string()
            })
        }),
        Column::new("SkuPriceId", T::Utf8, |x, r| owned(r, |c| format!("{}/list", x.sku(c)))),
        Column::new("SubAccountId", T::Utf8, |_, r| strings(r, |c| c.organization.as_str())),
        Column::new("SubAccountName", T::Utf8, |_, r| {
            strings(r, |c| c.organization.as_str())
        }),
        Column::new("SubAccountType", T::Utf8, |_, r| strings(r, |_| "Organization")),
        // User-defined tags of one scheme: no prefix (FOCUS Tags-C-016).
        Column::new("Tags", T::Utf8, |_, r| {
            owned(r, |c| {
                serde_json::json!({
                    "customer": c.customer,
                    "environment": c.environment,
                    "feature": c.feature,
                    "product": c.product,
                })
                .to_string()
            })
        }),
        Column::new("x_Calls", T::Int64, |_, r| ints(r, |c| c.calls)),
    ]
}

/// The export's schema.
pub static FOCUS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| columns::full_schema(&focus_columns()));

/// One record batch of `rows`.
pub fn focus_batch(ctx: &FocusContext<'_>, rows: &[Charge]) -> RecordBatch {
    let all = focus_columns();
    let every: Vec<usize> = (0..all.len()).collect();
    columns::build(&all, &FOCUS_SCHEMA, &every, ctx, rows)
}

/// A string column of values made per row.
fn owned<R>(rows: &[R], value: impl Fn(&R) -> String) -> arrow::array::ArrayRef {
    let values: Vec<String> = rows.iter().map(value).collect();
    strings(&values, String::as_str)
}

/// `YYYY-MM` of a time in epoch milliseconds.
fn month(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(String::new, |t| t.format("%Y-%m").to_string())
}
