//! The ticketing workload's simulation core: events, users and purchase attempts on an
//! event-ticketing platform (product document 004).
//!
//! - `catalogue`, `events`, `users`: what is sold and who buys, generated from keyed streams;
//! - `model`: the platform's day, sale curves, visits, orders, fraud signals, risk and service;
//! - `scenarios`: modifiers (flash sale, attacks, drift, degradation, A/B test, Black Friday);
//! - `cohort`: a cohort compiled — its users, events and arrival processes;
//! - `traffic`: visits and attempts per (cohort, process, slot);
//! - `carry`: what passes from one attempt to the next, in time order (velocity, sessions,
//!   risk, outcomes, inventory);
//! - `plan`: scales, slots and units.

pub mod attempt;
pub mod carry;
pub mod catalogue;
pub mod cohort;
pub mod event_chooser;
pub mod events;
pub mod model;
pub mod plan;
pub mod scenarios;
pub mod traffic;
pub mod users;
