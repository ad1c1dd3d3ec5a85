//! Feature economics from the rows: usage per (customer, product, feature), adoption, the
//! investment matrix, bundles and the recommendations.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, NaiveDate};

use super::{
    AdoptionBand, BandCount, Bundle, FeatureEconomics, FeatureSettings, FeaturesResult, Quadrant, QuadrantSummary,
};
use crate::analyze::Context;
use crate::analyze::frame::{CostGroup, Totals, desc, ratio, usd};
use crate::analyze::grouped::{Grouped, fold_totals, usage_cells};
use crate::report::html::{self as h, Recommendation, Severity};

/// One customer's use of one feature (of one product).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureUse {
    pub customer_id: String,
    pub product_id: String,
    pub feature_id: String,
    pub totals: Totals,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

/// Every (customer, product, feature) with its sums and first and last day (UTC), sorted: the
/// organization page's cells rolled up over organization and environment, or a fold of its own
/// when the data lacks those two columns.
pub(super) fn usage(ctx: &Context<'_>) -> Result<Vec<FeatureUse>> {
    // Where the customer, product and feature are among the cells' keys.
    let (cells, at) = if ctx.has_column("organization_id") && ctx.has_column("environment") {
        (usage_cells(ctx)?, [4, 1, 2])
    } else {
        let keys = ["customer_id", "product_id", "feature_id"];
        (Arc::new(fold_totals(ctx, &keys)?), [0, 1, 2])
    };
    let names = |g: &Grouped| at.map(|i| g.keys.get(i).cloned().unwrap_or_default());
    let mut rolled: BTreeMap<[String; 3], (Totals, i64, i64)> = BTreeMap::new();
    for g in cells.iter() {
        let (t, first, last) = rolled
            .entry(names(g))
            .or_insert((Totals::default(), i64::MAX, i64::MIN));
        t.add(&g.totals);
        (*first, *last) = ((*first).min(g.first_us), (*last).max(g.last_us));
    }
    let day = |us: i64| DateTime::from_timestamp_micros(us).map_or(NaiveDate::MIN, |t| t.date_naive());
    Ok(rolled
        .into_iter()
        .map(
            |([customer_id, product_id, feature_id], (totals, first, last))| FeatureUse {
                customer_id,
                product_id,
                feature_id,
                totals,
                first_day: day(first),
                last_day: day(last),
            },
        )
        .collect())
}

