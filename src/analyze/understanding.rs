//! Analyzer 1, understanding usage and cost: where the money goes (provider, model, customer,
//! organization, product, feature), token efficiency, when it is spent (daily, hour × weekday),
//! where it is heading (30-day, 90-day and annual forecast with an interval), the top spenders,
//! and recommendations with dollar amounts.

use anyhow::Result;
use chrono::NaiveDate;
use maud::{Markup, html};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::frame::{
    CostGroup, Totals, cost_groups, cost_micros, dates, desc, ints, is_success, ratio, strings, totals_by, usd,
};
use super::{Analyzer, Columns, Context};
use crate::config::{CallsConfig, ConfigError, SettingsCheck};
use crate::report::chart::{
    AreaSeries, Band, Bar, BarChart, Heatmap, LineChart, LineSeries, StackedAreaChart, Unit, X, render_bar_chart,
    render_heatmap, render_line_chart, render_stacked_area_chart,
};
use crate::report::html::{
    self as h, Cell, Figure, Recommendation, Severity, bars_size, cards, chart, chart_grid, recommendations, section,
    table,
};

pub struct Understanding;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnderstandingSettings {
    pub top_spenders: u64,
    /// Confidence of the forecast interval: 0.8, 0.9, 0.95 or 0.99.
    pub forecast_confidence: f64,
    pub provider_concentration: f64,
    pub model_cost_ratio: f64,
    pub customer_concentration: f64,
}

