//! The churn and growth figures from one customer-day query (the decisions page's [`customer_days`], each customer's series extended to the window's end): cohorts, weekly
//! calls, trends and their Benjamini–Hochberg classes, the churn detector, and the scores.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use chrono::NaiveDate;

use super::{ChurnGrowthResult, ChurnGrowthSettings, ClassCounts, Cohort, CustomerGrowth, KindScore, OverallGrowth};
use crate::analyze::Context;
use crate::analyze::decisions::daily::{self, Calendar, ChurnRisk, DayKind, Series, customer_days};
use crate::analyze::frame::ratio;
use crate::analyze::scenarios::labels::{Label, labels_beside};
use crate::analyze::stats::{Trend, benjamini_hochberg, log_linear_trend};
use crate::report::html::{self as h, Recommendation, Severity};

const WEEK: i64 = 7;

pub fn analyze(ctx: &Context<'_>, s: &ChurnGrowthSettings) -> Result<ChurnGrowthResult> {
    let (first_day, last_day) = (ctx.window.first_day, ctx.window.last_day);
    let days = customer_days(ctx)?;
    let cal = Calendar::from_plan(ctx.config);
    let series = daily::series(&days, last_day, &cal);
    let risks = daily::churn_risks(&series, s.churn_lookback_days, s.churn_p_value);
    let weeks = ((last_day - first_day).num_days() + 1) / WEEK;
    let week_of = |d: NaiveDate| (d - first_day).num_days().div_euclid(WEEK);

    let mut by_customer = customers(&series, &risks, weeks, week_of, s);
    let classes = ClassCounts {
        growing: count(&by_customer, "growing"),
        stable: count(&by_customer, "stable"),
        declining: count(&by_customer, "declining"),
        untested: count(&by_customer, "untested"),
    };
    by_customer.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then(slope(a).total_cmp(&slope(b)))
            .then_with(|| a.customer_id.cmp(&b.customer_id))
    });
    let at_risk = |r: &str| by_customer.iter().filter(|c| c.risk == r).count() as u64;
    let (cohorts, after_last) = cohorts(&series, weeks, week_of, first_day);
    let (labels_file, labels) = if series.iter().any(|sr| sr.days[0].scenario.is_some()) {
        labels_beside(&ctx.source.path)?
    } else {
        (None, Vec::new())
    };
    let scores = if labels.is_empty() {
        Vec::new()
    } else {
        scores(&by_customer, &risks, &labels, s)
    };
    let mut out = ChurnGrowthResult {
        window_days: ctx.window.days,
        first_day,
        weeks: weeks as u32,
        customers: series.len() as u64,
        cohorts,
        customers_after_last_week: after_last,
        overall: overall(&days, &cal, first_day, last_day, weeks, s),
        classes,
        churned: at_risk("churned"),
        declining_at_risk: at_risk("declining"),
        monthly_revenue_at_risk: by_customer
            .iter()
            .filter(|c| !c.risk.is_empty())
            .map(|c| c.tier_price_usd)
            .sum(),
        by_customer,
        labels_file,
        scores,
        recommendations: Vec::new(),
    };
    out.recommendations = recommendations(&out);
    Ok(out)
}

fn count(rows: &[CustomerGrowth], class: &str) -> u64 {
    rows.iter().filter(|c| c.class == class).count() as u64
}

/// Churned first, then declining, then the rest.
fn rank(c: &CustomerGrowth) -> u8 {
    match c.risk.as_str() {
        "churned" => 0,
        "declining" => 1,
        _ => 2,
    }
}

fn slope(c: &CustomerGrowth) -> f64 {
    c.trend.map_or(0.0, |t| t.slope)
}

fn day_off(kinds: &[DayKind]) -> Vec<bool> {
    kinds.iter().map(|&k| k != DayKind::Weekday).collect()
}

/// Calls per complete week of a list of (date, calls).
fn weekly(days: impl Iterator<Item = (NaiveDate, u64)>, weeks: i64, week_of: impl Fn(NaiveDate) -> i64) -> Vec<u64> {
    let mut out = vec![0; weeks as usize];
    for (d, calls) in days {
        let w = week_of(d);
        if (0..weeks).contains(&w) {
            out[w as usize] += calls;
        }
    }
    out
}

