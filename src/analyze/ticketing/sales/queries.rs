//! The sales page's queries: the events table, completed sales per event and tier, conversion
//! funnels and the mega events' buyers, each a small frame from one Polars query.

use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;

use super::super::super::Context;
use super::super::super::frame::{floats, ints, strings};
use super::{Funnel, Revenue};
use crate::config::TicketingConfig;
use crate::sink::layout;

pub(super) fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sums {
    pub(super) orders: u64,
    pub(super) tickets: u64,
    pub(super) cents: i64,
}

impl Sums {
    pub(super) fn add(&mut self, o: &Sums) {
        self.orders += o.orders;
        self.tickets += o.tickets;
        self.cents += o.cents;
    }

    pub(super) fn revenue(&self, name: String, total_cents: f64) -> Revenue {
        Revenue {
            name,
            orders: self.orders,
            tickets: self.tickets,
            revenue: self.cents as f64 / 100.0,
            share: if total_cents > 0.0 {
                self.cents as f64 / total_cents
            } else {
                0.0
            },
        }
    }
}

/// An event of the events table, as the page needs it.
#[derive(Debug, Clone)]
pub(super) struct EventRow {
    pub event_id: String,
    pub name: String,
    pub category: String,
    pub is_mega_event: bool,
    pub capacity: u64,
    pub tier_capacity: [u64; 3],
    pub tickets_sold: u64,
    /// µs since the epoch.
    pub general_sale_at: i64,
    /// When each tier (vip, premium, standard) sold out, µs since the epoch.
    pub sold_out_at: [Option<i64>; 3],
}

pub(super) const TIERS: [&str; 3] = ["vip", "premium", "standard"];

impl EventRow {
    pub(super) fn tier_capacity(&self, tier: &str) -> u64 {
        TIERS
            .iter()
            .position(|t| t.eq_ignore_ascii_case(tier))
            .map_or(0, |i| self.tier_capacity[i])
    }
}

pub(super) fn event_table(ctx: &Context<'_, TicketingConfig>) -> Result<BTreeMap<String, EventRow>> {
    let us = |c: &str| col(c).cast(DataType::Int64).alias(c);
    let df = ctx.collect(ctx.table(layout::EVENTS)?.select([
        col("event_id"),
        col("name"),
        col("category"),
        col("is_mega_event"),
        col("capacity").cast(DataType::Int64),
        col("vip_capacity").cast(DataType::Int64),
        col("premium_capacity").cast(DataType::Int64),
        col("standard_capacity").cast(DataType::Int64),
        col("tickets_sold").cast(DataType::Int64),
        us("general_sale_at"),
        us("vip_sold_out_at"),
        us("premium_sold_out_at"),
        us("standard_sold_out_at"),
    ]))?;
    let mega: Vec<bool> = df
        .column("is_mega_event")?
        .bool()?
        .iter()
        .map(|v| v.unwrap_or(false))
        .collect();
    let opt = |c: &str| -> Result<Vec<Option<i64>>> { Ok(df.column(c)?.i64()?.iter().collect()) };
    let (vip_out, premium_out, standard_out) = (
        opt("vip_sold_out_at")?,
        opt("premium_sold_out_at")?,
        opt("standard_sold_out_at")?,
    );
    let (cap, vip, premium, standard, sold, sale) = (
        ints(&df, "capacity")?,
        ints(&df, "vip_capacity")?,
        ints(&df, "premium_capacity")?,
        ints(&df, "standard_capacity")?,
        ints(&df, "tickets_sold")?,
        ints(&df, "general_sale_at")?,
    );
    let mut out = BTreeMap::new();
    for (i, ((id, name), category)) in strings(&df, "event_id")?
        .into_iter()
        .zip(strings(&df, "name")?)
        .zip(strings(&df, "category")?)
        .enumerate()
    {
        out.insert(
            id.clone(),
            EventRow {
                event_id: id,
                name,
                category,
                is_mega_event: mega[i],
                capacity: cap[i].max(0) as u64,
                tier_capacity: [
                    vip[i].max(0) as u64,
                    premium[i].max(0) as u64,
                    standard[i].max(0) as u64,
                ],
                tickets_sold: sold[i].max(0) as u64,
                general_sale_at: sale[i],
                sold_out_at: [vip_out[i], premium_out[i], standard_out[i]],
            },
        );
    }
    Ok(out)
}

