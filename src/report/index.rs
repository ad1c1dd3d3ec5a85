//! `index.html`: a card per report with its headline figures and a link to its page.

use maud::{Markup, html};

use super::html::{Figure, cards};
use super::manifest::Manifest;
use crate::analyze::summary::{self, ExecutiveSummary};

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
        }
    }
}
