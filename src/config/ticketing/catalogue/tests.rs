use std::path::{Path, PathBuf};

use toml::Value;

use super::*;

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/ticketing/catalogue.toml")
}

fn document() -> Value {
    toml::from_str(&std::fs::read_to_string(shipped()).expect("the shipped catalogue is readable"))
        .expect("the shipped catalogue is TOML")
}

/// The value at a dotted path such as `venues[0].capacity` or `personas.vip.share`.
fn at<'a>(mut v: &'a mut Value, path: &str) -> &'a mut Value {
    for part in path.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((n, i)) => (n, Some(i.trim_end_matches(']').parse::<usize>().expect("index"))),
            None => (part, None),
        };
        v = v.get_mut(name).unwrap_or_else(|| panic!("no `{name}` in {path}"));
        if let Some(i) = index {
            v = v.get_mut(i).unwrap_or_else(|| panic!("no [{i}] in {path}"));
        }
    }
    v
}

fn table<'a>(v: &'a mut Value, path: &str) -> &'a mut toml::Table {
    at(v, path).as_table_mut().expect("a table")
}

/// The error the shipped catalogue gives after `edit`.
fn error(edit: impl FnOnce(&mut Value)) -> String {
    let mut doc = document();
    edit(&mut doc);
    let raw: RawCatalogue = match doc.try_into() {
        Ok(raw) => raw,
        Err(e) => return format!("parse: {e}"),
    };
    match build(Path::new("ticketing.toml"), raw) {
        Ok(_) => panic!("the edit should have been rejected"),
        Err(e) => e.to_string(),
    }
}

fn assert_says(message: &str, parts: &[&str]) {
    assert!(message.starts_with("ticketing.toml: "), "{message}");
    for p in parts {
        assert!(message.contains(p), "`{p}` missing from: {message}");
    }
}

#[test]
fn the_shipped_catalogue_loads() {
    let c = load_ticket_catalogue(&shipped()).unwrap();
    let names = |v: Vec<&str>| v.join(",");
    assert_eq!(
        names(c.categories.iter().map(|x| x.name.as_str()).collect()),
        "comedy,concert,cultural,family,festival,sports"
    );
    assert_eq!(
        names(c.personas.iter().map(|x| x.name.as_str()).collect()),
        "casual,enthusiast,fraudster,scalper,vip"
    );
    assert_eq!(c.popularity.classes.len(), 3);
    assert_eq!(c.popularity.classes[c.popularity.mega()].name, "mega");
    assert_eq!(
        c.tiers.iter().map(|t| t.share).collect::<Vec<_>>(),
        vec![0.10, 0.30, 0.60]
    );
    assert!(c.categories.iter().all(|x| x.templates.len() >= 5));
    assert_eq!(c.venues[c.venue_index("Al Majdoue Square").unwrap()].capacity, 3_000);
    let sa = &c.countries[c.country_index("SA").unwrap()];
    assert_eq!((sa.tz, sa.home_share), (chrono_tz::Asia::Riyadh, 0.88));
    assert!(c.countries.iter().any(|x| x.home_share == 0.0 && x.attack_share > 0.0));
    let fraudster = &c.personas[c.persona_index("fraudster").unwrap()];
    assert_eq!((fraudster.cart_abandonment, fraudster.fraud_lifetime_days), (0.25, 2.0));
    assert_eq!(c.loyalty_tiers[0].name, "bronze");
    assert!(c.pattern_index("card_testing").is_some());
}

#[test]
fn every_category_has_a_venue_of_every_size_class() {
    let c = load_ticket_catalogue(&shipped()).unwrap();
    for category in &c.categories {
        let mut floor = 0;
        for class in &c.popularity.classes {
            let (lo, hi) = class.capacity;
            let fits = |v: &usize| {
                let ceiling = c.venues[*v].capacity;
                ceiling > floor.max(lo.saturating_sub(1)) && (ceiling <= hi || class.name == "mega")
            };
            assert!(
                category.venues.iter().any(fits),
                "{} has no {} venue",
                category.name,
                class.name
            );
            floor = hi;
        }
    }
}

#[test]
fn musicians_only_in_concerts_and_painters_only_in_exhibitions() {
    let c = load_ticket_catalogue(&shipped()).unwrap();
    let list = |name: &str| c.placeholders.iter().position(|p| p.name == name).unwrap();
    for (placeholder, only) in [("artist", "concert"), ("painter", "cultural"), ("team", "sports")] {
        for category in &c.categories {
            let uses = category.templates.iter().any(|t| t.slots.contains(&list(placeholder)));
            assert!(
                !uses || category.name == only,
                "{{{placeholder}}} in a {} name",
                category.name
            );
        }
    }
}

