//! The decisions page: pure, result → markup.

use anyhow::Result;
use maud::{Markup, html};

use super::{AnomalySet, DecisionSettings, DecisionsResult};
use crate::analyze::frame::DAYS_PER_MONTH;
use crate::report::chart::{Bar, BarChart, Histogram, HistogramData, Marker, Unit, render_bar_chart, render_histogram};
use crate::report::html::{
    self as h, Cell, Figure, Recommendation, Severity, bars_size, capped_note, cards, chart_grid, recommendations,
    section, table,
};

pub(super) fn render(r: &DecisionsResult, s: &DecisionSettings) -> Result<Markup> {
    let cap = s.table_rows as usize;
    let anomaly_rows = |set: &AnomalySet| -> Vec<Vec<Cell>> {
        set.anomalies
            .iter()
            .take(cap)
            .map(|a| {
                let when = match a.hour {
                    Some(hr) => format!("{} {hr:02}:00", a.date),
                    None => a.date.to_string(),
                };
                vec![
                    Cell::text(&a.subject),
                    Cell::text(when),
                    Cell::text(a.day_kind.map_or("", |k| k.as_str())),
                    Cell::text(&a.direction),
                    Cell::usd(a.cost_usd),
                    Cell::usd(a.baseline_usd),
                    Cell::number(a.robust_z, 1),
                ]
            })
            .collect()
    };
    let anomaly_head = [
        "Subject",
        "When",
        "Day kind",
        "Direction",
        "Cost",
        "Baseline (median)",
        "Robust z",
    ];
    let burst_rows: Vec<Vec<Cell>> = r
        .bursts
        .bursts
        .iter()
        .take(cap)
        .map(|b| {
            vec![
                Cell::text(&b.customer_id),
                Cell::text(&b.start),
                Cell::count((b.end_hour - b.start_hour) as u64),
                Cell::count(b.calls),
                Cell::number(b.expected_calls, 1),
                Cell::number(b.z, 1),
                Cell::usd(b.excess_cost_usd),
            ]
        })
        .collect();
    let churned: Vec<&super::ChurnRisk> = r.churn_risks.iter().filter(|c| c.churned).collect();
    let churn_rows: Vec<Vec<Cell>> = churned
        .iter()
        .take(cap)
        .map(|c| {
            vec![
                Cell::text(&c.customer_id),
                Cell::text(&c.subscription_tier),
                Cell::text(c.last_active_day.to_string()),
                Cell::count(u64::from(c.silent_days)),
                Cell::number(c.expected_calls, 1),
                Cell::text(format!("{:.1e}", c.p_value)),
                Cell::usd(c.tier_price_usd),
            ]
        })
        .collect();
    let alerts: Vec<Recommendation> = r.alerts.iter().map(|a| a.recommendation.clone()).collect();
    let material = r
        .alerts
        .iter()
        .filter(|a| a.recommendation.severity > Severity::Low)
        .count();
    let budget_rows: Vec<Vec<Cell>> = r
        .budgets
        .iter()
        .filter(|b| b.risk != Severity::Low)
        .take(cap)
        .map(|b| {
            vec![
                Cell::text(&b.customer_id),
                Cell::text(&b.subscription_tier),
                Cell::count(u64::from(b.active_days)),
                Cell::usd(b.budget_usd),
                Cell::usd(b.cost_usd),
                Cell::percent(b.budget_share),
                Cell::text(b.risk.as_str()),
            ]
        })
        .collect();
    let at_risk = r.budgets.iter().filter(|b| b.risk != Severity::Low).count();
    let pattern_rows: Vec<Vec<Cell>> = r
        .patterns
        .iter()
        .map(|p| {
            vec![
                Cell::text(&p.description),
                Cell::count(p.calls),
                Cell::usd(p.cost_usd),
                Cell::usd(p.saving_usd),
                Cell::text(
                    p.top_customers
                        .iter()
                        .take(3)
                        .map(|c| c.customer_id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            ]
        })
        .collect();
    let heavy_rows: Vec<Vec<Cell>> = r
        .heavy_callers
        .iter()
        .take(cap)
        .map(|c| {
            vec![
                Cell::text(&c.customer_id),
                Cell::count(c.calls),
                Cell::number(c.multiple, 1),
                Cell::usd(c.cost_usd),
            ]
        })
        .collect();
    let charts = charts(r, s)?;
    let p = &r.portfolio;
    let cd = &r.customer_day_anomalies;
    let hr = &r.hourly_anomalies;
    Ok(html! {
        (section("Portfolio risk", Some(&format!(
            "Budget = the tier price prorated to the days from a customer's first to last call ({} days a month). \
             Risk: over {} of budget critical, over {} high, over {} medium, else low.",
            DAYS_PER_MONTH, h::percent(s.budget_critical), h::percent(s.budget_high), h::percent(s.budget_medium))),
            cards(&[
                Figure::count("Customers", p.customers),
                Figure::count("Critical", p.critical),
                Figure::count("High", p.high),
                Figure::count("Medium", p.medium),
                Figure::count("Low", p.low),
                Figure::percent("Portfolio health", p.health),
                Figure::usd("Cost over budget", p.cost_over_budget_usd),
            ])))
        (section("Budget use", Some("Each customer's cost as a share of its prorated plan price."), chart_grid(&charts)))
        (section("Alerts", Some(&format!(
            "Ranked by the dollars at stake relative to the customer's monthly revenue (its tier price): at least {} of it \
             critical, {} high, {} medium; under {} low whatever the share. {} of {} alerts are above low; the low ones \
             are in the JSON result.",
            h::percent(s.stake_critical), h::percent(s.stake_high), h::percent(s.stake_medium),
            h::usd(s.materiality_usd), material, alerts.len())), html! {
            (recommendations(&alerts.iter().filter(|a| a.severity > Severity::Low).take(cap).cloned().collect::<Vec<_>>()))
        }))
        (section("Hourly bursts", Some(&format!("{}. {} customers, {} customer-hours tested.",
            r.bursts.method, r.bursts.customers, h::count(r.bursts.hours_tested as f64))), html! {
            (table(&["Customer", "From (UTC)", "Hours", "Calls", "Expected", "Modified z", "Excess cost"], &burst_rows))
            (capped_note(burst_rows.len(), r.bursts.bursts.len()))
        }))
        (section("Customers gone silent", Some(&format!(
            "Each customer's series runs to the window's last day. A silence at the end is churn when its recent rate \
             (calls per working day and per day off over the {} days before it) makes no call at all less likely than {} \
             (Poisson: e^−expected).", s.churn_lookback_days, s.churn_p_value)), html! {
            (table(&["Customer", "Tier", "Last call", "Silent days", "Expected calls", "P(silence)", "Monthly revenue"], &churn_rows))
            (capped_note(churn_rows.len(), churned.len()))
        }))
        (section("Customer-day cost anomalies", Some(&format!(
            "{}. {} customer-days tested: {} spikes, {} drops; spikes cost {} above their baselines.",
            cd.method, h::count(cd.points_tested as f64), cd.spikes, cd.drops, h::usd(cd.excess_cost_usd))),
            html! {
                (table(&anomaly_head, &anomaly_rows(cd)))
                (capped_note(cap.min(cd.anomalies.len()), cd.anomalies.len()))
            }))
        (section("Hourly cost anomalies", Some(&format!(
            "{}. {} hours tested: {} spikes, {} drops.", hr.method, h::count(hr.points_tested as f64), hr.spikes, hr.drops)),
            html! {
                (table(&anomaly_head, &anomaly_rows(hr)))
                (capped_note(cap.min(hr.anomalies.len()), hr.anomalies.len()))
            }))
        (section("Customers at risk", None, html! {
            (table(&["Customer", "Tier", "Active days", "Budget", "Cost", "Of budget", "Risk"], &budget_rows))
            (capped_note(budget_rows.len(), at_risk))
        }))
        (section("Inefficient patterns", None,
            table(&["Pattern", "Calls", "Cost", "Possible saving", "Top customers"], &pattern_rows)))
        (section("Heavy callers", Some(&format!(
            "Customers with more than {}× the average calls per customer.", s.heavy_caller_multiple)),
            html! {
                (table(&["Customer", "Calls", "× average", "Cost"], &heavy_rows))
                (capped_note(heavy_rows.len(), r.heavy_callers.len()))
            }))
    })
}

fn charts(r: &DecisionsResult, s: &DecisionSettings) -> Result<Vec<String>> {
    let shares: Vec<f64> = r.budgets.iter().map(|b| b.budget_share * 100.0).collect();
    let histogram = render_histogram(&Histogram {
        title: "Customers by share of budget used".into(),
        x_label: "Cost as a share of the prorated plan price".into(),
        y_label: "Customers".into(),
        x_unit: Unit::Percent,
        y_unit: Unit::Count,
        data: HistogramData::Raw {
            values: shares,
            bins: 20,
        },
        markers: vec![
            Marker::new(s.budget_medium * 100.0, "medium"),
            Marker::new(s.budget_high * 100.0, "high"),
            Marker::new(s.budget_critical * 100.0, "critical"),
        ],
        ..Default::default()
    })?;
    let top: Vec<Bar> = r
        .budgets
        .iter()
        .take(15)
        .map(|b| {
            Bar::new(
                format!("{} ({})", b.customer_id, b.subscription_tier),
                b.budget_share * 100.0,
            )
        })
        .collect();
    let bars = render_bar_chart(&BarChart {
        title: "Highest budget use".into(),
        value_label: "Share of prorated plan price".into(),
        unit: Unit::Percent,
        size: bars_size(top.len()),
        bars: top,
        ..Default::default()
    })?;
    Ok(vec![histogram, bars])
}
