//! The token economics queries: sums per (provider, model, task type) of the successful calls,
//! per (status, model) of the failed ones, input-token counts per task type (the oversize
//! thresholds, from counts), then the excess of the prompts above them. Every query is a
//! group-by with a small, row-independent number of groups, so it streams at any size.

use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;

use super::{
    FailureWaste, ModelTokens, Oversized, OversizedGroup, StatusWaste, TaskThreshold, TokenEconomicsResult, TokenGroup,
    TokenSettings, TokenTotals, retries,
};
use crate::analyze::Context;
use crate::analyze::frame::{DAYS_PER_MONTH, cost_micros, desc, ints, is_success, ratio, strings, usd};
use crate::analyze::stats::nearest_rank;
use crate::batch::calls::CACHED_INPUT_TOKENS;
use crate::report::html::{self as h, Recommendation, Severity};
use crate::sim::calls::catalogue::Catalogue;

/// Exact sums of a group of calls.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    calls: u64,
    input: i64,
    output: i64,
    cached: i64,
    cost_micros: i64,
}

impl Sums {
    fn add(&mut self, o: &Sums) {
        self.calls += o.calls;
        self.input += o.input;
        self.output += o.output;
        self.cached += o.cached;
        self.cost_micros += o.cost_micros;
    }

    fn tokens(&self) -> i64 {
        self.input + self.output
    }

    fn tokens_per_usd(&self) -> f64 {
        ratio(self.tokens() as f64, usd(self.cost_micros))
    }

    fn cost_per_1m(&self) -> f64 {
        ratio(usd(self.cost_micros) * 1e6, self.tokens() as f64)
    }

    fn io_ratio(&self) -> f64 {
        ratio(self.input as f64, self.output as f64)
    }

    fn group(&self, name: String) -> TokenGroup {
        TokenGroup {
            name,
            calls: self.calls,
            input_tokens: self.input,
            output_tokens: self.output,
            cost_usd: usd(self.cost_micros),
            tokens_per_usd: self.tokens_per_usd(),
            cost_per_1m_tokens: self.cost_per_1m(),
            input_output_ratio: self.io_ratio(),
        }
    }
}

fn int64(name: &str) -> Expr {
    col(name).cast(DataType::Int64)
}

/// The sums of [`Sums`] as aggregations.
fn sums_aggs() -> Vec<Expr> {
    vec![
        len().cast(DataType::Int64).alias("calls"),
        int64("input_tokens").sum().alias("input"),
        int64("output_tokens").sum().alias("output"),
        int64(CACHED_INPUT_TOKENS).sum().alias("cached"),
        cost_micros().sum().alias("cost_micros"),
    ]
}

/// Reads [`sums_aggs`]' columns, one `Sums` per row.
fn read_sums(df: &DataFrame) -> Result<Vec<Sums>> {
    let (calls, input, output, cached, cost) = (
        ints(df, "calls")?,
        ints(df, "input")?,
        ints(df, "output")?,
        ints(df, "cached")?,
        ints(df, "cost_micros")?,
    );
    Ok((0..df.height())
        .map(|i| Sums {
            calls: calls[i] as u64,
            input: input[i],
            output: output[i],
            cached: cached[i],
            cost_micros: cost[i],
        })
        .collect())
}

