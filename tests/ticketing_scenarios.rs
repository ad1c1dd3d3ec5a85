//! Each ticketing scenario's defining shape, measured from its own rows: the flash sale's peak
//! second, bots and sell-out; each attack's rate and success; the drift per week; degradation
//! inside its windows only; the A/B test's true uplift; Black Friday's load; everyday fraud and
//! the platform's peak hours; and a risk score that ranks fraud well but not perfectly.

mod ticketing_support;

use std::collections::HashMap;

use ticketing_support::*;

#[test]
fn the_flash_sale_at_the_documents_scale_peaks_at_10000_a_second_with_30_percent_bots_and_sells_out() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &["--scenario", "flash_sale", "--format", "parquet"]);
    let t = transactions(
        dir.path(),
        &[
            "timestamp",
            "is_bot",
            "payment_status",
            "num_tickets",
            "tier",
            "persona",
        ],
    );
    let n = t.num_rows();
    // Three phases of 120 s at 500/s, 300 s at 10,000/s and 480 s at 2,000/s, each a wave with a
    // mean of 0.75 of its rate: about 3.0M attempts.
    assert!((2_900_000..3_150_000).contains(&n), "{n} attempts");
    let time = times_ms(&t, "timestamp");
    let per_second = counts(time.iter().map(|ms| ms / 1000));
    let peak = *per_second.values().max().unwrap();
    assert!((9_700..=10_600).contains(&peak), "peak second {peak}");
    let bots = bools(&t, "is_bot").iter().filter(|&&b| b).count() as f64 / n as f64;
    assert!((bots - 0.30).abs() < 0.015, "bot share {bots:.4}");

    // The event sells out, every tier, and sold never exceeds capacity.
    let events = table(dir.path(), "events");
    assert_eq!(events.num_rows(), 1);
    assert!(bools(&events, "is_mega_event")[0]);
    let status = str_vals(&t, "payment_status");
    let tickets = ints(&t, "num_tickets");
    let tier = str_vals(&t, "tier");
    for (i, name) in ["VIP", "Premium", "Standard"].iter().enumerate() {
        let cap = ints(&events, &format!("{}_capacity", name.to_lowercase()))[0];
        let sold: i64 = (0..n)
            .filter(|&r| status[r] == "completed" && tier[r] == *name)
            .map(|r| tickets[r])
            .sum();
        assert_eq!(sold, cap, "{name}: {sold} sold of {cap}");
        let out = times(&events, &format!("{}_sold_out_at", name.to_lowercase()))[0];
        assert!(out.is_some(), "{name} sells out");
        let _ = i;
    }
    let sold_out = status.iter().filter(|s| *s == "sold_out").count() as f64 / n as f64;
    assert!(
        sold_out > 0.5,
        "most of 3M attempts meet a sold-out event: {sold_out:.3}"
    );

    // The presale (its first phase) is for vip and enthusiast buyers only.
    let general = times(&events, "general_sale_at")[0].unwrap();
    let persona = str_vals(&t, "persona");
    let presale: Vec<&String> = (0..n).filter(|&r| time[r] < general).map(|r| &persona[r]).collect();
    assert!(presale.len() > 30_000, "{} presale attempts", presale.len());
    assert!(presale.iter().all(|p| *p == "vip" || *p == "enthusiast"));
}

