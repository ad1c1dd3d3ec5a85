//! The invariants of a ticketing dataset, checked across its tables: no tier oversold and the
//! events' sold counts equal to the completed tickets, every attempt inside its event's sale,
//! statuses consistent with the inventory at that moment, fraud labels with a pattern, unique and
//! known ids, velocity and sessions recomputed from the rows, IP addresses of their country,
//! values in range, labels inside the window.
//!
//! The transactions are replayed in file order (time order), with the state the generator
//! carried: what each tier has sold, each user's attempts of the last hour.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::path::Path;

use anyhow::Result;
use rustc_hash::FxHashMap;

use arrow::array::{Array, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{Int64Type, TimestampMicrosecondType};

use super::read::for_each_batch;
use super::{Check, Report};
use crate::batch::labels::LABELS_SCHEMA;
use crate::batch::ticketing::events::EVENTS_SCHEMA;
use crate::batch::ticketing::transactions::{TRANSACTIONS_SCHEMA, column_names};
use crate::batch::ticketing::users::USERS_SCHEMA;
use crate::config::TicketingConfig;
use crate::sim::ticketing::attempt::PaymentStatus;
use crate::sim::ticketing::catalogue::TIER_NAMES;
use crate::sink::layout;

mod ids;
mod tables;

use super::unique::IdKeys;
use ids::{SESSION_PREFIX, TRANSACTION_PREFIX, USER_PREFIX, id_text};
use tables::{Tables, window};

/// The count of distinct users among the transactions, in the report's counts.
pub const USERS_WITH_ATTEMPTS: &str = "users_with_attempts";

const HOUR_US: i64 = 3_600_000_000;
/// Tolerance on money: values are rounded to the cent.
const CENT: f64 = 0.005 + 1e-9;

/// One event's tiers as the events table states them.
struct EventState {
    capacity: [i64; 3],
    sold: [i64; 3],
    sold_out_at: [Option<i64>; 3],
    presale_at: i64,
    general_at: i64,
    event_at: i64,
    /// Replayed from the transactions.
    replay_sold: [i64; 3],
    replay_presale_sold: [i64; 3],
    replay_sold_out_at: [Option<i64>; 3],
}

const NO_NULLS: usize = 0;
const UNIQUE_IDS: usize = 1;
const KNOWN_IDS: usize = 2;
const INVENTORY: usize = 3;
const SALE_WINDOW: usize = 4;
const STATUSES: usize = 5;
const FRAUD_LABELS: usize = 6;
const VELOCITY: usize = 7;
const SESSIONS: usize = 8;
const IP_COUNTRY: usize = 9;
const RANGES: usize = 10;
const LABELS: usize = 11;
const COLUMNS: usize = 12;

/// The replay of the transactions.
struct State<'a> {
    config: &'a TicketingConfig,
    checks: Vec<Check>,
    rows: u64,
    events: FxHashMap<String, EventState>,
    /// Each user's persona, as an index into `personas` (keys: [`super::id_key`]).
    users: Option<FxHashMap<u128, u8>>,
    personas: Vec<String>,
    /// Every transaction id's key, sorted at the end to find repeats.
    transaction_ids: IdKeys,
    /// Per user: times (µs) of the attempts of the last hour, and the key of the last session.
    recent: FxHashMap<u128, (VecDeque<i64>, Option<u128>)>,
    presale_personas: Vec<String>,
    presale_allocation: f64,
    session_gap_us: i64,
    max_tickets: i64,
}

