//! INTERIM: copies of helper h2's `decisions::daily` (the customer-day series and the Poisson
//! churn detector) and `scenarios::labels` (the labels reader), taken from branch h2 at 219b2cc
//! because that branch had not compiled by the deadline. When h2 lands, delete this file and
//! import `crate::analyze::decisions::daily::*` and `crate::analyze::scenarios::labels::*`
//! instead (the names and signatures are the same).
#![allow(dead_code)] // Copied whole: some fields serve only h2's pages.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, TimestampMicrosecondType};
use chrono::{Datelike, NaiveDate};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::analyze::Context;
use crate::analyze::frame::{cost_micros, dates, floats, ints, strings, usd};
use crate::config::CallsConfig;
use crate::sim::calls::scenarios::Modifier;

/// Cost and calls of one customer on one day, with the customer's tier.
pub(crate) struct CustomerDay {
    pub(crate) customer: String,
    pub(crate) tier: String,
    pub(crate) tier_price: f64,
    pub(crate) scenario: Option<String>,
    pub(crate) date: NaiveDate,
    pub(crate) calls: u64,
    pub(crate) cost_micros: i64,
}

/// Customer-days with calls, sorted by customer then date.
pub(crate) fn customer_days(ctx: &Context<'_>) -> Result<Vec<CustomerDay>> {
    let has_scenario = ctx.calls().collect_schema()?.get("scenario").is_some();
    let mut aggs = vec![
        len().cast(DataType::Int64).alias("calls"),
        cost_micros().sum().alias("cost_micros"),
        col("subscription_tier").min().alias("tier"),
        col("tier_price_usd").min().alias("tier_price"),
    ];
    if has_scenario {
        aggs.push(col("scenario").min().alias("scenario"));
    }
    let df = ctx.collect(
        ctx.calls()
            .group_by([col("customer_id"), col("timestamp").dt().date().alias("date")])
            .agg(aggs),
    )?;
    let (ids, days, calls, cost, tiers, prices) = (
        strings(&df, "customer_id")?,
        dates(&df, "date")?,
        ints(&df, "calls")?,
        ints(&df, "cost_micros")?,
        strings(&df, "tier")?,
        floats(&df, "tier_price")?,
    );
    let scenarios = if has_scenario {
        Some(strings(&df, "scenario")?)
    } else {
        None
    };
    let mut out: Vec<CustomerDay> = (0..df.height())
        .map(|i| CustomerDay {
            customer: ids[i].clone(),
            tier: tiers[i].clone(),
            tier_price: prices[i],
            scenario: scenarios.as_ref().map(|s| s[i].clone()),
            date: days[i],
            calls: calls[i] as u64,
            cost_micros: cost[i],
        })
        .collect();
    out.sort_by(|a, b| a.customer.cmp(&b.customer).then(a.date.cmp(&b.date)));
    Ok(out)
}

/// What kind of day a date is for a customer: a working day, a weekend day or a holiday of its
/// calendar. Weekends and holidays are both days off and share one baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    Weekday,
    Weekend,
    Holiday,
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Weekday => "weekday",
            DayKind::Weekend => "weekend",
            DayKind::Holiday => "holiday",
        }
    }

    /// Days off (weekends and holidays) are compared with each other, working days with working days.
    fn day_off(self) -> bool {
        self != DayKind::Weekday
    }
}

/// The plan's holidays: the dates the `weekend` modifier of each declared scenario names (days
/// of the window counted from the plan's start date), per scenario. Data without a `scenario`
/// column uses every scenario's holidays.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    by_scenario: BTreeMap<String, BTreeSet<NaiveDate>>,
    all: BTreeSet<NaiveDate>,
}

impl Calendar {
    pub fn from_plan(config: &CallsConfig) -> Calendar {
        let mut cal = Calendar::default();
        for s in &config.scenarios {
            for m in &s.def.modifiers {
                if let Modifier::Weekend(w) = m {
                    for &d in &w.holidays {
                        let date = config.run.start_date + chrono::Days::new(d.max(0) as u64);
                        cal.by_scenario.entry(s.def.name.clone()).or_default().insert(date);
                        cal.all.insert(date);
                    }
                }
            }
        }
        cal
    }

