//! Issue 12, "Analyze foreign data": the seed-era CSV, the original generator's CSV and LiteLLM's
//! spend logs (through `--columns-map litellm`) are analyzed; pages whose columns the data lacks
//! say so, the rest run, and their figures equal an independent fold over the fixture's rows
//! (`tests/fixtures/foreign/`, written by `make_fixtures.py`). And every analyzer runs on exactly
//! the columns it declares.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use common::*;
use polars::prelude::*;
use trafficsim::analyze::adapt::map;
use trafficsim::analyze::dataset::{CALLS_DATASET, open, open_with};
use trafficsim::analyze::{ANALYZERS, Columns, NotRun};
use trafficsim::report::manifest::Manifest;

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/foreign").join(name)
}

/// The rows of a fixture CSV as header → value maps (quoted fields as the CSV writer quotes them).
fn rows(name: &str) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    let mut lines = text.lines().map(split_csv);
    let header = lines.next().unwrap();
    lines
        .map(|fields| header.iter().cloned().zip(fields).collect())
        .collect()
}

fn split_csv(line: &str) -> Vec<String> {
    let (mut out, mut field, mut quoted, mut chars) = (Vec::new(), String::new(), false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    out.push(field);
    out
}

fn micros(usd: &str) -> i64 {
    (usd.parse::<f64>().unwrap() * 1e6).round() as i64
}

fn time(text: &str) -> NaiveDateTime {
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .unwrap_or_else(|| panic!("{text}"))
}

/// `analyze --input FILE --out DIR` plus `args`, from the repository root.
fn analyze(input: &Path, out: &Path, args: &[&str]) -> Run {
    let mut all = vec![
        "analyze".to_string(),
        "--input".into(),
        input.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ];
    all.extend(args.iter().map(|a| a.to_string()));
    run_bin_in(Some(&repo()), all)
}

fn manifest(reports: &Path) -> Manifest {
    serde_json::from_str(&std::fs::read_to_string(reports.join("manifest.json")).unwrap()).unwrap()
}

fn result(reports: &Path, name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(reports.join(format!("results/{name}.json"))).unwrap()).unwrap()
}

fn ran(m: &Manifest) -> Vec<&str> {
    m.reports.iter().map(|r| r.name.as_str()).collect()
}

fn not_run(m: &Manifest) -> BTreeMap<&str, Vec<&str>> {
    m.not_run
        .iter()
        .map(|n: &NotRun| (n.name.as_str(), n.missing.iter().map(String::as_str).collect()))
        .collect()
}

/// Rows per calendar day of the timestamps as written (zone-less, read as UTC).
fn rows_per_day(rows: &[BTreeMap<String, String>], column: &str) -> Vec<(String, u64)> {
    let mut days: BTreeMap<String, u64> = BTreeMap::new();
    for r in rows {
        *days.entry(time(&r[column]).date().to_string()).or_default() += 1;
    }
    days.into_iter().collect()
}

fn overview_days(reports: &Path) -> Vec<(String, u64)> {
    result(reports, "overview")["rows_per_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["date"].as_str().unwrap().to_string(), d["rows"].as_u64().unwrap()))
        .collect()
}

/// (name → (calls, cost in micro-dollars)) of a result's list of cost groups.
fn groups(v: &serde_json::Value) -> BTreeMap<String, (u64, i64)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let cost = (g["cost_usd"].as_f64().unwrap() * 1e6).round() as i64;
            (
                g["name"].as_str().unwrap().to_string(),
                (g["calls"].as_u64().unwrap(), cost),
            )
        })
        .collect()
}

fn fold(rows: &[BTreeMap<String, String>], key: &str) -> BTreeMap<String, (u64, i64)> {
    let mut out: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    for r in rows {
        let e = out.entry(r[key].clone()).or_default();
        e.0 += 1;
        e.1 += micros(&r["cost_usd"]);
    }
    out
}

