//! Organizational alignment from the rows: usage per (customer, organization, product, feature,
//! environment) cell, the chargeback lines, the efficiency comparison and the recommendations.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;

use super::{
    ChargebackLine, Efficiency, FeatureLine, GapLevel, OrganizationEfficiency, OrganizationResult,
    OrganizationSettings, Split,
};
use crate::analyze::Context;
use crate::analyze::frame::{CostGroup, Totals, desc, ratio};
use crate::analyze::grouped::usage_cells;
use crate::report::html::{self as h, Recommendation, Severity};

/// One customer's calls in one (organization, product, feature, environment) cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    pub organization_id: String,
    pub product_id: String,
    pub feature_id: String,
    pub environment: String,
    pub customer_id: String,
    pub totals: Totals,
}

/// Every cell's sums (customers kept apart, so distinct customers can be counted per group),
/// sorted by organization, product, feature, environment and customer.
pub(super) fn usage(ctx: &Context<'_>) -> Result<Vec<Usage>> {
    // The cells come sorted by their keys, in this order.
    Ok(usage_cells(ctx)?
        .iter()
        .map(|g| {
            let mut key = g.keys.iter().cloned();
            let mut next = || key.next().unwrap_or_default();
            Usage {
                organization_id: next(),
                product_id: next(),
                feature_id: next(),
                environment: next(),
                customer_id: next(),
                totals: g.totals,
            }
        })
        .collect())
}

/// Sums and distinct customers of a group.
#[derive(Default)]
struct Group<'a> {
    totals: Totals,
    customers: BTreeSet<&'a str>,
}

impl<'a> Group<'a> {
    fn add(&mut self, u: &'a Usage) {
        self.totals.add(&u.totals);
        self.customers.insert(&u.customer_id);
    }
}

fn groups<'a>(rows: &'a [Usage], key: impl Fn(&'a Usage) -> &'a str) -> BTreeMap<&'a str, Group<'a>> {
    let mut out: BTreeMap<&str, Group<'_>> = BTreeMap::new();
    for u in rows {
        out.entry(key(u)).or_default().add(u);
    }
    out
}

fn line(name: &str, g: &Group<'_>, total_micros: i64) -> ChargebackLine {
    ChargebackLine {
        cost: CostGroup::new(name, &g.totals, total_micros),
        total_tokens: g.totals.tokens(),
        customers: g.customers.len() as u64,
    }
}

fn lines(groups: &BTreeMap<&str, Group<'_>>, total_micros: i64) -> Vec<ChargebackLine> {
    let mut out: Vec<ChargebackLine> = groups.iter().map(|(k, g)| line(k, g, total_micros)).collect();
    out.sort_by(|a, b| desc(a.cost.cost_usd, b.cost.cost_usd).then_with(|| a.cost.name.cmp(&b.cost.name)));
    out
}

/// Each organization's spend per value of `key`.
fn splits<'a>(rows: &'a [Usage], key: impl Fn(&'a Usage) -> &'a str) -> Vec<Split> {
    let mut cells: BTreeMap<(&str, &str), Totals> = BTreeMap::new();
    let mut orgs: BTreeMap<&str, i64> = BTreeMap::new();
    for u in rows {
        cells.entry((&u.organization_id, key(u))).or_default().add(&u.totals);
        *orgs.entry(&u.organization_id).or_default() += u.totals.cost_micros;
    }
    cells
        .into_iter()
        .map(|((org, name), t)| Split {
            organization_id: org.to_string(),
            name: name.to_string(),
            calls: t.calls,
            cost_usd: t.cost_usd(),
            share_of_organization: ratio(t.cost_micros as f64, orgs[org] as f64),
        })
        .collect()
}

