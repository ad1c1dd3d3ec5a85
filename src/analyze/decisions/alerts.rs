//! Alerts ranked by the dollars at stake. Every alert's amount is a figure that means something
//! (a customer's overrun of its prorated plan price, a spike's or burst's cost above its
//! baseline, a churned customer's monthly revenue, a pattern's saving), and its severity is that
//! amount relative to the customer's monthly revenue (its tier price): at least `stake_critical`
//! of it critical, `stake_high` high, `stake_medium` medium. An amount under `materiality_usd`
//! is low whatever its share, so a few cents on a small plan never outrank real losses. Alerts
//! not tied to one customer are medium when material, low otherwise.

use serde::{Deserialize, Serialize};

use super::burst::BurstSet;
use super::daily::ChurnRisk;
use super::{AnomalySet, BudgetStatus, DecisionSettings, HeavyCaller, Pattern};
use crate::analyze::frame::desc;
use crate::report::html::{self as h, Recommendation, Severity};

/// One alert: the recommendation shown, and what it is ranked by.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Alert {
    /// `over_budget`, `cost_spike`, `burst`, `churn`, `hourly_spike`, `pattern`, `heavy_caller`.
    pub kind: String,
    pub customer_id: Option<String>,
    /// The customer's monthly revenue (its tier price), when the alert is about one customer.
    pub monthly_revenue_usd: Option<f64>,
    /// `amount_usd` ÷ the monthly revenue.
    pub stake_share: Option<f64>,
    #[serde(flatten)]
    pub recommendation: Recommendation,
}

/// The severity of `amount` at stake for a customer paying `revenue` a month.
pub fn severity(s: &DecisionSettings, amount: f64, revenue: Option<f64>) -> Severity {
    if amount < s.materiality_usd {
        return Severity::Low;
    }
    let Some(revenue) = revenue.filter(|r| *r > 0.0) else {
        return Severity::Medium;
    };
    let share = amount / revenue;
    if share >= s.stake_critical {
        Severity::Critical
    } else if share >= s.stake_high {
        Severity::High
    } else if share >= s.stake_medium {
        Severity::Medium
    } else {
        Severity::Low
    }
}

struct Builder<'a> {
    s: &'a DecisionSettings,
    out: Vec<Alert>,
}

impl Builder<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: &str,
        customer: Option<(&str, f64)>,
        amount: f64,
        title: &str,
        message: String,
        action: String,
    ) {
        let revenue = customer.map(|c| c.1);
        self.out.push(Alert {
            kind: kind.into(),
            customer_id: customer.map(|c| c.0.to_string()),
            monthly_revenue_usd: revenue,
            stake_share: revenue.filter(|r| *r > 0.0).map(|r| amount / r),
            recommendation: Recommendation {
                severity: severity(self.s, amount, revenue),
                title: title.into(),
                message,
                action,
                amount_usd: Some(amount),
            },
        });
    }
}

