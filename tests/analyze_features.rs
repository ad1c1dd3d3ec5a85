//! The feature economics analyzer against independent folds over the rows: cost, calls and
//! adopters per feature, adoption bands, the investment matrix, bundles — and a feature launched
//! mid-window (derived dataset).

mod analyze_derived;
mod analyze_support;
mod common;

use std::collections::{BTreeMap, BTreeSet};

use analyze_derived::{START_DAY, derived, setting};
use analyze_support::{assert_close, fixture};
use arrow::array::RecordBatch;
use common::{floats, strings};
use trafficsim::analyze::features::{AdoptionBand, FeaturesResult, Quadrant};

/// Per feature: calls, cost, adopting customers, products; and all customers.
struct Fold {
    features: BTreeMap<String, (u64, f64, BTreeSet<String>, BTreeSet<String>)>,
    customers: BTreeSet<String>,
    product_customers: BTreeMap<String, BTreeSet<String>>,
    customer_features: BTreeMap<String, BTreeSet<String>>,
}

fn fold(b: &RecordBatch) -> Fold {
    let (customers, products, features) = (
        strings(b, "customer_id"),
        strings(b, "product_id"),
        strings(b, "feature_id"),
    );
    let cost = floats(b, "cost_usd");
    let mut f = Fold {
        features: BTreeMap::new(),
        customers: BTreeSet::new(),
        product_customers: BTreeMap::new(),
        customer_features: BTreeMap::new(),
    };
    for i in 0..b.num_rows() {
        let e = f.features.entry(features[i].to_string()).or_default();
        e.0 += 1;
        e.1 += cost[i];
        e.2.insert(customers[i].to_string());
        e.3.insert(products[i].to_string());
        f.customers.insert(customers[i].to_string());
        f.product_customers
            .entry(products[i].to_string())
            .or_default()
            .insert(customers[i].to_string());
        f.customer_features
            .entry(customers[i].to_string())
            .or_default()
            .insert(features[i].to_string());
    }
    f
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn check(r: &FeaturesResult, b: &RecordBatch) {
    let f = fold(b);
    let n = f.customers.len() as f64;
    assert_eq!(r.customers, f.customers.len() as u64);
    assert_eq!(r.features.len(), f.features.len());
    let total: f64 = f.features.values().map(|v| v.1).sum();
    assert_close(r.cost_usd, total, "total cost");
    let med = median(f.features.values().map(|v| v.1).collect());
    assert_close(r.median_feature_cost_usd, med, "median feature cost");
    for x in &r.features {
        let (calls, cost, adopters, products) = &f.features[&x.cost.name];
        let adoption = adopters.len() as f64 / n;
        assert_eq!(x.cost.calls, *calls, "{}", x.cost.name);
        assert_close(x.cost.cost_usd, *cost, &x.cost.name);
        assert_close(x.cost.cost_share, cost / total, &x.cost.name);
        assert_eq!(x.adopters, adopters.len() as u64, "{}", x.cost.name);
        assert_close(x.adoption_rate, adoption, &x.cost.name);
        assert_close(x.cost_per_adopter, cost / adopters.len() as f64, &x.cost.name);
        assert!(products.contains(&x.product_id));
        let of_product: BTreeSet<&String> = products.iter().flat_map(|p| &f.product_customers[p]).collect();
        assert_close(
            x.product_adoption_rate,
            adopters.len() as f64 / of_product.len() as f64,
            &x.cost.name,
        );
        let band = if adoption > setting("features", "adoption_high") {
            AdoptionBand::High
        } else if adoption > setting("features", "adoption_medium") {
            AdoptionBand::Medium
        } else {
            AdoptionBand::Low
        };
        assert_eq!(x.adoption_band, band, "{}", x.cost.name);
        let wide = adoption > setting("features", "invest_adoption");
        let quadrant = match (wide, *cost > med) {
            (true, false) => Quadrant::Invest,
            (true, true) => Quadrant::Optimize,
            (false, false) => Quadrant::Maintain,
            (false, true) => Quadrant::Sunset,
        };
        assert_eq!(x.quadrant, quadrant, "{}", x.cost.name);
    }
    assert!(
        r.features.windows(2).all(|w| w[0].cost.cost_usd >= w[1].cost.cost_usd),
        "dearest first"
    );
    for band in &r.adoption_bands {
        let count = r.features.iter().filter(|x| x.adoption_band == band.band).count() as u64;
        assert_eq!(band.features, count);
    }
    let in_matrix: usize = r.matrix.iter().map(|q| q.features.len()).sum();
    assert_eq!(in_matrix, r.features.len(), "every feature in one quadrant");

    // Bundles: every pair of features of one customer, counted once per customer.
    let mut pairs: BTreeMap<(String, String), u64> = BTreeMap::new();
    for used in f.customer_features.values() {
        for a in used {
            for b in used.range::<String, _>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded)) {
                *pairs.entry((a.clone(), b.clone())).or_default() += 1;
            }
        }
    }
    let min_share = setting("features", "bundle_min_share");
    let mut want: Vec<((String, String), u64)> = pairs.into_iter().filter(|(_, c)| *c as f64 / n > min_share).collect();
    assert_eq!(r.bundle_pairs_above_threshold, want.len() as u64);
    want.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    want.truncate(setting("features", "top_bundles") as usize);
    let got: Vec<((String, String), u64)> = r
        .bundles
        .iter()
        .map(|x| ((x.feature_a.clone(), x.feature_b.clone()), x.customers))
        .collect();
    assert_eq!(got, want);
    for x in &r.bundles {
        assert_close(x.share, x.customers as f64 / n, "bundle share");
    }
}