/// The analysis proper, over plain rows.
pub fn features(rows: &[FeatureUse], window_start: NaiveDate, s: &FeatureSettings) -> FeaturesResult {
    // Each customer's last day, and the customers of each product.
    let mut customer_last: BTreeMap<&str, NaiveDate> = BTreeMap::new();
    let mut product_customers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in rows {
        let last = customer_last.entry(&r.customer_id).or_insert(r.last_day);
        *last = (*last).max(r.last_day);
        product_customers
            .entry(&r.product_id)
            .or_default()
            .insert(&r.customer_id);
    }
    let n = customer_last.len() as u64;

    struct Acc<'a> {
        totals: Totals,
        adopters: BTreeSet<&'a str>,
        product_calls: BTreeMap<&'a str, u64>,
        first: NaiveDate,
        last: NaiveDate,
    }
    let mut by_feature: BTreeMap<&str, Acc<'_>> = BTreeMap::new();
    let mut all = Totals::default();
    for r in rows {
        all.add(&r.totals);
        let acc = by_feature.entry(&r.feature_id).or_insert_with(|| Acc {
            totals: Totals::default(),
            adopters: BTreeSet::new(),
            product_calls: BTreeMap::new(),
            first: r.first_day,
            last: r.last_day,
        });
        acc.totals.add(&r.totals);
        acc.adopters.insert(&r.customer_id);
        *acc.product_calls.entry(&r.product_id).or_default() += r.totals.calls;
        acc.first = acc.first.min(r.first_day);
        acc.last = acc.last.max(r.last_day);
    }

    let costs: Vec<f64> = by_feature.values().map(|a| a.totals.cost_usd()).collect();
    let median_cost = median(&costs);
    let mut features: Vec<FeatureEconomics> = by_feature
        .iter()
        .map(|(&feature, acc)| {
            let product = acc
                .product_calls
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map_or("", |(p, _)| *p);
            let of_products: BTreeSet<&str> = acc
                .product_calls
                .keys()
                .flat_map(|p| product_customers[p].iter().copied())
                .collect();
            let adopters = acc.adopters.len() as u64;
            let adoption = ratio(adopters as f64, n as f64);
            let live_customers = customer_last.values().filter(|&&d| d >= acc.first).count();
            let cost = acc.totals.cost_usd();
            FeatureEconomics {
                cost: CostGroup::new(feature, &acc.totals, all.cost_micros),
                product_id: product.to_string(),
                adopters,
                adoption_rate: adoption,
                adoption_band: AdoptionBand::of(adoption, s),
                product_customers: of_products.len() as u64,
                product_adoption_rate: ratio(adopters as f64, of_products.len() as f64),
                cost_per_adopter: ratio(cost, adopters as f64),
                first_day: acc.first,
                last_day: acc.last,
                first_seen_in_window: acc.first > window_start,
                adoption_since_first_day: ratio(adopters as f64, live_customers as f64),
                quadrant: Quadrant::of(adoption > s.invest_adoption, cost > median_cost),
                quadrant_in_product: Quadrant::of(
                    ratio(adopters as f64, of_products.len() as f64) > s.invest_adoption,
                    cost > median_cost,
                ),
            }
        })
        .collect();
    features.sort_by(|a, b| desc(a.cost.cost_usd, b.cost.cost_usd).then_with(|| a.cost.name.cmp(&b.cost.name)));

    let adoption_bands = AdoptionBand::ALL
        .iter()
        .map(|&band| BandCount {
            band,
            features: features.iter().filter(|f| f.adoption_band == band).count() as u64,
        })
        .collect();
    let matrix: Vec<QuadrantSummary> = Quadrant::ALL
        .iter()
        .map(|&quadrant| {
            let members: Vec<&FeatureEconomics> = features.iter().filter(|f| f.quadrant == quadrant).collect();
            QuadrantSummary {
                quadrant,
                features: members.iter().map(|f| f.cost.name.clone()).collect(),
                cost_usd: usd(members
                    .iter()
                    .map(|f| by_feature[f.cost.name.as_str()].totals.cost_micros)
                    .sum()),
            }
        })
        .collect();
    let (bundles, above) = bundles(rows, &features, n, s);
    let recommendations = recommend(&features, &bundles, median_cost, s);
    FeaturesResult {
        customers: n,
        calls: all.calls,
        cost_usd: all.cost_usd(),
        median_feature_cost_usd: median_cost,
        invest_adoption: s.invest_adoption,
        features,
        adoption_bands,
        matrix,
        bundles,
        bundle_pairs_above_threshold: above,
        recommendations,
    }
}

/// The median (mean of the middle two for an even count); 0 when empty.
fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Feature pairs by the customers that use both; those above the threshold, top N.
fn bundles(rows: &[FeatureUse], features: &[FeatureEconomics], n: u64, s: &FeatureSettings) -> (Vec<Bundle>, u64) {
    let mut per_customer: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in rows {
        per_customer.entry(&r.customer_id).or_default().insert(&r.feature_id);
    }
    let mut pairs: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for used in per_customer.values() {
        let used: Vec<&str> = used.iter().copied().collect();
        for (i, a) in used.iter().enumerate() {
            for b in &used[i + 1..] {
                *pairs.entry((a, b)).or_default() += 1;
            }
        }
    }
    let adoption: BTreeMap<&str, f64> = features
        .iter()
        .map(|f| (f.cost.name.as_str(), f.adoption_rate))
        .collect();
    let mut out: Vec<Bundle> = pairs
        .into_iter()
        .map(|((a, b), customers)| {
            let share = ratio(customers as f64, n as f64);
            Bundle {
                feature_a: a.to_string(),
                feature_b: b.to_string(),
                customers,
                share,
                lift: ratio(share, adoption[a] * adoption[b]),
            }
        })
        .filter(|b| b.share > s.bundle_min_share)
        .collect();
    let above = out.len() as u64;
    out.sort_by(|x, y| {
        y.customers
            .cmp(&x.customers)
            .then_with(|| (&x.feature_a, &x.feature_b).cmp(&(&y.feature_a, &y.feature_b)))
    });
    out.truncate(s.top_bundles as usize);
    (out, above)
}

