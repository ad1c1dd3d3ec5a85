//! Analyzer 7, pricing strategy: what each customer would pay under the current flat tier pricing and
//! three alternatives — tiered with overage, pure usage, hybrid — the revenue and margin of each,
//! who pays more and who pays less in each usage segment, and a migration plan in dollars.
//!
//! Every bill covers the customer's active days, like the profitability report's revenue: flat
//! and tiered base prices and the included tokens are prorated to the days from the first to the
//! last call; usage is billed on the tokens of successful calls (a failed call is not billed).
//! Segments rank customers by cost ÷ current (prorated) price.

use anyhow::Result;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use super::frame::{DAYS_PER_MONTH, desc, ratio};
use super::profitability::{CustomerUsage, customer_usage, prorate};
use super::{Analyzer, Columns, Context};
use crate::config::{CallsConfig, ConfigError, SettingsCheck};
use crate::report::chart::{BarSeries, Colour, GroupedBarChart, Unit, render_grouped_bar_chart};
use crate::report::html::{
    self as h, Cell, Figure, Recommendation, Severity, capped_note, cards, chart_grid, recommendations, section, table,
};

pub struct Pricing;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingSettings {
    /// Tiered with overage: tokens included a month per `included_per_usd` dollars of base price.
    pub included_tokens: u64,
    pub included_per_usd: f64,
    /// Tiered with overage: price of 1K tokens beyond the included ones.
    pub overage_usd_per_1k_tokens: f64,
    /// Pure usage: price of 1K tokens.
    pub usage_usd_per_1k_tokens: f64,
    /// Hybrid: this share of the base price …
    pub hybrid_base_share: f64,
    /// … plus this multiple of the cost to serve.
    pub hybrid_cost_multiple: f64,
    /// Segments by cost ÷ current price: light below this …
    pub light_below: f64,
    /// … medium below this, heavy from it.
    pub medium_below: f64,
    /// The margin a pricing model should reach (the migration rule).
    pub target_margin: f64,
    /// A bill within this many dollars of today's counts as unchanged.
    pub unchanged_within_usd: f64,
    /// Rows of the largest-change table.
    pub max_listed: u64,
}

/// A pricing model.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum PricingModel {
    Flat,
    TieredOverage,
    Usage,
    Hybrid,
}

impl PricingModel {
    pub const ALL: [PricingModel; 4] = [
        PricingModel::Flat,
        PricingModel::TieredOverage,
        PricingModel::Usage,
        PricingModel::Hybrid,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PricingModel::Flat => "Flat (current)",
            PricingModel::TieredOverage => "Tiered with overage",
            PricingModel::Usage => "Pure usage",
            PricingModel::Hybrid => "Hybrid",
        }
    }

    /// The rule, with the settings' numbers.
    pub fn formula(self, s: &PricingSettings) -> String {
        match self {
            PricingModel::Flat => "the tier's monthly price".into(),
            PricingModel::TieredOverage => format!(
                "the tier's monthly price, including {} tokens per {} of it; {} per 1K tokens beyond",
                h::count(s.included_tokens as f64),
                h::usd(s.included_per_usd),
                h::usd(s.overage_usd_per_1k_tokens)
            ),
            PricingModel::Usage => format!("{} per 1K tokens", h::usd(s.usage_usd_per_1k_tokens)),
            PricingModel::Hybrid => format!(
                "{} × the tier's monthly price + {} × the cost to serve",
                s.hybrid_base_share, s.hybrid_cost_multiple
            ),
        }
    }
}

/// A usage segment: cost ÷ current price.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    Light,
    Medium,
    Heavy,
}

impl Segment {
    pub const ALL: [Segment; 3] = [Segment::Light, Segment::Medium, Segment::Heavy];

    pub fn as_str(self) -> &'static str {
        match self {
            Segment::Light => "light",
            Segment::Medium => "medium",
            Segment::Heavy => "heavy",
        }
    }

    pub fn of(usage_ratio: f64, s: &PricingSettings) -> Segment {
        if usage_ratio < s.light_below {
            Segment::Light
        } else if usage_ratio < s.medium_below {
            Segment::Medium
        } else {
            Segment::Heavy
        }
    }
}

/// One customer's bill for its active days under each model.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Bills {
    pub flat: f64,
    pub tiered_overage: f64,
    pub usage: f64,
    pub hybrid: f64,
}

