//! The bills of every customer under each pricing model, the outcomes per model and segment, the
//! migration plan and the recommendations.

use super::{
    Bills, CustomerBills, MigrationPlan, ModelOutcome, Outcome, PricingModel, PricingResult, PricingSettings, Segment,
    SegmentChoice, SegmentOutcome,
};
use crate::analyze::frame::{DAYS_PER_MONTH, desc, ratio};
use crate::analyze::profitability::CustomerUsage;
use crate::report::html::{self as h, Recommendation, Severity};

/// The analysis proper, over plain rows.
pub fn pricing(usage: &[CustomerUsage], s: &PricingSettings) -> PricingResult {
    let mut customers_bills: Vec<CustomerBills> = usage
        .iter()
        .map(|u| {
            let bills = Bills::of(u, s);
            let usage_ratio = ratio(u.cost_usd(), bills.flat);
            CustomerBills {
                customer_id: u.customer_id.clone(),
                subscription_tier: u.subscription_tier.clone(),
                customer_archetype: u.customer_archetype.clone(),
                active_days: u.active_days(),
                billable_tokens: u.billable_tokens,
                cost_usd: u.cost_usd(),
                usage_ratio,
                segment: Segment::of(usage_ratio, s),
                bills,
            }
        })
        .collect();
    customers_bills.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
    let all: Vec<&CustomerBills> = customers_bills.iter().collect();
    let models = outcomes(&all, s);
    let segments: Vec<SegmentOutcome> = Segment::ALL
        .iter()
        .map(|&segment| {
            let members: Vec<&CustomerBills> = all.iter().copied().filter(|c| c.segment == segment).collect();
            let models = outcomes(&members, s);
            SegmentOutcome {
                segment,
                customers: members.len() as u64,
                choice: choose(&models),
                models,
            }
        })
        .collect();
    let choice_of = |segment: Segment| {
        segments
            .iter()
            .find(|x| x.segment == segment)
            .map_or(PricingModel::Flat, |x| x.choice)
    };
    let plan = MigrationPlan {
        rule: format!(
            "For each segment, among the models whose margin reaches the {} target, the one under which the fewest \
             customers pay more (then the higher margin); if none reaches it, the one with the highest margin. \
             Flat pricing has nobody paying more, so a segment already on target keeps it.",
            h::percent(s.target_margin)
        ),
        single_model: choose(&models),
        by_segment: segments
            .iter()
            .map(|x| SegmentChoice {
                segment: x.segment,
                model: x.choice,
                customers: x.customers,
            })
            .collect(),
        outcome: outcome(&all, |c| c.bills.get(choice_of(c.segment)), s),
        current: outcome(&all, |c| c.bills.flat, s),
    };
    let recommendations = recommend(&plan, &segments, &models, s);
    PricingResult {
        method: format!(
            "Bills cover each customer's active days (first to last call, {DAYS_PER_MONTH} days a month): base prices \
             and included tokens are prorated; usage is billed on the tokens of successful calls."
        ),
        customers: all.len() as u64,
        cost_usd: all.iter().map(|c| c.cost_usd).sum(),
        billable_tokens: all.iter().map(|c| c.billable_tokens).sum(),
        models,
        segments,
        plan,
        customers_bills,
        recommendations,
    }
}

fn outcomes(customers: &[&CustomerBills], s: &PricingSettings) -> Vec<ModelOutcome> {
    PricingModel::ALL
        .iter()
        .map(|&model| ModelOutcome {
            model,
            name: model.name().into(),
            formula: model.formula(s),
            outcome: outcome(customers, |c| c.bills.get(model), s),
        })
        .collect()
}

fn outcome(customers: &[&CustomerBills], bill: impl Fn(&CustomerBills) -> f64, s: &PricingSettings) -> Outcome {
    let mut o = Outcome {
        customers: customers.len() as u64,
        revenue_usd: 0.0,
        cost_usd: 0.0,
        margin_usd: 0.0,
        margin_pct: 0.0,
        change_usd: 0.0,
        change_pct: 0.0,
        pay_more: 0,
        pay_more_usd: 0.0,
        pay_less: 0,
        pay_less_usd: 0.0,
        unchanged: 0,
        reaches_target: false,
    };
    let mut current = 0.0;
    for c in customers {
        let b = bill(c);
        o.revenue_usd += b;
        o.cost_usd += c.cost_usd;
        current += c.bills.flat;
        let d = b - c.bills.flat;
        if d > s.unchanged_within_usd {
            o.pay_more += 1;
            o.pay_more_usd += d;
        } else if d < -s.unchanged_within_usd {
            o.pay_less += 1;
            o.pay_less_usd -= d;
        } else {
            o.unchanged += 1;
        }
    }
    o.margin_usd = o.revenue_usd - o.cost_usd;
    o.margin_pct = ratio(o.margin_usd, o.revenue_usd);
    o.change_usd = o.revenue_usd - current;
    o.change_pct = ratio(o.change_usd, current);
    o.reaches_target = o.customers > 0 && o.margin_pct >= s.target_margin;
    o
}

