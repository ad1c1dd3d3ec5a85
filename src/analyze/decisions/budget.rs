//! Budgets (a customer's cost against its tier price prorated to its active days), portfolio
//! risk, inefficient call patterns and heavy callers.

use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;

use super::daily::CustomerDay;
use super::{BudgetStatus, CustomerSpend, DecisionSettings, HeavyCaller, Pattern, Portfolio};
use crate::analyze::Context;
use crate::analyze::frame::{DAYS_PER_MONTH, cost_micros, desc, ints, ratio, strings, usd};
use crate::report::html::{self as h, Severity};

pub(crate) fn budgets(days: &[CustomerDay], s: &DecisionSettings) -> Vec<BudgetStatus> {
    let mut out: Vec<BudgetStatus> = days
        .chunk_by(|a, b| a.customer == b.customer)
        .map(|g| {
            let (first, last) = (g[0].date, g[g.len() - 1].date);
            let active_days = (last - first).num_days() as u32 + 1;
            let budget = g[0].tier_price * f64::from(active_days) / DAYS_PER_MONTH;
            let cost = usd(g.iter().map(|d| d.cost_micros).sum());
            let share = ratio(cost, budget);
            let risk = if share > s.budget_critical {
                Severity::Critical
            } else if share > s.budget_high {
                Severity::High
            } else if share > s.budget_medium {
                Severity::Medium
            } else {
                Severity::Low
            };
            BudgetStatus {
                customer_id: g[0].customer.to_string(),
                subscription_tier: g[0].tier.to_string(),
                tier_price_usd: g[0].tier_price,
                first_day: first,
                last_day: last,
                active_days,
                budget_usd: budget,
                cost_usd: cost,
                budget_share: share,
                risk,
            }
        })
        .collect();
    out.sort_by(|a, b| desc(a.budget_share, b.budget_share).then_with(|| a.customer_id.cmp(&b.customer_id)));
    out
}

pub(crate) fn portfolio(budgets: &[BudgetStatus]) -> Portfolio {
    let n = |sev: Severity| budgets.iter().filter(|b| b.risk == sev).count() as u64;
    let low = n(Severity::Low);
    Portfolio {
        customers: budgets.len() as u64,
        critical: n(Severity::Critical),
        high: n(Severity::High),
        medium: n(Severity::Medium),
        low,
        health: ratio(low as f64, budgets.len() as f64),
        cost_over_budget_usd: budgets.iter().map(|b| (b.cost_usd - b.budget_usd).max(0.0)).sum(),
    }
}

/// Calls matching `filter`: their count, cost and the customers spending most on them.
fn pattern(
    ctx: &Context<'_>,
    filter: Expr,
    kind: &str,
    description: String,
    saving: f64,
    top: usize,
) -> Result<Pattern> {
    let df = ctx.collect(ctx.calls().filter(filter).group_by([col("customer_id")]).agg([
        len().cast(DataType::Int64).alias("calls"),
        cost_micros().sum().alias("cost_micros"),
    ]))?;
    let (ids, calls, cost) = (
        strings(&df, "customer_id")?,
        ints(&df, "calls")?,
        ints(&df, "cost_micros")?,
    );
    let total_micros: i64 = cost.iter().sum();
    let mut customers: Vec<CustomerSpend> = (0..df.height())
        .map(|i| CustomerSpend {
            customer_id: ids[i].clone(),
            calls: calls[i] as u64,
            cost_usd: usd(cost[i]),
        })
        .collect();
    customers.sort_by(|a, b| desc(a.cost_usd, b.cost_usd).then_with(|| a.customer_id.cmp(&b.customer_id)));
    customers.truncate(top);
    Ok(Pattern {
        kind: kind.into(),
        description,
        calls: calls.iter().sum::<i64>() as u64,
        cost_usd: usd(total_micros),
        saving_usd: usd(total_micros) * saving,
        top_customers: customers,
    })
}

pub(crate) fn patterns(ctx: &Context<'_>, s: &DecisionSettings) -> Result<Vec<Pattern>> {
    let cost = || col("cost_usd");
    let small = pattern(
        ctx,
        cost().gt(lit(s.expensive_small_call_cost)).and(
            col("total_tokens")
                .cast(DataType::Int64)
                .lt(lit(s.expensive_small_call_tokens as i64)),
        ),
        "expensive_small_calls",
        format!(
            "Calls over {} with fewer than {} tokens (a cheaper model would do; saving {})",
            h::usd(s.expensive_small_call_cost),
            s.expensive_small_call_tokens,
            h::percent(s.expensive_small_call_saving)
        ),
        s.expensive_small_call_saving,
        10,
    )?;
    let slow = pattern(
        ctx,
        col("latency_ms")
            .cast(DataType::Int64)
            .gt(lit(s.slow_expensive_call_ms as i64))
            .and(cost().gt(lit(s.slow_expensive_call_cost))),
        "slow_expensive_calls",
        format!(
            "Calls slower than {} ms costing over {} (saving {})",
            h::count(s.slow_expensive_call_ms as f64),
            h::usd(s.slow_expensive_call_cost),
            h::percent(s.slow_expensive_call_saving)
        ),
        s.slow_expensive_call_saving,
        10,
    )?;
    Ok(vec![small, slow])
}

pub(crate) fn heavy_callers(days: &[CustomerDay], s: &DecisionSettings) -> Vec<HeavyCaller> {
    let mut per: BTreeMap<&str, (u64, i64)> = BTreeMap::new();
    for d in days {
        let e = per.entry(&d.customer).or_default();
        e.0 += d.calls;
        e.1 += d.cost_micros;
    }
    let avg = ratio(per.values().map(|v| v.0 as f64).sum(), per.len() as f64);
    let mut out: Vec<HeavyCaller> = per
        .into_iter()
        .filter(|(_, v)| v.0 as f64 > s.heavy_caller_multiple * avg)
        .map(|(id, v)| HeavyCaller {
            customer_id: id.to_string(),
            calls: v.0,
            multiple: ratio(v.0 as f64, avg),
            cost_usd: usd(v.1),
        })
        .collect();
    out.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.customer_id.cmp(&b.customer_id)));
    out
}