fn customers(
    series: &[Series<'_>],
    risks: &[ChurnRisk],
    weeks: i64,
    week_of: impl Fn(NaiveDate) -> i64 + Copy,
    s: &ChurnGrowthSettings,
) -> Vec<CustomerGrowth> {
    let risk_of: BTreeMap<&str, &ChurnRisk> = risks.iter().map(|r| (r.customer_id.as_str(), r)).collect();
    let trends: Vec<Option<Trend>> = series
        .iter()
        .map(|sr| log_linear_trend(&sr.calls, &day_off(&sr.kinds), s.min_days as usize))
        .collect();
    let tested: Vec<(usize, f64)> = trends
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.map(|t| (i, t.p_value)))
        .collect();
    let p_values: Vec<f64> = tested.iter().map(|&(_, p)| p).collect();
    let mut significant = vec![false; series.len()];
    for (&(i, _), r) in tested.iter().zip(benjamini_hochberg(&p_values, p_values.len(), s.fdr)) {
        significant[i] = r;
    }
    series
        .iter()
        .zip(&trends)
        .zip(significant)
        .map(|((sr, trend), sig)| {
            let d0 = &sr.days[0];
            let weekly_calls = weekly(sr.days.iter().map(|d| (d.date, d.calls)), weeks, week_of);
            let last_week_over_week = match weekly_calls.as_slice() {
                [.., prev, last] if *prev > 0 => Some(*last as f64 / *prev as f64 - 1.0),
                _ => None,
            };
            let class = match trend {
                None => "untested",
                Some(t) if sig && t.slope > 0.0 => "growing",
                Some(t) if sig && t.slope < 0.0 => "declining",
                Some(_) => "stable",
            };
            let churn = risk_of.get(&*d0.customer);
            let risk = if churn.is_some_and(|r| r.churned) {
                "churned"
            } else if class == "declining" {
                "declining"
            } else {
                ""
            };
            CustomerGrowth {
                customer_id: d0.customer.to_string(),
                subscription_tier: d0.tier.to_string(),
                tier_price_usd: d0.tier_price,
                scenario: d0.scenario.as_deref().map(str::to_string),
                first_day: sr.first,
                calls: sr.days.iter().map(|d| d.calls).sum(),
                weekly_calls,
                last_week_over_week,
                trend: *trend,
                class: class.into(),
                silent_days: churn.map_or(0, |r| r.silent_days),
                silence_p_value: churn.map(|r| r.p_value),
                risk: risk.into(),
            }
        })
        .collect()
}