impl<'a> State<'a> {
    fn new(config: &'a TicketingConfig) -> Self {
        let checks = vec![
            Check::new("no_nulls", "no null or empty value but where a column allows it"),
            Check::new("unique_ids", "transaction, event and user ids are unique"),
            Check::new(
                "known_ids",
                "every transaction's event and user exist, with the user's persona",
            ),
            Check::new(
                "inventory",
                "no tier oversold; sold counts and sell-out times match the rows",
            ),
            Check::new(
                "sale_window",
                "every attempt inside its event's sale; presale only for presale personas",
            ),
            Check::new("statuses", "sold_out only when nothing was left; 429 never completes"),
            Check::new(
                "fraud_labels",
                "is_fraud implies a fraud pattern or the fraudster persona",
            ),
            Check::new("velocity", "velocity_1h = the user's attempts in the hour before"),
            Check::new("sessions", "a user's attempts share a session until 30 min without one"),
            Check::new("ip_country", "every IP address lies in its country's blocks"),
            Check::new(
                "ranges",
                "risk in [0, 1], amounts = price × tickets, tickets and latency in range",
            ),
            Check::new("labels", "labels lie inside the window, start before end"),
            Check::new("known_columns", "every column belongs to the transactions schema"),
        ];
        let cat = &config.catalogue;
        State {
            config,
            checks,
            rows: 0,
            events: FxHashMap::default(),
            users: None,
            personas: Vec::new(),
            transaction_ids: IdKeys::default(),
            recent: FxHashMap::default(),
            presale_personas: cat
                .personas
                .iter()
                .filter(|p| p.presale)
                .map(|p| p.name.clone())
                .collect(),
            presale_allocation: config.model.orders.presale_allocation,
            session_gap_us: (config.model.visits.session_gap_minutes * 60_000_000.0) as i64,
            max_tickets: i64::from(config.model.orders.max_tickets),
        }
    }

    fn fail(&mut self, check: usize, example: impl FnOnce() -> String) {
        self.checks[check].fail(example);
    }

    /// Checks one batch of transactions, in order.
    fn batch(&mut self, b: &RecordBatch) {
        let base = self.rows;
        self.nulls(b, base);
        let s = |n: &str| b.column_by_name(n).and_then(|a| a.as_string_opt::<i32>());
        let int = |n: &str| b.column_by_name(n).and_then(|a| a.as_primitive_opt::<Int64Type>());
        let float = |n: &str| {
            b.column_by_name(n)
                .and_then(|a| a.as_primitive_opt::<arrow::datatypes::Float64Type>())
        };
        let boolean = |n: &str| b.column_by_name(n).and_then(|a| a.as_boolean_opt());
        let cols = Cols {
            time: b
                .column_by_name("timestamp")
                .and_then(|a| a.as_primitive_opt::<TimestampMicrosecondType>()),
            txn: s("transaction_id"),
            event: s("event_id"),
            user: s("user_id"),
            session: s("session_id"),
            persona: s("persona"),
            tier: s("tier"),
            status: s("payment_status"),
            pattern: s("fraud_pattern"),
            ip: s("ip_address"),
            country: s("ip_country"),
            tickets: int("num_tickets"),
            velocity: int("velocity_1h"),
            latency: int("decision_latency_ms"),
            api: int("api_status"),
            price: float("price_per_ticket"),
            total: float("total_amount"),
            risk: float("risk_score"),
            fraud: boolean("is_fraud"),
        };
        for i in 0..b.num_rows() {
            self.row(&cols, i, base + 1 + i as u64);
        }
        self.rows += b.num_rows() as u64;
    }

    fn nulls(&mut self, b: &RecordBatch, base: u64) {
        for field in b.schema().fields() {
            if field.is_nullable()
                && TRANSACTIONS_SCHEMA
                    .field_with_name(field.name())
                    .is_ok_and(|f| f.is_nullable())
            {
                continue;
            }
            let col = b.column_by_name(field.name()).expect("field of this batch");
            let empty = col
                .as_string_opt::<i32>()
                .map_or(0, |s| s.iter().filter(|v| v.is_some_and(str::is_empty)).count());
            let nulls = col.null_count() + empty;
            if nulls > 0 {
                let (name, n) = (field.name().clone(), b.num_rows() as u64);
                self.checks[NO_NULLS].violations += nulls as u64 - 1;
                self.fail(NO_NULLS, || {
                    format!(
                        "column {name}: {nulls} null or empty value(s) in rows {}..{}",
                        base + 1,
                        base + n
                    )
                });
            }
        }
    }

