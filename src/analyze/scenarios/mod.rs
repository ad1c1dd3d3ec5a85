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
//! Scoring ([`score`]): the decisions page's hourly burst detector against the `burst` labels (a
//! detected burst finds a labelled one when they share an hour; precision over the bursting
//! scenario's customers), and its churn detector against the `churn` labels.
//!
//! Files: [`labels`] reads the labels, [`signatures`] the daily figures, [`score`] the detectors'
//! scores, [`render`] the page.

pub mod labels;
mod render;
pub mod score;
pub(crate) mod signatures;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use maud::Markup;
use serde::{Deserialize, Serialize};

use super::decisions::{DecisionSettings, Decisions};
use super::{Analyzer, Columns, Context};
use crate::config::{AnalysisFile, CallsConfig, ConfigError, SettingsCheck};
use crate::report::html::Figure;

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
    /// The hourly burst detector against the `burst` labels.
    pub detection: Option<BurstScore>,
    /// The churn detector against the `churn` labels.
    pub churn: Option<ChurnScore>,
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
pub struct BurstScore {
    pub method: String,
    /// Labelled bursts of customers in the data, within the window.
    pub labelled: u64,
    pub detected: u64,
    pub recall: f64,
    /// Labelled bursts whose expected extra calls (baseline × (multiplier − 1)) reach the
    /// detector's minimum excess, and how many of them were found.
    pub material: u64,
    pub material_detected: u64,
    pub material_recall: f64,
    /// Bursts detected on the bursting scenarios' customers.
    pub flagged: u64,
    pub true_positives: u64,
    pub precision: f64,
    /// Bursts detected per scenario, over all customers.
    pub by_scenario: Vec<ScenarioBursts>,
    /// Labelled bursts the detector missed, most expected excess first (capped).
    pub missed: Vec<MissedBurst>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScenarioBursts {
    pub scenario: String,
    pub customers: u64,
    pub bursts: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MissedBurst {
    pub customer_id: String,
    /// First hour (UTC).
    pub start: String,
    pub multiplier: f64,
    pub expected_excess_calls: f64,
    /// Calls seen in the labelled hours.
    pub calls: u64,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChurnScore {
    pub method: String,
    /// Customers labelled `churn` (present in the data).
    pub labelled: u64,
    /// Customers the detector calls churned.
    pub flagged: u64,
    pub true_positives: u64,
    pub recall: f64,
    pub precision: f64,
    /// Labelled customers not flagged, and flagged customers not labelled.
    pub missed: Vec<String>,
    pub false_alarms: Vec<String>,
}
impl Analyzer for Scenarios {
    const NAME: &'static str = "scenarios";
    const TITLE: &'static str = "Scenarios and ground truth";
    const SUMMARY: &'static str =
        "Each scenario's signature, the events it injected, and the burst and churn detectors scored against them";
    type Settings = ScenariosSettings;
    type Output = ScenariosResult;
    /// Also `timezone` (the burst detector's local hours) when the data has it.
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

    fn check(s: &ScenariosSettings, c: SettingsCheck<'_>, config: &CallsConfig) -> Result<(), ConfigError> {
        c.count("table_rows", s.page.table_rows, 1, 100_000)?;
        // The detectors it scores are `[decisions]`', checked here too when that page is not run.
        <Decisions as Analyzer<CallsConfig>>::check(&s.detector, c.table("decisions"), config)
    }

    fn analyze(ctx: &Context<'_>, s: &ScenariosSettings) -> Result<ScenariosResult> {
        let has_scenario = ctx.has_column("scenario");
        if !has_scenario {
            return Ok(ScenariosResult {
                labels_file: None,
                scenarios: Vec::new(),
                label_counts: Vec::new(),
                detection: None,
                churn: None,
            });
        }
        let (labels_file, labels) = labels::labels_beside(&ctx.source.path)?;
        let customers = signatures::customer_scenarios(ctx)?;
        let scenarios = signatures::signatures(ctx, &labels, &customers)?;
        let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
        for l in &labels {
            *counts.entry((l.scenario.clone(), l.kind.clone())).or_default() += 1;
        }
        let label_counts = counts
            .into_iter()
            .map(|((scenario, kind), events)| LabelCount { scenario, kind, events })
            .collect();
        let (detection, churn) = if labels.is_empty() {
            (None, None)
        } else {
            (
                Some(score::score_bursts(
                    ctx,
                    &s.detector,
                    &labels,
                    &customers,
                    s.page.table_rows as usize,
                )?),
                Some(score::score_churn(ctx, &s.detector, &labels, &customers)?),
            )
        };
        Ok(ScenariosResult {
            labels_file,
            scenarios,
            label_counts,
            detection,
            churn,
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
        if let Some(c) = &r.churn {
            out.push(Figure::percent("Churn recall", c.recall));
            out.push(Figure::percent("Churn precision", c.precision));
        }
        out
    }

    fn render(r: &ScenariosResult, _s: &ScenariosSettings) -> Result<Markup> {
        render::render(r)
    }
}