#[test]
fn cost_adoption_matrix_and_bundles_match_a_fold_over_the_rows() {
    let r: FeaturesResult = fixture().typed("features");
    check(&r, &fixture().rows);
    assert!(!r.bundles.is_empty(), "the fixture has features used together");
    // The product's features run from day one; the feature_launch scenario's launches mid-window.
    for x in &r.features {
        assert_eq!(x.first_seen_in_window, x.cost.name == "ai_assistant", "{}", x.cost.name);
    }
}

#[test]
fn a_feature_launched_mid_window_shows_its_first_day_and_adoption_since() {
    let d = derived();
    let r: FeaturesResult = d.typed("features");
    check(&r, &d.rows);
    let launched = r.features.iter().find(|x| x.cost.name == d.launched_feature).unwrap();
    assert!(launched.first_seen_in_window);
    assert!(launched.first_day >= d.window_start + chrono::Days::new(START_DAY as u64));
    // Adoption since launch: adopters ÷ customers whose last call is on or after its first day.
    let f = analyze_derived::customer_folds(&d.rows);
    let live = f.values().filter(|c| c.last.unwrap() >= launched.first_day).count();
    assert!(live < f.len(), "the churned customer left before the launch");
    assert_close(
        launched.adoption_since_first_day,
        launched.adopters as f64 / live as f64,
        "since launch",
    );
    assert!(
        r.recommendations
            .iter()
            .any(|x| x.title == format!("{} is new in the window", d.launched_feature))
    );
    let page = d.read("features.html");
    assert!(page.contains("Features first seen during the window"));
}

#[test]
fn recommendations_follow_the_matrix_and_the_page_draws_it() {
    let r: FeaturesResult = fixture().typed("features");
    for x in &r.features {
        let has = |prefix: &str| {
            r.recommendations
                .iter()
                .any(|y| y.title == format!("{prefix} {}", x.cost.name))
        };
        match x.quadrant {
            Quadrant::Sunset if x.quadrant_in_product == Quadrant::Sunset => assert!(has("Rework or retire")),
            Quadrant::Sunset => assert!(has("Review")),
            Quadrant::Optimize => assert!(has("Cut the cost of")),
            Quadrant::Invest => assert!(has("Invest in")),
            Quadrant::Maintain => {
                assert!(
                    !["Rework or retire", "Review", "Cut the cost of", "Invest in"]
                        .iter()
                        .any(|p| has(p))
                )
            }
        }
    }
    let page = fixture().read("features.html");
    assert_eq!(page.matches("<svg").count(), 3, "matrix, cost per adopter, bundles");
    for q in ["invest", "maintain", "optimize", "sunset"] {
        assert!(page.contains(q));
    }
}