    fn row(&mut self, c: &Cols<'_>, i: usize, row: u64) {
        fn get(a: Option<&StringArray>, i: usize) -> Option<&str> {
            a.filter(|a| a.is_valid(i)).map(|a| a.value(i))
        }
        let get = |a| get(a, i);
        let int = |a: Option<&Int64Array>| a.filter(|a| a.is_valid(i)).map(|a| a.value(i));
        let float = |a: Option<&Float64Array>| a.filter(|a| a.is_valid(i)).map(|a| a.value(i));
        let time = c.time.filter(|a| a.is_valid(i)).map(|a| a.value(i));
        let status = get(c.status);
        let persona = get(c.persona);

        if let Some(id) = get(c.txn) {
            self.transaction_ids.push(super::id_key(id, TRANSACTION_PREFIX));
        }
        if let (Some(users), Some(user)) = (&self.users, get(c.user)) {
            match users
                .get(&super::id_key(user, USER_PREFIX))
                .map(|&p| self.personas[usize::from(p)].as_str())
            {
                None => {
                    let u = user.to_string();
                    self.fail(KNOWN_IDS, || format!("row {row}: user_id {u} is not in users"))
                }
                Some(p) if persona.is_some_and(|x| x != p) => {
                    let (u, p, x) = (user.to_string(), p.to_string(), persona.unwrap_or_default().to_string());
                    self.fail(KNOWN_IDS, || {
                        format!("row {row}: user {u} is a {p} in users but {x} here")
                    })
                }
                _ => {}
            }
        }

        // The sale and the inventory, replayed.
        if let (Some(t), Some(event)) = (time, get(c.event)) {
            let tier = get(c.tier).and_then(|t| TIER_NAMES.iter().position(|x| *x == t));
            let presale_personas = &self.presale_personas;
            let allocation = self.presale_allocation;
            let known_events = !self.events.is_empty();
            match self.events.get_mut(event) {
                None if known_events => {
                    let e = event.to_string();
                    self.fail(KNOWN_IDS, || format!("row {row}: event_id {e} is not in events"));
                }
                None => {}
                Some(e) => {
                    let mut problems: Vec<(usize, String)> = Vec::new();
                    if t < e.presale_at || t >= e.event_at {
                        problems.push((
                            SALE_WINDOW,
                            format!("row {row}: attempt at {} outside the sale of {event}", iso(t)),
                        ));
                    } else if t < e.general_at && persona.is_some_and(|p| !presale_personas.iter().any(|x| x == p)) {
                        problems.push((
                            SALE_WINDOW,
                            format!(
                                "row {row}: a {} buys in the presale of {event}",
                                persona.unwrap_or_default()
                            ),
                        ));
                    }
                    if let Some(tier) = tier {
                        let presale = t < e.general_at;
                        let cap = e.capacity[tier];
                        let presale_cap = (cap as f64 * allocation).floor() as i64;
                        let left = if presale {
                            (cap - e.replay_sold[tier]).min(presale_cap - e.replay_presale_sold[tier])
                        } else {
                            cap - e.replay_sold[tier]
                        };
                        match status.and_then(parse_status) {
                            Some(PaymentStatus::SoldOut) if left > 0 => problems.push((
                                STATUSES,
                                format!(
                                    "row {row}: sold_out with {left} {} seat(s) of {event} left",
                                    TIER_NAMES[tier]
                                ),
                            )),
                            Some(PaymentStatus::Completed) => {
                                let n = int(c.tickets).unwrap_or(0);
                                if n > left {
                                    problems.push((
                                        INVENTORY,
                                        format!(
                                            "row {row}: {n} {} ticket(s) of {event} sold with {left} left",
                                            TIER_NAMES[tier]
                                        ),
                                    ));
                                }
                                e.replay_sold[tier] += n;
                                if presale {
                                    e.replay_presale_sold[tier] += n;
                                }
                                if e.replay_sold[tier] >= cap && e.replay_sold_out_at[tier].is_none() {
                                    e.replay_sold_out_at[tier] = Some(t);
                                }
                            }
                            _ => {}
                        }
                    }
                    for (check, p) in problems {
                        self.fail(check, || p);
                    }
                }
            }
        }
        if let Some(s) = status {
            match parse_status(s) {
                None => {
                    let s = s.to_string();
                    self.fail(STATUSES, || format!("row {row}: unknown payment_status `{s}`"))
                }
                Some(st) => {
                    if int(c.api) == Some(429) && !matches!(st, PaymentStatus::Failed | PaymentStatus::SoldOut) {
                        self.fail(STATUSES, || format!("row {row}: rate limited (429) but {s}"));
                    }
                }
            }
        }
        if let Some(a) = int(c.api)
            && ![200, 429, 503, 504].contains(&a)
        {
            self.fail(STATUSES, || {
                format!("row {row}: api_status {a} is not 200, 429, 503 or 504")
            });
        }

        // Ground truth.
        if c.fraud.is_some_and(|f| f.is_valid(i) && f.value(i))
            && get(c.pattern).is_none()
            && persona != Some("fraudster")
        {
            self.fail(FRAUD_LABELS, || {
                format!(
                    "row {row}: is_fraud without a fraud_pattern, persona {}",
                    persona.unwrap_or("?")
                )
            });
        }
        if let Some(p) = get(c.pattern)
            && !self.config.catalogue.fraud_patterns.iter().any(|x| x.name == p)
        {
            let p = p.to_string();
            self.fail(FRAUD_LABELS, || format!("row {row}: unknown fraud_pattern `{p}`"));
        }

        // Velocity and sessions, from the user's earlier rows.
        if let (Some(t), Some(user)) = (time, get(c.user)) {
            let session = get(c.session).unwrap_or_default();
            let session_key = super::id_key(session, SESSION_PREFIX);
            let entry = self
                .recent
                .entry(super::id_key(user, USER_PREFIX))
                .or_insert_with(|| (VecDeque::new(), None));
            let last = entry.0.back().copied();
            while entry.0.front().is_some_and(|&t0| t0 < t - HOUR_US) {
                entry.0.pop_front();
            }
            let expected = entry.0.len() as i64;
            let continues = last.is_some_and(|l| t - l <= self.session_gap_us);
            let same_session = entry.1 == Some(session_key);
            entry.0.push_back(t);
            let was = entry.1.replace(session_key);
            if let Some(v) = int(c.velocity)
                && v != expected
            {
                self.fail(VELOCITY, || {
                    format!("row {row}: velocity_1h {v}, but the user made {expected} attempt(s) in the hour before")
                });
            }
            if c.session.is_some() && continues != same_session {
                let why = if continues {
                    "a new session within the gap"
                } else {
                    "the same session after the gap"
                };
                let was = was.map_or_else(|| "none".to_string(), |k| id_text(k, SESSION_PREFIX));
                self.fail(SESSIONS, || {
                    format!("row {row}: {why} (session {session}, before {was})")
                });
            }
        }

        // IP and values.
        if let (Some(ip), Some(code)) = (get(c.ip), get(c.country)) {
            let ok = ip.parse::<Ipv4Addr>().ok().is_some_and(|addr| {
                self.config
                    .catalogue
                    .countries
                    .iter()
                    .find(|x| x.code == code)
                    .is_some_and(|country| country.ip_blocks.iter().any(|b| b.contains(addr)))
            });
            if !ok {
                let (ip, code) = (ip.to_string(), code.to_string());
                self.fail(IP_COUNTRY, || format!("row {row}: {ip} is not an address of {code}"));
            }
        }
        if let Some(r) = float(c.risk)
            && !(0.0..=1.0).contains(&r)
        {
            self.fail(RANGES, || format!("row {row}: risk_score {r} outside [0, 1]"));
        }
        if let (Some(p), Some(n), Some(total)) = (float(c.price), int(c.tickets), float(c.total)) {
            if (total - (p * n as f64 * 100.0).round() / 100.0).abs() > CENT {
                self.fail(RANGES, || format!("row {row}: total_amount {total} but {p} × {n}"));
            }
            if p <= 0.0 {
                self.fail(RANGES, || format!("row {row}: price_per_ticket {p} is not positive"));
            }
        }
        if let Some(n) = int(c.tickets)
            && (n < 1 || n > self.max_tickets)
        {
            let max = self.max_tickets;
            self.fail(RANGES, || format!("row {row}: num_tickets {n} outside 1..={max}"));
        }
        if let Some(l) = int(c.latency)
            && !(1..=600_000).contains(&l)
        {
            self.fail(RANGES, || {
                format!("row {row}: decision_latency_ms {l} outside 1..=600000")
            });
        }
    }

