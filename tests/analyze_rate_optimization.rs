//! Rate optimization: switches go to the cheapest catalogue model of the same provider within the
//! quality budget (catalogue scores) and reprice the rows' own tokens at catalogue prices;
//! reserved capacity follows each model's spend and volume tiers each provider's.

mod analyze_support;
mod common;

use std::collections::BTreeMap;
use std::path::Path;

use analyze_support::{assert_close, fixture};
use common::{default_config, floats, ints, strings};
use trafficsim::analyze::rate_optimization::RateResult;
use trafficsim::config::CallsConfig;

fn result() -> RateResult {
    fixture().typed("rate_optimization")
}

#[test]
fn switches_reprice_the_same_tokens_at_catalogue_prices() {
    let r = result();
    let catalogue = CallsConfig::load(Path::new(&default_config())).unwrap().catalogue;
    let b = &fixture().rows;
    let (task, model, status, input, output, cost) = (
        strings(b, "task_type"),
        strings(b, "model"),
        strings(b, "status"),
        ints(b, "input_tokens"),
        ints(b, "output_tokens"),
        floats(b, "cost_usd"),
    );
    // (task, model) → (calls, input, output, cost) over successful calls.
    let mut usage: BTreeMap<(&str, &str), (u64, i64, i64, f64)> = BTreeMap::new();
    for i in 0..b.num_rows() {
        if status[i] == "success" {
            let e = usage.entry((task[i], model[i])).or_default();
            e.0 += 1;
            e.1 += input[i];
            e.2 += output[i];
            e.3 += cost[i];
        }
    }
    assert!(!r.switches.is_empty());
    // The rule, recomputed: for every (task, model) with a quality score, the cheapest other
    // scored model of the same provider at most 20 points below it, if that saves ≥ 20%.
    assert_eq!(r.max_quality_loss, 20.0);
    assert!(r.same_provider_only);
    let factor = 30.0 / f64::from(r.window_days);
    let mut want = BTreeMap::new();
    for (&(t, m), &(calls, i, o, c)) in &usage {
        let from = catalogue.model_index(m).unwrap();
        let Some(q) = catalogue.models[from].quality else {
            continue;
        };
        let best = catalogue
            .models
            .iter()
            .filter(|x| {
                x.name != m
                    && x.provider == catalogue.models[from].provider
                    && x.quality.is_some_and(|xq| xq >= q - 20.0)
            })
            .map(|x| {
                (
                    i as f64 * x.input_per_1k / 1000.0 + o as f64 * x.output_per_1k / 1000.0,
                    x.name.as_str(),
                )
            })
            .min_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        if let Some((after, to)) = best
            && c - after >= 0.2 * c
            && c > 0.0
        {
            want.insert((t, m), (to, calls, c, after));
        }
    }
    let got: BTreeMap<(&str, &str), &str> = r
        .switches
        .iter()
        .map(|s| ((s.task_type.as_str(), s.from_model.as_str()), s.to_model.as_str()))
        .collect();
    assert_eq!(got, want.iter().map(|(k, v)| (*k, v.0)).collect::<BTreeMap<_, _>>());
    for s in &r.switches {
        let to = catalogue.model_index(&s.to_model).expect("target is a catalogue model");
        let from = catalogue.model_index(&s.from_model).unwrap();
        assert_eq!(catalogue.providers[catalogue.models[to].provider].name, s.to_provider);
        assert_eq!(s.from_provider, s.to_provider, "same provider");
        assert_eq!(Some(s.from_quality), catalogue.models[from].quality);
        assert_eq!(Some(s.to_quality), catalogue.models[to].quality);
        assert!(
            s.quality_loss <= 20.0 && s.quality_loss == s.from_quality - s.to_quality,
            "{s:?}"
        );
        let (_, calls, c, after) = want[&(s.task_type.as_str(), s.from_model.as_str())];
        assert_eq!(s.calls, calls);
        assert_close(s.cost_usd, c, "cost before");
        assert_close(s.cost_after_usd, after, "cost after");
        assert_close(s.monthly_saving_usd, (c - after) * factor, "monthly saving");
    }
    let total: f64 = r.switches.iter().map(|s| s.monthly_saving_usd).sum();
    assert_close(r.switching_monthly_saving_usd, total, "switching total");
    // Unscored models are never switched from or to.
    for m in &r.unscored_models {
        assert!(r.switches.iter().all(|s| &s.from_model != m && &s.to_model != m), "{m}");
    }
    // A looser budget or any provider never saves less.
    let budget = |loss: f64, same: bool| {
        r.sensitivity
            .iter()
            .find(|b| b.max_quality_loss == loss && b.same_provider_only == same)
            .unwrap()
            .monthly_saving_usd
    };
    assert_close(budget(20.0, true), total, "the configured budget's row");
    assert!(budget(0.0, true) <= budget(20.0, true) && budget(20.0, true) <= budget(100.0, true));
    assert!(budget(20.0, true) <= budget(20.0, false));
    assert!(r.switches.windows(2).all(|w| w[0].saving_usd >= w[1].saving_usd));
}

