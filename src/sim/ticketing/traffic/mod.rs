//! The ticketing traffic model: visits and purchase attempts, drawn per (cohort, process, slot).
//!
//! Time is cut into slots (hours, split where a burst's rate changes and where an hour is busy).
//! In a slot each of a cohort's processes — its everyday shopping, a flash sale, an attack — has a
//! constant visit rate. Counts come from a stream keyed by (cohort, slot, process): how many
//! visits, who makes them, for which event, and the times of their attempts. The content of the
//! attempts (tier, tickets, price, device, IP …) comes from a second stream, so the planner counts
//! attempts exactly without generating them.
//!
//! What depends on earlier slots — the user's attempts in the last hour, sessions, the risk score
//! that reads them, rate limiting, and what is left of a tier — is resolved in time order by
//! `carry` after the attempts are generated.

mod content;

use std::ops::Range;

use rand::RngExt;

use super::attempt::{Attempt, Slot, VisitHead, Visits};
use super::catalogue::{TicketCatalogue, cdf};
use super::cohort::Cohort;
use super::event_chooser::EventChooser;
use super::model::TicketModel;
use super::scenarios::{BurstKind, Env};
use super::users::{UserTables, generate_user_with};
use crate::sim::rng::{self, Domain, SimRng, permute, pick, poisson};

const HOUR_MS: i64 = 3_600_000;
/// Keys of the id bijections.
const TXN_KEY: u64 = 0x7478_6e5f_6b65_7921;
const INSTRUMENT_KEY: u64 = 0x0063_6172_645f_6b65;

/// What an attack burst does, read from its pattern's characteristics.
#[derive(Debug, Clone, Copy, PartialEq)]
struct AttackStyle {
    /// Stolen logins of the cohort's own people, from rotating IPs abroad.
    takeover: bool,
    /// A new browser each attempt.
    rotate_agent: bool,
    /// One cheap Standard ticket.
    cheap: bool,
    /// A new card each attempt.
    new_card: bool,
    /// Scalper bots buying the most wanted event in bulk.
    bulk: bool,
    /// Mean attempts per visit.
    attempts: f64,
}

/// Read-only state shared by every slot: the model, the cohorts and derived tables.
#[derive(Debug)]
pub struct TicketGenerator<'a> {
    pub seed: u64,
    pub catalogue: &'a TicketCatalogue,
    pub model: &'a TicketModel,
    pub start_ms: i64,
    pub days: u32,
    pub cohorts: Vec<Cohort>,
    /// Per country, per UTC hour of the window: the local hour.
    local_hours: Vec<Vec<u8>>,
    home_cdf: Vec<f64>,
    attack_cdf: Vec<f64>,
    payment_cdf: Vec<f64>,
    device_cdf: Vec<f64>,
    browser_cdfs: Vec<Vec<f64>>,
    styles: Vec<AttackStyle>,
    /// Per persona: cumulative tier preference.
    tier_cdfs: Vec<Vec<f64>>,
    /// The `mobile` device and the `wallet` payment method, which drift shifts toward.
    mobile: usize,
    wallet: u8,
    pub users: UserTables,
    /// Per persona: the fraud pattern of its fraud accounts' everyday purchases.
    everyday_patterns: Vec<Option<u8>>,
}

