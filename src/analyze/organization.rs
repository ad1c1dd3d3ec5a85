//! Analyzer 5, organizational alignment: chargeback / showback of the AI spend by organization, product,
//! feature (with its adoption) and environment, by direct usage attribution (every call is charged
//! to the organization, product, feature and environment on its row); what each organization
//! spends on each product and environment; and how efficiently organizations use AI, compared by
//! cost per call.
//!
//! Efficiency: the original flagged the gap in cost per call between the dearest and the cheapest
//! organization (above 2× a warning, above 3× critical). That gap is kept (the `gap` figure), but
//! one tiny organization at either end sets it, so each organization is also compared with the
//! median organization's cost per call, at the same thresholds; the flags and the recommendations
//! come from that comparison, with the dollars spent above the median rate.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use maud::{Markup, html};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::frame::{CostGroup, Totals, desc, ratio, strings, totals_aggs};
use super::{Analyzer, Columns, Context};
use crate::config::{CallsConfig, ConfigError, SettingsCheck};
use crate::report::chart::{
    Bar, BarChart, BarSeries, ChartSize, Colour, GroupedBarChart, Unit, render_bar_chart, render_grouped_bar_chart,
};
use crate::report::html::{
    self as h, Cell, Figure, Recommendation, Severity, cards, chart, chart_grid, recommendations, section, table,
};

