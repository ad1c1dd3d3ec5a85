//! Analyzer 4, rate optimization: which model switches save money (same task type, a cheaper model of
//! the same quality class, repriced from the catalogue on the calls' own tokens), reserved
//! capacity and volume-discount scenarios, provider arbitrage per task type, and what prompt
//! caching served and saved ([`super::caching`]).
//!
//! Every model and price comes from the catalogue (`config/catalogue.toml`); the quality classes
//! in `analysis.toml` may name only catalogue models, so no switch can point at a model that
//! does not exist (the original suggested `gpt-4-32k` and `gemini-pro-1.5`).

use std::collections::BTreeMap;

use anyhow::Result;
use maud::{Markup, html};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::caching::{self, CacheUsage};
use super::frame::{DAYS_PER_MONTH, Totals, desc, ints, is_success, ratio, strings, totals_aggs};
use super::{Analyzer, Columns, Context};
use crate::batch::calls::CACHED_INPUT_TOKENS;
use crate::config::{CallsConfig, ConfigError, SettingsCheck};
use crate::report::chart::{Bar, BarChart, ChartSize, Heatmap, Unit, render_bar_chart, render_heatmap};
use crate::report::html::{
    self as h, Cell, Figure, Recommendation, Severity, bars_size, capped_note, cards, chart, recommendations, section,
    table,
};
use crate::sim::calls::catalogue::Catalogue;

