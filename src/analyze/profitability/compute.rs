//! Customer profitability from the rows: one usage line per customer (read by pricing and the
//! executive summary too), margins, bands, groups and the recommendations.

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::NaiveDate;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::{
    BandSummary, CustomerMargin, GroupMargin, MarginBand, PortfolioMargin, ProfitabilityResult, ProfitabilitySettings,
    TierArchetypeMargin,
};
use crate::analyze::Context;
use crate::analyze::frame::{DAYS_PER_MONTH, cost_micros, dates, floats, ints, is_success, ratio, strings, usd};
use crate::report::html::{self as h, Recommendation, Severity};

/// The columns of the per-customer usage both this page and pricing read (one declaration, as
/// the query is one).
pub const CUSTOMER_USAGE_COLUMNS: &[&str] = &[
    "timestamp",
    "customer_id",
    "subscription_tier",
    "organization_id",
    "customer_archetype",
    "tier_price_usd",
    "status",
    "cost_usd",
    "input_tokens",
    "output_tokens",
];
/// One customer's usage over the window, as the profitability and pricing analyzers read it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CustomerUsage {
    pub customer_id: String,
    pub subscription_tier: String,
    /// Monthly price of the tier.
    pub tier_price_usd: f64,
    pub customer_archetype: String,
    pub organization_id: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub calls: u64,
    pub cost_micros: i64,
    /// Input + output tokens of successful calls (failed calls are not billed).
    pub billable_tokens: i64,
}

impl CustomerUsage {
    /// UTC days from the first to the last call, inclusive.
    pub fn active_days(&self) -> u32 {
        ((self.last_day - self.first_day).num_days() + 1).max(1) as u32
    }

    /// The tier price prorated to the active days.
    pub fn revenue_usd(&self) -> f64 {
        prorate(self.tier_price_usd, self.active_days())
    }

    pub fn cost_usd(&self) -> f64 {
        usd(self.cost_micros)
    }
}

/// A monthly amount for `days` days.
pub fn prorate(monthly_usd: f64, days: u32) -> f64 {
    monthly_usd * f64::from(days) / DAYS_PER_MONTH
}

/// Every customer's usage, by customer id, and how many customers carry more than one tier in the
/// data (each is given the tier most of its calls carry; ties go to the dearer tier). The pricing
/// page reads the same: the query runs once for both ([`Context::shared`]).
pub fn customer_usage(ctx: &Context<'_>) -> Result<(Vec<CustomerUsage>, u64)> {
    Ok((*ctx.shared("profitability::customer_usage", || usage_query(ctx))?).clone())
}

fn usage_query(ctx: &Context<'_>) -> Result<(Vec<CustomerUsage>, u64)> {
    let day = || col("timestamp").dt().date();
    let df = ctx.collect(
        ctx.calls()
            .group_by([col("customer_id"), col("subscription_tier")])
            .agg([
                len().cast(DataType::Int64).alias("calls"),
                cost_micros().sum().alias("cost_micros"),
                (col("input_tokens").cast(DataType::Int64) + col("output_tokens").cast(DataType::Int64))
                    .filter(is_success())
                    .sum()
                    .alias("billable_tokens"),
                col("tier_price_usd").max().alias("tier_price_usd"),
                // One archetype and organization per customer (a dataset invariant); min() is stable.
                col("customer_archetype").min().alias("customer_archetype"),
                col("organization_id").min().alias("organization_id"),
                day().min().alias("first_day"),
                day().max().alias("last_day"),
            ]),
    )?;
    let (ids, tiers, archetypes, orgs) = (
        strings(&df, "customer_id")?,
        strings(&df, "subscription_tier")?,
        strings(&df, "customer_archetype")?,
        strings(&df, "organization_id")?,
    );
    let (calls, cost, tokens, price) = (
        ints(&df, "calls")?,
        ints(&df, "cost_micros")?,
        ints(&df, "billable_tokens")?,
        floats(&df, "tier_price_usd")?,
    );
    let (first, last) = (dates(&df, "first_day")?, dates(&df, "last_day")?);
    let mut rows: Vec<CustomerUsage> = (0..df.height())
        .map(|i| CustomerUsage {
            customer_id: ids[i].clone(),
            subscription_tier: tiers[i].clone(),
            tier_price_usd: price[i],
            customer_archetype: archetypes[i].clone(),
            organization_id: orgs[i].clone(),
            first_day: first[i],
            last_day: last[i],
            calls: calls[i] as u64,
            cost_micros: cost[i],
            billable_tokens: tokens[i],
        })
        .collect();
    rows.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
    Ok(merge_tiers(rows))
}

