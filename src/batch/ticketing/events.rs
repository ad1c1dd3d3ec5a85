//! The Arrow adapter of `events`: one row per event, with its sale's outcome per tier (tickets
//! sold, sell-out time, revenue) from the carried inventory.

use std::sync::LazyLock;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use crate::batch::columns::{
    self, Column, ColumnType as T, bools, floats, ints, optional_timestamps_ms, strings, timestamps_ms,
};
use crate::sim::ticketing::carry::TierSales;
use crate::sim::ticketing::catalogue::TicketCatalogue;
use crate::sim::ticketing::events::Event;

/// An event and how its sale went.
pub struct EventRow<'a> {
    /// The id as written (`evt_…`).
    pub id: String,
    pub event: &'a Event,
    pub sales: [TierSales; 3],
    pub cohort: &'a str,
    pub scenario: &'a str,
}

/// What the event columns need besides the rows.
pub struct EventContext<'a> {
    pub catalogue: &'a TicketCatalogue,
}

type X<'a> = EventContext<'a>;

/// Every column of `events`, in schema order, with its builder.
pub fn event_columns<'a>() -> Vec<Column<X<'a>, EventRow<'a>>> {
    vec![
        Column::new("event_id", T::Utf8, |_, r| strings(r, |e| e.id.as_str())),
        Column::new("name", T::Utf8, |_, r| strings(r, |e| e.event.name.as_str())),
        Column::new("category", T::Utf8, |x, r| {
            strings(r, |e| x.catalogue.categories[e.event.category].name.as_str())
        }),
        Column::new("venue", T::Utf8, |x, r| {
            strings(r, |e| x.catalogue.venues[e.event.venue].name.as_str())
        }),
        Column::new("city", T::Utf8, |x, r| {
            strings(r, |e| x.catalogue.venues[e.event.venue].city.as_str())
        }),
        Column::new("performers", T::Utf8, |_, r| {
            let joined: Vec<String> = r.iter().map(|e| e.event.performers.join("; ")).collect();
            strings(&joined, |s| s.as_str())
        }),
        Column::new("popularity", T::Float64, |_, r| {
            floats(r, |e| (e.event.popularity * 10_000.0).round() / 10_000.0)
        }),
        Column::new("popularity_class", T::Utf8, |x, r| {
            strings(r, |e| x.catalogue.popularity.classes[e.event.class].name.as_str())
        }),
        Column::new("is_mega_event", T::Boolean, |_, r| bools(r, |e| e.event.is_mega)),
        Column::new("venue_capacity", T::Int64, |_, r| {
            ints(r, |e| i64::from(e.event.venue_capacity))
        }),
        Column::new("capacity", T::Int64, |_, r| ints(r, |e| i64::from(e.event.capacity))),
        Column::new("vip_capacity", T::Int64, |_, r| {
            ints(r, |e| i64::from(e.event.tier_capacity[0]))
        }),
        Column::new("premium_capacity", T::Int64, |_, r| {
            ints(r, |e| i64::from(e.event.tier_capacity[1]))
        }),
        Column::new("standard_capacity", T::Int64, |_, r| {
            ints(r, |e| i64::from(e.event.tier_capacity[2]))
        }),
        Column::new("vip_price", T::Float64, |_, r| floats(r, |e| e.event.tier_price[0])),
        Column::new("premium_price", T::Float64, |_, r| floats(r, |e| e.event.tier_price[1])),
        Column::new("standard_price", T::Float64, |_, r| {
            floats(r, |e| e.event.tier_price[2])
        }),
        Column::new("announced_at", T::Timestamp, |_, r| {
            timestamps_ms(r, |e| e.event.announce_ms)
        }),
        Column::new("presale_at", T::Timestamp, |_, r| {
            timestamps_ms(r, |e| e.event.presale_ms)
        }),
        Column::new("general_sale_at", T::Timestamp, |_, r| {
            timestamps_ms(r, |e| e.event.general_ms)
        }),
        Column::new("event_at", T::Timestamp, |_, r| timestamps_ms(r, |e| e.event.event_ms)),
        Column::new("vip_sold", T::Int64, |_, r| ints(r, |e| e.sales[0].sold as i64)),
        Column::new("premium_sold", T::Int64, |_, r| ints(r, |e| e.sales[1].sold as i64)),
        Column::new("standard_sold", T::Int64, |_, r| ints(r, |e| e.sales[2].sold as i64)),
        Column::nullable("vip_sold_out_at", T::Timestamp, |_, r| {
            optional_timestamps_ms(r, |e| e.sales[0].sold_out_at)
        }),
        Column::nullable("premium_sold_out_at", T::Timestamp, |_, r| {
            optional_timestamps_ms(r, |e| e.sales[1].sold_out_at)
        }),
        Column::nullable("standard_sold_out_at", T::Timestamp, |_, r| {
            optional_timestamps_ms(r, |e| e.sales[2].sold_out_at)
        }),
        Column::new("tickets_sold", T::Int64, |_, r| {
            ints(r, |e| e.sales.iter().map(|s| s.sold as i64).sum())
        }),
        Column::new("revenue", T::Float64, |_, r| {
            floats(r, |e| {
                (e.sales.iter().map(|s| s.revenue).sum::<f64>() * 100.0).round() / 100.0
            })
        }),
        Column::new("cohort", T::Utf8, |_, r| strings(r, |e| e.cohort)),
        Column::new("scenario", T::Utf8, |_, r| strings(r, |e| e.scenario)),
    ]
}

/// The `events` schema.
pub static EVENTS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| columns::full_schema(&event_columns()));

/// One record batch of events.
pub fn events_batch(catalogue: &TicketCatalogue, rows: &[EventRow]) -> RecordBatch {
    let table = event_columns();
    let all: Vec<usize> = (0..table.len()).collect();
    columns::build(&table, &EVENTS_SCHEMA, &all, &EventContext { catalogue }, rows)
}