pub fn analyze(ctx: &Context<'_>, s: &TokenSettings) -> Result<TokenEconomicsResult> {
    let catalogue = &ctx.config.catalogue;
    let ok = ctx.calls().filter(is_success());
    let frames = ctx.collect_all(vec![
        ok.clone()
            .group_by([col("provider"), col("model"), col("task_type")])
            .agg(sums_aggs()),
        ctx.calls()
            .filter(is_success().not())
            .group_by([col("status"), col("model")])
            .agg(sums_aggs()),
        ok.clone()
            .group_by([col("task_type"), int64("input_tokens").alias("input")])
            .agg([len().cast(DataType::Int64).alias("calls")]),
    ])?;
    let [success, failed, inputs]: [DataFrame; 3] = frames
        .try_into()
        .map_err(|_| anyhow::anyhow!("expected three result frames"))?;

    let (providers, models, tasks) = (
        strings(&success, "provider")?,
        strings(&success, "model")?,
        strings(&success, "task_type")?,
    );
    let mut by_model: BTreeMap<(String, String), Sums> = BTreeMap::new();
    let mut by_task: BTreeMap<String, Sums> = BTreeMap::new();
    let mut by_task_model: BTreeMap<(String, String), Sums> = BTreeMap::new();
    let mut all = Sums::default();
    for (i, sums) in read_sums(&success)?.iter().enumerate() {
        by_model
            .entry((providers[i].clone(), models[i].clone()))
            .or_default()
            .add(sums);
        by_task.entry(tasks[i].clone()).or_default().add(sums);
        by_task_model
            .entry((tasks[i].clone(), models[i].clone()))
            .or_default()
            .add(sums);
        all.add(sums);
    }
    let failures = failure_waste(&failed, catalogue, all.calls)?;
    let thresholds = thresholds(&inputs, s.oversized_quantile)?;
    let oversized = oversized(ctx, &thresholds, s, all.calls)?;
    let retries = retries::estimate(&ctx.source.files, s.retry_window_s)?;

    let totals = TokenTotals {
        calls: all.calls + failures.calls,
        successful_calls: all.calls,
        input_tokens: all.input,
        output_tokens: all.output,
        cached_input_tokens: all.cached,
        cost_usd: usd(all.cost_micros),
        tokens_per_usd: all.tokens_per_usd(),
        cost_per_1m_tokens: all.cost_per_1m(),
        input_output_ratio: all.io_ratio(),
    };
    let mut by_model: Vec<ModelTokens> = by_model
        .into_iter()
        .map(|((provider, model), t)| model_tokens(provider, model, &t, catalogue))
        .collect();
    by_model.sort_by(|a, b| {
        (b.input_tokens + b.output_tokens)
            .cmp(&(a.input_tokens + a.output_tokens))
            .then_with(|| a.model.cmp(&b.model))
    });
    let mut by_task: Vec<TokenGroup> = by_task.into_iter().map(|(t, s)| s.group(t)).collect();
    by_tokens(&mut by_task);
    let mut by_task_model: Vec<TokenGroup> = by_task_model
        .into_iter()
        .map(|((t, m), s)| s.group(format!("{t} · {m}")))
        .collect();
    by_tokens(&mut by_task_model);

    let mut result = TokenEconomicsResult {
        window_days: ctx.window.days,
        totals,
        by_model,
        by_task,
        by_task_model,
        failures,
        oversized,
        retries,
        recommendations: Vec::new(),
    };
    result.recommendations = recommendations(&result, s);
    Ok(result)
}

/// Most tokens first, ties by name.
fn by_tokens(groups: &mut [TokenGroup]) {
    groups.sort_by(|a, b| {
        (b.input_tokens + b.output_tokens)
            .cmp(&(a.input_tokens + a.output_tokens))
            .then_with(|| a.name.cmp(&b.name))
    });
}

fn model_tokens(provider: String, model: String, t: &Sums, catalogue: &Catalogue) -> ModelTokens {
    let listed = catalogue.model_index(&model).map(|i| &catalogue.models[i]);
    let paid_input = listed.filter(|_| t.input > 0).map(|m| {
        let output_cost = t.output as f64 * m.output_per_1k / 1000.0;
        (usd(t.cost_micros) - output_cost) / t.input as f64 * 1e6
    });
    ModelTokens {
        provider,
        model,
        calls: t.calls,
        input_tokens: t.input,
        output_tokens: t.output,
        cached_input_tokens: t.cached,
        cost_usd: usd(t.cost_micros),
        tokens_per_usd: t.tokens_per_usd(),
        cost_per_1m_tokens: t.cost_per_1m(),
        list_input_per_1m: listed.map(|m| m.input_per_1k * 1000.0),
        list_output_per_1m: listed.map(|m| m.output_per_1k * 1000.0),
        paid_input_per_1m: paid_input,
        input_output_ratio: t.io_ratio(),
    }
}