/// One (event, tier) group of attempts.
pub(super) struct TierSales {
    pub(super) event_id: String,
    pub(super) tier: String,
    pub(super) attempts: u64,
    pub(super) completed: u64,
    pub(super) abandoned: u64,
    pub(super) sold_out: u64,
    pub(super) tickets_requested: u64,
    pub(super) tickets_sold: u64,
    pub(super) cents: i64,
}

pub(super) fn is(status: &str) -> Expr {
    col("payment_status").eq(lit(status))
}

/// Cents of a completed attempt (amounts are positive: +0.5 then truncation rounds).
pub(super) fn completed_cents() -> Expr {
    (col("total_amount") * lit(100.0) + lit(0.5))
        .cast(DataType::Int64)
        .filter(is("completed"))
        .sum()
}

pub(super) fn tier_sales(ctx: &Context<'_, TicketingConfig>) -> Result<Vec<TierSales>> {
    let count = |e: Expr| e.cast(DataType::Int64).sum();
    let df = ctx.collect(
        ctx.rows().group_by([col("event_id"), col("tier")]).agg([
            len().cast(DataType::Int64).alias("attempts"),
            count(is("completed")).alias("completed"),
            count(is("abandoned")).alias("abandoned"),
            count(is("sold_out")).alias("sold_out"),
            col("num_tickets").cast(DataType::Int64).sum().alias("requested"),
            col("num_tickets")
                .cast(DataType::Int64)
                .filter(is("completed"))
                .sum()
                .alias("sold"),
            completed_cents().alias("cents"),
        ]),
    )?;
    let n = |c: &str| -> Result<Vec<u64>> { Ok(ints(&df, c)?.into_iter().map(|v| v.max(0) as u64).collect()) };
    let (attempts, completed, abandoned, sold_out, requested, sold) = (
        n("attempts")?,
        n("completed")?,
        n("abandoned")?,
        n("sold_out")?,
        n("requested")?,
        n("sold")?,
    );
    let cents = ints(&df, "cents")?;
    let mut out: Vec<TierSales> = strings(&df, "event_id")?
        .into_iter()
        .zip(strings(&df, "tier")?)
        .enumerate()
        .map(|(i, (event_id, tier))| TierSales {
            event_id,
            tier,
            attempts: attempts[i],
            completed: completed[i],
            abandoned: abandoned[i],
            sold_out: sold_out[i],
            tickets_requested: requested[i],
            tickets_sold: sold[i],
            cents: cents[i],
        })
        .collect();
    out.sort_by(|a, b| (&a.event_id, &a.tier).cmp(&(&b.event_id, &b.tier)));
    Ok(out)
}

/// The price-multiplier bucket of an attempt, as a label sorting in bucket order.
pub(super) fn multiplier_bucket(edges: &[f64]) -> Expr {
    let m = col("price_multiplier");
    let mut bucket = lit(format!(
        "{:02} ≥ ×{:.2}",
        edges.len(),
        edges.last().copied().unwrap_or(1.0)
    ));
    for (i, e) in edges.iter().enumerate().rev() {
        let lower = if i == 0 {
            String::new()
        } else {
            format!("×{:.2}", edges[i - 1])
        };
        let name = if lower.is_empty() {
            format!("{i:02} < ×{e:.2}")
        } else {
            format!("{i:02} {lower}–×{e:.2}")
        };
        bucket = when(m.clone().lt(lit(*e))).then(lit(name)).otherwise(bucket);
    }
    when(m.clone().gt(lit(0.9995)).and(m.lt(lit(1.0005))))
        .then(lit("×1.00 (list price)"))
        .otherwise(bucket)
}

