//! The organizational alignment analyzer against independent folds over the rows: chargeback by
//! organization, product, feature and environment, feature adoption, organization splits, and
//! cross-organization efficiency — with an organization made ten times dearer (derived dataset).

mod analyze_derived;
mod analyze_support;
mod common;

use std::collections::{BTreeMap, BTreeSet};

use analyze_derived::{DEAR_FACTOR, derived, setting};
use analyze_support::{assert_close, fixture};
use arrow::array::RecordBatch;
use common::{floats, ints, strings};
use trafficsim::analyze::organization::{ChargebackLine, GapLevel, OrganizationResult};

#[derive(Default)]
struct Group {
    calls: u64,
    cost: f64,
    tokens: i64,
    customers: BTreeSet<String>,
}

/// Calls, cost, tokens and distinct customers per value of `column`.
fn fold_by(b: &RecordBatch, column: &str) -> BTreeMap<String, Group> {
    let (keys, customers) = (strings(b, column), strings(b, "customer_id"));
    let (cost, input, output) = (floats(b, "cost_usd"), ints(b, "input_tokens"), ints(b, "output_tokens"));
    let mut out: BTreeMap<String, Group> = BTreeMap::new();
    for i in 0..b.num_rows() {
        let g = out.entry(keys[i].to_string()).or_default();
        g.calls += 1;
        g.cost += cost[i];
        g.tokens += input[i] + output[i];
        g.customers.insert(customers[i].to_string());
    }
    out
}

fn assert_lines(got: &[&ChargebackLine], want: &BTreeMap<String, Group>, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: groups");
    let total: f64 = want.values().map(|g| g.cost).sum();
    for l in got {
        let g = &want[&l.cost.name];
        assert_eq!(l.cost.calls, g.calls, "{what} {}", l.cost.name);
        assert_close(l.cost.cost_usd, g.cost, &format!("{what} {} cost", l.cost.name));
        assert_close(
            l.cost.cost_share,
            g.cost / total,
            &format!("{what} {} share", l.cost.name),
        );
        assert_close(
            l.cost.cost_per_call,
            g.cost / g.calls as f64,
            &format!("{what} {} per call", l.cost.name),
        );
        assert_eq!(l.total_tokens, g.tokens, "{what} {}", l.cost.name);
        assert_eq!(l.customers, g.customers.len() as u64, "{what} {}", l.cost.name);
    }
    assert!(
        got.windows(2).all(|w| w[0].cost.cost_usd >= w[1].cost.cost_usd),
        "{what}: dearest first"
    );
}

fn check(r: &OrganizationResult, b: &RecordBatch) {
    assert_lines(
        &r.by_organization.iter().collect::<Vec<_>>(),
        &fold_by(b, "organization_id"),
        "organization",
    );
    assert_lines(
        &r.by_product.iter().collect::<Vec<_>>(),
        &fold_by(b, "product_id"),
        "product",
    );
    assert_lines(
        &r.by_environment.iter().collect::<Vec<_>>(),
        &fold_by(b, "environment"),
        "environment",
    );
    let features = fold_by(b, "feature_id");
    assert_lines(
        &r.by_feature.iter().map(|f| &f.line).collect::<Vec<_>>(),
        &features,
        "feature",
    );
    let customers = strings(b, "customer_id").into_iter().collect::<BTreeSet<_>>().len() as f64;
    for f in &r.by_feature {
        let adopters = features[&f.line.cost.name].customers.len() as f64;
        assert_close(f.adoption_rate, adopters / customers, &f.line.cost.name);
    }
    assert_eq!(r.totals.customers as f64, customers);
    assert_eq!(r.totals.cost.calls, b.num_rows() as u64);

    // Organization × product: cells match a two-key fold and each organization's cells sum to it.
    let (orgs, products, cost) = (
        strings(b, "organization_id"),
        strings(b, "product_id"),
        floats(b, "cost_usd"),
    );
    let mut cells: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    for i in 0..b.num_rows() {
        *cells.entry((orgs[i], products[i])).or_default() += cost[i];
    }
    assert_eq!(r.organization_product.len(), cells.len());
    for x in &r.organization_product {
        assert_close(
            x.cost_usd,
            cells[&(x.organization_id.as_str(), x.name.as_str())],
            "org × product",
        );
    }
    for o in &r.by_organization {
        let shares: f64 = r
            .organization_environment
            .iter()
            .filter(|x| x.organization_id == o.cost.name)
            .map(|x| x.share_of_organization)
            .sum();
        assert_close(shares, 1.0, &o.cost.name);
    }

    // Efficiency: the gap from the extremes, flags from the median organization.
    let cpc: Vec<f64> = r.by_organization.iter().map(|o| o.cost.cost_per_call).collect();
    let (lo, hi) = (
        cpc.iter().copied().fold(f64::INFINITY, f64::min),
        cpc.iter().copied().fold(0.0, f64::max),
    );
    let mut sorted = cpc.clone();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    let e = &r.efficiency;
    assert_close(e.gap, hi / lo, "gap");
    assert_close(e.median_cost_per_call, median, "median cost per call");
    let (warning, critical) = (
        setting("organization", "efficiency_gap_warning"),
        setting("organization", "efficiency_gap_critical"),
    );
    let level = |x: f64| {
        if x > critical {
            GapLevel::Critical
        } else if x > warning {
            GapLevel::Warning
        } else {
            GapLevel::Ok
        }
    };
    assert_eq!(e.gap_level, level(hi / lo));
    for o in &e.organizations {
        assert_close(o.vs_median, o.cost_per_call / median, &o.organization_id);
        assert_eq!(o.level, level(o.cost_per_call / median), "{}", o.organization_id);
        assert_close(
            o.excess_cost_usd,
            ((o.cost_per_call - median) * o.calls as f64).max(0.0),
            &o.organization_id,
        );
        let flagged = r
            .recommendations
            .iter()
            .any(|x| x.title == format!("{} is less efficient than its peers", o.organization_id));
        assert_eq!(flagged, o.level != GapLevel::Ok, "{}", o.organization_id);
    }
}

#[test]
fn chargeback_and_efficiency_match_a_fold_over_the_rows() {
    check(&fixture().typed("organization"), &fixture().rows);
}

#[test]
fn an_organization_paying_ten_times_more_per_call_is_flagged_with_its_excess() {
    let d = derived();
    let r: OrganizationResult = d.typed("organization");
    check(&r, &d.rows);
    assert!(DEAR_FACTOR > setting("organization", "efficiency_gap_critical"));
    let e = &r.efficiency;
    assert_eq!(e.dearest_organization, d.dear_organization);
    assert_eq!(e.gap_level, GapLevel::Critical);
    let dear = &e.organizations[0];
    assert_eq!(dear.organization_id, d.dear_organization);
    assert_eq!(dear.level, GapLevel::Critical);
    let rec = r
        .recommendations
        .iter()
        .find(|x| x.title.starts_with(&d.dear_organization))
        .expect("the dear organization is named");
    assert_close(rec.amount_usd.unwrap(), dear.excess_cost_usd, "excess in dollars");
    assert!(
        rec.message
            .contains(&trafficsim::report::html::usd(dear.excess_cost_usd))
    );
    let page = d.read("organization.html");
    assert!(page.contains(&d.dear_organization));
    assert_eq!(page.matches("<svg").count(), 4);
}