fn recommend(
    features: &[FeatureEconomics],
    bundles: &[Bundle],
    median_cost: f64,
    s: &FeatureSettings,
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    for f in features {
        let contradicted = f.quadrant == Quadrant::Sunset && f.quadrant_in_product != Quadrant::Sunset;
        let (severity, title, action) = match f.quadrant {
            Quadrant::Sunset if contradicted => (
                Severity::Medium,
                format!("Review {}", f.cost.name),
                format!(
                    "Keep {} for {}'s customers, but cut its cost per call ({}): it is dear for its reach.",
                    f.cost.name,
                    f.product_id,
                    h::usd(f.cost.cost_per_call)
                ),
            ),
            Quadrant::Sunset => (
                Severity::High,
                format!("Rework or retire {}", f.cost.name),
                format!(
                    "Find out why {} of customers use {}; cut its cost per call ({}) or retire it.",
                    h::percent(f.adoption_rate),
                    f.cost.name,
                    h::usd(f.cost.cost_per_call)
                ),
            ),
            Quadrant::Optimize => (
                Severity::Medium,
                format!("Cut the cost of {}", f.cost.name),
                format!(
                    "Move {}'s calls to cheaper models or cache its answers: every 10% off its cost per call saves {}.",
                    f.cost.name,
                    h::usd(f.cost.cost_usd * 0.1)
                ),
            ),
            Quadrant::Invest => (
                Severity::Info,
                format!("Invest in {}", f.cost.name),
                format!(
                    "Promote {} to the customers of {} who do not use it yet.",
                    f.cost.name, f.product_id
                ),
            ),
            Quadrant::Maintain => continue,
        };
        let in_product = if f.quadrant_in_product == f.quadrant {
            String::new()
        } else {
            format!(
                " Among {}'s customers its adoption is {}, which places it in '{}'.",
                f.product_id,
                h::percent(f.product_adoption_rate),
                f.quadrant_in_product.as_str()
            )
        };
        out.push(Recommendation {
            severity,
            title,
            message: format!(
                "{} ({}) costs {} ({} of the total, {} per adopting customer) and is used by {} customers: {} adoption \
                 against the {} split, cost {} the {} median.{}",
                f.cost.name,
                f.product_id,
                h::usd(f.cost.cost_usd),
                h::percent(f.cost.cost_share),
                h::usd(f.cost_per_adopter),
                f.adopters,
                h::percent(f.adoption_rate),
                h::percent(s.invest_adoption),
                if f.cost.cost_usd > median_cost {
                    "above"
                } else {
                    "at or below"
                },
                h::usd(median_cost),
                in_product
            ),
            action,
            amount_usd: Some(f.cost.cost_usd),
        });
    }
    for f in features.iter().filter(|f| f.first_seen_in_window) {
        out.push(Recommendation {
            severity: Severity::Info,
            title: format!("{} is new in the window", f.cost.name),
            message: format!(
                "{} was first used on {}; {} customers adopted it: {} of all customers, {} of those active since.",
                f.cost.name,
                f.first_day,
                f.adopters,
                h::percent(f.adoption_rate),
                h::percent(f.adoption_since_first_day)
            ),
            action: "Judge its adoption on the customers active since launch, and again after a full month.".into(),
            amount_usd: Some(f.cost.cost_usd),
        });
    }
    if let Some(b) = bundles.first() {
        out.push(Recommendation {
            severity: Severity::Info,
            title: format!("Bundle {} and {}", b.feature_a, b.feature_b),
            message: format!(
                "{} customers ({}) use both {} and {} (lift {:.2}).",
                b.customers,
                h::percent(b.share),
                b.feature_a,
                b.feature_b,
                b.lift
            ),
            action: "Package them together, and offer the pair to customers who use only one.".into(),
            amount_usd: None,
        });
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.severity));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> FeatureSettings {
        FeatureSettings {
            adoption_high: 0.6,
            adoption_medium: 0.3,
            invest_adoption: 0.4,
            bundle_min_share: 0.2,
            top_bundles: 10,
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 1, d).unwrap()
    }

    fn used(customer: &str, feature: &str, cost: f64, first: u32, last: u32) -> FeatureUse {
        FeatureUse {
            customer_id: customer.into(),
            product_id: "p".into(),
            feature_id: feature.into(),
            totals: Totals {
                calls: 10,
                successes: 10,
                cost_micros: (cost * 1e6).round() as i64,
                input_tokens: 1000,
                output_tokens: 1000,
                latency_ms: 0,
            },
            first_day: day(first),
            last_day: day(last),
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn adoption_matrix_and_bundles() {
        let s = settings();
        // Five customers. chat: 4 adopters, cheap; code: 3 adopters, dear; docs: 1 adopter, dear;
        // new: launched on day 20, 1 adopter of the 2 customers still active then.
        let rows = vec![
            used("a", "chat", 1.0, 1, 30),
            used("a", "code", 10.0, 1, 30),
            used("a", "new", 0.5, 20, 30),
            used("b", "chat", 1.0, 1, 30),
            used("b", "code", 10.0, 1, 30),
            used("c", "chat", 1.0, 1, 10),
            used("c", "code", 10.0, 1, 10),
            used("d", "chat", 1.0, 1, 10),
            used("e", "docs", 20.0, 1, 10),
        ];
        let r = features(&rows, day(1), &s);
        assert_eq!(r.customers, 5);
        let f = |id: &str| r.features.iter().find(|f| f.cost.name == id).unwrap();
        assert_eq!(f("chat").adopters, 4);
        assert!((f("chat").adoption_rate - 0.8).abs() < 1e-12);
        assert_eq!(f("chat").adoption_band, AdoptionBand::High);
        assert_eq!(f("code").adoption_band, AdoptionBand::Medium);
        assert_eq!(f("docs").adoption_band, AdoptionBand::Low);
        // Costs 4, 30, 0.5, 20: median 12. chat widely adopted and cheap, code widely adopted and dear.
        assert!((r.median_feature_cost_usd - 12.0).abs() < 1e-12);
        assert_eq!(f("chat").quadrant, Quadrant::Invest);
        assert_eq!(f("code").quadrant, Quadrant::Optimize);
        assert_eq!(f("docs").quadrant, Quadrant::Sunset);
        assert_eq!(f("new").quadrant, Quadrant::Maintain);
        assert!((f("code").cost_per_adopter - 10.0).abs() < 1e-12);
        assert!(f("new").first_seen_in_window);
        assert!((f("new").adoption_since_first_day - 0.5).abs() < 1e-12);
        // Pairs: chat+code 3 (60%), chat+new 1, code+new 1 (20%, not above the threshold).
        assert_eq!(r.bundles.len(), 1);
        assert_eq!(
            (r.bundles[0].feature_a.as_str(), r.bundles[0].feature_b.as_str()),
            ("chat", "code")
        );
        assert_eq!(r.bundles[0].customers, 3);
        assert!((r.bundles[0].lift - 0.6 / (0.8 * 0.6)).abs() < 1e-12);
        assert_eq!(r.features[0].cost.name, "code");
    }
}