/// Folds a customer's (customer, tier) rows into one: sums of usage, the whole active span, and
/// the tier that most calls carry. Input sorted by customer id.
fn merge_tiers(rows: Vec<CustomerUsage>) -> (Vec<CustomerUsage>, u64) {
    let mut out: Vec<CustomerUsage> = Vec::with_capacity(rows.len());
    let mut several = 0;
    for group in rows.chunk_by(|a, b| a.customer_id == b.customer_id) {
        let main = group
            .iter()
            .max_by(|a, b| {
                a.calls
                    .cmp(&b.calls)
                    .then_with(|| a.tier_price_usd.total_cmp(&b.tier_price_usd))
                    .then_with(|| b.subscription_tier.cmp(&a.subscription_tier))
            })
            .expect("chunks are not empty");
        let mut merged = main.clone();
        if group.len() > 1 {
            several += 1;
            merged.calls = group.iter().map(|g| g.calls).sum();
            merged.cost_micros = group.iter().map(|g| g.cost_micros).sum();
            merged.billable_tokens = group.iter().map(|g| g.billable_tokens).sum();
            merged.first_day = group.iter().map(|g| g.first_day).min().expect("not empty");
            merged.last_day = group.iter().map(|g| g.last_day).max().expect("not empty");
        }
        out.push(merged);
    }
    (out, several)
}

/// The analysis proper, over plain rows: margins, bands, groups and recommendations.
pub fn profitability(
    usage: &[CustomerUsage],
    customers_with_several_tiers: u64,
    window_days: u32,
    s: &ProfitabilitySettings,
) -> ProfitabilityResult {
    let mut customers: Vec<CustomerMargin> = usage.iter().map(|u| customer_margin(u, s)).collect();
    customers.sort_by(|a, b| {
        a.margin_pct
            .total_cmp(&b.margin_pct)
            .then_with(|| a.customer_id.cmp(&b.customer_id))
    });
    let mut unprofitable: Vec<CustomerMargin> = customers
        .iter()
        .filter(|c| c.band == MarginBand::Unprofitable)
        .cloned()
        .collect();
    unprofitable.sort_by(|a, b| {
        a.margin_usd
            .total_cmp(&b.margin_usd)
            .then_with(|| a.customer_id.cmp(&b.customer_id))
    });

    let all = Sums::of(customers.iter());
    let n = customers.len() as u64;
    let low = customers
        .iter()
        .filter(|c| matches!(c.band, MarginBand::Low | MarginBand::Unprofitable))
        .count() as u64;
    let totals = PortfolioMargin {
        customers: n,
        revenue_usd: all.revenue,
        cost_usd: all.cost,
        margin_usd: all.margin(),
        margin_pct: all.margin_pct(),
        target_margin: s.target_margin,
        shortfall_usd: (s.target_margin * all.revenue - all.margin()).max(0.0),
        unprofitable_customers: unprofitable.len() as u64,
        low_margin_customers: low,
        low_margin_share: ratio(low as f64, n as f64),
        customers_with_several_tiers,
    };
    let bands = MarginBand::ALL
        .iter()
        .map(|&band| {
            let sums = Sums::of(customers.iter().filter(|c| c.band == band));
            BandSummary {
                band,
                customers: sums.customers,
                share: ratio(sums.customers as f64, n as f64),
                revenue_usd: sums.revenue,
                cost_usd: sums.cost,
                margin_usd: sums.margin(),
            }
        })
        .collect();

    let mut by_tier = group(&customers, |c| c.subscription_tier.clone(), s);
    for g in &mut by_tier {
        g.below_floor = g.margin_pct < s.tier_margin_floor;
    }
    // Cheapest tier first (the prices come from the data), then by name.
    by_tier.sort_by(|a, b| {
        a.tier_price_usd
            .total_cmp(&b.tier_price_usd)
            .then_with(|| a.name.cmp(&b.name))
    });
    let mut by_archetype = group(&customers, |c| c.customer_archetype.clone(), s);
    by_archetype.iter_mut().for_each(|g| g.tier_price_usd = 0.0);
    let tier_rank: BTreeMap<&str, usize> = by_tier.iter().enumerate().map(|(i, g)| (g.name.as_str(), i)).collect();
    let mut cells: BTreeMap<(usize, String), Sums> = BTreeMap::new();
    for c in &customers {
        cells
            .entry((tier_rank[c.subscription_tier.as_str()], c.customer_archetype.clone()))
            .or_default()
            .add(c);
    }
    let by_tier_archetype = cells
        .into_iter()
        .map(|((t, archetype), sums)| TierArchetypeMargin {
            subscription_tier: by_tier[t].name.clone(),
            customer_archetype: archetype,
            customers: sums.customers,
            revenue_usd: sums.revenue,
            cost_usd: sums.cost,
            margin_usd: sums.margin(),
            margin_pct: sums.margin_pct(),
        })
        .collect();
    let recommendations = recommend(&totals, &by_tier, &unprofitable, s);
    ProfitabilityResult {
        revenue_rule: format!(
            "Revenue = the tier's monthly price × active days / {DAYS_PER_MONTH}, where active days are the UTC days \
             from a customer's first to its last call, inclusive; cost to serve = the sum of its calls' cost_usd. \
             Margin = revenue − cost; margin % = margin ÷ revenue."
        ),
        window_days,
        totals,
        bands,
        by_tier,
        by_archetype,
        by_tier_archetype,
        unprofitable,
        customers,
        recommendations,
    }
}