/// A model's input price per token from the catalogue (0 for a model it does not list).
fn input_price(catalogue: &Catalogue, model: &str) -> f64 {
    catalogue
        .model_index(model)
        .map_or(0.0, |i| catalogue.models[i].input_per_1k / 1000.0)
}

fn failure_waste(df: &DataFrame, catalogue: &Catalogue, successes: u64) -> Result<FailureWaste> {
    let (statuses, models) = (strings(df, "status")?, strings(df, "model")?);
    let mut by_status: BTreeMap<String, (Sums, f64)> = BTreeMap::new();
    // Sorted by (status, model) so the list-price sums add in one order.
    let sums = read_sums(df)?;
    let mut order: Vec<usize> = (0..df.height()).collect();
    order.sort_by(|&a, &b| (&statuses[a], &models[a]).cmp(&(&statuses[b], &models[b])));
    for i in order {
        let e = by_status.entry(statuses[i].clone()).or_default();
        e.0.add(&sums[i]);
        e.1 += sums[i].input as f64 * input_price(catalogue, &models[i]);
    }
    let mut out = FailureWaste::default();
    let mut rows: Vec<StatusWaste> = by_status
        .into_iter()
        .map(|(status, (t, list))| {
            out.calls += t.calls;
            out.input_tokens += t.input;
            out.billed_usd += usd(t.cost_micros);
            out.input_at_list_usd += list;
            StatusWaste {
                status,
                calls: t.calls,
                input_tokens: t.input,
                billed_usd: usd(t.cost_micros),
                input_at_list_usd: list,
            }
        })
        .collect();
    rows.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.status.cmp(&b.status)));
    out.by_status = rows;
    out.share = ratio(out.calls as f64, (out.calls + successes) as f64);
    Ok(out)
}

/// Each task type's oversize threshold: the `quantile` of its successful calls' input tokens,
/// nearest rank, from the counts.
fn thresholds(df: &DataFrame, quantile: f64) -> Result<Vec<TaskThreshold>> {
    let (tasks, input, calls) = (strings(df, "task_type")?, ints(df, "input")?, ints(df, "calls")?);
    let mut counts: BTreeMap<&str, Vec<(i64, u64)>> = BTreeMap::new();
    for i in 0..df.height() {
        counts.entry(&tasks[i]).or_default().push((input[i], calls[i] as u64));
    }
    Ok(counts
        .into_iter()
        .filter_map(|(task, mut c)| {
            c.sort_unstable();
            let threshold = nearest_rank(&c, quantile)?;
            Some(TaskThreshold {
                task_type: task.to_string(),
                successful_calls: c.iter().map(|(_, n)| n).sum(),
                threshold_input_tokens: threshold,
            })
        })
        .collect())
}

