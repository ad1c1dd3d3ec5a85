//! The ticketing reports as files, held to what the FinOps pages are held to: the manifest names
//! every page and each exists and links the others, every SVG is well-formed XML, nothing is
//! fetched from the network, the output is byte-identical at any thread count, and text from the
//! user (a skip's reason) is escaped on the page.

mod analyze_support;
mod common;
mod ticketing_analyze_support;
mod ticketing_support;

use std::fs;

use common::{assert_page_stands_alone, assert_reports_linked, assert_same_files};
use ticketing_analyze_support::{analyze, check, fixture};
use trafficsim::analyze::CHECKS_TABLE;
use trafficsim::report::manifest::Manifest;

fn manifest(reports: &std::path::Path) -> Manifest {
    serde_json::from_str(&fs::read_to_string(reports.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn the_manifest_names_every_page_then_the_checks_and_each_exists() {
    let f = fixture();
    let m = manifest(&f.reports);
    let names: Vec<&str> = m.reports.iter().map(|r| r.name.as_str()).collect();
    // The Replay page is there only with --replay (tests/replay.rs).
    let mut want: Vec<&str> = trafficsim::analyze::ticketing::ANALYZERS
        .iter()
        .map(|r| r.name)
        .filter(|n| *n != "replay")
        .collect();
    want.push(CHECKS_TABLE);
    assert_eq!(
        names, want,
        "one page per registered analyzer, in order, then the checks"
    );
    assert_reports_linked(&f.reports, &m);
}

#[test]
fn every_svg_parses_as_xml_and_pages_need_no_network() {
    let f = fixture();
    let mut charts = 0;
    for r in &manifest(&f.reports).reports {
        charts += assert_page_stands_alone(&r.path, &f.read(&r.path));
    }
    assert!(charts >= 15, "the ticketing pages embed charts ({charts})");
    assert_page_stands_alone("index.html", &f.read("index.html"));
}

#[test]
fn one_thread_gives_byte_identical_reports() {
    let f = fixture();
    let again = f.root.join("reports-one-thread");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trafficsim"))
        .args(["analyze", "--input"])
        .arg(&f.data)
        .arg("--out")
        .arg(&again)
        .arg("--config")
        .arg(ticketing_support::ticketing_config())
        .env("SOURCE_DATE_EPOCH", ticketing_analyze_support::PINNED_EPOCH)
        .env("POLARS_MAX_THREADS", "1")
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_same_files(&f.reports, &again, "the default thread count against one thread");
}

#[test]
fn a_skip_reason_is_escaped_on_the_checks_page_and_the_skipped_checks_say_skip() {
    let f = fixture();
    let text = fs::read_to_string(common::repo().join("config/analysis.toml")).unwrap();
    let settings = f.root.join("skip-analysis.toml");
    let reason = "<b>baseline</b> rules & not a model";
    let skip = format!("skip = [{{ check = \"fraud.*\", reason = \"{reason}\" }}]");
    assert!(text.contains("skip = []"), "the shipped config skips nothing");
    fs::write(&settings, text.replace("skip = []", &skip)).unwrap();
    let out = f.root.join("reports-skip");
    analyze(&f.data, &out, &["--analysis", settings.to_str().unwrap()]).success();
    let page = fs::read_to_string(out.join("checks.html")).unwrap();
    assert!(
        page.contains("&lt;b&gt;baseline&lt;/b&gt; rules &amp; not a model"),
        "the reason is escaped"
    );
    assert!(!page.contains("<b>baseline"), "no markup from the settings");
    let checks: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("results/checks.json")).unwrap()).unwrap();
    let all = checks["checks"].as_array().expect("a list of checks");
    let fraud: Vec<&serde_json::Value> = all
        .iter()
        .filter(|c| c["name"].as_str().unwrap().starts_with("fraud."))
        .collect();
    assert!(fraud.len() >= 2, "fraud.recall and fraud.precision at least");
    for c in &fraud {
        assert_eq!(c["status"], "SKIP", "{}", c["name"]);
    }
    assert_eq!(checks["skipped"].as_u64(), Some(fraud.len() as u64));
    // The same skip in `check`: printed, counted, and not a failure by itself.
    let run = check(&f.data, &["--analysis", settings.to_str().unwrap()]);
    assert!(run.stdout.contains("SKIP"), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("{} skipped", fraud.len())),
        "{}",
        run.stdout
    );
}
