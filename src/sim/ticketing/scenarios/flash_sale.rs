//! A flash sale (document 004's mega event): one mega event's sale in phases of requests per
//! second — a presale buzz, the peak when the general sale opens, a long tail — by a crowd of
//! users with its own persona mix, a share of them bots.

use serde::{Deserialize, Serialize};

use super::{Active, Burst, BurstKind, CohortInfo, Effect, Env, FlashEvent, LabelNames, parse_clock};
use crate::sim::label::Label;
use crate::sim::params::{self, Checked};

/// One phase of the sale: its length and its rate at the scenario's natural scale.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub seconds: f64,
    /// Purchase attempts per second.
    pub rate: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FlashSale {
    /// Day of the sale (0 = the start date).
    pub day: i64,
    /// Local time the first phase starts, HH:MM.
    pub start: String,
    pub phases: Vec<Phase>,
    /// How many of the first phases are the presale (presale personas only).
    pub presale_phases: i64,
    /// Categories the mega event may be.
    pub categories: Vec<String>,
    /// Share of the sale's attempts made by bots.
    pub bot_share: f64,
    /// Attempts per seat: the event's capacity is the sale's attempts ÷ this, so it sells out at
    /// any size (at the document's 3M attempts, 50,000 seats).
    pub attempts_per_seat: f64,
    /// Each phase follows the document's traffic wave: a ramp up over its first 20%, its rate until
    /// 70%, a ramp down to the end (a mean of 0.75 of the rate: 3.0M attempts by default); else the
    /// rate holds the whole phase.
    pub wave: bool,
}

impl Default for FlashSale {
    fn default() -> Self {
        FlashSale {
            day: 10,
            start: "12:00".into(),
            phases: vec![
                Phase {
                    seconds: 120.0,
                    rate: 500.0,
                },
                Phase {
                    seconds: 300.0,
                    rate: 10_000.0,
                },
                Phase {
                    seconds: 480.0,
                    rate: 2_000.0,
                },
            ],
            presale_phases: 1,
            categories: vec!["concert".into(), "sports".into()],
            bot_share: 0.30,
            attempts_per_seat: 60.0,
            wave: true,
        }
    }
}

/// Steps that approximate each ramp of the wave.
const RAMP_STEPS: i64 = 10;

impl FlashSale {
    /// The phases' first and last instants.
    fn span(&self, env: &Env) -> (i64, i64) {
        let clock = parse_clock("start", &self.start).unwrap_or((12, 0));
        let start = env.local_ms(self.day, clock);
        let total: f64 = self.phases.iter().map(|p| p.seconds).sum();
        (start, start + (total * 1000.0).round() as i64)
    }

    /// Pieces of constant rate, and per phase the index of its first piece.
    fn pieces(&self, env: &Env) -> (Vec<(i64, i64, f64)>, Vec<usize>) {
        let (mut t, _) = self.span(env);
        let mut pieces = Vec::new();
        let mut firsts = Vec::new();
        for p in &self.phases {
            firsts.push(pieces.len());
            let len = (p.seconds * 1000.0).round() as i64;
            let end = t + len;
            if !self.wave {
                pieces.push((t, end, p.rate));
                t = end;
                continue;
            }
            let (up, down) = (t + len / 5, t + len * 7 / 10);
            for i in 0..RAMP_STEPS {
                let (a, b) = (t + (up - t) * i / RAMP_STEPS, t + (up - t) * (i + 1) / RAMP_STEPS);
                pieces.push((a, b, p.rate * (i as f64 + 0.5) / RAMP_STEPS as f64));
            }
            pieces.push((up, down, p.rate));
            for i in 0..RAMP_STEPS {
                let (a, b) = (
                    down + (end - down) * i / RAMP_STEPS,
                    down + (end - down) * (i + 1) / RAMP_STEPS,
                );
                pieces.push((
                    a,
                    b,
                    p.rate * (RAMP_STEPS - i) as f64 / RAMP_STEPS as f64 - p.rate * 0.5 / RAMP_STEPS as f64,
                ));
            }
            t = end;
        }
        pieces.retain(|p| p.1 > p.0);
        (pieces, firsts)
    }
}

