//! Bad ticketing config gets a message naming the file, the key and what is allowed; it exits
//! with code 1 and writes nothing.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;

/// Copies `from` (a directory) into `to`, recursively.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap();
        }
    }
}

/// A copy of `config/ticketing.toml` and `config/ticketing/` in `dir`, with `from` replaced by
/// `to` once in `file` (relative to the copied `config/`). Returns the copied run plan.
fn config_with(dir: &Path, file: &str, from: &str, to: &str) -> PathBuf {
    let cfg = dir.join("config");
    fs::create_dir_all(&cfg).unwrap();
    fs::copy(repo().join("config/ticketing.toml"), cfg.join("ticketing.toml")).unwrap();
    copy_dir(&repo().join("config/ticketing"), &cfg.join("ticketing"));
    let path = cfg.join(file);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(text.contains(from), "fixture text `{from}` not found in {file}");
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
    cfg.join("ticketing.toml")
}

/// Runs generate with the edited config; checks exit code 1, that stderr holds every `expected`
/// fragment, and that nothing was written.
fn rejects(file: &str, from: &str, to: &str, expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with(dir.path(), file, from, to);
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
    assert!(
        !out.join("data").exists(),
        "a bad config must not create {}/data",
        out.display()
    );
    assert!(
        !out.exists() || files_under(&out).is_empty(),
        "a bad config wrote {:?}",
        files_under(&out)
    );
}

#[test]
fn persona_shares_that_do_not_sum_to_one() {
    rejects(
        "ticketing/catalogue.toml",
        "[personas.casual]\nshare = 0.50",
        "[personas.casual]\nshare = 0.60",
        &[
            "ticketing/catalogue.toml: `personas`",
            "weights sum to 1.1",
            "they must sum to 1",
        ],
    );
}

#[test]
fn a_tier_split_over_one_hundred_percent() {
    rejects(
        "ticketing/catalogue.toml",
        "[tiers.VIP]\nshare = 0.10",
        "[tiers.VIP]\nshare = 0.20",
        &[
            "ticketing/catalogue.toml: `tiers`",
            "the tier shares sum to 1.1 (110.0%)",
            "they must sum to at most 1",
        ],
    );
}

#[test]
fn a_negative_venue_capacity() {
    rejects(
        "ticketing/catalogue.toml",
        "capacity = 68000",
        "capacity = -5",
        &[
            "ticketing/catalogue.toml: `venues[0].capacity`",
            "-5 is not allowed",
            "a whole number from 1 to 1000000",
        ],
    );
}

#[test]
fn an_unknown_scenario_in_the_run_plan() {
    rejects(
        "ticketing.toml",
        "scenario = \"fraud_attack\"",
        "scenario = \"fraud_atack\"",
        &[
            "ticketing.toml: `cohorts[2].scenario`",
            "unknown scenario `fraud_atack`",
            "allowed are ab_pricing_test, black_friday, flash_sale, fraud_attack",
            "everyday_sales",
        ],
    );
}

#[test]
fn an_unknown_modifier_kind_lists_the_kinds() {
    rejects(
        "ticketing/scenarios/flash_sale.toml",
        "kind = \"flash_sale\"",
        "kind = \"flash_sail\"",
        &[
            "ticketing/scenarios/flash_sale.toml",
            "kind = \"flash_sail\"",
            "unknown variant `flash_sail`",
            "expected one of `flash_sale`, `attack`, `drift`, `degradation`, `ab_test`, `black_friday`",
        ],
    );
}

#[test]
fn a_flash_sale_phase_with_a_negative_rate() {
    rejects(
        "ticketing/scenarios/flash_sale.toml",
        "{ seconds = 120, rate = 500 }",
        "{ seconds = 120, rate = -500 }",
        &[
            "ticketing/scenarios/flash_sale.toml: `modifiers[0].phases[0].rate`",
            "-500 is out of range",
            "allowed is 0 to",
            "(modifier `flash_sale`)",
        ],
    );
}

#[test]
fn an_unknown_workload_lists_the_workloads() {
    rejects(
        "ticketing.toml",
        "workload = \"ticketing\"",
        "workload = \"tickets\"",
        &[
            "ticketing.toml: `workload`",
            "unknown workload `tickets`",
            "allowed are calls, ticketing",
        ],
    );
}

#[test]
fn a_model_probability_out_of_range() {
    rejects(
        "ticketing/model.toml",
        "dynamic_share = 0.5",
        "dynamic_share = 1.5",
        &[
            "ticketing/model.toml: `orders.dynamic_share`",
            "1.5 is out of range",
            "allowed is 0 to 1",
        ],
    );
}
