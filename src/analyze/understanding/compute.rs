//! The understanding queries: cost by every dimension, tokens by task, daily and hourly cost,
//! efficiency and the recommendations.

use anyhow::Result;
use chrono::NaiveDate;
use polars::prelude::*;

use super::{
    CustomerCost, DailyCost, DailyProviderCost, Efficiency, Forecast, HourWeekday, ModelCost, Summary, TaskTokens,
    UnderstandingResult, UnderstandingSettings, forecast,
};
use crate::analyze::Context;
use crate::analyze::frame::{
    CostGroup, Totals, cost_groups, cost_micros, dates, desc, ints, is_success, ratio, read_totals_by, strings,
    totals_query, usd,
};
use crate::report::html::{self as h, Recommendation, Severity};

const MODEL_KEYS: [&str; 2] = ["provider", "model"];

pub(super) fn analyze(ctx: &Context<'_>, s: &UnderstandingSettings) -> Result<UnderstandingResult> {
    // One run of every query, so the files are read once for all of them.
    let singles = ["organization_id", "product_id", "feature_id"];
    let mut plans = vec![
        totals_query(ctx, &MODEL_KEYS),
        customers_query(ctx),
        tasks_query(ctx),
        daily_query(ctx),
        hour_weekday_query(ctx),
    ];
    plans.extend(singles.iter().map(|k| totals_query(ctx, &[k])));
    let frames = ctx.collect_all(plans)?;
    let [
        models,
        customers_df,
        tasks_df,
        daily_df,
        hour_weekday_df,
        by_org,
        by_product,
        by_feature,
    ] = <[DataFrame; 8]>::try_from(frames).map_err(|f| anyhow::anyhow!("8 queries gave {} frames", f.len()))?;
    let models = read_totals_by(&models, &MODEL_KEYS)?;
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
    let single = |df: &DataFrame, key: &str| -> Result<Vec<CostGroup>> {
        let rows: Vec<(String, Totals)> = read_totals_by(df, &[key])?
            .into_iter()
            .map(|(k, t)| (k.into_iter().next().unwrap_or_default(), t))
            .collect();
        Ok(cost_groups(&rows))
    };
    let by_customer = customers(&customers_df, all.cost_micros)?;
    let (daily, daily_by_provider) = daily(ctx, &daily_df)?;
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
        by_organization: single(&by_org, singles[0])?,
        by_product: single(&by_product, singles[1])?,
        by_feature: single(&by_feature, singles[2])?,
        by_customer,
        by_task: tasks(&tasks_df)?,
        daily,
        daily_by_provider,
        hour_weekday: hour_weekday(&hour_weekday_df)?,
        forecast,
        efficiency,
        top_spenders,
        recommendations,
    })
}

fn customers_query(ctx: &Context<'_>) -> LazyFrame {
    ctx.calls().group_by([col("customer_id")]).agg([
        len().cast(DataType::Int64).alias("calls"),
        cost_micros().sum().alias("cost_micros"),
        // One tier and organization per customer (a dataset invariant); min() keeps it stable.
        col("subscription_tier").min().alias("subscription_tier"),
        col("organization_id").min().alias("organization_id"),
    ])
}

/// Every customer's cost with its tier and organization, dearest first.
fn customers(df: &DataFrame, total_micros: i64) -> Result<Vec<CustomerCost>> {
    let (ids, tiers, orgs, calls, cost) = (
        strings(df, "customer_id")?,
        strings(df, "subscription_tier")?,
        strings(df, "organization_id")?,
        ints(df, "calls")?,
        ints(df, "cost_micros")?,
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

fn tasks_query(ctx: &Context<'_>) -> LazyFrame {
    ctx.calls()
        .filter(is_success())
        .group_by([col("task_type")])
        .agg(crate::analyze::frame::totals_aggs())
}

fn tasks(df: &DataFrame) -> Result<Vec<TaskTokens>> {
    let rows = {
        let names = strings(df, "task_type")?;
        names.into_iter().zip(Totals::read(df)?).collect::<Vec<_>>()
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

fn daily_query(ctx: &Context<'_>) -> LazyFrame {
    ctx.calls()
        .group_by([col("timestamp").dt().date().alias("date"), col("provider")])
        .agg([
            len().cast(DataType::Int64).alias("calls"),
            cost_micros().sum().alias("cost_micros"),
        ])
}

/// Cost and calls of every day of the window (0 on a day without calls), in total and by provider.
fn daily(ctx: &Context<'_>, df: &DataFrame) -> Result<(Vec<DailyCost>, Vec<DailyProviderCost>)> {
    let mut by_day = std::collections::BTreeMap::<NaiveDate, (u64, i64)>::new();
    let mut by_provider = Vec::with_capacity(df.height());
    for (((date, provider), n), c) in dates(df, "date")?
        .into_iter()
        .zip(strings(df, "provider")?)
        .zip(ints(df, "calls")?)
        .zip(ints(df, "cost_micros")?)
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

fn hour_weekday_query(ctx: &Context<'_>) -> LazyFrame {
    let ts = || col("timestamp").dt();
    ctx.calls()
        .group_by([
            ts().weekday().cast(DataType::Int64).alias("weekday"),
            ts().hour().cast(DataType::Int64).alias("hour"),
        ])
        .agg([
            len().cast(DataType::Int64).alias("calls"),
            cost_micros().sum().alias("cost_micros"),
        ])
}

fn hour_weekday(df: &DataFrame) -> Result<Vec<HourWeekday>> {
    let mut grid = vec![(0u64, 0i64); 7 * 24];
    for (((w, hr), n), c) in ints(df, "weekday")?
        .into_iter()
        .zip(ints(df, "hour")?)
        .zip(ints(df, "calls")?)
        .zip(ints(df, "cost_micros")?)
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
