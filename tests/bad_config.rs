//! Bad input gets a message naming the file, the key and what is allowed; nothing is written.

mod common;

use std::fs;
use std::path::Path;

use common::*;

/// A copy of the shipped config in `dir`, with `edit` applied to one of its files.
fn config_with(dir: &Path, file: &str, edit: impl Fn(String) -> String) -> std::path::PathBuf {
    let cfg = dir.join("config");
    fs::create_dir_all(&cfg).unwrap();
    fs::create_dir_all(cfg.join("scenarios")).unwrap();
    let mut names: Vec<String> = ["default.toml", "catalogue.toml", "traffic.toml"]
        .map(String::from)
        .to_vec();
    for entry in fs::read_dir(repo().join("config/scenarios")).unwrap() {
        names.push(format!("scenarios/{}", entry.unwrap().file_name().to_string_lossy()));
    }
    for name in &names {
        let text = fs::read_to_string(repo().join("config").join(name)).unwrap();
        let text = if name == file { edit(text.clone()) } else { text };
        fs::write(cfg.join(name), text).unwrap();
    }
    cfg.join("default.toml")
}

/// Runs generate with a broken config and checks the message and that no output appeared.
fn rejects(file: &str, edit: impl Fn(String) -> String, expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with(dir.path(), file, edit);
    let out = dir.path().join("out");
    let mut run = run_bin([
        "generate".as_ref(),
        "--quiet".as_ref(),
        "--rows".as_ref(),
        "100".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ] as [&std::ffi::OsStr; 8])
    .failure();
    for needle in expected {
        run = run.stderr_has(needle);
    }
    assert!(!out.exists(), "nothing may be written for a bad config");
}

fn replace(from: &'static str, to: &'static str) -> impl Fn(String) -> String {
    move |text: String| {
        assert!(text.contains(from), "fixture text `{from}` not found");
        text.replacen(from, to, 1)
    }
}

#[test]
fn unknown_provider_in_the_weight_table() {
    rejects(
        "catalogue.toml",
        replace("cohere = 0.02\n", "cohere = 0.02\ndeepseek = 0.0\n"),
        &[
            "catalogue.toml",
            "market_weights.deepseek",
            "unknown provider `deepseek`",
            "allowed are",
            "openai",
        ],
    );
}

#[test]
fn weights_that_do_not_sum_to_one() {
    rejects(
        "catalogue.toml",
        replace("openai = 0.40", "openai = 0.50"),
        &["catalogue.toml", "`market_weights`", "sum to 1.1", "must sum to 1"],
    );
    rejects(
        "traffic.toml",
        replace("weight = 0.70", "weight = 0.60"),
        &["traffic.toml", "archetypes", "must sum to 1"],
    );
}

#[test]
fn negative_counts() {
    rejects(
        "default.toml",
        replace("days = 30", "days = -5"),
        &["default.toml", "`run.days`", "-5 is not allowed", "from 1 to"],
    );
    rejects(
        "traffic.toml",
        replace("count = 10", "count = -3"),
        &["traffic.toml", "`organizations.count`", "-3 is not allowed"],
    );
    rejects(
        "traffic.toml",
        replace("calls_per_day = [5, 20]", "calls_per_day = [-5, 20]"),
        &["traffic.toml", "archetypes.light.calls_per_day", "not allowed"],
    );
}

#[test]
fn a_model_listed_without_a_price() {
    rejects(
        "catalogue.toml",
        replace("\"command-r\" = { input = 0.0005, output = 0.0015 }\n", ""),
        &[
            "catalogue.toml",
            "providers.cohere.models",
            "model `command-r` has no price",
        ],
    );
}

#[test]
fn a_malformed_date() {
    rejects(
        "default.toml",
        replace("2025-01-01", "2025-13-45"),
        &[
            "default.toml",
            "`run.start_date`",
            "\"2025-13-45\" is not a date",
            "YYYY-MM-DD",
        ],
    );
}

#[test]
fn an_unknown_column() {
    rejects(
        "default.toml",
        replace("# columns = [", "columns = [\"timestamp\", \"cost_in_euros\"]\n# ["),
        &[
            "default.toml",
            "`run.columns`",
            "unknown column `cost_in_euros`",
            "allowed are timestamp, call_id",
        ],
    );
}