pub struct Organization;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationSettings {
    /// Flag an organization whose cost per call is more than this multiple of the median
    /// organization's (and the dearest ÷ cheapest gap above it).
    pub efficiency_gap_warning: f64,
    /// The same, critical.
    pub efficiency_gap_critical: f64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum GapLevel {
    Ok,
    Warning,
    Critical,
}

impl GapLevel {
    pub fn of(multiple: f64, s: &OrganizationSettings) -> GapLevel {
        if multiple > s.efficiency_gap_critical {
            GapLevel::Critical
        } else if multiple > s.efficiency_gap_warning {
            GapLevel::Warning
        } else {
            GapLevel::Ok
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GapLevel::Ok => "ok",
            GapLevel::Warning => "warning",
            GapLevel::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OrganizationResult {
    pub totals: ChargebackLine,
    /// Dearest first in every breakdown.
    pub by_organization: Vec<ChargebackLine>,
    pub by_product: Vec<ChargebackLine>,
    pub by_feature: Vec<FeatureLine>,
    pub by_environment: Vec<ChargebackLine>,
    /// Each organization's spend per product, by organization then product.
    pub organization_product: Vec<Split>,
    /// Each organization's spend per environment, by organization then environment.
    pub organization_environment: Vec<Split>,
    pub efficiency: Efficiency,
    pub recommendations: Vec<Recommendation>,
}

/// One line of a chargeback statement.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChargebackLine {
    #[serde(flatten)]
    pub cost: CostGroup,
    pub total_tokens: i64,
    /// Distinct customers with calls in the group.
    pub customers: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeatureLine {
    #[serde(flatten)]
    pub line: ChargebackLine,
    /// The product most of the feature's calls belong to.
    pub product_id: String,
    /// Customers using the feature ÷ all customers.
    pub adoption_rate: f64,
}

/// An organization's spend on one value of another dimension.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Split {
    pub organization_id: String,
    pub name: String,
    pub calls: u64,
    pub cost_usd: f64,
    /// Share of the organization's cost.
    pub share_of_organization: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Efficiency {
    pub method: String,
    /// Median of the organizations' cost per call.
    pub median_cost_per_call: f64,
    pub cheapest_organization: String,
    pub cheapest_cost_per_call: f64,
    pub dearest_organization: String,
    pub dearest_cost_per_call: f64,
    /// Dearest ÷ cheapest cost per call (the original's measure).
    pub gap: f64,
    pub gap_level: GapLevel,
    /// Dearest cost per call first.
    pub organizations: Vec<OrganizationEfficiency>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OrganizationEfficiency {
    pub organization_id: String,
    pub calls: u64,
    pub cost_usd: f64,
    pub cost_per_call: f64,
    /// Cost per call ÷ the median organization's.
    pub vs_median: f64,
    /// Cost per call ÷ the cheapest organization's.
    pub vs_cheapest: f64,
    /// From `vs_median`.
    pub level: GapLevel,
    /// What its calls cost above the median rate (0 at or below it).
    pub excess_cost_usd: f64,
}

impl Analyzer for Organization {
    const NAME: &'static str = "organization";
    const TITLE: &'static str = "Organizational alignment";
    const SUMMARY: &'static str = "Chargeback by organization, product, feature and environment, and cost per call compared across organizations.";
    type Settings = OrganizationSettings;
    type Output = OrganizationResult;
    const COLUMNS: Columns = Columns::Only(&[
        "customer_id",
        "organization_id",
        "product_id",
        "feature_id",
        "environment",
        "status",
        "cost_usd",
        "input_tokens",
        "output_tokens",
        "latency_ms",
    ]);

    fn check(s: &OrganizationSettings, c: SettingsCheck<'_>, _: &CallsConfig) -> Result<(), ConfigError> {
        c.range("efficiency_gap_warning", s.efficiency_gap_warning, 1.0, 1e6)?;
        c.range("efficiency_gap_critical", s.efficiency_gap_critical, 1.0, 1e6)?;
        c.ordered(
            "efficiency_gap_warning",
            s.efficiency_gap_warning,
            "efficiency_gap_critical",
            s.efficiency_gap_critical,
        )
    }

    fn analyze(ctx: &Context<'_>, s: &OrganizationSettings) -> Result<OrganizationResult> {
        Ok(organization(&usage(ctx)?, s))
    }

    fn headline(r: &OrganizationResult) -> Vec<Figure> {
        let top = r.by_organization.first();
        vec![
            Figure::count("Organizations", r.by_organization.len() as u64),
            Figure::percent(
                format!("Largest share ({})", top.map_or("none", |o| o.cost.name.as_str())),
                top.map_or(0.0, |o| o.cost.cost_share),
            ),
            Figure::number("Cost-per-call gap (×)", r.efficiency.gap),
            Figure::count(
                "Organizations flagged",
                r.efficiency
                    .organizations
                    .iter()
                    .filter(|o| o.level != GapLevel::Ok)
                    .count() as u64,
            ),
        ]
    }

    fn render(r: &OrganizationResult, s: &OrganizationSettings) -> Result<Markup> {
        let line_cells = |l: &ChargebackLine| -> Vec<Cell> {
            vec![
                Cell::text(&l.cost.name),
                Cell::count(l.customers),
                Cell::count(l.cost.calls),
                Cell::count(l.total_tokens as u64),
                Cell::usd(l.cost.cost_usd),
                Cell::percent(l.cost.cost_share),
                Cell::usd(l.cost.cost_per_call),
                Cell::usd(l.cost.cost_per_1k_tokens),
            ]
        };
        let head = |label: &'static str| {
            [
                label,
                "Customers",
                "Calls",
                "Tokens",
                "Cost",
                "Share",
                "Per call",
                "Per 1K tokens",
            ]
        };
        let lines = |rows: &[ChargebackLine]| -> Vec<Vec<Cell>> { rows.iter().map(line_cells).collect() };
        let feature_rows: Vec<Vec<Cell>> = r
            .by_feature
            .iter()
            .map(|f| {
                let mut row = line_cells(&f.line);
                row.insert(1, Cell::text(&f.product_id));
                row.push(Cell::percent(f.adoption_rate));
                row
            })
            .collect();
        let mut feature_head: Vec<&str> = head("Feature").to_vec();
        feature_head.insert(1, "Product");
        feature_head.push("Adoption");
        let split_rows = |rows: &[Split]| -> Vec<Vec<Cell>> {
            rows.iter()
                .map(|x| {
                    vec![
                        Cell::text(&x.organization_id),
                        Cell::text(&x.name),
                        Cell::count(x.calls),
                        Cell::usd(x.cost_usd),
                        Cell::percent(x.share_of_organization),
                    ]
                })
                .collect()
        };
        let e = &r.efficiency;
        let efficiency_rows: Vec<Vec<Cell>> = e
            .organizations
            .iter()
            .map(|o| {
                vec![
                    Cell::text(&o.organization_id),
                    Cell::count(o.calls),
                    Cell::usd(o.cost_usd),
                    Cell::usd(o.cost_per_call),
                    Cell::number(o.vs_median, 2),
                    Cell::number(o.vs_cheapest, 2),
                    Cell::text(o.level.as_str()),
                    Cell::usd(o.excess_cost_usd),
                ]
            })
            .collect();
        let t = &r.totals;
        let charts = charts(r)?;
        Ok(html! {
            (section("Summary", Some(
                "Direct usage attribution: every call is charged to the organization, product, feature and environment on its row."),
                cards(&[
                    Figure::usd("Cost", t.cost.cost_usd),
                    Figure::count("Calls", t.cost.calls),
                    Figure::count("Tokens", t.total_tokens as u64),
                    Figure::usd("Cost per call", t.cost.cost_per_call),
                    Figure::count("Organizations", r.by_organization.len() as u64),
                    Figure::count("Products", r.by_product.len() as u64),
                    Figure::count("Features", r.by_feature.len() as u64),
                    Figure::number("Cost-per-call gap (×)", e.gap),
                ])))
            (section("Recommendations", None, recommendations(&r.recommendations)))
            (section("Chargeback by organization", None, html! {
                (chart_grid(&[charts.organizations, charts.org_products]))
                (table(&head("Organization"), &lines(&r.by_organization)))
            }))
            (section("Cross-organization efficiency", Some(&format!(
                "{} Median organization: {} per call. Dearest ÷ cheapest: {:.2}× ({} {} vs {} {}). Flags: above {}× the \
                 median a warning, above {}× critical.",
                e.method, h::usd(e.median_cost_per_call), e.gap, e.dearest_organization, h::usd(e.dearest_cost_per_call),
                e.cheapest_organization, h::usd(e.cheapest_cost_per_call), s.efficiency_gap_warning, s.efficiency_gap_critical)),
                html! {
                    (chart(&charts.efficiency))
                    (table(&["Organization", "Calls", "Cost", "Per call", "× median", "× cheapest", "Flag", "Above median rate"],
                        &efficiency_rows))
                }))
            (section("Showback by product", None, table(&head("Product"), &lines(&r.by_product))))
            (section("Showback by feature", Some("Adoption: customers with calls of the feature ÷ all customers."),
                html! {
                    (chart(&charts.features))
                    (table(&feature_head, &feature_rows))
                }))
            (section("Showback by environment", None, table(&head("Environment"), &lines(&r.by_environment))))
            (section("Organization × product", None,
                table(&["Organization", "Product", "Calls", "Cost", "Of organization"], &split_rows(&r.organization_product))))
            (section("Organization × environment", None,
                table(&["Organization", "Environment", "Calls", "Cost", "Of organization"],
                    &split_rows(&r.organization_environment))))
        })
    }
}

struct Charts {
    organizations: String,
    org_products: String,
    efficiency: String,
    features: String,
}

fn bar_chart(title: &str, label: &str, bars: Vec<Bar>) -> Result<String> {
    Ok(render_bar_chart(&BarChart {
        title: title.into(),
        value_label: label.into(),
        unit: Unit::Dollars,
        size: ChartSize::new(800, (80 + 24 * bars.len() as u32).max(400)),
        bars,
        ..Default::default()
    })?)
}

/// The page's charts: pure functions of the result.
fn charts(r: &OrganizationResult) -> Result<Charts> {
    let organizations = bar_chart(
        "Chargeback by organization",
        "Cost",
        r.by_organization
            .iter()
            .map(|o| Bar::new(&o.cost.name, o.cost.cost_usd))
            .collect(),
    )?;
    let efficiency = bar_chart(
        "Cost per call by organization (orange: warning, red: critical)",
        "Cost per call",
        r.efficiency
            .organizations
            .iter()
            .map(|o| {
                let bar = Bar::new(&o.organization_id, o.cost_per_call);
                match o.level {
                    GapLevel::Critical => bar.colour(Colour::DANGER),
                    GapLevel::Warning => bar.colour(Colour::WARNING),
                    GapLevel::Ok => bar,
                }
            })
            .collect(),
    )?;
    let features = bar_chart(
        "Showback by feature",
        "Cost",
        r.by_feature
            .iter()
            .map(|f| Bar::new(&f.line.cost.name, f.line.cost.cost_usd))
            .collect(),
    )?;
    let orgs: Vec<&str> = r.by_organization.iter().map(|o| o.cost.name.as_str()).collect();
    let org_products = render_grouped_bar_chart(&GroupedBarChart {
        title: "Organization spend by product".into(),
        x_label: "Organization".into(),
        y_label: "Cost".into(),
        unit: Unit::Dollars,
        categories: orgs.iter().map(|o| o.to_string()).collect(),
        series: r
            .by_product
            .iter()
            .map(|p| {
                BarSeries::new(
                    &p.cost.name,
                    orgs.iter()
                        .map(|o| {
                            r.organization_product
                                .iter()
                                .find(|x| x.organization_id == *o && x.name == p.cost.name)
                                .map_or(0.0, |x| x.cost_usd)
                        })
                        .collect(),
                )
            })
            .collect(),
        ..Default::default()
    })?;
    Ok(Charts {
        organizations,
        org_products,
        efficiency,
        features,
    })
}

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

/// Every cell's sums (customers kept apart, so distinct customers can be counted per group).
fn usage(ctx: &Context<'_>) -> Result<Vec<Usage>> {
    let keys = [
        "organization_id",
        "product_id",
        "feature_id",
        "environment",
        "customer_id",
    ];
    let df = ctx.collect(
        ctx.calls()
            .group_by(keys.iter().map(|k| col(*k)).collect::<Vec<_>>())
            .agg(totals_aggs()),
    )?;
    let k = keys.iter().map(|k| strings(&df, k)).collect::<Result<Vec<_>>>()?;
    let mut rows: Vec<Usage> = Totals::read(&df)?
        .into_iter()
        .enumerate()
        .map(|(i, totals)| Usage {
            organization_id: k[0][i].clone(),
            product_id: k[1][i].clone(),
            feature_id: k[2][i].clone(),
            environment: k[3][i].clone(),
            customer_id: k[4][i].clone(),
            totals,
        })
        .collect();
    rows.sort_by(|a, b| {
        (
            &a.organization_id,
            &a.product_id,
            &a.feature_id,
            &a.environment,
            &a.customer_id,
        )
            .cmp(&(
                &b.organization_id,
                &b.product_id,
                &b.feature_id,
                &b.environment,
                &b.customer_id,
            ))
    });
    Ok(rows)
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