/// Everything the page found, as alerts, highest severity first, then most dollars.
#[allow(clippy::too_many_arguments)]
pub fn alerts(
    s: &DecisionSettings,
    budgets: &[BudgetStatus],
    days: &AnomalySet,
    hours: &AnomalySet,
    bursts: &BurstSet,
    churn: &[ChurnRisk],
    patterns: &[Pattern],
    heavy: &[HeavyCaller],
) -> Vec<Alert> {
    let price = |c: &str| {
        budgets
            .iter()
            .find(|b| b.customer_id == c)
            .map_or(0.0, |b| b.tier_price_usd)
    };
    let mut b = Builder { s, out: Vec::new() };
    for x in budgets.iter().filter(|x| x.risk == Severity::Critical) {
        b.push(
            "over_budget",
            Some((&x.customer_id, x.tier_price_usd)),
            x.cost_usd - x.budget_usd,
            "Customer over budget",
            format!(
                "{} ({}, {} a month) cost {} over {} active days: {} of its prorated price {}; the overrun is {}.",
                x.customer_id,
                x.subscription_tier,
                h::usd(x.tier_price_usd),
                h::usd(x.cost_usd),
                x.active_days,
                h::percent(x.budget_share),
                h::usd(x.budget_usd),
                h::usd(x.cost_usd - x.budget_usd)
            ),
            format!(
                "Move {} off the {} tier (upgrade, or bill usage above the plan); review its model choices.",
                x.customer_id, x.subscription_tier
            ),
        );
    }
    for a in days.anomalies.iter().filter(|a| a.robust_z > 0.0) {
        let kind = a.day_kind.map_or("day", |k| k.as_str());
        b.push(
            "cost_spike",
            Some((&a.subject, price(&a.subject))),
            a.cost_usd - a.baseline_usd,
            "Cost spike",
            format!(
                "{} spent {} on {} ({kind}), against a median of {} on its previous days of that kind (robust z {:.1}): {} above it.",
                a.subject,
                h::usd(a.cost_usd),
                a.date,
                h::usd(a.baseline_usd),
                a.robust_z,
                h::usd(a.cost_usd - a.baseline_usd)
            ),
            format!("Check {}'s traffic of {} for a runaway job or abuse; set a daily cap.", a.subject, a.date),
        );
    }
    for x in &bursts.bursts {
        b.push(
            "burst",
            Some((&x.customer_id, price(&x.customer_id))),
            x.excess_cost_usd,
            "Traffic burst",
            format!(
                "{} made {} calls in {} hour(s) from {} UTC, against {:.1} expected at those hours of the week: {} above its baseline.",
                x.customer_id,
                x.calls,
                x.end_hour - x.start_hour,
                x.start,
                x.expected_calls,
                h::usd(x.excess_cost_usd)
            ),
            format!("Check {}'s rate limits and retry logic; a burst this size is a runaway client or a batch job.", x.customer_id),
        );
    }
    for x in churn.iter().filter(|x| x.churned) {
        b.push(
            "churn",
            Some((&x.customer_id, x.tier_price_usd)),
            x.tier_price_usd,
            "Customer went silent",
            format!(
                "{} ({}) has made no call for {} days since {}, where its recent rate predicts {:.0} calls (p = {:.1e}); {} a month of revenue is at risk.",
                x.customer_id,
                x.subscription_tier,
                x.silent_days,
                x.last_active_day,
                x.expected_calls,
                x.p_value,
                h::usd(x.tier_price_usd)
            ),
            format!("Have {}'s account owner call it: find out why it stopped.", x.customer_id),
        );
    }
    if let Some(a) = hours.anomalies.iter().find(|a| a.robust_z > 0.0) {
        b.push(
            "hourly_spike",
            None,
            a.cost_usd - a.baseline_usd,
            "Hourly cost spike",
            format!(
                "All traffic cost {} in the hour {} {:02}:00 UTC, against a median of {} at that hour (robust z {:.1}).",
                h::usd(a.cost_usd),
                a.date,
                a.hour.unwrap_or(0),
                h::usd(a.baseline_usd),
                a.robust_z
            ),
            "Find the customers behind the hour in the bursts table; check rate limits.".into(),
        );
    }
    for p in patterns.iter().filter(|p| p.calls > 0) {
        let who = p.top_customers.first().map_or(String::new(), |c| {
            format!("; most by {} ({})", c.customer_id, h::usd(c.cost_usd))
        });
        b.push(
            "pattern",
            None,
            p.saving_usd,
            "Inefficient pattern",
            format!(
                "{}: {} calls cost {}{}.",
                p.description,
                h::count(p.calls as f64),
                h::usd(p.cost_usd),
                who
            ),
            "Route these calls to a cheaper or faster model (see the rate optimization report).".into(),
        );
    }
    if let Some(c) = heavy.first() {
        // At stake: what the heavy caller costs beyond what its plan pays for the window.
        let over = budgets
            .iter()
            .find(|x| x.customer_id == c.customer_id)
            .map_or(0.0, |x| (x.cost_usd - x.budget_usd).max(0.0));
        if over > 0.0 {
            b.push(
                "heavy_caller",
                Some((&c.customer_id, price(&c.customer_id))),
                over,
                "Heavy caller",
                format!(
                    "{} made {} calls, {:.1}× the average customer ({} heavy callers in all), and costs {} more than its plan.",
                    c.customer_id,
                    h::count(c.calls as f64),
                    c.multiple,
                    heavy.len(),
                    h::usd(over)
                ),
                format!("Confirm {}'s plan covers its volume; offer a volume tier.", c.customer_id),
            );
        }
    }
    let mut out = b.out;
    out.sort_by(|x, y| {
        y.recommendation
            .severity
            .cmp(&x.recommendation.severity)
            .then_with(|| {
                desc(
                    x.recommendation.amount_usd.unwrap_or(0.0),
                    y.recommendation.amount_usd.unwrap_or(0.0),
                )
            })
            .then_with(|| x.kind.cmp(&y.kind))
            .then_with(|| x.customer_id.cmp(&y.customer_id))
    });
    out
}
