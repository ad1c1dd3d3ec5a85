//! The Arrow adapter of `users`: one row per user of every cohort, generated on the fly.

use std::fmt::Write as _;
use std::sync::LazyLock;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use crate::batch::columns::{self, Column, ColumnType as T, bools, dates, formatted, strings};
use crate::sim::ticketing::catalogue::TicketCatalogue;
use crate::sim::ticketing::users::User;

/// What the user columns need besides the rows.
pub struct UserContext<'a> {
    pub catalogue: &'a TicketCatalogue,
    /// Days since the epoch of the window's first day (signup days count from it).
    pub start_day: i32,
    /// Per cohort: its name and scenario.
    pub cohorts: Vec<(&'a str, &'a str)>,
}

type X<'a> = UserContext<'a>;

/// Every column of `users`, in schema order, with its builder.
pub fn user_columns<'a>() -> Vec<Column<X<'a>, User>> {
    vec![
        Column::new("user_id", T::Utf8, |_, r| {
            formatted(r, 16, |b, u| write!(b, "usr_{:012x}", u.id))
        }),
        Column::new("persona", T::Utf8, |x, r| {
            strings(r, |u| x.catalogue.personas[u.persona].name.as_str())
        }),
        Column::new("home_country", T::Utf8, |x, r| {
            strings(r, |u| x.catalogue.countries[u.home_country].code.as_str())
        }),
        Column::new("home_city", T::Utf8, |x, r| {
            strings(r, |u| x.catalogue.countries[u.home_country].cities[u.city].as_str())
        }),
        Column::new("usual_device", T::Utf8, |x, r| {
            strings(r, |u| x.catalogue.devices[u.device].name.as_str())
        }),
        Column::new("usual_browser", T::Utf8, |x, r| {
            strings(r, |u| x.catalogue.browsers[u.browser].name.as_str())
        }),
        Column::new("signup_date", T::Date, |x, r| dates(r, |u| x.start_day + u.signup_day)),
        Column::new("loyalty_tier", T::Utf8, |x, r| {
            strings(r, |u| x.catalogue.loyalty_tiers[u.loyalty].name.as_str())
        }),
        Column::new("is_bot", T::Boolean, |_, r| bools(r, |u| u.is_bot)),
        Column::new("is_fraud_account", T::Boolean, |_, r| bools(r, |u| u.is_fraud_account)),
        Column::new("cohort", T::Utf8, |x, r| {
            strings(r, |u| x.cohorts[usize::from(u.cohort)].0)
        }),
        Column::new("scenario", T::Utf8, |x, r| {
            strings(r, |u| x.cohorts[usize::from(u.cohort)].1)
        }),
    ]
}

/// The `users` schema.
pub static USERS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| columns::full_schema(&user_columns()));

/// One record batch of users.
pub fn users_batch(ctx: &UserContext, users: &[User]) -> RecordBatch {
    let table = user_columns();
    let all: Vec<usize> = (0..table.len()).collect();
    columns::build(&table, &USERS_SCHEMA, &all, ctx, users)
}
