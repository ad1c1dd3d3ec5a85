//! The understanding page: a pure function of the result and settings.

use anyhow::Result;
use chrono::NaiveDate;
use maud::{Markup, html};

use super::{CostGroup, UnderstandingResult, UnderstandingSettings};
use crate::analyze::frame::ratio;
use crate::report::chart::{
    AreaSeries, Band, Bar, BarChart, Heatmap, LineChart, LineSeries, StackedAreaChart, Unit, X, render_bar_chart,
    render_heatmap, render_line_chart, render_stacked_area_chart,
};
use crate::report::html::{
    self as h, Cell, Figure, bars_size, cards, chart, chart_grid, recommendations, section, table,
};

pub(super) fn render(r: &UnderstandingResult, s: &UnderstandingSettings) -> Result<Markup> {
    let groups = |rows: &[CostGroup], label: &str| -> Markup {
        let body: Vec<Vec<Cell>> = rows
            .iter()
            .map(|g| {
                vec![
                    Cell::text(&g.name),
                    Cell::count(g.calls),
                    Cell::usd(g.cost_usd),
                    Cell::percent(g.cost_share),
                    Cell::usd(g.cost_per_call),
                    Cell::usd(g.cost_per_1k_tokens),
                ]
            })
            .collect();
        table(&[label, "Calls", "Cost", "Share", "Per call", "Per 1K tokens"], &body)
    };
    let model_rows: Vec<Vec<Cell>> = r
        .by_model
        .iter()
        .map(|m| {
            vec![
                Cell::text(&m.cost.name),
                Cell::text(&m.provider),
                Cell::count(m.cost.calls),
                Cell::usd(m.cost.cost_usd),
                Cell::percent(m.cost.cost_share),
                Cell::usd(m.cost.cost_per_1k_tokens),
            ]
        })
        .collect();
    let task_rows: Vec<Vec<Cell>> = r
        .by_task
        .iter()
        .map(|t| {
            vec![
                Cell::text(&t.task_type),
                Cell::count(t.successful_calls),
                Cell::number(t.avg_input_tokens, 0),
                Cell::number(t.avg_output_tokens, 0),
                Cell::number(t.output_per_input, 2),
                Cell::usd(t.cost_per_1k_tokens),
            ]
        })
        .collect();
    let horizon_rows: Vec<Vec<Cell>> = r
        .forecast
        .horizons
        .iter()
        .map(|x| {
            vec![
                Cell::text(format!("{} days", x.days)),
                Cell::usd(x.naive),
                Cell::usd(x.expected),
                Cell::usd(x.low),
                Cell::usd(x.high),
            ]
        })
        .collect();
    let spender_rows: Vec<Vec<Cell>> = r
        .top_spenders
        .iter()
        .enumerate()
        .map(|(i, c)| {
            vec![
                Cell::count(i as u64 + 1),
                Cell::text(&c.customer_id),
                Cell::text(&c.subscription_tier),
                Cell::text(&c.organization_id),
                Cell::count(c.calls),
                Cell::usd(c.cost_usd),
                Cell::percent(c.cost_share),
            ]
        })
        .collect();
    let f = &r.forecast;
    let e = &r.efficiency;
    let charts = charts(r)?;
    Ok(html! {
        (section("Summary", None, cards(&[
            Figure::usd("Total cost", r.totals.cost_usd),
            Figure::count("Calls", r.totals.calls),
            Figure::percent("Successful calls", ratio(r.totals.successful_calls as f64, r.totals.calls as f64)),
            Figure::usd("Average cost per call", r.totals.cost_per_call),
            Figure::usd("Cost per 1K tokens", r.totals.cost_per_1k_tokens),
            Figure::usd("Average daily cost", r.totals.avg_daily_cost),
            Figure::count("Customers", r.totals.customers),
            Figure::count("Days", u64::from(r.totals.days)),
        ])))
        (section("Recommendations", None, recommendations(&r.recommendations)))
        (section("Daily cost", None, chart_grid(&[charts.daily, charts.stacked])))
        (section("Forecast", Some(&format!(
            "A least-squares trend plus a weekday effect (weekly seasonality) through the {} daily costs. The trend \
             is extrapolated {} days past the window (as far as the history it was fitted on), then held; every \
             forecast day is clamped at zero before days are summed. The {:.0}% interval comes from a backtest: \
             {} fits on the window's first 14 or more days, each forecasting the rest of the window, give a \
             one-day-ahead error of {}, and the error's growth with the days ahead; a total's interval adds the \
             days' errors (they share the level and trend error). The naive figure is the original's mean daily \
             cost × days.",
            f.history_days, f.trend_held_after_days, f.confidence * 100.0, f.backtest_origins,
            h::usd(f.backtest_error_sd))), html! {
            p {
                "Trend: " (h::usd(f.intercept + f.slope_per_day * f64::from(f.history_days.saturating_sub(1))))
                " per day at the end of the window (weekday effect aside), changing by " (h::usd(f.slope_per_day))
                " per day. Weekday effects, Monday first: "
                (f.weekday_effects.iter().map(|e| h::usd(*e)).collect::<Vec<_>>().join(", ")) "."
            }
            (table(&["Horizon", "Naive", "Forecast", "Low", "High"], &horizon_rows))
        }))
        (section("When the money is spent", Some("Cost by UTC hour and weekday."), chart(&charts.heatmap)))
        (section("Cost by provider", None, html! { (chart(&charts.providers)) (groups(&r.by_provider, "Provider")) }))
        (section("Cost by model", Some(&format!(
            "Most efficient: {} at {} per 1K tokens; least efficient: {} at {} ({:.1}×).",
            e.most_efficient_model, h::usd(e.most_efficient_cost_per_1k),
            e.least_efficient_model, h::usd(e.least_efficient_cost_per_1k), e.ratio)),
            html! {
                (chart(&charts.models))
                (table(&["Model", "Provider", "Calls", "Cost", "Share", "Per 1K tokens"], &model_rows))
            }))
        (section(&format!("Top {} spenders", s.top_spenders), None, html! {
            (chart(&charts.spenders))
            (table(&["#", "Customer", "Tier", "Organization", "Calls", "Cost", "Share"], &spender_rows))
        }))
        (section("Tokens by task type", Some("Successful calls only (a failed call has no output)."),
            table(&["Task", "Calls", "Avg input", "Avg output", "Output / input", "Per 1K tokens"], &task_rows)))
        (section("Cost by organization", None, groups(&r.by_organization, "Organization")))
        (section("Cost by product", None, groups(&r.by_product, "Product")))
        (section("Cost by feature", None, groups(&r.by_feature, "Feature")))
    })
}

