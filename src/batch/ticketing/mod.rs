//! The Arrow adapters of the ticketing datasets: `transactions` (the time-ordered fact table),
//! and the `events` and `users` dimension tables beside it.

pub mod events;
pub mod transactions;
pub mod users;
