//! The profitability analyzer against independent folds over the rows (read with arrow, not
//! Polars): revenue prorated to active days, cost, margin, bands, and tiers that count every
//! customer once — on the fixture and on a derived dataset with churned and late customers.

mod analyze_derived;
mod analyze_support;
mod common;

use std::collections::BTreeMap;

use analyze_derived::{CHURN_AFTER_DAYS, CustomerFold, START_DAY, customer_folds, derived, setting};
use analyze_support::{assert_close, fixture};
use trafficsim::analyze::profitability::{MarginBand, ProfitabilityResult};

fn band(margin: f64, revenue: f64) -> MarginBand {
    let pct = margin / revenue;
    if margin < 0.0 {
        MarginBand::Unprofitable
    } else if pct > setting("profitability", "high_margin") {
        MarginBand::High
    } else if pct >= setting("profitability", "medium_margin") {
        MarginBand::Medium
    } else {
        MarginBand::Low
    }
}

/// Every customer's revenue, cost, margin and band, the totals, and the band counts match.
fn assert_customers(r: &ProfitabilityResult, want: &BTreeMap<String, CustomerFold>) {
    assert_eq!(r.customers.len(), want.len(), "one row per customer");
    assert_eq!(r.totals.customers, want.len() as u64);
    let mut bands: BTreeMap<MarginBand, u64> = BTreeMap::new();
    for c in &r.customers {
        let w = &want[&c.customer_id];
        assert_eq!(c.subscription_tier, w.tier);
        assert_eq!(c.customer_archetype, w.archetype);
        assert_eq!(i64::from(c.active_days), w.active_days(), "{}", c.customer_id);
        assert_eq!(c.calls, w.calls);
        assert_close(c.revenue_usd, w.revenue(), &format!("{} revenue", c.customer_id));
        assert_close(c.cost_usd, w.cost, &format!("{} cost", c.customer_id));
        assert_close(c.margin_usd, w.revenue() - w.cost, &format!("{} margin", c.customer_id));
        assert_close(c.margin_pct, (w.revenue() - w.cost) / w.revenue(), &c.customer_id);
        assert_eq!(c.band, band(w.revenue() - w.cost, w.revenue()), "{}", c.customer_id);
        *bands.entry(c.band).or_default() += 1;
    }
    let revenue: f64 = want.values().map(|c| c.revenue()).sum();
    let cost: f64 = want.values().map(|c| c.cost).sum();
    assert_close(r.totals.revenue_usd, revenue, "total revenue");
    assert_close(r.totals.cost_usd, cost, "total cost");
    assert_close(r.totals.margin_pct, (revenue - cost) / revenue, "total margin %");
    for b in &r.bands {
        assert_eq!(
            b.customers,
            bands.get(&b.band).copied().unwrap_or(0),
            "{:?} band",
            b.band
        );
    }
    assert_eq!(r.bands.iter().map(|b| b.customers).sum::<u64>(), want.len() as u64);
    assert!(
        r.customers.windows(2).all(|w| w[0].margin_pct <= w[1].margin_pct),
        "lowest margin first"
    );
}

/// Tier rows: each customer in exactly one, sums equal to the fold's, and to the totals.
fn assert_tiers(r: &ProfitabilityResult, want: &BTreeMap<String, CustomerFold>) {
    let mut by_tier: BTreeMap<&str, (u64, f64, f64, f64)> = BTreeMap::new();
    for c in want.values() {
        let t = by_tier.entry(&c.tier).or_default();
        t.0 += 1;
        t.1 += c.revenue();
        t.2 += c.cost;
        t.3 = c.price;
    }
    assert_eq!(r.by_tier.len(), by_tier.len());
    for t in &r.by_tier {
        let (n, revenue, cost, price) = by_tier[t.name.as_str()];
        assert_eq!(t.customers, n, "{} customers", t.name);
        assert_close(t.revenue_usd, revenue, &format!("{} revenue", t.name));
        assert_close(t.cost_usd, cost, &format!("{} cost", t.name));
        assert_eq!(t.tier_price_usd, price);
        let floor = setting("profitability", "tier_margin_floor");
        assert_eq!(
            t.below_floor,
            (revenue - cost) / revenue < floor,
            "{} floor flag",
            t.name
        );
    }
    // The original's fault: tier revenue summed to four times the total. Here it is the total.
    let tier_revenue: f64 = r.by_tier.iter().map(|t| t.revenue_usd).sum();
    assert_close(tier_revenue, r.totals.revenue_usd, "tier revenue sums to the total");
    assert_eq!(r.by_tier.iter().map(|t| t.customers).sum::<u64>(), r.totals.customers);
    assert!(
        r.by_tier.windows(2).all(|w| w[0].tier_price_usd <= w[1].tier_price_usd),
        "cheapest tier first"
    );
}

