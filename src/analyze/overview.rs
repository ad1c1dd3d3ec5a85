//! Data overview: what was read (files, rows, bytes, date range, columns), how the rows spread
//! over days, statuses and scenarios, and the dataset invariants checked by `validate`.

use anyhow::{Context as _, Result};
use maud::{Markup, html};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::frame::{dates, distinct_count, distinct_query, ints, strings};
use super::{Analyzer, Columns, Context, DataSource, Window};
use crate::config::{CallsConfig, ConfigError, SettingsCheck};
use crate::report::chart::{LineChart, LineSeries, Unit, X, render_line_chart};
use crate::report::html::{self as h, Cell, Figure, capped_note, cards, chart, section, table};
use crate::validate::Report as InvariantReport;

pub struct Overview;

/// The `[overview]` table; each workload's overview page reads the same keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverviewSettings {
    /// Check the dataset's invariants (a second pass over the data with `validate`).
    pub check_invariants: bool,
    /// Most files listed on the page.
    pub max_files_listed: u64,
}

impl OverviewSettings {
    /// The range checks, whichever workload's table holds them.
    pub fn check(&self, c: SettingsCheck<'_>) -> Result<(), ConfigError> {
        c.count("max_files_listed", self.max_files_listed, 1, 100_000)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OverviewResult {
    pub source: DataSource,
    pub window: Window,
    pub distinct: Distinct,
    pub rows_per_day: Vec<DayRows>,
    pub by_status: Vec<NameRows>,
    pub by_scenario: Vec<NameRows>,
    /// `None` when `check_invariants` is off.
    pub invariants: Option<InvariantReport>,
}

/// Distinct values per column; `None` for a column the data lacks (foreign data).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Distinct {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customers: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizations: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub products: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub providers: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DayRows {
    pub date: chrono::NaiveDate,
    pub rows: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NameRows {
    pub name: String,
    pub rows: u64,
    pub share: f64,
}

impl Analyzer for Overview {
    const NAME: &'static str = "overview";
    const TITLE: &'static str = "Data overview";
    const SUMMARY: &'static str = "Files, rows, bytes and date range of the dataset, and its invariant checks.";
    type Settings = OverviewSettings;
    type Output = OverviewResult;
    // The other columns it counts are optional: foreign data gets the counts it has.
    const COLUMNS: Columns = Columns::Only(&["timestamp"]);

    fn check(s: &OverviewSettings, c: SettingsCheck<'_>, _: &CallsConfig) -> Result<(), ConfigError> {
        s.check(c)
    }

    fn analyze(ctx: &Context<'_>, s: &OverviewSettings) -> Result<OverviewResult> {
        // The invariant pass reads the files with arrow-rs; it overlaps the Polars queries.
        let (invariants, queries) = rayon::join(
            || {
                // Foreign data is not trafficsim's to check against its own invariants.
                (s.check_invariants && !ctx.source.foreign)
                    .then(|| {
                        crate::validate::calls::validate(&ctx.source.path, &ctx.config.catalogue, &ctx.config.traffic)
                    })
                    .transpose()
            },
            || queries(ctx),
        );
        let (distinct, rows_per_day, by_status, by_scenario) = queries?;
        Ok(OverviewResult {
            source: ctx.source.clone(),
            window: ctx.window.clone(),
            distinct,
            rows_per_day,
            by_status,
            by_scenario,
            invariants: invariants?,
        })
    }

    fn headline(r: &OverviewResult) -> Vec<Figure> {
        let mut out = vec![
            Figure::count("Rows", r.window.rows),
            Figure::number("Megabytes", r.source.bytes as f64 / 1e6),
            Figure::count("Days", u64::from(r.window.days)),
        ];
        if let Some(customers) = r.distinct.customers {
            out.push(Figure::count("Customers", customers));
        }
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
        let day_rows: Vec<Vec<Cell>> = r
            .rows_per_day
            .iter()
            .map(|d| vec![Cell::text(d.date.to_string()), Cell::count(d.rows)])
            .collect();
        let per_day = render_line_chart(&LineChart {
            title: "Rows per day (UTC)".into(),
            y_label: "Rows".into(),
            y_unit: Unit::Count,
            series: vec![LineSeries::new(
                "Rows",
                r.rows_per_day
                    .iter()
                    .map(|d| (X::Date(d.date), d.rows as f64))
                    .collect(),
            )],
            ..Default::default()
        })?;
        Ok(html! {
            (section("The dataset", None, html! {
                (cards(&Overview::headline(r)))
                p.note {
                    (r.source.format) " at " code { (r.source.path.display().to_string()) } ": "
                    (r.source.files.len()) " file(s), " (h::count(r.source.bytes as f64)) " bytes; "
                    "first call " (r.window.first_timestamp) ", last " (r.window.last_timestamp) "."
                    @if let Some(seed) = r.source.seed { " Generated with seed " (seed) "." }
                }
                p.note { (distinct_line(&r.distinct)) }
            }))
            @if r.source.foreign && s.check_invariants {
                (section("Invariant checks", Some("Not run: the data is not trafficsim's own (see the notes on the data on the index)."), html! {}))
            } @else {
                (invariants(r.invariants.as_ref()))
            }
            (section("Rows per day", Some("UTC days."), html! { (chart(&per_day)) (table(&["Day", "Rows"], &day_rows)) }))
            (section("Status and scenario mix", None, html! {
                div.chart-grid {
                    div { @if r.by_status.is_empty() { p.note { "The data has no status column." } } @else { (table(&["Status", "Rows", "Share"], &mix(&r.by_status))) } }
                    div { (table(&["Scenario", "Rows", "Share"], &mix(&r.by_scenario))) }
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
}

/// The section listing `validate`'s invariant checks (`None`: not run, as the settings say).
pub fn invariants(report: Option<&InvariantReport>) -> Markup {
    let Some(report) = report else {
        return section(
            "Invariant checks",
            Some("Not run: `check_invariants` is off in the overview's analysis settings."),
            html! {},
        );
    };
    let rows: Vec<Vec<Cell>> = report
        .checks
        .iter()
        .map(|c| {
            let status = match (&c.skipped, c.violations) {
                (Some(why), _) => format!("skipped ({why})"),
                (None, 0) => "ok".to_string(),
                (None, n) => format!("FAILED ({n})"),
            };
            vec![
                Cell::text(c.name),
                Cell::text(c.description),
                Cell::text(status),
                Cell::text(c.examples.join("; ")),
            ]
        })
        .collect();
    let passed = report.passed();
    section(
        "Invariant checks",
        Some("The checks of `trafficsim validate`: the data the analyses rest on."),
        html! {
            p { @if passed { span.ok { "All checks passed." } } @else { span.bad { "Some checks failed: the figures below may mislead." } } }
            (table(&["Check", "What it asserts", "Result", "Examples"], &rows))
        },
    )
}

type Queries = (Distinct, Vec<DayRows>, Vec<NameRows>, Vec<NameRows>);

/// "7 providers, 20 models, …": the counts the data has columns for.
fn distinct_line(d: &Distinct) -> String {
    let parts: Vec<String> = [
        (d.providers, "providers"),
        (d.models, "models"),
        (d.organizations, "organizations"),
        (d.products, "products"),
        (d.features, "features"),
    ]
    .iter()
    .filter_map(|(n, what)| n.map(|n| format!("{n} {what}")))
    .collect();
    if parts.is_empty() {
        String::new()
    } else {
        parts.join(", ") + "."
    }
}

fn queries(ctx: &Context<'_>) -> Result<Queries> {
    let counted = [
        "customer_id",
        "organization_id",
        "product_id",
        "feature_id",
        "provider",
        "model",
    ];
    let present: Vec<&str> = counted.into_iter().filter(|c| ctx.has_column(c)).collect();
    let with_scenario = ctx.source.columns.iter().any(|c| c.name == "scenario");
    let with_status = ctx.has_column("status");
    // One scan for all of them (the streaming engine reads the files once); the distinct
    // counts only over the columns the data has.
    let mut plans = vec![rows_per_day_query(ctx)];
    plans.extend(present.iter().map(|c| distinct_query(ctx.calls(), c)));
    if with_status {
        plans.push(rows_by_query(ctx, "status"));
    }
    if with_scenario {
        plans.push(rows_by_query(ctx, "scenario"));
    }
    let mut frames = ctx.collect_all(plans)?.into_iter();
    let mut next = || frames.next().context("a query's frame is missing");
    let rows_per_day = read_rows_per_day(&next()?)?;
    let mut counts = std::collections::HashMap::new();
    for c in &present {
        counts.insert(*c, distinct_count(&next()?)?);
    }
    let one = |c: &str| -> Result<Option<u64>> { Ok(counts.get(c).copied()) };
    let distinct = Distinct {
        customers: one("customer_id")?,
        organizations: one("organization_id")?,
        products: one("product_id")?,
        features: one("feature_id")?,
        providers: one("provider")?,
        models: one("model")?,
    };
    let by_status = if with_status {
        read_rows_by(ctx, &next()?, "status")?
    } else {
        Vec::new()
    };
    let by_scenario = if with_scenario {
        read_rows_by(ctx, &next()?, "scenario")?
    } else {
        Vec::new()
    };
    Ok((distinct, rows_per_day, by_status, by_scenario))
}

/// Rows per UTC day, in order.
pub fn rows_per_day<C>(ctx: &Context<'_, C>) -> Result<Vec<DayRows>> {
    read_rows_per_day(&ctx.collect(rows_per_day_query(ctx))?)
}

fn rows_per_day_query<C>(ctx: &Context<'_, C>) -> LazyFrame {
    ctx.rows()
        .group_by([col("timestamp").dt().date().alias("date")])
        .agg([len().cast(DataType::Int64).alias("rows")])
}

fn read_rows_per_day(df: &DataFrame) -> Result<Vec<DayRows>> {
    let mut rows_per_day: Vec<DayRows> = dates(df, "date")?
        .into_iter()
        .zip(ints(df, "rows")?)
        .map(|(date, rows)| DayRows {
            date,
            rows: rows as u64,
        })
        .collect();
    rows_per_day.sort_by_key(|d| d.date);
    Ok(rows_per_day)
}

/// Rows per value of `column`, most first.
pub fn rows_by<C>(ctx: &Context<'_, C>, column: &str) -> Result<Vec<NameRows>> {
    read_rows_by(ctx, &ctx.collect(rows_by_query(ctx, column))?, column)
}

fn rows_by_query<C>(ctx: &Context<'_, C>, column: &str) -> LazyFrame {
    ctx.rows()
        .group_by([col(column)])
        .agg([len().cast(DataType::Int64).alias("rows")])
}

fn read_rows_by<C>(ctx: &Context<'_, C>, df: &DataFrame, column: &str) -> Result<Vec<NameRows>> {
    let total = ctx.window.rows.max(1) as f64;
    let mut out: Vec<NameRows> = strings(df, column)?
        .into_iter()
        .zip(ints(df, "rows")?)
        .map(|(name, rows)| NameRows {
            name,
            rows: rows as u64,
            share: rows as f64 / total,
        })
        .collect();
    out.sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}
