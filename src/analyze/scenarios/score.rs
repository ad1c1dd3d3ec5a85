//! The detectors of the decisions page scored against the labels: the hourly burst detector
//! against the `burst` labels, the churn detector against the `churn` labels.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use anyhow::Result;

use super::labels::Label;
use super::{BurstScore, ChurnScore, MissedBurst, ScenarioBursts};
use crate::analyze::Context;
use crate::analyze::decisions::burst::{HOUR_US, detect_bursts_keeping};
use crate::analyze::decisions::{DecisionSettings, daily};
use crate::analyze::frame::ratio;

/// A labelled customer event in epoch hours: [first, end).
struct Truth<'a> {
    label: &'a Label,
    first: i64,
    end: i64,
}

/// Recall: the labelled bursts (of customers in the data, overlapping the window) that a detected
/// burst of the same customer overlaps. Precision: the detected bursts on the customers of the
/// scenarios that label bursts that overlap a labelled burst of their customer.
pub(super) fn score_bursts(
    ctx: &Context<'_>,
    s: &DecisionSettings,
    labels: &[Label],
    customers: &BTreeMap<String, String>,
    table_rows: usize,
) -> Result<BurstScore> {
    let first_hour = ctx
        .window
        .first_day
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp()
        / 3600;
    let end_hour = first_hour + i64::from(ctx.window.days) * 24;
    let truth: Vec<Truth<'_>> = labels
        .iter()
        .filter(|l| l.kind == "burst" && l.subject_type == "customer" && customers.contains_key(&l.subject))
        .map(|l| Truth {
            label: l,
            first: l.start_us.div_euclid(HOUR_US).max(first_hour),
            end: ((l.end_us - 1).div_euclid(HOUR_US) + 1).min(end_hour),
        })
        .filter(|t| t.first < t.end)
        .collect();
    let keep: HashSet<String> = truth.iter().map(|t| t.label.subject.clone()).collect();
    let (set, kept) = detect_bursts_keeping(ctx, s, &keep)?;
    let overlaps = |c: &str, a: i64, b: i64| {
        set.bursts
            .iter()
            .any(|x| x.customer_id == c && x.start_hour < b && a < x.end_hour)
    };
    let mut detected = 0;
    let (mut material, mut material_detected) = (0, 0);
    let mut missed = Vec::new();
    for t in &truth {
        let k = &kept[&t.label.subject];
        let hours = (t.first - first_hour) as usize..(t.end - first_hour) as usize;
        let expected_excess: f64 = k.expected[hours.clone()].iter().sum::<f64>() * (t.label.magnitude - 1.0).max(0.0);
        let is_material = expected_excess >= s.burst_min_excess_calls as f64;
        let hit = overlaps(&t.label.subject, t.first, t.end);
        detected += u64::from(hit);
        material += u64::from(is_material);
        material_detected += u64::from(is_material && hit);
        if !hit {
            let start = crate::analyze::frame::hour_start(t.first);
            missed.push(MissedBurst {
                customer_id: t.label.subject.clone(),
                start: start.format("%Y-%m-%dT%H:00").to_string(),
                multiplier: t.label.magnitude,
                expected_excess_calls: expected_excess,
                calls: k.calls[hours].iter().sum::<f64>() as u64,
                detail: t.label.detail.clone(),
            });
        }
    }
    missed.sort_by(|a, b| {
        b.expected_excess_calls
            .total_cmp(&a.expected_excess_calls)
            .then_with(|| a.customer_id.cmp(&b.customer_id))
            .then_with(|| a.start.cmp(&b.start))
    });
    missed.truncate(table_rows);
    let bursting: BTreeSet<&str> = labels
        .iter()
        .filter(|l| l.kind == "burst")
        .map(|l| l.scenario.as_str())
        .collect();
    let on_bursting = |c: &str| customers.get(c).is_some_and(|sc| bursting.contains(sc.as_str()));
    let flagged: Vec<_> = set.bursts.iter().filter(|x| on_bursting(&x.customer_id)).collect();
    let true_positives = flagged
        .iter()
        .filter(|x| {
            truth
                .iter()
                .any(|t| t.label.subject == x.customer_id && x.start_hour < t.end && t.first < x.end_hour)
        })
        .count() as u64;
    let mut by: BTreeMap<&str, ScenarioBursts> = BTreeMap::new();
    for sc in customers.values() {
        by.entry(sc.as_str())
            .or_insert_with(|| ScenarioBursts {
                scenario: sc.clone(),
                customers: 0,
                bursts: 0,
            })
            .customers += 1;
    }
    for x in &set.bursts {
        if let Some(e) = customers.get(&x.customer_id).and_then(|sc| by.get_mut(sc.as_str())) {
            e.bursts += 1;
        }
    }
    Ok(BurstScore {
        method: format!(
            "{}. A detected burst finds a labelled one when they share an hour.",
            set.method
        ),
        labelled: truth.len() as u64,
        detected,
        recall: ratio(detected as f64, truth.len() as f64),
        material,
        material_detected,
        material_recall: ratio(material_detected as f64, material as f64),
        flagged: flagged.len() as u64,
        true_positives,
        precision: ratio(true_positives as f64, flagged.len() as f64),
        by_scenario: by.into_values().collect(),
        missed,
    })
}

/// The churn detector's flagged customers against the customers labelled `churn`.
pub(super) fn score_churn(
    ctx: &Context<'_>,
    s: &DecisionSettings,
    labels: &[Label],
    customers: &BTreeMap<String, String>,
) -> Result<ChurnScore> {
    let days = daily::customer_days(ctx)?;
    let series = daily::series(&days, ctx.window.last_day, &daily::Calendar::from_plan(ctx.config));
    let risks = daily::churn_risks(&series, s.churn_lookback_days, s.churn_p_value);
    Ok(churn_score(&risks, labels, customers, s))
}

/// Precision and recall of `risks`' churned customers against the `churn` labels.
pub fn churn_score(
    risks: &[daily::ChurnRisk],
    labels: &[Label],
    customers: &BTreeMap<String, String>,
    s: &DecisionSettings,
) -> ChurnScore {
    let truth: BTreeSet<&str> = labels
        .iter()
        .filter(|l| l.kind == "churn" && customers.contains_key(&l.subject))
        .map(|l| l.subject.as_str())
        .collect();
    let flagged: BTreeSet<&str> = risks
        .iter()
        .filter(|r| r.churned)
        .map(|r| r.customer_id.as_str())
        .collect();
    let tp = flagged.intersection(&truth).count() as u64;
    ChurnScore {
        method: format!(
            "A customer has churned when its silence up to the window's last day is less likely than {} given its rate \
             over the {} days before it (Poisson); scored against the customers labelled `churn`.",
            s.churn_p_value, s.churn_lookback_days
        ),
        labelled: truth.len() as u64,
        flagged: flagged.len() as u64,
        true_positives: tp,
        recall: ratio(tp as f64, truth.len() as f64),
        precision: ratio(tp as f64, flagged.len() as f64),
        missed: truth.difference(&flagged).map(|c| c.to_string()).collect(),
        false_alarms: flagged.difference(&truth).map(|c| c.to_string()).collect(),
    }
}
