//! The reports as files: every page the manifest names exists and links back, every SVG is
//! well-formed XML, nothing is fetched from the network, the output is reproducible, CSV and
//! Parquet give the same results, bad settings fail with a clear message, and `run` does it all.

mod analyze_support;
mod common;

use std::fs;

use analyze_support::{PINNED_EPOCH, analyze, fixture};
use common::{assert_page_stands_alone, assert_reports_linked, assert_same_files, default_config, files_under, svgs};
use trafficsim::report::manifest::Manifest;

fn manifest() -> Manifest {
    serde_json::from_str(&fixture().read("manifest.json")).unwrap()
}

#[test]
fn the_manifest_names_every_page_and_each_exists() {
    let f = fixture();
    let m = manifest();
    assert_eq!(m.generated_at, "2025-02-01T00:00:00Z", "the pinned clock");
    assert_eq!(m.rows.to_string(), analyze_support::ROWS);
    assert_eq!(m.seed.map(|s| s.to_string()).as_deref(), Some(analyze_support::SEED));
    assert_eq!(m.source.format, "parquet");
    assert_eq!(m.window.days, 30);
    let names: Vec<&str> = m.reports.iter().map(|r| r.name.as_str()).collect();
    // The Replay page is there only with --replay.
    let registry: Vec<&str> = trafficsim::analyze::ANALYZERS
        .iter()
        .map(|r| r.name)
        .filter(|n| *n != "replay")
        .collect();
    assert_eq!(names, registry, "one report per registered analyzer, in order");
    assert_reports_linked(&f.reports, &m);
    for r in &m.reports {
        assert!(m.config.settings.contains_key(&r.name), "settings of {}", r.name);
    }
    let mut want: Vec<String> = vec!["index.html".into(), "manifest.json".into()];
    for r in &m.reports {
        want.push(r.path.clone());
        want.push(r.result.clone());
    }
    want.extend(m.executive_summary.clone());
    want.sort();
    let got: Vec<String> = files_under(&f.reports)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "html" || e == "json"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert_eq!(got, want);
}

#[test]
fn every_svg_parses_as_xml_and_pages_need_no_network() {
    let f = fixture();
    let mut charts = 0;
    for r in &manifest().reports {
        charts += assert_page_stands_alone(&r.path, &f.read(&r.path));
    }
    assert!(charts >= 10, "the pages embed charts ({charts})");
}

#[test]
fn the_same_data_gives_byte_identical_reports() {
    let f = fixture();
    let again = f.root.join("reports-again");
    analyze(&f.data, &again, &[]).success();
    assert_same_files(&f.reports, &again, "two runs of the same data");
}

#[test]
fn csv_and_parquet_give_the_same_results() {
    let f = fixture();
    let out = f.root.join("reports-csv");
    analyze(&f.data.join("simulated_calls.csv"), &out, &[])
        .success()
        .stdout_has(format!("analyzed {} rows (1 csv file(s)", analyze_support::ROWS));
    let csv: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("results/understanding.json")).unwrap()).unwrap();
    assert_eq!(csv, f.result("understanding"));
}

#[test]
fn bad_settings_fail_before_reading_data_and_name_the_key() {
    let f = fixture();
    let text = fs::read_to_string(common::repo().join("config/analysis.toml")).unwrap();
    let bad = f.root.join("bad-analysis.toml");
    fs::write(
        &bad,
        text.replace("provider_concentration = 0.70", "provider_concentration = 1.5"),
    )
    .unwrap();
    let missing_data = f.root.join("no-such-data");
    analyze(&missing_data, &f.root.join("r"), &["--analysis", bad.to_str().unwrap()])
        .failure()
        .stderr_has(
            "bad-analysis.toml: `understanding.provider_concentration`: 1.5 is out of range: allowed is 0 to 1",
        );
    fs::write(&bad, text.replace("[understanding]", "[understandin]")).unwrap();
    analyze(&f.data, &f.root.join("r"), &["--analysis", bad.to_str().unwrap()])
        .failure()
        .stderr_has("`understandin`: unknown table");
    analyze(&missing_data, &f.root.join("r"), &[])
        .failure()
        .stderr_has("no-such-data: no such file or directory");
    assert!(!f.root.join("r").exists(), "nothing written on failure");
}

