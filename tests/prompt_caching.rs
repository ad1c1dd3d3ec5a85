//! Issue 13, prompt caching: the `cached_input_tokens` column, its prices and cost formula, the
//! `realistic` traffic profile, and the rate-optimization page's cache hit rate and savings,
//! each checked against an independent fold over the rows.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use trafficsim::analyze::caching::CacheUsage;
use trafficsim::config::load_catalogue;

/// The calls dataset's columns before prompt caching, in order.
const COLUMNS_BEFORE: &str = "timestamp,call_id,provider,model,input_tokens,output_tokens,cost_usd,latency_ms,customer_id,\
subscription_tier,organization_id,product_id,feature_id,task_type,environment,request_id,trace_id,session_id,user_agent,\
total_tokens,status,region,tier_price_usd,customer_archetype,scenario,timezone";

fn catalogue() -> trafficsim::sim::calls::catalogue::Catalogue {
    load_catalogue(&repo().join("config/catalogue.toml")).unwrap()
}

/// Successful calls' (input, cached) tokens, summed over all calls and over calls to models
/// that cache.
fn hit_rates(rows: &arrow::array::RecordBatch) -> (f64, f64) {
    let cat = catalogue();
    let (status, model) = (strings(rows, "status"), strings(rows, "model"));
    let (input, cached) = (ints(rows, "input_tokens"), ints(rows, "cached_input_tokens"));
    let (mut all, mut all_cached, mut caching, mut caching_cached) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..rows.num_rows() {
        if status[i] != "success" {
            continue;
        }
        all += input[i];
        all_cached += cached[i];
        if cat.caches(cat.model_index(model[i]).unwrap()) {
            caching += input[i];
            caching_cached += cached[i];
        }
    }
    (all_cached as f64 / all as f64, caching_cached as f64 / caching as f64)
}

/// The rate-optimization page of the data generated in `dir`: its caching figures and its HTML.
fn rate_page(dir: &Path) -> (CacheUsage, String) {
    let reports = dir.join("reports");
    run_bin([
        "analyze".as_ref(),
        "--input".as_ref(),
        dir.join("data").as_os_str(),
        "--out".as_ref(),
        reports.as_os_str(),
        "--only".as_ref(),
        "rate_optimization".as_ref(),
    ])
    .success();
    let json = std::fs::read_to_string(reports.join("results/rate_optimization.json")).unwrap();
    let result: serde_json::Value = serde_json::from_str(&json).unwrap();
    let page = std::fs::read_to_string(reports.join("rate_optimization.html")).unwrap();
    (serde_json::from_value(result["caching"].clone()).unwrap(), page)
}

#[test]
fn with_caching_off_the_first_26_columns_are_todays_and_the_new_one_is_zero() {
    let full = tempfile::tempdir().unwrap();
    let before = tempfile::tempdir().unwrap();
    generate(full.path(), &["--rows", "20000", "--format", "csv"]);
    generate(
        before.path(),
        &["--rows", "20000", "--format", "csv", "--columns", COLUMNS_BEFORE],
    );
    let text = std::fs::read_to_string(full.path().join("data/simulated_calls.csv")).unwrap();
    let old = std::fs::read_to_string(before.path().join("data/simulated_calls.csv")).unwrap();
    let cut: Vec<&str> = text
        .lines()
        .map(|l| l.rsplit_once(',').expect("27 columns").0)
        .collect();
    assert_eq!(cut.join("\n") + "\n", old, "26 columns, byte for byte");
    assert!(text.lines().next().unwrap().ends_with(",cached_input_tokens"));
    let rows = read_all(&full.path().join("data/simulated_calls.csv"));
    assert!(ints(&rows, "cached_input_tokens").iter().all(|&c| c == 0));
    // And the cost is the documents' formula, to the bit.
    let cat = catalogue();
    let (model, status, cost) = (
        strings(&rows, "model"),
        strings(&rows, "status"),
        floats(&rows, "cost_usd"),
    );
    let (input, output) = (ints(&rows, "input_tokens"), ints(&rows, "output_tokens"));
    for i in 0..rows.num_rows() {
        let m = &cat.models[cat.model_index(model[i]).unwrap()];
        let docs = trafficsim::sim::calls::catalogue::round6(
            input[i] as f64 * m.input_per_1k / 1000.0 + output[i] as f64 * m.output_per_1k / 1000.0,
        );
        assert_eq!(cost[i], if status[i] == "success" { docs } else { 0.0 }, "row {i}");
    }
}

#[test]
fn the_realistic_profile_reads_most_input_of_caching_models_from_the_cache_and_costs_follow_the_prices() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &["--rows", "30000", "--profile", "realistic"]);
    let rows = read_all(&dir.path().join("data/calls"));
    let (all, caching) = hit_rates(&rows);
    assert!(
        caching > 0.5,
        "cache reads are most of the input of models that cache: {caching}"
    );
    assert!(all > 0.2 && all < caching, "{all}");
    let cat = catalogue();
    let (model, status) = (strings(&rows, "model"), strings(&rows, "status"));
    let (input, cached, output, cost) = (
        ints(&rows, "input_tokens"),
        ints(&rows, "cached_input_tokens"),
        ints(&rows, "output_tokens"),
        floats(&rows, "cost_usd"),
    );
    let mut checked_writes = 0;
    for i in 0..rows.num_rows() {
        let mi = cat.model_index(model[i]).unwrap();
        let m = &cat.models[mi];
        if status[i] != "success" || !cat.caches(mi) {
            assert_eq!(
                cached[i], 0,
                "row {i}: no cache read on a failed call or a model without caching"
            );
            continue;
        }
        assert!((0..=input[i]).contains(&cached[i]), "row {i}");
        if cached[i] > 0 {
            // Reads at the read price; the rest written at the write price where there is one.
            let write = m.cache_write_per_1k.unwrap_or(m.input_per_1k);
            let expected = ((input[i] - cached[i]) as f64 * write
                + cached[i] as f64 * m.cache_read_per_1k.unwrap()
                + output[i] as f64 * m.output_per_1k)
                / 1000.0;
            assert!(
                (cost[i] - expected).abs() < 1.5e-6,
                "row {i}: {} vs {expected}",
                cost[i]
            );
            checked_writes += usize::from(m.cache_write_per_1k.is_some());
        }
    }
    assert!(checked_writes > 100, "Anthropic's write price is exercised");
    run_bin(["validate".as_ref(), dir.path().join("data/calls").as_os_str()])
        .success()
        .stdout_has("cached_tokens");
}

