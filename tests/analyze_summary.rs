//! The executive summary atop the index: the five figures come first, equal the figures of the
//! pages they summarize, and link to sections those pages have; a page left out by `--only`
//! leaves its figure out and says so.

mod analyze_support;
mod common;

use analyze_support::{analyze, fixture, process_dir, result_in};
use trafficsim::analyze::decisions::DecisionsResult;
use trafficsim::analyze::profitability::ProfitabilityResult;
use trafficsim::analyze::rate_optimization::RateResult;
use trafficsim::analyze::summary::ExecutiveSummary;
use trafficsim::analyze::understanding::UnderstandingResult;
use trafficsim::report::html::Severity;

fn value(s: &ExecutiveSummary, key: &str) -> f64 {
    let item = s
        .items
        .iter()
        .find(|i| i.key == key)
        .unwrap_or_else(|| panic!("item {key}"));
    item.figure
        .as_ref()
        .unwrap_or_else(|| panic!("{key} has a figure"))
        .value
}

#[test]
fn five_figures_first_on_the_index_each_linked_to_its_evidence() {
    let f = fixture();
    let s: ExecutiveSummary = f.typed("executive_summary");
    let keys: Vec<&str> = s.items.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["spend", "forecast", "margin", "savings", "risks"]);

    let manifest: trafficsim::report::manifest::Manifest = serde_json::from_str(&f.read("manifest.json")).unwrap();
    assert_eq!(
        manifest.executive_summary.as_deref(),
        Some("results/executive_summary.json")
    );
    let index = f.read("index.html");
    let summary_at = index
        .find("id=\"executive-summary\"")
        .expect("the summary is on the index");
    let first_report = index.find("class=\"report\"").expect("report cards");
    assert!(summary_at < first_report, "the summary comes before the reports");
    for item in &s.items {
        assert!(item.evidence.available, "{}", item.key);
        let (page, anchor) = item.evidence.href.split_once('#').unwrap();
        assert!(
            index.contains(&format!("href=\"{}\"", item.evidence.href)),
            "{}",
            item.key
        );
        let html = f.read(page);
        assert!(html.contains(&format!("id=\"{anchor}\"")), "{page} has #{anchor}");
        let display = &item.figure.as_ref().unwrap().display;
        assert!(index.contains(display.as_str()), "{} shows {display}", item.key);
    }
}

#[test]
fn the_figures_are_the_pages_figures() {
    let f = fixture();
    let s: ExecutiveSummary = f.typed("executive_summary");
    let u: UnderstandingResult = f.typed("understanding");
    let p: ProfitabilityResult = f.typed("profitability");
    let r: RateResult = f.typed("rate_optimization");
    let d: DecisionsResult = f.typed("decisions");
    assert_eq!(value(&s, "spend"), u.totals.cost_usd);
    let month = u
        .forecast
        .horizons
        .iter()
        .find(|h| h.days == 30)
        .expect("a 30-day horizon");
    assert_eq!(value(&s, "forecast"), month.expected);
    assert_eq!(value(&s, "margin"), p.totals.margin_pct);
    let best = r.scenarios.iter().map(|x| x.monthly_saving_usd).fold(0.0, f64::max);
    assert_eq!(value(&s, "savings"), best);
    let urgent = d
        .alerts
        .iter()
        .filter(|a| a.recommendation.severity >= Severity::High)
        .count();
    assert_eq!(value(&s, "risks"), urgent as f64);
}

#[test]
fn a_page_left_out_leaves_its_figure_out() {
    let f = fixture();
    let reports = process_dir("only").join("reports");
    analyze(&f.data, &reports, &["--only", "understanding,token_economics"]).success();
    let s: ExecutiveSummary = serde_json::from_value(result_in(&reports, "executive_summary")).unwrap();
    for item in &s.items {
        let ran = item.evidence.page == "understanding";
        assert_eq!(item.evidence.available, ran, "{}", item.key);
        assert_eq!(item.figure.is_some(), ran, "{}", item.key);
        if !ran {
            assert!(item.detail.contains("did not run"), "{}", item.detail);
        }
    }
    let index = std::fs::read_to_string(reports.join("index.html")).unwrap();
    assert!(
        !index.contains("profitability.html#"),
        "no link to a page that is not there"
    );
}
