//! Cost spikes: the decisions page's hourly burst detector ([`detect_bursts`]), each burst's cost
//! above the customer's baseline set against the customer's monthly price, and, beside labelled
//! data, the detector's score against the `burst` labels (the scenarios page's
//! [`score_bursts`]) and the spikes explained by an injected event: a labelled burst of the same
//! customer, or a cohort that went viral (`viral_spike`: its growth is hourly excess too).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::AbuseSettings;
use super::pass::CustomerCounts;
use crate::analyze::Context;
use crate::analyze::decisions::DecisionSettings;
use crate::analyze::decisions::burst::{HOUR_US, detect_bursts};
use crate::analyze::frame::ratio;
use crate::analyze::scenarios::BurstScore;
use crate::analyze::scenarios::labels::{Label, labels_beside};
use crate::analyze::scenarios::score::score_bursts;
use crate::analyze::scenarios::signatures::customer_scenarios;
use crate::report::html::{self as h, Recommendation, Severity};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CostSpikes {
    pub method: String,
    pub customers: u64,
    pub hours_tested: u64,
    /// Σ of every spike's cost above its baseline.
    pub excess_cost_usd: f64,
    /// Spikes whose excess reaches the `[decisions]` materiality floor.
    pub material: u64,
    /// Every spike, largest excess relative to the customer's monthly price first.
    pub spikes: Vec<CostSpike>,
    pub labels_file: Option<PathBuf>,
    /// The detector against the `burst` labels (when labels are beside the data).
    pub burst_score: Option<BurstScore>,
    /// Spikes explained by a labelled burst or a viral cohort (when labels are beside the data).
    pub explained: Option<Explained>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CostSpike {
    pub customer_id: String,
    pub subscription_tier: String,
    pub tier_price_usd: f64,
    /// First hour (UTC) and length in hours.
    pub start: String,
    pub hours: u32,
    pub calls: u64,
    pub expected_calls: f64,
    pub excess_cost_usd: f64,
    /// Excess ÷ the monthly tier price.
    pub share_of_price: f64,
    /// `burst` (a labelled burst of the customer overlaps it), `viral_spike` (its customer's
    /// scenario went viral), or empty.
    pub explained_by: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Explained {
    pub by_burst_label: u64,
    pub by_viral_cohort: u64,
    pub unexplained: u64,
    /// (Burst + viral) ÷ every spike: the precision of the spikes against every injected event.
    pub share: f64,
    /// Customers of the viral cohorts, and those with a spike.
    pub viral_customers: u64,
    pub viral_customers_spiking: u64,
}

pub fn cost_spikes(
    ctx: &Context<'_>,
    s: &DecisionSettings,
    customers: &BTreeMap<String, CustomerCounts>,
) -> Result<CostSpikes> {
    let set = detect_bursts(ctx, s)?;
    let has_scenario = ctx.calls().collect_schema()?.get("scenario").is_some();
    let (labels_file, labels) = if has_scenario {
        labels_beside(&ctx.source.path)?
    } else {
        (None, Vec::new())
    };
    let scenario_of = if labels.is_empty() {
        BTreeMap::new()
    } else {
        customer_scenarios(ctx)?
    };
    let viral: BTreeSet<&str> = labels
        .iter()
        .filter(|l| l.kind == "viral_spike")
        .map(|l| l.scenario.as_str())
        .collect();
    let labelled_burst = |c: &str, a: i64, b: i64| {
        labels.iter().any(|l: &Label| {
            l.kind == "burst"
                && l.subject == c
                && l.start_us.div_euclid(HOUR_US) < b
                && a < (l.end_us - 1).div_euclid(HOUR_US) + 1
        })
    };
    let mut spikes: Vec<CostSpike> = set
        .bursts
        .iter()
        .map(|b| {
            let c = customers.get(&b.customer_id);
            let price = c.map_or(0.0, |c| c.tier_price);
            let explained_by = if labelled_burst(&b.customer_id, b.start_hour, b.end_hour) {
                "burst"
            } else if scenario_of
                .get(&b.customer_id)
                .is_some_and(|sc| viral.contains(sc.as_str()))
            {
                "viral_spike"
            } else {
                ""
            };
            CostSpike {
                customer_id: b.customer_id.clone(),
                subscription_tier: c.map_or_else(String::new, |c| c.tier.clone()),
                tier_price_usd: price,
                start: b.start.clone(),
                hours: (b.end_hour - b.start_hour) as u32,
                calls: b.calls,
                expected_calls: b.expected_calls,
                excess_cost_usd: b.excess_cost_usd,
                share_of_price: ratio(b.excess_cost_usd, price),
                explained_by: explained_by.into(),
            }
        })
        .collect();
    spikes.sort_by(|a, b| {
        b.share_of_price
            .total_cmp(&a.share_of_price)
            .then(b.excess_cost_usd.total_cmp(&a.excess_cost_usd))
            .then_with(|| a.customer_id.cmp(&b.customer_id))
            .then_with(|| a.start.cmp(&b.start))
    });
    let (burst_score, explained) = if labels.is_empty() {
        (None, None)
    } else {
        let count = |k: &str| spikes.iter().filter(|x| x.explained_by == k).count() as u64;
        let (by_burst, by_viral) = (count("burst"), count("viral_spike"));
        let viral_customers: BTreeSet<&str> = scenario_of
            .iter()
            .filter(|(_, sc)| viral.contains(sc.as_str()))
            .map(|(c, _)| c.as_str())
            .collect();
        let spiking: BTreeSet<&str> = spikes.iter().map(|x| x.customer_id.as_str()).collect();
        (
            Some(score_bursts(ctx, s, &labels, &scenario_of, s.table_rows as usize)?),
            Some(Explained {
                by_burst_label: by_burst,
                by_viral_cohort: by_viral,
                unexplained: spikes.len() as u64 - by_burst - by_viral,
                share: ratio((by_burst + by_viral) as f64, spikes.len() as f64),
                viral_customers: viral_customers.len() as u64,
                viral_customers_spiking: viral_customers.intersection(&spiking).count() as u64,
            }),
        )
    };
    Ok(CostSpikes {
        method: set.method,
        customers: set.customers,
        hours_tested: set.hours_tested,
        excess_cost_usd: spikes.iter().map(|x| x.excess_cost_usd).sum(),
        material: spikes.iter().filter(|x| x.excess_cost_usd >= s.materiality_usd).count() as u64,
        spikes,
        labels_file,
        burst_score,
        explained,
    })
}

/// One recommendation when a spike's excess reaches the materiality floor.
pub fn recommendation(c: &CostSpikes, s: &AbuseSettings) -> Option<Recommendation> {
    let floor = s.detector.materiality_usd;
    let material: Vec<&CostSpike> = c.spikes.iter().filter(|x| x.excess_cost_usd >= floor).collect();
    let top = material.first()?;
    let total: f64 = material.iter().map(|x| x.excess_cost_usd).sum();
    Some(Recommendation {
        severity: if top.share_of_price >= s.detector.stake_high {
            Severity::High
        } else {
            Severity::Medium
        },
        title: format!("{} cost spikes above {}", material.len(), h::usd(floor)),
        message: format!(
            "The largest relative to its plan: {} ({}) spent {} above its baseline in {} h from {} UTC, {} of its {} \
             monthly price.",
            top.customer_id,
            top.subscription_tier,
            h::usd(top.excess_cost_usd),
            top.hours,
            top.start,
            h::percent(top.share_of_price),
            h::usd(top.tier_price_usd)
        ),
        action: "Set per-hour spend alerts at the customer's baseline plus this excess, and cap runaway jobs with a \
                 per-key hourly budget."
            .into(),
        amount_usd: Some(total),
    })
}
