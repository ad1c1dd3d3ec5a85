//! `trafficsim validate` on a ticketing dataset: an untouched copy of a generated CSV dataset
//! passes every check, and each check finds a corruption of its own in a fresh copy.
//!
//! The dataset is generated once per test process and kept in memory; each test writes it to a
//! temporary directory of its own (`data/` and `run_summary.json` beside it, where the labels
//! check reads the window), edits one value with the RFC 4180 reader and writer of
//! `ticketing_validate_support`, runs `validate --json` on the data directory and reads the report.

mod ticketing_support;
mod ticketing_validate_support;

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};

use ticketing_validate_support::*;

#[test]
fn an_untouched_copy_passes_every_check() {
    let copy = Dataset::new();
    let v = copy.validate();
    // Given the transactions file, the validator reads the other tables beside it too.
    let by_file = copy.validate_path(&copy.csv("transactions"));
    assert_eq!(by_file.code, Some(0), "{}", by_file.stderr);
    assert_eq!(by_file.report, v.report, "the same report from data/transactions.csv");
    assert_eq!(
        v.code,
        Some(0),
        "an untouched copy passes\n{:#}\n{}",
        v.report,
        v.stderr
    );
    assert_eq!(v.report["rows"], ROWS as u64);
    assert!(v.report["events"].as_u64().unwrap() > 0, "events read");
    assert!(v.report["users"].as_u64().unwrap() > 0, "users read");
    let names: Vec<&str> = v.report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, CHECKS);
    for c in v.report["checks"].as_array().unwrap() {
        assert_eq!(c["violations"], 0, "{c:#}");
        assert!(c["skipped"].is_null(), "{c:#}");
        assert_eq!(c["examples"], serde_json::json!([]), "{c:#}");
    }
}

#[test]
fn the_csv_reader_and_writer_reproduce_every_table_exactly() {
    for (rel, bytes) in fixture() {
        if rel.extension().is_some_and(|e| e == "csv") {
            let text = std::str::from_utf8(bytes).expect("UTF-8");
            let table = Table::parse(text);
            assert!(!table.rows.is_empty(), "{}: rows", rel.display());
            assert!(
                table.to_csv() == text,
                "{}: parsed and written back differs",
                rel.display()
            );
        }
    }
    let t = Table::parse("a,b,c\n\"x, \"\"y\"\"\",,\"multi\nline\"\r\n1,2,3");
    assert_eq!(t.header, ["a", "b", "c"]);
    assert_eq!(t.rows, [["x, \"y\"", "", "multi\nline"], ["1", "2", "3"]]);
    assert_eq!(t.to_csv(), "a,b,c\n\"x, \"\"y\"\"\",,\"multi\nline\"\n1,2,3\n");
}

// ---------------------------------------------------------------------------------------------
// One corruption per test.

#[test]
fn inventory_finds_a_sold_count_the_rows_do_not_add_up_to() {
    let copy = Dataset::new();
    let (id, sold) = copy.edit("events", |e| {
        // A VIP tier with seats left, so the change is a count mismatch only, not an oversale.
        let row = e.find(0, "a VIP tier with seats left", |i| {
            e.get(i, "vip_sold").parse::<i64>().unwrap() < e.get(i, "vip_capacity").parse::<i64>().unwrap()
        });
        let sold: i64 = e.get(row, "vip_sold").parse().unwrap();
        e.set(row, "vip_sold", (sold + 1).to_string());
        (e.get(row, "event_id").to_string(), sold)
    });
    copy.validate().finds(
        "inventory",
        &[&id, &format!("VIP sold {} in events, {sold} completed", sold + 1)],
    );
}

