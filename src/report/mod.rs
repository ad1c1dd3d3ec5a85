//! The report stage: analyzer results → HTML pages, `index.html`, `manifest.json` and
//! `results/*.json` under `output/reports/`.
//!
//! Rendering is pure ([`render_all`]: pages in, file contents out) so it can be snapshot-tested;
//! [`write_reports`] then writes the directory as a whole (staged beside the old one and swapped
//! in), so a reader never sees a half-written set of reports.

pub mod chart;
pub mod html;
pub mod index;
pub mod layout;
pub mod manifest;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use chrono::{DateTime, SecondsFormat, Utc};

use crate::analyze::summary::{self, ExecutiveSummary};
use crate::analyze::{DataSource, NotRun, Page, Window};
use crate::sink::atomic::StagedDir;
use html::Figure;
use layout::{Footer, NavLink};
use manifest::{Manifest, ManifestConfig, ManifestSource, ReportEntry};

/// Everything the report files are made from.
pub struct ReportInput<'a> {
    /// The index page's title and one-line description.
    pub title: &'a str,
    pub subtitle: &'a str,
    pub pages: &'a [Page],
    /// The analyzers that did not run on this data: a page each that says why.
    pub not_run: &'a [NotRun],
    pub source: &'a DataSource,
    pub window: &'a Window,
    pub run_plan: &'a Path,
    pub analysis: &'a Path,
    /// RFC 3339; see [`generated_at`].
    pub generated_at: String,
    /// The executive summary atop the index, when the workload has one.
    pub summary: Option<&'a ExecutiveSummary>,
}

/// The time stamped on the reports: `SOURCE_DATE_EPOCH` (seconds) when set, so a run can be
/// reproduced byte for byte (the reproducible-builds convention), else now.
pub fn generated_at() -> String {
    pinned_time()
        .unwrap_or_else(Utc::now)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn pinned_time() -> Option<DateTime<Utc>> {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
}

/// Whether `SOURCE_DATE_EPOCH` pins the reports (then nothing time-dependent is written).
fn pinned_clock() -> bool {
    pinned_time().is_some()
}

/// Renders the manifest and every file of the reports directory (relative path → contents).
pub fn render_all(input: &ReportInput<'_>) -> Result<(Manifest, Vec<(PathBuf, String)>)> {
    let manifest = manifest_of(input);
    let source = input.source.path.display().to_string();
    let footer = Footer {
        generated_at: &input.generated_at,
        source: &source,
        rows: input.window.rows,
    };
    let hrefs: Vec<String> = input.pages.iter().map(|p| format!("{}.html", p.name)).collect();
    let mut nav = vec![NavLink {
        href: "index.html",
        title: "Index",
    }];
    nav.extend(input.pages.iter().zip(&hrefs).map(|(p, h)| NavLink {
        href: h,
        title: p.title,
    }));
    let not_run_hrefs: Vec<String> = input.not_run.iter().map(|n| format!("{}.html", n.name)).collect();
    nav.extend(input.not_run.iter().zip(&not_run_hrefs).map(|(n, h)| NavLink {
        href: h,
        title: &n.title,
    }));

    let mut files = Vec::new();
    for (page, href) in input.pages.iter().zip(&hrefs) {
        let doc = layout::page(page.title, page.summary, &nav, href, &footer, page.body.clone());
        files.push((PathBuf::from(href), doc.into_string()));
        files.push((
            PathBuf::from("results").join(format!("{}.json", page.name)),
            page.result_json.clone() + "\n",
        ));
    }
    for (n, href) in input.not_run.iter().zip(&not_run_hrefs) {
        let doc = layout::page(
            &n.title,
            &n.summary,
            &nav,
            href,
            &footer,
            index::not_run_page(n, input.source),
        );
        files.push((PathBuf::from(href), doc.into_string()));
    }
    let overall = [
        Figure::count("Rows", input.window.rows),
        Figure::count("Days", u64::from(input.window.days)),
        Figure::count("Files read", input.source.files.len() as u64),
        Figure::new("Megabytes read", input.source.bytes as f64 / 1e6, html::Unit::Number),
    ];
    let index = layout::page(
        input.title,
        input.subtitle,
        &nav,
        "index.html",
        &footer,
        index::render(&manifest, &overall, input.summary),
    );
    if let Some(s) = input.summary {
        files.push((PathBuf::from(summary_path()), serde_json::to_string_pretty(s)? + "\n"));
    }
    files.push((PathBuf::from("index.html"), index.into_string()));
    files.push((
        PathBuf::from("manifest.json"),
        serde_json::to_string_pretty(&manifest)? + "\n",
    ));
    Ok((manifest, files))
}

fn manifest_of(input: &ReportInput<'_>) -> Manifest {
    Manifest {
        generated_at: input.generated_at.clone(),
        trafficsim_version: env!("CARGO_PKG_VERSION").to_string(),
        rows: input.window.rows,
        bytes: input.source.bytes,
        seed: input.source.seed,
        source: ManifestSource {
            path: input.source.path.display().to_string(),
            format: input.source.format.clone(),
            files: input.source.files.len(),
        },
        window: input.window.clone(),
        config: ManifestConfig {
            run_plan: input.run_plan.display().to_string(),
            analysis: input.analysis.display().to_string(),
            settings: input
                .pages
                .iter()
                .map(|p| (p.name.to_string(), p.settings.clone()))
                .collect::<BTreeMap<_, _>>(),
        },
        reports: input
            .pages
            .iter()
            .map(|p| ReportEntry {
                name: p.name.to_string(),
                title: p.title.to_string(),
                summary: p.summary.to_string(),
                path: format!("{}.html", p.name),
                result: format!("results/{}.json", p.name),
                headline: p.headline.clone(),
                seconds: (!pinned_clock()).then(|| (p.seconds * 1000.0).round() / 1000.0),
            })
            .collect(),
        not_run: input.not_run.to_vec(),
        data_notes: input.source.adaptation.sentences(),
        executive_summary: input.summary.map(|_| summary_path()),
    }
}

/// The executive summary's result, relative to the reports directory.
fn summary_path() -> String {
    format!("results/{}.json", summary::NAME)
}

/// Writes the rendered files as the directory `out`, replacing what was there only once all
/// of them are written.
pub fn write_reports(out: &Path, files: &[(PathBuf, String)]) -> Result<()> {
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let staged = StagedDir::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    std::fs::create_dir_all(staged.staging().join("results"))?;
    for (path, contents) in files {
        let full = staged.staging().join(path);
        std::fs::write(&full, contents).with_context(|| format!("cannot write {}", full.display()))?;
    }
    staged
        .commit()
        .with_context(|| format!("cannot move the reports into {}", out.display()))?;
    Ok(())
}