#[test]
fn weights_must_sum_to_one() {
    let m = error(|d| *at(d, "personas.casual.share") = Value::Float(0.55));
    assert_says(&m, &["`personas`", "weights sum to 1.05", "must sum to 1"]);
    let m = error(|d| *at(d, "categories.sports") = Value::Float(0.2));
    assert_says(&m, &["`categories`", "must sum to 1"]);
    let m = error(|d| *at(d, "devices.mobile") = Value::Float(0.5));
    assert_says(&m, &["`devices`"]);
    let m = error(|d| *at(d, "countries[0].home_share") = Value::Float(0.8));
    assert_says(&m, &["`countries.home_share`", "must sum to 1"]);
    let m = error(|d| *at(d, "personas.vip.loyalty") = Value::try_from([0.5, 0.5, 0.5, 0.0]).unwrap());
    assert_says(&m, &["`personas.vip.loyalty`", "must sum to 1"]);
}

#[test]
fn a_tier_split_over_100_percent_is_refused() {
    let m = error(|d| *at(d, "tiers.Standard.share") = Value::Float(0.7));
    assert_says(&m, &["`tiers`", "110.0%", "over 100%"]);
    let m = error(|d| *at(d, "tiers.VIP.share") = Value::Float(0.0));
    assert_says(&m, &["`tiers.VIP.share`", "above 0"]);
    let m = error(|d| {
        let t = table(d, "tiers");
        let gold = t.remove("VIP").unwrap();
        t.insert("Gold".into(), gold);
    });
    assert_says(&m, &["`tiers.Gold`", "allowed are VIP, Premium, Standard"]);
}

#[test]
fn venue_capacity_must_be_a_positive_whole_number() {
    let m = error(|d| *at(d, "venues[0].capacity") = Value::Integer(-5));
    assert_says(
        &m,
        &["`venues[0].capacity`", "-5 is not allowed", "whole number from 1"],
    );
    let m = error(|d| *at(d, "venues[3].capacity") = Value::Integer(0));
    assert_says(&m, &["`venues[3].capacity`", "0 is not allowed"]);
}

#[test]
fn class_capacity_must_be_a_positive_range() {
    let m = error(|d| *at(d, "popularity.classes[0].capacity") = Value::try_from([-300, 5000]).unwrap());
    assert_says(&m, &["`popularity.classes[0].capacity`", "[-300, 5000] is not allowed"]);
    let m = error(|d| *at(d, "popularity.classes[1].capacity") = Value::try_from([20000, 5000]).unwrap());
    assert_says(&m, &["`popularity.classes[1].capacity`", "low <= high"]);
}

#[test]
fn venues_name_known_categories() {
    let m = error(|d| *at(d, "venues[1].categories") = Value::try_from(["sports", "opera"]).unwrap());
    assert_says(
        &m,
        &[
            "`venues[1].categories`",
            "unknown category `opera`",
            "allowed are",
            "comedy",
        ],
    );
}

#[test]
fn every_category_needs_a_template_and_a_venue() {
    let m = error(|d| {
        table(d, "templates").remove("comedy");
    });
    assert_says(&m, &["`templates`", "category `comedy` has no name template"]);
    let m = error(|d| {
        for v in at(d, "venues").as_array_mut().unwrap() {
            let cats = v.get_mut("categories").unwrap().as_array_mut().unwrap();
            cats.retain(|c| c.as_str() != Some("comedy"));
            if cats.is_empty() {
                cats.push(Value::String("concert".into()));
            }
        }
    });
    assert_says(&m, &["`categories.comedy`", "no venue hosts `comedy`"]);
    let m = error(|d| {
        table(d, "templates").insert("opera".into(), Value::try_from(["Opera Night"]).unwrap());
    });
    assert_says(&m, &["`templates.opera`", "unknown category"]);
}

#[test]
fn template_placeholders_must_be_defined() {
    let m = error(|d| {
        at(d, "templates.concert").as_array_mut().unwrap()[0] = Value::String("{singer} Live".into());
    });
    assert_says(
        &m,
        &["`templates.concert[0]`", "`{singer}` is not defined", "[placeholders]"],
    );
    let m = error(|d| {
        table(d, "placeholders").insert("venue".into(), Value::try_from(["X"]).unwrap());
    });
    assert_says(&m, &["`placeholders.venue`", "reserved"]);
    let m = error(|d| *at(d, "placeholders.team") = Value::try_from(["Al Hilal"]).unwrap());
    assert_says(&m, &["`templates.sports[", "only 1 value to keep"]);
    let m = error(|d| *at(d, "performers") = Value::try_from(["singer"]).unwrap());
    assert_says(&m, &["`performers`", "unknown placeholder `singer`"]);
}

