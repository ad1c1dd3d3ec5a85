//! Prompt caching in the calls: how much of the input the providers' prompt caches served (the
//! hit rate, by tokens) and what that saved against the same calls without caching, overall and
//! by model, task type and feature. Part of the rate-optimization page: caching is the largest
//! lever on an LLM bill, and it changes what a model switch is worth.
//!
//! The saving is priced from the catalogue: the calls that read from a cache, their tokens at
//! the full input price minus what they were billed (so with caching off it is exactly 0); it is
//! negative where cache writes (Anthropic: 1.25× input) outweigh reads.

use std::collections::BTreeMap;

use anyhow::Result;
use maud::{Markup, html};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::Context;
use super::frame::{cost_micros, desc, ints, is_success, ratio, strings, usd};
use crate::batch::calls::CACHED_INPUT_TOKENS;
use crate::report::chart::{Bar, BarChart, Unit, render_bar_chart};
use crate::report::html::{self as h, Cell, Figure, bars_size, cards, chart, section, table};
use crate::sim::calls::catalogue::Catalogue;

/// Prompt caching over the successful calls (failed calls are not billed and read no cache).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CacheUsage {
    pub calls: u64,
    /// Calls that read something from a cache.
    pub cached_calls: u64,
    pub input_tokens: i64,
    pub cached_input_tokens: i64,
    /// Share of all input tokens read from a cache.
    pub hit_rate: f64,
    /// Input tokens of calls to models with prompt caching (a `cache_read` price).
    pub caching_model_input_tokens: i64,
    /// Share of those read from a cache: the rate the providers' dashboards show.
    pub caching_model_hit_rate: f64,
    /// Share of the spend on models with prompt caching.
    pub caching_model_cost_share: f64,
    pub cost_usd: f64,
    /// The same calls with no prompt caching (every input token at the input price).
    pub uncached_cost_usd: f64,
    pub saving_usd: f64,
    /// Saving as a share of the cost without caching.
    pub saving_share: f64,
    /// By model ("model (provider)"), by task type and by feature; largest saving first.
    pub by_model: Vec<CacheGroup>,
    pub by_task: Vec<CacheGroup>,
    pub by_feature: Vec<CacheGroup>,
}

/// Prompt caching of one group of successful calls.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CacheGroup {
    pub name: String,
    pub calls: u64,
    pub cached_calls: u64,
    pub input_tokens: i64,
    pub cached_input_tokens: i64,
    pub hit_rate: f64,
    pub cost_usd: f64,
    pub uncached_cost_usd: f64,
    pub saving_usd: f64,
}

/// Sums of one (model, task, feature) cell, in exact units.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    calls: i64,
    cached_calls: i64,
    input: i64,
    cached: i64,
    output: i64,
    cost_micros: i64,
    /// What the calls that read from a cache were billed.
    cached_calls_cost_micros: i64,
    /// Their tokens at the full input and output prices, USD.
    cached_calls_repriced_usd: f64,
}

impl Sums {
    fn add(&mut self, o: &Sums) {
        self.calls += o.calls;
        self.cached_calls += o.cached_calls;
        self.input += o.input;
        self.cached += o.cached;
        self.output += o.output;
        self.cost_micros += o.cost_micros;
        self.cached_calls_cost_micros += o.cached_calls_cost_micros;
        self.cached_calls_repriced_usd += o.cached_calls_repriced_usd;
    }

    fn group(&self, name: String) -> CacheGroup {
        let cost = usd(self.cost_micros);
        let saving = self.cached_calls_repriced_usd - usd(self.cached_calls_cost_micros);
        CacheGroup {
            name,
            calls: self.calls as u64,
            cached_calls: self.cached_calls as u64,
            input_tokens: self.input,
            cached_input_tokens: self.cached,
            hit_rate: ratio(self.cached as f64, self.input as f64),
            cost_usd: cost,
            uncached_cost_usd: cost + saving,
            saving_usd: saving,
        }
    }
}

