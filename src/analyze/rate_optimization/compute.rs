//! The rate optimization figures: one query of the successful calls per (task type, provider,
//! model), then switches, reserved capacity, volume tiers and arbitrage from those sums.

use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;

use super::{
    Arbitrage, Consolidation, MatrixCell, ProviderVolume, RateResult, RateSettings, ReservedCandidate, SavingScenario,
    Switch, SwitchBudget, VolumeDiscount, VolumeTier,
};
use crate::analyze::Context;
use crate::analyze::caching;
use crate::analyze::frame::{DAYS_PER_MONTH, Totals, desc, ints, is_success, ratio, strings, totals_aggs};
use crate::batch::calls::CACHED_INPUT_TOKENS;
use crate::report::html::{self as h, Recommendation, Severity};
use crate::sim::calls::catalogue::Catalogue;

pub const SWITCHING: &str = "Model switching";
pub const RESERVED: &str = "Reserved capacity";
pub const VOLUME: &str = "Volume discounts";
pub const ARBITRAGE: &str = "Provider arbitrage";

/// Successful calls of one (task, provider, model).
pub(super) struct Usage {
    task: String,
    provider: String,
    model: String,
    t: Totals,
    /// Input tokens read from a prompt cache.
    cached: i64,
}

pub(super) fn analyze(ctx: &Context<'_>, s: &RateSettings) -> Result<RateResult> {
    let catalogue = &ctx.config.catalogue;
    let rows = usage(ctx)?;
    let mut all = Totals::default();
    rows.iter().for_each(|r| all.add(&r.t));
    let monthly_factor = DAYS_PER_MONTH / f64::from(ctx.window.days.max(1));
    let cost = all.cost_usd();
    let monthly_cost = cost * monthly_factor;

    let rule = SwitchRule {
        max_quality_loss: s.max_quality_loss,
        same_provider_only: s.same_provider_only,
        min_saving: s.min_switch_saving,
        monthly_factor,
    };
    let switches = switches(&rows, catalogue, &rule);
    let switching_monthly_saving_usd: f64 = switches.iter().map(|x| x.monthly_saving_usd).sum();
    let switch_matrix = matrix(&switches);
    let mut sensitivity = Vec::new();
    for same_provider_only in [true, false] {
        for &max_quality_loss in &s.sensitivity_losses {
            let found = switches_with(
                &rows,
                catalogue,
                max_quality_loss,
                same_provider_only,
                s,
                monthly_factor,
            );
            let monthly: f64 = found.iter().map(|x| x.monthly_saving_usd).sum();
            sensitivity.push(SwitchBudget {
                max_quality_loss,
                same_provider_only,
                switches: found.len() as u64,
                monthly_saving_usd: monthly,
                share_of_spend: ratio(monthly, monthly_cost),
            });
        }
    }

    let reserved = reserved(&rows, s, monthly_factor);
    let volume_discount = volume(&rows, &s.volume_discounts, monthly_factor);
    let arbitrage = arbitrage(&rows);
    let reserved_saving: f64 = reserved.iter().map(|r| r.monthly_saving_usd).sum();
    // Moving work to another provider is only a saving within the same quality budget as a
    // switch: the cheapest provider's rate alone (the per-task table) ignores quality.
    let cross_provider_saving = switches_with(&rows, catalogue, s.max_quality_loss, false, s, monthly_factor)
        .iter()
        .map(|x| x.monthly_saving_usd)
        .sum::<f64>();
    let scenario = |name: &str, description: String, monthly: f64| SavingScenario {
        name: name.into(),
        description,
        monthly_saving_usd: monthly,
        share_of_spend: ratio(monthly, monthly_cost),
    };
    let scope = if s.same_provider_only {
        "of the same provider"
    } else {
        "of any provider"
    };
    let scenarios = vec![
        scenario(
            SWITCHING,
            format!(
                "Each task's calls move to the cheapest model {scope} that the benchmark scores at most {} points \
                 below (savings of at least {}).",
                s.max_quality_loss,
                h::percent(s.min_switch_saving)
            ),
            switching_monthly_saving_usd,
        ),
        scenario(
            RESERVED,
            format!(
                "Commit to the models with over {} a month; {} off their spend.",
                h::usd(s.reserved_min_spend),
                h::percent(s.reserved_saving)
            ),
            reserved_saving,
        ),
        scenario(
            VOLUME,
            "Each provider's tier applied to its own monthly spend.".into(),
            volume_discount.monthly_saving_usd,
        ),
        scenario(
            ARBITRAGE,
            format!(
                "Each task's calls move to the cheapest model of any provider that the benchmark scores at most {} \
                 points below (a migration rather than a switch: it includes the switches above).",
                s.max_quality_loss
            ),
            cross_provider_saving,
        ),
    ];
    let mut unscored_models: Vec<String> = catalogue
        .models
        .iter()
        .filter(|m| m.quality.is_none())
        .map(|m| m.name.clone())
        .collect();
    unscored_models.sort();
    let recommendations = recommend(s, &switches, &reserved, &volume_discount);
    let caching = caching::analyze(ctx, catalogue)?;
    Ok(RateResult {
        window_days: ctx.window.days,
        cost_usd: cost,
        monthly_cost_usd: monthly_cost,
        max_quality_loss: s.max_quality_loss,
        same_provider_only: s.same_provider_only,
        switches,
        switching_monthly_saving_usd,
        switch_matrix,
        sensitivity,
        reserved,
        volume_discount,
        arbitrage,
        scenarios,
        unscored_models,
        caching,
        recommendations,
    })
}