struct Charts {
    daily: String,
    stacked: String,
    heatmap: String,
    providers: String,
    models: String,
    spenders: String,
}

/// The page's charts: pure functions of the result.
fn charts(r: &UnderstandingResult) -> Result<Charts> {
    let f = &r.forecast;
    let history: Vec<(X, f64)> = r.daily.iter().map(|d| (X::Date(d.date), d.cost_usd)).collect();
    let mut trend: Vec<(X, f64)> = r
        .daily
        .iter()
        .zip(&f.fitted)
        .map(|(d, v)| (X::Date(d.date), v.max(0.0)))
        .collect();
    trend.extend(f.next_days.iter().map(|d| (X::Date(d.date), d.expected)));
    let band: Vec<(X, f64, f64)> = f.next_days.iter().map(|d| (X::Date(d.date), d.low, d.high)).collect();
    let daily = render_line_chart(&LineChart {
        title: "Daily cost, fit and 30-day forecast".into(),
        y_label: "Cost per day".into(),
        y_unit: Unit::Dollars,
        series: vec![
            LineSeries::new("Daily cost", history),
            LineSeries::new("Fit and forecast", trend).dashed(),
        ],
        bands: vec![Band::new(format!("{:.0}% interval", f.confidence * 100.0), band)],
        ..Default::default()
    })?;
    let dates: Vec<NaiveDate> = r.daily.iter().map(|d| d.date).collect();
    let series: Vec<AreaSeries> = r
        .by_provider
        .iter()
        .map(|p| {
            let values = dates
                .iter()
                .map(|date| {
                    r.daily_by_provider
                        .iter()
                        .find(|x| x.date == *date && x.provider == p.name)
                        .map_or(0.0, |x| x.cost_usd)
                })
                .collect();
            AreaSeries::new(&p.name, values)
        })
        .collect();
    let stacked = render_stacked_area_chart(&StackedAreaChart {
        title: "Daily cost by provider".into(),
        y_label: "Cost per day".into(),
        unit: Unit::Dollars,
        dates,
        series,
        ..Default::default()
    })?;
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let heatmap = render_heatmap(&Heatmap {
        title: "Cost by hour (UTC) and weekday".into(),
        x_label: "Hour (UTC)".into(),
        y_label: "Weekday".into(),
        unit: Unit::Dollars,
        columns: (0..24).map(|hr| format!("{hr:02}")).collect(),
        rows: DAYS.iter().map(|d| d.to_string()).collect(),
        values: (1..=7)
            .map(|w| {
                (0..24)
                    .map(|hr| {
                        r.hour_weekday
                            .iter()
                            .find(|c| c.weekday == w && c.hour == hr)
                            .map_or(0.0, |c| c.cost_usd)
                    })
                    .collect()
            })
            .collect(),
        size: crate::report::chart::ChartSize::new(1200, 380),
        ..Default::default()
    })?;
    let bars = |title: &str, bars: Vec<Bar>| {
        render_bar_chart(&BarChart {
            title: title.into(),
            value_label: "Cost".into(),
            unit: Unit::Dollars,
            size: bars_size(bars.len()),
            bars,
            ..Default::default()
        })
    };
    let providers = bars(
        "Cost by provider",
        r.by_provider.iter().map(|p| Bar::new(&p.name, p.cost_usd)).collect(),
    )?;
    let models = bars(
        "Cost by model",
        r.by_model
            .iter()
            .map(|m| Bar::new(&m.cost.name, m.cost.cost_usd))
            .collect(),
    )?;
    let spenders = bars(
        "Top spenders",
        r.top_spenders
            .iter()
            .map(|c| Bar::new(format!("{} ({})", c.customer_id, c.subscription_tier), c.cost_usd))
            .collect(),
    )?;
    Ok(Charts {
        daily,
        stacked,
        heatmap,
        providers,
        models,
        spenders,
    })
}