/// The analysis proper, over plain rows.
pub fn organization(rows: &[Usage], s: &OrganizationSettings) -> OrganizationResult {
    let all = {
        let mut g = Group::default();
        rows.iter().for_each(|u| g.add(u));
        g
    };
    let total = all.totals.cost_micros;
    let n_customers = all.customers.len();
    let orgs = groups(rows, |u| &u.organization_id);
    let by_feature_groups = groups(rows, |u| &u.feature_id);
    let mut feature_product: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    for u in rows {
        *feature_product
            .entry(&u.feature_id)
            .or_default()
            .entry(&u.product_id)
            .or_default() += u.totals.calls;
    }
    let by_feature: Vec<FeatureLine> = lines(&by_feature_groups, total)
        .into_iter()
        .map(|l| {
            let name = l.cost.name.as_str();
            let product = feature_product[name]
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map_or("", |(p, _)| *p)
                .to_string();
            FeatureLine {
                adoption_rate: ratio(by_feature_groups[name].customers.len() as f64, n_customers as f64),
                product_id: product,
                line: l,
            }
        })
        .collect();
    let by_organization = lines(&orgs, total);
    let efficiency = efficiency(&by_organization, s);
    let recommendations = recommend(&by_organization, &efficiency, s);
    OrganizationResult {
        totals: line("all", &all, total),
        by_organization,
        by_product: lines(&groups(rows, |u| &u.product_id), total),
        by_feature,
        by_environment: lines(&groups(rows, |u| &u.environment), total),
        organization_product: splits(rows, |u| &u.product_id),
        organization_environment: splits(rows, |u| &u.environment),
        efficiency,
        recommendations,
    }
}

/// The median of `values` (mean of the middle two for an even count); 0 when empty.
fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn efficiency(orgs: &[ChargebackLine], s: &OrganizationSettings) -> Efficiency {
    // Organizations without calls have no cost per call; every listed one has at least one.
    let cpc: Vec<f64> = orgs.iter().map(|o| o.cost.cost_per_call).collect();
    let median_cpc = median(&cpc);
    let by_cpc = |a: &&ChargebackLine, b: &&ChargebackLine| {
        a.cost
            .cost_per_call
            .total_cmp(&b.cost.cost_per_call)
            .then_with(|| b.cost.name.cmp(&a.cost.name))
    };
    let cheapest = orgs.iter().min_by(by_cpc);
    let dearest = orgs.iter().max_by(by_cpc);
    let name = |o: Option<&ChargebackLine>| o.map_or(String::new(), |o| o.cost.name.clone());
    let value = |o: Option<&ChargebackLine>| o.map_or(0.0, |o| o.cost.cost_per_call);
    let gap = ratio(value(dearest), value(cheapest));
    let mut organizations: Vec<OrganizationEfficiency> = orgs
        .iter()
        .map(|o| {
            let vs_median = ratio(o.cost.cost_per_call, median_cpc);
            OrganizationEfficiency {
                organization_id: o.cost.name.clone(),
                calls: o.cost.calls,
                cost_usd: o.cost.cost_usd,
                cost_per_call: o.cost.cost_per_call,
                vs_median,
                vs_cheapest: ratio(o.cost.cost_per_call, value(cheapest)),
                level: GapLevel::of(vs_median, s),
                excess_cost_usd: ((o.cost.cost_per_call - median_cpc) * o.cost.calls as f64).max(0.0),
            }
        })
        .collect();
    organizations
        .sort_by(|a, b| desc(a.cost_per_call, b.cost_per_call).then_with(|| a.organization_id.cmp(&b.organization_id)));
    Efficiency {
        method: "Cost per call = an organization's cost ÷ its calls (failed calls included, at no cost).".into(),
        median_cost_per_call: median_cpc,
        cheapest_organization: name(cheapest),
        cheapest_cost_per_call: value(cheapest),
        dearest_organization: name(dearest),
        dearest_cost_per_call: value(dearest),
        gap,
        gap_level: GapLevel::of(gap, s),
        organizations,
    }
}

