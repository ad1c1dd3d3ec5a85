//! Shared by the revenue and organization analyzer tests: the fixture's rows reshaped into the
//! stories the base traffic does not tell yet — customers that churn or arrive mid-window, a
//! feature launched mid-window, an organization that pays far more per call — written as one
//! Parquet file and analyzed, so the analyzers see them through the whole pipeline.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use arrow::array::{Array, ArrayRef, BooleanArray, Float64Array, RecordBatch};
use arrow::compute::filter_record_batch;
use chrono::{DateTime, NaiveDate};

use crate::analyze_support::{Fixture, analyze, fixture};
use crate::common::{floats, strings, timestamps_us};

/// Days a churned customer stays, from the window's first day.
pub const CHURN_AFTER_DAYS: i64 = 10;
/// The window day (0-based) a late customer and the launched feature first appear on.
pub const START_DAY: i64 = 15;
/// The cost multiple of the dear organization.
pub const DEAR_FACTOR: f64 = 10.0;

/// The reshaped dataset, its reports and what was changed.
pub struct Derived {
    pub reports: PathBuf,
    pub rows: RecordBatch,
    pub window_start: NaiveDate,
    /// Keeps only its first `CHURN_AFTER_DAYS` days.
    pub churned_customer: String,
    /// Loses its days before `START_DAY`.
    pub late_customer: String,
    /// Loses its calls before `START_DAY` (the fixture's most adopted feature).
    pub launched_feature: String,
    /// Its calls cost `DEAR_FACTOR` times as much.
    pub dear_organization: String,
}

impl Derived {
    /// A report's JSON result as its typed struct.
    pub fn typed<T: serde::de::DeserializeOwned>(&self, name: &str) -> T {
        let path = self.reports.join("results").join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.reports.join(rel)).unwrap()
    }
}

fn day_of(us: i64) -> NaiveDate {
    DateTime::from_timestamp_micros(us).unwrap().date_naive()
}

/// The derived dataset of this test binary, built and analyzed once.
pub fn derived() -> &'static Derived {
    static DERIVED: OnceLock<Derived> = OnceLock::new();
    DERIVED.get_or_init(|| build(fixture()))
}

fn build(f: &Fixture) -> Derived {
    let b = &f.rows;
    let days: Vec<NaiveDate> = timestamps_us(b).into_iter().map(day_of).collect();
    let start = *days.iter().min().unwrap();
    let day_index = |d: NaiveDate| (d - start).num_days();
    let customers: Vec<&str> = strings(b, "customer_id");
    let features: Vec<&str> = strings(b, "feature_id");
    let orgs: Vec<&str> = strings(b, "organization_id");
    let ids: BTreeSet<&str> = customers.iter().copied().collect();
    let mut ids = ids.into_iter();
    let churned = ids.next().unwrap().to_string();
    let late = ids.next().unwrap().to_string();
    // The most adopted feature (ties: by name), so it is still used after START_DAY.
    let mut adopters: std::collections::BTreeMap<&str, BTreeSet<&str>> = Default::default();
    for (feature, customer) in features.iter().zip(&customers) {
        adopters.entry(feature).or_default().insert(customer);
    }
    let launched = adopters
        .iter()
        .max_by(|a, b| a.1.len().cmp(&b.1.len()).then_with(|| b.0.cmp(a.0)))
        .map(|(f, _)| f.to_string())
        .unwrap();
    let dear = orgs
        .iter()
        .copied()
        .collect::<BTreeSet<&str>>()
        .into_iter()
        .next()
        .unwrap()
        .to_string();

    let keep: BooleanArray = (0..b.num_rows())
        .map(|i| {
            let d = day_index(days[i]);
            let churn_drop = customers[i] == churned && d >= CHURN_AFTER_DAYS;
            let late_drop = customers[i] == late && d < START_DAY;
            let launch_drop = features[i] == launched && d < START_DAY;
            Some(!(churn_drop || late_drop || launch_drop))
        })
        .collect();
    let cost = floats(b, "cost_usd");
    let scaled: Float64Array = (0..b.num_rows())
        .map(|i| {
            let c = if orgs[i] == dear {
                cost[i] * DEAR_FACTOR
            } else {
                cost[i]
            };
            // Keep the column's 6 decimals.
            Some((c * 1e6).round() / 1e6)
        })
        .collect();
    let cost_index = b.schema().index_of("cost_usd").unwrap();
    let mut columns: Vec<ArrayRef> = b.columns().to_vec();
    columns[cost_index] = Arc::new(scaled);
    let batch = RecordBatch::try_new(b.schema(), columns).unwrap();
    let batch = filter_record_batch(&batch, &keep).unwrap();
    assert!(batch.column(0).len() < b.num_rows());

    let root = crate::analyze_support::process_dir("derived");
    std::fs::create_dir_all(&root).unwrap();
    let data = root.join("calls.parquet");
    let file = std::fs::File::create(&data).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let reports = root.join("reports");
    analyze(&data, &reports, &[]).success();
    Derived {
        reports,
        rows: batch,
        window_start: start,
        churned_customer: churned,
        late_customer: late,
        launched_feature: launched,
        dear_organization: dear,
    }
}