fn customer_margin(u: &CustomerUsage, s: &ProfitabilitySettings) -> CustomerMargin {
    let revenue = u.revenue_usd();
    let cost = u.cost_usd();
    let margin = revenue - cost;
    let margin_pct = margin_share(margin, revenue);
    CustomerMargin {
        customer_id: u.customer_id.clone(),
        subscription_tier: u.subscription_tier.clone(),
        tier_price_usd: u.tier_price_usd,
        customer_archetype: u.customer_archetype.clone(),
        organization_id: u.organization_id.clone(),
        first_day: u.first_day,
        last_day: u.last_day,
        active_days: u.active_days(),
        calls: u.calls,
        revenue_usd: revenue,
        cost_usd: cost,
        margin_usd: margin,
        margin_pct,
        band: MarginBand::of(margin, margin_pct, s),
    }
}

/// Margin ÷ revenue; a customer that pays nothing but costs something is at −100%.
fn margin_share(margin: f64, revenue: f64) -> f64 {
    if revenue > 0.0 {
        margin / revenue
    } else if margin < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Running sums over customers.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    customers: u64,
    revenue: f64,
    cost: f64,
    unprofitable: u64,
    active_days: u64,
    price: f64,
}

impl Sums {
    fn add(&mut self, c: &CustomerMargin) {
        self.customers += 1;
        self.revenue += c.revenue_usd;
        self.cost += c.cost_usd;
        self.unprofitable += u64::from(c.band == MarginBand::Unprofitable);
        self.active_days += u64::from(c.active_days);
        self.price = self.price.max(c.tier_price_usd);
    }

    fn of<'a>(customers: impl Iterator<Item = &'a CustomerMargin>) -> Sums {
        let mut s = Sums::default();
        customers.for_each(|c| s.add(c));
        s
    }

    fn margin(&self) -> f64 {
        self.revenue - self.cost
    }

    fn margin_pct(&self) -> f64 {
        margin_share(self.margin(), self.revenue)
    }
}

/// Customers grouped by `key`, each in exactly one group, sorted by key.
fn group(
    customers: &[CustomerMargin],
    key: impl Fn(&CustomerMargin) -> String,
    s: &ProfitabilitySettings,
) -> Vec<GroupMargin> {
    let mut groups: BTreeMap<String, Sums> = BTreeMap::new();
    for c in customers {
        groups.entry(key(c)).or_default().add(c);
    }
    groups
        .into_iter()
        .map(|(name, sums)| GroupMargin {
            name,
            tier_price_usd: sums.price,
            customers: sums.customers,
            revenue_usd: sums.revenue,
            cost_usd: sums.cost,
            margin_usd: sums.margin(),
            margin_pct: sums.margin_pct(),
            unprofitable_customers: sums.unprofitable,
            avg_active_days: ratio(sums.active_days as f64, sums.customers as f64),
            below_floor: sums.margin_pct() < s.tier_margin_floor,
        })
        .collect()
}

