use std::collections::HashSet;
use std::path::Path;

use chrono::{NaiveDate, Timelike};

use super::*;
use crate::config::ticketing::load_ticket_catalogue;

pub(crate) fn catalogue() -> TicketCatalogue {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/ticketing/catalogue.toml");
    load_ticket_catalogue(&path).expect("the shipped catalogue loads")
}

fn ms(y: i32, m: u32, d: u32) -> i64 {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

fn spread(cohort: u16, count: u32) -> EventSpec {
    EventSpec {
        cohort,
        count,
        class: None,
        categories: None,
        capacity: None,
        timeline: Timeline::Spread {
            window_start_ms: ms(2025, 3, 1),
            window_end_ms: ms(2025, 3, 31),
        },
    }
}

fn is_whole_riyadh_hour(t: i64) -> bool {
    let local = DateTime::from_timestamp_millis(t).unwrap().with_timezone(&PLATFORM_TZ);
    local.minute() == 0 && local.second() == 0 && local.nanosecond() == 0
}

#[test]
fn mega_events_are_a_few_percent() {
    let c = catalogue();
    let events = generate_events(&c, 7, &spread(0, 10_000));
    let mega = events.iter().filter(|e| e.is_mega).count() as f64 / 10_000.0;
    assert!((0.01..=0.06).contains(&mega), "mega share {mega}");
    let regular = events.iter().filter(|e| e.class == 0).count() as f64 / 10_000.0;
    assert!((0.77..=0.85).contains(&regular), "regular share {regular}");
    for e in &events {
        assert_eq!(e.class, c.popularity.class_of(e.demand));
        assert!(e.demand >= 1.0 && e.demand <= c.popularity.max_demand);
        assert!((e.popularity - (1.0 - 1.0 / e.demand)).abs() < 1e-12 && (0.0..1.0).contains(&e.popularity));
    }
}

#[test]
fn categories_follow_their_weights() {
    let c = catalogue();
    let events = generate_events(&c, 3, &spread(1, 20_000));
    for (i, cat) in c.categories.iter().enumerate() {
        let share = events.iter().filter(|e| e.category == i).count() as f64 / 20_000.0;
        assert!(
            (share - cat.weight).abs() < 0.015,
            "{}: {share} vs {}",
            cat.name,
            cat.weight
        );
    }
}

#[test]
fn seats_fit_the_venue_and_tiers_add_up() {
    let c = catalogue();
    for e in generate_events(&c, 11, &spread(2, 10_000)) {
        let v = &c.venues[e.venue];
        assert_eq!(e.venue_capacity, v.capacity);
        assert!(e.capacity <= v.capacity, "{} at {}", e.capacity, v.name);
        assert!(
            v.categories.contains(&e.category),
            "{} does not host {}",
            v.name,
            e.category
        );
        let (lo, hi) = c.popularity.classes[e.class].capacity;
        assert!(e.capacity <= hi && (e.capacity >= lo || e.capacity == v.capacity));
        assert_eq!(e.tier_capacity.iter().sum::<u32>(), e.capacity);
        assert_eq!(e.tier_capacity[0], (f64::from(e.capacity) * 0.1 + 1e-9).floor() as u32);
        assert_eq!(e.tier_price, c.popularity.classes[e.class].prices);
    }
}

#[test]
fn tier_split_keeps_every_seat() {
    let c = catalogue();
    for cap in [0, 1, 7, 10, 70, 999, 1001, 68_000] {
        let t = split_tiers(cap, &c.tiers);
        assert_eq!(t.iter().sum::<u32>(), cap);
    }
    assert_eq!(split_tiers(1005, &c.tiers), [100, 301, 604]);
    assert_eq!(split_tiers(70, &c.tiers), [7, 21, 42]);
}

#[test]
fn names_are_coherent() {
    let c = catalogue();
    let teams = &c.placeholders[c.placeholders.iter().position(|p| p.name == "team").unwrap()].values;
    let mut vs_seen = 0;
    for e in generate_events(&c, 5, &spread(3, 10_000)) {
        for t in teams {
            assert!(!e.name.contains(&format!("{t} vs {t}")), "{}", e.name);
        }
        if e.name.contains(" vs ") {
            vs_seen += 1;
            assert_eq!(e.performers.len(), 2);
            assert_ne!(e.performers[0], e.performers[1]);
        }
        let unique: HashSet<&String> = e.performers.iter().collect();
        assert_eq!(unique.len(), e.performers.len(), "{}", e.name);
        for (v, venue) in c.venues.iter().enumerate() {
            if e.name.contains(&venue.name) {
                assert_eq!(v, e.venue, "{} is at {}", e.name, c.venues[e.venue].name);
            }
        }
        assert!(!e.name.contains('{') && !e.name.contains('}'), "{}", e.name);
        for p in &e.performers {
            assert!(e.name.contains(p.as_str()), "{} lacks {p}", e.name);
        }
    }
    assert!(vs_seen > 100);
}

#[test]
fn timelines_are_whole_riyadh_hours_in_order() {
    let c = catalogue();
    let (start, end) = (ms(2025, 3, 1), ms(2025, 3, 31));
    for e in generate_events(&c, 9, &spread(4, 5_000)) {
        for t in [e.announce_ms, e.presale_ms, e.general_ms, e.event_ms] {
            assert!(is_whole_riyadh_hour(t), "{t}");
        }
        assert!(e.announce_ms < e.presale_ms && e.presale_ms < e.general_ms && e.general_ms < e.event_ms);
        let days = |a: i64, b: i64| (b - a) as f64 / DAY_MS as f64;
        assert!((1.0..=7.0).contains(&days(e.presale_ms, e.general_ms)));
        assert!((3.0..=14.0).contains(&days(e.announce_ms, e.presale_ms)));
        assert!(days(e.general_ms, e.event_ms) >= 13.0);
        assert!(e.event_ms >= start + DAY_MS);
        assert!(e.general_ms >= start - 22 * DAY_MS && e.general_ms < end);
        let hour = |t: i64| {
            DateTime::from_timestamp_millis(t)
                .unwrap()
                .with_timezone(&PLATFORM_TZ)
                .hour()
        };
        assert!((10..=20).contains(&hour(e.general_ms)) && (16..=21).contains(&hour(e.event_ms)));
    }
}

#[test]
fn flash_sales_force_the_class_categories_and_instants() {
    let c = catalogue();
    let wanted = vec![
        c.category_index("concert").unwrap(),
        c.category_index("sports").unwrap(),
    ];
    let (presale, general) = (ms(2025, 3, 10) + 7 * 3_600_000, ms(2025, 3, 11) + 7 * 3_600_000);
    let spec = EventSpec {
        cohort: 9,
        count: 500,
        class: Some(c.popularity.mega()),
        categories: Some(wanted.clone()),
        capacity: Some(60_000),
        timeline: Timeline::Fixed {
            presale_ms: presale,
            general_ms: general,
        },
    };
    for e in generate_events(&c, 1, &spec) {
        assert!(e.is_mega && wanted.contains(&e.category));
        assert!(e.demand > 18.5 && e.demand <= c.popularity.max_demand);
        assert_eq!(e.capacity, 60_000.min(e.venue_capacity));
        assert!(e.venue_capacity >= 20_000, "{}", c.venues[e.venue].name);
        assert_eq!((e.presale_ms, e.general_ms), (presale, general));
        assert!(is_whole_riyadh_hour(e.announce_ms) && is_whole_riyadh_hour(e.event_ms));
        assert!(e.announce_ms < presale && e.event_ms > general + 13 * DAY_MS);
    }
}

#[test]
fn ids_are_unique_and_events_deterministic() {
    let c = catalogue();
    let mut ids = HashSet::new();
    for cohort in 0..2u16 {
        for i in 0..50_000u32 {
            let id = event_id(42, cohort, i);
            assert!(id >> 48 == 0);
            assert!(ids.insert(id));
        }
    }
    let spec = spread(1, 200);
    let a = generate_events(&c, 42, &spec);
    assert_eq!(a, generate_events(&c, 42, &spec));
    assert_eq!(a[17], generate_event(&c, 42, &spec, 17));
    assert_eq!(a[17].id, event_id(42, 1, 17));
    assert_eq!(a[17].event_id_string().len(), 16);
    assert!(a[17].event_id_string().starts_with("evt_"));
    assert_ne!(a, generate_events(&c, 43, &spec));
}
