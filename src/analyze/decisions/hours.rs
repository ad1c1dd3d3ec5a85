//! Every customer's calls and cost per hour of the window: the table the burst detector reads,
//! shared by the decisions and scenarios pages ([`Context::shared`]).
//!
//! A Polars group-by on (customer, hour) holds every customer-hour as a group: 3.8M at 10M
//! rows, 38M at 100M (52,698 customers × 720 hours), and past its hot table it keeps the rows
//! themselves to the end. Here the query only selects the four columns, through the columns map
//! like every other query, and streams its batches into dense per-customer arrays: memory is
//! customers × hours × 12 bytes, whatever the rows. The customer-days are summed from it
//! ([`super::daily::customer_days`]), so no page groups the rows by day either.

use std::sync::Arc;

use anyhow::{Context as _, Result};
use polars::prelude::*;

use crate::analyze::Context;
use crate::analyze::frame::{cost_micros, usd};
use crate::analyze::grouped::fold_batches;
use crate::validate::coded::Interner;

/// An hour in µs.
pub const HOUR_US: i64 = 3_600_000_000;

/// One customer's hourly calls and cost, and its time zone. Counts and micro-dollars, not
/// floats: a day's sums are exact, and 52,698 customers × 720 hours take 455 MB, not 607.
pub(crate) struct Hourly {
    pub(crate) calls: Vec<u32>,
    pub(crate) cost_micros: Vec<i64>,
    pub(crate) timezone: Option<String>,
}

impl Hourly {
    /// The calls as the detectors' floats.
    pub(crate) fn calls_f64(&self) -> Vec<f64> {
        self.calls.iter().map(|&c| f64::from(c)).collect()
    }

    /// The cost in USD.
    pub(crate) fn cost_usd(&self) -> Vec<f64> {
        self.cost_micros.iter().map(|&c| usd(c)).collect()
    }
}

/// Every customer's hours, sorted by customer.
pub(crate) struct CustomerHours {
    /// The window's first hour, in hours since the epoch.
    pub(crate) first_hour: i64,
    pub(crate) hours: usize,
    pub(crate) customers: Vec<(String, Hourly)>,
}

/// The sums so far: customers interned, each with its hours' calls and cost micro-dollars.
#[derive(Default)]
struct Sums {
    names: Interner,
    calls: Vec<Vec<u32>>,
    cost_micros: Vec<Vec<i64>>,
    /// The least time zone of each customer's rows (one per customer in trafficsim's data).
    timezone: Vec<Option<String>>,
}

impl Sums {
    fn add(&mut self, df: &DataFrame, first_hour: i64, hours: usize) -> PolarsResult<()> {
        let ids = df.column("customer_id")?.str()?;
        let hour = df.column("hour")?.i64()?;
        let cost = df.column("cost_micros")?.i64()?;
        let zones = match df.column("timezone") {
            Ok(z) => Some(z.str()?),
            Err(_) => None,
        };
        let mut zone = zones.map(|z| z.iter());
        for ((id, h), c) in ids.iter().zip(hour.iter()).zip(cost.iter()) {
            let tz = zone.as_mut().and_then(|z| z.next().flatten());
            let k = self.names.id(id.unwrap_or("")) as usize;
            if k == self.calls.len() {
                self.calls.push(vec![0; hours]);
                self.cost_micros.push(vec![0; hours]);
                self.timezone.push(None);
            }
            if let Some(tz) = tz
                && self.timezone[k].as_deref().is_none_or(|mine| tz < mine)
            {
                self.timezone[k] = Some(tz.to_string());
            }
            let h = h.map_or(-1, |h| h.saturating_sub(first_hour));
            if (0..hours as i64).contains(&h) {
                self.calls[k][h as usize] += 1;
                self.cost_micros[k][h as usize] += c.unwrap_or(0);
            }
        }
        Ok(())
    }

    fn finish(self, first_hour: i64, hours: usize) -> CustomerHours {
        let mut customers: Vec<(String, Hourly)> = (self.calls.into_iter())
            .zip(self.cost_micros)
            .zip(self.timezone)
            .enumerate()
            .map(|(k, ((calls, cost_micros), timezone))| {
                let hourly = Hourly {
                    calls,
                    cost_micros,
                    timezone,
                };
                (self.names.name(k as u32).to_string(), hourly)
            })
            .collect();
        customers.sort_by(|a, b| a.0.cmp(&b.0));
        CustomerHours {
            first_hour,
            hours,
            customers,
        }
    }
}

/// The customers' hours, computed by the first page that asks.
pub(crate) fn customer_hours(ctx: &Context<'_>) -> Result<Arc<CustomerHours>> {
    ctx.shared("customer_hours", || {
        let first_hour = ctx
            .window
            .first_day
            .and_hms_opt(0, 0, 0)
            .context("the window's first day has no midnight")?
            .and_utc()
            .timestamp()
            / 3600;
        let hours = ctx.window.days as usize * 24;
        let mut columns = vec![
            col("customer_id"),
            (col("timestamp").cast(DataType::Int64) / lit(HOUR_US)).alias("hour"),
            cost_micros().alias("cost_micros"),
        ];
        if ctx.has_column("timezone") {
            columns.push(col("timezone"));
        }
        let add = move |sums: &mut Sums, df: &DataFrame| sums.add(df, first_hour, hours);
        let sums = fold_batches(ctx.calls().select(columns), Sums::default(), add)?;
        Ok(sums.finish(first_hour, hours))
    })
}