pub(super) fn funnel(ctx: &Context<'_, TicketingConfig>, key: Expr) -> Result<Vec<Funnel>> {
    let count = |e: Expr| e.cast(DataType::Int64).sum();
    let df = ctx.collect(ctx.rows().group_by([key.alias("key")]).agg([
        len().cast(DataType::Int64).alias("attempts"),
        count(is("completed")).alias("completed"),
        count(is("abandoned")).alias("abandoned"),
    ]))?;
    let (a, c, ab) = (ints(&df, "attempts")?, ints(&df, "completed")?, ints(&df, "abandoned")?);
    let mut out: Vec<Funnel> = strings(&df, "key")?
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let (attempts, completed, abandoned) = (a[i] as u64, c[i] as u64, ab[i] as u64);
            Funnel {
                name,
                attempts,
                completed,
                abandoned,
                conversion: ratio(completed, attempts),
                abandonment: ratio(abandoned, attempts),
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    // Bucket labels carry a sort prefix (`03 ×0.95–×1.05`); the page shows them without it.
    for f in &mut out {
        if let Some((prefix, rest)) = f.name.split_once(' ')
            && prefix.len() == 2
            && prefix.chars().all(|c| c.is_ascii_digit())
        {
            f.name = rest.to_string();
        }
    }
    Ok(out)
}

pub(super) struct Buyers {
    pub(super) tickets: u64,
    pub(super) bot_tickets: u64,
    pub(super) mega_tickets: u64,
    pub(super) mega_bot_tickets: u64,
    pub(super) mega_by_persona: Vec<Revenue>,
}

pub(super) fn buyers(ctx: &Context<'_, TicketingConfig>) -> Result<Buyers> {
    let mega = ctx
        .table(layout::EVENTS)?
        .select([col("event_id"), col("is_mega_event")]);
    let df = ctx.collect(
        ctx.rows()
            .filter(is("completed"))
            .group_by([col("event_id"), col("persona"), col("is_bot")])
            .agg([
                len().cast(DataType::Int64).alias("orders"),
                col("num_tickets").cast(DataType::Int64).sum().alias("tickets"),
                completed_cents().alias("cents"),
            ])
            .join(
                mega,
                [col("event_id")],
                [col("event_id")],
                JoinArgs::new(JoinType::Left),
            ),
    )?;
    let bot: Vec<bool> = df
        .column("is_bot")?
        .bool()?
        .iter()
        .map(|v| v.unwrap_or(false))
        .collect();
    let is_mega: Vec<bool> = df
        .column("is_mega_event")?
        .bool()?
        .iter()
        .map(|v| v.unwrap_or(false))
        .collect();
    let (orders, tickets, cents) = (ints(&df, "orders")?, ints(&df, "tickets")?, floats(&df, "cents")?);
    let mut b = Buyers {
        tickets: 0,
        bot_tickets: 0,
        mega_tickets: 0,
        mega_bot_tickets: 0,
        mega_by_persona: Vec::new(),
    };
    let mut personas: BTreeMap<String, Sums> = BTreeMap::new();
    for (i, persona) in strings(&df, "persona")?.into_iter().enumerate() {
        let t = tickets[i].max(0) as u64;
        b.tickets += t;
        if bot[i] {
            b.bot_tickets += t;
        }
        if is_mega[i] {
            b.mega_tickets += t;
            if bot[i] {
                b.mega_bot_tickets += t;
            }
            personas.entry(persona).or_default().add(&Sums {
                orders: orders[i].max(0) as u64,
                tickets: t,
                cents: cents[i] as i64,
            });
        }
    }
    let total = b.mega_tickets as f64;
    b.mega_by_persona = personas
        .into_iter()
        .map(|(name, s)| {
            let mut r = s.revenue(name, 1.0);
            r.share = if total > 0.0 { s.tickets as f64 / total } else { 0.0 };
            r
        })
        .collect();
    b.mega_by_persona
        .sort_by(|a, b| b.tickets.cmp(&a.tickets).then_with(|| a.name.cmp(&b.name)));
    Ok(b)
}
