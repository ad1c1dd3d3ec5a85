//! Rate optimization: switches name catalogue models only and reprice the rows' own tokens at
//! catalogue prices; reserved capacity and volume tiers follow the spend.

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
    let text = std::fs::read_to_string(common::repo().join("config/analysis.toml")).unwrap();
    for s in &r.switches {
        let to = catalogue.model_index(&s.to_model).expect("target is a catalogue model");
        assert!(catalogue.model_index(&s.from_model).is_some());
        assert_eq!(catalogue.providers[catalogue.models[to].provider].name, s.to_provider);
        let (calls, i, o, c) = usage[&(s.task_type.as_str(), s.from_model.as_str())];
        let m = &catalogue.models[to];
        let after = i as f64 * m.input_per_1k / 1000.0 + o as f64 * m.output_per_1k / 1000.0;
        assert_eq!(s.calls, calls);
        assert_close(s.cost_usd, c, "cost before");
        assert_close(s.cost_after_usd, after, "cost after");
        assert!(s.saving_share >= 0.2, "{s:?}");
        // Both models sit in the same quality class line of the settings file.
        let class_line = text
            .lines()
            .skip_while(|l| !l.starts_with(&format!("{} = [", s.quality_class)))
            .take_while(|l| !l.starts_with(']'))
            .collect::<String>();
        for name in [&s.from_model, &s.to_model] {
            assert!(
                class_line.contains(&format!("\"{name}\"")),
                "{name} in class {}",
                s.quality_class
            );
        }
    }
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
    let monthly = cost.iter().sum::<f64>() * factor;
    assert_close(r.monthly_cost_usd, monthly, "monthly spend");
    let discount = [(10000.0, 0.15), (5000.0, 0.10), (1000.0, 0.05)]
        .iter()
        .find(|(min, _)| monthly >= *min)
        .map_or(0.0, |(_, d)| *d);
    assert_close(
        r.volume_discount.monthly_saving_usd,
        monthly * discount,
        "volume saving",
    );
}