#[test]
fn each_attack_runs_at_its_rate_with_its_success_rate_among_legitimate_traffic() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &["--scenario", "fraud_attack", "--format", "parquet"]);
    let t = transactions(
        dir.path(),
        &[
            "timestamp",
            "fraud_pattern",
            "payment_status",
            "is_fraud",
            "risk_score",
            "device_mismatch",
            "geo_mismatch",
        ],
    );
    let time = times_ms(&t, "timestamp");
    let pattern = strs(&t, "fraud_pattern");
    let status = str_vals(&t, "payment_status");
    let attacks: Vec<Label> = labels(dir.path()).into_iter().filter(|l| l.kind == "attack").collect();
    assert_eq!(attacks.len(), 3, "{attacks:?}");
    let mut total = 0;
    for l in &attacks {
        let rows: Vec<usize> = (0..t.num_rows())
            .filter(|&r| time[r] >= l.start && time[r] < l.end && pattern[r].as_deref() == Some(l.subject.as_str()))
            .collect();
        total += rows.len();
        let seconds = (l.end - l.start) as f64 / 1000.0;
        let rate = rows.len() as f64 / seconds;
        // Poisson counts: within 4 standard errors of the labelled rate.
        let tolerance = 4.0 * (l.magnitude / seconds).sqrt() + 0.01 * l.magnitude;
        assert!(
            (rate - l.magnitude).abs() < tolerance,
            "{}: {rate:.2}/s against {}/s",
            l.subject,
            l.magnitude
        );
        // Success: completed among the attempts that met seats (sold_out ones never reached a decision).
        let decided: Vec<usize> = rows.iter().copied().filter(|&r| status[r] != "sold_out").collect();
        let completed = decided.iter().filter(|&&r| status[r] == "completed").count() as f64;
        let success: f64 = l
            .detail
            .split("success rate ")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .and_then(|s| s.parse().ok())
            .expect("the label states the success rate");
        let p = completed / decided.len() as f64;
        let se = (success * (1.0 - success) / decided.len() as f64).sqrt();
        assert!(
            decided.len() > 200,
            "{}: {} attempts met seats",
            l.subject,
            decided.len()
        );
        assert!(
            (p - success).abs() < 4.0 * se + 0.01,
            "{}: success {p:.4} against {success}",
            l.subject
        );
    }
    assert!(total >= 1_000, "{total} attack attempts");

    // Mixed into legitimate traffic that sometimes looks risky: neither an indicator nor the
    // score separates fraud perfectly.
    let fraud = bools(&t, "is_fraud");
    let legit = fraud.iter().filter(|f| !**f).count();
    assert!(legit > t.num_rows() / 3, "{legit} legitimate rows");
    let dm = bools(&t, "device_mismatch");
    let gm = bools(&t, "geo_mismatch");
    assert!((0..t.num_rows()).any(|r| !fraud[r] && dm[r]) && (0..t.num_rows()).any(|r| !fraud[r] && gm[r]));
    assert!(
        (0..t.num_rows()).any(|r| fraud[r] && !dm[r] && !gm[r]),
        "some fraud looks clean"
    );
    let a = auc(&floats(&t, "risk_score"), &fraud);
    assert!(a > 0.6 && a < 0.99, "risk AUC {a:.3}");
}

#[test]
fn drift_shifts_basket_size_persona_mix_and_channels_by_the_weekly_level() {
    let dir = tempfile::tempdir().unwrap();
    generate(
        dir.path(),
        &["--scenario", "gradual_drift", "--rows", "300000", "--format", "parquet"],
    );
    let t = transactions(
        dir.path(),
        &["timestamp", "persona", "num_tickets", "device_type", "is_fraud"],
    );
    let drift: Vec<Label> = labels(dir.path()).into_iter().filter(|l| l.kind == "drift").collect();
    assert_eq!(
        drift.iter().map(|l| l.magnitude).collect::<Vec<_>>(),
        vec![0.0, 0.33, 0.67, 1.0]
    );
    let time = times_ms(&t, "timestamp");
    let persona = str_vals(&t, "persona");
    let tickets = ints(&t, "num_tickets");
    let device = str_vals(&t, "device_type");
    let fraud = bools(&t, "is_fraud");
    let week = |l: &Label| -> Vec<usize> {
        (0..t.num_rows())
            .filter(|&r| time[r] >= l.start && time[r] < l.end)
            .collect()
    };
    let stats = |rows: &[usize]| {
        let casual: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|&r| persona[r] == "casual" && !fraud[r])
            .collect();
        let basket = casual.iter().map(|&r| tickets[r] as f64).sum::<f64>() / casual.len() as f64;
        let scalpers = rows.iter().filter(|&&r| persona[r] == "scalper" && !fraud[r]).count() as f64;
        let mix = scalpers / casual.len() as f64;
        let mobile = rows.iter().filter(|&&r| device[r] == "mobile").count() as f64 / rows.len() as f64;
        (basket, mix, mobile)
    };
    let base = stats(&week(&drift[0]));
    for l in &drift[1..] {
        let (basket, mix, mobile) = stats(&week(l));
        let level = l.magnitude;
        // Basket: casual buyers' mean tickets grow by half at level 1.
        let want = 1.0 + 0.5 * level;
        assert!(
            (basket / base.0 - want).abs() < 0.06,
            "level {level}: basket ×{:.3}, want ×{want}",
            basket / base.0
        );
        // Persona mix: scalpers ×2 and casual buyers ×0.6 at level 1.
        let want = (1.0 + level) / (1.0 - 0.4 * level);
        let got = mix / base.1;
        assert!(
            (got / want - 1.0).abs() < 0.12,
            "level {level}: scalpers per casual ×{got:.3}, want ×{want:.3}"
        );
        // Channels: a quarter more of the attempts on mobile at level 1 (of those not already).
        let want = base.2 + 0.25 * level * (1.0 - base.2);
        assert!(
            (mobile - want).abs() < 0.02,
            "level {level}: mobile {mobile:.3}, want {want:.3}"
        );
    }
}

