//! The executive summary: a few figures first on the index, each linked to the page section that
//! holds its evidence. It is built after every analyzer has run, from their typed results, by the
//! workload's [`Summarizer`] (`AnalysisSpec::summary`); a workload without one has no summary.
//! The figures whose page did not run (`--only`) say so rather than show a number.

pub mod calls;

use anyhow::{Context as _, Result};
use maud::{Markup, html};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Page;
use crate::report::html::{Figure, section_id};

/// Builds a workload's summary from its finished pages.
pub type Summarizer = fn(&[Page]) -> Result<ExecutiveSummary>;

/// The file stem of the summary's JSON result (`results/executive_summary.json`).
pub const NAME: &str = "executive_summary";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ExecutiveSummary {
    pub items: Vec<SummaryItem>,
}

/// One question and its answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SummaryItem {
    /// A stable key (`spend`, `forecast`, …).
    pub key: String,
    /// The question it answers, e.g. "What do we spend?".
    pub question: String,
    /// The answer's figure; `None` when its page did not run.
    pub figure: Option<Figure>,
    /// One sentence around the figure.
    pub detail: String,
    pub evidence: Evidence,
}

/// Where the evidence is: a page and a section of it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Evidence {
    /// The page's analyzer name (`understanding`) and title.
    pub page: String,
    pub page_title: String,
    /// The section's title as the page shows it (`Forecast`).
    pub section: String,
    /// `understanding.html#forecast`.
    pub href: String,
    /// The page ran in this analysis.
    pub available: bool,
}

impl Evidence {
    pub fn new(pages: &[Page], page: &str, section: &str) -> Evidence {
        let title = pages.iter().find(|p| p.name == page).map(|p| p.title);
        Evidence {
            page: page.to_string(),
            page_title: title.unwrap_or(page).to_string(),
            section: section.to_string(),
            href: format!("{page}.html#{}", section_id(section)),
            available: title.is_some(),
        }
    }
}

impl SummaryItem {
    /// The item of a page that did not run.
    pub fn not_run(key: &str, question: &str, evidence: Evidence) -> SummaryItem {
        SummaryItem {
            key: key.to_string(),
            question: question.to_string(),
            figure: None,
            detail: format!("Not in this analysis: the `{}` page did not run.", evidence.page),
            evidence,
        }
    }
}

/// The typed result of page `name`, when it ran.
pub fn result_of<T: DeserializeOwned>(pages: &[Page], name: &str) -> Result<Option<T>> {
    pages
        .iter()
        .find(|p| p.name == name)
        .map(|p| serde_json::from_str(&p.result_json).with_context(|| format!("reading the `{name}` result")))
        .transpose()
}

/// The summary as the top of the index: a card per question, each linked to its evidence.
pub fn render(summary: &ExecutiveSummary) -> Markup {
    html! {
        section.summary id="executive-summary" {
            h2 { "Executive summary" }
            div.cards {
                @for item in &summary.items {
                    div.card {
                        div.card-label { (item.question) }
                        div.card-value { (item.figure.as_ref().map_or("–", |f| f.display.as_str())) }
                        p.note { (item.detail) }
                        @if item.evidence.available {
                            p.note { a href=(item.evidence.href) { "Evidence: " (item.evidence.page_title) " › " (item.evidence.section) " →" } }
                        }
                    }
                }
            }
        }
    }
}