#[test]
fn customer_margins_and_bands_match_a_fold_over_the_rows() {
    let r: ProfitabilityResult = fixture().typed("profitability");
    assert_customers(&r, &customer_folds(&fixture().rows));
}

#[test]
fn each_customer_counts_once_and_tier_revenue_sums_to_the_total() {
    let r: ProfitabilityResult = fixture().typed("profitability");
    assert_tiers(&r, &customer_folds(&fixture().rows));
    let archetypes: u64 = r.by_archetype.iter().map(|a| a.customers).sum();
    assert_eq!(archetypes, r.totals.customers);
    let cells: f64 = r.by_tier_archetype.iter().map(|c| c.revenue_usd).sum();
    assert_close(cells, r.totals.revenue_usd, "tier × archetype revenue");
}

#[test]
fn churned_and_late_customers_pay_for_their_active_days_only() {
    let d = derived();
    let r: ProfitabilityResult = d.typed("profitability");
    let want = customer_folds(&d.rows);
    assert_customers(&r, &want);
    assert_tiers(&r, &want);
    let row = |id: &str| r.customers.iter().find(|c| c.customer_id == id).unwrap();
    let churned = row(&d.churned_customer);
    assert!(i64::from(churned.active_days) <= CHURN_AFTER_DAYS, "{churned:?}");
    assert_close(
        churned.revenue_usd,
        churned.tier_price_usd * f64::from(churned.active_days) / 30.0,
        "churned revenue",
    );
    let late = row(&d.late_customer);
    assert!(i64::from(late.active_days) <= 30 - START_DAY, "{late:?}");
    assert!(late.first_day >= d.window_start + chrono::Days::new(START_DAY as u64));
}

#[test]
fn unprofitable_customers_are_listed_with_tier_and_archetype() {
    // The derived dataset's dear organization makes some customers cost more than they pay.
    let d = derived();
    let r: ProfitabilityResult = d.typed("profitability");
    let want = customer_folds(&d.rows);
    let mut losers: Vec<(&String, f64)> = want
        .iter()
        .map(|(id, c)| (id, c.revenue() - c.cost))
        .filter(|(_, m)| *m < 0.0)
        .collect();
    losers.sort_by(|a, b| a.1.total_cmp(&b.1));
    assert!(!losers.is_empty(), "the dear organization has unprofitable customers");
    assert_eq!(r.unprofitable.len(), losers.len());
    assert_eq!(r.totals.unprofitable_customers, losers.len() as u64);
    for (got, (id, margin)) in r.unprofitable.iter().zip(&losers) {
        assert_eq!(&got.customer_id, *id, "largest loss first");
        assert_close(got.margin_usd, *margin, id);
        assert_eq!(got.subscription_tier, want[*id].tier);
        assert_eq!(got.customer_archetype, want[*id].archetype);
    }
    let alert = &r.recommendations[0];
    assert_eq!(alert.title, "Customers that cost more than they pay");
    assert!(alert.message.contains(losers[0].0.as_str()), "{}", alert.message);
    assert_close(
        alert.amount_usd.unwrap(),
        -losers.iter().map(|l| l.1).sum::<f64>(),
        "loss",
    );
    // The page lists them, with the three charts.
    let page = d.read("profitability.html");
    assert!(page.contains(losers[0].0.as_str()));
    assert_eq!(page.matches("<svg").count(), 3);
}

#[test]
fn portfolio_flags_follow_the_thresholds() {
    for r in [
        fixture().typed::<ProfitabilityResult>("profitability"),
        derived().typed("profitability"),
    ] {
        let t = &r.totals;
        let low = r
            .customers
            .iter()
            .filter(|c| c.margin_pct < setting("profitability", "medium_margin"))
            .count() as u64;
        assert_eq!(t.low_margin_customers, low);
        let target = setting("profitability", "target_margin");
        assert_close(
            t.shortfall_usd,
            (target * t.revenue_usd - t.margin_usd).max(0.0),
            "shortfall",
        );
        let has = |title: &str| r.recommendations.iter().any(|x| x.title.contains(title));
        assert_eq!(has("below target"), t.margin_pct < target);
        assert_eq!(has("on target"), t.margin_pct >= target);
        assert_eq!(
            has("Too many low-margin customers"),
            t.low_margin_share > setting("profitability", "low_margin_share")
        );
        for tier in &r.by_tier {
            assert_eq!(has(&format!("The {} tier", tier.name)), tier.below_floor);
        }
    }
}
