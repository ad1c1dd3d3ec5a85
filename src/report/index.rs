//! `index.html`: a card per report with its headline figures and a link to its page.

use maud::{Markup, html};

use super::html::{Figure, cards, section};
use super::manifest::Manifest;
use crate::analyze::summary::{self, ExecutiveSummary};
use crate::analyze::{DataSource, NotRun};

/// The index body: the executive summary (when there is one), overall figures, then one card
/// per report.
pub fn render(manifest: &Manifest, overall: &[Figure], summary: Option<&ExecutiveSummary>) -> Markup {
    html! {
        @if let Some(s) = summary { (summary::render(s)) }
        section {
            h2 { "The data" }
            p.note {
                (manifest.source.format) " dataset " code { (manifest.source.path) } ", "
                (manifest.window.first_day) " to " (manifest.window.last_day) " (" (manifest.window.days) " days)"
                @if let Some(seed) = manifest.seed { ", seed " (seed) }
                "."
            }
            (cards(overall))
            @if !manifest.data_notes.is_empty() {
                h3 { "Notes on the data" }
                ul.notes { @for n in &manifest.data_notes { li { (n) } } }
            }
        }
        div.reports {
            @for r in &manifest.reports {
                article.report {
                    h2 { a href=(r.path) { (r.title) } }
                    p.note { (r.summary) }
                    dl {
                        @for f in &r.headline {
                            dt { (f.label) }
                            dd { (f.display) }
                        }
                    }
                    p { a href=(r.path) { "Open the report →" } " · " a href=(r.result) { "JSON" } }
                }
            }
            @for n in &manifest.not_run {
                article.report.not-run {
                    h2 { a href={ (n.name) ".html" } { (n.title) } }
                    p.note { (n.summary) }
                    p { strong { (n.reason) } }
                }
            }
        }
    }
}

/// The page of an analyzer that did not run: which columns it needs that the data lacks, and
/// how to supply them.
pub fn not_run_page(n: &NotRun, source: &DataSource) -> Markup {
    let columns: Vec<&str> = source.columns.iter().map(|c| c.name.as_str()).collect();
    section(
        "Not run",
        None,
        html! {
            p { strong { (n.reason) } }
            @if !n.missing.is_empty() {
                p {
                    "This page reads the column(s) "
                    @for (i, c) in n.missing.iter().enumerate() { @if i > 0 { ", " } code { (c) } }
                    ", which the data lacks. A columns map (" code { "--columns-map FILE" } ") can make them from the export's own columns, "
                    "or set a constant where one value holds for every row; see the README's “Analyzing other data”."
                }
            }
            p.note { "The data's columns: " (columns.join(", ")) "." }
        },
    )
}
