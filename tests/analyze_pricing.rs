//! The pricing analyzer against the documented formulas applied to independent per-customer
//! folds: every customer's bill under each model, model revenues, winners and losers, segments,
//! and the migration rule — on the fixture and on the derived dataset (with heavy users).

mod analyze_derived;
mod analyze_support;
mod common;

use std::collections::BTreeMap;

use analyze_derived::{CustomerFold, customer_folds, derived, setting};
use analyze_support::{assert_close, fixture};
use trafficsim::analyze::pricing::{PricingModel, PricingResult, Segment};

fn p(key: &str) -> f64 {
    setting("pricing", key)
}

/// The four bills of a customer, from the documents' formulas over its active days.
fn bills(c: &CustomerFold) -> [f64; 4] {
    let share = c.active_days() as f64 / 30.0;
    let base = c.price * share;
    let included = c.price / p("included_per_usd") * p("included_tokens") * share;
    let tokens = c.billable_tokens as f64;
    [
        base,
        base + (tokens - included).max(0.0) / 1000.0 * p("overage_usd_per_1k_tokens"),
        tokens / 1000.0 * p("usage_usd_per_1k_tokens"),
        p("hybrid_base_share") * base + p("hybrid_cost_multiple") * c.cost,
    ]
}

fn segment(c: &CustomerFold) -> Segment {
    let ratio = c.cost / bills(c)[0];
    if ratio < p("light_below") {
        Segment::Light
    } else if ratio < p("medium_below") {
        Segment::Medium
    } else {
        Segment::Heavy
    }
}

fn check_bills(r: &PricingResult, want: &BTreeMap<String, CustomerFold>) {
    assert_eq!(r.customers_bills.len(), want.len());
    for c in &r.customers_bills {
        let w = &want[&c.customer_id];
        assert_eq!(c.billable_tokens, w.billable_tokens, "{}", c.customer_id);
        assert_eq!(c.segment, segment(w), "{}", c.customer_id);
        for (model, bill) in PricingModel::ALL.iter().zip(bills(w)) {
            assert_close(c.bills.get(*model), bill, &format!("{} {model:?}", c.customer_id));
        }
    }
}

/// Revenue, margin and winners / losers of each model over `members`, against the result's.
fn check_outcomes(r: &[trafficsim::analyze::pricing::ModelOutcome], members: &[&CustomerFold], what: &str) {
    let tol = p("unchanged_within_usd");
    let cost: f64 = members.iter().map(|c| c.cost).sum();
    assert_eq!(r.len(), 4);
    for (i, m) in r.iter().enumerate() {
        assert_eq!(m.model, PricingModel::ALL[i]);
        let revenue: f64 = members.iter().map(|c| bills(c)[i]).sum();
        let more = members.iter().filter(|c| bills(c)[i] - bills(c)[0] > tol).count() as u64;
        let less = members.iter().filter(|c| bills(c)[i] - bills(c)[0] < -tol).count() as u64;
        let o = &m.outcome;
        assert_eq!(o.customers, members.len() as u64);
        assert_close(o.revenue_usd, revenue, &format!("{what} {:?} revenue", m.model));
        assert_close(o.margin_usd, revenue - cost, &format!("{what} {:?} margin", m.model));
        assert_eq!(
            (o.pay_more, o.pay_less),
            (more, less),
            "{what} {:?} pay more / less",
            m.model
        );
        assert_eq!(o.pay_more + o.pay_less + o.unchanged, o.customers);
        assert_eq!(
            o.reaches_target,
            !members.is_empty() && (revenue - cost) / revenue >= p("target_margin")
        );
    }
    assert_eq!(
        (r[0].outcome.pay_more, r[0].outcome.pay_less),
        (0, 0),
        "flat is today's pricing"
    );
}

fn check(r: &PricingResult, want: &BTreeMap<String, CustomerFold>) {
    check_bills(r, want);
    let all: Vec<&CustomerFold> = want.values().collect();
    check_outcomes(&r.models, &all, "all");
    assert_eq!(r.segments.len(), 3);
    for s in &r.segments {
        let members: Vec<&CustomerFold> = all.iter().copied().filter(|c| segment(c) == s.segment).collect();
        assert_eq!(s.customers, members.len() as u64, "{:?}", s.segment);
        check_outcomes(&s.models, &members, s.segment.as_str());
    }
    assert_eq!(r.segments.iter().map(|s| s.customers).sum::<u64>(), want.len() as u64);
}

#[test]
fn bills_revenues_and_winners_match_the_formulas_on_the_fixture() {
    check(&fixture().typed("pricing"), &customer_folds(&fixture().rows));
}

#[test]
fn bills_revenues_and_winners_match_the_formulas_with_churn_and_heavy_users() {
    let d = derived();
    let r: PricingResult = d.typed("pricing");
    check(&r, &customer_folds(&d.rows));
    assert!(
        r.segments
            .iter()
            .any(|s| s.segment == Segment::Heavy && s.customers > 0),
        "the dear organization makes heavy users"
    );
}

#[test]
fn the_plan_follows_the_migration_rule() {
    for (r, want) in [
        (
            fixture().typed::<PricingResult>("pricing"),
            customer_folds(&fixture().rows),
        ),
        (derived().typed("pricing"), customer_folds(&derived().rows)),
    ] {
        for s in &r.segments {
            let chosen = s.models.iter().find(|m| m.model == s.choice).unwrap();
            let on_target: Vec<_> = s.models.iter().filter(|m| m.outcome.reaches_target).collect();
            if on_target.is_empty() {
                assert!(
                    s.models
                        .iter()
                        .all(|m| m.outcome.margin_usd <= chosen.outcome.margin_usd),
                    "{:?}: highest margin",
                    s.segment
                );
            } else {
                assert!(chosen.outcome.reaches_target, "{:?}", s.segment);
                assert!(
                    on_target.iter().all(|m| m.outcome.pay_more >= chosen.outcome.pay_more),
                    "{:?}: fewest customers paying more",
                    s.segment
                );
            }
        }
        // The plan's revenue is each customer's bill under its segment's model.
        let model_of: BTreeMap<Segment, usize> = r
            .plan
            .by_segment
            .iter()
            .map(|c| (c.segment, PricingModel::ALL.iter().position(|m| *m == c.model).unwrap()))
            .collect();
        let revenue: f64 = want.values().map(|c| bills(c)[model_of[&segment(c)]]).sum();
        assert_close(r.plan.outcome.revenue_usd, revenue, "plan revenue");
        assert_close(
            r.plan.current.revenue_usd,
            r.models[0].outcome.revenue_usd,
            "current revenue",
        );
        // A segment moved off flat pricing is recommended in dollars, naming its model.
        for c in r
            .plan
            .by_segment
            .iter()
            .filter(|c| c.model != PricingModel::Flat && c.customers > 0)
        {
            let rec = r
                .recommendations
                .iter()
                .find(|x| x.title.starts_with(&format!("Move the {} segment", c.segment.as_str())))
                .expect("a migration recommendation");
            assert!(rec.title.contains(&c.model.name().to_lowercase()));
            assert!(rec.amount_usd.is_some());
        }
    }
}

#[test]
fn the_page_shows_models_segments_and_charts() {
    let page = fixture().read("pricing.html");
    for m in PricingModel::ALL {
        assert!(page.contains(m.name()), "{}", m.name());
    }
    assert!(page.contains("Migration plan"));
    assert_eq!(page.matches("<svg").count(), 2);
}