#[test]
fn the_churn_detector_is_set_in_one_table() {
    let f = fixture();
    let text = fs::read_to_string(common::repo().join("config/analysis.toml")).unwrap();
    let bad = f.root.join("churn-analysis.toml");
    let missing_data = f.root.join("no-such-data");
    // The churn page reads `[decisions]`' keys, and checks them even when it runs alone.
    fs::write(&bad, text.replace("churn_p_value = 0.001", "churn_p_value = 0.9")).unwrap();
    analyze(
        &missing_data,
        &f.root.join("r"),
        &["--analysis", bad.to_str().unwrap(), "--only", "churn_growth"],
    )
    .failure()
    .stderr_has(
        "churn-analysis.toml: `decisions.churn_p_value`: 0.9 is out of range: allowed is 0.000000000001 to 0.5",
    );
    // A second copy under `[churn_growth]` is refused, not silently ignored.
    fs::write(
        &bad,
        text.replace("min_days = 14\n", "min_days = 14\nchurn_p_value = 0.001\n"),
    )
    .unwrap();
    analyze(&missing_data, &f.root.join("r"), &["--analysis", bad.to_str().unwrap()])
        .failure()
        .stderr_has("unknown field `churn_p_value`");
    assert!(!f.root.join("r").exists(), "nothing written on failure");
}

#[test]
fn run_generates_then_analyzes() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trafficsim"))
        .args(["run", "--rows", "3000", "--days", "7", "--quiet", "--config"])
        .arg(default_config())
        .arg("--out")
        .arg(dir.path())
        .env("SOURCE_DATE_EPOCH", PINNED_EPOCH)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("generated 3000 rows") && stdout.contains("analyzed 3000 rows"),
        "{stdout}"
    );
    let m: Manifest =
        serde_json::from_str(&fs::read_to_string(dir.path().join("reports/manifest.json")).unwrap()).unwrap();
    assert_eq!(m.window.days, 7);
    for r in &m.reports {
        assert!(dir.path().join("reports").join(&r.path).is_file());
    }
}

/// A page with the machine-dependent fixture path replaced.
fn normalized(rel: &str) -> String {
    let f = fixture();
    f.read(rel)
        .replace(&f.data.join("calls").display().to_string(), "[DATA]/calls")
}

#[test]
fn snapshot_of_the_overview_page() {
    // The page's own content (the navigation and the index change with every analyzer added).
    let page = normalized("overview.html");
    let main = &page[page.find("<main>").unwrap()..page.find("</main>").unwrap() + "</main>".len()];
    insta::assert_snapshot!("overview_page_main", main);
}

#[test]
fn snapshot_of_the_daily_cost_chart() {
    let page = normalized("understanding.html");
    let svg = svgs(&page)
        .into_iter()
        .find(|s| s.contains("Daily cost, fit and 30-day forecast"))
        .expect("the daily cost chart");
    insta::assert_snapshot!("understanding_daily_cost_svg", svg);
}

#[test]
fn only_runs_the_named_analyzers() {
    let f = fixture();
    let out = f.root.join("reports-only");
    analyze(&f.data, &out, &["--only", "understanding,overview"]).success();
    let m: Manifest = serde_json::from_str(&fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let names: Vec<&str> = m.reports.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["overview", "understanding"], "registry order");
    assert_eq!(
        fs::read_to_string(out.join("results/understanding.json")).unwrap(),
        f.read("results/understanding.json"),
        "the same result as in a full run"
    );
    analyze(&f.data, &out, &["--only", "understandin"])
        .failure()
        .stderr_has("--only: unknown analyzer `understandin`: allowed are overview, understanding");
}
