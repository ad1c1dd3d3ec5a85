//! The churn and growth page: pure, result → markup.

use anyhow::Result;
use maud::{Markup, html};

use super::{ChurnGrowth, ChurnGrowthResult, ChurnGrowthSettings, CustomerGrowth, KindScore};
use crate::analyze::Analyzer;
use crate::report::chart::{Bar, BarChart, ChartSize, Heatmap, Unit, render_bar_chart, render_heatmap};
use crate::report::html::{self as h, Cell, capped_note, cards, chart, chart_grid, recommendations, section, table};

fn change(v: Option<f64>) -> Cell {
    v.map_or_else(|| Cell::text("–"), Cell::percent)
}

fn customer_row(c: &CustomerGrowth) -> Vec<Cell> {
    vec![
        Cell::text(&c.customer_id),
        Cell::text(&c.subscription_tier),
        Cell::text(c.scenario.as_deref().unwrap_or("")),
        Cell::count(c.calls),
        Cell::text(
            c.weekly_calls
                .iter()
                .map(|w| h::count(*w as f64))
                .collect::<Vec<_>>()
                .join(" · "),
        ),
        change(c.last_week_over_week),
        change(c.trend.map(|t| t.weekly_rate)),
        c.trend.map_or_else(|| Cell::text("–"), |t| Cell::number(t.p_value, 4)),
        Cell::text(&c.class),
        Cell::text(if c.silent_days > 0 {
            format!(
                "{} d (p = {})",
                c.silent_days,
                h::number(c.silence_p_value.unwrap_or(1.0), 4)
            )
        } else {
            String::new()
        }),
        Cell::text(&c.risk),
    ]
}

const CUSTOMER_HEAD: [&str; 11] = [
    "Customer",
    "Tier",
    "Scenario",
    "Calls",
    "Calls per week",
    "Last week",
    "Trend / week",
    "Trend p",
    "Class",
    "Silent",
    "Risk",
];