/// The migration rule: among the models on target, the fewest customers paying more (then the
/// higher margin); if none is on target, the highest margin.
fn choose(models: &[ModelOutcome]) -> PricingModel {
    let on_target = |m: &&ModelOutcome| m.outcome.reaches_target;
    let by_fewest_losers = |a: &&ModelOutcome, b: &&ModelOutcome| {
        a.outcome
            .pay_more
            .cmp(&b.outcome.pay_more)
            .then_with(|| desc(a.outcome.margin_usd, b.outcome.margin_usd))
            .then_with(|| a.model.cmp(&b.model))
    };
    let by_margin = |a: &&ModelOutcome, b: &&ModelOutcome| {
        desc(a.outcome.margin_usd, b.outcome.margin_usd)
            .then_with(|| a.outcome.pay_more.cmp(&b.outcome.pay_more))
            .then_with(|| a.model.cmp(&b.model))
    };
    let best = if models.iter().any(|m| on_target(&m)) {
        models.iter().filter(on_target).min_by(by_fewest_losers)
    } else {
        models.iter().min_by(by_margin)
    };
    best.map_or(PricingModel::Flat, |m| m.model)
}

fn recommend(
    plan: &MigrationPlan,
    segments: &[SegmentOutcome],
    models: &[ModelOutcome],
    s: &PricingSettings,
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let below_target = !plan.current.reaches_target;
    for seg in segments
        .iter()
        .filter(|x| x.customers > 0 && x.choice != PricingModel::Flat)
    {
        let (Some(now), Some(new)) = (
            seg.models.iter().find(|m| m.model == PricingModel::Flat),
            seg.models.iter().find(|m| m.model == seg.choice),
        ) else {
            continue;
        };
        let (now, new) = (&now.outcome, &new.outcome);
        out.push(Recommendation {
            severity: if below_target { Severity::High } else { Severity::Medium },
            title: format!(
                "Move the {} segment to {}",
                seg.segment.as_str(),
                seg.choice.name().to_lowercase()
            ),
            message: format!(
                "The {} {} customers earn a {} margin on flat pricing ({} revenue, {} to serve). Under {} ({}) \
                 revenue would be {} ({}{}), margin {}; {} customers would pay {} more in all, {} would pay {} less.",
                seg.customers,
                seg.segment.as_str(),
                h::percent(now.margin_pct),
                h::usd(now.revenue_usd),
                h::usd(now.cost_usd),
                seg.choice.name().to_lowercase(),
                seg.choice.formula(s),
                h::usd(new.revenue_usd),
                if new.change_usd >= 0.0 { "+" } else { "" },
                h::usd(new.change_usd),
                h::percent(new.margin_pct),
                new.pay_more,
                h::usd(new.pay_more_usd),
                new.pay_less,
                h::usd(new.pay_less_usd)
            ),
            action: format!(
                "Offer the {} segment {} at renewal; announce it with each customer's new monthly figure.",
                seg.segment.as_str(),
                seg.choice.name().to_lowercase()
            ),
            amount_usd: Some(new.margin_usd - now.margin_usd),
        });
    }
    let (p, cur) = (&plan.outcome, &plan.current);
    if out.is_empty() {
        out.push(Recommendation {
            severity: Severity::Info,
            title: "Keep flat pricing".into(),
            message: format!(
                "Flat pricing earns a {} margin ({} on {} revenue), at or above the {} target in every segment.",
                h::percent(cur.margin_pct),
                h::usd(cur.margin_usd),
                h::usd(cur.revenue_usd),
                h::percent(s.target_margin)
            ),
            action:
                "Revisit when usage grows: the segment table shows which customers would pay more under each model."
                    .into(),
            amount_usd: None,
        });
    } else {
        out.push(Recommendation {
            severity: Severity::Info,
            title: "The whole plan".into(),
            message: format!(
                "With every segment on its model, revenue goes from {} to {} and margin from {} to {}; {} customers pay \
                 {} more, {} pay {} less.",
                h::usd(cur.revenue_usd),
                h::usd(p.revenue_usd),
                h::percent(cur.margin_pct),
                h::percent(p.margin_pct),
                p.pay_more,
                h::usd(p.pay_more_usd),
                p.pay_less,
                h::usd(p.pay_less_usd)
            ),
            action: format!(
                "If one model must apply to everyone, the same rule picks {}.",
                plan.single_model.name().to_lowercase()
            ),
            amount_usd: Some(p.margin_usd - cur.margin_usd),
        });
    }
    // The alternative that would lose the most revenue: worth knowing before anyone proposes it.
    if let Some(worst) = models
        .iter()
        .filter(|m| m.model != PricingModel::Flat && m.outcome.change_usd < 0.0)
        .min_by(|a, b| a.outcome.change_usd.total_cmp(&b.outcome.change_usd))
    {
        out.push(Recommendation {
            severity: Severity::Low,
            title: format!("Avoid {} for everyone", worst.name.to_lowercase()),
            message: format!(
                "{} ({}) would change revenue by {} ({}) to a {} margin: {} customers would pay less.",
                worst.name,
                worst.formula,
                h::usd(worst.outcome.change_usd),
                h::percent(worst.outcome.change_pct),
                h::percent(worst.outcome.margin_pct),
                worst.outcome.pay_less
            ),
            action: "Keep it out of the migration, or only for segments where the table shows it gains.".into(),
            amount_usd: Some(-worst.outcome.change_usd),
        });
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.severity));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn settings() -> PricingSettings {
        PricingSettings {
            included_tokens: 100_000,
            included_per_usd: 10.0,
            overage_usd_per_1k_tokens: 0.01,
            usage_usd_per_1k_tokens: 0.015,
            hybrid_base_share: 0.5,
            hybrid_cost_multiple: 1.5,
            light_below: 0.3,
            medium_below: 0.7,
            target_margin: 0.4,
            unchanged_within_usd: 0.01,
            max_listed: 25,
        }
    }

    fn usage(id: &str, price: f64, days: u32, tokens: i64, cost: f64) -> CustomerUsage {
        let first = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        CustomerUsage {
            customer_id: id.into(),
            subscription_tier: "pro".into(),
            tier_price_usd: price,
            customer_archetype: "power".into(),
            organization_id: "org_001".into(),
            first_day: first,
            last_day: first + chrono::Days::new(u64::from(days) - 1),
            calls: 1,
            cost_micros: (cost * 1e6).round() as i64,
            billable_tokens: tokens,
        }
    }

    #[test]
    fn bills_follow_the_documented_formulas() {
        let s = settings();
        // $99 for 30 days: 990K tokens included; 1.99M tokens → 1M over → $10 overage.
        let b = Bills::of(&usage("a", 99.0, 30, 1_990_000, 40.0), &s);
        assert!((b.flat - 99.0).abs() < 1e-9);
        assert!((b.tiered_overage - 109.0).abs() < 1e-9);
        assert!((b.usage - 29.85).abs() < 1e-9);
        assert!((b.hybrid - (49.5 + 60.0)).abs() < 1e-9);
        // Ten days: a third of the price and of the allowance (330K tokens).
        let b = Bills::of(&usage("b", 99.0, 10, 330_000, 1.0), &s);
        assert!((b.flat - 33.0).abs() < 1e-9);
        assert!((b.tiered_overage - 33.0).abs() < 1e-9);
    }

    #[test]
    fn segments_winners_losers_and_the_plan() {
        let s = settings();
        let rows = vec![
            usage("light", 29.0, 30, 200_000, 2.9),     // ratio 0.1
            usage("medium", 99.0, 30, 900_000, 49.5),   // ratio 0.5
            usage("heavy", 99.0, 30, 8_000_000, 150.0), // ratio 1.52
        ];
        let r = pricing(&rows, &s);
        let seg: Vec<Segment> = r.customers_bills.iter().map(|c| c.segment).collect();
        assert_eq!(seg, [Segment::Heavy, Segment::Light, Segment::Medium]);
        let flat = &r.models[0].outcome;
        assert!((flat.revenue_usd - 227.0).abs() < 1e-9);
        assert_eq!((flat.pay_more, flat.pay_less, flat.unchanged), (0, 0, 3));
        let usage_model = r.models.iter().find(|m| m.model == PricingModel::Usage).unwrap();
        // 9.1M tokens × $0.015 / 1K = $136.50; light and medium pay less, heavy pays more ($120 > $99).
        assert!((usage_model.outcome.revenue_usd - 136.5).abs() < 1e-9);
        assert_eq!((usage_model.outcome.pay_more, usage_model.outcome.pay_less), (1, 2));
        // Light (90% margin) and medium (50%) stay flat; heavy loses money on flat and moves.
        let choices: Vec<(Segment, PricingModel)> = r.plan.by_segment.iter().map(|c| (c.segment, c.model)).collect();
        assert_eq!(choices[0], (Segment::Light, PricingModel::Flat));
        assert_eq!(choices[1], (Segment::Medium, PricingModel::Flat));
        // Heavy: tiered = 99 + 7.01M/1K × 0.01 = 169.10 (11% margin); hybrid = 49.5 + 225 = 274.5 (45.4%).
        assert_eq!(choices[2], (Segment::Heavy, PricingModel::Hybrid));
        assert!((r.plan.outcome.revenue_usd - (29.0 + 99.0 + 274.5)).abs() < 1e-9);
        assert!(r.recommendations.iter().any(|x| x.title.contains("heavy segment")));
    }
}
