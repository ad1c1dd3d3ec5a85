//! Ticketing data overview: what was read (files, rows, date range), the events and users, how
//! the attempts spread over days, statuses, scenarios and personas, the labelled windows, and
//! the dataset invariants checked by `validate` (a check: the data the proofs rest on holds).

use anyhow::Result;
use maud::{Markup, html};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::super::checks::{Check, CheckUnit};
use super::super::frame::{distinct_count, distinct_query, ints};
use super::super::overview::{DayRows, NameRows, OverviewSettings, invariants, rows_by, rows_per_day};
use super::super::{Analyzer, Context, DataSource, Window};
use super::labels::{self, Label};
use crate::config::{ConfigError, SettingsCheck, TicketingConfig};
use crate::report::chart::{LineChart, LineSeries, Unit, X, render_line_chart};
use crate::report::html::{self as h, Cell, Figure, capped_note, cards, chart, section, table};
use crate::sink::layout;
use crate::validate::Report as InvariantReport;
use crate::validate::ticketing::USERS_WITH_ATTEMPTS;

pub struct Overview;

#[derive(Debug, Clone, Serialize)]
pub struct OverviewResult {
    pub source: DataSource,
    pub window: Window,
    pub counts: Counts,
    pub rows_per_day: Vec<DayRows>,
    pub by_status: Vec<NameRows>,
    pub by_scenario: Vec<NameRows>,
    pub by_persona: Vec<NameRows>,
    pub labels: Vec<Label>,
    /// `None` when `check_invariants` is off.
    pub invariants: Option<InvariantReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Counts {
    /// Rows of the events and users tables.
    pub events: u64,
    pub users: u64,
    /// Distinct events and users that appear in the transactions.
    pub events_with_attempts: u64,
    pub users_with_attempts: u64,
    /// Tickets sold (completed attempts) and their revenue.
    pub tickets_sold: u64,
    pub revenue: f64,
}

impl Analyzer<TicketingConfig> for Overview {
    const NAME: &'static str = "overview";
    const TITLE: &'static str = "Data overview";
    const SUMMARY: &'static str =
        "Files, rows, events, users and date range of the dataset, its labelled windows and its invariant checks.";
    type Settings = OverviewSettings;
    type Output = OverviewResult;

    fn check(s: &OverviewSettings, c: SettingsCheck<'_>, _: &TicketingConfig) -> Result<(), ConfigError> {
        s.check(c)
    }

    fn analyze(ctx: &Context<'_, TicketingConfig>, s: &OverviewSettings) -> Result<OverviewResult> {
        // The invariant pass reads the files with arrow-rs; it overlaps the Polars queries.
        let (invariants, queries) = rayon::join(
            || {
                s.check_invariants
                    .then(|| crate::validate::ticketing::validate(&ctx.source.path, ctx.config))
                    .transpose()
            },
            || -> Result<_> {
                Ok((
                    counts(ctx)?,
                    rows_per_day(ctx)?,
                    rows_by(ctx, "payment_status")?,
                    rows_by(ctx, "scenario")?,
                    rows_by(ctx, "persona")?,
                    labels::read(ctx)?,
                ))
            },
        );
        let (mut counts, rows_per_day, by_status, by_scenario, by_persona, labels) = queries?;
        let invariants = invariants?;
        // The invariant pass has every user's attempts in hand; without it, a group-by over the
        // ids (hundreds of MB at 10M rows, so only when needed).
        counts.users_with_attempts = match invariants.as_ref().and_then(|i| i.counts.get(USERS_WITH_ATTEMPTS)) {
            Some(&n) => n as u64,
            None => distinct(ctx, "user_id")?,
        };
        Ok(OverviewResult {
            source: ctx.source.clone(),
            window: ctx.window.clone(),
            counts,
            rows_per_day,
            by_status,
            by_scenario,
            by_persona,
            labels,
            invariants,
        })
    }

    fn headline(r: &OverviewResult) -> Vec<Figure> {
        let mut out = vec![
            Figure::count("Attempts", r.window.rows),
            Figure::count("Days", u64::from(r.window.days)),
            Figure::count("Events", r.counts.events),
            Figure::count("Users", r.counts.users),
            Figure::sar("Revenue", r.counts.revenue),
        ];
        if let Some(inv) = &r.invariants {
            out.push(Figure::count("Failed invariant checks", inv.failed() as u64));
        }
        out
    }