    pub fn kind(&self, scenario: Option<&str>, date: NaiveDate) -> DayKind {
        let holidays = match scenario {
            Some(s) => self.by_scenario.get(s),
            None => Some(&self.all),
        };
        if holidays.is_some_and(|h| h.contains(&date)) {
            DayKind::Holiday
        } else if date.weekday().number_from_monday() >= 6 {
            DayKind::Weekend
        } else {
            DayKind::Weekday
        }
    }

    /// Every holiday of the plan, for the page.
    pub fn holidays(&self) -> Vec<NaiveDate> {
        self.all.iter().copied().collect()
    }
}

/// One customer's days from its first day with calls to `last` (the window's last day).
pub(crate) struct Series<'a> {
    pub(crate) days: &'a [CustomerDay],
    pub(crate) first: NaiveDate,
    /// Calls and cost per day, 0 on days without calls.
    pub(crate) calls: Vec<f64>,
    pub(crate) cost: Vec<f64>,
    pub(crate) kinds: Vec<DayKind>,
    /// Index of the last day with calls.
    pub(crate) last_active: usize,
}

/// Each customer's series, extended to the window's last day.
pub(crate) fn series<'a>(days: &'a [CustomerDay], last: NaiveDate, cal: &Calendar) -> Vec<Series<'a>> {
    days.chunk_by(|a, b| a.customer == b.customer)
        .map(|g| {
            let first = g[0].date;
            let end = last.max(g[g.len() - 1].date);
            let span = (end - first).num_days() as usize + 1;
            let (mut calls, mut cost) = (vec![0.0; span], vec![0.0; span]);
            for d in g {
                let i = (d.date - first).num_days() as usize;
                calls[i] = d.calls as f64;
                cost[i] = usd(d.cost_micros);
            }
            let scenario = g[0].scenario.as_deref();
            let kinds = (0..span)
                .map(|i| cal.kind(scenario, first + chrono::Days::new(i as u64)))
                .collect();
            Series {
                days: g,
                first,
                calls,
                cost,
                kinds,
                last_active: (g[g.len() - 1].date - first).num_days() as usize,
            }
        })
        .collect()
}

/// A customer whose trailing silence is too long for its own recent rate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChurnRisk {
    pub customer_id: String,
    pub subscription_tier: String,
    /// Monthly revenue at risk: the tier price.
    pub tier_price_usd: f64,
    pub last_active_day: NaiveDate,
    /// Days without a call from the day after the last call to the window's last day.
    pub silent_days: u32,
    /// Calls per working day and per day off over the lookback before the silence.
    pub working_day_rate: f64,
    pub day_off_rate: f64,
    /// Calls the recent rates predict over the silent days.
    pub expected_calls: f64,
    /// Poisson probability of no call at all in the silence given that expectation: e^−expected.
    pub p_value: f64,
    /// Whether `p_value` is below the setting's `churn_p_value`.
    pub churned: bool,
}