impl Effect for FlashSale {
    fn check(&self, env: &Env) -> Checked {
        params::day("day", self.day, env.days)?;
        parse_clock("start", &self.start)?;
        if self.phases.is_empty() {
            return Err(params::fail(
                "phases",
                "list at least one phase: { seconds = …, rate = … }",
            ));
        }
        for (i, p) in self.phases.iter().enumerate() {
            params::number(&format!("phases[{i}].seconds"), p.seconds, 1.0, 86_400.0)?;
            params::number(&format!("phases[{i}].rate"), p.rate, 0.0, 10_000_000.0)?;
        }
        let total: f64 = self.phases.iter().map(|p| p.seconds).sum();
        params::number("phases (total seconds)", total, 1.0, 86_400.0)?;
        params::whole("presale_phases", self.presale_phases, 0, self.phases.len() as i64 - 1)?;
        for (i, c) in self.categories.iter().enumerate() {
            params::one_of(
                &format!("categories[{i}]"),
                c,
                env.catalogue.categories.iter().map(|c| c.name.as_str()),
            )?;
        }
        params::number("bot_share", self.bot_share, 0.0, 0.95)?;
        params::number("attempts_per_seat", self.attempts_per_seat, 1.0, 1e6)
    }

    fn compile(&self, env: &Env, _cohort: &CohortInfo) -> Box<dyn Active> {
        let (pieces, firsts) = self.pieces(env);
        let presale_phases = self.presale_phases.max(0) as usize;
        let presale = firsts.get(presale_phases).copied().unwrap_or(pieces.len());
        let categories = self
            .categories
            .iter()
            .filter_map(|c| env.catalogue.categories.iter().position(|x| &x.name == c))
            .collect();
        Box::new(FlashActive {
            event: FlashEvent {
                presale_ms: self.span(env).0,
                general_ms: pieces.get(presale).map_or(self.span(env).1, |p| p.0),
                categories,
                attempts_per_seat: self.attempts_per_seat,
            },
            burst: Burst {
                pieces,
                kind: BurstKind::FlashSale {
                    presale_pieces: presale,
                    bot_share: self.bot_share,
                },
                scaled: true,
            },
            p: self.clone(),
        })
    }
}

#[derive(Debug)]
struct FlashActive {
    p: FlashSale,
    event: FlashEvent,
    burst: Burst,
}

impl Active for FlashActive {
    fn bursts(&self) -> Vec<Burst> {
        vec![self.burst.clone()]
    }

    fn flash_event(&self) -> Option<FlashEvent> {
        Some(self.event.clone())
    }

    fn labels(&self, names: &LabelNames, out: &mut Vec<Label>) {
        let pieces = &self.burst.pieces;
        let (start, end) = (pieces[0].0, pieces[pieces.len() - 1].1);
        let peak = pieces.iter().map(|p| p.2).fold(0.0, f64::max) * names.scale;
        let phases: Vec<String> = self
            .p
            .phases
            .iter()
            .map(|p| format!("{} s at {}/s", p.seconds, round1(p.rate * names.scale)))
            .collect();
        let wave = if self.p.wave {
            "each phase a wave: ramp up over 20%, rate until 70%, ramp down"
        } else {
            "constant rates"
        };
        out.push(names.label(
            "flash_sale",
            "event",
            names.flash_event.clone().unwrap_or_default(),
            start,
            end,
            round1(peak),
            format!(
                "phases {} (the first {} presale; {wave}); bot share {}; scale {}",
                phases.join(", "),
                self.p.presale_phases,
                self.p.bot_share,
                round6(names.scale)
            ),
        ));
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}