impl Bills {
    pub fn get(&self, model: PricingModel) -> f64 {
        match model {
            PricingModel::Flat => self.flat,
            PricingModel::TieredOverage => self.tiered_overage,
            PricingModel::Usage => self.usage,
            PricingModel::Hybrid => self.hybrid,
        }
    }

    /// The bills of `u` under every model.
    pub fn of(u: &CustomerUsage, s: &PricingSettings) -> Bills {
        let days = u.active_days();
        let base = prorate(u.tier_price_usd, days);
        let tokens = u.billable_tokens as f64;
        let included = prorate(u.tier_price_usd / s.included_per_usd * s.included_tokens as f64, days);
        Bills {
            flat: base,
            tiered_overage: base + (tokens - included).max(0.0) / 1000.0 * s.overage_usd_per_1k_tokens,
            usage: tokens / 1000.0 * s.usage_usd_per_1k_tokens,
            hybrid: s.hybrid_base_share * base + s.hybrid_cost_multiple * u.cost_usd(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PricingResult {
    pub method: String,
    pub customers: u64,
    pub cost_usd: f64,
    pub billable_tokens: i64,
    /// Every model over all customers, current first.
    pub models: Vec<ModelOutcome>,
    pub segments: Vec<SegmentOutcome>,
    pub plan: MigrationPlan,
    /// Every customer's bills, by customer id.
    pub customers_bills: Vec<CustomerBills>,
    pub recommendations: Vec<Recommendation>,
}

/// Revenue, margin and who pays more or less, for a set of customers under one model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Outcome {
    pub customers: u64,
    pub revenue_usd: f64,
    pub cost_usd: f64,
    pub margin_usd: f64,
    pub margin_pct: f64,
    /// Revenue − current revenue.
    pub change_usd: f64,
    pub change_pct: f64,
    /// Customers who would pay more than today (today's losers of the change) …
    pub pay_more: u64,
    /// … the total of their increases …
    pub pay_more_usd: f64,
    /// … customers who would pay less (the winners) and the total they save.
    pub pay_less: u64,
    pub pay_less_usd: f64,
    pub unchanged: u64,
    pub reaches_target: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelOutcome {
    pub model: PricingModel,
    pub name: String,
    pub formula: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SegmentOutcome {
    pub segment: Segment,
    pub customers: u64,
    /// Every model over the segment's customers, current first.
    pub models: Vec<ModelOutcome>,
    /// The model the migration rule picks for the segment.
    pub choice: PricingModel,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MigrationPlan {
    pub rule: String,
    /// The rule applied to the whole portfolio at once (one model for everyone).
    pub single_model: PricingModel,
    /// The rule applied per segment.
    pub by_segment: Vec<SegmentChoice>,
    /// The per-segment plan over all customers.
    pub outcome: Outcome,
    /// Current revenue and margin, for comparison.
    pub current: Outcome,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SegmentChoice {
    pub segment: Segment,
    pub model: PricingModel,
    pub customers: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CustomerBills {
    pub customer_id: String,
    pub subscription_tier: String,
    pub customer_archetype: String,
    pub active_days: u32,
    pub billable_tokens: i64,
    pub cost_usd: f64,
    /// Cost ÷ current bill.
    pub usage_ratio: f64,
    pub segment: Segment,
    pub bills: Bills,
}

impl Analyzer for Pricing {
    const NAME: &'static str = "pricing";
    const TITLE: &'static str = "Pricing strategy";
    const SUMMARY: &'static str = "Flat, tiered-with-overage, pure-usage and hybrid pricing: revenue, margin, winners and losers, and a migration plan.";
    type Settings = PricingSettings;
    type Output = PricingResult;
    const COLUMNS: Columns = Columns::Only(super::profitability::CUSTOMER_USAGE_COLUMNS);

    fn check(s: &PricingSettings, c: SettingsCheck<'_>, _: &CallsConfig) -> Result<(), ConfigError> {
        c.count("included_tokens", s.included_tokens, 0, 1_000_000_000_000)?;
        c.range("included_per_usd", s.included_per_usd, 0.01, 1e9)?;
        c.range("overage_usd_per_1k_tokens", s.overage_usd_per_1k_tokens, 0.0, 1e6)?;
        c.range("usage_usd_per_1k_tokens", s.usage_usd_per_1k_tokens, 0.0, 1e6)?;
        c.range("hybrid_base_share", s.hybrid_base_share, 0.0, 100.0)?;
        c.range("hybrid_cost_multiple", s.hybrid_cost_multiple, 0.0, 100.0)?;
        c.range("light_below", s.light_below, 0.0, 1e6)?;
        c.range("medium_below", s.medium_below, 0.0, 1e6)?;
        c.ordered("light_below", s.light_below, "medium_below", s.medium_below)?;
        c.fraction("target_margin", s.target_margin)?;
        c.range("unchanged_within_usd", s.unchanged_within_usd, 0.0, 1e6)?;
        c.count("max_listed", s.max_listed, 1, 100_000)
    }

    fn analyze(ctx: &Context<'_>, s: &PricingSettings) -> Result<PricingResult> {
        let (usage, _) = customer_usage(ctx)?;
        Ok(pricing(&usage, s))
    }

    fn headline(r: &PricingResult) -> Vec<Figure> {
        let current = &r.plan.current;
        vec![
            Figure::usd("Current revenue", current.revenue_usd),
            Figure::percent("Current margin", current.margin_pct),
            Figure::usd("Revenue under the plan", r.plan.outcome.revenue_usd),
            Figure::percent("Margin under the plan", r.plan.outcome.margin_pct),
        ]
    }

    fn render(r: &PricingResult, s: &PricingSettings) -> Result<Markup> {
        let outcome_cells = |o: &Outcome| -> Vec<Cell> {
            vec![
                Cell::count(o.customers),
                Cell::usd(o.revenue_usd),
                Cell::usd(o.change_usd),
                Cell::usd(o.margin_usd),
                Cell::percent(o.margin_pct),
                Cell::text(format!("{} (+{})", o.pay_more, h::usd(o.pay_more_usd))),
                Cell::text(format!("{} (−{})", o.pay_less, h::usd(o.pay_less_usd))),
                Cell::count(o.unchanged),
            ]
        };
        let outcome_head = [
            "Customers",
            "Revenue",
            "Change",
            "Margin",
            "Margin %",
            "Pay more",
            "Pay less",
            "Unchanged",
        ];
        let model_rows: Vec<Vec<Cell>> = r
            .models
            .iter()
            .map(|m| {
                let mut row = vec![Cell::text(&m.name), Cell::text(&m.formula)];
                row.extend(outcome_cells(&m.outcome));
                row
            })
            .collect();
        let segment_rows: Vec<Vec<Cell>> = r
            .segments
            .iter()
            .flat_map(|seg| {
                seg.models.iter().map(move |m| {
                    let mut row = vec![
                        Cell::text(seg.segment.as_str()),
                        Cell::text(if m.model == seg.choice {
                            format!("{} ✓", m.name)
                        } else {
                            m.name.clone()
                        }),
                    ];
                    row.extend(outcome_cells(&m.outcome));
                    row
                })
            })
            .collect();
        let plan_rows: Vec<Vec<Cell>> = r
            .plan
            .by_segment
            .iter()
            .map(|c| {
                vec![
                    Cell::text(c.segment.as_str()),
                    Cell::count(c.customers),
                    Cell::text(c.model.name()),
                ]
            })
            .collect();
        let plan_model = |segment: Segment| {
            r.plan
                .by_segment
                .iter()
                .find(|c| c.segment == segment)
                .map_or(PricingModel::Flat, |c| c.model)
        };
        let mut changes: Vec<(&CustomerBills, f64)> = r
            .customers_bills
            .iter()
            .map(|c| (c, c.bills.get(plan_model(c.segment)) - c.bills.flat))
            .filter(|(_, d)| d.abs() > s.unchanged_within_usd)
            .collect();
        changes.sort_by(|a, b| desc(a.1.abs(), b.1.abs()).then_with(|| a.0.customer_id.cmp(&b.0.customer_id)));
        let cap = s.max_listed as usize;
        let change_rows: Vec<Vec<Cell>> = changes
            .iter()
            .take(cap)
            .map(|(c, d)| {
                let model = plan_model(c.segment);
                vec![
                    Cell::text(&c.customer_id),
                    Cell::text(&c.subscription_tier),
                    Cell::text(&c.customer_archetype),
                    Cell::text(c.segment.as_str()),
                    Cell::usd(c.cost_usd),
                    Cell::usd(c.bills.flat),
                    Cell::text(model.name()),
                    Cell::usd(c.bills.get(model)),
                    Cell::usd(*d),
                ]
            })
            .collect();
        let (p, cur) = (&r.plan.outcome, &r.plan.current);
        let charts = charts(r)?;
        Ok(html! {
            (section("Summary", Some(&r.method), cards(&[
                Figure::count("Customers", r.customers),
                Figure::usd("Cost to serve", r.cost_usd),
                Figure::usd("Current revenue", cur.revenue_usd),
                Figure::percent("Current margin", cur.margin_pct),
                Figure::usd("Revenue under the plan", p.revenue_usd),
                Figure::percent("Margin under the plan", p.margin_pct),
                Figure::count("Pay more under the plan", p.pay_more),
                Figure::count("Pay less under the plan", p.pay_less),
            ])))
            (section("Recommendations", None, recommendations(&r.recommendations)))
            (section("Migration plan", Some(&r.plan.rule), html! {
                (table(&["Segment", "Customers", "Model"], &plan_rows))
                p {
                    "Revenue " (h::usd(cur.revenue_usd)) " → " (h::usd(p.revenue_usd))
                    ", margin " (h::percent(cur.margin_pct)) " → " (h::percent(p.margin_pct))
                    ". One model for everyone: " (r.plan.single_model.name()) "."
                }
            }))
            (section("Pricing models", Some(&format!(
                "All customers, every bill prorated to the customer's active days ({DAYS_PER_MONTH} days a month). \
                 Target margin {}.", h::percent(s.target_margin))), html! {
                (chart_grid(&charts))
                (table(&[&["Model", "Rule"][..], &outcome_head[..]].concat(), &model_rows))
            }))
            (section("Winners and losers by segment", Some(&format!(
                "Segments by cost ÷ current price: light below {}, medium below {}, heavy from {}. \
                 Pay more: customers whose bill would rise (and by how much in all); pay less: whose bill would fall. \
                 ✓ marks the model the migration rule picks for the segment.",
                s.light_below, s.medium_below, s.medium_below)), html! {
                (table(&[&["Segment", "Model"][..], &outcome_head[..]].concat(), &segment_rows))
            }))
            (section("Largest bill changes under the plan", None, html! {
                @if change_rows.is_empty() {
                    p.note { "The plan changes no customer's bill." }
                } @else {
                    (table(&["Customer", "Tier", "Archetype", "Segment", "Cost", "Current bill", "New model", "New bill", "Change"], &change_rows))
                    (capped_note(change_rows.len(), changes.len()))
                }
            }))
        })
    }
}

/// The page's charts: revenue and margin per model, and each segment's revenue per model.
fn charts(r: &PricingResult) -> Result<Vec<String>> {
    let names: Vec<String> = r.models.iter().map(|m| m.name.clone()).collect();
    let models = render_grouped_bar_chart(&GroupedBarChart {
        title: "Revenue and margin by pricing model".into(),
        x_label: "Pricing model".into(),
        y_label: "USD".into(),
        unit: Unit::Dollars,
        categories: names,
        series: vec![
            BarSeries::new("Revenue", r.models.iter().map(|m| m.outcome.revenue_usd).collect()).colour(Colour::PRIMARY),
            BarSeries::new("Margin", r.models.iter().map(|m| m.outcome.margin_usd).collect()).colour(Colour::SUCCESS),
        ],
        show_values: true,
        ..Default::default()
    })?;
    let segments = render_grouped_bar_chart(&GroupedBarChart {
        title: "Revenue by segment under each model".into(),
        x_label: "Segment (cost ÷ current price)".into(),
        y_label: "Revenue".into(),
        unit: Unit::Dollars,
        categories: r
            .segments
            .iter()
            .map(|x| format!("{} ({})", x.segment.as_str(), x.customers))
            .collect(),
        series: PricingModel::ALL
            .iter()
            .map(|&model| {
                BarSeries::new(
                    model.name(),
                    r.segments
                        .iter()
                        .map(|x| {
                            x.models
                                .iter()
                                .find(|m| m.model == model)
                                .map_or(0.0, |m| m.outcome.revenue_usd)
                        })
                        .collect(),
                )
            })
            .collect(),
        ..Default::default()
    })?;
    Ok(vec![models, segments])
}

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