#[test]
fn the_rate_optimization_page_shows_the_hit_rate_and_savings_of_a_fold_over_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &["--rows", "30000", "--profile", "realistic"]);
    let (c, page) = rate_page(dir.path());

    // The fold: successful calls, tokens at the catalogue's input and output prices.
    let rows = read_all(&dir.path().join("data/calls"));
    let cat = catalogue();
    let (model, status, task) = (
        strings(&rows, "model"),
        strings(&rows, "status"),
        strings(&rows, "task_type"),
    );
    let (input, cached, output, cost) = (
        ints(&rows, "input_tokens"),
        ints(&rows, "cached_input_tokens"),
        ints(&rows, "output_tokens"),
        floats(&rows, "cost_usd"),
    );
    let (mut n, mut cached_calls, mut tokens, mut reads, mut billed, mut uncached) =
        (0u64, 0u64, 0i64, 0i64, 0i64, 0.0);
    let mut task_saving: BTreeMap<&str, f64> = BTreeMap::new();
    for i in 0..rows.num_rows() {
        if status[i] != "success" {
            continue;
        }
        let m = &cat.models[cat.model_index(model[i]).unwrap()];
        // A call that read nothing from a cache saved nothing; one that did, its tokens at the
        // full input price less what it was billed.
        let full = if cached[i] > 0 {
            (input[i] as f64 * m.input_per_1k + output[i] as f64 * m.output_per_1k) / 1000.0
        } else {
            cost[i]
        };
        n += 1;
        cached_calls += u64::from(cached[i] > 0);
        tokens += input[i];
        reads += cached[i];
        billed += (cost[i] * 1e6).round() as i64;
        uncached += full;
        *task_saving.entry(task[i]).or_default() += full - cost[i];
    }
    let (hit, caching_hit) = hit_rates(&rows);
    assert_eq!(c.calls, n);
    assert_eq!(c.cached_calls, cached_calls);
    assert_eq!(c.input_tokens, tokens);
    assert_eq!(c.cached_input_tokens, reads);
    assert!((c.hit_rate - hit).abs() < 1e-12);
    assert!((c.caching_model_hit_rate - caching_hit).abs() < 1e-12);
    assert!((c.cost_usd - billed as f64 / 1e6).abs() < 1e-6);
    let tolerance = 1e-9 * uncached + 1e-6;
    assert!(
        (c.uncached_cost_usd - uncached).abs() < tolerance,
        "{} vs {uncached}",
        c.uncached_cost_usd
    );
    assert!((c.saving_usd - (uncached - billed as f64 / 1e6)).abs() < tolerance);
    assert!(c.saving_usd > 0.0 && c.saving_share > 0.0);
    for g in &c.by_task {
        assert!(
            (g.saving_usd - task_saving[g.name.as_str()]).abs() < tolerance,
            "{}",
            g.name
        );
    }
    let by_model: f64 = c.by_model.iter().map(|g| g.saving_usd).sum();
    assert!((by_model - c.saving_usd).abs() < tolerance);

    // The page shows them.
    assert!(page.contains("Prompt caching"));

    // With caching off, nothing was read and nothing saved, exactly.
    let off = tempfile::tempdir().unwrap();
    generate(off.path(), &["--rows", "5000"]);
    let (off, _) = rate_page(off.path());
    assert_eq!((off.cached_input_tokens, off.saving_usd, off.hit_rate), (0, 0.0, 0.0));
    assert_eq!(off.uncached_cost_usd, off.cost_usd);
    for figure in trafficsim::analyze::caching::figures(&c) {
        assert!(
            page.contains(&figure.display),
            "the page shows {} = {}",
            figure.label,
            figure.display
        );
    }
}

#[test]
fn a_wrong_cached_count_fails_validation() {
    let dir = tempfile::tempdir().unwrap();
    generate(
        dir.path(),
        &["--rows", "3000", "--format", "csv", "--profile", "realistic"],
    );
    let path = dir.path().join("data/simulated_calls.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    // Row 1 claims more cached tokens than its whole prompt.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let (head, _) = lines[1].rsplit_once(',').unwrap();
    lines[1] = format!("{head},99999");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    run_bin(["validate".as_ref(), path.as_os_str()])
        .failure()
        .stdout_has("cached_tokens")
        .stdout_has("cached_input_tokens 99999");
}

#[test]
fn profiles_are_checked_against_the_traffic_file() {
    let dir = tempfile::tempdir().unwrap();
    trafficsim(dir.path(), &["--rows", "100", "--profile", "nope"])
        .failure()
        .stderr_has("--profile: unknown profile `nope`: allowed are realistic");
    run_bin([
        "generate",
        "--config",
        repo().join("config/ticketing.toml").to_str().unwrap(),
        "--rows",
        "100",
        "--profile",
        "realistic",
    ])
    .failure()
    .stderr_has("--profile");
    assert!(!Path::new(&dir.path().join("data")).exists(), "nothing written");
}
