//! What passes from one attempt to the next, resolved strictly in time order: the user's attempts
//! in the last hour (`velocity_1h`), sessions, the risk score that reads them, rate limiting, the
//! purchase's outcome, and what is left of each tier.
//!
//! Units are generated in parallel and handed here in plan order. A visit's attempts may run past
//! its unit's end, so attempts wait here until every attempt before them is known: when unit k
//! arrives, every attempt before unit k+1's start is final. Memory is bounded by the attempts of
//! the last hour, never by the run.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use super::attempt::{Attempt, PaymentStatus};
use super::model::TicketModel;
use super::traffic::{TicketGenerator, round2};
use super::users::user_key;
use crate::sim::rng::permute;

const HOUR_MS: i64 = 3_600_000;
const SESSION_KEY: u64 = 0x7365_7373_5f6b_6579;

/// One tier of one event: what is left and what was sold.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TierSales {
    pub remaining: u32,
    pub sold: u64,
    pub sold_out_at: Option<i64>,
    pub revenue: f64,
    /// Seats the presale may still sell, and when the general sale opens.
    pub presale_left: u32,
    pub general_ms: i64,
}

/// A user seen in the last hour: the times of those attempts (ms since the window's start,
/// in order) and the current session.
#[derive(Debug, Clone)]
struct Recent {
    times: VecDeque<u32>,
    session: u64,
}

/// The state carried through the run.
#[derive(Debug)]
pub struct Carry {
    /// Generated attempts not yet final, in order.
    pending: Vec<Attempt>,
    users: FxHashMap<u64, Recent>,
    /// The window's start: attempt times are kept relative to it, in 32 bits.
    origin_ms: i64,
    /// Users in the map after the last sweep.
    swept: usize,
    /// Per cohort, per event: its three tiers.
    pub sales: Vec<Vec<[TierSales; 3]>>,
}

impl Carry {
    pub fn new(g: &TicketGenerator) -> Carry {
        let sales = g
            .cohorts
            .iter()
            .map(|c| {
                c.events
                    .iter()
                    .map(|e| {
                        e.tier_capacity.map(|remaining| TierSales {
                            remaining,
                            presale_left: (f64::from(remaining) * g.model.orders.presale_allocation).floor() as u32,
                            general_ms: e.general_ms,
                            ..TierSales::default()
                        })
                    })
                    .collect()
            })
            .collect();
        Carry {
            pending: Vec::new(),
            users: FxHashMap::default(),
            origin_ms: g.start_ms,
            swept: 0,
            sales,
        }
    }

    /// Takes a unit's attempts and returns, resolved and in time order, every attempt before
    /// `until` (the next unit's start).
    pub fn slice(&mut self, g: &TicketGenerator, raw: Vec<Attempt>, until: i64) -> Vec<Attempt> {
        // Both are in order: merge them (usually nothing is pending), then keep the tail.
        let mut all = if self.pending.is_empty() {
            raw
        } else {
            merge(std::mem::take(&mut self.pending), raw)
        };
        let n = all.partition_point(|a| a.timestamp_ms < until);
        self.pending = all.split_off(n);
        let mut out = all;
        for a in &mut out {
            self.resolve(g.model, a);
        }
        // Forget users with no attempt in the last hour, so memory follows the last hour's
        // attempts, not the run's (swept when the map has doubled, so the sweeps cost as much
        // as the insertions).
        if let Some(last) = out.last()
            && self.users.len() >= 2 * self.swept.max(1024)
        {
            let horizon = self.offset(last.timestamp_ms - HOUR_MS);
            self.users.retain(|_, r| {
                while r.times.front().is_some_and(|&t| t < horizon) {
                    r.times.pop_front();
                }
                !r.times.is_empty()
            });
            self.swept = self.users.len();
        }
        out
    }

    /// Every attempt still waiting (after the last unit), resolved.
    pub fn rest(&mut self, g: &TicketGenerator) -> Vec<Attempt> {
        self.slice(g, Vec::new(), i64::MAX)
    }

    /// Milliseconds since the window's start (attempts lie inside the window).
    fn offset(&self, t: i64) -> u32 {
        (t - self.origin_ms).clamp(0, i64::from(u32::MAX)) as u32
    }