impl<'a> TicketGenerator<'a> {
    pub fn new(env: &Env<'a>, model: &'a TicketModel, cohorts: Vec<Cohort>) -> Self {
        let cat = env.catalogue;
        let hours = env.days * 24;
        let local_hours = cat
            .countries
            .iter()
            .map(|c| {
                (0..hours)
                    .map(|h| {
                        use chrono::{Offset, TimeZone, Timelike};
                        let t = env.start_ms + i64::from(h) * HOUR_MS;
                        let utc = chrono::DateTime::from_timestamp_millis(t)
                            .expect("in range")
                            .naive_utc();
                        let offset = c.tz.offset_from_utc_datetime(&utc).fix().local_minus_utc();
                        (utc + chrono::TimeDelta::seconds(i64::from(offset))).hour() as u8
                    })
                    .collect()
            })
            .collect();
        let styles = cat
            .fraud_patterns
            .iter()
            .map(|p| {
                let has = |c: &str| p.characteristics.iter().any(|x| x == c);
                let takeover = has("ip_rotation");
                let cheap = has("low_value_transactions");
                let bulk = has("high_velocity") || has("multiple_accounts");
                AttackStyle {
                    takeover,
                    rotate_agent: has("user_agent_rotation"),
                    cheap,
                    new_card: has("multiple_cards_same_user") || has("stolen_card"),
                    bulk,
                    attempts: if takeover {
                        1.0
                    } else if has("rapid_succession") {
                        12.0
                    } else if bulk {
                        8.0
                    } else {
                        3.0
                    },
                }
            })
            .collect();
        TicketGenerator {
            seed: env.seed,
            catalogue: cat,
            model,
            start_ms: env.start_ms,
            days: env.days,
            local_hours,
            home_cdf: cat.home_cdf(),
            attack_cdf: cat.attack_cdf(),
            payment_cdf: cat.payment_cdf(),
            device_cdf: cat.device_cdf(),
            browser_cdfs: (0..cat.devices.len()).map(|d| cat.browser_cdf(d)).collect(),
            styles,
            tier_cdfs: cat.personas.iter().map(|p| cdf(p.tier_preference)).collect(),
            mobile: cat.devices.iter().position(|d| d.name == "mobile").unwrap_or(0),
            wallet: cat.payment_methods.iter().position(|p| p.name == "wallet").unwrap_or(0) as u8,
            users: UserTables::new(cat),
            everyday_patterns: model.behaviour.everyday_patterns.clone(),
            cohorts,
        }
    }

    pub fn end_ms(&self) -> i64 {
        self.start_ms + i64::from(self.days) * 86_400_000
    }

    /// Processes of cohort `c`: 0 is its everyday shopping (when it has any), then its bursts.
    pub fn processes(&self, c: usize) -> usize {
        1 + self.cohorts[c].bursts.len()
    }

    /// Expected visits per second of process `j` of cohort `c` in `slot`, and the mean attempts
    /// per visit.
    pub fn visit_rate(&self, c: usize, j: usize, slot: &Slot) -> (f64, f64) {
        let cohort = &self.cohorts[c];
        let cat = self.catalogue;
        if j == 0 {
            let Some(rates) = cohort.everyday.get(slot.hour as usize) else {
                return (0.0, 1.0);
            };
            let visits: f64 = rates.iter().sum();
            if visits == 0.0 {
                return (0.0, 1.0);
            }
            let attempts: f64 = rates
                .iter()
                .zip(&cat.personas)
                .map(|(r, p)| r * p.attempts_per_visit)
                .sum();
            return (visits, attempts / visits);
        }
        let burst = &cohort.bursts[j - 1];
        let Some((piece, rate)) = burst
            .pieces
            .iter()
            .enumerate()
            .find(|(_, p)| p.0 <= slot.start_ms && slot.start_ms < p.1)
            .map(|(i, p)| (i, p.2))
        else {
            return (0.0, 1.0);
        };
        let rate = if burst.scaled { rate * cohort.scale } else { rate };
        let per_visit = match burst.kind {
            BurstKind::FlashSale { presale_pieces, .. } => {
                let crowd = cohort.crowd.as_ref().expect("a flash sale has a crowd");
                if piece < presale_pieces {
                    crowd.attempts_presale
                } else {
                    crowd.attempts_all
                }
            }
            BurstKind::Attack { pattern, .. } => self.styles[pattern].attempts,
        };
        (rate / per_visit, per_visit)
    }

    /// Attempts per second process `j` of cohort `c` makes in `slot`, expected.
    pub fn attempt_rate(&self, c: usize, j: usize, slot: &Slot) -> f64 {
        let (visits, per_visit) = self.visit_rate(c, j, slot);
        visits * per_visit
    }

    /// The visits of process `j` of cohort `c` in slot number `s`: drawn from the count stream,
    /// so counting and generating see the same visits.
    /// The event chooser of cohort `c` for UTC hour `hour` (events' sales open and close on whole
    /// hours, so one chooser serves every slot of the hour).
    pub fn chooser(&self, c: usize, hour: u32) -> EventChooser {
        let mid = self.start_ms + i64::from(hour) * HOUR_MS + HOUR_MS / 2;
        EventChooser::new(self.model, &self.cohorts[c], mid)
    }

