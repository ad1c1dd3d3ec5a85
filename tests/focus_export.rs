//! Issue 13, `trafficsim export focus`: the calls as a FOCUS 1.2 cost-and-usage dataset whose
//! totals equal the calls dataset's, whose list costs are quantity × unit price, and whose
//! Parquet and CSV files hold the same rows. (The FinOps Foundation's validator runs in
//! `scripts/focus_check.sh`.)

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::TimestampMicrosecondType;
use common::*;
use trafficsim::batch::focus::FOCUS_SCHEMA;
use trafficsim::sink::parquet::{PLAN_HASH_KEY, SEED_KEY, read_provenance};

/// A generated dataset (realistic profile, so every meter appears) and its FOCUS export.
fn exported(extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &["--rows", "20000", "--profile", "realistic"]);
    let (data, focus, config) = (dir.path().join("data"), dir.path().join("focus"), default_config());
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "export".as_ref(),
        "focus".as_ref(),
        "--input".as_ref(),
        data.as_os_str(),
        "--out".as_ref(),
        focus.as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    run_bin(args).success().stdout_has("exported");
    (dir, focus)
}

fn read_focus(path: &Path) -> RecordBatch {
    let batches: Vec<RecordBatch> = trafficsim::validate::read::read_dataset_as(path, &FOCUS_SCHEMA)
        .unwrap()
        .collect::<anyhow::Result<_>>()
        .unwrap();
    concat_batches(&FOCUS_SCHEMA, &batches).unwrap()
}

fn micros(x: f64) -> i64 {
    (x * 1e6).round() as i64
}

fn times(b: &RecordBatch, name: &str) -> Vec<i64> {
    b.column_by_name(name)
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>()
        .values()
        .to_vec()
}

#[test]
fn the_exports_totals_equal_the_calls_datasets() {
    let (dir, focus) = exported(&[]);
    let calls = read_all(&dir.path().join("data/calls"));
    let f = read_focus(&focus.join("focus_cost_and_usage.parquet"));
    assert!(f.num_rows() > 1000);

    // Cost: every call's cost_usd, to the micro-dollar.
    let (status, cost) = (strings(&calls, "status"), floats(&calls, "cost_usd"));
    let calls_micros: i64 = cost.iter().map(|&c| micros(c)).sum();
    let billed: i64 = floats(&f, "BilledCost").iter().map(|&c| micros(c)).sum();
    let effective: i64 = floats(&f, "EffectiveCost").iter().map(|&c| micros(c)).sum();
    assert_eq!(billed, calls_micros, "BilledCost adds up to cost_usd");
    assert_eq!(effective, calls_micros);

    // Tokens of the successful calls, by meter.
    let (input, cached, output) = (
        ints(&calls, "input_tokens"),
        ints(&calls, "cached_input_tokens"),
        ints(&calls, "output_tokens"),
    );
    let ok = |i: &usize| status[*i] == "success";
    let sum = |v: &[i64]| -> i64 { (0..calls.num_rows()).filter(ok).map(|i| v[i]).sum() };
    let mut by_meter: BTreeMap<&str, f64> = BTreeMap::new();
    let (meter, quantity) = (strings(&f, "SkuMeter"), floats(&f, "ConsumedQuantity"));
    for i in 0..f.num_rows() {
        *by_meter.entry(meter[i]).or_default() += quantity[i];
    }
    let tokens = |m: &str| by_meter.get(m).copied().unwrap_or(0.0) as i64;
    assert_eq!(tokens("Cache Read Tokens"), sum(&cached));
    assert!(tokens("Cache Read Tokens") > 0 && tokens("Cache Write Tokens") > 0);
    assert_eq!(
        tokens("Input Tokens") + tokens("Cache Write Tokens"),
        sum(&input) - sum(&cached)
    );
    assert_eq!(tokens("Output Tokens"), sum(&output));
    let billed_calls: i64 = (0..f.num_rows())
        .filter(|&i| meter[i] == "Output Tokens")
        .map(|i| {
            f.column_by_name("x_Calls")
                .unwrap()
                .as_primitive::<arrow::datatypes::Int64Type>()
                .value(i)
        })
        .sum();
    assert_eq!(billed_calls as usize, (0..calls.num_rows()).filter(ok).count());

    // List and contracted costs are quantity × unit price (FOCUS ListCost-C-009).
    let (pq, list_price, list_cost, contracted) = (
        floats(&f, "PricingQuantity"),
        floats(&f, "ListUnitPrice"),
        floats(&f, "ListCost"),
        floats(&f, "ContractedCost"),
    );
    for i in 0..f.num_rows() {
        assert_eq!(pq[i], quantity[i] / 1000.0);
        assert_eq!(list_cost[i], pq[i] * list_price[i], "row {i}");
        assert_eq!(contracted[i], list_cost[i]);
    }
    let list_total: f64 = list_cost.iter().sum();
    assert!((list_total - calls_micros as f64 / 1e6).abs() < 1e-6 * calls.num_rows() as f64);
}