/// Prompt caching in the successful calls of `ctx`, priced with `catalogue`.
pub fn analyze(ctx: &Context<'_>, catalogue: &Catalogue) -> Result<CacheUsage> {
    let cached = || col(CACHED_INPUT_TOKENS).cast(DataType::Int64);
    // Sums over the calls that read from a cache only.
    let of_cached = |e: Expr| when(cached().gt(lit(0))).then(e).otherwise(lit(0i64)).sum();
    let keys = ["provider", "model", "task_type", "feature_id"];
    let df = ctx.collect(
        ctx.calls()
            .filter(is_success())
            .group_by(keys.map(col))
            .agg([
                len().cast(DataType::Int64).alias("calls"),
                cached().gt(lit(0)).cast(DataType::Int64).sum().alias("cached_calls"),
                col("input_tokens").cast(DataType::Int64).sum().alias("input"),
                cached().sum().alias("cached"),
                col("output_tokens").cast(DataType::Int64).sum().alias("output"),
                cost_micros().sum().alias("cost_micros"),
                of_cached(col("input_tokens").cast(DataType::Int64)).alias("cc_input"),
                of_cached(col("output_tokens").cast(DataType::Int64)).alias("cc_output"),
                of_cached(cost_micros()).alias("cc_cost_micros"),
            ])
            // Money is summed in this order below: fix it (Polars' group order is not stable).
            .sort(keys, SortMultipleOptions::default()),
    )?;
    let (providers, models, tasks, features) = (
        strings(&df, "provider")?,
        strings(&df, "model")?,
        strings(&df, "task_type")?,
        strings(&df, "feature_id")?,
    );
    let column = |name: &str| ints(&df, name);
    let (calls, cached_calls, input, cached, output, cost) = (
        column("calls")?,
        column("cached_calls")?,
        column("input")?,
        column("cached")?,
        column("output")?,
        column("cost_micros")?,
    );
    let (cc_input, cc_output, cc_cost) = (column("cc_input")?, column("cc_output")?, column("cc_cost_micros")?);
    let mut all = Sums::default();
    let mut caching_models = Sums::default();
    let mut by_model: BTreeMap<String, Sums> = BTreeMap::new();
    let mut by_task: BTreeMap<String, Sums> = BTreeMap::new();
    let mut by_feature: BTreeMap<String, Sums> = BTreeMap::new();
    for i in 0..df.height() {
        let model = catalogue.model_index(&models[i]).map(|m| &catalogue.models[m]);
        // The calls that read nothing cost what they were billed; those that read from a cache
        // are repriced at the full input price. A model the catalogue lacks claims no saving.
        let repriced = model.map_or(usd(cc_cost[i]), |m| {
            cc_input[i] as f64 * m.input_per_1k / 1000.0 + cc_output[i] as f64 * m.output_per_1k / 1000.0
        });
        let s = Sums {
            calls: calls[i],
            cached_calls: cached_calls[i],
            input: input[i],
            cached: cached[i],
            output: output[i],
            cost_micros: cost[i],
            cached_calls_cost_micros: cc_cost[i],
            cached_calls_repriced_usd: repriced,
        };
        all.add(&s);
        if model.is_some_and(|m| m.cache_read_per_1k.is_some()) {
            caching_models.add(&s);
        }
        by_model
            .entry(format!("{} ({})", models[i], providers[i]))
            .or_default()
            .add(&s);
        by_task.entry(tasks[i].clone()).or_default().add(&s);
        by_feature.entry(features[i].clone()).or_default().add(&s);
    }
    let groups = |map: BTreeMap<String, Sums>| {
        let mut out: Vec<CacheGroup> = map.into_iter().map(|(name, s)| s.group(name)).collect();
        out.sort_by(|a, b| desc(a.saving_usd, b.saving_usd).then_with(|| a.name.cmp(&b.name)));
        out
    };
    let total = all.group(String::new());
    Ok(CacheUsage {
        calls: total.calls,
        cached_calls: total.cached_calls,
        input_tokens: total.input_tokens,
        cached_input_tokens: total.cached_input_tokens,
        hit_rate: total.hit_rate,
        caching_model_input_tokens: caching_models.input,
        caching_model_hit_rate: ratio(caching_models.cached as f64, caching_models.input as f64),
        caching_model_cost_share: ratio(caching_models.cost_micros as f64, all.cost_micros as f64),
        cost_usd: total.cost_usd,
        uncached_cost_usd: total.uncached_cost_usd,
        saving_usd: total.saving_usd,
        saving_share: ratio(total.saving_usd, total.uncached_cost_usd),
        by_model: groups(by_model),
        by_task: groups(by_task),
        by_feature: groups(by_feature),
    })
}