/// A number from the default `config/analysis.toml` (read here, not through the crate).
pub fn setting(table: &str, key: &str) -> f64 {
    static FILE: OnceLock<toml::Table> = OnceLock::new();
    let file = FILE.get_or_init(|| {
        let text = std::fs::read_to_string(crate::common::repo().join("config/analysis.toml")).unwrap();
        text.parse().unwrap()
    });
    let v = &file[table][key];
    v.as_float()
        .or_else(|| v.as_integer().map(|i| i as f64))
        .unwrap_or_else(|| panic!("{table}.{key} is a number"))
}

/// One customer folded from its rows.
#[derive(Debug, Clone, Default)]
pub struct CustomerFold {
    pub tier: String,
    pub archetype: String,
    pub price: f64,
    pub first: Option<NaiveDate>,
    pub last: Option<NaiveDate>,
    pub calls: u64,
    pub cost: f64,
    /// Input + output tokens of successful calls.
    pub billable_tokens: i64,
}

impl CustomerFold {
    pub fn active_days(&self) -> i64 {
        (self.last.unwrap() - self.first.unwrap()).num_days() + 1
    }

    /// The tier price × active days / 30.
    pub fn revenue(&self) -> f64 {
        self.price * self.active_days() as f64 / 30.0
    }
}

/// Every customer of `b`, by id. Panics if a customer has two tiers (a dataset invariant).
pub fn customer_folds(b: &RecordBatch) -> std::collections::BTreeMap<String, CustomerFold> {
    let (ids, tiers, archetypes, status) = (
        strings(b, "customer_id"),
        strings(b, "subscription_tier"),
        strings(b, "customer_archetype"),
        strings(b, "status"),
    );
    let (price, cost) = (floats(b, "tier_price_usd"), floats(b, "cost_usd"));
    let (input, output) = (
        crate::common::ints(b, "input_tokens"),
        crate::common::ints(b, "output_tokens"),
    );
    let days: Vec<NaiveDate> = timestamps_us(b).into_iter().map(day_of).collect();
    let mut out: std::collections::BTreeMap<String, CustomerFold> = Default::default();
    for i in 0..b.num_rows() {
        let c = out.entry(ids[i].to_string()).or_default();
        if c.calls == 0 {
            c.tier = tiers[i].to_string();
            c.archetype = archetypes[i].to_string();
            c.price = price[i];
        }
        assert_eq!(c.tier, tiers[i], "{} has one tier", ids[i]);
        c.first = Some(c.first.map_or(days[i], |d| d.min(days[i])));
        c.last = Some(c.last.map_or(days[i], |d| d.max(days[i])));
        c.calls += 1;
        c.cost += cost[i];
        if status[i] == "success" {
            c.billable_tokens += input[i] + output[i];
        }
    }
    out
}