/// The successful calls whose input is above their task type's threshold, and the excess.
fn oversized(ctx: &Context<'_>, thresholds: &[TaskThreshold], s: &TokenSettings, successes: u64) -> Result<Oversized> {
    let catalogue = &ctx.config.catalogue;
    let mut out = Oversized {
        quantile: s.oversized_quantile,
        thresholds: thresholds.to_vec(),
        ..Oversized::default()
    };
    if thresholds.is_empty() {
        return Ok(out);
    }
    let limits = DataFrame::new_infer_height(vec![
        Column::new(
            "task_type".into(),
            thresholds.iter().map(|t| t.task_type.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "threshold".into(),
            thresholds.iter().map(|t| t.threshold_input_tokens).collect::<Vec<_>>(),
        ),
    ])?;
    let excess = int64("input_tokens") - col("threshold");
    let df = ctx.collect(
        ctx.calls()
            .filter(is_success())
            .join(
                limits.lazy(),
                [col("task_type")],
                [col("task_type")],
                JoinArgs::new(JoinType::Inner),
            )
            .filter(excess.clone().gt(lit(0i64)))
            .group_by([col("task_type"), col("model")])
            .agg([len().cast(DataType::Int64).alias("calls"), excess.sum().alias("excess")])
            .sort(["task_type", "model"], SortMultipleOptions::default()),
    )?;
    let (tasks, models, calls, excess) = (
        strings(&df, "task_type")?,
        strings(&df, "model")?,
        ints(&df, "calls")?,
        ints(&df, "excess")?,
    );
    let mut groups: Vec<OversizedGroup> = (0..df.height())
        .map(|i| OversizedGroup {
            task_type: tasks[i].clone(),
            model: models[i].clone(),
            calls: calls[i] as u64,
            excess_input_tokens: excess[i],
            excess_cost_usd: excess[i] as f64 * input_price(catalogue, &models[i]),
        })
        .collect();
    for g in &groups {
        out.calls += g.calls;
        out.excess_input_tokens += g.excess_input_tokens;
        out.excess_cost_usd += g.excess_cost_usd;
    }
    out.share = ratio(out.calls as f64, successes as f64);
    out.monthly_excess_cost_usd = out.excess_cost_usd * DAYS_PER_MONTH / f64::from(ctx.window.days.max(1));
    groups.sort_by(|a, b| {
        desc(a.excess_cost_usd, b.excess_cost_usd).then_with(|| (&a.task_type, &a.model).cmp(&(&b.task_type, &b.model)))
    });
    out.by_task_model = groups;
    Ok(out)
}

fn recommendations(r: &TokenEconomicsResult, s: &TokenSettings) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let o = &r.oversized;
    if o.monthly_excess_cost_usd > s.min_monthly_saving
        && let Some(top) = o.by_task_model.first()
    {
        // Material (medium) when the excess is at least 1% of the spend.
        let material = o.excess_cost_usd >= 0.01 * r.totals.cost_usd;
        out.push(Recommendation {
            severity: if material { Severity::Medium } else { Severity::Low },
            title: "Trim oversized prompts".into(),
            message: format!(
                "{} successful calls ({}) sent more input than their task type's p{:.0}; the excess, {} tokens, \
                 cost {} over the window. The largest share: {} on {}.",
                h::count(o.calls as f64),
                h::percent(o.share),
                o.quantile * 100.0,
                h::count(o.excess_input_tokens as f64),
                h::usd(o.excess_cost_usd),
                top.task_type,
                top.model
            ),
            action: "Cap prompt length per task type (truncate history, summarise context) or cache the stable prefix."
                .into(),
            amount_usd: Some(o.monthly_excess_cost_usd),
        });
    }
    let f = &r.failures;
    if f.calls > 0 {
        out.push(Recommendation {
            severity: if f.share > 0.05 {
                Severity::Medium
            } else {
                Severity::Low
            },
            title: "Failed calls send prompts for nothing".into(),
            message: format!(
                "{} calls failed ({}), sending {} input tokens for no answer; they were billed {} ({} at list price \
                 if a provider bills them).",
                h::count(f.calls as f64),
                h::percent(f.share),
                h::count(f.input_tokens as f64),
                h::usd(f.billed_usd),
                h::usd(f.input_at_list_usd)
            ),
            action: "Back off on rate limits before retrying, and route around a provider while its errors last."
                .into(),
            amount_usd: (f.billed_usd > 0.0).then_some(f.billed_usd),
        });
    }
    let t = &r.retries;
    if t.estimated_retries > 0.0 && t.excess_is_significant {
        out.push(Recommendation {
            severity: Severity::Low,
            title: "Retries after failures".into(),
            message: format!(
                "About {} calls look like retries: a call with the same customer, feature and model follows a failure \
                 within {} s at {} against {} after a success.",
                h::count(t.estimated_retries),
                t.window_s,
                h::percent(t.follow_rate_after_failure),
                h::percent(t.follow_rate_after_success)
            ),
            action: "Retry with exponential backoff and jitter; do not retry a rate limit inside its reset window."
                .into(),
            amount_usd: (t.estimated_retry_cost_usd > 0.0).then_some(t.estimated_retry_cost_usd),
        });
    }
    out
}