pub struct RateOptimization;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateSettings {
    pub reserved_min_spend: f64,
    pub reserved_saving: f64,
    pub volume_discounts: Vec<VolumeTier>,
    pub min_switch_saving: f64,
    pub top_switches: u64,
    /// Class name → catalogue models. A model is switched only to a cheaper one of its class.
    pub quality_classes: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VolumeTier {
    pub min_spend: f64,
    pub discount: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RateResult {
    pub window_days: u32,
    pub cost_usd: f64,
    /// The window's cost scaled to 30 days.
    pub monthly_cost_usd: f64,
    /// The best switch for each (task type, model), largest saving first.
    pub switches: Vec<Switch>,
    /// Savings of the switches summed per (from, to) model pair.
    pub switch_matrix: Vec<MatrixCell>,
    pub reserved: Vec<ReservedCandidate>,
    pub volume_discount: VolumeDiscount,
    pub arbitrage: Vec<Arbitrage>,
    /// The options side by side, as monthly savings (they overlap: do not add them up).
    pub scenarios: Vec<SavingScenario>,
    /// Catalogue models in no quality class (never switched from or to).
    pub unclassified_models: Vec<String>,
    /// What the providers' prompt caches served and saved.
    pub caching: CacheUsage,
    pub recommendations: Vec<Recommendation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Switch {
    pub task_type: String,
    pub quality_class: String,
    pub from_model: String,
    pub from_provider: String,
    pub to_model: String,
    pub to_provider: String,
    pub calls: u64,
    pub cost_usd: f64,
    /// The same successful calls' tokens at the target's catalogue prices.
    pub cost_after_usd: f64,
    pub saving_usd: f64,
    pub saving_share: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MatrixCell {
    pub from_model: String,
    pub to_model: String,
    pub saving_usd: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReservedCandidate {
    pub model: String,
    pub provider: String,
    pub monthly_spend_usd: f64,
    pub monthly_saving_usd: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VolumeDiscount {
    pub monthly_spend_usd: f64,
    /// The highest tier reached, if any.
    pub tier: Option<VolumeTier>,
    pub monthly_saving_usd: f64,
    /// Spend still needed to reach the next tier, if there is one.
    pub next_tier: Option<VolumeTier>,
    pub to_next_tier_usd: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Arbitrage {
    pub task_type: String,
    pub cheapest_provider: String,
    /// The cheapest provider's cost per 1K tokens on this task (its actual model mix).
    pub cheapest_cost_per_1k: f64,
    pub cost_usd: f64,
    /// All of the task's tokens at the cheapest provider's rate.
    pub cost_at_cheapest_usd: f64,
    pub saving_usd: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SavingScenario {
    pub name: String,
    pub description: String,
    pub monthly_saving_usd: f64,
    pub share_of_spend: f64,
}

impl Analyzer for RateOptimization {
    const NAME: &'static str = "rate_optimization";
    const TITLE: &'static str = "Rate optimization";
    const SUMMARY: &'static str =
        "Model switches with their savings, reserved capacity, volume discounts and provider arbitrage.";
    type Settings = RateSettings;
    type Output = RateResult;
    const COLUMNS: Columns = Columns::Only(&[
        "provider",
        "model",
        "task_type",
        "feature_id",
        "status",
        "cost_usd",
        "input_tokens",
        "output_tokens",
        "latency_ms",
        "cached_input_tokens",
    ]);

    fn check(s: &RateSettings, c: SettingsCheck<'_>, config: &CallsConfig) -> Result<(), ConfigError> {
        c.range("reserved_min_spend", s.reserved_min_spend, 0.0, 1e12)?;
        c.fraction("reserved_saving", s.reserved_saving)?;
        let spends: Vec<f64> = s.volume_discounts.iter().map(|t| t.min_spend).collect();
        c.increasing("volume_discounts", &spends)?;
        for (i, t) in s.volume_discounts.iter().enumerate() {
            c.range(&format!("volume_discounts[{i}].min_spend"), t.min_spend, 0.0, 1e12)?;
            c.fraction(&format!("volume_discounts[{i}].discount"), t.discount)?;
        }
        c.fraction("min_switch_saving", s.min_switch_saving)?;
        c.count("top_switches", s.top_switches, 1, 10_000)?;
        let catalogue = &config.catalogue;
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for (class, models) in &s.quality_classes {
            for m in models {
                if catalogue.model_index(m).is_none() {
                    return Err(c.invalid(
                        &format!("quality_classes.{class}"),
                        format!(
                            "unknown model `{m}`: allowed are the catalogue's models: {}",
                            catalogue
                                .models
                                .iter()
                                .map(|m| m.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
                if let Some(other) = seen.insert(m, class) {
                    return Err(c.invalid(
                        &format!("quality_classes.{class}"),
                        format!("model `{m}` is already in class `{other}`: a model belongs to one class"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn analyze(ctx: &Context<'_>, s: &RateSettings) -> Result<RateResult> {
        let catalogue = &ctx.config.catalogue;
        // Successful calls only: a failed call is not billed and has no output to reprice.
        let mut aggs = totals_aggs();
        aggs.push(col(CACHED_INPUT_TOKENS).cast(DataType::Int64).sum().alias("cached"));
        let df = ctx.collect(
            ctx.calls()
                .filter(is_success())
                .group_by([col("task_type"), col("provider"), col("model")])
                .agg(aggs),
        )?;
        let cached = ints(&df, "cached")?;
        let (tasks, providers, models) = (
            strings(&df, "task_type")?,
            strings(&df, "provider")?,
            strings(&df, "model")?,
        );
        let mut rows: Vec<Usage> = Totals::read(&df)?
            .into_iter()
            .enumerate()
            .map(|(i, t)| Usage {
                task: tasks[i].clone(),
                provider: providers[i].clone(),
                model: models[i].clone(),
                t,
                cached: cached[i],
            })
            .collect();
        rows.sort_by(|a, b| (&a.task, &a.provider, &a.model).cmp(&(&b.task, &b.provider, &b.model)));
        let mut all = Totals::default();
        rows.iter().for_each(|r| all.add(&r.t));
        let monthly_factor = DAYS_PER_MONTH / f64::from(ctx.window.days.max(1));
        let cost = all.cost_usd();
        let monthly_cost = cost * monthly_factor;

        let class_of: BTreeMap<&str, &str> = s
            .quality_classes
            .iter()
            .flat_map(|(c, ms)| ms.iter().map(move |m| (m.as_str(), c.as_str())))
            .collect();
        let switches = switches(&rows, catalogue, &class_of, s.min_switch_saving);
        let mut matrix: BTreeMap<(String, String), f64> = BTreeMap::new();
        for sw in &switches {
            *matrix.entry((sw.from_model.clone(), sw.to_model.clone())).or_default() += sw.saving_usd;
        }
        let mut switch_matrix: Vec<MatrixCell> = matrix
            .into_iter()
            .map(|((from_model, to_model), saving_usd)| MatrixCell {
                from_model,
                to_model,
                saving_usd,
            })
            .collect();
        switch_matrix.sort_by(|a, b| desc(a.saving_usd, b.saving_usd).then_with(|| a.from_model.cmp(&b.from_model)));

        let reserved = reserved(&rows, s, monthly_factor);
        let volume_discount = volume(monthly_cost, &s.volume_discounts);
        let arbitrage = arbitrage(&rows);
        let switch_saving: f64 = switches.iter().map(|x| x.saving_usd).sum();
        let reserved_saving: f64 = reserved.iter().map(|r| r.monthly_saving_usd).sum();
        let arbitrage_saving: f64 = arbitrage.iter().map(|a| a.saving_usd).sum();
        let scenario = |name: &str, description: String, monthly: f64| SavingScenario {
            name: name.into(),
            description,
            monthly_saving_usd: monthly,
            share_of_spend: ratio(monthly, monthly_cost),
        };
        let scenarios = vec![
            scenario(
                "Model switching",
                format!(
                    "Each task's calls move to the cheapest model of the same quality class (savings of at least {}).",
                    h::percent(s.min_switch_saving)
                ),
                switch_saving * monthly_factor,
            ),
            scenario(
                "Reserved capacity",
                format!(
                    "Commit to the models with over {} a month; {} off their spend.",
                    h::usd(s.reserved_min_spend),
                    h::percent(s.reserved_saving)
                ),
                reserved_saving,
            ),
            scenario(
                "Volume discount",
                match &volume_discount.tier {
                    Some(t) => format!("Monthly spend reaches the {} tier: {} off.", h::usd(t.min_spend), h::percent(t.discount)),
                    None => "Monthly spend reaches no discount tier.".into(),
                },
                volume_discount.monthly_saving_usd,
            ),
            scenario(
                "Provider arbitrage",
                "Each task's tokens at the rate of the provider that serves the task cheapest today (an upper bound: it ignores quality).".into(),
                arbitrage_saving * monthly_factor,
            ),
        ];
        let mut unclassified_models: Vec<String> = catalogue
            .models
            .iter()
            .filter(|m| !class_of.contains_key(m.name.as_str()))
            .map(|m| m.name.clone())
            .collect();
        unclassified_models.sort();
        let recommendations = recommend(s, &switches, &reserved, &volume_discount, monthly_factor);
        let caching = caching::analyze(ctx, catalogue)?;
        Ok(RateResult {
            window_days: ctx.window.days,
            cost_usd: cost,
            monthly_cost_usd: monthly_cost,
            switches,
            switch_matrix,
            reserved,
            volume_discount,
            arbitrage,
            scenarios,
            unclassified_models,
            caching,
            recommendations,
        })
    }

    fn headline(r: &RateResult) -> Vec<Figure> {
        let saving = |name: &str| {
            r.scenarios
                .iter()
                .find(|s| s.name == name)
                .map_or(0.0, |s| s.monthly_saving_usd)
        };
        vec![
            Figure::usd("Monthly spend", r.monthly_cost_usd),
            Figure::usd("Switching saves / month", saving("Model switching")),
            Figure::usd("Reserved capacity saves / month", saving("Reserved capacity")),
            Figure::usd("Volume discount / month", saving("Volume discount")),
            Figure::percent("Input read from cache", r.caching.hit_rate),
            Figure::usd("Prompt caching saved", r.caching.saving_usd),
        ]
    }

    fn render(r: &RateResult, s: &RateSettings) -> Result<Markup> {
        let cap = s.top_switches as usize;
        let scenario_rows: Vec<Vec<Cell>> = r
            .scenarios
            .iter()
            .map(|x| {
                vec![
                    Cell::text(&x.name),
                    Cell::text(&x.description),
                    Cell::usd(x.monthly_saving_usd),
                    Cell::percent(x.share_of_spend),
                ]
            })
            .collect();
        let switch_rows: Vec<Vec<Cell>> = r
            .switches
            .iter()
            .take(cap)
            .map(|x| {
                vec![
                    Cell::text(&x.task_type),
                    Cell::text(format!("{} ({})", x.from_model, x.from_provider)),
                    Cell::text(format!("{} ({})", x.to_model, x.to_provider)),
                    Cell::text(&x.quality_class),
                    Cell::count(x.calls),
                    Cell::usd(x.cost_usd),
                    Cell::usd(x.cost_after_usd),
                    Cell::usd(x.saving_usd),
                    Cell::percent(x.saving_share),
                ]
            })
            .collect();
        let matrix_rows: Vec<Vec<Cell>> = r
            .switch_matrix
            .iter()
            .take(cap)
            .map(|m| {
                vec![
                    Cell::text(&m.from_model),
                    Cell::text(&m.to_model),
                    Cell::usd(m.saving_usd),
                ]
            })
            .collect();
        let reserved_rows: Vec<Vec<Cell>> = r
            .reserved
            .iter()
            .map(|x| {
                vec![
                    Cell::text(&x.model),
                    Cell::text(&x.provider),
                    Cell::usd(x.monthly_spend_usd),
                    Cell::usd(x.monthly_saving_usd),
                ]
            })
            .collect();
        let arbitrage_rows: Vec<Vec<Cell>> = r
            .arbitrage
            .iter()
            .map(|a| {
                vec![
                    Cell::text(&a.task_type),
                    Cell::text(&a.cheapest_provider),
                    Cell::usd(a.cheapest_cost_per_1k),
                    Cell::usd(a.cost_usd),
                    Cell::usd(a.cost_at_cheapest_usd),
                    Cell::usd(a.saving_usd),
                ]
            })
            .collect();
        let tier_rows: Vec<Vec<Cell>> = s
            .volume_discounts
            .iter()
            .map(|t| vec![Cell::usd(t.min_spend), Cell::percent(t.discount)])
            .collect();
        let v = &r.volume_discount;
        let (scenario_chart, matrix_chart) = charts(r)?;
        Ok(html! {
            (section("Summary", Some(&format!(
                "Over the {}-day window; monthly figures scale it to {} days. The options overlap: do not add them up.",
                r.window_days, DAYS_PER_MONTH)), html! {
                (cards(&RateOptimization::headline(r)))
                (chart(&scenario_chart))
                (table(&["Option", "What it assumes", "Saving / month", "Of spend"], &scenario_rows))
            }))
            (section("Recommendations", None, recommendations(&r.recommendations)))
            (caching::render(&r.caching)?)
            (section("Model switches", Some(
                "The best switch for each task type and model: the same successful calls' tokens repriced at the \
                 cheapest model of the same quality class (catalogue prices)."), html! {
                (table(&["Task", "From", "To", "Class", "Calls", "Cost", "After", "Saving", "Saving %"], &switch_rows))
                (capped_note(switch_rows.len(), r.switches.len()))
                @if !r.unclassified_models.is_empty() {
                    p.note { "Models in no quality class (not switched): " (r.unclassified_models.join(", ")) "." }
                }
            }))
            (section("Switching matrix", Some("Savings over the window, summed over task types, by model pair."),
                html! { (chart(&matrix_chart)) (table(&["From", "To", "Saving"], &matrix_rows)) }))
            (section("Reserved capacity", Some(&format!(
                "Models with more than {} of monthly spend; {} off with a commitment.",
                h::usd(s.reserved_min_spend), h::percent(s.reserved_saving))),
                table(&["Model", "Provider", "Monthly spend", "Monthly saving"], &reserved_rows)))
            (section("Volume discounts", Some(&format!("Monthly spend {}.", h::usd(v.monthly_spend_usd))), html! {
                (table(&["Monthly spend from", "Discount"], &tier_rows))
                @if let (Some(next), Some(gap)) = (&v.next_tier, v.to_next_tier_usd) {
                    p { "Another " (h::usd(gap)) " a month reaches the " (h::usd(next.min_spend)) " tier (" (h::percent(next.discount)) ")." }
                }
            }))
            (section("Provider arbitrage", Some("Per task type, the provider with the lowest cost per 1K tokens today, and what the task would cost at that rate."),
                table(&["Task", "Cheapest provider", "Per 1K tokens", "Cost", "At cheapest", "Saving"], &arbitrage_rows)))
        })
    }
}

fn charts(r: &RateResult) -> Result<(String, String)> {
    let bars: Vec<Bar> = r
        .scenarios
        .iter()
        .map(|x| Bar::new(&x.name, x.monthly_saving_usd))
        .collect();
    let scenarios = render_bar_chart(&BarChart {
        title: "Monthly saving by option (overlapping: do not add)".into(),
        value_label: "Saving per month".into(),
        unit: Unit::Dollars,
        size: bars_size(bars.len()),
        bars,
        ..Default::default()
    })?;
    let mut from: Vec<&str> = r.switch_matrix.iter().map(|m| m.from_model.as_str()).collect();
    let mut to: Vec<&str> = r.switch_matrix.iter().map(|m| m.to_model.as_str()).collect();
    from.sort();
    from.dedup();
    to.sort();
    to.dedup();
    let values = from
        .iter()
        .map(|f| {
            to.iter()
                .map(|t| {
                    r.switch_matrix
                        .iter()
                        .find(|m| m.from_model == *f && m.to_model == *t)
                        .map_or(0.0, |m| m.saving_usd)
                })
                .collect()
        })
        .collect();
    let matrix = render_heatmap(&Heatmap {
        title: "Saving by switch (from → to)".into(),
        x_label: "To".into(),
        y_label: "From".into(),
        unit: Unit::Dollars,
        columns: to.iter().map(|s| s.to_string()).collect(),
        rows: from.iter().map(|s| s.to_string()).collect(),
        values,
        show_values: true,
        size: ChartSize::new(900, (120 + 30 * from.len() as u32).max(300)),
    })?;
    Ok((scenarios, matrix))
}

/// Successful calls of one (task, provider, model).
struct Usage {
    task: String,
    provider: String,
    model: String,
    t: Totals,
    /// Input tokens read from a prompt cache.
    cached: i64,
}

/// What `u`'s tokens cost at `model`'s catalogue prices: the tokens read from a cache at its
/// cache-read price (the input price if it has no caching), the rest as [`Catalogue::cost_usd`]
/// prices them.
fn reprice(catalogue: &Catalogue, model: usize, u: &Usage) -> f64 {
    let m = &catalogue.models[model];
    let (t, cached) = (&u.t, u.cached.clamp(0, u.t.input_tokens));
    let read = if cached > 0 {
        m.cache_read_per_1k.unwrap_or(m.input_per_1k)
    } else {
        0.0
    };
    let uncached_price = m.uncached_input_per_1k(u32::from(cached > 0));
    ((t.input_tokens - cached) as f64 * uncached_price
        + cached as f64 * read
        + t.output_tokens as f64 * m.output_per_1k)
        / 1000.0
}

fn switches(rows: &[Usage], catalogue: &Catalogue, class_of: &BTreeMap<&str, &str>, min_saving: f64) -> Vec<Switch> {
    let mut out = Vec::new();
    for r in rows {
        let (Some(class), true) = (class_of.get(r.model.as_str()), r.t.cost_micros > 0) else {
            continue;
        };
        let cost = r.t.cost_usd();
        let best = catalogue
            .models
            .iter()
            .enumerate()
            .filter(|(_, m)| m.name != r.model && class_of.get(m.name.as_str()) == Some(class))
            .map(|(i, m)| (reprice(catalogue, i, r), m))
            .min_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
        let Some((after, to)) = best else { continue };
        let saving = cost - after;
        if saving <= 0.0 || saving < min_saving * cost {
            continue;
        }
        out.push(Switch {
            task_type: r.task.clone(),
            quality_class: class.to_string(),
            from_model: r.model.clone(),
            from_provider: r.provider.clone(),
            to_model: to.name.clone(),
            to_provider: catalogue.providers[to.provider].name.clone(),
            calls: r.t.calls,
            cost_usd: cost,
            cost_after_usd: after,
            saving_usd: saving,
            saving_share: saving / cost,
        });
    }
    out.sort_by(|a, b| {
        desc(a.saving_usd, b.saving_usd)
            .then_with(|| a.task_type.cmp(&b.task_type))
            .then_with(|| a.from_model.cmp(&b.from_model))
    });
    out
}

fn reserved(rows: &[Usage], s: &RateSettings, monthly_factor: f64) -> Vec<ReservedCandidate> {
    let mut by_model: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for r in rows {
        *by_model.entry((&r.model, &r.provider)).or_default() += r.t.cost_micros;
    }
    let mut out: Vec<ReservedCandidate> = by_model
        .into_iter()
        .map(|((model, provider), micros)| (model, provider, super::frame::usd(micros) * monthly_factor))
        .filter(|(_, _, monthly)| *monthly > s.reserved_min_spend)
        .map(|(model, provider, monthly)| ReservedCandidate {
            model: model.into(),
            provider: provider.into(),
            monthly_spend_usd: monthly,
            monthly_saving_usd: monthly * s.reserved_saving,
        })
        .collect();
    out.sort_by(|a, b| desc(a.monthly_spend_usd, b.monthly_spend_usd).then_with(|| a.model.cmp(&b.model)));
    out
}

fn volume(monthly: f64, tiers: &[VolumeTier]) -> VolumeDiscount {
    let tier = tiers.iter().rev().find(|t| monthly >= t.min_spend).cloned();
    let next = tiers.iter().find(|t| monthly < t.min_spend).cloned();
    VolumeDiscount {
        monthly_spend_usd: monthly,
        monthly_saving_usd: tier.as_ref().map_or(0.0, |t| monthly * t.discount),
        to_next_tier_usd: next.as_ref().map(|t| t.min_spend - monthly),
        tier,
        next_tier: next,
    }
}

fn arbitrage(rows: &[Usage]) -> Vec<Arbitrage> {
    let mut out = Vec::new();
    for task_rows in rows.chunk_by(|a, b| a.task == b.task) {
        let mut providers: BTreeMap<&str, Totals> = BTreeMap::new();
        let mut all = Totals::default();
        for r in task_rows {
            providers.entry(&r.provider).or_default().add(&r.t);
            all.add(&r.t);
        }
        let Some((name, best)) = providers
            .iter()
            .filter(|(_, t)| t.tokens() > 0)
            .min_by(|a, b| a.1.cost_per_1k_tokens().total_cmp(&b.1.cost_per_1k_tokens()))
        else {
            continue;
        };
        let rate = best.cost_per_1k_tokens();
        let at_cheapest = all.tokens() as f64 * rate / 1000.0;
        out.push(Arbitrage {
            task_type: task_rows[0].task.clone(),
            cheapest_provider: name.to_string(),
            cheapest_cost_per_1k: rate,
            cost_usd: all.cost_usd(),
            cost_at_cheapest_usd: at_cheapest,
            saving_usd: (all.cost_usd() - at_cheapest).max(0.0),
        });
    }
    out
}

fn recommend(
    s: &RateSettings,
    switches: &[Switch],
    reserved: &[ReservedCandidate],
    v: &VolumeDiscount,
    monthly_factor: f64,
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    for sw in switches.iter().take(3) {
        out.push(Recommendation {
            severity: Severity::High,
            title: "Switch model".into(),
            message: format!(
                "{} calls on {} cost {}; on {} ({}, same {} class) they would cost {}: {} less ({}).",
                sw.task_type,
                sw.from_model,
                h::usd(sw.cost_usd),
                sw.to_model,
                sw.to_provider,
                sw.quality_class,
                h::usd(sw.cost_after_usd),
                h::usd(sw.saving_usd),
                h::percent(sw.saving_share)
            ),
            action: format!(
                "Pilot {} for {} traffic now on {}; keep the switch if quality holds.",
                sw.to_model, sw.task_type, sw.from_model
            ),
            amount_usd: Some(sw.saving_usd * monthly_factor),
        });
    }
    if let Some(top) = reserved.first() {
        let total: f64 = reserved.iter().map(|r| r.monthly_saving_usd).sum();
        out.push(Recommendation {
            severity: Severity::Medium,
            title: "Reserve capacity".into(),
            message: format!(
                "{} model(s) spend over {} a month, led by {} ({} a month); a commitment at {} off saves {} a month.",
                reserved.len(),
                h::usd(s.reserved_min_spend),
                top.model,
                h::usd(top.monthly_spend_usd),
                h::percent(s.reserved_saving),
                h::usd(total)
            ),
            action: format!(
                "Negotiate committed-use pricing for {} with {}.",
                top.model, top.provider
            ),
            amount_usd: Some(total),
        });
    }
    if let (Some(next), Some(gap)) = (&v.next_tier, v.to_next_tier_usd) {
        out.push(Recommendation {
            severity: Severity::Info,
            title: "Volume discount".into(),
            message: format!(
                "Monthly spend is {}; {} more reaches the {} tier at {} off.",
                h::usd(v.monthly_spend_usd),
                h::usd(gap),
                h::usd(next.min_spend),
                h::percent(next.discount)
            ),
            action: "Consolidate spend with fewer providers to reach the next discount tier.".into(),
            amount_usd: Some(next.min_spend * next.discount),
        });
    }
    out
}
