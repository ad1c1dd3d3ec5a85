//! `manifest.json`: what was analyzed, with which settings, and where each report is, with its
//! headline figures, for tools that watch the reports directory.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::html::Figure;
use crate::analyze::{NotRun, Window};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub generated_at: String,
    pub trafficsim_version: String,
    pub rows: u64,
    /// Bytes of the files read.
    pub bytes: u64,
    /// Seed of the run that generated the data, when known.
    pub seed: Option<u64>,
    pub source: ManifestSource,
    pub window: Window,
    pub config: ManifestConfig,
    pub reports: Vec<ReportEntry>,
    /// The analyzers that did not run on this data, and why; each still has a page
    /// (`<name>.html`) that says so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<NotRun>,
    /// What was mapped, derived or assumed to read the data (foreign data), one sentence each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_notes: Vec<String>,
    /// The executive summary's JSON result, relative to the manifest, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executive_summary: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestSource {
    pub path: String,
    pub format: String,
    pub files: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestConfig {
    /// The run plan (catalogue and traffic model) and the analysis settings file.
    pub run_plan: String,
    pub analysis: String,
    /// Every analyzer's settings, by table name.
    pub settings: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReportEntry {
    pub name: String,
    pub title: String,
    pub summary: String,
    /// The page, relative to the manifest.
    pub path: String,
    /// The JSON result, relative to the manifest.
    pub result: String,
    pub headline: Vec<Figure>,
    /// Wall seconds the analyzer took on this run. Left out when `SOURCE_DATE_EPOCH` pins the
    /// reports for a byte-identical rebuild, as it pins `generated_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
}
