//! The scenarios page: each scenario's signature in its own rows, the events the generator
//! injected (the `labels` dataset beside the calls), and the anomaly detector of the decisions
//! page scored against those labels.
//!
//! A signature is the one daily figure that shows what the scenario does, chosen from its labels:
//! the target model's share for a migration, cost per call for an optimization, the launched
//! feature's calls for a launch, the busiest hour's calls for bursts, calls by UTC hour of day for
//! time zones, and calls per day otherwise. Cohort-level events (windows, peak days, holidays) are
//! shaded on the chart.
//!
//! Scoring: a labelled burst makes its customer's UTC day a true anomaly. Recall is the share of
//! those customer-days (with enough history to be tested) that the detector flags as spikes;
//! precision is the share of spikes flagged on the bursting scenario's customers that fall on a
//! labelled burst day.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, TimestampMicrosecondType};
use chrono::{DateTime, NaiveDate};
use maud::{Markup, html};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::decisions::{DecisionSettings, customer_day_anomalies, customer_days};
use super::frame::{cost_micros, dates, ints, ratio, strings, usd};
use super::{Analyzer, Columns, Context};
use crate::config::{AnalysisFile, CallsConfig, ConfigError, SettingsCheck};
use crate::report::chart::{Band, LineChart, LineSeries, Unit, X, render_line_chart};
use crate::report::html::{Cell, Figure, cards, chart_grid, section, table};

const HOUR_US: i64 = 3_600_000_000;

pub struct Scenarios;