    fn resolve(&mut self, m: &TicketModel, a: &mut Attempt) {
        let t = self.offset(a.timestamp_ms);
        let horizon = self.offset(a.timestamp_ms - HOUR_MS);
        let gap = (m.visits.session_gap_minutes * 60_000.0) as u32;
        let entry = self.users.entry(user_key(a.cohort, a.user)).or_insert(Recent {
            times: VecDeque::new(),
            session: 0,
        });
        while entry.times.front().is_some_and(|&t0| t0 < horizon) {
            entry.times.pop_front();
        }
        a.velocity = entry.times.len() as u32;
        if entry.times.back().is_none_or(|&last| t - last > gap) {
            entry.session = permute(a.key, SESSION_KEY);
        }
        a.session = entry.session;
        entry.times.push_back(t);

        let r = &m.risk;
        let logit = r.intercept
            + r.velocity * f64::from(a.velocity.min(60)) / 10.0
            + r.device_mismatch * f64::from(u8::from(a.device_mismatch))
            + r.geo_mismatch * f64::from(u8::from(a.geo_mismatch))
            + r.time_anomaly * f64::from(u8::from(a.time_anomaly))
            + r.new_account * f64::from(u8::from(a.new_account))
            + r.noise * f64::from(a.z_risk);
        a.risk = ((1.0 / (1.0 + (-logit).exp())) * 10_000.0).round() / 10_000.0;

        let s = &m.service;
        if a.velocity >= s.rate_limit_per_hour && f64::from(a.u_limit) < s.rate_limit_share {
            a.api_status = 429;
            a.latency_ms = 2;
        }
        a.status = self.outcome(m, a);
    }

    /// The purchase's outcome, and the seats it takes.
    fn outcome(&mut self, m: &TicketModel, a: &mut Attempt) -> PaymentStatus {
        let tier = &mut self.sales[usize::from(a.cohort)][a.event as usize][usize::from(a.tier)];
        let presale = a.timestamp_ms < tier.general_ms;
        let available = if presale {
            tier.presale_left.min(tier.remaining)
        } else {
            tier.remaining
        };
        if available == 0 {
            return PaymentStatus::SoldOut;
        }
        let risk = a.risk;
        let r = &m.risk;
        let through = f64::from(a.u_outcome) < f64::from(a.success_rate);
        let status = if a.attack {
            // An attack's success rate is the share that gets past every defence.
            if through {
                if a.api_status == 429 {
                    a.api_status = 200;
                    a.latency_ms = a.latency_ms.max(3);
                }
                PaymentStatus::Completed
            } else if a.api_status != 429 && risk >= r.block_threshold {
                PaymentStatus::Blocked
            } else {
                PaymentStatus::Failed
            }
        } else if a.api_status == 429 {
            PaymentStatus::Failed
        } else if a.u_abandon < a.abandonment {
            PaymentStatus::Abandoned
        } else if a.is_fraud {
            if through {
                PaymentStatus::Completed
            } else if risk >= r.block_threshold {
                PaymentStatus::Blocked
            } else {
                PaymentStatus::Failed
            }
        } else if risk >= r.legit_block_threshold {
            PaymentStatus::Blocked
        } else if f64::from(a.u_outcome) < m.orders.payment_failure {
            PaymentStatus::Failed
        } else {
            PaymentStatus::Completed
        };
        if status == PaymentStatus::Completed {
            // The last buyer of a tier gets the seats that are left.
            let taken = a.num_tickets.min(available);
            a.num_tickets = taken;
            tier.remaining -= taken;
            if presale {
                tier.presale_left -= taken;
            }
            tier.sold += u64::from(taken);
            tier.revenue += round2(a.price_per_ticket * f64::from(taken));
            if tier.remaining == 0 {
                tier.sold_out_at = Some(a.timestamp_ms);
            }
        }
        status
    }
}

/// Merges two runs of attempts in (time, key) order.
fn merge(a: Vec<Attempt>, b: Vec<Attempt>) -> Vec<Attempt> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => (x.timestamp_ms, x.key) <= (y.timestamp_ms, y.key),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        out.push(if take_a { a.next() } else { b.next() }.expect("peeked"));
    }
    out
}
