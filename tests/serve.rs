//! Issue 11: `trafficsim serve` in-process on an ephemeral port: every route and its status
//! codes (the 409 included), traversal refused (raw, percent-encoded, a symlink out), the live
//! run's growing dataset and successive manifests, a clean stop, and bad input.

mod serve_support;

use std::fs;
use std::sync::Arc;

use hyper::StatusCode;
use serve_support::*;
use trafficsim::serve::gate::Gate;

/// A calls run and a ticketing run (with a page as `trafficsim replay` writes one) to serve.
fn two_report_trees(root: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (calls, ticketing) = (root.join("calls"), root.join("ticketing"));
    run_plan("config/default.toml", &calls, &["--rows", "3000", "--days", "3"]);
    run_plan("config/ticketing.toml", &ticketing, &["--rows", "3000", "--days", "14"]);
    fs::write(
        ticketing.join("reports/replay.html"),
        "<html><body><h1>Replay</h1></body></html>",
    )
    .unwrap();
    (calls, ticketing)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_with_its_status_code() {
    let dir = tempfile::tempdir().unwrap();
    let (calls, ticketing) = two_report_trees(dir.path());
    let config = repo().join("config/default.toml");
    let tree = format!("ticketing={}", ticketing.join("reports").display());
    let flags = [
        "--config",
        config.to_str().unwrap(),
        "--out",
        calls.to_str().unwrap(),
        "--rows",
        "3000",
        "--days",
        "3",
        "--bind",
        "127.0.0.1:0",
        "--reports",
        &tree,
    ];
    let jobs = Arc::new(Gate::default());
    let server = start(settings(&flags), None, Some(jobs.clone())).await;
    let addr = server.addr();
    assert_ne!(addr.port(), 0);

    // The report files, with the live panel added only to what is served.
    let root = get(addr, "/").await;
    assert_eq!(
        (root.status, root.header("location")),
        (StatusCode::SEE_OTHER, "/calls/")
    );
    assert_eq!(get(addr, "/calls").await.header("location"), "/calls/");
    let on_disk = fs::read_to_string(calls.join("reports/index.html")).unwrap();
    assert!(!on_disk.contains("trafficsim-live") && !on_disk.contains("<script"));
    for path in ["/calls/", "/calls/index.html"] {
        let page = get(addr, path).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
        assert_eq!(page.header("cache-control"), "no-cache");
        let text = page.text();
        assert!(text.contains("id=\"trafficsim-live\"") && text.contains("fetch('/api/status'"));
        assert!(
            text.contains("Dataset: 3 of 3 days"),
            "the panel says where the data is"
        );
        assert_eq!(
            text.replace(
                &text[text.find("<div id=\"trafficsim-live\"").unwrap()..text.find("</script>").unwrap() + 9],
                ""
            ),
            on_disk
        );
    }
    let head = send(addr, "HEAD", "/calls/index.html", &[], "").await;
    assert_eq!((head.status, head.body.len()), (StatusCode::OK, 0));
    let manifest = get(addr, "/calls/manifest.json").await;
    assert_eq!(
        (manifest.status, manifest.header("content-type")),
        (StatusCode::OK, "application/json")
    );
    assert_eq!(manifest.body, fs::read(calls.join("reports/manifest.json")).unwrap());
    assert_eq!(get(addr, "/calls/results/overview.json").await.status, StatusCode::OK);
    for path in [
        "/ticketing/",
        "/ticketing/fraud.html",
        "/ticketing/replay.html",
        "/ticketing/results/checks.json",
    ] {
        assert_eq!(get(addr, path).await.status, StatusCode::OK, "{path}");
    }

    // Nothing outside a tree: `..` raw and percent-encoded, a separator hidden in an escape,
    // hidden and unfinished files, kinds not served, a symlink pointing out.
    fs::write(calls.join("reports/notes.bin"), "x").unwrap();
    fs::write(calls.join("reports/manifest.json.inprogress"), "{").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(calls.join("run_summary.json"), calls.join("reports/leak.json")).unwrap();
    for path in [
        "/calls/../run_summary.json",
        "/calls/%2e%2e/run_summary.json",
        "/calls/%2E%2E/run_summary.json",
        "/calls/..%2frun_summary.json",
        "/calls/results/..%2f..%2frun_summary.json",
        "/calls/results%2f..%2f..%2frun_summary.json",
        "/calls/..%5crun_summary.json",
        "/calls/.%2e/.%2e/calls/run_summary.json",
        "/calls/leak.json",
        "/calls/notes.bin",
        "/calls/manifest.json.inprogress",
        "/calls/results",
        "/calls/missing.html",
        "/elsewhere/index.html",
    ] {
        let r = get(addr, path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text());
        assert!(!r.text().contains("\"seed\""), "{path} leaked the run summary");
    }
    assert_eq!(get(addr, "/calls/%ff.html").await.status, StatusCode::BAD_REQUEST);

    // Methods: GET, HEAD, POST only; POST only where it means something.
    for (method, path) in [
        ("PUT", "/calls/index.html"),
        ("DELETE", "/api/status"),
        ("OPTIONS", "/"),
    ] {
        let r = send(addr, method, path, &[], "").await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(r.header("allow"), "GET, HEAD, POST");
    }
    let json = [("content-type", "application/json")];
    assert_eq!(
        send(addr, "POST", "/calls/index.html", &json, "{}").await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        send(addr, "POST", "/api/status", &json, "{}").await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    let unknown = get(addr, "/api/nothing").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.json()["error"].as_str().unwrap().contains("/api/nothing"));

    // The status: the dataset (without what an unfinished generation left), the target, the
    // reports.
    fs::create_dir_all(calls.join("data/calls.inprogress/date=2025-01-01")).unwrap();
    fs::write(
        calls.join("data/calls/date=2025-01-02/part-00000.parquet.inprogress"),
        "torn",
    )
    .unwrap();
    let s = status(addr).await;
    let m = &s["mounts"][0];
    assert_eq!(
        (m["name"].as_str(), m["url"].as_str()),
        (Some("calls"), Some("/calls/"))
    );
    assert_eq!(m["dataset"]["rows"], 3000);
    assert_eq!(
        (m["dataset"]["days"].as_u64(), m["target"]["days"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(
        m["dataset"]["leftovers"],
        serde_json::json!([
            "calls/date=2025-01-02/part-00000.parquet.inprogress",
            "calls.inprogress"
        ])
    );
    assert!(
        m["dataset"]["note"]
            .as_str()
            .unwrap()
            .contains("left by a generation that is running or was interrupted")
    );
    assert_eq!(m["progress"]["days"], 1.0);
    assert_eq!(m["reports"]["rows"], 3000);
    assert_eq!(m["reports"]["stale"], false);
    assert_eq!(m["reports"]["pages"].as_array().unwrap().len(), 14);
    assert_eq!(s["mounts"][1]["name"], "ticketing");
    assert_eq!(s["analysis"]["running"], serde_json::Value::Null);
    assert_eq!(s["live"], serde_json::Value::Null);

    // Requests a foreign page could make, and bad bodies.
    let foreign = send(addr, "POST", "/api/analyze", &[("content-type", "text/plain")], "{}").await;
    assert_eq!(foreign.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let origin = [("content-type", "application/json"), ("origin", "http://evil.example")];
    assert_eq!(
        send(addr, "POST", "/api/analyze", &origin, "{}").await.status,
        StatusCode::FORBIDDEN
    );
    let rebound = send(addr, "GET", "/api/status", &[("host", "evil.example")], "").await;
    assert_eq!(rebound.status, StatusCode::FORBIDDEN, "DNS rebinding");
    let cases = [
        (r#"{"only": ["nope"]}"#, StatusCode::BAD_REQUEST, "allowed are overview"),
        (r#"{"only": []}"#, StatusCode::BAD_REQUEST, "`only` is empty"),
        (r#"{"bogus": 1}"#, StatusCode::BAD_REQUEST, "unknown field"),
        ("only overview", StatusCode::BAD_REQUEST, "is not {"),
        (r#"{"reports": "nope"}"#, StatusCode::NOT_FOUND, "no report tree `nope`"),
    ];
    for (body, code, message) in cases {
        let r = analyze(addr, body).await;
        assert_eq!(r.status, code, "{body}: {}", r.text());
        assert!(
            r.json()["error"].as_str().unwrap().contains(message),
            "{body}: {}",
            r.text()
        );
    }
    let big = format!(r#"{{"only": ["{}"]}}"#, "x".repeat(20_000));
    assert_eq!(analyze(addr, &big).await.status, StatusCode::PAYLOAD_TOO_LARGE);

    // One analysis at a time: the second request gets 409 and the running one's id.
    let first = analyze(addr, r#"{"only": ["overview"]}"#).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.text());
    let id = first.json()["id"].as_u64().unwrap();
    let busy = analyze(addr, "{}").await;
    assert_eq!(busy.status, StatusCode::CONFLICT);
    assert_eq!(busy.json()["running"].as_u64(), Some(id));
    assert_eq!(busy.json()["url"], format!("/api/analyze/{id}"));
    let running = get(addr, &format!("/api/analyze/{id}")).await;
    assert_eq!(
        (running.status, running.json()["state"].as_str()),
        (StatusCode::OK, Some("running"))
    );
    assert_eq!(status(addr).await["analysis"]["running"]["id"].as_u64(), Some(id));
    jobs.allow(1);
    let done = analysis_finished(addr, id).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["rows"], 3000, "the analysis read the complete files only");
    // The server had no analysis of its own to keep pages from: it ran every analyzer.
    assert_eq!(done["ran"].as_array().unwrap().len(), 14);

    // Now `only` re-runs one page and keeps the others' files as they were.
    let pricing = fs::read(calls.join("reports/pricing.html")).unwrap();
    let again = analyze(addr, r#"{"only": ["overview"]}"#).await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    let id2 = again.json()["id"].as_u64().unwrap();
    assert_eq!(id2, id + 1);
    jobs.allow(1);
    let done = analysis_finished(addr, id2).await;
    assert_eq!(done["ran"], serde_json::json!(["overview"]), "{done}");
    assert_eq!(fs::read(calls.join("reports/pricing.html")).unwrap(), pricing);
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(calls.join("reports/manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["reports"].as_array().unwrap().len(),
        14,
        "every page is still listed"
    );
    for missing in ["/api/analyze/999", "/api/analyze/abc"] {
        assert_eq!(get(addr, missing).await.status, StatusCode::NOT_FOUND, "{missing}");
    }
    server.shutdown().await.unwrap();
    assert!(trafficsim::sink::atomic::leftovers(&calls.join("reports")).is_empty());
}

/// `serve --live` over a small plan, stepped one day at a time.
fn live_flags(out: &std::path::Path, config: &std::path::Path) -> Vec<String> {
    [
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--rows",
        "4000",
        "--days",
        "3",
        "--bind",
        "127.0.0.1:0",
        "--live",
        "--pace",
        "0",
        "--quiet",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_grows_the_dataset_and_rewrites_the_manifest_day_by_day() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let config = repo().join("config/default.toml");
    let flags = live_flags(&out, &config);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let days = Arc::new(Gate::default());
    let server = start(settings(&flags), Some(days.clone()), None).await;
    let addr = server.addr();
    let manifest = || -> serde_json::Value {
        serde_json::from_slice(&fs::read(out.join("reports/manifest.json")).unwrap()).unwrap()
    };

    let mut manifests = Vec::new();
    let mut rows = Vec::new();
    for day in 1..=3u64 {
        let s = status_until(addr, &format!("day {day} written and analyzed"), |s| {
            s["live"]["days_done"] == day && s["live"]["analyzed_days"] == day
        })
        .await;
        let m = &s["mounts"][0];
        assert_eq!(
            m["dataset"]["days"].as_u64(),
            Some(day),
            "the dataset holds the days written"
        );
        rows.push(m["dataset"]["rows"].as_u64().unwrap());
        let written = manifest();
        assert_eq!(
            written["window"]["days"].as_u64(),
            Some(day),
            "the reports cover the days written"
        );
        assert_eq!(written["rows"].as_u64(), Some(*rows.last().unwrap()));
        manifests.push(written);
        if day == 1 {
            // Served pages show the live run; the files stay as they are.
            let page = get(addr, "/calls/").await.text();
            assert!(page.contains("Live: generating, 1 of 3 days written"), "{page}");
            assert!(
                !fs::read_to_string(out.join("reports/index.html"))
                    .unwrap()
                    .contains("trafficsim-live")
            );
            assert!(m["progress"]["fraction"].as_f64().unwrap() < 1.0);
        }
        days.allow(1);
    }
    assert!(rows.windows(2).all(|w| w[0] < w[1]), "the dataset grows: {rows:?}");
    assert_eq!(rows[2], 4000, "the whole plan in the end");
    assert!(manifests.windows(2).all(|w| w[0] != w[1]), "three successive manifests");
    let s = status_until(addr, "the live run done", |s| s["live"]["state"] == "done").await;
    assert_eq!(
        s["mounts"][0]["panel"]["state"],
        "Live: done, 3 days generated and analyzed"
    );
    assert_eq!(s["mounts"][0]["reports"]["stale"], false);
    server.shutdown().await.unwrap();
    assert!(trafficsim::sink::atomic::leftovers(&out).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_mid_run_finishes_the_step_and_leaves_no_half_written_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let config = repo().join("config/default.toml");
    let flags = live_flags(&out, &config);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let days = Arc::new(Gate::default());
    let server = start(settings(&flags), Some(days.clone()), None).await;
    let addr = server.addr();
    status_until(addr, "the first day written", |s| s["live"]["days_done"] == 1).await;
    // The live run waits for its next day; the first day's analysis may be running.
    server.shutdown().await.unwrap();
    assert!(trafficsim::sink::atomic::leftovers(&out).is_empty());
    let partitions = fs::read_dir(out.join("data/calls")).unwrap().count();
    assert_eq!(partitions, 1, "the day written, and no other");
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("reports/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["window"]["days"], 1, "the running analysis finished");
}