/// The page's own table, plus the detector settings of `[decisions]` it scores.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenariosSettings {
    pub page: PageSettings,
    pub detector: DecisionSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageSettings {
    /// Rows in the table of missed and false detections.
    pub table_rows: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScenariosResult {
    /// The labels file read, if one was found beside the data.
    pub labels_file: Option<PathBuf>,
    pub scenarios: Vec<Signature>,
    /// Events per scenario and kind.
    pub label_counts: Vec<LabelCount>,
    pub detection: Option<DetectionScore>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Signature {
    pub scenario: String,
    pub customers: u64,
    pub calls: u64,
    pub cost_usd: f64,
    /// What `points` measure.
    pub metric: String,
    /// `count`, `percent`, `usd`.
    pub unit: String,
    /// `date` (x = days since the window's first day) or `utc_hour` (x = hour of day).
    pub x: String,
    pub points: Vec<(f64, f64)>,
    /// Cohort-level events to shade: kind, first and last day index (inclusive).
    pub events: Vec<EventSpan>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EventSpan {
    pub kind: String,
    pub subject: String,
    pub first_day: i64,
    pub last_day: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LabelCount {
    pub scenario: String,
    pub kind: String,
    pub events: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DetectionScore {
    pub method: String,
    /// Customer-days with a labelled burst.
    pub labelled: u64,
    /// Of those, the ones with enough history to be tested.
    pub testable: u64,
    pub detected: u64,
    pub recall: f64,
    /// Spikes flagged on the bursting scenarios' customers.
    pub flagged: u64,
    pub true_positives: u64,
    pub precision: f64,
    /// Spikes and drops flagged per scenario, over all customers.
    pub by_scenario: Vec<ScenarioAnomalies>,
    /// Labelled burst days the detector missed, largest burst first (capped).
    pub missed: Vec<MissedBurst>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScenarioAnomalies {
    pub scenario: String,
    pub customers: u64,
    pub spikes: u64,
    pub drops: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MissedBurst {
    pub customer_id: String,
    pub date: NaiveDate,
    pub multiplier: f64,
    pub detail: String,
}

/// One row of the labels dataset.
#[derive(Debug, Clone, PartialEq)]
struct Label {
    scenario: String,
    kind: String,
    subject_type: String,
    subject: String,
    start_us: i64,
    end_us: i64,
    magnitude: f64,
    detail: String,
}

impl Analyzer for Scenarios {
    const NAME: &'static str = "scenarios";
    const TITLE: &'static str = "Scenarios and ground truth";
    const SUMMARY: &'static str =
        "Each scenario's signature, the events it injected, and the anomaly detector scored against them";
    type Settings = ScenariosSettings;
    type Output = ScenariosResult;
    const COLUMNS: Columns = Columns::Only(&[
        "scenario",
        "timestamp",
        "customer_id",
        "model",
        "feature_id",
        "subscription_tier",
        "tier_price_usd",
        "cost_usd",
    ]);

    fn read_settings(file: &AnalysisFile) -> Result<ScenariosSettings, ConfigError> {
        Ok(ScenariosSettings {
            page: file.section(Self::NAME)?,
            detector: file.section("decisions")?,
        })
    }

    fn check(s: &ScenariosSettings, c: SettingsCheck<'_>, _config: &CallsConfig) -> Result<(), ConfigError> {
        c.count("table_rows", s.page.table_rows, 1, 100_000)
    }

    fn analyze(ctx: &Context<'_>, s: &ScenariosSettings) -> Result<ScenariosResult> {
        let has_scenario = ctx.calls().collect_schema()?.get("scenario").is_some();
        if !has_scenario {
            return Ok(ScenariosResult {
                labels_file: None,
                scenarios: Vec::new(),
                label_counts: Vec::new(),
                detection: None,
            });
        }
        let labels_file = find_labels(&ctx.source.path);
        let labels = match &labels_file {
            Some(path) => read_labels(path)?,
            None => Vec::new(),
        };
        let customers = customer_scenarios(ctx)?;
        let scenarios = signatures(ctx, &labels, &customers)?;
        let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
        for l in &labels {
            *counts.entry((l.scenario.clone(), l.kind.clone())).or_default() += 1;
        }
        let label_counts = counts
            .into_iter()
            .map(|((scenario, kind), events)| LabelCount { scenario, kind, events })
            .collect();
        let detection = if labels.is_empty() {
            None
        } else {
            Some(score(ctx, s, &labels, &customers)?)
        };
        Ok(ScenariosResult {
            labels_file,
            scenarios,
            label_counts,
            detection,
        })
    }

    fn headline(r: &ScenariosResult) -> Vec<Figure> {
        let mut out = vec![
            Figure::count("Scenarios", r.scenarios.len() as u64),
            Figure::count("Injected events", r.label_counts.iter().map(|l| l.events).sum()),
        ];
        if let Some(d) = &r.detection {
            out.push(Figure::percent("Burst recall", d.recall));
            out.push(Figure::percent("Burst precision", d.precision));
        }
        out
    }

    fn render(r: &ScenariosResult, _s: &ScenariosSettings) -> Result<Markup> {
        let charts: Vec<String> = r.scenarios.iter().map(signature_chart).collect::<Result<_>>()?;
        let rows: Vec<Vec<Cell>> = r
            .scenarios
            .iter()
            .map(|sg| {
                vec![
                    Cell::text(&sg.scenario),
                    Cell::count(sg.customers),
                    Cell::count(sg.calls),
                    Cell::usd(sg.cost_usd),
                    Cell::text(&sg.metric),
                ]
            })
            .collect();
        let label_rows: Vec<Vec<Cell>> = r
            .label_counts
            .iter()
            .map(|l| vec![Cell::text(&l.scenario), Cell::text(&l.kind), Cell::count(l.events)])
            .collect();
        let labels_note = match &r.labels_file {
            Some(p) => format!("Read from {}.", p.display()),
            None => "No labels dataset (labels.parquet or labels.csv) was found beside the data.".to_string(),
        };
        Ok(html! {
            (section("Scenarios in the data", Some("Rows, customers and cost per scenario, and the figure that shows each one's shape."),
                table(&["Scenario", "Customers", "Calls", "Cost", "Signature"], &rows)))
            (section("Signatures", Some("Shaded: the scenario's injected windows and days, from the labels."), chart_grid(&charts)))
            @if let Some(d) = &r.detection {
                (detection_section(d))
            }
            (section("Injected events", Some(&labels_note),
                table(&["Scenario", "Kind", "Events"], &label_rows)))
        })
    }
}

fn detection_section(d: &DetectionScore) -> Markup {
    let by = |a: &ScenarioAnomalies| {
        vec![
            Cell::text(&a.scenario),
            Cell::count(a.customers),
            Cell::count(a.spikes),
            Cell::count(a.drops),
        ]
    };
    let missed: Vec<Vec<Cell>> = d
        .missed
        .iter()
        .map(|m| {
            vec![
                Cell::text(&m.customer_id),
                Cell::text(m.date.to_string()),
                Cell::number(m.multiplier, 0),
                Cell::text(&m.detail),
            ]
        })
        .collect();
    html! {
        (section("Anomaly detection against the labels", Some(&d.method), html! {
            (cards(&[
                Figure::count("Labelled burst days", d.labelled),
                Figure::count("Testable", d.testable),
                Figure::count("Detected", d.detected),
                Figure::percent("Recall", d.recall),
                Figure::count("Spikes on bursting customers", d.flagged),
                Figure::percent("Precision", d.precision),
            ]))
            p { "Anomalies flagged per scenario, over all customers: a viral spike, a launch or a holiday is a real event too, so the other scenarios are not false alarms by definition." }
            (table(&["Scenario", "Customers", "Spikes", "Drops"], &d.by_scenario.iter().map(by).collect::<Vec<_>>()))
            @if !missed.is_empty() {
                h3 { "Missed bursts" }
                (table(&["Customer", "Day (UTC)", "Multiplier", "Burst"], &missed))
            }
        }))
    }
}

fn signature_chart(sg: &Signature) -> Result<String> {
    let unit = match sg.unit.as_str() {
        "percent" => Unit::Percent,
        "usd" => Unit::Dollars,
        _ => Unit::Count,
    };
    let hourly = sg.x == "utc_hour";
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid");
    let x = |v: f64| {
        if hourly {
            X::Num(v)
        } else {
            X::Date(epoch + chrono::Days::new(v as u64))
        }
    };
    let points: Vec<(X, f64)> = sg.points.iter().map(|&(a, b)| (x(a), b)).collect();
    let top = sg.points.iter().map(|p| p.1).fold(0.0, f64::max) * 1.05;
    let bands = sg
        .events
        .iter()
        .map(|e| {
            Band::new(
                format!("{} {}", e.kind, e.subject),
                // Whole days: from the first day's start to the last day's end.
                vec![
                    (x(e.first_day as f64), 0.0, top),
                    (x(e.last_day as f64 + 1.0), 0.0, top),
                ],
            )
        })
        .collect();
    Ok(render_line_chart(&LineChart {
        title: format!("{}: {}", sg.scenario, sg.metric),
        x_label: if hourly { "UTC hour of day" } else { "Day" }.into(),
        y_label: sg.metric.clone(),
        y_unit: unit,
        series: vec![LineSeries::new(sg.metric.clone(), points)],
        bands,
        ..Default::default()
    })?)
}

/// `labels.parquet` (or `labels.csv`) in the data directory that holds `scanned`.
fn find_labels(scanned: &Path) -> Option<PathBuf> {
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
fn read_labels(path: &Path) -> Result<Vec<Label>> {
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

/// Each customer's scenario.
fn customer_scenarios(ctx: &Context<'_>) -> Result<BTreeMap<String, String>> {
    let df = ctx.collect(
        ctx.calls()
            .group_by([col("customer_id")])
            .agg([col("scenario").min().alias("scenario")]),
    )?;
    Ok(strings(&df, "customer_id")?
        .into_iter()
        .zip(strings(&df, "scenario")?)
        .collect())
}

/// The UTC day index of a label time.
fn day_of(window_first: NaiveDate, us: i64) -> i64 {
    let date = DateTime::from_timestamp_micros(us).map_or(window_first, |t| t.date_naive());
    (date - window_first).num_days()
}

fn signatures(ctx: &Context<'_>, labels: &[Label], customers: &BTreeMap<String, String>) -> Result<Vec<Signature>> {
    let first = ctx.window.first_day;
    let days = ctx.window.days as usize;
    let epoch_day = (first - NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid")).num_days() as f64;
    // Calls, cost, per scenario and UTC hour of the window; everything else is summed from it.
    let hourly = ctx.collect(
        ctx.calls()
            .group_by([
                col("scenario"),
                (col("timestamp").cast(DataType::Int64) / lit(HOUR_US)).alias("hour"),
            ])
            .agg([
                len().cast(DataType::Int64).alias("calls"),
                cost_micros().sum().alias("cost_micros"),
            ]),
    )?;
    let first_hour = first.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp() / 3600;
    let mut per: BTreeMap<String, (Vec<u64>, Vec<i64>)> = BTreeMap::new();
    for (((sc, h), n), c) in strings(&hourly, "scenario")?
        .into_iter()
        .zip(ints(&hourly, "hour")?)
        .zip(ints(&hourly, "calls")?)
        .zip(ints(&hourly, "cost_micros")?)
    {
        let e = per
            .entry(sc)
            .or_insert_with(|| (vec![0; days * 24], vec![0; days * 24]));
        let i = h - first_hour;
        if (0..(days * 24) as i64).contains(&i) {
            e.0[i as usize] += n as u64;
            e.1[i as usize] += c;
        }
    }
    let mut customer_counts: HashMap<&str, u64> = HashMap::new();
    for sc in customers.values() {
        *customer_counts.entry(sc.as_str()).or_default() += 1;
    }
    let mut out = Vec::new();
    for (scenario, (calls, cost)) in &per {
        let mine: Vec<&Label> = labels.iter().filter(|l| &l.scenario == scenario).collect();
        let has = |kind: &str| mine.iter().find(|l| l.kind == kind).copied();
        let daily_calls: Vec<f64> = calls.chunks(24).map(|d| d.iter().sum::<u64>() as f64).collect();
        let date_points = |v: Vec<f64>| -> Vec<(f64, f64)> {
            v.into_iter()
                .enumerate()
                .map(|(i, y)| (epoch_day + i as f64, y))
                .collect()
        };
        let (metric, unit, x, points) = if let Some(m) = has("migration") {
            let (source, target) = m.subject.split_once(" -> ").unwrap_or((&m.subject, ""));
            let share = model_share(ctx, scenario, source, target)?;
            (
                format!("{target} share of {source} + {target} calls"),
                "percent",
                "date",
                date_points(share),
            )
        } else if has("optimization").is_some() {
            let per_call: Vec<f64> = calls
                .chunks(24)
                .zip(cost.chunks(24))
                .map(|(n, c)| ratio(usd(c.iter().sum()), n.iter().sum::<u64>() as f64))
                .collect();
            ("cost per call".to_string(), "usd", "date", date_points(per_call))
        } else if let Some(f) = has("feature_launch") {
            let v = feature_calls(ctx, scenario, &f.subject)?;
            (format!("{} calls per day", f.subject), "count", "date", date_points(v))
        } else if has("burst").is_some() {
            let busiest: Vec<f64> = calls.chunks(24).map(|d| *d.iter().max().unwrap_or(&0) as f64).collect();
            (
                "calls in the busiest UTC hour of each day".to_string(),
                "count",
                "date",
                date_points(busiest),
            )
        } else if has("timezone").is_some() {
            let mut by_hour = vec![0.0; 24];
            for (i, n) in calls.iter().enumerate() {
                by_hour[i % 24] += *n as f64;
            }
            let points = by_hour.into_iter().enumerate().map(|(h, y)| (h as f64, y)).collect();
            ("calls by UTC hour of day".to_string(), "count", "utc_hour", points)
        } else {
            ("calls per day".to_string(), "count", "date", date_points(daily_calls))
        };
        let events = if x == "date" {
            mine.iter()
                .filter(|l| matches!(l.subject_type.as_str(), "cohort" | "model" | "feature"))
                .filter(|l| !matches!(l.kind.as_str(), "seasonal_cycle" | "decline" | "growth"))
                // Labels cover the plan's window; the data may cover only its first days (a
                // day-by-day run in progress): an event after the data's last day is not drawn.
                .filter_map(|l| {
                    let a = day_of(first, l.start_us).max(0);
                    let b = day_of(first, l.end_us - 1).max(a).min(days as i64 - 1);
                    (a <= b).then(|| EventSpan {
                        kind: l.kind.clone(),
                        subject: l.subject.clone(),
                        first_day: epoch_day as i64 + a,
                        last_day: epoch_day as i64 + b,
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        out.push(Signature {
            scenario: scenario.clone(),
            customers: customer_counts.get(scenario.as_str()).copied().unwrap_or(0),
            calls: calls.iter().sum(),
            cost_usd: usd(cost.iter().sum()),
            metric,
            unit: unit.to_string(),
            x: x.to_string(),
            points,
            events,
        });
    }
    Ok(out)
}

/// Per day of the window: the target's share of the calls to the two models (percent).
fn model_share(ctx: &Context<'_>, scenario: &str, source: &str, target: &str) -> Result<Vec<f64>> {
    let df = ctx.collect(
        ctx.calls()
            .filter(
                col("scenario")
                    .eq(lit(scenario))
                    .and(col("model").eq(lit(source)).or(col("model").eq(lit(target)))),
            )
            .group_by([col("timestamp").dt().date().alias("date"), col("model")])
            .agg([len().cast(DataType::Int64).alias("calls")]),
    )?;
    let mut by_day: BTreeMap<NaiveDate, (f64, f64)> = BTreeMap::new();
    for ((d, m), n) in dates(&df, "date")?
        .into_iter()
        .zip(strings(&df, "model")?)
        .zip(ints(&df, "calls")?)
    {
        let e = by_day.entry(d).or_default();
        e.1 += n as f64;
        if m == target {
            e.0 += n as f64;
        }
    }
    Ok(ctx
        .window
        .each_day()
        .map(|d| by_day.get(&d).map_or(f64::NAN, |(t, all)| 100.0 * ratio(*t, *all)))
        .collect())
}

/// Per day of the window: calls of `feature` in `scenario`.
fn feature_calls(ctx: &Context<'_>, scenario: &str, feature: &str) -> Result<Vec<f64>> {
    let df = ctx.collect(
        ctx.calls()
            .filter(
                col("scenario")
                    .eq(lit(scenario))
                    .and(col("feature_id").eq(lit(feature))),
            )
            .group_by([col("timestamp").dt().date().alias("date")])
            .agg([len().cast(DataType::Int64).alias("calls")]),
    )?;
    let by_day: BTreeMap<NaiveDate, i64> = dates(&df, "date")?.into_iter().zip(ints(&df, "calls")?).collect();
    Ok(ctx
        .window
        .each_day()
        .map(|d| by_day.get(&d).copied().unwrap_or(0) as f64)
        .collect())
}

/// Scores the decisions page's customer-day detector against the labelled bursts.
fn score(
    ctx: &Context<'_>,
    s: &ScenariosSettings,
    labels: &[Label],
    customers: &BTreeMap<String, String>,
) -> Result<DetectionScore> {
    let days = customer_days(ctx)?;
    let anomalies = customer_day_anomalies(&days, &s.detector);
    // Truth: (customer, UTC day) of every labelled burst.
    let mut truth: BTreeMap<(String, NaiveDate), &Label> = BTreeMap::new();
    for l in labels
        .iter()
        .filter(|l| l.kind == "burst" && l.subject_type == "customer")
    {
        if let Some(t) = DateTime::from_timestamp_micros(l.start_us) {
            truth.entry((l.subject.clone(), t.date_naive())).or_insert(l);
        }
    }
    let bursting: BTreeSet<&str> = labels
        .iter()
        .filter(|l| l.kind == "burst")
        .map(|l| l.scenario.as_str())
        .collect();
    // A customer-day is testable once the customer has `min_history` earlier days.
    let mut first_day: HashMap<&str, NaiveDate> = HashMap::new();
    for d in &days {
        first_day
            .entry(d.customer.as_str())
            .and_modify(|f| *f = (*f).min(d.date))
            .or_insert(d.date);
    }
    let testable = |c: &str, date: NaiveDate| {
        first_day
            .get(c)
            .is_some_and(|f| (date - *f).num_days() >= s.detector.min_history as i64)
    };
    let spikes: HashSet<(String, NaiveDate)> = anomalies
        .anomalies
        .iter()
        .filter(|a| a.robust_z > 0.0)
        .map(|a| (a.subject.clone(), a.date))
        .collect();
    let testable_truth: Vec<(&(String, NaiveDate), &&Label)> =
        truth.iter().filter(|((c, d), _)| testable(c, *d)).collect();
    let detected = testable_truth.iter().filter(|(k, _)| spikes.contains(*k)).count() as u64;
    let on_bursting = |c: &str| customers.get(c).is_some_and(|sc| bursting.contains(sc.as_str()));
    let flagged: Vec<&(String, NaiveDate)> = spikes.iter().filter(|(c, _)| on_bursting(c)).collect();
    let true_positives = flagged.iter().filter(|k| truth.contains_key(**k)).count() as u64;
    let mut missed: Vec<MissedBurst> = testable_truth
        .iter()
        .filter(|(k, _)| !spikes.contains(*k))
        .map(|((c, d), l)| MissedBurst {
            customer_id: c.clone(),
            date: *d,
            multiplier: l.magnitude,
            detail: l.detail.clone(),
        })
        .collect();
    missed.sort_by(|a, b| {
        b.multiplier
            .total_cmp(&a.multiplier)
            .then_with(|| a.customer_id.cmp(&b.customer_id))
            .then(a.date.cmp(&b.date))
    });
    missed.truncate(s.page.table_rows as usize);
    let mut by: BTreeMap<&str, ScenarioAnomalies> = BTreeMap::new();
    for sc in customers.values() {
        let e = by.entry(sc.as_str()).or_insert_with(|| ScenarioAnomalies {
            scenario: sc.clone(),
            customers: 0,
            spikes: 0,
            drops: 0,
        });
        e.customers += 1;
    }
    for a in &anomalies.anomalies {
        if let Some(e) = customers.get(&a.subject).and_then(|sc| by.get_mut(sc.as_str())) {
            if a.robust_z > 0.0 {
                e.spikes += 1;
            } else {
                e.drops += 1;
            }
        }
    }
    Ok(DetectionScore {
        method: format!(
            "{}. A labelled burst makes its customer's UTC day a true anomaly.",
            anomalies.method
        ),
        labelled: truth.len() as u64,
        testable: testable_truth.len() as u64,
        detected,
        recall: ratio(detected as f64, testable_truth.len() as f64),
        flagged: flagged.len() as u64,
        true_positives,
        precision: ratio(true_positives as f64, flagged.len() as f64),
        by_scenario: by.into_values().collect(),
        missed,
    })
}