/// Every customer with at least one silent day at the window's end, most surprising silence
/// first. A customer is churned when `P(no call | expected) = e^−expected < churn_p_value`.
pub(crate) fn churn_risks(all: &[Series<'_>], lookback_days: u64, p_value: f64) -> Vec<ChurnRisk> {
    let mut out: Vec<ChurnRisk> = all
        .iter()
        .filter(|sr| sr.last_active + 1 < sr.calls.len())
        .map(|sr| {
            let lo = (sr.last_active + 1).saturating_sub(lookback_days as usize);
            let rate = |off: bool| {
                let days: Vec<usize> = (lo..=sr.last_active)
                    .filter(|&d| sr.kinds[d].day_off() == off)
                    .collect();
                (!days.is_empty()).then(|| days.iter().map(|&d| sr.calls[d]).sum::<f64>() / days.len() as f64)
            };
            let (work, off) = (rate(false), rate(true));
            // A lookback without one kind of day borrows the other's rate.
            let (work, off) = match (work, off) {
                (Some(w), Some(o)) => (w, o),
                (Some(w), None) => (w, w),
                (None, Some(o)) => (o, o),
                (None, None) => (0.0, 0.0),
            };
            let silent = sr.last_active + 1..sr.calls.len();
            let expected: f64 = silent
                .clone()
                .map(|d| if sr.kinds[d].day_off() { off } else { work })
                .sum();
            let p = (-expected).exp();
            let d0 = &sr.days[0];
            ChurnRisk {
                customer_id: d0.customer.clone(),
                subscription_tier: d0.tier.clone(),
                tier_price_usd: d0.tier_price,
                last_active_day: sr.first + chrono::Days::new(sr.last_active as u64),
                silent_days: silent.len() as u32,
                working_day_rate: work,
                day_off_rate: off,
                expected_calls: expected,
                p_value: p,
                churned: p < p_value,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        a.p_value
            .total_cmp(&b.p_value)
            .then_with(|| a.customer_id.cmp(&b.customer_id))
    });
    out
}

/// One row of the labels dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub scenario: String,
    pub kind: String,
    pub subject_type: String,
    pub subject: String,
    pub start_us: i64,
    pub end_us: i64,
    pub magnitude: f64,
    pub detail: String,
}

/// `labels.parquet` (or `labels.csv`) in the data directory that holds `scanned`.
pub fn find_labels(scanned: &Path) -> Option<PathBuf> {
    let dir = if scanned.is_dir() && scanned.join("calls").is_dir() {
        scanned.to_path_buf()
    } else {
        scanned.parent()?.to_path_buf()
    };
    ["labels.parquet", "labels.csv"]
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
}

/// Reads the labels written by the generator.
pub fn read_labels(path: &Path) -> Result<Vec<Label>> {
    let batches: Vec<arrow::array::RecordBatch> = if path.extension().is_some_and(|e| e == "parquet") {
        let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)?
            .build()?
            .collect::<Result<_, _>>()?
    } else {
        let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        arrow::csv::ReaderBuilder::new(crate::batch::labels::LABELS_SCHEMA.clone())
            .with_header(true)
            .build(file)?
            .collect::<Result<_, _>>()?
    };
    let mut out = Vec::new();
    for b in &batches {
        let text = |name: &str| -> Result<Vec<String>> {
            let a = b
                .column_by_name(name)
                .with_context(|| format!("{}: no column `{name}`", path.display()))?;
            let a = a.as_string::<i32>();
            Ok((0..a.len()).map(|i| a.value(i).to_string()).collect())
        };
        let time = |name: &str| -> Result<Vec<i64>> {
            let a = b
                .column_by_name(name)
                .with_context(|| format!("{}: no column `{name}`", path.display()))?;
            Ok(a.as_primitive::<TimestampMicrosecondType>().values().to_vec())
        };
        let (scenario, kind, subject_type, subject, detail) = (
            text("scenario")?,
            text("kind")?,
            text("subject_type")?,
            text("subject")?,
            text("detail")?,
        );
        let (start, end) = (time("start")?, time("end")?);
        let magnitude = b
            .column_by_name("magnitude")
            .with_context(|| format!("{}: no column `magnitude`", path.display()))?
            .as_primitive::<Float64Type>()
            .values()
            .to_vec();
        for i in 0..b.num_rows() {
            out.push(Label {
                scenario: scenario[i].clone(),
                kind: kind[i].clone(),
                subject_type: subject_type[i].clone(),
                subject: subject[i].clone(),
                start_us: start[i],
                end_us: end[i],
                magnitude: magnitude[i],
                detail: detail[i].clone(),
            });
        }
    }
    Ok(out)
}

/// The labels beside the data at `scanned`, or none when there is no labels file.
pub fn labels_beside(scanned: &Path) -> Result<(Option<PathBuf>, Vec<Label>)> {
    let file = find_labels(scanned);
    let labels = match &file {
        Some(p) => read_labels(p)?,
        None => Vec::new(),
    };
    Ok((file, labels))
}
