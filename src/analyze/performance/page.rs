//! The performance page: a pure function of the result and settings.

use anyhow::Result;
use maud::{Markup, html};

use super::{Failures, HISTOGRAM_BIN_MS, HISTOGRAM_BINS, LatencyStats, PerformanceResult, PerformanceSettings, Pick};
use crate::report::chart::{
    BarSeries, Bin, GroupedBarChart, Histogram, HistogramData, Marker, ScatterChart, ScatterPoint, Unit,
    render_grouped_bar_chart, render_histogram, render_scatter_chart,
};
use crate::report::html::{self as h, Cell, Figure, cards, chart, chart_grid, recommendations, section, table};

pub(super) fn render(r: &PerformanceResult, s: &PerformanceSettings) -> Result<Markup> {
    let stat_rows = |rows: &[LatencyStats], with_provider: bool| -> Vec<Vec<Cell>> {
        rows.iter()
            .map(|m| {
                let mut row = vec![Cell::text(&m.name)];
                if with_provider {
                    row.push(Cell::text(&m.provider));
                }
                row.extend([
                    Cell::count(m.calls),
                    Cell::percent(m.failure_share),
                    Cell::ms(m.p50_ms),
                    Cell::ms(m.p95_ms),
                    Cell::ms(m.p99_ms),
                    Cell::number(m.tokens_per_second, 1),
                    Cell::usd(m.cost_per_1k_tokens),
                    Cell::number(m.efficiency_score, 0),
                    Cell::percent(m.sla_compliance),
                ]);
                row
            })
            .collect()
    };
    let head = [
        "Calls",
        "Failed",
        "p50",
        "p95",
        "p99",
        "Tokens/s",
        "Per 1K tokens",
        "Efficiency",
        "SLA",
    ];
    let model_head: Vec<&str> = ["Model", "Provider"].iter().chain(head.iter()).copied().collect();
    let provider_head: Vec<&str> = ["Provider"].iter().chain(head.iter()).copied().collect();
    let bucket_rows: Vec<Vec<Cell>> = r
        .buckets
        .iter()
        .map(|b| vec![Cell::text(&b.label), Cell::count(b.calls), Cell::percent(b.share)])
        .collect();
    let pick = |p: &Pick, unit: &str| format!("{} ({}, {})", p.model, p.provider, unit);
    let task_rows: Vec<Vec<Cell>> = r
        .best_by_task
        .iter()
        .map(|t| {
            vec![
                Cell::text(&t.task_type),
                Cell::text(pick(&t.fastest, &h::format_value(t.fastest.value, h::Unit::Ms))),
                Cell::text(pick(&t.cheapest, &format!("{} / 1K", h::usd(t.cheapest.value)))),
                Cell::text(pick(&t.balanced, &format!("score {}", h::number(t.balanced.value, 0)))),
            ]
        })
        .collect();
    let ranking = |title: &str, names: &[String]| {
        html! { div { h3 { (title) } ol { @for n in names { li { (n) } } } } }
    };
    let charts = charts(r, s)?;
    Ok(html! {
        (section("Summary", Some(&format!(
            "Latency, SLA and speed over the {} successful calls (failed calls are counted apart, below); SLA: at \
             most {} ms. Tokens per second: output tokens per second of latency.",
            h::count(r.overall.successful_calls as f64), r.sla_ms)), cards(&[
            Figure::ms("p50 latency", r.overall.p50_ms),
            Figure::ms("p95 latency", r.overall.p95_ms),
            Figure::ms("p99 latency", r.overall.p99_ms),
            Figure::ms("Mean latency", r.overall.avg_latency_ms),
            Figure::percent("SLA compliance", r.overall.sla_compliance),
            Figure::percent(format!("Calls over {} ms", s.slow_ms), r.overall.slow_share),
            Figure::number("Tokens per second", r.overall.tokens_per_second),
            Figure::usd("Cost per 1K tokens", r.overall.cost_per_1k_tokens),
        ])))
        (failures(&r.failures))
        (section("Recommendations", None, recommendations(&r.recommendations)))
        (section("Latency", None, html! {
            (chart_grid(&charts[..2]))
            (table(&["Latency", "Calls", "Share"], &bucket_rows))
        }))
        (section("By model", Some("Efficiency score = tokens per second ÷ cost per 1K tokens: up and left is better."),
            html! { (chart(&charts[2])) (table(&model_head, &stat_rows(&r.by_model, true))) }))
        (section("By provider", None, table(&provider_head, &stat_rows(&r.by_provider, false))))
        (section("Rankings", None, html! {
            div.chart-grid {
                (ranking("Fastest (p50)", &r.fastest))
                (ranking("Cheapest per 1K tokens", &r.cheapest))
                (ranking("Most efficient", &r.most_efficient))
            }
        }))
        (section("Best model per task type", Some(&format!(
            "Among models with at least {} calls of the task.", s.min_calls_per_task_model)),
            table(&["Task", "Fastest (p50)", "Cheapest", "Balanced (efficiency)"], &task_rows)))
    })
}