    fn render(r: &OverviewResult, s: &OverviewSettings) -> Result<Markup> {
        let shown = r.source.files.len().min(s.max_files_listed as usize);
        let file_rows: Vec<Vec<Cell>> = r.source.files[..shown]
            .iter()
            .map(|f| {
                let rel = f.path.strip_prefix(&r.source.path).unwrap_or(&f.path);
                let name = if rel.as_os_str().is_empty() { &f.path } else { rel };
                vec![Cell::text(name.display().to_string()), Cell::count(f.bytes)]
            })
            .collect();
        let mix = |rows: &[NameRows]| -> Vec<Vec<Cell>> {
            rows.iter()
                .map(|n| vec![Cell::text(&n.name), Cell::count(n.rows), Cell::percent(n.share)])
                .collect()
        };
        let per_day = render_line_chart(&LineChart {
            title: "Purchase attempts per day (UTC)".into(),
            y_label: "Attempts".into(),
            y_unit: Unit::Count,
            series: vec![LineSeries::new(
                "Attempts",
                r.rows_per_day
                    .iter()
                    .map(|d| (X::Date(d.date), d.rows as f64))
                    .collect(),
            )],
            ..Default::default()
        })?;
        let label_rows: Vec<Vec<Cell>> = r
            .labels
            .iter()
            .map(|l| {
                vec![
                    Cell::text(&l.scenario),
                    Cell::text(&l.kind),
                    Cell::text(format!("{} {}", l.subject_type, l.subject)),
                    Cell::text(l.window_name()),
                    Cell::number(l.magnitude, 4),
                    Cell::text(&l.detail),
                ]
            })
            .collect();
        Ok(html! {
            (section("The dataset", None, html! {
                (cards(&Overview::headline(r)))
                p.note {
                    (r.source.format) " at " code { (r.source.path.display().to_string()) } ": "
                    (r.source.files.len()) " file(s), " (h::count(r.source.bytes as f64)) " bytes; "
                    "first attempt " (r.window.first_timestamp) ", last " (r.window.last_timestamp) "."
                    @if let Some(seed) = r.source.seed { " Generated with seed " (seed) "." }
                }
                p.note {
                    (h::count(r.counts.events_with_attempts as f64)) " of the " (h::count(r.counts.events as f64)) " events and "
                    (h::count(r.counts.users_with_attempts as f64)) " of the " (h::count(r.counts.users as f64)) " users have attempts; "
                    (h::count(r.counts.tickets_sold as f64)) " tickets sold."
                }
            }))
            (invariants(r.invariants.as_ref()))
            (section("Labelled windows", Some("The ground truth the other pages are scored against: one row per label."),
                table(&["Scenario", "Kind", "Subject", "Window (UTC)", "Magnitude", "Detail"], &label_rows)))
            (section("Attempts per day", Some("UTC days."), chart(&per_day)))
            (section("Status, scenario and persona mix", None, html! {
                div.chart-grid {
                    div { (table(&["Payment status", "Attempts", "Share"], &mix(&r.by_status))) }
                    div { (table(&["Scenario", "Attempts", "Share"], &mix(&r.by_scenario))) }
                    div { (table(&["Persona", "Attempts", "Share"], &mix(&r.by_persona))) }
                }
            }))
            (section("Files", None, html! {
                (table(&["File", "Bytes"], &file_rows))
                (capped_note(shown, r.source.files.len()))
            }))
            (section("Columns", None, table(&["Column", "Type"],
                &r.source.columns.iter().map(|c| vec![Cell::text(&c.name), Cell::text(&c.dtype)]).collect::<Vec<_>>())))
        })
    }

    fn checks(r: &OverviewResult, _: &OverviewSettings) -> Vec<Check> {
        r.invariants
            .iter()
            .map(|inv| {
                Check::at_most(
                    "dataset.invariant_violations",
                    "invariant checks of `trafficsim validate` that fail (inventory, sale windows, statuses, labels…)",
                    inv.failed() as f64,
                    0.0,
                )
                .unit(CheckUnit::Number)
            })
            .collect()
    }
}

/// Distinct values of `id` ([`distinct_query`]).
fn distinct(ctx: &Context<'_, TicketingConfig>, id: &str) -> Result<u64> {
    distinct_count(&ctx.collect(distinct_query(ctx.rows(), id))?)
}

/// The counts, but `users_with_attempts` (see [`Overview::analyze`]).
fn counts(ctx: &Context<'_, TicketingConfig>) -> Result<Counts> {
    let df = ctx.collect(
        ctx.rows().select([
            col("num_tickets")
                .filter(col("payment_status").eq(lit("completed")))
                .sum()
                .cast(DataType::Int64)
                .alias("tickets"),
            // Cents (amounts are positive: +0.5 then truncation rounds), summed as integers: exact
            // whatever the order.
            (col("total_amount") * lit(100.0) + lit(0.5))
                .cast(DataType::Int64)
                .filter(col("payment_status").eq(lit("completed")))
                .sum()
                .alias("cents"),
        ]),
    )?;
    let one = |c: &str| -> Result<i64> { Ok(ints(&df, c)?.first().copied().unwrap_or(0)) };
    let rows = |name: &str| -> Result<u64> {
        let df = ctx.collect(ctx.table(name)?.select([len().cast(DataType::Int64).alias("n")]))?;
        Ok(ints(&df, "n")?.first().copied().unwrap_or(0) as u64)
    };
    Ok(Counts {
        events: rows(layout::EVENTS)?,
        users: rows(layout::USERS)?,
        events_with_attempts: distinct(ctx, "event_id")?,
        users_with_attempts: 0,
        tickets_sold: one("tickets")? as u64,
        revenue: one("cents")? as f64 / 100.0,
    })
}