#[test]
fn the_original_generators_csv_runs_every_page_but_those_that_need_task_type_or_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let run = analyze(&fixture("original_generator.csv"), &reports, &[]).success();
    assert!(
        run.stderr
            .contains("note: performance: not run: the data has no task_type"),
        "{}",
        run.stderr
    );
    let m = manifest(&reports);
    assert_eq!(
        ran(&m),
        [
            "overview",
            "decisions",
            "organization",
            "profitability",
            "pricing",
            "features",
            "churn_growth"
        ]
    );
    assert_eq!(
        not_run(&m),
        BTreeMap::from([
            ("abuse", vec!["timezone"]),
            ("understanding", vec!["task_type"]),
            ("performance", vec!["task_type"]),
            ("rate_optimization", vec!["task_type"]),
            ("regional", vec!["task_type", "timezone"]),
            ("scenarios", vec!["scenario"]),
            ("token_economics", vec!["task_type"]),
        ])
    );
    let index = std::fs::read_to_string(reports.join("index.html")).unwrap();
    assert!(index.contains("not run: the data has no task_type"));
    assert!(index.contains("The timestamps carry no time zone: they are read as UTC."));
    // The page of an analyzer not run says which columns it lacks; it has no result.
    let page = std::fs::read_to_string(reports.join("performance.html")).unwrap();
    assert!(page.contains("not run: the data has no task_type"));
    assert!(!reports.join("results/performance.json").exists());
    assert_reports_linked(&reports, &m);

    // Figures equal an independent fold over the rows.
    let rows = rows("original_generator.csv");
    assert_eq!(m.rows, 300);
    assert_eq!(overview_days(&reports), rows_per_day(&rows, "timestamp"));
    let org = result(&reports, "organization");
    assert_eq!(groups(&org["by_organization"]), fold(&rows, "organization_id"));
    assert_eq!(groups(&org["by_product"]), fold(&rows, "product_id"));
    let total: i64 = rows.iter().map(|r| micros(&r["cost_usd"])).sum();
    assert_eq!(
        (org["totals"]["cost_usd"].as_f64().unwrap() * 1e6).round() as i64,
        total
    );
    // Foreign data is not checked against trafficsim's invariants.
    let overview = result(&reports, "overview");
    assert!(overview["invariants"].is_null());
    assert_eq!(overview["source"]["foreign"], true);
    assert_eq!(overview["distinct"]["customers"], 12);
}

#[test]
fn the_seed_era_csv_derives_total_tokens_and_needs_the_preset_to_count_successes() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, mapped) = (dir.path().join("bare"), dir.path().join("mapped"));
    analyze(&fixture("seed_era.csv"), &bare, &[]).success();
    let m = manifest(&bare);
    assert_eq!(ran(&m), ["overview"], "without a status, only the overview runs");
    let missing = not_run(&m);
    assert_eq!(missing["understanding"], ["status"]);
    assert_eq!(missing["decisions"], ["tier_price_usd"]);
    assert_eq!(
        missing["profitability"],
        ["customer_archetype", "tier_price_usd", "status"]
    );
    assert!(
        m.data_notes
            .contains(&"`total_tokens` is derived as input_tokens + output_tokens.".to_string()),
        "{:?}",
        m.data_notes
    );

    // The seed-era preset states that every logged call succeeded; then the usage pages run.
    analyze(&fixture("seed_era.csv"), &mapped, &["--columns-map", "seed-era"]).success();
    let m = manifest(&mapped);
    assert_eq!(
        ran(&m),
        [
            "overview",
            "understanding",
            "rate_optimization",
            "organization",
            "features",
            "token_economics"
        ]
    );
    // Performance counts latencies from the files themselves, which have no `status` column:
    // it is listed as not run with that error (the map's constant is not seen there yet).
    assert_eq!(
        not_run(&m).keys().copied().collect::<Vec<_>>(),
        [
            "abuse",
            "churn_growth",
            "decisions",
            "performance",
            "pricing",
            "profitability",
            "regional",
            "scenarios"
        ],
        "tier prices and archetypes are not assumed"
    );
    assert!(
        m.data_notes
            .iter()
            .any(|n| n == "`status` is the constant \"success\".")
    );
    let rows = rows("seed_era.csv");
    let u = result(&mapped, "understanding");
    let tokens: i64 = rows
        .iter()
        .map(|r| r["input_tokens"].parse::<i64>().unwrap() + r["output_tokens"].parse::<i64>().unwrap())
        .sum();
    assert_eq!(u["totals"]["total_tokens"].as_i64(), Some(tokens));
    assert_eq!(groups(&u["by_provider"]), fold(&rows, "provider"));
    let by_task: BTreeMap<String, (u64, i64)> = u["by_task"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let cost = (t["cost_usd"].as_f64().unwrap() * 1e6).round() as i64;
            (
                t["task_type"].as_str().unwrap().to_string(),
                (t["successful_calls"].as_u64().unwrap(), cost),
            )
        })
        .collect();
    assert_eq!(by_task, fold(&rows, "task_type"), "every call counted a success");
    assert_eq!(overview_days(&mapped), rows_per_day(&rows, "timestamp"));
}

/// The provider of a LiteLLM deployment URL, by its host (the test's own table).
fn provider_of(api_base: &str) -> &'static str {
    let host = api_base.split("//").nth(1).unwrap().split(['/', ':']).next().unwrap();
    match host {
        "api.openai.com" => "openai",
        "api.anthropic.com" => "anthropic",
        h if h.ends_with(".openai.azure.com") => "azure",
        h if h.starts_with("bedrock-runtime.") => "bedrock",
        h if h.ends_with("-aiplatform.googleapis.com") => "google",
        _ => "unknown",
    }
}

