//! Which event a visit is for, per cohort and hour: by demand weight for each class of buyer, the
//! cheapest on sale (card testing) and the sale that opened last (bulk scalping).

use super::catalogue::{STANDARD, cdf};
use super::cohort::{Class, Cohort, SaleClock};
use super::model::TicketModel;
use crate::sim::rng::pick_binary;

/// Picks events for an hour's visits: by demand weight for each class, the cheapest, and the sale
/// that opened last.
#[derive(Debug)]
pub struct EventChooser {
    cdfs: [Option<Vec<f64>>; 2],
    /// The cheapest Standard ticket on sale (card testing buys it).
    pub(super) cheapest: Option<u32>,
    /// The sale that opened last (bulk scalping hits it).
    pub(super) freshest: Option<u32>,
}

impl EventChooser {
    pub(super) fn new(model: &TicketModel, cohort: &Cohort, t: i64) -> Self {
        let flash = cohort.flash_event.map(|f| f as usize);
        let clock = SaleClock::at(&cohort.curves, model, t);
        let n = cohort.events.len();
        // Weights of every event for both classes, each computed once.
        let weights: Vec<[f64; 2]> = (0..n)
            .map(|e| {
                if Some(e) == flash {
                    return [0.0; 2];
                }
                [Class::Presale, Class::General].map(|class| cohort.event_weight_at(model, e, class, t, &clock))
            })
            .collect();
        let mut cdfs = [None, None];
        for class in [Class::Presale, Class::General] {
            let c = class as usize;
            if weights.iter().any(|w| w[c] > 0.0) {
                cdfs[c] = Some(cdf(weights.iter().map(|w| w[c])));
            }
        }
        // Attacks may also hit the flash sale's event once its general sale is open.
        let on_sale = |e: &usize| {
            if Some(*e) == flash {
                cohort.event_weight_at(model, *e, Class::General, t, &clock) > 0.0
            } else {
                weights[*e][Class::General as usize] > 0.0
            }
        };
        let cheapest = (0..n)
            .filter(on_sale)
            .min_by(|&a, &b| {
                cohort.events[a].tier_price[STANDARD]
                    .total_cmp(&cohort.events[b].tier_price[STANDARD])
                    .then(a.cmp(&b))
            })
            .map(|e| e as u32);
        let freshest = (0..n)
            .filter(on_sale)
            .max_by_key(|&e| (cohort.events[e].general_ms, std::cmp::Reverse(e)))
            .map(|e| e as u32);
        EventChooser {
            cdfs,
            cheapest,
            freshest,
        }
    }

    pub(super) fn pick(&self, class: Class, u: f64) -> Option<u32> {
        self.cdfs[class as usize].as_ref().map(|c| pick_binary(c, u) as u32)
    }
}