fn recommend(
    t: &PortfolioMargin,
    tiers: &[GroupMargin],
    unprofitable: &[CustomerMargin],
    s: &ProfitabilitySettings,
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    if !unprofitable.is_empty() {
        let loss: f64 = -unprofitable.iter().map(|c| c.margin_usd).sum::<f64>();
        let worst: Vec<String> = unprofitable
            .iter()
            .take(3)
            .map(|c| {
                format!(
                    "{} ({} tier, {} user: {} cost against {} revenue)",
                    c.customer_id,
                    c.subscription_tier,
                    c.customer_archetype,
                    h::usd(c.cost_usd),
                    h::usd(c.revenue_usd)
                )
            })
            .collect();
        out.push(Recommendation {
            severity: Severity::Critical,
            title: "Customers that cost more than they pay".into(),
            message: format!(
                "{} customer(s) lose {} in all. Largest losses: {}.",
                unprofitable.len(),
                h::usd(loss),
                worst.join("; ")
            ),
            action: "Move them to a tier that covers their usage, or bill their usage beyond the tier's allowance \
                     (see the pricing strategy report)."
                .into(),
            amount_usd: Some(loss),
        });
    }
    for g in tiers.iter().filter(|g| g.below_floor) {
        let shortfall = (s.tier_margin_floor * g.revenue_usd - g.margin_usd).max(0.0);
        out.push(Recommendation {
            severity: Severity::High,
            title: format!("The {} tier is below the margin floor", g.name),
            message: format!(
                "The {} tier ({} a month, {} customers) earns {} against {} to serve: a {} margin, below the {} floor; \
                 {} of its customers are unprofitable.",
                g.name,
                h::usd(g.tier_price_usd),
                g.customers,
                h::usd(g.revenue_usd),
                h::usd(g.cost_usd),
                h::percent(g.margin_pct),
                h::percent(s.tier_margin_floor),
                g.unprofitable_customers
            ),
            action: format!(
                "Raise the {} price or cap its included usage; {} more margin brings it to the floor.",
                g.name,
                h::usd(shortfall)
            ),
            amount_usd: Some(shortfall),
        });
    }
    if t.low_margin_share > s.low_margin_share {
        out.push(Recommendation {
            severity: Severity::High,
            title: "Too many low-margin customers".into(),
            message: format!(
                "{} of {} customers ({}) earn less than a {} margin, above the {} limit.",
                t.low_margin_customers,
                t.customers,
                h::percent(t.low_margin_share),
                h::percent(s.medium_margin),
                h::percent(s.low_margin_share)
            ),
            action: "Review tier allowances and prices for the heaviest users of each tier.".into(),
            amount_usd: None,
        });
    }
    if t.margin_pct < s.target_margin {
        out.push(Recommendation {
            severity: Severity::High,
            title: "Portfolio margin below target".into(),
            message: format!(
                "The portfolio earns a {} margin ({} on {} revenue), below the {} target: {} short.",
                h::percent(t.margin_pct),
                h::usd(t.margin_usd),
                h::usd(t.revenue_usd),
                h::percent(s.target_margin),
                h::usd(t.shortfall_usd)
            ),
            action: "Reprice the tiers that fall short (above) or move heavy users to usage-based pricing.".into(),
            amount_usd: Some(t.shortfall_usd),
        });
    } else {
        out.push(Recommendation {
            severity: Severity::Info,
            title: "Portfolio margin on target".into(),
            message: format!(
                "The portfolio earns a {} margin ({} on {} revenue), at or above the {} target.",
                h::percent(t.margin_pct),
                h::usd(t.margin_usd),
                h::usd(t.revenue_usd),
                h::percent(s.target_margin)
            ),
            action: "Keep watching the tiers and customers listed here as usage grows.".into(),
            amount_usd: Some(t.margin_usd),
        });
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.severity));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ProfitabilitySettings {
        ProfitabilitySettings {
            high_margin: 0.5,
            medium_margin: 0.2,
            target_margin: 0.4,
            tier_margin_floor: 0.2,
            low_margin_share: 0.3,
            max_listed: 25,
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 1, d).unwrap()
    }

    fn usage(id: &str, tier: &str, price: f64, first: u32, last: u32, cost: f64) -> CustomerUsage {
        CustomerUsage {
            customer_id: id.into(),
            subscription_tier: tier.into(),
            tier_price_usd: price,
            customer_archetype: "light".into(),
            organization_id: "org_001".into(),
            first_day: day(first),
            last_day: day(last),
            calls: 10,
            cost_micros: (cost * 1e6).round() as i64,
            billable_tokens: 1000,
        }
    }

    #[test]
    fn revenue_is_prorated_to_the_active_days() {
        let full = usage("a", "pro", 99.0, 1, 30, 0.0);
        let churned = usage("b", "pro", 99.0, 1, 10, 0.0);
        let one_day = usage("c", "starter", 29.0, 5, 5, 0.0);
        assert_eq!(full.active_days(), 30);
        assert!((full.revenue_usd() - 99.0).abs() < 1e-12);
        assert_eq!(churned.active_days(), 10);
        assert!((churned.revenue_usd() - 33.0).abs() < 1e-12);
        assert!((one_day.revenue_usd() - 29.0 / 30.0).abs() < 1e-12);
    }

    #[test]
    fn bands_follow_the_thresholds() {
        let s = settings();
        assert_eq!(MarginBand::of(60.0, 0.6, &s), MarginBand::High);
        assert_eq!(MarginBand::of(50.0, 0.5, &s), MarginBand::Medium);
        assert_eq!(MarginBand::of(20.0, 0.2, &s), MarginBand::Medium);
        assert_eq!(MarginBand::of(19.0, 0.19, &s), MarginBand::Low);
        assert_eq!(MarginBand::of(0.0, 0.0, &s), MarginBand::Low);
        assert_eq!(MarginBand::of(-0.01, -0.001, &s), MarginBand::Unprofitable);
    }

    #[test]
    fn a_churned_heavy_user_is_unprofitable_and_tiers_sum_to_the_total() {
        let s = settings();
        let rows = vec![
            usage("a", "starter", 29.0, 1, 30, 5.0), // 29.00 revenue, 82.8% margin: high
            usage("b", "pro", 99.0, 1, 15, 60.0),    // 49.50 revenue, loses 10.50
            usage("c", "pro", 99.0, 1, 30, 70.0),    // 99.00 revenue, 29.3%: medium
            usage("d", "enterprise", 299.0, 1, 30, 250.0), // 16.4%: low
        ];
        let r = profitability(&rows, 0, 30, &s);
        assert!((r.totals.revenue_usd - (29.0 + 49.5 + 99.0 + 299.0)).abs() < 1e-9);
        assert!((r.totals.cost_usd - 385.0).abs() < 1e-9);
        let tier_revenue: f64 = r.by_tier.iter().map(|t| t.revenue_usd).sum();
        assert!((tier_revenue - r.totals.revenue_usd).abs() < 1e-9);
        assert_eq!(r.by_tier.iter().map(|t| t.customers).sum::<u64>(), 4);
        assert_eq!(
            r.by_tier.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["starter", "pro", "enterprise"]
        );
        let counts: Vec<u64> = r.bands.iter().map(|b| b.customers).collect();
        assert_eq!(counts, [1, 1, 1, 1]);
        assert_eq!(r.unprofitable.len(), 1);
        assert_eq!(r.unprofitable[0].customer_id, "b");
        assert!((r.unprofitable[0].margin_usd + 10.5).abs() < 1e-9);
        // pro: (148.5 - 130) / 148.5 = 12.5% < 20% floor; enterprise 16.4% too; starter is fine.
        let floors: Vec<bool> = r.by_tier.iter().map(|t| t.below_floor).collect();
        assert_eq!(floors, [false, true, true]);
        assert_eq!(r.totals.low_margin_customers, 2);
        assert!(r.recommendations.iter().any(|x| x.title.contains("pro tier")));
        assert!(r.recommendations.iter().any(|x| x.message.contains("b (pro tier")));
        assert_eq!(r.recommendations[0].severity, Severity::Critical);
    }

    #[test]
    fn a_customer_with_two_tiers_is_counted_once_in_its_main_tier() {
        let mut a1 = usage("a", "starter", 29.0, 1, 10, 1.0);
        a1.calls = 5;
        let mut a2 = usage("a", "pro", 99.0, 11, 30, 2.0);
        a2.calls = 50;
        let (merged, several) = merge_tiers(vec![a1, a2, usage("b", "pro", 99.0, 1, 30, 1.0)]);
        assert_eq!(several, 1);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].subscription_tier, "pro");
        assert_eq!(merged[0].calls, 55);
        assert_eq!(merged[0].active_days(), 30);
        assert_eq!(merged[0].cost_micros, 3_000_000);
    }
}