/// The headline figures of prompt caching.
pub fn figures(c: &CacheUsage) -> Vec<Figure> {
    vec![
        Figure::percent("Input read from cache", c.hit_rate),
        Figure::percent("Hit rate on caching models", c.caching_model_hit_rate),
        Figure::usd("Prompt caching saved", c.saving_usd),
        Figure::percent("Saved of uncached cost", c.saving_share),
    ]
}

/// The page section: headline figures, savings by model, and hit rates by task and feature.
pub fn render(c: &CacheUsage) -> Result<Markup> {
    let rows = |groups: &[CacheGroup]| -> Vec<Vec<Cell>> {
        groups
            .iter()
            .map(|g| {
                vec![
                    Cell::text(&g.name),
                    Cell::count(g.calls),
                    Cell::percent(ratio(g.cached_calls as f64, g.calls as f64)),
                    Cell::percent(g.hit_rate),
                    Cell::usd(g.cost_usd),
                    Cell::usd(g.uncached_cost_usd),
                    Cell::usd(g.saving_usd),
                ]
            })
            .collect()
    };
    let headers = |first: &'static str| {
        [
            first,
            "Calls",
            "Calls reading cache",
            "Input from cache",
            "Cost",
            "Without caching",
            "Saved",
        ]
    };
    let bars: Vec<Bar> = c
        .by_model
        .iter()
        .filter(|g| g.cached_input_tokens > 0)
        .map(|g| Bar::new(&g.name, g.saving_usd))
        .collect();
    let saving_chart = (!bars.is_empty())
        .then(|| {
            render_bar_chart(&BarChart {
                title: "Saved by prompt caching, by model".into(),
                value_label: "Saved over the window".into(),
                unit: Unit::Dollars,
                size: bars_size(bars.len()),
                bars,
                ..Default::default()
            })
        })
        .transpose()?;
    let note = format!(
        "Successful calls. {} of the input tokens came from the providers' prompt caches ({} of the input of models \
         that cache, which carry {} of the spend). Without caching the same calls would have cost {}: caching saved {}. \
         A call that reads a cached prefix writes the rest of its prompt to the cache, at the write price where the \
         provider charges one (Anthropic, 1.25× input).",
        h::percent(c.hit_rate),
        h::percent(c.caching_model_hit_rate),
        h::percent(c.caching_model_cost_share),
        h::usd(c.uncached_cost_usd),
        h::usd(c.saving_usd),
    );
    Ok(section(
        "Prompt caching",
        Some(&note),
        html! {
            (cards(&figures(c)))
            @if c.cached_input_tokens == 0 {
                p.note { "No call read from a prompt cache: the traffic model's caching is off (generate with \
                          `--profile realistic` to simulate it)." }
            }
            @if let Some(svg) = &saving_chart { (chart(svg)) }
            (table(&headers("Model"), &rows(&c.by_model)))
            (table(&headers("Task type"), &rows(&c.by_task)))
            (table(&headers("Feature"), &rows(&c.by_feature)))
        },
    ))
}