#[test]
fn litellm_spend_logs_map_onto_the_calls_schema_with_the_preset() {
    let logs = rows("litellm_spend_logs.csv");
    let path = map::resolve("litellm").unwrap();
    let m = map::load(&path).unwrap();
    let (source, frame) = open_with(&fixture("litellm_spend_logs.csv"), &CALLS_DATASET, Some(&m)).unwrap();
    assert!(source.foreign);
    let df = frame
        .select([
            col("call_id"),
            col("timestamp").dt().timestamp(TimeUnit::Microseconds).alias("t"),
            col("latency_ms"),
            col("cost_usd"),
            col("input_tokens"),
            col("output_tokens"),
            col("customer_id"),
            col("organization_id"),
            col("provider"),
            col("region"),
            col("status"),
        ])
        .collect()
        .unwrap();
    assert_eq!(df.height(), logs.len());
    let s = |c: &str| -> Vec<String> {
        df.column(c)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.unwrap_or("").to_string())
            .collect()
    };
    let i = |c: &str| -> Vec<i64> {
        let col = df.column(c).unwrap().cast(&DataType::Int64).unwrap();
        col.i64().unwrap().iter().map(|v| v.unwrap()).collect()
    };
    let cost: Vec<f64> = df
        .column("cost_usd")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .map(|v| v.unwrap())
        .collect();
    let (ids, customers, orgs, providers, regions, status) = (
        s("call_id"),
        s("customer_id"),
        s("organization_id"),
        s("provider"),
        s("region"),
        s("status"),
    );
    let (t, latency, input, output) = (i("t"), i("latency_ms"), i("input_tokens"), i("output_tokens"));
    for (k, r) in logs.iter().enumerate() {
        let (start, end) = (time(&r["startTime"]), time(&r["endTime"]));
        assert_eq!(ids[k], r["request_id"]);
        assert_eq!(t[k], start.and_utc().timestamp_micros(), "startTime read as UTC");
        assert_eq!(latency[k], (end - start).num_milliseconds(), "row {k}");
        // LiteLLM's own duration is from unrounded times: within the millisecond.
        assert!((latency[k] - r["request_duration_ms"].parse::<i64>().unwrap()).abs() <= 1);
        assert_eq!(cost[k], r["spend"].parse::<f64>().unwrap());
        assert_eq!(input[k], r["prompt_tokens"].parse::<i64>().unwrap());
        assert_eq!(output[k], r["completion_tokens"].parse::<i64>().unwrap());
        let customer = if r["end_user"].is_empty() {
            &r["user"]
        } else {
            &r["end_user"]
        };
        assert_eq!(&customers[k], customer);
        assert_eq!(orgs[k], r["team_id"]);
        assert_eq!(providers[k], provider_of(&r["api_base"]), "{}", r["api_base"]);
        let region = ["us-east-1", "eu-west-3", "europe-west4"]
            .into_iter()
            .find(|g| r["api_base"].contains(&format!(".{g}.")) || r["api_base"].contains(&format!("//{g}-")))
            .unwrap_or("unknown");
        assert_eq!(regions[k], region, "{}", r["api_base"]);
        assert_eq!(status[k], r["status"]);
    }
    assert!(
        providers.iter().any(|p| p == "unknown"),
        "the self-hosted model's provider is not guessed"
    );

    // Through the command line: the overview runs on it, the pages it lacks columns for say so.
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    analyze(
        &fixture("litellm_spend_logs.csv"),
        &reports,
        &["--columns-map", "litellm"],
    )
    .success();
    let man = manifest(&reports);
    assert_eq!(ran(&man), ["overview"]);
    assert_eq!(not_run(&man)["performance"], ["task_type"]);
    assert_eq!(not_run(&man)["features"], ["product_id", "feature_id"]);
    assert!(man.data_notes.contains(&"`cost_usd` is `spend`.".to_string()));
    assert!(
        man.data_notes
            .iter()
            .any(|n| n.starts_with("The timestamps carry no time zone: they are read as UTC (the map's"))
    );
    let overview = result(&reports, "overview");
    let distinct: BTreeSet<&String> = logs
        .iter()
        .map(|r| {
            if r["end_user"].is_empty() {
                &r["user"]
            } else {
                &r["end_user"]
            }
        })
        .collect();
    assert_eq!(overview["distinct"]["customers"].as_u64(), Some(distinct.len() as u64));
    let failures = logs.iter().filter(|r| r["status"] == "failure").count() as u64;
    let by_status: BTreeMap<String, u64> = overview["by_status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), s["rows"].as_u64().unwrap()))
        .collect();
    assert_eq!(by_status["failure"], failures);
    assert_eq!(by_status["success"], logs.len() as u64 - failures);
    assert_eq!(overview_days(&reports), rows_per_day(&logs, "startTime"));
}