#[test]
fn degradation_slows_and_fails_the_decision_service_inside_its_windows_only() {
    let dir = tempfile::tempdir().unwrap();
    generate(
        dir.path(),
        &[
            "--scenario",
            "system_degradation",
            "--rows",
            "400000",
            "--format",
            "parquet",
        ],
    );
    let t = transactions(dir.path(), &["timestamp", "decision_latency_ms", "api_status"]);
    let windows: Vec<Label> = labels(dir.path())
        .into_iter()
        .filter(|l| l.kind == "degradation")
        .collect();
    assert_eq!(windows.len(), 3);
    let time = times_ms(&t, "timestamp");
    let latency = ints(&t, "decision_latency_ms");
    let api = ints(&t, "api_status");
    let inside = |r: usize| windows.iter().position(|l| time[r] >= l.start && time[r] < l.end);
    let median = |mut v: Vec<i64>| {
        v.sort_unstable();
        v[v.len() / 2] as f64
    };
    let outside: Vec<usize> = (0..t.num_rows())
        .filter(|&r| inside(r).is_none() && api[r] == 200)
        .collect();
    let base = median(outside.iter().map(|&r| latency[r]).collect());
    assert!((30.0..48.0).contains(&base), "median latency outside {base}");
    let errors_outside = (0..t.num_rows())
        .filter(|&r| inside(r).is_none() && api[r] == 503)
        .count() as f64
        / (0..t.num_rows()).filter(|&r| inside(r).is_none()).count() as f64;
    assert!(
        errors_outside < 0.003,
        "503 share outside the windows {errors_outside:.4}"
    );
    for (w, l) in windows.iter().enumerate() {
        let rows: Vec<usize> = (0..t.num_rows()).filter(|&r| inside(r) == Some(w)).collect();
        assert!(rows.len() > 300, "window {w}: {} rows", rows.len());
        let ok: Vec<i64> = rows.iter().filter(|&&r| api[r] == 200).map(|&r| latency[r]).collect();
        let ratio = median(ok) / base;
        // Calls over the timeout become 504s, which trims the top of a ×10 window's latencies.
        assert!(
            (ratio / l.magnitude - 1.0).abs() < 0.2,
            "window {w}: latency ×{ratio:.2}, want ×{}",
            l.magnitude
        );
        let rate: f64 = l
            .detail
            .split("error rate ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .unwrap()
            .parse()
            .unwrap();
        let errors = rows.iter().filter(|&&r| api[r] == 503).count() as f64 / rows.len() as f64;
        let se = (rate * (1.0 - rate) / rows.len() as f64).sqrt();
        assert!(
            (errors - rate - 0.001).abs() < 4.0 * se + 0.003,
            "window {w}: 503 share {errors:.4}, want {rate}"
        );
    }
}

#[test]
fn the_ab_test_recovers_its_true_conversion_uplift_within_sampling_error() {
    let dir = tempfile::tempdir().unwrap();
    generate(
        dir.path(),
        &[
            "--scenario",
            "ab_pricing_test",
            "--rows",
            "600000",
            "--format",
            "parquet",
        ],
    );
    let t = transactions(
        dir.path(),
        &[
            "timestamp",
            "ab_variant",
            "payment_status",
            "is_fraud",
            "api_status",
            "price_multiplier",
        ],
    );
    let label = labels(dir.path())
        .into_iter()
        .find(|l| l.kind == "ab_test")
        .expect("an A/B label");
    let variant = strs(&t, "ab_variant");
    let status = str_vals(&t, "payment_status");
    let fraud = bools(&t, "is_fraud");
    let api = ints(&t, "api_status");
    let time = times_ms(&t, "timestamp");
    let mut kept: HashMap<&str, (f64, f64)> = HashMap::new();
    for r in 0..t.num_rows() {
        // Variants exist inside the test only.
        let inside = time[r] >= label.start && time[r] < label.end;
        assert_eq!(variant[r].is_some(), inside, "row {r}");
        let Some(v) = variant[r].as_deref() else { continue };
        if fraud[r] || status[r] == "sold_out" || api[r] == 429 {
            continue;
        }
        let e = kept
            .entry(if v == "treatment" { "treatment" } else { "control" })
            .or_default();
        e.0 += 1.0;
        if status[r] != "abandoned" {
            e.1 += 1.0;
        }
    }
    let (na, ka) = kept["control"];
    let (nb, kb) = kept["treatment"];
    let (pa, pb) = (ka / na, kb / nb);
    let uplift = pb / pa - 1.0;
    // The standard error of a ratio of two independent shares.
    let se = ((pa * (1.0 - pa) / na) / (pa * pa) + (pb * (1.0 - pb) / nb) / (pb * pb)).sqrt() * (pb / pa);
    assert!(
        label.magnitude < -0.02,
        "a 10% price rise costs conversion: {}",
        label.magnitude
    );
    assert!(
        (uplift - label.magnitude).abs() < 4.0 * se,
        "measured uplift {uplift:.4} ± {se:.4}, true {}",
        label.magnitude
    );
}

#[test]
fn black_friday_brings_its_load_and_discounts_on_its_day() {
    let dir = tempfile::tempdir().unwrap();
    generate(
        dir.path(),
        &["--scenario", "black_friday", "--rows", "200000", "--format", "parquet"],
    );
    let t = transactions(dir.path(), &["timestamp", "price_multiplier"]);
    let label = labels(dir.path())
        .into_iter()
        .find(|l| l.kind == "black_friday")
        .unwrap();
    let time = times_ms(&t, "timestamp");
    let m = floats(&t, "price_multiplier");
    let on = (0..t.num_rows())
        .filter(|&r| time[r] >= label.start && time[r] < label.end)
        .count() as f64;
    // The same weekday a week earlier (both Fridays).
    let before = (0..t.num_rows())
        .filter(|&r| time[r] >= label.start - 7 * DAY_MS && time[r] < label.end - 7 * DAY_MS)
        .count() as f64;
    let ratio = on / before;
    assert!(
        (ratio / label.magnitude - 1.0).abs() < 0.35,
        "Black Friday ×{ratio:.2}, label ×{}",
        label.magnitude
    );
    for r in 0..t.num_rows() {
        if time[r] >= label.start && time[r] < label.end {
            assert!(
                (0.6..=0.85).contains(&m[r]),
                "row {r}: multiplier {} on Black Friday",
                m[r]
            );
        }
    }
}

#[test]
fn everyday_traffic_has_about_3_percent_fraud_and_the_platforms_peak_hours() {
    let dir = tempfile::tempdir().unwrap();
    generate(
        dir.path(),
        &[
            "--scenario",
            "normal_traffic",
            "--rows",
            "200000",
            "--format",
            "parquet",
        ],
    );
    let t = transactions(dir.path(), &["timestamp", "is_fraud"]);
    let fraud = bools(&t, "is_fraud").iter().filter(|&&f| f).count() as f64 / t.num_rows() as f64;
    assert!((0.02..0.045).contains(&fraud), "fraud share {fraud:.4}");
    let hours = counts(times_ms(&t, "timestamp").iter().map(|&ms| riyadh_hour(ms)));
    let mean = |hs: &[i64]| hs.iter().map(|h| hours[h] as f64).sum::<f64>() / hs.len() as f64;
    let ratio = mean(&[12, 13, 18, 19, 20]) / mean(&[2, 3, 4, 5, 6]);
    // The document's peak multiplier is 10; sale openings (10:00-20:00) add to the day's hours.
    assert!((7.0..16.0).contains(&ratio), "peak hours ×{ratio:.2} the night hours");
}

#[test]
fn the_risk_score_alone_ranks_fraud_well_but_not_perfectly() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &["--format", "parquet"]);
    let t = transactions(dir.path(), &["risk_score", "is_fraud"]);
    let a = auc(&floats(&t, "risk_score"), &bools(&t, "is_fraud"));
    assert!(a > 0.65 && a < 0.95, "ROC AUC of risk_score {a:.4}");
}