/// The cohort matrix over complete weeks, and the customers first seen after the last one.
fn cohorts(
    series: &[Series<'_>],
    weeks: i64,
    week_of: impl Fn(NaiveDate) -> i64,
    first_day: NaiveDate,
) -> (Vec<Cohort>, u64) {
    let mut rows: BTreeMap<i64, (u64, Vec<u64>)> = BTreeMap::new();
    let mut after = 0;
    for sr in series {
        let w0 = week_of(sr.first).max(0);
        if w0 >= weeks {
            after += 1;
            continue;
        }
        let active: BTreeSet<i64> = sr.days.iter().map(|d| week_of(d.date)).collect();
        let row = rows.entry(w0).or_insert_with(|| (0, vec![0; (weeks - w0) as usize]));
        row.0 += 1;
        for (k, n) in row.1.iter_mut().enumerate() {
            *n += u64::from(active.contains(&(w0 + k as i64)));
        }
    }
    let cohorts = rows
        .into_iter()
        .map(|(w, (customers, active))| Cohort {
            week: w as u32,
            start: first_day + chrono::Days::new((w * WEEK) as u64),
            customers,
            retention: active.iter().map(|&a| ratio(a as f64, customers as f64)).collect(),
            active,
        })
        .collect();
    (cohorts, after)
}

fn overall(
    days: &[daily::CustomerDay],
    cal: &Calendar,
    first_day: NaiveDate,
    last_day: NaiveDate,
    weeks: i64,
    s: &ChurnGrowthSettings,
) -> OverallGrowth {
    let n = (last_day - first_day).num_days() + 1;
    let mut calls = vec![0.0; n.max(0) as usize];
    for d in days {
        let i = (d.date - first_day).num_days();
        if (0..n).contains(&i) {
            calls[i as usize] += d.calls as f64;
        }
    }
    let off: Vec<bool> = (0..n)
        .map(|i| cal.kind(None, first_day + chrono::Days::new(i as u64)) != DayKind::Weekday)
        .collect();
    let weekly_calls = weekly(days.iter().map(|d| (d.date, d.calls)), weeks, |d| {
        (d - first_day).num_days().div_euclid(WEEK)
    });
    let week_over_week = weekly_calls
        .iter()
        .enumerate()
        .map(|(i, &w)| (i > 0 && weekly_calls[i - 1] > 0).then(|| w as f64 / weekly_calls[i - 1] as f64 - 1.0))
        .collect();
    let trend = log_linear_trend(&calls, &off, s.min_days as usize);
    // One series: significant at the page's false-discovery rate taken as its level.
    let class = match trend {
        Some(t) if t.p_value <= s.fdr && t.slope > 0.0 => "growing",
        Some(t) if t.p_value <= s.fdr && t.slope < 0.0 => "declining",
        Some(_) => "stable",
        None => "untested",
    };
    OverallGrowth {
        weekly_calls,
        week_over_week,
        trend,
        class: class.into(),
    }
}

/// `churn` (the churn detector's customers against the labelled ones),
/// `decline` and `growth` (cohort labels: every customer of a labelled scenario should be
/// declining, or growing).
fn scores(rows: &[CustomerGrowth], risks: &[ChurnRisk], labels: &[Label], s: &ChurnGrowthSettings) -> Vec<KindScore> {
    let scenario_of: BTreeMap<String, String> = rows
        .iter()
        .filter_map(|c| c.scenario.clone().map(|sc| (c.customer_id.clone(), sc)))
        .collect();
    let by_scenario = |ids: &mut dyn Iterator<Item = &str>| -> Vec<(String, u64)> {
        let mut m: BTreeMap<String, u64> = BTreeMap::new();
        for id in ids {
            *m.entry(scenario_of.get(id).cloned().unwrap_or_default()).or_default() += 1;
        }
        m.into_iter().collect()
    };
    let churn_truth: BTreeSet<&str> = labels
        .iter()
        .filter(|l| l.kind == "churn" && scenario_of.contains_key(&l.subject))
        .map(|l| l.subject.as_str())
        .collect();
    let churned: BTreeSet<&str> = risks
        .iter()
        .filter(|r| r.churned)
        .map(|r| r.customer_id.as_str())
        .collect();
    let tp = churned.intersection(&churn_truth).count() as u64;
    let mut out = vec![KindScore {
        kind: "churn".into(),
        method: format!(
            "Customers labelled `churn` against those silent to the window's end longer than their rate over the {} \
             days before makes likely (Poisson, p below {}).",
            s.churn_lookback_days, s.churn_p_value
        ),
        labelled: churn_truth.len() as u64,
        flagged: churned.len() as u64,
        true_positives: tp,
        precision: ratio(tp as f64, churned.len() as f64),
        recall: ratio(tp as f64, churn_truth.len() as f64),
        false_alarms_by_scenario: by_scenario(&mut churned.difference(&churn_truth).copied()),
    }];
    for (kind, class) in [("decline", "declining"), ("growth", "growing")] {
        let labelled_scenarios: BTreeSet<&str> = labels
            .iter()
            .filter(|l| l.kind == kind)
            .map(|l| l.scenario.as_str())
            .collect();
        let truth: BTreeSet<&str> = rows
            .iter()
            .filter(|c| c.scenario.as_deref().is_some_and(|sc| labelled_scenarios.contains(sc)))
            .map(|c| c.customer_id.as_str())
            .collect();
        let flagged: BTreeSet<&str> = rows
            .iter()
            .filter(|c| c.class == class)
            .map(|c| c.customer_id.as_str())
            .collect();
        let tp = flagged.intersection(&truth).count() as u64;
        out.push(KindScore {
            kind: kind.into(),
            method: format!(
                "Customers of the scenarios labelled `{kind}` against the customers whose trend is {class} \
                 (Benjamini–Hochberg at {}).",
                s.fdr
            ),
            labelled: truth.len() as u64,
            flagged: flagged.len() as u64,
            true_positives: tp,
            precision: ratio(tp as f64, flagged.len() as f64),
            recall: ratio(tp as f64, truth.len() as f64),
            false_alarms_by_scenario: by_scenario(&mut flagged.difference(&truth).copied()),
        });
    }
    out
}

fn recommendations(r: &ChurnGrowthResult) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let sum = |risk: &str| -> (Vec<&CustomerGrowth>, f64) {
        let rows: Vec<&CustomerGrowth> = r.by_customer.iter().filter(|c| c.risk == risk).collect();
        let revenue = rows.iter().map(|c| c.tier_price_usd).sum();
        (rows, revenue)
    };
    let list = |rows: &[&CustomerGrowth]| -> String {
        let shown: Vec<&str> = rows.iter().take(5).map(|c| c.customer_id.as_str()).collect();
        let more = rows.len().saturating_sub(5);
        format!(
            "{}{}",
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )
    };
    let (churned, lost) = sum("churned");
    if !churned.is_empty() {
        out.push(Recommendation {
            severity: Severity::High,
            title: format!("{} customers have stopped calling", churned.len()),
            message: format!(
                "{} have been silent longer than their own recent rate makes likely; their plans bring {} a month.",
                list(&churned),
                h::usd(lost)
            ),
            action: "Contact them this week: a customer that stops calling cancels at the next renewal.".into(),
            amount_usd: Some(lost),
        });
    }
    let (declining, at_stake) = sum("declining");
    if !declining.is_empty() {
        out.push(Recommendation {
            severity: Severity::Medium,
            title: format!("{} customers' usage declines", declining.len()),
            message: format!(
                "{} call significantly less each week (steepest: {} a week); their plans bring {} a month.",
                list(&declining),
                h::percent(declining[0].trend.map_or(0.0, |t| t.weekly_rate)),
                h::usd(at_stake)
            ),
            action: "Review their support tickets and feature use, and offer help before the decline becomes churn."
                .into(),
            amount_usd: Some(at_stake),
        });
    }
    let growing: Vec<&CustomerGrowth> = r
        .by_customer
        .iter()
        .filter(|c| c.class == "growing" && c.subscription_tier != "enterprise")
        .collect();
    if !growing.is_empty() {
        out.push(Recommendation {
            severity: Severity::Low,
            title: format!("{} customers below enterprise are growing", growing.len()),
            message: format!("{} call significantly more each week.", list(&growing)),
            action: "Offer them the next tier before their usage outgrows the plan's price.".into(),
            amount_usd: None,
        });
    }
    out
}
