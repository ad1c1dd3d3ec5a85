use std::collections::HashSet;

use super::*;
use crate::sim::ticketing::events::tests::catalogue;

fn layout(c: &TicketCatalogue, total: u32) -> UserLayout {
    UserLayout::new(3, total, &c.persona_mix(), 30, c)
}

#[test]
fn blocks_sum_exactly_and_follow_the_mix() {
    let c = catalogue();
    for total in [0, 1, 7, 99, 1_000, 100_003] {
        let l = layout(&c, total);
        let sizes: Vec<u32> = l.blocks.iter().map(|b| b.end - b.start).collect();
        assert_eq!(sizes.iter().sum::<u32>(), total);
        assert_eq!(l.blocks.last().unwrap().end, total);
        for (n, p) in sizes.iter().zip(&c.personas) {
            assert!(
                (f64::from(*n) - p.share * f64::from(total)).abs() < 1.0,
                "{total}: {n} {}",
                p.name
            );
        }
    }
    // A persona weighted 0 gets nobody, even when remainders are left to hand out.
    let mix = [0.0, 0.5, 0.0, 0.25, 0.25];
    let l = UserLayout::new(0, 11, &mix, 30, &c);
    assert_eq!(
        l.blocks.iter().map(|b| b.end - b.start).collect::<Vec<_>>(),
        vec![0, 5, 0, 3, 3]
    );
    assert_eq!(largest_remainder(10, &[1.0, 1.0, 1.0]), vec![4, 3, 3]);
}

#[test]
fn fraud_and_bot_shares_are_exact_and_fraud_accounts_are_bots_first() {
    let c = catalogue();
    let l = layout(&c, 100_000);
    for (p, persona) in c.personas.iter().enumerate() {
        let block = l.blocks[p].clone();
        let n = f64::from(block.end - block.start);
        let fraud = block.clone().filter(|&i| l.is_fraud_account(i)).count() as f64;
        let bots = block.clone().filter(|&i| l.is_bot(i)).count() as f64;
        assert_eq!(fraud, (n * persona.fraud_probability).round(), "{}", persona.name);
        assert_eq!(bots, (n * persona.bot_likelihood).round(), "{}", persona.name);
        if persona.bot_likelihood >= persona.fraud_probability {
            assert!(
                block.clone().all(|i| !l.is_fraud_account(i) || l.is_bot(i)),
                "{}",
                persona.name
            );
        }
        assert!(block.clone().all(|i| l.persona_of(i) == p));
    }
    let scalper = c.persona_index("scalper").unwrap();
    assert_eq!(l.fraud[scalper], 1_400);
    assert_eq!(l.bots[scalper], 5_600);
}

#[test]
fn active_fraud_ranges_match_the_definition() {
    let c = catalogue();
    for (total, days) in [(100_000, 30), (1_000, 7), (50, 90), (20_000, 1)] {
        let l = UserLayout::new(0, total, &c.persona_mix(), days, &c);
        for (p, persona) in c.personas.iter().enumerate() {
            let block = l.blocks[p].clone();
            for day in 0..days + 3 {
                let expected: Vec<u32> = block
                    .clone()
                    .filter(|&i| {
                        l.first_active_day(i).is_some_and(|s| {
                            f64::from(s) <= f64::from(day)
                                && f64::from(day) < f64::from(s) + persona.fraud_lifetime_days
                        })
                    })
                    .collect();
                let got: Vec<u32> = l.active_fraud(p, day, &c).collect();
                assert_eq!(got, expected, "{} day {day} of {days}", persona.name);
            }
        }
    }
    // 3,000 fraudster accounts, 2 days each over 30 days: 200 a day.
    let l = layout(&c, 100_000);
    let f = c.persona_index("fraudster").unwrap();
    assert_eq!(l.active_fraud(f, 10, &c).len(), 200);
}