#[test]
fn reserved_capacity_and_volume_tiers_follow_the_spend() {
    let r = result();
    let b = &fixture().rows;
    let (model, cost) = (strings(b, "model"), floats(b, "cost_usd"));
    let factor = 30.0 / f64::from(r.window_days);
    let mut by_model: BTreeMap<&str, f64> = BTreeMap::new();
    for i in 0..b.num_rows() {
        *by_model.entry(model[i]).or_default() += cost[i];
    }
    let want: Vec<&str> = by_model
        .iter()
        .filter(|(_, c)| **c * factor > 100.0)
        .map(|(m, _)| *m)
        .collect();
    let mut got: Vec<&str> = r.reserved.iter().map(|x| x.model.as_str()).collect();
    got.sort();
    assert_eq!(got, want);
    for x in &r.reserved {
        assert_close(
            x.monthly_saving_usd,
            by_model[x.model.as_str()] * factor * 0.3,
            &x.model,
        );
    }
    // Tiers apply to each provider's own spend.
    let provider = strings(b, "provider");
    let mut by_provider: BTreeMap<&str, f64> = BTreeMap::new();
    for i in 0..b.num_rows() {
        *by_provider.entry(provider[i]).or_default() += cost[i] * factor;
    }
    let tiers = [(10000.0, 0.15), (5000.0, 0.10), (1000.0, 0.05)];
    let discount = |spend: f64| {
        tiers
            .iter()
            .find(|(min, _)| spend >= *min)
            .map_or(0.0, |(_, d)| spend * d)
    };
    assert_eq!(r.volume_discount.providers.len(), by_provider.len());
    for p in &r.volume_discount.providers {
        let spend = by_provider[p.provider.as_str()];
        assert_close(p.monthly_spend_usd, spend, &p.provider);
        assert_close(p.monthly_saving_usd, discount(spend), &p.provider);
    }
    let saving: f64 = by_provider.values().map(|&s| discount(s)).sum();
    assert_close(r.volume_discount.monthly_saving_usd, saving, "volume saving");
    assert_close(r.monthly_cost_usd, cost.iter().sum::<f64>() * factor, "monthly spend");
    // Consolidation is advised only when a move reaches a tier for a net gain.
    let advice = r.recommendations.iter().find(|x| x.title == "Volume tier within reach");
    match &r.volume_discount.consolidation {
        Some(c) => {
            let own = by_provider[c.to_provider.as_str()];
            let moved: f64 = c.from.iter().map(|(_, d)| d).sum();
            assert_close(moved, c.tier.min_spend - own, "moved spend reaches the tier");
            assert_close(c.moved_usd, moved, "moved");
            let mut after = by_provider.clone();
            for (p, d) in &c.from {
                *after.get_mut(p.as_str()).unwrap() -= d;
            }
            *after.get_mut(c.to_provider.as_str()).unwrap() += moved;
            let gain = after.values().map(|&s| discount(s)).sum::<f64>() - saving;
            assert!((c.net_monthly_gain_usd - gain).abs() < 1e-6 && gain > 0.0);
            assert!(advice.is_some());
        }
        None => assert!(advice.is_none()),
    }
    assert!(
        r.recommendations
            .iter()
            .all(|x| !x.action.contains("Consolidate spend with fewer providers")),
        "no blanket consolidation advice"
    );
}