    /// The events' stated sales against the replay.
    fn finish_inventory(&mut self) {
        let mut problems = Vec::new();
        let mut ids: Vec<&String> = self.events.keys().collect();
        ids.sort();
        for id in ids {
            let e = &self.events[id];
            for (t, tier) in TIER_NAMES.iter().enumerate() {
                if e.sold[t] > e.capacity[t] {
                    problems.push(format!("{id}: {tier} sold {} of {} seats", e.sold[t], e.capacity[t]));
                }
                if e.sold[t] != e.replay_sold[t] {
                    problems.push(format!(
                        "{id}: {tier} sold {} in events, {} completed in transactions",
                        e.sold[t], e.replay_sold[t]
                    ));
                }
                if e.sold_out_at[t] != e.replay_sold_out_at[t] {
                    problems.push(format!(
                        "{id}: {tier} sold out at {} in events, at {} in transactions",
                        e.sold_out_at[t].map_or("never".into(), iso),
                        e.replay_sold_out_at[t].map_or("never".into(), iso)
                    ));
                }
            }
        }
        for p in problems {
            self.fail(INVENTORY, || p);
        }
    }
}

/// The transaction columns the checks read, resolved once per batch.
struct Cols<'b> {
    time: Option<&'b arrow::array::PrimitiveArray<TimestampMicrosecondType>>,
    txn: Option<&'b StringArray>,
    event: Option<&'b StringArray>,
    user: Option<&'b StringArray>,
    session: Option<&'b StringArray>,
    persona: Option<&'b StringArray>,
    tier: Option<&'b StringArray>,
    status: Option<&'b StringArray>,
    pattern: Option<&'b StringArray>,
    ip: Option<&'b StringArray>,
    country: Option<&'b StringArray>,
    tickets: Option<&'b Int64Array>,
    velocity: Option<&'b Int64Array>,
    latency: Option<&'b Int64Array>,
    api: Option<&'b Int64Array>,
    price: Option<&'b Float64Array>,
    total: Option<&'b Float64Array>,
    risk: Option<&'b Float64Array>,
    fraud: Option<&'b BooleanArray>,
}