#[test]
fn inventory_finds_an_oversold_tier() {
    let copy = Dataset::new();
    let tx = copy.read("transactions");
    let (id, tier, sold) = copy.edit("events", |e| {
        // A tier with completed sales in the general sale only: lowering its capacity then fails
        // only the last completed row in the replay, and the oversale stays among the examples
        // (a presale's allocation shrinking with the capacity would fail many rows before it).
        let by_id = e.index("event_id");
        let mut presale: HashMap<(usize, usize), u64> = HashMap::new();
        for i in 0..tx.rows.len() {
            if tx.get(i, "payment_status") != "completed" {
                continue;
            }
            let ev = by_id[tx.get(i, "event_id")];
            let tier = TIERS
                .iter()
                .position(|t| *t == tx.get(i, "tier"))
                .expect("a known tier");
            if time(tx.get(i, "timestamp")) < time(e.get(ev, "general_sale_at")) {
                *presale.entry((ev, tier)).or_default() += 1;
            }
        }
        let (ev, tier) = (0..e.rows.len())
            .flat_map(|ev| (0..TIERS.len()).map(move |t| (ev, t)))
            .find(|&(ev, t)| {
                let prefix = TIERS[t].to_lowercase();
                e.get(ev, &format!("{prefix}_sold")).parse::<i64>().unwrap() >= 2
                    && e.get(ev, &format!("{prefix}_sold_out_at")).is_empty()
                    && !presale.contains_key(&(ev, t))
            })
            .expect("a tier with sales, none in its presale, not sold out");
        let prefix = TIERS[tier].to_lowercase();
        let sold: i64 = e.get(ev, &format!("{prefix}_sold")).parse().unwrap();
        e.set(ev, &format!("{prefix}_capacity"), (sold - 1).to_string());
        (e.get(ev, "event_id").to_string(), TIERS[tier], sold)
    });
    copy.validate().finds(
        "inventory",
        &[&format!("{id}: {tier} sold {sold} of {} seats", sold - 1)],
    );
}

#[test]
fn sale_window_finds_an_attempt_a_day_before_the_presale() {
    let copy = Dataset::new();
    let events = copy.read("events");
    let by_id = events.index("event_id");
    let (row, event) = copy.edit("transactions", |t| {
        let row = t.rows.len() / 2;
        let event = t.get(row, "event_id").to_string();
        let presale = time(events.get(by_id[&event], "presale_at"));
        t.set(row, "timestamp", format_time(presale - TimeDelta::days(1)));
        (row, event)
    });
    copy.validate()
        .finds("sale_window", &[&row_label(row), "outside the sale of", &event]);
}

#[test]
fn statuses_find_a_sold_out_while_seats_were_left() {
    let copy = Dataset::new();
    let events = copy.read("events");
    let by_id = events.index("event_id");
    let (row, tier, event) = copy.edit("transactions", |t| {
        let row = t.find(0, "a completed sale of a tier that never sold out", |i| {
            let ev = by_id[t.get(i, "event_id")];
            let tier = t.get(i, "tier").to_lowercase();
            t.get(i, "payment_status") == "completed" && events.get(ev, &format!("{tier}_sold_out_at")).is_empty()
        });
        t.set(row, "payment_status", "sold_out");
        (row, t.get(row, "tier").to_string(), t.get(row, "event_id").to_string())
    });
    copy.validate().finds(
        "statuses",
        &[
            &row_label(row),
            "sold_out with",
            &format!("{tier} seat(s) of {event} left"),
        ],
    );
}

#[test]
fn statuses_find_a_rate_limited_attempt_that_completed() {
    let copy = Dataset::new();
    let row = copy.edit("transactions", |t| {
        let row = t.find(0, "a completed sale", |i| {
            t.get(i, "payment_status") == "completed" && t.get(i, "api_status") == "200"
        });
        t.set(row, "api_status", "429");
        row
    });
    copy.validate()
        .finds("statuses", &[&row_label(row), "rate limited (429) but completed"]);
}

#[test]
fn fraud_labels_find_fraud_without_a_pattern() {
    let copy = Dataset::new();
    let row = copy.edit("transactions", |t| {
        let row = t.find(0, "a legitimate casual buyer's attempt", |i| {
            t.get(i, "is_fraud") == "false" && t.get(i, "fraud_pattern").is_empty() && t.get(i, "persona") == "casual"
        });
        t.set(row, "is_fraud", "true");
        row
    });
    copy.validate().finds(
        "fraud_labels",
        &[&row_label(row), "is_fraud without a fraud_pattern, persona casual"],
    );
}

#[test]
fn unique_ids_find_a_duplicate_transaction_id() {
    let copy = Dataset::new();
    let (row, id) = copy.edit("transactions", |t| {
        let id = t.get(100, "transaction_id").to_string();
        let row = t.rows.len() / 2;
        t.set(row, "transaction_id", id.clone());
        (row, id)
    });
    copy.validate().finds(
        "unique_ids",
        &[&format!("{} transaction_id {id} seen before", row_label(row))],
    );
}

#[test]
fn known_ids_find_a_user_missing_from_users() {
    let copy = Dataset::new();
    let unknown = "usr_000000000000";
    assert!(
        !copy.read("users").index("user_id").contains_key(unknown),
        "{unknown} is in users.csv"
    );
    let row = copy.edit("transactions", |t| {
        let row = t.rows.len() / 3;
        t.set(row, "user_id", unknown);
        row
    });
    copy.validate().finds(
        "known_ids",
        &[&format!("{} user_id {unknown} is not in users", row_label(row))],
    );
}