fn recommend(orgs: &[ChargebackLine], e: &Efficiency, s: &OrganizationSettings) -> Vec<Recommendation> {
    let mut out = Vec::new();
    for o in e.organizations.iter().filter(|o| o.level != GapLevel::Ok) {
        let critical = o.level == GapLevel::Critical;
        out.push(Recommendation {
            severity: if critical { Severity::High } else { Severity::Medium },
            title: format!("{} is less efficient than its peers", o.organization_id),
            message: format!(
                "{} pays {} per call, {:.1}× the median organization ({}), above the {}× {} threshold: its {} calls cost \
                 {} more than at the median rate.",
                o.organization_id,
                h::usd(o.cost_per_call),
                o.vs_median,
                h::usd(e.median_cost_per_call),
                if critical {
                    s.efficiency_gap_critical
                } else {
                    s.efficiency_gap_warning
                },
                o.level.as_str(),
                h::count(o.calls as f64),
                h::usd(o.excess_cost_usd)
            ),
            action: format!(
                "Review {}'s model choices with its owners (the rate optimization report lists same-task switches) and \
                 show it this cost in its chargeback.",
                o.organization_id
            ),
            amount_usd: Some(o.excess_cost_usd),
        });
    }
    if e.gap_level != GapLevel::Ok {
        out.push(Recommendation {
            severity: if e.gap_level == GapLevel::Critical {
                Severity::Medium
            } else {
                Severity::Low
            },
            title: "Wide cost-per-call gap between organizations".into(),
            message: format!(
                "Cost per call ranges from {} ({}) to {} ({}): a {:.1}× gap, above the {}× {} threshold.",
                h::usd(e.cheapest_cost_per_call),
                e.cheapest_organization,
                h::usd(e.dearest_cost_per_call),
                e.dearest_organization,
                e.gap,
                if e.gap_level == GapLevel::Critical {
                    s.efficiency_gap_critical
                } else {
                    s.efficiency_gap_warning
                },
                e.gap_level.as_str()
            ),
            action: format!(
                "Share what {} does (models, prompt sizes) with the organizations at the top of the efficiency table.",
                e.cheapest_organization
            ),
            amount_usd: e
                .organizations
                .iter()
                .find(|o| o.organization_id == e.dearest_organization)
                .map(|o| (o.cost_per_call - e.cheapest_cost_per_call) * o.calls as f64),
        });
    }
    if let Some(top) = orgs.first() {
        out.push(Recommendation {
            severity: Severity::Info,
            title: "Charge back the spend".into(),
            message: format!(
                "{} carries {} of the AI spend ({}); the top three organizations carry {}.",
                top.cost.name,
                h::percent(top.cost.cost_share),
                h::usd(top.cost.cost_usd),
                h::percent(orgs.iter().take(3).map(|o| o.cost.cost_share).sum())
            ),
            action: "Send each organization its line of the chargeback table every month, with its product split."
                .into(),
            amount_usd: Some(orgs.iter().map(|o| o.cost.cost_usd).sum()),
        });
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.severity));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> OrganizationSettings {
        OrganizationSettings {
            efficiency_gap_warning: 2.0,
            efficiency_gap_critical: 3.0,
        }
    }

    fn cell(org: &str, feature: &str, env: &str, customer: &str, calls: u64, cost: f64) -> Usage {
        Usage {
            organization_id: org.into(),
            product_id: "p".into(),
            feature_id: feature.into(),
            environment: env.into(),
            customer_id: customer.into(),
            totals: Totals {
                calls,
                successes: calls,
                cost_micros: (cost * 1e6).round() as i64,
                input_tokens: 100 * calls as i64,
                output_tokens: 100 * calls as i64,
                latency_ms: 0,
            },
        }
    }

    #[test]
    fn flags_come_from_the_median_and_the_gap_from_the_extremes() {
        // Cost per call: a 0.01, b 0.02, c 0.025, d 0.07 → median 0.0225.
        let rows = vec![
            cell("a", "chat", "production", "c1", 100, 1.0),
            cell("b", "chat", "production", "c2", 100, 2.0),
            cell("c", "chat", "production", "c3", 100, 2.5),
            cell("d", "chat", "production", "c4", 50, 6.5),
            cell("d", "code", "staging", "c4", 50, 0.5),
        ];
        let r = organization(&rows, &settings());
        let e = &r.efficiency;
        assert!((e.median_cost_per_call - 0.0225).abs() < 1e-12);
        assert!((e.gap - 7.0).abs() < 1e-9);
        assert_eq!(e.gap_level, GapLevel::Critical);
        assert_eq!(e.dearest_organization, "d");
        let d = &e.organizations[0];
        assert_eq!(d.organization_id, "d");
        assert_eq!(d.level, GapLevel::Critical);
        assert!((d.excess_cost_usd - (0.07 - 0.0225) * 100.0).abs() < 1e-9);
        assert!(e.organizations[1..].iter().all(|o| o.level == GapLevel::Ok));
        // Adoption: chat used by 4 of 4 customers, code by 1.
        let adoption: Vec<(&str, f64)> = r
            .by_feature
            .iter()
            .map(|f| (f.line.cost.name.as_str(), f.adoption_rate))
            .collect();
        assert_eq!(adoption, [("chat", 1.0), ("code", 0.25)]);
        let staging = r
            .organization_environment
            .iter()
            .find(|x| x.organization_id == "d" && x.name == "staging")
            .unwrap();
        assert!((staging.share_of_organization - 0.5 / 7.0).abs() < 1e-12);
        assert!(r.recommendations[0].message.contains("d pays"));
    }
}