#[test]
fn every_row_is_one_day_of_one_sku_sub_account_and_tag_set_in_a_calendar_month() {
    let (_dir, focus) = exported(&[]);
    let f = read_focus(&focus.join("focus_cost_and_usage.parquet"));
    let (start, end) = (times(&f, "ChargePeriodStart"), times(&f, "ChargePeriodEnd"));
    let (bill_start, bill_end) = (times(&f, "BillingPeriodStart"), times(&f, "BillingPeriodEnd"));
    let mut keys = std::collections::HashSet::new();
    let (sku, sub, tags, region) = (
        strings(&f, "SkuId"),
        strings(&f, "SubAccountId"),
        strings(&f, "Tags"),
        strings(&f, "RegionId"),
    );
    for i in 0..f.num_rows() {
        assert_eq!(end[i] - start[i], 86_400_000_000, "a day");
        assert!(
            bill_start[i] <= start[i] && end[i] <= bill_end[i],
            "inside its billing period"
        );
        let month = chrono::DateTime::from_timestamp_micros(bill_start[i]).unwrap();
        assert_eq!(
            month.format("%d %H:%M:%S").to_string(),
            "01 00:00:00",
            "a month starts on the 1st"
        );
        let tag: serde_json::Value = serde_json::from_str(tags[i]).unwrap();
        for key in ["customer", "product", "feature", "environment"] {
            assert!(tag[key].is_string(), "Tags has {key}: {}", tags[i]);
        }
        assert!(
            keys.insert((start[i], sku[i], sub[i], tags[i], region[i])),
            "one row per key"
        );
    }
    for (name, value) in [
        ("ChargeCategory", "Usage"),
        ("ServiceCategory", "AI and Machine Learning"),
        ("BillingCurrency", "USD"),
        ("PricingUnit", "1000 Tokens"),
        ("ConsumedUnit", "Tokens"),
    ] {
        assert!(strings(&f, name).iter().all(|v| *v == value), "{name} = {value}");
    }
    assert_eq!(f.column_by_name("ChargeClass").unwrap().null_count(), f.num_rows());
    // Claude on Bedrock: provided and invoiced by AWS, published by Anthropic.
    let (model_sku, provider, publisher, issuer) = (
        strings(&f, "SkuId"),
        strings(&f, "ProviderName"),
        strings(&f, "PublisherName"),
        strings(&f, "InvoiceIssuerName"),
    );
    let bedrock = (0..f.num_rows())
        .find(|&i| model_sku[i].starts_with("bedrock/claude-v2/"))
        .expect("Claude 2 on Bedrock is billed");
    assert_eq!(
        (provider[bedrock], publisher[bedrock], issuer[bedrock]),
        ("AWS", "Anthropic", "AWS")
    );
}

#[test]
fn parquet_and_csv_hold_the_same_rows_and_the_parquet_says_where_it_came_from() {
    let (dir, focus) = exported(&["--charge-period", "hour"]);
    let parquet = read_focus(&focus.join("focus_cost_and_usage.parquet"));
    let csv = read_focus(&focus.join("focus_cost_and_usage.csv"));
    assert_eq!(parquet.num_rows(), csv.num_rows());
    for field in FOCUS_SCHEMA.fields() {
        let name = field.name();
        assert_eq!(
            parquet.column_by_name(name).unwrap().as_ref(),
            csv.column_by_name(name).unwrap().as_ref(),
            "{name}"
        );
    }
    let (start, end) = (times(&parquet, "ChargePeriodStart"), times(&parquet, "ChargePeriodEnd"));
    assert!(
        (0..parquet.num_rows()).all(|i| end[i] - start[i] == 3_600_000_000),
        "hours"
    );
    let header = std::fs::read_to_string(focus.join("focus_cost_and_usage.csv")).unwrap();
    let first = header.lines().nth(1).unwrap();
    assert!(
        first.contains("T00:00:00Z,"),
        "FOCUS date/times: whole seconds and Z: {first}"
    );

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run_summary.json")).unwrap()).unwrap();
    let p = read_provenance(&focus.join("focus_cost_and_usage.parquet")).expect("provenance metadata");
    assert_eq!(p.seed, summary["seed"].as_u64().unwrap());
    assert_eq!(p.plan_hash, summary["plan_hash"].as_str().unwrap());
    assert!(!SEED_KEY.is_empty() && !PLAN_HASH_KEY.is_empty());
}

#[test]
fn data_priced_by_another_catalogue_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &["--rows", "2000"]);
    // The same run plan, with one price changed.
    let config = tempfile::tempdir().unwrap();
    run_bin(["init".as_ref(), config.path().as_os_str()]).success();
    let catalogue = config.path().join("config/catalogue.toml");
    let text = std::fs::read_to_string(&catalogue).unwrap();
    let changed = text.replace(
        "\"gpt-4\" = { input = 0.03, output = 0.06 }",
        "\"gpt-4\" = { input = 0.02, output = 0.06 }",
    );
    assert_ne!(text, changed);
    std::fs::write(&catalogue, changed).unwrap();
    let out = dir.path().join("focus");
    run_bin([
        "export".as_ref(),
        "focus".as_ref(),
        "--input".as_ref(),
        dir.path().join("data").as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--config".as_ref(),
        config.path().join("config/default.toml").as_os_str(),
    ])
    .failure()
    .stderr_has("cost other than the catalogue prices them (first on model `gpt-4`)");
    assert!(!out.join("focus_cost_and_usage.csv").exists(), "nothing written");
}

#[test]
fn the_export_is_the_same_bytes_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &["--rows", "20000", "--profile", "realistic"]);
    let outs = ["1", "2"].map(|threads| {
        let out = dir.path().join(format!("focus-{threads}"));
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_trafficsim"))
            .args(["export", "focus", "--config"])
            .arg(default_config())
            .arg("--input")
            .arg(dir.path().join("data"))
            .arg("--out")
            .arg(&out)
            .env("POLARS_MAX_THREADS", threads)
            .status()
            .unwrap();
        assert!(status.success());
        out
    });
    assert_same_files(&outs[0], &outs[1], "exports with 1 and 2 Polars threads");
}