#[test]
fn velocity_finds_a_count_off_by_three() {
    let copy = Dataset::new();
    let (row, velocity) = copy.edit("transactions", |t| {
        let row = t.rows.len() / 2;
        let v: i64 = t.get(row, "velocity_1h").parse().unwrap();
        t.set(row, "velocity_1h", (v + 3).to_string());
        (row, v + 3)
    });
    copy.validate()
        .finds("velocity", &[&format!("{} velocity_1h {velocity},", row_label(row))]);
}

#[test]
fn sessions_find_a_new_session_within_the_gap() {
    let copy = Dataset::new();
    let gap = TimeDelta::minutes(30);
    let (row, session) = copy.edit("transactions", |t| {
        // The first attempt that follows the same user's previous one by less than the gap.
        let mut last: HashMap<&str, (DateTime<Utc>, usize)> = HashMap::new();
        let mut found = None;
        for i in 0..t.rows.len() {
            let at = time(t.get(i, "timestamp"));
            if let Some(&(before, j)) = last.get(t.get(i, "user_id"))
                && at - before < gap
                && at >= before
            {
                assert_eq!(
                    t.get(i, "session_id"),
                    t.get(j, "session_id"),
                    "rows {} and {} of a user within the gap share a session",
                    j + 1,
                    i + 1
                );
                found = Some(i);
                break;
            }
            last.insert(t.get(i, "user_id"), (at, i));
        }
        let row = found.expect("a user attempting twice within 30 minutes");
        let session = "ses_00000000000000ff".to_string();
        t.set(row, "session_id", session.clone());
        (row, session)
    });
    copy.validate().finds(
        "sessions",
        &[
            &row_label(row),
            "a new session within the gap",
            &format!("session {session},"),
        ],
    );
}

#[test]
fn ip_country_finds_a_saudi_address_labelled_us() {
    let copy = Dataset::new();
    let (row, ip) = copy.edit("transactions", |t| {
        let row = t.find(1000, "an attempt from SA", |i| t.get(i, "ip_country") == "SA");
        t.set(row, "ip_country", "US");
        (row, t.get(row, "ip_address").to_string())
    });
    copy.validate().finds(
        "ip_country",
        &[&format!("{} {ip} is not an address of US", row_label(row))],
    );
}

#[test]
fn ranges_find_a_risk_score_above_one() {
    let copy = Dataset::new();
    let row = copy.edit("transactions", |t| {
        let row = t.rows.len() / 2;
        t.set(row, "risk_score", "1.5");
        row
    });
    copy.validate().finds(
        "ranges",
        &[&format!("{} risk_score 1.5 outside [0, 1]", row_label(row))],
    );
}

#[test]
fn ranges_find_a_total_that_is_not_price_times_tickets() {
    let copy = Dataset::new();
    let (row, total) = copy.edit("transactions", |t| {
        let row = t.rows.len() / 2;
        let price: f64 = t.get(row, "price_per_ticket").parse().unwrap();
        let tickets: f64 = t.get(row, "num_tickets").parse().unwrap();
        let total: f64 = t.get(row, "total_amount").parse().unwrap();
        assert!(
            (total - price * tickets).abs() < 0.01,
            "row {}: a consistent total",
            row + 1
        );
        let wrong = format!("{:.2}", total + 1.0);
        t.set(row, "total_amount", wrong.clone());
        (row, wrong)
    });
    let total = total.trim_end_matches('0').trim_end_matches('.').to_string();
    copy.validate()
        .finds("ranges", &[&format!("{} total_amount {total}", row_label(row))]);
}

#[test]
fn labels_find_a_label_ending_after_the_window() {
    let copy = Dataset::new();
    let kind = copy.edit("labels", |l| {
        let end = time(l.get(0, "end"));
        l.set(0, "end", format_time(end + TimeDelta::days(60)));
        l.get(0, "kind").to_string()
    });
    let needles = [&format!("label 1 ({kind})") as &str, "is not inside the window"];
    copy.validate().finds("labels", &needles);
    // The window comes from ../run_summary.json beside data/ whichever path is given.
    copy.validate_path(&copy.csv("transactions")).finds("labels", &needles);
}

#[test]
fn no_nulls_finds_an_empty_payment_method() {
    let copy = Dataset::new();
    copy.edit("transactions", |t| {
        let row = t.rows.len() / 2;
        assert!(
            !t.set(row, "payment_method", "").is_empty(),
            "a payment method to empty"
        );
    });
    copy.validate()
        .finds("no_nulls", &["column payment_method: 1 null or empty value(s)"]);
}