#[test]
fn a_zone_from_the_map_moves_naive_timestamps_to_utc() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paris.toml");
    std::fs::write(
        &file,
        "naive_timezone = \"Europe/Paris\"\n[columns]\nstatus = \"status\"\n",
    )
    .unwrap();
    let m = map::load(&file).unwrap();
    let (_, frame) = open_with(&fixture("original_generator.csv"), &CALLS_DATASET, Some(&m)).unwrap();
    let df = frame
        .select([col("timestamp").dt().timestamp(TimeUnit::Microseconds).alias("t")])
        .collect()
        .unwrap();
    let got: Vec<i64> = df
        .column("t")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .map(|v| v.unwrap())
        .collect();
    let rows = rows("original_generator.csv");
    for (k, r) in rows.iter().enumerate() {
        // March 2025 before the 30th: Paris is UTC+1.
        let utc = time(&r["timestamp"]) - chrono::Duration::hours(1);
        assert_eq!(got[k], utc.and_utc().timestamp_micros());
    }
}

#[test]
fn bad_maps_name_the_file_the_key_and_what_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let logs = fixture("litellm_spend_logs.csv");
    let cases = [
        (
            "[columns]\ntimestamp = \"startTime\"\ncost = \"spend\"\n",
            "`columns.cost`: unknown column of the calls schema: allowed are timestamp, call_id",
        ),
        (
            "[columns]\ntimestamp = \"startTime\"\ncost_usd = \"spend_usd\"\n",
            "`columns.cost_usd`: column `spend_usd` is not in",
        ),
        (
            "[columns]\ntimestamp = \"startTime\"\ncost_usd = \"model\"\n",
            "`columns.cost_usd`: column `model` of",
        ),
        (
            "[columns]\ntimestamp = \"startTime\"\nlatency_ms = { column = \"request_duration_ms\", scale = \"x\" }\n",
            "`columns.latency_ms`: `scale` must be a number above 0",
        ),
        (
            "[columns]\ntimestamp = \"model\"\n",
            "`columns.timestamp`: column `model` of",
        ),
        (
            "zone = \"UTC\"\n[columns]\n",
            "`zone`: unknown key: allowed are description, naive_timezone, columns",
        ),
    ];
    for (k, (text, expected)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("map{k}.toml"));
        std::fs::write(&file, text).unwrap();
        let run = analyze(&logs, &dir.path().join("r"), &["--columns-map", file.to_str().unwrap()]).failure();
        assert!(
            run.stderr.contains(&file.display().to_string()),
            "names the map file: {}",
            run.stderr
        );
        assert!(run.stderr.contains(expected), "case {k}: {}", run.stderr);
    }
    let run = analyze(&logs, &dir.path().join("r"), &["--columns-map", "nope"]).failure();
    assert!(
        run.stderr
            .contains("no preset of that name: give a TOML file, or one of the presets litellm, seed-era")
    );
    // Without a map, LiteLLM's export has no `timestamp`: the error points at the presets.
    let run = analyze(&logs, &dir.path().join("r"), &[]).failure();
    assert!(run.stderr.contains("lacks column(s) timestamp"), "{}", run.stderr);
    assert!(run.stderr.contains("--columns-map FILE (presets: litellm, seed-era)"));
    assert!(!dir.path().join("r").exists(), "nothing written");
}

#[test]
fn every_analyzer_runs_on_exactly_the_columns_it_declares() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &["--rows", "6000", "--days", "14", "--format", "parquet"]);
    let (_, frame) = open(&dir.path().join("data"), &CALLS_DATASET).unwrap();
    for reg in ANALYZERS {
        let Columns::Only(columns) = reg.columns else {
            continue;
        };
        // The columns opening requires (the timestamp) come with every page's.
        let mut wanted: Vec<&str> = CALLS_DATASET.required.to_vec();
        wanted.extend(columns.iter().filter(|c| !CALLS_DATASET.required.contains(c)));
        let file = dir.path().join(format!("{}.parquet", reg.name));
        let mut df = frame
            .clone()
            .select(wanted.iter().map(|c| col(*c)).collect::<Vec<_>>())
            .collect()
            .unwrap();
        ParquetWriter::new(std::fs::File::create(&file).unwrap())
            .finish(&mut df)
            .unwrap();
        let reports = dir.path().join(format!("reports-{}", reg.name));
        analyze(&file, &reports, &["--only", reg.name]).success();
        assert_eq!(
            ran(&manifest(&reports)),
            [reg.name],
            "{} with only {columns:?}",
            reg.name
        );
    }
}