#[test]
fn users_are_deterministic_with_unique_ids() {
    let c = catalogue();
    let l = layout(&c, 100_000);
    let mut ids = HashSet::new();
    for i in 0..100_000 {
        assert!(ids.insert(user_id(5, 3, i)));
    }
    let a = generate_user(&c, 5, &l, 4_242);
    assert_eq!(a, generate_user(&c, 5, &l, 4_242));
    assert_ne!(a, generate_user(&c, 6, &l, 4_242));
    assert_eq!(a.id, user_id(5, 3, 4_242));
    let s = a.id_string();
    assert!(s.starts_with("usr_") && s.len() == 16 && s[4..].chars().all(|ch| ch.is_ascii_hexdigit()));
    // Another cohort, same index: another id.
    assert_ne!(user_id(5, 3, 1), user_id(5, 4, 1));
}

#[test]
fn attributes_follow_the_catalogue() {
    let c = catalogue();
    let n = 50_000;
    let l = layout(&c, n);
    let users: Vec<User> = (0..n).map(|i| generate_user(&c, 9, &l, i)).collect();
    for (k, country) in c.countries.iter().enumerate() {
        let share = users.iter().filter(|u| u.home_country == k).count() as f64 / f64::from(n);
        assert!((share - country.home_share).abs() < 0.01, "{}: {share}", country.code);
    }
    let vip = c.persona_index("vip").unwrap();
    let (gold, platinum) = (c.loyalty_index("gold").unwrap(), c.loyalty_index("platinum").unwrap());
    let vips: Vec<&User> = users.iter().filter(|u| u.persona == vip).collect();
    let high = vips
        .iter()
        .filter(|u| u.loyalty == gold || u.loyalty == platinum)
        .count();
    assert!(high as f64 > 0.8 * vips.len() as f64);
    let mut fraud = 0;
    let mut sleepers = 0;
    for u in &users {
        let country = &c.countries[u.home_country];
        assert!(u.city < country.cities.len());
        assert!(country.ip_blocks.iter().any(|b| {
            let a = u32::from(u.home_ip);
            a > b.base && a < b.base + (1u32 << (32 - b.prefix)) - 1
        }));
        let b = &c.browsers[u.browser];
        assert!(
            b.user_agents[u.device].is_some(),
            "{} on {}",
            b.name,
            c.devices[u.device].name
        );
        assert!((b.versions.0..=b.versions.1).contains(&u.browser_version));
        if u.is_fraud_account {
            fraud += 1;
            sleepers += usize::from(u.sleeper);
            assert_eq!(u.loyalty, 0);
            let first = l.first_active_day(u.index).unwrap() as i32;
            assert!((first - 30..=first).contains(&u.signup_day));
        } else {
            assert!(!u.sleeper);
            assert!((-1_500..=-1).contains(&u.signup_day));
        }
    }
    assert_eq!(sleepers, fraud / 4, "{sleepers} of {fraud}");
}

#[test]
fn user_agents_are_realistic() {
    let c = catalogue();
    let (chrome, safari, samsung) = (
        c.browser_index("Chrome").unwrap(),
        c.browser_index("Safari").unwrap(),
        c.browser_index("Samsung Internet").unwrap(),
    );
    let (desktop, mobile) = (c.device_index("desktop").unwrap(), c.device_index("mobile").unwrap());
    assert_eq!(
        user_agent(&c, chrome, desktop, 124),
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
    );
    assert!(
        user_agent(&c, safari, mobile, 17).contains("iPhone OS 17_0")
            && user_agent(&c, safari, mobile, 17).contains("Version/17.0")
    );
    let s = user_agent(&c, samsung, mobile, 25);
    assert!(
        s.contains("SamsungBrowser/25.0") && s.contains("Chrome/121.0.0.0"),
        "{s}"
    );
    // Samsung Internet has no desktop template: its first one stands in.
    assert!(user_agent(&c, samsung, desktop, 25).contains("SamsungBrowser/25.0"));
    let on_desktop = c.browser_cdf(desktop);
    assert_eq!(on_desktop[samsung - 1], 1.0, "{on_desktop:?}");
    assert!(on_desktop[chrome] > 0.0);
}