/// The successful calls' sums per (task, provider, model), sorted.
fn usage(ctx: &Context<'_>) -> Result<Vec<Usage>> {
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
    Ok(rows)
}

/// What a switch may do.
struct SwitchRule {
    max_quality_loss: f64,
    same_provider_only: bool,
    /// Least saving, as a share of the calls' cost.
    min_saving: f64,
    monthly_factor: f64,
}

fn switches_with(
    rows: &[Usage],
    catalogue: &Catalogue,
    max_quality_loss: f64,
    same_provider_only: bool,
    s: &RateSettings,
    monthly_factor: f64,
) -> Vec<Switch> {
    let rule = SwitchRule {
        max_quality_loss,
        same_provider_only,
        min_saving: s.min_switch_saving,
        monthly_factor,
    };
    switches(rows, catalogue, &rule)
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

/// For every (task, provider, model) with a quality score: the cheapest other scored model at
/// most `max_quality_loss` points below it (of its provider if so ruled), if that saves enough.
fn switches(rows: &[Usage], catalogue: &Catalogue, rule: &SwitchRule) -> Vec<Switch> {
    let mut out = Vec::new();
    for r in rows {
        let Some(from) = catalogue.model_index(&r.model) else {
            continue;
        };
        let (Some(from_quality), true) = (catalogue.models[from].quality, r.t.cost_micros > 0) else {
            continue;
        };
        let from_provider = catalogue.models[from].provider;
        let best = catalogue
            .models
            .iter()
            .enumerate()
            .filter(|(i, m)| {
                *i != from
                    && m.quality.is_some_and(|q| q >= from_quality - rule.max_quality_loss)
                    && (!rule.same_provider_only || m.provider == from_provider)
            })
            .map(|(i, m)| (reprice(catalogue, i, r), m))
            .min_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
        let Some((after, to)) = best else { continue };
        let cost = r.t.cost_usd();
        let saving = cost - after;
        if saving <= 0.0 || saving < rule.min_saving * cost {
            continue;
        }
        let to_quality = to.quality.unwrap_or_default();
        out.push(Switch {
            task_type: r.task.clone(),
            from_model: r.model.clone(),
            from_provider: r.provider.clone(),
            to_model: to.name.clone(),
            to_provider: catalogue.providers[to.provider].name.clone(),
            from_quality,
            to_quality,
            quality_loss: from_quality - to_quality,
            calls: r.t.calls,
            cost_usd: cost,
            cost_after_usd: after,
            saving_usd: saving,
            saving_share: saving / cost,
            monthly_saving_usd: saving * rule.monthly_factor,
        });
    }
    out.sort_by(|a, b| {
        desc(a.saving_usd, b.saving_usd)
            .then_with(|| a.task_type.cmp(&b.task_type))
            .then_with(|| a.from_model.cmp(&b.from_model))
    });
    out
}

fn matrix(switches: &[Switch]) -> Vec<MatrixCell> {
    let mut cells: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
    for sw in switches {
        let e = cells
            .entry((sw.from_model.clone(), sw.to_model.clone()))
            .or_insert((0.0, sw.quality_loss));
        e.0 += sw.saving_usd;
    }
    let mut out: Vec<MatrixCell> = cells
        .into_iter()
        .map(|((from_model, to_model), (saving_usd, quality_loss))| MatrixCell {
            from_model,
            to_model,
            saving_usd,
            quality_loss,
        })
        .collect();
    out.sort_by(|a, b| desc(a.saving_usd, b.saving_usd).then_with(|| a.from_model.cmp(&b.from_model)));
    out
}

fn reserved(rows: &[Usage], s: &RateSettings, monthly_factor: f64) -> Vec<ReservedCandidate> {
    let mut by_model: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for r in rows {
        *by_model.entry((&r.model, &r.provider)).or_default() += r.t.cost_micros;
    }
    let mut out: Vec<ReservedCandidate> = by_model
        .into_iter()
        .map(|((model, provider), micros)| (model, provider, crate::analyze::frame::usd(micros) * monthly_factor))
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

/// The highest tier `monthly` reaches and the next one.
fn tier_of(monthly: f64, tiers: &[VolumeTier]) -> (Option<VolumeTier>, Option<VolumeTier>) {
    (
        tiers.iter().rev().find(|t| monthly >= t.min_spend).cloned(),
        tiers.iter().find(|t| monthly < t.min_spend).cloned(),
    )
}

fn discount_of(monthly: f64, tiers: &[VolumeTier]) -> f64 {
    tier_of(monthly, tiers).0.map_or(0.0, |t| monthly * t.discount)
}

/// Tiers on each provider's own monthly spend, and whether moving spend between providers
/// would reach a higher tier somewhere for more than it loses elsewhere.
fn volume(rows: &[Usage], tiers: &[VolumeTier], monthly_factor: f64) -> VolumeDiscount {
    let mut spend: BTreeMap<String, f64> = BTreeMap::new();
    for r in rows {
        *spend.entry(r.provider.clone()).or_default() += r.t.cost_usd() * monthly_factor;
    }
    let mut providers: Vec<ProviderVolume> = spend
        .iter()
        .map(|(provider, &monthly)| {
            let (tier, next) = tier_of(monthly, tiers);
            ProviderVolume {
                provider: provider.clone(),
                monthly_spend_usd: monthly,
                monthly_saving_usd: tier.as_ref().map_or(0.0, |t| monthly * t.discount),
                to_next_tier_usd: next.as_ref().map(|t| t.min_spend - monthly),
                tier,
                next_tier: next,
            }
        })
        .collect();
    providers.sort_by(|a, b| desc(a.monthly_spend_usd, b.monthly_spend_usd).then_with(|| a.provider.cmp(&b.provider)));
    let monthly_saving_usd = providers.iter().map(|p| p.monthly_saving_usd).sum();
    VolumeDiscount {
        monthly_saving_usd,
        consolidation: consolidation(&spend, tiers, monthly_saving_usd),
        providers,
    }
}

/// The move of spend to one provider that reaches its next tier with the largest net gain, if
/// any gains: the spend is taken first from the providers whose discount rate is lowest, and
/// the move assumes the calls cost the same at the new provider (an upper bound).
fn consolidation(spend: &BTreeMap<String, f64>, tiers: &[VolumeTier], saving_now: f64) -> Option<Consolidation> {
    let mut best: Option<Consolidation> = None;
    for (to, &own) in spend {
        let Some(next) = tier_of(own, tiers).1 else { continue };
        let mut gap = next.min_spend - own;
        let mut sources: Vec<(&String, f64)> = spend.iter().filter(|(p, _)| *p != to).map(|(p, v)| (p, *v)).collect();
        let rate = |v: f64| tier_of(v, tiers).0.map_or(0.0, |t| t.discount);
        sources.sort_by(|a, b| {
            rate(a.1)
                .total_cmp(&rate(b.1))
                .then_with(|| desc(a.1, b.1))
                .then_with(|| a.0.cmp(b.0))
        });
        let mut after = spend.clone();
        let mut from = Vec::new();
        for (p, v) in sources {
            if gap <= 0.0 {
                break;
            }
            let take = v.min(gap);
            gap -= take;
            *after.get_mut(p).expect("a provider of the map") -= take;
            from.push((p.clone(), take));
        }
        if gap > 1e-9 {
            continue;
        }
        *after.get_mut(to).expect("a provider of the map") = next.min_spend;
        let saving_after: f64 = after.values().map(|&v| discount_of(v, tiers)).sum();
        let gain = saving_after - saving_now;
        if gain > 1e-9 && best.as_ref().is_none_or(|b| gain > b.net_monthly_gain_usd) {
            best = Some(Consolidation {
                to_provider: to.clone(),
                moved_usd: next.min_spend - own,
                tier: next,
                from,
                net_monthly_gain_usd: gain,
            });
        }
    }
    best
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

/// "+12 points" / "−18 points": the change of benchmark score a switch makes.
pub(super) fn quality_change(loss: f64) -> String {
    let change = -loss;
    if change > 0.0 {
        format!("+{change:.0} points")
    } else if change < 0.0 {
        format!("−{:.0} points", -change)
    } else {
        "no change".into()
    }
}

fn recommend(
    s: &RateSettings,
    switches: &[Switch],
    reserved: &[ReservedCandidate],
    v: &VolumeDiscount,
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    for sw in switches.iter().take(3) {
        out.push(Recommendation {
            severity: Severity::High,
            title: "Switch model".into(),
            message: format!(
                "{} calls on {} cost {}; on {} ({}) they would cost {}: {} less ({}). Benchmark score {} → {} ({}).",
                sw.task_type,
                sw.from_model,
                h::usd(sw.cost_usd),
                sw.to_model,
                sw.to_provider,
                h::usd(sw.cost_after_usd),
                h::usd(sw.saving_usd),
                h::percent(sw.saving_share),
                sw.from_quality,
                sw.to_quality,
                quality_change(sw.quality_loss)
            ),
            action: format!(
                "Pilot {} for {} traffic now on {}; keep the switch if your own evaluation holds.",
                sw.to_model, sw.task_type, sw.from_model
            ),
            amount_usd: Some(sw.monthly_saving_usd),
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
    if let Some(c) = &v.consolidation {
        out.push(Recommendation {
            severity: Severity::Info,
            title: "Volume tier within reach".into(),
            message: format!(
                "Moving {} a month of calls to {} (from {}) reaches its {} tier ({} off): {} a month more in volume \
                 discounts, net of any discount lost at the providers the spend leaves, if the moved calls cost the \
                 same at {}.",
                h::usd(c.moved_usd),
                c.to_provider,
                c.from
                    .iter()
                    .map(|(p, d)| format!("{p} {}", h::usd(*d)))
                    .collect::<Vec<_>>()
                    .join(", "),
                h::usd(c.tier.min_spend),
                h::percent(c.tier.discount),
                h::usd(c.net_monthly_gain_usd),
                c.to_provider
            ),
            action: format!(
                "Move workloads to {} only where its models serve them at the same price and quality.",
                c.to_provider
            ),
            amount_usd: Some(c.net_monthly_gain_usd),
        });
    }
    out
}