    /// The visits of process `j` of cohort `c` in slot number `s`, with the cohort's chooser for
    /// the slot's hour: drawn from the count stream, so counting and generating see the same visits.
    pub fn visits(&self, c: usize, j: usize, s: u32, slot: &Slot, chooser: &EventChooser) -> Visits {
        let mut out = Visits::default();
        let (rate, per_visit) = self.visit_rate(c, j, slot);
        let mean = rate * slot.len_ms as f64 / 1000.0;
        if mean <= 0.0 {
            return out;
        }
        let cohort = &self.cohorts[c];
        let mut r = rng::stream(self.seed, Domain::TicketCount, count_subject(c, j), u64::from(s));
        let n = poisson(&mut r, mean);
        if n == 0 {
            return out;
        }
        let personas = (j == 0).then(|| cdf(cohort.everyday[slot.hour as usize].iter().copied()));
        let burst_end = match cohort.bursts.get(j.wrapping_sub(1)) {
            Some(b) if matches!(b.kind, BurstKind::Attack { .. }) => b
                .pieces
                .iter()
                .find(|p| p.0 <= slot.start_ms && slot.start_ms < p.1)
                .map(|p| p.1),
            _ => None,
        };
        let end = self.end_ms();
        let visits_cfg = &self.model.visits;
        for _ in 0..n {
            let Some((user, bot, event)) = self.who(cohort, j, slot, chooser, personas.as_deref(), &mut r) else {
                // Nobody can make this visit (no event on sale): it does not happen.
                continue;
            };
            let mean = match cohort.bursts.get(j.wrapping_sub(1)).map(|b| &b.kind) {
                Some(BurstKind::Attack { .. }) => per_visit,
                // Everyday and flash-sale visits: the persona's own mean.
                _ => self.catalogue.personas[cohort.layout.persona_of(user)].attempts_per_visit,
            };
            let k = (1 + poisson(&mut r, mean - 1.0)).min(visits_cfg.max_attempts);
            let rush = matches!(
                cohort.bursts.get(j.wrapping_sub(1)).map(|b| &b.kind),
                Some(BurstKind::FlashSale { .. })
            );
            let gaps = match (bot, rush) {
                (true, _) => visits_cfg.bot_gap_seconds,
                (false, true) => visits_cfg.rush_gap_seconds,
                (false, false) => visits_cfg.human_gap_seconds,
            };
            // Offsets of the visit's attempts from its start.
            let mut offsets = [0i64; 256];
            for i in 1..k as usize {
                offsets[i] = offsets[i - 1] + ((gaps[0] + (gaps[1] - gaps[0]) * r.random::<f64>()) * 1000.0) as i64;
            }
            let mut t = slot.start_ms + (r.random::<f64>() * slot.len_ms as f64) as i64;
            if let Some(end) = burst_end {
                // An attack's visits stay inside its burst, so its rate holds to the last second.
                t = t.min(end - 1 - offsets[k as usize - 1]).max(slot.start_ms);
            }
            let sale_end = cohort.events[event as usize].event_ms.min(end);
            let first = out.times.len() as u32;
            for &offset in &offsets[..k as usize] {
                if t + offset >= sale_end {
                    break;
                }
                out.times.push(t + offset);
            }
            let taken = out.times.len() as u32 - first;
            if taken > 0 {
                out.heads.push(VisitHead {
                    user,
                    event,
                    first,
                    n: taken,
                });
            }
        }
        out
    }

    /// Who makes a visit of process `j`, whether they are a bot, and which event it is for.
    fn who(
        &self,
        cohort: &Cohort,
        j: usize,
        slot: &Slot,
        chooser: &EventChooser,
        personas: Option<&[f64]>,
        r: &mut SimRng,
    ) -> Option<(u32, bool, u32)> {
        let cat = self.catalogue;
        let layout = &cohort.layout;
        if let Some(personas) = personas {
            let p = pick(personas, r.random());
            let day = cohort.local_day(self.start_ms, slot.start_ms);
            let (regular, fraud) = cohort.active_ranges(p, day, cat);
            let n = regular.len() + fraud.len();
            if n == 0 {
                return None;
            }
            let i = r.random_range(0..n as u32);
            let user = if (i as usize) < regular.len() {
                regular.start + i
            } else {
                fraud.start + i - regular.len() as u32
            };
            let event = chooser.pick(cohort.classes[p], r.random())?;
            return Some((user, layout.is_bot(user), event));
        }
        let burst = &cohort.bursts[j - 1];
        match burst.kind {
            BurstKind::FlashSale { presale_pieces, .. } => {
                let crowd = cohort.crowd.as_ref()?;
                let presale = burst.pieces[..presale_pieces]
                    .iter()
                    .any(|p| p.0 <= slot.start_ms && slot.start_ms < p.1);
                let cdf = if presale { &crowd.cdf_presale } else { &crowd.cdf_all };
                let g = &crowd.groups[pick(cdf, r.random())];
                let user = r.random_range(g.users.clone());
                Some((user, g.bot, cohort.flash_event?))
            }
            BurstKind::Attack { pattern, .. } => {
                let style = self.styles[pattern];
                let actors = attack_actors(cohort, cat, style);
                if actors.is_empty() {
                    return None;
                }
                let user = r.random_range(actors);
                // Card testers buy the cheapest ticket; stolen accounts and scalper bots go for the
                // sale that opened last, where seats are left to resell.
                let event = if style.cheap {
                    chooser.cheapest
                } else {
                    chooser.freshest
                }?;
                Some((user, true, event))
            }
        }
    }

