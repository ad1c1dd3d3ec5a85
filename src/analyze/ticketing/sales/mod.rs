//! Sales and inventory (document 004's business validator): revenue by category, event and
//! tier, the average order value, conversion and abandonment by persona and by price
//! multiplier, demand against capacity, sell-out curves, and who got the tickets (bots, and the
//! personas of the mega events' buyers).
//!
//! Its checks are the ledger's: no tier sold beyond its capacity, and the events table's tickets
//! sold reconcile with the completed attempts (document 004's "zero data loss", as a sale
//! recorded in one place and not the other).

mod curves;
mod queries;

use std::collections::BTreeMap;

use anyhow::Result;
use maud::{Markup, html};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::super::checks::{self, Check, CheckUnit};
use super::super::{Analyzer, Context};
use crate::config::{ConfigError, SettingsCheck, TicketingConfig};
use crate::report::chart::{Bar, BarChart, Unit, render_bar_chart};
use crate::report::html::{Cell, Figure, bars_size, cards, chart_grid, section, table};
pub use curves::{SellOutCurve, TierSoldOut};
use queries::{Sums, buyers, event_table, funnel, multiplier_bucket, ratio, tier_sales};

pub struct Sales;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SalesSettings {
    /// Events in the revenue and demand tables (the largest first).
    pub top_events: u64,
    /// Events drawn as sell-out curves (those whose demand was highest against capacity).
    pub sell_out_curves: u64,
    /// Upper edges of the price-multiplier buckets; a multiplier of exactly 1 (no dynamic
    /// price) is a bucket of its own.
    pub multiplier_edges: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SalesResult {
    pub attempts: u64,
    pub orders: u64,
    pub tickets_sold: u64,
    pub revenue: f64,
    /// Revenue per completed order.
    pub average_order_value: f64,
    /// Completed ÷ attempts, and abandoned ÷ attempts.
    pub conversion: f64,
    pub abandonment: f64,
    pub by_category: Vec<Revenue>,
    pub by_tier: Vec<Revenue>,
    /// The `top_events` events with the most revenue.
    pub top_events: Vec<EventSales>,
    pub events_total: u64,
    pub by_persona: Vec<Funnel>,
    pub by_multiplier: Vec<Funnel>,
    /// Events whose demand (tickets asked for) was highest against their capacity.
    pub demand: Vec<EventSales>,
    pub sell_out: Vec<SellOutCurve>,
    /// Tickets sold to bots ÷ tickets sold, overall and on the mega events.
    pub bot_ticket_share: f64,
    pub mega_bot_ticket_share: f64,
    /// Who bought the mega events' tickets.
    pub mega_buyers: Vec<Revenue>,
    /// Event tiers whose completed tickets exceed the tier's capacity.
    pub oversold_tiers: Vec<Oversold>,
    /// Σ over events of |tickets sold in the events table − completed tickets in the attempts|.
    pub unreconciled_tickets: u64,
}

/// Sales of one group (category, tier, persona of buyers).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Revenue {
    pub name: String,
    pub orders: u64,
    pub tickets: u64,
    pub revenue: f64,
    /// Of all revenue (of all tickets, for buyers).
    pub share: f64,
}

/// One event's demand and sales.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EventSales {
    pub event_id: String,
    pub name: String,
    pub category: String,
    pub is_mega_event: bool,
    pub capacity: u64,
    pub attempts: u64,
    /// Tickets asked for by every attempt.
    pub tickets_requested: u64,
    pub tickets_sold: u64,
    pub revenue: f64,
    /// Tickets requested ÷ capacity.
    pub demand_ratio: f64,
    /// Tickets sold ÷ capacity.
    pub sell_through: f64,
    /// Attempts turned away because the tier was sold out.
    pub sold_out_attempts: u64,
}

/// Conversion of one group of attempts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Funnel {
    pub name: String,
    pub attempts: u64,
    pub completed: u64,
    pub abandoned: u64,
    pub conversion: f64,
    pub abandonment: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Oversold {
    pub event_id: String,
    pub tier: String,
    pub capacity: u64,
    pub sold: u64,
}