#[test]
fn tier_preferences_sum_to_one() {
    let m = error(|d| *at(d, "personas.vip.tier_preference") = Value::try_from([0.7, 0.2, 0.2]).unwrap());
    assert_says(&m, &["`personas.vip.tier_preference`", "sums to 1.1;", "must sum to 1"]);
}

#[test]
fn probabilities_stay_in_0_1() {
    let m = error(|d| *at(d, "personas.casual.cart_abandonment") = Value::Float(1.5));
    assert_says(
        &m,
        &["`personas.casual.cart_abandonment`", "1.5 is out of range", "0 to 1"],
    );
    let m = error(|d| *at(d, "fraud_patterns.card_testing.success_rate") = Value::Float(-0.1));
    assert_says(&m, &["`fraud_patterns.card_testing.success_rate`"]);
    let m = error(|d| *at(d, "personas.scalper.fraud_probability") = Value::Float(2.0));
    assert_says(&m, &["`personas.scalper.fraud_probability`"]);
}

#[test]
fn fraud_personas_need_a_lifetime() {
    let m = error(|d| {
        table(d, "personas.scalper").remove("fraud_lifetime_days");
    });
    assert_says(
        &m,
        &[
            "`personas.scalper.fraud_lifetime_days`",
            "required because fraud_probability",
        ],
    );
}

#[test]
fn time_zones_must_be_known() {
    let m = error(|d| *at(d, "countries[0].time_zone") = Value::String("Asia/Riyad".into()));
    assert_says(
        &m,
        &["`countries[0].time_zone`", "unknown time zone `Asia/Riyad`", "IANA"],
    );
}

#[test]
fn cidr_blocks_must_be_well_formed() {
    for (block, says) in [
        ("188.48.0.0/33", "prefix"),
        ("188.48.0.0", "missing `/prefix`"),
        ("188.300.0.0/13", "not an IPv4 address"),
        ("188.49.0.0/13", "did you mean 188.48.0.0/13"),
    ] {
        let m = error(|d| *at(d, "countries[1].ip_blocks") = Value::try_from([block]).unwrap());
        assert_says(&m, &["`countries[1].ip_blocks`", "AE", block, says]);
    }
}

#[test]
fn every_class_needs_a_venue_big_enough() {
    let m = error(|d| *at(d, "popularity.classes[2].capacity") = Value::try_from([150_000, 200_000]).unwrap());
    assert_says(
        &m,
        &[
            "`popularity.classes[2].capacity`",
            "no venue holds a `mega` event of 150000 seats",
        ],
    );
}

#[test]
fn class_thresholds_rise_and_only_the_last_is_open() {
    let m = error(|d| *at(d, "popularity.classes[1].max_demand") = Value::Float(3.0));
    assert_says(&m, &["`popularity.classes[1].max_demand`", "must rise"]);
    let m = error(|d| {
        table(d, "popularity.classes[2]").insert("max_demand".into(), Value::Float(100.0));
    });
    assert_says(&m, &["`popularity.classes[2].max_demand`", "remove its max_demand"]);
}

#[test]
fn browsers_name_known_devices_and_placeholders() {
    let m = error(|d| {
        table(d, "browsers.Chrome.user_agents").insert("watch".into(), Value::String("X".into()));
    });
    assert_says(&m, &["`browsers.\"Chrome\".user_agents`", "unknown device `watch`"]);
    let m = error(|d| *at(d, "browsers.Chrome.user_agents.mobile") = Value::String("Chrome/{major}".into()));
    assert_says(&m, &["`browsers.\"Chrome\".user_agents.mobile`", "{major}"]);
}

#[test]
fn file_errors_name_the_file() {
    let missing = load_ticket_catalogue(Path::new("/nonexistent/ticketing.toml")).unwrap_err();
    assert!(matches!(missing, ConfigError::Read { .. }), "{missing}");
    let dir = std::env::temp_dir().join(format!("tk-catalogue-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("typo.toml");
    let text = std::fs::read_to_string(shipped())
        .unwrap()
        .replace("max_demand = 200.0", "max_demnd = 200.0");
    std::fs::write(&path, text).unwrap();
    let e = load_ticket_catalogue(&path).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(e.contains("typo.toml") && e.contains("max_demnd"), "{e}");
}