#[test]
fn unknown_keys_and_bad_values_elsewhere() {
    rejects(
        "default.toml",
        replace("seed = 42", "seed = 42\nsede = 1"),
        &["default.toml", "unknown field `sede`"],
    );
    rejects(
        "traffic.toml",
        replace("name = \"Asia/Tokyo\"", "name = \"Mars/Olympus\""),
        &["traffic.toml", "timezones[4].name", "unknown time zone `Mars/Olympus`"],
    );
    rejects(
        "traffic.toml",
        replace("timeout = 0.005", "timeout = 0.005\nteapot = 0.0"),
        &["traffic.toml", "statuses.teapot", "allowed are success, rate_limited"],
    );
    rejects(
        "default.toml",
        replace("scenario = \"base_traffic\"", "scenario = \"zombie_apocalypse\""),
        &["default.toml", "cohorts[0].scenario", "allowed are base_traffic"],
    );
    rejects(
        "default.toml",
        replace("target_size = \"50MiB\"", "target_size = \"50 parsecs\""),
        &["`run.target_size`", "not a size"],
    );
}

#[test]
fn missing_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run_bin([
        "generate".as_ref(),
        "--config".as_ref(),
        "no/such/plan.toml".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ] as [&std::ffi::OsStr; 5])
    .failure()
    .stderr_has("no/such/plan.toml: cannot read the file");
    assert!(!out.exists());
}

#[test]
fn bad_flags_name_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for (args, needle) in [
        (&["--shard", "5/4"][..], "--shard: \"5/4\" is not allowed"),
        (&["--format", "xlsx"][..], "--format: unknown format `xlsx`"),
        (&["--threads", "0"][..], "--threads: 0 is not allowed"),
        (&["--target-size", "lots"][..], "--target-size: \"lots\" is not a size"),
        (&["--columns", "timestamp,nope"][..], "--columns: unknown column `nope`"),
        (
            &["--start-date", "yesterday"][..],
            "--start-date: \"yesterday\" is not a date",
        ),
    ] {
        trafficsim(&out, args).failure().stderr_has(needle);
        assert!(!out.exists(), "{args:?} wrote output");
    }
}

#[test]
fn bad_scenarios_name_the_file_the_key_and_what_is_allowed() {
    rejects(
        "scenarios/burst_traffic.toml",
        replace("kind = \"burst\"", "kind = \"earthquake\""),
        &[
            "scenarios/burst_traffic.toml",
            "unknown variant `earthquake`",
            "seasonal",
            "day_multiplier",
        ],
    );
    rejects(
        "scenarios/burst_traffic.toml",
        replace("baseline = 1.0", "baseline = 1.0\nintensity = 3"),
        &[
            "scenarios/burst_traffic.toml",
            "unknown field `intensity`",
            "day_probability",
        ],
    );
    rejects(
        "scenarios/burst_traffic.toml",
        replace("multiplier = [5, 20]", "multiplier = [5, 2000]"),
        &[
            "scenarios/burst_traffic.toml",
            "`modifiers[0].multiplier`",
            "[5, 2000] is not allowed",
            "1 <= low <= high <= 1000",
        ],
    );
    rejects(
        "scenarios/model_migration.toml",
        replace("target_model = \"claude-sonnet-4\"", "target_model = \"gpt-7\""),
        &["`modifiers[0].target_model`", "unknown name `gpt-7`", "claude-sonnet-4"],
    );
    rejects(
        "scenarios/feature_launch.toml",
        replace("launch_day = 10", "launch_day = -2"),
        &[
            "scenarios/feature_launch.toml",
            "`modifiers[0].launch_day`",
            "day -2 is not allowed: days count from 0 (the start date) to 3660",
        ],
    );
    rejects(
        "scenarios/cost_optimization.toml",
        replace("cost_reduction_target = 0.70", "cost_reduction_target = 0.99"),
        &[
            "`modifiers[0].cost_reduction_target`",
            "0.99 is not reachable with this catalogue",
        ],
    );
    rejects(
        "scenarios/weekend_effect.toml",
        replace("name = \"weekend_effect\"", "name = \"burst_traffic\""),
        &[
            "weekend_effect.toml",
            "`name`",
            "scenario `burst_traffic` is already defined in",
        ],
    );
    rejects(
        "scenarios/gradual_decline.toml",
        replace("churn_share = 0.20", "churn_share = -0.2"),
        &["`modifiers[0].churn_share`", "-0.2 is out of range: allowed is 0 to 1"],
    );
}

#[test]
fn an_unknown_scenario_flag_lists_the_scenarios() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    trafficsim(&out, &["--rows", "100", "--scenario", "burst_trafic"])
        .failure()
        .stderr_has("--scenario: unknown scenario `burst_trafic`: allowed are base_traffic, burst_traffic");
    assert!(!out.exists());
}