/// The failed calls, apart from the latency figures, and what they wasted.
fn failures(f: &Failures) -> Markup {
    let rows: Vec<Vec<Cell>> = f
        .by_status
        .iter()
        .map(|x| {
            vec![
                Cell::text(&x.status),
                Cell::count(x.calls),
                Cell::percent(x.share),
                Cell::count(x.input_tokens.max(0) as u64),
                Cell::ms(x.avg_latency_ms),
            ]
        })
        .collect();
    section(
        "Failed calls",
        Some(
            "Calls whose status is not success, kept out of the latency, SLA and speed figures above. What they \
             wasted: the cost recorded on them (the money actually lost: the simulated providers bill no failed \
             call), the prompt tokens sent, those prompts at list input price (what a provider that billed them \
             would have charged: an upper bound), and the time callers waited.",
        ),
        html! {
            (cards(&[
                Figure::count("Failed calls", f.calls),
                Figure::percent("Of all calls", f.share),
                Figure::usd("Billed on failed calls", f.billed_cost_usd),
                Figure::count("Prompt tokens sent", f.input_tokens.max(0) as u64),
                Figure::usd("Those prompts at list price", f.prompt_cost_at_list_usd),
                Figure::number("Hours waited", f.wait_hours),
            ]))
            (table(&["Status", "Calls", "Of all calls", "Prompt tokens", "Mean latency"], &rows))
        },
    )
}

fn charts(r: &PerformanceResult, s: &PerformanceSettings) -> Result<Vec<String>> {
    let bins: Vec<Bin> = r
        .histogram
        .iter()
        .map(|b| Bin {
            lower: b.from_ms as f64,
            upper: b.to_ms.unwrap_or(b.from_ms + HISTOGRAM_BIN_MS as u64) as f64,
            count: b.calls as f64,
        })
        .collect();
    let histogram = render_histogram(&Histogram {
        title: format!(
            "Latency of successful calls (last bin: {} s and slower)",
            HISTOGRAM_BINS * HISTOGRAM_BIN_MS / 1000
        ),
        x_label: "Latency".into(),
        y_label: "Calls".into(),
        x_unit: Unit::Millis,
        y_unit: Unit::Count,
        data: HistogramData::Binned(bins),
        markers: vec![
            Marker::new(s.sla_ms as f64, format!("SLA {} ms", h::count(s.sla_ms as f64))),
            Marker::new(s.slow_ms as f64, format!("slow {} ms", h::count(s.slow_ms as f64))),
        ],
        ..Default::default()
    })?;
    let scatter = render_scatter_chart(&ScatterChart {
        title: "Speed against price, by model".into(),
        x_label: "Cost per 1K tokens".into(),
        y_label: "Output tokens per second".into(),
        x_unit: Unit::Dollars,
        y_unit: Unit::Number,
        points: r
            .by_model
            .iter()
            .filter(|m| m.successful_calls > 0)
            .map(|m| {
                ScatterPoint::new(m.cost_per_1k_tokens, m.tokens_per_second)
                    .category(&m.provider)
                    .label(&m.name)
            })
            .collect(),
        ..Default::default()
    })?;
    let percentiles = render_grouped_bar_chart(&GroupedBarChart {
        title: "Latency percentiles by provider".into(),
        x_label: "Provider".into(),
        y_label: "Latency".into(),
        unit: Unit::Millis,
        categories: r.by_provider.iter().map(|p| p.name.clone()).collect(),
        series: vec![
            BarSeries::new("p50", r.by_provider.iter().map(|p| p.p50_ms).collect()),
            BarSeries::new("p95", r.by_provider.iter().map(|p| p.p95_ms).collect()),
            BarSeries::new("p99", r.by_provider.iter().map(|p| p.p99_ms).collect()),
        ],
        ..Default::default()
    })?;
    Ok(vec![histogram, percentiles, scatter])
}