fn score_rows(scores: &[KindScore]) -> Vec<Vec<Cell>> {
    scores
        .iter()
        .map(|s| {
            vec![
                Cell::text(&s.kind),
                Cell::count(s.labelled),
                Cell::count(s.flagged),
                Cell::count(s.true_positives),
                Cell::percent(s.precision),
                Cell::percent(s.recall),
                Cell::text(
                    s.false_alarms_by_scenario
                        .iter()
                        .map(|(sc, n)| format!("{sc}: {n}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            ]
        })
        .collect()
}

pub fn render(r: &ChurnGrowthResult, s: &ChurnGrowthSettings) -> Result<Markup> {
    let top = s.table_rows as usize;
    let week_names: Vec<String> = (0..r.weeks).map(|w| format!("+{w}")).collect();
    let heat = render_heatmap(&Heatmap {
        title: "Retention by first-seen week".into(),
        x_label: "Weeks since the cohort's first week".into(),
        y_label: "Cohort (first week)".into(),
        unit: Unit::Percent,
        columns: week_names.clone(),
        rows: r
            .cohorts
            .iter()
            .map(|c| format!("{} ({})", c.start, c.customers))
            .collect(),
        values: r
            .cohorts
            .iter()
            .map(|c| {
                (0..r.weeks as usize)
                    .map(|k| c.retention.get(k).map_or(f64::NAN, |v| v * 100.0))
                    .collect()
            })
            .collect(),
        show_values: true,
        size: ChartSize::new(800, (120 + 40 * r.cohorts.len() as u32).max(260)),
    })?;
    let cohort_rows: Vec<Vec<Cell>> = r
        .cohorts
        .iter()
        .map(|c| {
            let mut row = vec![Cell::text(c.start.to_string()), Cell::count(c.customers)];
            row.extend(
                (0..r.weeks as usize).map(|k| match (c.active.get(k), c.retention.get(k)) {
                    (Some(a), Some(p)) => Cell::text(format!("{} ({})", h::percent(*p), a)),
                    _ => Cell::text(""),
                }),
            );
            row
        })
        .collect();
    let mut cohort_head = vec!["First week", "Customers"];
    cohort_head.extend(week_names.iter().map(String::as_str));
    let o = &r.overall;
    let weekly_chart = render_bar_chart(&BarChart {
        title: "Calls per complete week".into(),
        value_label: "calls".into(),
        unit: Unit::Count,
        bars: o
            .weekly_calls
            .iter()
            .enumerate()
            .map(|(w, &c)| Bar::new(format!("week {w}"), c as f64))
            .collect(),
        ..BarChart::default()
    })?;
    let c = &r.classes;
    let class_chart = render_bar_chart(&BarChart {
        title: "Customers by trend".into(),
        value_label: "customers".into(),
        unit: Unit::Count,
        bars: vec![
            Bar::new("growing", c.growing as f64),
            Bar::new("stable", c.stable as f64),
            Bar::new("declining", c.declining as f64),
            Bar::new("untested (too few days)", c.untested as f64),
        ],
        ..BarChart::default()
    })?;
    let at_risk: Vec<&CustomerGrowth> = r.by_customer.iter().filter(|c| !c.risk.is_empty()).collect();
    let growing: Vec<&CustomerGrowth> = {
        let mut g: Vec<&CustomerGrowth> = r.by_customer.iter().filter(|c| c.class == "growing").collect();
        g.sort_by(|a, b| {
            b.trend
                .map_or(0.0, |t| t.slope)
                .total_cmp(&a.trend.map_or(0.0, |t| t.slope))
                .then_with(|| a.customer_id.cmp(&b.customer_id))
        });
        g
    };
    let rows =
        |list: &[&CustomerGrowth]| -> Vec<Vec<Cell>> { list.iter().take(top).map(|c| customer_row(c)).collect() };
    let trend_note = format!(
        "Weeks are 7-day periods from {} (UTC); only the {} complete weeks count. A customer's trend is the \
         least-squares slope of ln(1 + calls per day) from its first day to the window's end (silence counts as 0), \
         with weekends and holidays as days off; it is growing or declining when it survives Benjamini–Hochberg at \
         a false-discovery rate of {} over every customer tested, and needs {} days.",
        r.first_day, r.weeks, s.fdr, s.min_days
    );
    Ok(html! {
        (section("Summary", None, html! { (cards(&ChurnGrowth::headline(r))) }))
        (section("Recommendations", None, recommendations(&r.recommendations)))
        (section("Cohort retention", Some(&format!(
            "A cohort is the customers first seen in a week; the share of them with a call in each week since. The \
             first cohort also holds every customer already active before the window began.{}",
            if r.customers_after_last_week > 0 {
                format!(" {} customers first seen after the last complete week are in no cohort.", r.customers_after_last_week)
            } else { String::new() })), html! {
            (chart(&heat))
            (table(&cohort_head, &cohort_rows))
        }))
        (section("Growth", Some(&trend_note), html! {
            (chart_grid(&[weekly_chart, class_chart]))
            (table(&["", "Calls per week", "Week over week", "Trend / week", "Trend p", "Class"], &[vec![
                Cell::text("All customers"),
                Cell::text(o.weekly_calls.iter().map(|w| h::count(*w as f64)).collect::<Vec<_>>().join(" · ")),
                Cell::text(o.week_over_week.iter().map(|w| w.map_or("–".into(), h::percent)).collect::<Vec<_>>().join(" · ")),
                change(o.trend.map(|t| t.weekly_rate)),
                o.trend.map_or_else(|| Cell::text("–"), |t| Cell::number(t.p_value, 4)),
                Cell::text(&o.class),
            ]]))
            h3 { "Fastest growing" }
            @if growing.is_empty() { p.note { "No customer's usage grows significantly." } }
            @else {
                (table(&CUSTOMER_HEAD, &rows(&growing)))
                (capped_note(growing.len().min(top), growing.len()))
            }
        }))
        (section("Churn risk", Some(&format!(
            "Churned: silent to the window's end longer than the customer's own recent rate makes likely (Poisson: \
             p below {} over the {} days before the silence). Declining: a \
             significant downward trend. The revenue at risk is their monthly tier price.",
            s.churn_p_value, s.churn_lookback_days)), html! {
            @if at_risk.is_empty() { p.note { "No customer has churned or declines significantly." } }
            @else {
                p { strong { (h::count(r.churned as f64)) } " churned, " strong { (h::count(r.declining_at_risk as f64)) }
                    " declining: " strong { (h::usd(r.monthly_revenue_at_risk)) } " of monthly revenue." }
                (table(&CUSTOMER_HEAD, &rows(&at_risk)))
                (capped_note(at_risk.len().min(top), at_risk.len()))
            }
        }))
        (section("Scored against the labels", Some(
            "Each call of the page against the events the generator injected: `churn` labels its churned customers, \
             `decline` and `growth` whole scenarios' cohorts."), html! {
            @if r.scores.is_empty() {
                p.note { "No labels beside the data: nothing to score." }
            } @else {
                (table(&["Label", "Labelled customers", "Flagged", "Both", "Precision", "Recall",
                         "Flagged but not labelled, by scenario"], &score_rows(&r.scores)))
                @for sc in &r.scores { p.note { strong { (sc.kind) } ": " (sc.method) } }
            }
        }))
    })
}