impl Analyzer<TicketingConfig> for Sales {
    const NAME: &'static str = "sales";
    const TITLE: &'static str = "Sales and inventory";
    const SUMMARY: &'static str = "Revenue, order value, conversion by persona and price, demand against capacity, sell-out curves and who got the tickets.";
    type Settings = SalesSettings;
    type Output = SalesResult;

    fn check(s: &SalesSettings, c: SettingsCheck<'_>, _: &TicketingConfig) -> Result<(), ConfigError> {
        c.count("top_events", s.top_events, 1, 1000)?;
        c.count("sell_out_curves", s.sell_out_curves, 0, 20)?;
        c.increasing("multiplier_edges", &s.multiplier_edges)?;
        for (i, e) in s.multiplier_edges.iter().enumerate() {
            c.range(&format!("multiplier_edges[{i}]"), *e, 0.01, 100.0)?;
        }
        Ok(())
    }

    fn analyze(ctx: &Context<'_, TicketingConfig>, s: &SalesSettings) -> Result<SalesResult> {
        let events = event_table(ctx)?;
        let tiers = tier_sales(ctx)?;
        let (by_persona, by_multiplier) = (
            funnel(ctx, col("persona"))?,
            funnel(ctx, multiplier_bucket(&s.multiplier_edges))?,
        );
        let buyers = buyers(ctx)?;

        // Everything else is summed from the (event, tier) groups: no second pass over the rows.
        let mut per_event: BTreeMap<&str, EventSales> = BTreeMap::new();
        let mut by_category: BTreeMap<String, Sums> = BTreeMap::new();
        let mut by_tier: BTreeMap<String, Sums> = BTreeMap::new();
        let mut oversold_tiers = Vec::new();
        let mut total = Sums::default();
        let (mut attempts, mut completed, mut abandoned) = (0u64, 0u64, 0u64);
        for t in &tiers {
            let sums = Sums {
                orders: t.completed,
                tickets: t.tickets_sold,
                cents: t.cents,
            };
            total.add(&sums);
            attempts += t.attempts;
            completed += t.completed;
            abandoned += t.abandoned;
            by_tier.entry(t.tier.clone()).or_default().add(&sums);
            let Some(ev) = events.get(&t.event_id) else { continue };
            by_category.entry(ev.category.clone()).or_default().add(&sums);
            let capacity = ev.tier_capacity(&t.tier);
            if t.tickets_sold > capacity {
                oversold_tiers.push(Oversold {
                    event_id: t.event_id.clone(),
                    tier: t.tier.clone(),
                    capacity,
                    sold: t.tickets_sold,
                });
            }
            let e = per_event.entry(&ev.event_id).or_insert_with(|| EventSales {
                event_id: ev.event_id.clone(),
                name: ev.name.clone(),
                category: ev.category.clone(),
                is_mega_event: ev.is_mega_event,
                capacity: ev.capacity,
                attempts: 0,
                tickets_requested: 0,
                tickets_sold: 0,
                revenue: 0.0,
                demand_ratio: 0.0,
                sell_through: 0.0,
                sold_out_attempts: 0,
            });
            e.attempts += t.attempts;
            e.tickets_requested += t.tickets_requested;
            e.tickets_sold += t.tickets_sold;
            e.revenue += t.cents as f64 / 100.0;
            e.sold_out_attempts += t.sold_out;
        }
        let mut unreconciled_tickets = 0u64;
        for ev in events.values() {
            let sold = per_event.get(ev.event_id.as_str()).map_or(0, |e| e.tickets_sold);
            unreconciled_tickets += sold.abs_diff(ev.tickets_sold);
        }
        let mut all_events: Vec<EventSales> = per_event
            .into_values()
            .map(|mut e| {
                e.demand_ratio = ratio(e.tickets_requested, e.capacity);
                e.sell_through = ratio(e.tickets_sold, e.capacity);
                e
            })
            .collect();
        let events_total = all_events.len() as u64;
        all_events.sort_by(|a, b| {
            b.revenue
                .total_cmp(&a.revenue)
                .then_with(|| a.event_id.cmp(&b.event_id))
        });
        let top_events: Vec<EventSales> = all_events.iter().take(s.top_events as usize).cloned().collect();
        all_events.sort_by(|a, b| {
            b.demand_ratio
                .total_cmp(&a.demand_ratio)
                .then_with(|| a.event_id.cmp(&b.event_id))
        });
        let demand: Vec<EventSales> = all_events.iter().take(s.top_events as usize).cloned().collect();
        let curve_events: Vec<&EventSales> = all_events.iter().take(s.sell_out_curves as usize).collect();
        let sell_out = curves::sell_out_curves(ctx, &curve_events, &events)?;

        let revenue_rows = |m: BTreeMap<String, Sums>| -> Vec<Revenue> {
            let mut v: Vec<Revenue> = m
                .into_iter()
                .map(|(name, s)| s.revenue(name, total.cents as f64))
                .collect();
            v.sort_by(|a, b| b.revenue.total_cmp(&a.revenue).then_with(|| a.name.cmp(&b.name)));
            v
        };
        Ok(SalesResult {
            attempts,
            orders: total.orders,
            tickets_sold: total.tickets,
            revenue: total.cents as f64 / 100.0,
            average_order_value: if total.orders > 0 {
                total.cents as f64 / 100.0 / total.orders as f64
            } else {
                0.0
            },
            conversion: ratio(completed, attempts),
            abandonment: ratio(abandoned, attempts),
            by_category: revenue_rows(by_category),
            by_tier: revenue_rows(by_tier),
            top_events,
            events_total,
            by_persona,
            by_multiplier,
            demand,
            sell_out,
            bot_ticket_share: ratio(buyers.bot_tickets, buyers.tickets),
            mega_bot_ticket_share: ratio(buyers.mega_bot_tickets, buyers.mega_tickets),
            mega_buyers: buyers.mega_by_persona,
            oversold_tiers,
            unreconciled_tickets,
        })
    }

