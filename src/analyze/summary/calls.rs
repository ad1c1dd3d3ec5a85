//! The calls workload's executive summary: the five figures a CFO asks for — spend, forecast,
//! margin, savings available, risks — each read from the typed result of the page that computes
//! it. This file is the only place the summary depends on those pages' result types: when a
//! page's result changes, re-point the one function here that reads it.

use anyhow::Result;

use super::{Evidence, ExecutiveSummary, SummaryItem, result_of};
use crate::analyze::Page;
use crate::analyze::abuse::AbuseResult;
use crate::analyze::churn_growth::ChurnGrowthResult;
use crate::analyze::decisions::DecisionsResult;
use crate::analyze::frame::DAYS_PER_MONTH;
use crate::analyze::profitability::ProfitabilityResult;
use crate::analyze::rate_optimization::RateResult;
use crate::analyze::understanding::UnderstandingResult;
use crate::report::html::{self as h, Figure, Severity};

/// The five items, in the order a CFO reads them.
pub fn summarize(pages: &[Page]) -> Result<ExecutiveSummary> {
    Ok(ExecutiveSummary {
        items: vec![
            spend(pages)?,
            forecast(pages)?,
            margin(pages)?,
            savings(pages)?,
            risks(pages)?,
        ],
    })
}

fn spend(pages: &[Page]) -> Result<SummaryItem> {
    const Q: &str = "What do we spend?";
    let evidence = Evidence::new(pages, "understanding", "Summary");
    let Some(r) = result_of::<UnderstandingResult>(pages, "understanding")? else {
        return Ok(SummaryItem::not_run("spend", Q, evidence));
    };
    let days = r.daily.len().max(1) as f64;
    let t = &r.totals;
    Ok(SummaryItem {
        key: "spend".into(),
        question: Q.into(),
        figure: Some(Figure::usd("Spend", t.cost_usd)),
        detail: format!(
            "Over {} days ({} a month at this rate), {} calls.",
            days,
            h::usd(t.cost_usd * DAYS_PER_MONTH / days),
            h::count(t.calls as f64)
        ),
        evidence,
    })
}

fn forecast(pages: &[Page]) -> Result<SummaryItem> {
    const Q: &str = "Where is spend heading?";
    let evidence = Evidence::new(pages, "understanding", "Forecast");
    let Some(r) = result_of::<UnderstandingResult>(pages, "understanding")? else {
        return Ok(SummaryItem::not_run("forecast", Q, evidence));
    };
    let f = &r.forecast;
    let Some(next) = f.horizons.iter().min_by_key(|h| (h.days as i64 - 30).abs()) else {
        return Ok(SummaryItem {
            detail: "No forecast horizon in the result.".into(),
            ..SummaryItem::not_run("forecast", Q, evidence)
        });
    };
    Ok(SummaryItem {
        key: "forecast".into(),
        question: Q.into(),
        figure: Some(Figure::usd(format!("Next {} days", next.days), next.expected)),
        detail: format!(
            "Expected over the next {} days, {} interval {} to {} ({}).",
            next.days,
            h::percent(f.confidence),
            h::usd(next.low),
            h::usd(next.high),
            f.method
        ),
        evidence,
    })
}

fn margin(pages: &[Page]) -> Result<SummaryItem> {
    const Q: &str = "Do we make money?";
    let evidence = Evidence::new(pages, "profitability", "Summary");
    let Some(r) = result_of::<ProfitabilityResult>(pages, "profitability")? else {
        return Ok(SummaryItem::not_run("margin", Q, evidence));
    };
    let t = &r.totals;
    Ok(SummaryItem {
        key: "margin".into(),
        question: Q.into(),
        figure: Some(Figure::percent("Margin", t.margin_pct)),
        detail: format!(
            "{} of margin on {} of revenue over {} days; {} of {} customers cost more than they pay.",
            h::usd(t.margin_usd),
            h::usd(t.revenue_usd),
            r.window_days,
            h::count(t.unprofitable_customers as f64),
            h::count(t.customers as f64)
        ),
        evidence,
    })
}