fn parse_status(s: &str) -> Option<PaymentStatus> {
    PaymentStatus::ALL.into_iter().find(|p| p.as_str() == s)
}

fn iso(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us).map_or_else(|| us.to_string(), |t| t.to_rfc3339())
}

/// Validates the ticketing dataset at `path`: a data directory, its `transactions/` Parquet
/// dataset, or `transactions.csv` (the events, users and labels beside it are read when there).
pub fn validate(path: &Path, config: &TicketingConfig) -> Result<Report> {
    let tables = Tables::find(path)?;
    let mut state = State::new(config);
    match &tables.events {
        Some(p) => state.events(p)?,
        None => state.checks[INVENTORY].skipped = Some("no events table".into()),
    }
    match &tables.users {
        Some(p) => state.users(p)?,
        None => state.checks[KNOWN_IDS].skipped = Some("no users table".into()),
    }
    let mut columns: Option<Vec<String>> = None;
    for_each_batch(&tables.transactions, &TRANSACTIONS_SCHEMA, |batch| {
        if columns.is_none() {
            columns = Some(batch.schema().fields().iter().map(|f| f.name().clone()).collect());
        }
        state.batch(&batch);
        Ok(())
    })?;
    state.finish_unique_ids(&tables.transactions)?;
    if tables.events.is_some() {
        state.finish_inventory();
    }
    match &tables.labels {
        Some(p) => state.labels(p, window(&tables.data))?,
        None => state.checks[LABELS].skipped = Some("no labels table".into()),
    }
    let columns = columns.unwrap_or_default();
    let names = column_names();
    for c in &columns {
        if !names.contains(&c.as_str()) {
            let c = c.clone();
            let allowed = names.join(", ");
            state.fail(COLUMNS, || format!("unknown column `{c}`: allowed are {allowed}"));
        }
    }
    let present = |c: &str| columns.iter().any(|x| x == c);
    let needs: [(usize, &[&str]); 7] = [
        (UNIQUE_IDS, &["transaction_id"]),
        (
            INVENTORY,
            &["event_id", "tier", "payment_status", "num_tickets", "timestamp"],
        ),
        (SALE_WINDOW, &["event_id", "timestamp", "persona"]),
        (VELOCITY, &["user_id", "timestamp", "velocity_1h"]),
        (SESSIONS, &["user_id", "timestamp", "session_id"]),
        (IP_COUNTRY, &["ip_address", "ip_country"]),
        (FRAUD_LABELS, &["is_fraud", "fraud_pattern", "persona"]),
    ];
    for (check, cols) in needs {
        let missing: Vec<&str> = cols.iter().copied().filter(|c| !present(c)).collect();
        if !missing.is_empty() && state.checks[check].skipped.is_none() {
            state.checks[check].skipped = Some(format!("no column {}", missing.join(", ")));
        }
    }
    Ok(Report {
        rows: state.rows,
        columns,
        counts: [
            ("events", state.events.len()),
            ("users", state.users.as_ref().map_or(0, |u| u.len())),
            (USERS_WITH_ATTEMPTS, state.recent.len()),
        ]
        .into_iter()
        .collect(),
        checks: state.checks,
    })
}