    fn headline(r: &SalesResult) -> Vec<Figure> {
        vec![
            Figure::sar("Revenue", r.revenue),
            Figure::count("Tickets sold", r.tickets_sold),
            Figure::sar("Average order value", r.average_order_value),
            Figure::percent("Conversion", r.conversion),
            Figure::percent("Bots' share of tickets", r.bot_ticket_share),
        ]
    }

    fn render(r: &SalesResult, _: &SalesSettings) -> Result<Markup> {
        let revenue_table = |rows: &[Revenue], what: &str| {
            table(
                &[what, "Orders", "Tickets", "Revenue", "Share"],
                &rows
                    .iter()
                    .map(|g| {
                        vec![
                            Cell::text(&g.name),
                            Cell::count(g.orders),
                            Cell::count(g.tickets),
                            Cell::sar(g.revenue),
                            Cell::percent(g.share),
                        ]
                    })
                    .collect::<Vec<_>>(),
            )
        };
        let bars = |title: &str, rows: &[Revenue]| {
            render_bar_chart(&BarChart {
                title: title.into(),
                unit: Unit::Riyals,
                bars: rows.iter().map(|g| Bar::new(&g.name, g.revenue)).collect(),
                size: bars_size(rows.len()),
                ..Default::default()
            })
        };
        let funnel_table = |rows: &[Funnel], what: &str| {
            table(
                &[what, "Attempts", "Completed", "Conversion", "Abandoned", "Abandonment"],
                &rows
                    .iter()
                    .map(|f| {
                        vec![
                            Cell::text(&f.name),
                            Cell::count(f.attempts),
                            Cell::count(f.completed),
                            Cell::percent(f.conversion),
                            Cell::count(f.abandoned),
                            Cell::percent(f.abandonment),
                        ]
                    })
                    .collect::<Vec<_>>(),
            )
        };
        let event_table = |rows: &[EventSales]| {
            table(
                &[
                    "Event",
                    "Category",
                    "Capacity",
                    "Attempts",
                    "Requested",
                    "Sold",
                    "Demand ÷ capacity",
                    "Sold ÷ capacity",
                    "Turned away (sold out)",
                    "Revenue",
                ],
                &rows
                    .iter()
                    .map(|e| {
                        vec![
                            Cell::text(format!(
                                "{}{} ({})",
                                e.name,
                                if e.is_mega_event { " ★" } else { "" },
                                e.event_id
                            )),
                            Cell::text(&e.category),
                            Cell::count(e.capacity),
                            Cell::count(e.attempts),
                            Cell::count(e.tickets_requested),
                            Cell::count(e.tickets_sold),
                            Cell::number(e.demand_ratio, 2),
                            Cell::percent(e.sell_through),
                            Cell::count(e.sold_out_attempts),
                            Cell::sar(e.revenue),
                        ]
                    })
                    .collect::<Vec<_>>(),
            )
        };
        let curves = r.sell_out.iter().map(curves::render).collect::<Result<Vec<_>>>()?;
        Ok(html! {
            (cards(&Sales::headline(r)))
            (section("Checks", Some("The ledger's checks: no tier sold beyond its capacity, and the events table's tickets sold equal the completed attempts' tickets (a sale recorded in one place and not the other would be lost data)."),
                checks::table(&Sales::checks(r, &SalesSettings { top_events: 0, sell_out_curves: 0, multiplier_edges: vec![] }))))
            (section("Revenue", Some("Completed attempts only: total_amount summed in cents. The average order value is revenue per completed order."), html! {
                (chart_grid(&[bars("Revenue by category", &r.by_category)?, bars("Revenue by tier", &r.by_tier)?]))
                div.chart-grid {
                    div { (revenue_table(&r.by_category, "Category")) }
                    div { (revenue_table(&r.by_tier, "Tier")) }
                }
            }))
            (section(&format!("Top {} of {} events by revenue", r.top_events.len(), r.events_total), Some("★ marks a mega event."), event_table(&r.top_events)))
            (section("Conversion and abandonment", Some("Conversion is completed ÷ attempts (every attempt, including those turned away because the tier was sold out); abandonment is abandoned ÷ attempts. By price multiplier: the price paid over the tier's list price (dynamic pricing, the A/B test's treatment, Black Friday's discounts); ×1.00 is no adjustment."), html! {
                div.chart-grid {
                    div { (funnel_table(&r.by_persona, "Persona")) }
                    div { (funnel_table(&r.by_multiplier, "Price multiplier")) }
                }
            }))
            (section("Demand against capacity", Some("The events whose attempts asked for the most tickets against their capacity: flash sales and mega events, where demand far exceeds the seats and most attempts meet a sold-out tier."), event_table(&r.demand)))
            (section("Sell-out curves", Some("Tickets sold since the general sale opened, against capacity (dashed), for the events with the highest demand. Markers: the moment each tier sold out, from the events table."), chart_grid(&curves)))
            (section("Who got the tickets", Some("Tickets of completed orders by the buyer's persona, and the share bought by bots (is_bot): on the mega events, the tickets fans competed for."), html! {
                p { "Bots bought " strong { (crate::report::html::percent(r.bot_ticket_share)) } " of all tickets sold and "
                    strong { (crate::report::html::percent(r.mega_bot_ticket_share)) } " of the mega events' tickets." }
                (revenue_table(&r.mega_buyers, "Mega events' buyers (persona)"))
            }))
        })
    }

    fn checks(r: &SalesResult, _: &SalesSettings) -> Vec<Check> {
        vec![
            Check::at_most(
                "sales.oversold_tiers",
                "event tiers whose completed tickets exceed the tier's capacity",
                r.oversold_tiers.len() as f64,
                0.0,
            )
            .unit(CheckUnit::Number),
            Check::at_most(
                "sales.unreconciled_tickets",
                "tickets sold per the events table but not per the completed attempts, or the reverse (zero data loss)",
                r.unreconciled_tickets as f64,
                0.0,
            )
            .unit(CheckUnit::Number),
        ]
    }
}