/// Two-sided normal quantiles for the allowed forecast confidences.
const Z_SCORES: [(f64, f64); 4] = [(0.8, 1.2816), (0.9, 1.6449), (0.95, 1.9600), (0.99, 2.5758)];
/// Forecast horizons, days.
const HORIZONS: [u32; 3] = [30, 90, 365];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UnderstandingResult {
    pub totals: Summary,
    pub by_provider: Vec<CostGroup>,
    pub by_model: Vec<ModelCost>,
    pub by_organization: Vec<CostGroup>,
    pub by_product: Vec<CostGroup>,
    pub by_feature: Vec<CostGroup>,
    /// Every customer, dearest first.
    pub by_customer: Vec<CustomerCost>,
    pub by_task: Vec<TaskTokens>,
    pub daily: Vec<DailyCost>,
    pub daily_by_provider: Vec<DailyProviderCost>,
    /// All 7 × 24 cells, Monday = 1, UTC hours.
    pub hour_weekday: Vec<HourWeekday>,
    pub forecast: Forecast,
    pub efficiency: Efficiency,
    pub top_spenders: Vec<CustomerCost>,
    pub recommendations: Vec<Recommendation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub calls: u64,
    pub successful_calls: u64,
    pub cost_usd: f64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_tokens: i64,
    pub cost_per_call: f64,
    /// Over all tokens of all calls.
    pub cost_per_1k_tokens: f64,
    pub customers: u64,
    pub days: u32,
    pub avg_daily_cost: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelCost {
    pub provider: String,
    #[serde(flatten)]
    pub cost: CostGroup,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CustomerCost {
    pub customer_id: String,
    pub subscription_tier: String,
    pub organization_id: String,
    pub calls: u64,
    pub cost_usd: f64,
    pub cost_share: f64,
}

/// Token use of successful calls by task type.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskTokens {
    pub task_type: String,
    pub successful_calls: u64,
    pub avg_input_tokens: f64,
    pub avg_output_tokens: f64,
    /// Output tokens per input token.
    pub output_per_input: f64,
    pub cost_usd: f64,
    pub cost_per_1k_tokens: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DailyCost {
    pub date: NaiveDate,
    pub calls: u64,
    pub cost_usd: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DailyProviderCost {
    pub date: NaiveDate,
    pub provider: String,
    pub cost_usd: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HourWeekday {
    /// ISO weekday, Monday = 1.
    pub weekday: u32,
    /// UTC hour.
    pub hour: u32,
    pub calls: u64,
    pub cost_usd: f64,
}

/// A linear trend through the daily cost, with a prediction interval.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Forecast {
    pub method: String,
    pub history_days: u32,
    pub mean_daily_cost: f64,
    /// The original showcase's projection: mean daily cost × 30.
    pub naive_30_day_cost: f64,
    /// Fitted daily cost on the first day of the window.
    pub intercept: f64,
    /// Change of the daily cost per day.
    pub slope_per_day: f64,
    /// Standard deviation of the daily residuals.
    pub residual_sd: f64,
    pub confidence: f64,
    pub horizons: Vec<Horizon>,
    /// The next 30 days, one by one (for the chart).
    pub next_days: Vec<ForecastDay>,
}

/// Total cost over the `days` after the window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Horizon {
    pub days: u32,
    /// Mean daily cost × days.
    pub naive: f64,
    /// Sum of the trend over the horizon.
    pub expected: f64,
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ForecastDay {
    pub date: NaiveDate,
    pub expected: f64,
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Efficiency {
    pub cost_per_1k_tokens: f64,
    pub most_efficient_model: String,
    pub most_efficient_cost_per_1k: f64,
    pub least_efficient_model: String,
    pub least_efficient_cost_per_1k: f64,
    /// Least efficient ÷ most efficient.
    pub ratio: f64,
}

impl Analyzer for Understanding {
    const NAME: &'static str = "understanding";
    const TITLE: &'static str = "Understanding usage & cost";
    const SUMMARY: &'static str = "Where the money goes, when it is spent, where it is heading, and who spends it.";
    type Settings = UnderstandingSettings;
    type Output = UnderstandingResult;
    const COLUMNS: Columns = Columns::Only(&[
        "timestamp",
        "provider",
        "model",
        "customer_id",
        "subscription_tier",
        "organization_id",
        "product_id",
        "feature_id",
        "task_type",
        "status",
        "cost_usd",
        "input_tokens",
        "output_tokens",
        "latency_ms",
    ]);

    fn check(s: &UnderstandingSettings, c: SettingsCheck<'_>, _: &CallsConfig) -> Result<(), ConfigError> {
        c.count("top_spenders", s.top_spenders, 1, 1000)?;
        if z_score(s.forecast_confidence).is_none() {
            return Err(c.invalid(
                "forecast_confidence",
                format!("{} is not allowed: one of 0.8, 0.9, 0.95, 0.99", s.forecast_confidence),
            ));
        }
        c.fraction("provider_concentration", s.provider_concentration)?;
        c.range("model_cost_ratio", s.model_cost_ratio, 1.0, 1e6)?;
        c.fraction("customer_concentration", s.customer_concentration)
    }

    fn analyze(ctx: &Context<'_>, s: &UnderstandingSettings) -> Result<UnderstandingResult> {
        let models = totals_by(ctx, &["provider", "model"])?;
        let mut all = Totals::default();
        models.iter().for_each(|(_, t)| all.add(t));
        let mut providers: Vec<(String, Totals)> = Vec::new();
        for (k, t) in &models {
            match providers.last_mut() {
                Some((p, acc)) if *p == k[0] => acc.add(t),
                _ => providers.push((k[0].clone(), *t)),
            }
        }
        let by_model: Vec<ModelCost> = {
            let mut v: Vec<ModelCost> = models
                .iter()
                .map(|(k, t)| ModelCost {
                    provider: k[0].clone(),
                    cost: CostGroup::new(&k[1], t, all.cost_micros),
                })
                .collect();
            v.sort_by(|a, b| desc(a.cost.cost_usd, b.cost.cost_usd).then_with(|| a.cost.name.cmp(&b.cost.name)));
            v
        };
        let single = |key: &str| -> Result<Vec<CostGroup>> {
            let rows: Vec<(String, Totals)> = totals_by(ctx, &[key])?
                .into_iter()
                .map(|(k, t)| (k.into_iter().next().unwrap_or_default(), t))
                .collect();
            Ok(cost_groups(&rows))
        };
        let by_customer = customers(ctx, all.cost_micros)?;
        let (daily, daily_by_provider) = daily(ctx)?;
        let summary = Summary {
            calls: all.calls,
            successful_calls: all.successes,
            cost_usd: all.cost_usd(),
            input_tokens: all.input_tokens,
            output_tokens: all.output_tokens,
            total_tokens: all.tokens(),
            cost_per_call: all.cost_per_call(),
            cost_per_1k_tokens: all.cost_per_1k_tokens(),
            customers: by_customer.len() as u64,
            days: ctx.window.days,
            avg_daily_cost: all.cost_usd() / f64::from(ctx.window.days.max(1)),
        };
        let efficiency = efficiency(&by_model, summary.cost_per_1k_tokens);
        let forecast = forecast(&daily, s.forecast_confidence);
        let top_spenders: Vec<CustomerCost> = by_customer.iter().take(s.top_spenders as usize).cloned().collect();
        let by_provider = cost_groups(&providers);
        let recommendations = recommend(
            s,
            &summary,
            &by_provider,
            &by_model,
            &efficiency,
            &by_customer,
            &forecast,
        );
        Ok(UnderstandingResult {
            totals: summary,
            by_provider,
            by_model,
            by_organization: single("organization_id")?,
            by_product: single("product_id")?,
            by_feature: single("feature_id")?,
            by_customer,
            by_task: tasks(ctx)?,
            daily,
            daily_by_provider,
            hour_weekday: hour_weekday(ctx)?,
            forecast,
            efficiency,
            top_spenders,
            recommendations,
        })
    }

    fn headline(r: &UnderstandingResult) -> Vec<Figure> {
        let h30 = r.forecast.horizons.first();
        vec![
            Figure::usd("Total cost", r.totals.cost_usd),
            Figure::count("Calls", r.totals.calls),
            Figure::usd("Cost per 1K tokens", r.totals.cost_per_1k_tokens),
            Figure::usd("30-day forecast", h30.map_or(0.0, |h| h.expected)),
        ]
    }

    fn render(r: &UnderstandingResult, s: &UnderstandingSettings) -> Result<Markup> {
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
                "A least-squares line through the {} daily costs; the interval is a {:.0}% prediction interval from the \
                 spread of the days around the line (weekends included). The naive figure is the original's mean daily cost × days.",
                f.history_days, f.confidence * 100.0)), html! {
                p {
                    "Trend: " (h::usd(f.intercept + f.slope_per_day * f64::from(f.history_days.saturating_sub(1))))
                    " per day at the end of the window, changing by " (h::usd(f.slope_per_day)) " per day."
                }
                (table(&["Horizon", "Naive", "Trend", "Low", "High"], &horizon_rows))
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
    let trend_at = |t: f64| (f.intercept + f.slope_per_day * t).max(0.0);
    let mut trend: Vec<(X, f64)> = r
        .daily
        .iter()
        .enumerate()
        .map(|(i, d)| (X::Date(d.date), trend_at(i as f64)))
        .collect();
    trend.extend(f.next_days.iter().map(|d| (X::Date(d.date), d.expected)));
    let band: Vec<(X, f64, f64)> = f.next_days.iter().map(|d| (X::Date(d.date), d.low, d.high)).collect();
    let daily = render_line_chart(&LineChart {
        title: "Daily cost, trend and 30-day forecast".into(),
        y_label: "Cost per day".into(),
        y_unit: Unit::Dollars,
        series: vec![
            LineSeries::new("Daily cost", history),
            LineSeries::new("Trend and forecast", trend).dashed(),
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

fn z_score(confidence: f64) -> Option<f64> {
    Z_SCORES
        .iter()
        .find(|(c, _)| (c - confidence).abs() < 1e-9)
        .map(|(_, z)| *z)
}

/// Every customer's cost with its tier and organization, dearest first.
fn customers(ctx: &Context<'_>, total_micros: i64) -> Result<Vec<CustomerCost>> {
    let df = ctx.collect(ctx.calls().group_by([col("customer_id")]).agg([
        len().cast(DataType::Int64).alias("calls"),
        cost_micros().sum().alias("cost_micros"),
        // One tier and organization per customer (a dataset invariant); min() keeps it stable.
        col("subscription_tier").min().alias("subscription_tier"),
        col("organization_id").min().alias("organization_id"),
    ]))?;
    let (ids, tiers, orgs, calls, cost) = (
        strings(&df, "customer_id")?,
        strings(&df, "subscription_tier")?,
        strings(&df, "organization_id")?,
        ints(&df, "calls")?,
        ints(&df, "cost_micros")?,
    );
    let mut out: Vec<CustomerCost> = (0..df.height())
        .map(|i| CustomerCost {
            customer_id: ids[i].clone(),
            subscription_tier: tiers[i].clone(),
            organization_id: orgs[i].clone(),
            calls: calls[i] as u64,
            cost_usd: usd(cost[i]),
            cost_share: ratio(cost[i] as f64, total_micros as f64),
        })
        .collect();
    out.sort_by(|a, b| desc(a.cost_usd, b.cost_usd).then_with(|| a.customer_id.cmp(&b.customer_id)));
    Ok(out)
}

fn tasks(ctx: &Context<'_>) -> Result<Vec<TaskTokens>> {
    let rows = {
        let df = ctx.collect(
            ctx.calls()
                .filter(is_success())
                .group_by([col("task_type")])
                .agg(super::frame::totals_aggs()),
        )?;
        let names = strings(&df, "task_type")?;
        names.into_iter().zip(Totals::read(&df)?).collect::<Vec<_>>()
    };
    let mut out: Vec<TaskTokens> = rows
        .iter()
        .map(|(name, t)| TaskTokens {
            task_type: name.clone(),
            successful_calls: t.calls,
            avg_input_tokens: ratio(t.input_tokens as f64, t.calls as f64),
            avg_output_tokens: ratio(t.output_tokens as f64, t.calls as f64),
            output_per_input: ratio(t.output_tokens as f64, t.input_tokens as f64),
            cost_usd: t.cost_usd(),
            cost_per_1k_tokens: t.cost_per_1k_tokens(),
        })
        .collect();
    out.sort_by(|a, b| a.task_type.cmp(&b.task_type));
    Ok(out)
}

/// Cost and calls of every day of the window (0 on a day without calls), in total and by provider.
fn daily(ctx: &Context<'_>) -> Result<(Vec<DailyCost>, Vec<DailyProviderCost>)> {
    let df = ctx.collect(
        ctx.calls()
            .group_by([col("timestamp").dt().date().alias("date"), col("provider")])
            .agg([
                len().cast(DataType::Int64).alias("calls"),
                cost_micros().sum().alias("cost_micros"),
            ]),
    )?;
    let mut by_day = std::collections::BTreeMap::<NaiveDate, (u64, i64)>::new();
    let mut by_provider = Vec::with_capacity(df.height());
    for (((date, provider), n), c) in dates(&df, "date")?
        .into_iter()
        .zip(strings(&df, "provider")?)
        .zip(ints(&df, "calls")?)
        .zip(ints(&df, "cost_micros")?)
    {
        let day = by_day.entry(date).or_default();
        day.0 += n as u64;
        day.1 += c;
        by_provider.push(DailyProviderCost {
            date,
            provider,
            cost_usd: usd(c),
        });
    }
    by_provider.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.provider.cmp(&b.provider)));
    let daily = ctx
        .window
        .each_day()
        .map(|date| {
            let (calls, micros) = by_day.get(&date).copied().unwrap_or((0, 0));
            DailyCost {
                date,
                calls,
                cost_usd: usd(micros),
            }
        })
        .collect();
    Ok((daily, by_provider))
}

fn hour_weekday(ctx: &Context<'_>) -> Result<Vec<HourWeekday>> {
    let ts = || col("timestamp").dt();
    let df = ctx.collect(
        ctx.calls()
            .group_by([
                ts().weekday().cast(DataType::Int64).alias("weekday"),
                ts().hour().cast(DataType::Int64).alias("hour"),
            ])
            .agg([
                len().cast(DataType::Int64).alias("calls"),
                cost_micros().sum().alias("cost_micros"),
            ]),
    )?;
    let mut grid = vec![(0u64, 0i64); 7 * 24];
    for (((w, hr), n), c) in ints(&df, "weekday")?
        .into_iter()
        .zip(ints(&df, "hour")?)
        .zip(ints(&df, "calls")?)
        .zip(ints(&df, "cost_micros")?)
    {
        if (1..=7).contains(&w) && (0..24).contains(&hr) {
            grid[((w - 1) * 24 + hr) as usize] = (n as u64, c);
        }
    }
    Ok(grid
        .into_iter()
        .enumerate()
        .map(|(i, (calls, c))| HourWeekday {
            weekday: i as u32 / 24 + 1,
            hour: i as u32 % 24,
            calls,
            cost_usd: usd(c),
        })
        .collect())
}

fn efficiency(models: &[ModelCost], overall: f64) -> Efficiency {
    let priced: Vec<&ModelCost> = models
        .iter()
        .filter(|m| m.cost.input_tokens + m.cost.output_tokens > 0 && m.cost.cost_usd > 0.0)
        .collect();
    let cmp = |a: &&&ModelCost, b: &&&ModelCost| {
        a.cost
            .cost_per_1k_tokens
            .total_cmp(&b.cost.cost_per_1k_tokens)
            .then_with(|| a.cost.name.cmp(&b.cost.name))
    };
    let best = priced.iter().min_by(cmp).copied();
    let worst = priced.iter().max_by(cmp).copied();
    let name = |m: Option<&ModelCost>| m.map_or(String::new(), |m| m.cost.name.clone());
    let cpk = |m: Option<&ModelCost>| m.map_or(0.0, |m| m.cost.cost_per_1k_tokens);
    Efficiency {
        cost_per_1k_tokens: overall,
        most_efficient_model: name(best),
        most_efficient_cost_per_1k: cpk(best),
        least_efficient_model: name(worst),
        least_efficient_cost_per_1k: cpk(worst),
        ratio: ratio(cpk(worst), cpk(best)),
    }
}

/// Least-squares line through the daily costs, with prediction intervals for the next days and
/// for horizon totals: var = σ²·(H + H²/n + H²·(t̄_H − x̄)²/Sxx) for a sum over H future days.
pub fn forecast(daily: &[DailyCost], confidence: f64) -> Forecast {
    let n = daily.len();
    let y: Vec<f64> = daily.iter().map(|d| d.cost_usd).collect();
    let nf = n as f64;
    let mean_y = if n == 0 { 0.0 } else { y.iter().sum::<f64>() / nf };
    let mean_x = (nf - 1.0) / 2.0;
    let sxx: f64 = (0..n).map(|i| (i as f64 - mean_x).powi(2)).sum();
    let sxy: f64 = (0..n).map(|i| (i as f64 - mean_x) * (y[i] - mean_y)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let intercept = mean_y - slope * mean_x;
    let ssr: f64 = (0..n).map(|i| (y[i] - intercept - slope * i as f64).powi(2)).sum();
    let sd = if n > 2 { (ssr / (nf - 2.0)).sqrt() } else { 0.0 };
    let z = z_score(confidence).unwrap_or(1.6449);
    let leverage = |t: f64| if sxx > 0.0 { (t - mean_x).powi(2) / sxx } else { 0.0 };
    let last = daily.last().map(|d| d.date);
    let next_days = (0..30)
        .filter_map(|k| {
            let date = last?.checked_add_days(chrono::Days::new(k + 1))?;
            let t = nf + k as f64;
            let expected = intercept + slope * t;
            let half = z * sd * (1.0 + 1.0 / nf.max(1.0) + leverage(t)).sqrt();
            Some(ForecastDay {
                date,
                expected: expected.max(0.0),
                low: (expected - half).max(0.0),
                high: (expected + half).max(0.0),
            })
        })
        .collect();
    let horizons = HORIZONS
        .iter()
        .map(|&days| {
            let hf = f64::from(days);
            let mean_t = nf + (hf - 1.0) / 2.0;
            let expected = hf * (intercept + slope * mean_t);
            let var = sd * sd * (hf + hf * hf / nf.max(1.0) + hf * hf * leverage(mean_t));
            let half = z * var.sqrt();
            Horizon {
                days,
                naive: mean_y * hf,
                expected: expected.max(0.0),
                low: (expected - half).max(0.0),
                high: (expected + half).max(0.0),
            }
        })
        .collect();
    Forecast {
        method: "least-squares linear trend of daily cost; normal prediction interval from the residuals".into(),
        history_days: n as u32,
        mean_daily_cost: mean_y,
        naive_30_day_cost: mean_y * 30.0,
        intercept,
        slope_per_day: slope,
        residual_sd: sd,
        confidence,
        horizons,
        next_days,
    }
}

fn recommend(
    s: &UnderstandingSettings,
    totals: &Summary,
    providers: &[CostGroup],
    models: &[ModelCost],
    e: &Efficiency,
    customers: &[CustomerCost],
    f: &Forecast,
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    if let Some(top) = providers.first().filter(|p| p.cost_share > s.provider_concentration) {
        out.push(Recommendation {
            severity: Severity::High,
            title: "Diversify providers".into(),
            message: format!(
                "{} carries {} of the cost ({}), above the {} threshold.",
                top.name,
                h::percent(top.cost_share),
                h::usd(top.cost_usd),
                h::percent(s.provider_concentration)
            ),
            action: format!(
                "Move workloads that other providers serve at the same task to them, to cut the dependence on {}.",
                top.name
            ),
            amount_usd: Some(top.cost_usd),
        });
    }
    if e.ratio > s.model_cost_ratio
        && let Some(worst) = models.iter().find(|m| m.cost.name == e.least_efficient_model)
    {
        let tokens = (worst.cost.input_tokens + worst.cost.output_tokens) as f64;
        let saving = (worst.cost.cost_usd - tokens * totals.cost_per_1k_tokens / 1000.0).max(0.0);
        out.push(Recommendation {
            severity: Severity::Medium,
            title: "Consider switching models".into(),
            message: format!(
                "{} costs {} per 1K tokens, {:.1}× {} ({}). Its calls cost {}; at the fleet's average rate of {} \
                 per 1K tokens they would cost {} less.",
                worst.cost.name,
                h::usd(e.least_efficient_cost_per_1k),
                e.ratio,
                e.most_efficient_model,
                h::usd(e.most_efficient_cost_per_1k),
                h::usd(worst.cost.cost_usd),
                h::usd(totals.cost_per_1k_tokens),
                h::usd(saving)
            ),
            action: format!(
                "Review the workloads on {}; the rate optimization report lists same-task switches with their savings.",
                worst.cost.name
            ),
            amount_usd: Some(saving),
        });
    }
    let top5: Vec<&CustomerCost> = customers.iter().take(5).collect();
    let top5_share: f64 = top5.iter().map(|c| c.cost_share).sum();
    if top5_share > s.customer_concentration {
        let cost: f64 = top5.iter().map(|c| c.cost_usd).sum();
        out.push(Recommendation {
            severity: Severity::Medium,
            title: "Introduce usage-based pricing".into(),
            message: format!(
                "The top 5 customers ({}) carry {} of the cost ({}).",
                top5.iter()
                    .map(|c| c.customer_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                h::percent(top5_share),
                h::usd(cost)
            ),
            action: "Price heavy usage by volume (see the pricing strategy report) so revenue follows cost.".into(),
            amount_usd: Some(cost),
        });
    }
    if let Some(h30) = f.horizons.first() {
        out.push(Recommendation {
            severity: Severity::Info,
            title: "Budget the next 30 days".into(),
            message: format!(
                "The trend projects {} for the next 30 days ({:.0}% interval {} – {}); the naive projection is {}.",
                h::usd(h30.expected),
                f.confidence * 100.0,
                h::usd(h30.low),
                h::usd(h30.high),
                h::usd(h30.naive)
            ),
            action: "Set the monthly AI budget and alerts from the upper end of the interval.".into(),
            amount_usd: Some(h30.expected),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(costs: &[f64]) -> Vec<DailyCost> {
        let d0 = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        costs
            .iter()
            .enumerate()
            .map(|(i, &c)| DailyCost {
                date: d0 + chrono::Days::new(i as u64),
                calls: 1,
                cost_usd: c,
            })
            .collect()
    }

    #[test]
    fn a_straight_line_forecasts_exactly() {
        let f = forecast(&days(&[10.0, 12.0, 14.0, 16.0]), 0.9);
        assert!((f.slope_per_day - 2.0).abs() < 1e-12);
        assert!((f.intercept - 10.0).abs() < 1e-12);
        assert!(f.residual_sd.abs() < 1e-12);
        // Next 30 days: 18, 20, …, 76 → sum = 30 × (18 + 76) / 2.
        let h30 = &f.horizons[0];
        assert!((h30.expected - 1410.0).abs() < 1e-9, "{h30:?}");
        assert_eq!(h30.low, h30.high);
        assert!((f.naive_30_day_cost - 13.0 * 30.0).abs() < 1e-9);
        assert_eq!(f.next_days[0].date, NaiveDate::from_ymd_opt(2025, 1, 5).unwrap());
        assert!((f.next_days[0].expected - 18.0).abs() < 1e-9);
    }

    #[test]
    fn noise_widens_the_interval_with_the_horizon() {
        let f = forecast(&days(&[10.0, 14.0, 9.0, 15.0, 11.0, 13.0]), 0.95);
        assert!(f.residual_sd > 0.0);
        let widths: Vec<f64> = f.horizons.iter().map(|h| h.high - h.low).collect();
        assert!(widths[0] < widths[1] && widths[1] < widths[2], "{widths:?}");
        for h in &f.horizons {
            assert!(h.low <= h.expected && h.expected <= h.high);
        }
    }
}
