//! Sell-out curves: tickets sold over time against capacity, for the events whose demand was
//! highest, with the moment each tier sold out (from the events table, where the generator's
//! inventory recorded it, and as the curve shows it).

use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::super::super::Context;
use super::super::super::frame::{ints, strings};
use super::EventSales;
use super::queries::{EventRow, TIERS};
use crate::config::TicketingConfig;
use crate::report::chart::{Band, Colour, LineChart, LineSeries, Unit, X, render_line_chart};

/// Most points per curve (the curve is thinned evenly beyond it; its end is always kept).
const MAX_POINTS: usize = 400;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SellOutCurve {
    pub event_id: String,
    pub name: String,
    pub capacity: u64,
    pub tickets_sold: u64,
    /// The general sale's opening, RFC 3339.
    pub general_sale_at: String,
    /// What x counts: `seconds`, `minutes` or `hours` since the general sale opened (negative:
    /// the presale).
    pub x_unit: String,
    /// (time since the general sale in `x_unit`, tickets sold so far).
    pub points: Vec<(f64, u64)>,
    /// When each tier sold out, in `x_unit` since the general sale.
    pub sold_out: Vec<TierSoldOut>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TierSoldOut {
    pub tier: String,
    pub at: f64,
}

/// The curves of `events` (in their order).
pub fn sell_out_curves(
    ctx: &Context<'_, TicketingConfig>,
    events: &[&EventSales],
    table: &BTreeMap<String, EventRow>,
) -> Result<Vec<SellOutCurve>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let ids = DataFrame::new_infer_height(vec![Column::new(
        "event_id".into(),
        events.iter().map(|e| e.event_id.as_str()).collect::<Vec<_>>(),
    )])?;
    // Completed attempts of a few events: bounded by their capacity, not by the data's size.
    let df = ctx.collect(
        ctx.rows()
            .filter(col("payment_status").eq(lit("completed")))
            .join(
                ids.lazy(),
                [col("event_id")],
                [col("event_id")],
                JoinArgs::new(JoinType::Semi),
            )
            .select([
                col("event_id"),
                col("timestamp").cast(DataType::Int64).alias("us"),
                col("num_tickets").cast(DataType::Int64),
            ]),
    )?;
    let mut sales: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for ((id, us), n) in strings(&df, "event_id")?
        .into_iter()
        .zip(ints(&df, "us")?)
        .zip(ints(&df, "num_tickets")?)
    {
        sales.entry(id).or_default().push((us, n));
    }
    let mut out = Vec::new();
    for e in events {
        let Some(ev) = table.get(&e.event_id) else { continue };
        let mut rows = sales.remove(&e.event_id).unwrap_or_default();
        rows.sort_unstable();
        out.push(curve(ev, &rows));
    }
    Ok(out)
}

fn curve(ev: &EventRow, rows: &[(i64, i64)]) -> SellOutCurve {
    let last = rows.last().map_or(ev.general_sale_at, |r| r.0);
    let span_s = (last - ev.general_sale_at).max(0) as f64 / 1e6;
    let (unit, per_us) = if span_s <= 600.0 {
        ("seconds", 1e6)
    } else if span_s <= 2.0 * 86_400.0 {
        ("minutes", 60e6)
    } else {
        ("hours", 3600e6)
    };
    let x = |us: i64| (us - ev.general_sale_at) as f64 / per_us;
    let mut points = Vec::with_capacity(rows.len() + 1);
    let mut sold = 0u64;
    if let Some(first) = rows.first() {
        points.push((x(first.0.min(ev.general_sale_at)), 0));
    }
    for &(us, n) in rows {
        sold += n.max(0) as u64;
        points.push((x(us), sold));
    }
    let step = points.len().div_ceil(MAX_POINTS).max(1);
    let mut thinned: Vec<(f64, u64)> = points.iter().step_by(step).copied().collect();
    if let (Some(end), Some(kept)) = (points.last(), thinned.last())
        && end != kept
    {
        thinned.push(*end);
    }
    SellOutCurve {
        event_id: ev.event_id.clone(),
        name: ev.name.clone(),
        capacity: ev.capacity,
        tickets_sold: sold,
        general_sale_at: chrono::DateTime::from_timestamp_micros(ev.general_sale_at)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default(),
        x_unit: unit.to_string(),
        points: thinned,
        sold_out: TIERS
            .iter()
            .zip(ev.sold_out_at)
            .filter_map(|(tier, at)| {
                at.map(|us| TierSoldOut {
                    tier: tier.to_string(),
                    at: x(us),
                })
            })
            .collect(),
    }
}

/// The curve's chart: sold so far, capacity dashed, a thin band at each tier's sell-out.
pub fn render(c: &SellOutCurve) -> Result<String> {
    let (Some(first), Some(last)) = (c.points.first(), c.points.last()) else {
        return Ok(render_line_chart(&LineChart {
            title: format!("{}: no tickets sold", c.name),
            ..Default::default()
        })?);
    };
    let top = c.capacity.max(c.tickets_sold) as f64 * 1.05;
    let width = ((last.0 - first.0).abs() / 200.0).max(1e-6);
    Ok(render_line_chart(&LineChart {
        title: format!("{} ({})", c.name, c.event_id),
        x_label: format!("{} since the general sale ({})", c.x_unit, c.general_sale_at),
        y_label: "Tickets sold".into(),
        x_unit: Unit::Number,
        y_unit: Unit::Count,
        series: vec![
            LineSeries::new("Sold", c.points.iter().map(|&(x, y)| (X::Num(x), y as f64)).collect()),
            LineSeries::new(
                "Capacity",
                vec![
                    (X::Num(first.0), c.capacity as f64),
                    (X::Num(last.0), c.capacity as f64),
                ],
            )
            .dashed()
            .colour(Colour::DANGER),
        ],
        bands: c
            .sold_out
            .iter()
            .map(|s| {
                Band::new(
                    format!("{} sold out", s.tier),
                    vec![(X::Num(s.at), 0.0, top), (X::Num(s.at + width), 0.0, top)],
                )
            })
            .collect(),
        ..Default::default()
    })?)
}