fn savings(pages: &[Page]) -> Result<SummaryItem> {
    const Q: &str = "What could we save?";
    let evidence = Evidence::new(pages, "rate_optimization", "Summary");
    let Some(r) = result_of::<RateResult>(pages, "rate_optimization")? else {
        return Ok(SummaryItem::not_run("savings", Q, evidence));
    };
    // The options overlap (a switched model is no longer reserved): the largest one alone.
    let best = r.scenarios.iter().max_by(|a, b| {
        a.monthly_saving_usd
            .total_cmp(&b.monthly_saving_usd)
            .then(b.name.cmp(&a.name))
    });
    let (amount, detail) = match best {
        Some(s) if s.monthly_saving_usd > 0.0 => (
            s.monthly_saving_usd,
            format!(
                "A month, by the largest single option: {} ({} of spend). The options overlap, so they are not added.",
                s.name,
                h::percent(s.share_of_spend)
            ),
        ),
        _ => (0.0, "No option saves money on this data.".into()),
    };
    Ok(SummaryItem {
        key: "savings".into(),
        question: Q.into(),
        figure: Some(Figure::usd("Savings / month", amount)),
        detail,
        evidence,
    })
}

fn risks(pages: &[Page]) -> Result<SummaryItem> {
    const Q: &str = "What needs attention?";
    let evidence = Evidence::new(pages, "decisions", "Alerts");
    let Some(r) = result_of::<DecisionsResult>(pages, "decisions")? else {
        return Ok(SummaryItem::not_run("risks", Q, evidence));
    };
    let urgent: Vec<_> = r
        .alerts
        .iter()
        .map(|a| &a.recommendation)
        .filter(|a| a.severity >= Severity::High)
        .collect();
    // The most at stake among the urgent alerts (all alerts when none is urgent).
    let pool = if urgent.is_empty() {
        r.alerts.iter().map(|a| &a.recommendation).collect()
    } else {
        urgent.clone()
    };
    let top = pool.iter().max_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(a.amount_usd.unwrap_or(0.0).total_cmp(&b.amount_usd.unwrap_or(0.0)))
    });
    let detail = match top {
        Some(a) => format!(
            "{} alerts, {} of them high or critical. Most at stake: {}{}.",
            h::count(r.alerts.len() as f64),
            h::count(urgent.len() as f64),
            a.title,
            a.amount_usd.map_or(String::new(), |v| format!(" ({})", h::usd(v)))
        ),
        None => "No alert fired.".into(),
    };
    let detail = [Some(detail), churn_risk(pages)?, abuse_risk(pages)?]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Ok(SummaryItem {
        key: "risks".into(),
        question: Q.into(),
        figure: Some(Figure::count("High or critical alerts", urgent.len() as u64)),
        detail,
        evidence,
    })
}

/// The churn page's risk in one sentence, when it ran and found any.
fn churn_risk(pages: &[Page]) -> Result<Option<String>> {
    let Some(r) = result_of::<ChurnGrowthResult>(pages, "churn_growth")? else {
        return Ok(None);
    };
    Ok((r.churned + r.declining_at_risk > 0).then(|| {
        format!(
            "Churn: {} customers churned and {} declining, {} of monthly revenue at risk (Churn and growth page).",
            h::count(r.churned as f64),
            h::count(r.declining_at_risk as f64),
            h::usd(r.monthly_revenue_at_risk)
        )
    }))
}

/// The abuse page's risk in one sentence, when it ran and flagged anything.
fn abuse_risk(pages: &[Page]) -> Result<Option<String>> {
    let Some(r) = result_of::<AbuseResult>(pages, "abuse")? else {
        return Ok(None);
    };
    let flagged = r.rate_limits.flagged.len() + r.off_hours.flagged.len() + r.concurrency.customers.len();
    let spikes = r.cost_spikes.material;
    Ok((flagged as u64 + spikes > 0).then(|| {
        format!(
            "Abuse: {} customers flagged (rate limits, night use, bunched calls) and {} material cost spikes, {} above \
             baseline (Abuse detection page).",
            h::count(flagged as f64),
            h::count(spikes as f64),
            h::usd(r.cost_spikes.excess_cost_usd)
        )
    }))
}
