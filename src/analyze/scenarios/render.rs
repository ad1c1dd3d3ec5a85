//! The scenarios page: pure, result → markup.

use anyhow::Result;
use chrono::NaiveDate;
use maud::{Markup, html};

use super::{BurstScore, ChurnScore, ScenarioBursts, ScenariosResult, Signature};
use crate::report::chart::{Band, LineChart, LineSeries, Unit, X, render_line_chart};
use crate::report::html::{Cell, Figure, cards, chart_grid, section, table};

pub(super) fn render(r: &ScenariosResult) -> Result<Markup> {
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
        @if let Some(c) = &r.churn {
            (churn_section(c))
        }
        (section("Injected events", Some(&labels_note),
            table(&["Scenario", "Kind", "Events"], &label_rows)))
    })
}

fn detection_section(d: &BurstScore) -> Markup {
    let by = |a: &ScenarioBursts| vec![Cell::text(&a.scenario), Cell::count(a.customers), Cell::count(a.bursts)];
    let missed: Vec<Vec<Cell>> = d
        .missed
        .iter()
        .map(|m| {
            vec![
                Cell::text(&m.customer_id),
                Cell::text(&m.start),
                Cell::number(m.multiplier, 0),
                Cell::number(m.expected_excess_calls, 1),
                Cell::count(m.calls),
                Cell::text(&m.detail),
            ]
        })
        .collect();
    html! {
        (section("Burst detection against the labels", Some(&d.method), html! {
            (cards(&[
                Figure::count("Labelled bursts", d.labelled),
                Figure::count("Detected", d.detected),
                Figure::percent("Recall", d.recall),
                Figure::count("Material bursts", d.material),
                Figure::percent("Recall (material)", d.material_recall),
                Figure::count("Bursts flagged on bursting customers", d.flagged),
                Figure::percent("Precision", d.precision),
            ]))
            p { "A labelled burst is material when the calls it should add (the customer's baseline at those hours × (multiplier − 1)) reach the detector's minimum excess; a night burst on a light customer may add one call, which no detector can tell from noise. Bursts flagged per scenario, over all customers: a viral spike or a launch is a real event too, so the other scenarios' bursts are not false alarms by definition." }
            (table(&["Scenario", "Customers", "Bursts flagged"], &d.by_scenario.iter().map(by).collect::<Vec<_>>()))
            @if !missed.is_empty() {
                h3 { "Missed bursts" }
                (table(&["Customer", "From (UTC)", "Multiplier", "Expected excess calls", "Calls seen", "Burst"], &missed))
            }
        }))
    }
}

fn churn_section(c: &ChurnScore) -> Markup {
    html! {
        (section("Churn detection against the labels", Some(&c.method), cards(&[
            Figure::count("Labelled churned customers", c.labelled),
            Figure::count("Flagged churned", c.flagged),
            Figure::count("True positives", c.true_positives),
            Figure::percent("Recall", c.recall),
            Figure::percent("Precision", c.precision),
        ])))
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
