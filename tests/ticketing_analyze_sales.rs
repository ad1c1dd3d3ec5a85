//! The sales and inventory page against independent folds over the rows and the events table
//! (read with arrow, not Polars).

mod analyze_support;
mod common;
mod ticketing_analyze_support;
mod ticketing_support;

use std::collections::{BTreeMap, HashMap};

use ticketing_analyze_support::fixture;
use ticketing_support::{bools, floats, ints, str_vals, table};
use trafficsim::analyze::ticketing::sales::SalesResult;

/// Cents of an amount, rounded as the ledger rounds them.
fn cents(v: f64) -> i64 {
    (v * 100.0).round() as i64
}

struct Rows {
    status: Vec<String>,
    tier: Vec<String>,
    persona: Vec<String>,
    event: Vec<String>,
    tickets: Vec<i64>,
    amount: Vec<f64>,
    bot: Vec<bool>,
}

fn rows() -> Rows {
    let t = fixture().transactions(&[
        "payment_status",
        "tier",
        "persona",
        "event_id",
        "num_tickets",
        "total_amount",
        "is_bot",
    ]);
    Rows {
        status: str_vals(&t, "payment_status"),
        tier: str_vals(&t, "tier"),
        persona: str_vals(&t, "persona"),
        event: str_vals(&t, "event_id"),
        tickets: ints(&t, "num_tickets"),
        amount: floats(&t, "total_amount"),
        bot: bools(&t, "is_bot"),
    }
}

#[test]
fn revenue_order_value_and_conversion_match_a_plain_fold() {
    let r: SalesResult = fixture().typed("sales");
    let x = rows();
    let n = x.status.len();
    let done: Vec<usize> = (0..n).filter(|&i| x.status[i] == "completed").collect();
    let revenue: i64 = done.iter().map(|&i| cents(x.amount[i])).sum();
    assert_eq!(r.attempts, n as u64);
    assert_eq!(r.orders, done.len() as u64);
    assert_eq!(cents(r.revenue), revenue);
    assert!((r.average_order_value - revenue as f64 / 100.0 / done.len() as f64).abs() < 1e-6);
    let abandoned = x.status.iter().filter(|s| *s == "abandoned").count();
    assert!((r.conversion - done.len() as f64 / n as f64).abs() < 1e-12);
    assert!((r.abandonment - abandoned as f64 / n as f64).abs() < 1e-12);

    // By tier, and by category through the events table.
    let events = table(&fixture().root, "events");
    let category: HashMap<String, String> = str_vals(&events, "event_id")
        .into_iter()
        .zip(str_vals(&events, "category"))
        .collect();
    let mut by_tier: BTreeMap<&str, i64> = BTreeMap::new();
    let mut by_category: BTreeMap<&str, i64> = BTreeMap::new();
    for &i in &done {
        *by_tier.entry(&x.tier[i]).or_default() += cents(x.amount[i]);
        *by_category.entry(&category[&x.event[i]]).or_default() += cents(x.amount[i]);
    }
    assert_eq!(r.by_tier.len(), by_tier.len());
    for g in &r.by_tier {
        assert_eq!(cents(g.revenue), by_tier[g.name.as_str()], "{}", g.name);
    }
    for g in &r.by_category {
        assert_eq!(cents(g.revenue), by_category[g.name.as_str()], "{}", g.name);
    }
    // Sorted by revenue, largest first.
    assert!(r.by_category.windows(2).all(|w| w[0].revenue >= w[1].revenue));

    // Conversion by persona.
    for f in &r.by_persona {
        let of: Vec<usize> = (0..n).filter(|&i| x.persona[i] == f.name).collect();
        let completed = of.iter().filter(|&&i| x.status[i] == "completed").count();
        assert_eq!(f.attempts, of.len() as u64, "{}", f.name);
        assert_eq!(f.completed, completed as u64, "{}", f.name);
    }
    let bucketed: u64 = r.by_multiplier.iter().map(|f| f.attempts).sum();
    assert_eq!(bucketed, n as u64, "every attempt falls in one price bucket");
}

#[test]
fn who_got_the_tickets_and_the_ledger_checks_match_a_plain_fold() {
    let r: SalesResult = fixture().typed("sales");
    let x = rows();
    let events = table(&fixture().root, "events");
    let ids = str_vals(&events, "event_id");
    let mega: HashMap<&str, bool> = ids
        .iter()
        .map(String::as_str)
        .zip(bools(&events, "is_mega_event"))
        .collect();
    let (mut sold, mut bot, mut mega_sold, mut mega_bot) = (0i64, 0i64, 0i64, 0i64);
    let mut per_event: HashMap<&str, i64> = HashMap::new();
    let mut requested: HashMap<&str, i64> = HashMap::new();
    for i in 0..x.status.len() {
        *requested.entry(&x.event[i]).or_default() += x.tickets[i];
        if x.status[i] != "completed" {
            continue;
        }
        let t = x.tickets[i];
        sold += t;
        *per_event.entry(&x.event[i]).or_default() += t;
        if x.bot[i] {
            bot += t;
        }
        if mega[x.event[i].as_str()] {
            mega_sold += t;
            if x.bot[i] {
                mega_bot += t;
            }
        }
    }
    assert_eq!(r.tickets_sold, sold as u64);
    assert!((r.bot_ticket_share - bot as f64 / sold as f64).abs() < 1e-12);
    assert!((r.mega_bot_ticket_share - mega_bot as f64 / mega_sold as f64).abs() < 1e-12);
    let buyers: u64 = r.mega_buyers.iter().map(|b| b.tickets).sum();
    assert_eq!(buyers, mega_sold as u64);

    // The ledger: the events table's tickets sold reconcile with the completed attempts, and no
    // tier sells beyond its capacity (generated data keeps inventory).
    let table_sold: HashMap<&str, i64> = ids
        .iter()
        .map(String::as_str)
        .zip(ints(&events, "tickets_sold"))
        .collect();
    for (id, n) in &table_sold {
        assert_eq!(per_event.get(id).copied().unwrap_or(0), *n, "{id}");
    }
    assert_eq!(r.unreconciled_tickets, 0);
    assert!(r.oversold_tiers.is_empty(), "{:?}", r.oversold_tiers);

    // Demand: the events with the highest demand against capacity, with the fold's figures.
    let capacity: HashMap<&str, i64> = ids.iter().map(String::as_str).zip(ints(&events, "capacity")).collect();
    let top = &r.demand[0];
    let ratio = requested[top.event_id.as_str()] as f64 / capacity[top.event_id.as_str()] as f64;
    assert!((top.demand_ratio - ratio).abs() < 1e-9);
    let best = requested
        .iter()
        .map(|(id, n)| *n as f64 / capacity[id] as f64)
        .fold(0.0, f64::max);
    assert!((top.demand_ratio - best).abs() < 1e-9, "the first is the highest");
    // A sell-out curve ends at the event's tickets sold; sold-out tiers are marked.
    for c in &r.sell_out {
        assert_eq!(c.points.last().unwrap().1, per_event[c.event_id.as_str()] as u64);
        assert!(c.points.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
    }
    assert!(
        r.sell_out.iter().any(|c| c.sold_out.len() == 3),
        "the flash sale sells out"
    );
    let checks = fixture().result("checks");
    for name in ["sales.oversold_tiers", "sales.unreconciled_tickets"] {
        let c = checks["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap();
        assert_eq!(c["status"], "PASS", "{c}");
    }
}