    /// Generates the attempts of process `j` of cohort `c` in slot `s`, in visit order, and
    /// pushes those `keep` says yes to (called once per attempt, in order).
    #[allow(clippy::too_many_arguments)]
    pub fn attempts(
        &self,
        c: usize,
        j: usize,
        s: u32,
        slot: &Slot,
        chooser: &EventChooser,
        mut keep: impl FnMut() -> bool,
        out: &mut Vec<Attempt>,
    ) {
        let visits = self.visits(c, j, s, slot, chooser);
        if visits.heads.is_empty() {
            return;
        }
        let cohort = &self.cohorts[c];
        let mut r = rng::stream(self.seed, Domain::TicketContent, count_subject(c, j), u64::from(s));
        for (v, head) in visits.heads.iter().enumerate() {
            let user = generate_user_with(self.catalogue, &self.users, self.seed, &cohort.layout, head.user);
            let times = &visits.times[head.first as usize..(head.first + head.n) as usize];
            for (a, &t) in times.iter().enumerate() {
                let key = attempt_key(c, j, s, v as u32, a as u32);
                let attempt = self.content(cohort, j, &user, head.event, t, key, &mut r);
                if keep() {
                    out.push(attempt);
                }
            }
        }
    }

    /// The transaction id of an attempt key: a keyed bijection, so ids are unique.
    pub fn transaction_id(&self, key: u64) -> u64 {
        permute(key, TXN_KEY ^ self.seed)
    }
}

/// Who attacks with `style` in a cohort: its people (stolen logins), its scalper bots (bulk
/// buying), or its fraud accounts.
fn attack_actors(cohort: &Cohort, cat: &TicketCatalogue, style: AttackStyle) -> Range<u32> {
    let layout = &cohort.layout;
    let find = |name: &str| cat.personas.iter().position(|p| p.name == name);
    if style.takeover {
        // The largest block of people (casual buyers by default); their accounts are the victims.
        let p = (0..layout.blocks.len())
            .filter(|&p| layout.fraud[p] == 0)
            .max_by_key(|&p| layout.blocks[p].len())
            .unwrap_or(0);
        let b = &layout.blocks[p];
        return b.start + layout.bots[p]..b.end;
    }
    let pick_block = |p: Option<usize>, count: &[u32]| -> Option<Range<u32>> {
        let p = p?;
        let b = &layout.blocks[p];
        let n = count[p].max(1).min(b.len() as u32);
        (n > 0 && !b.is_empty()).then(|| b.start..b.start + n)
    };
    let preferred = if style.bulk {
        pick_block(find("scalper"), &layout.bots)
    } else {
        pick_block(find("fraudster"), &layout.fraud)
    };
    preferred
        .or_else(|| pick_block(find("fraudster"), &layout.fraud))
        .unwrap_or(0..layout.total)
}

/// The count and content streams' subject of process `j` of cohort `c`.
fn count_subject(c: usize, j: usize) -> u64 {
    ((c as u64) << 8) | j as u64
}

/// Packs an attempt's position into a unique key: cohort 8 bits, process 4, slot 20, visit 24,
/// attempt 8.
fn attempt_key(c: usize, j: usize, s: u32, v: u32, a: u32) -> u64 {
    debug_assert!(c < 256 && j < 16 && s < (1 << 20) && v < (1 << 24) && a < 256);
    ((c as u64) << 56) | ((j as u64) << 52) | (u64::from(s) << 32) | (u64::from(v) << 8) | u64::from(a)
}

/// A uniform number in [0, 1) from a hash of `x`.
fn fmix(x: u64) -> f64 {
    (rng::fmix64(x) >> 11) as f64 / (1u64 << 53) as f64
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}
