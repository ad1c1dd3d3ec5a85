//! `trafficsim replay` against `serve-mock`, both in-process on an ephemeral loopback port: every
//! scheduled request gets exactly one result row (also when the target dies mid-run and on an
//! interrupt), the mock's answers are its documented rule, the loop closes into the fraud page,
//! and faults from the labels fail the checks inside the degradation windows only. No sleeps,
//! no wall-clock thresholds: rates are the benchmark's business.

mod ticketing_support;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arrow::array::RecordBatch;
use ticketing_support::{bools, floats, generate, ints, str_vals, ticketing_config, transactions};
use trafficsim::analyze::Inputs;
use trafficsim::cli::analyze::Prepared;
use trafficsim::config::RunPlan;
use trafficsim::mock::faults::{FaultModel, windows_from_labels};
use trafficsim::mock::scoring::{self, Transaction};
use trafficsim::mock::{self, MockOptions, RunningMock};
use trafficsim::replay::{self, Control, DriveOptions, Pace, ReplayOptions, ScheduleOptions};

const ROWS: u64 = 20_000;

/// A small ticketing run (with its labelled degradation windows), generated once.
fn data() -> &'static Path {
    static DATA: OnceLock<PathBuf> = OnceLock::new();
    DATA.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("replay-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        generate(&root, &["--rows", &ROWS.to_string(), "--format", "parquet"]);
        root
    })
}

/// A mock on its own runtime, so a test can kill it outright.
struct Mock {
    runtime: tokio::runtime::Runtime,
    server: Option<RunningMock>,
}

impl Mock {
    fn start(faults: FaultModel) -> Mock {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime
            .block_on(mock::start(MockOptions {
                listen: "127.0.0.1:0".parse().unwrap(),
                faults,
                hang: Duration::from_millis(20),
            }))
            .unwrap();
        Mock {
            runtime,
            server: Some(server),
        }
    }

    fn url(&self) -> String {
        format!("http://{}/predict", self.server.as_ref().unwrap().addr)
    }

    /// Drops the server's every task and socket at once, as `kill -9` would.
    fn kill(mut self) {
        self.server.take();
        self.runtime.shutdown_background();
    }

    fn stop(mut self) {
        let server = self.server.take().unwrap();
        self.runtime.block_on(server.stop()).unwrap();
    }
}

fn options(out: &Path, target: String, rate: f64, max: u64) -> ReplayOptions {
    ReplayOptions {
        input: data().join("data"),
        target,
        allow_remote: false,
        schedule: ScheduleOptions {
            pace: Pace::Rate(rate),
            max_requests: max,
            duration: Duration::from_secs(3600),
            scenario: None,
        },
        drive: DriveOptions {
            concurrency: 64,
            timeout: Duration::from_secs(5),
            threads: 2,
        },
        out: out.to_path_buf(),
    }
}

fn out_dir(name: &str) -> PathBuf {
    let dir = data().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn results(out: &Path) -> RecordBatch {
    ticketing_support::read_parquet(&out.join("results.parquet"))
}

/// Analyzes the data with the replay (and its predictions); returns the analysis and the
/// reports directory.
fn analyze(out: &Path, predictions: bool) -> (trafficsim::analyze::Analysis, PathBuf) {
    let plan = RunPlan::load(&ticketing_config()).unwrap();
    let prepared = Prepared::new(plan, &ticketing_support::repo().join("config/analysis.toml"), None).unwrap();
    let predictions_file = out.join("predictions.parquet");
    let reports = out.with_extension("reports");
    let inputs = Inputs {
        predictions: predictions.then_some(predictions_file.as_path()),
        replay: Some(out),
        columns_map: None,
    };
    let (_, analysis) = prepared
        .analyze_and_report(&data().join("data"), &reports, &inputs)
        .unwrap();
    (analysis, reports)
}

fn status(analysis: &trafficsim::analyze::Analysis, name: &str) -> String {
    let c = analysis
        .checks
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}"));
    c.status.as_str().to_string()
}

#[test]
fn every_row_is_sent_once_and_answered_by_the_rule() {
    let mock = Mock::start(FaultModel::default());
    let out = out_dir("replay-all");
    let done = replay::run(&options(&out, mock.url(), 20_000.0, u64::MAX), &Control::default()).unwrap();
    mock.stop();

    let rows = transactions(
        data(),
        &[
            "transaction_id",
            "risk_score",
            "velocity_1h",
            "device_mismatch",
            "geo_mismatch",
            "time_anomaly",
        ],
    );
    let r = results(&out);
    assert_eq!(done.summary.scheduled, ROWS);
    assert_eq!(r.num_rows() as u64, ROWS, "one result row per scheduled request");
    // In schedule order, the dataset's order.
    assert_eq!(str_vals(&r, "transaction_id"), str_vals(&rows, "transaction_id"));
    assert!(str_vals(&r, "outcome").iter().all(|o| o == "ok"));
    assert!(ints(&r, "http_status").iter().all(|&s| s == 200));
    assert_eq!(
        (done.summary.sent, done.summary.failed, done.summary.not_sent),
        (ROWS, 0, 0)
    );
    // The mock's answer is its documented rule over the row's indicators.
    let (score, decision) = (floats(&r, "score"), bools(&r, "decision"));
    let (risk, velocity) = (floats(&rows, "risk_score"), ints(&rows, "velocity_1h"));
    let (device, geo, time) = (
        bools(&rows, "device_mismatch"),
        bools(&rows, "geo_mismatch"),
        bools(&rows, "time_anomaly"),
    );
    for i in 0..rows.num_rows() {
        let expected = scoring::score(&Transaction {
            risk_score: risk[i],
            velocity_1h: velocity[i] as f64,
            device_mismatch: device[i],
            geo_mismatch: geo[i],
            time_anomaly: time[i],
            ..Transaction::default()
        });
        assert_eq!(
            (score[i], decision[i]),
            (expected.fraud_score, expected.is_fraud),
            "row {i}"
        );
    }

    // The loop closes: the fraud page scores the mock's decisions; the Replay page shows the run.
    let (analysis, reports) = analyze(&out, true);
    let fraud: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("results/fraud.json")).unwrap()).unwrap();
    let scored = &fraud["predictions"];
    assert_eq!(scored["covered"].as_u64(), Some(ROWS), "{scored}");
    let replay_page: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("results/replay.json")).unwrap()).unwrap();
    let decisions = &replay_page["decisions"];
    assert_eq!(decisions["decided"].as_u64(), Some(ROWS));
    let recall = decisions["recall"].as_f64().unwrap();
    assert_eq!(
        scored["detection"]["recall"].as_f64(),
        Some(recall),
        "the two pages agree"
    );
    let html = std::fs::read_to_string(reports.join("replay.html")).unwrap();
    assert!(html.contains("Decisions against the ground truth") && html.contains("fraud.html"));
    // Without faults, nothing fails and everything is sent. The latency and rate checks depend
    // on how loaded the machine is, so only their presence is asserted here (the fault test
    // below drives them to FAIL on purpose).
    for c in ["replay.error_rate", "replay.not_sent"] {
        assert_eq!(status(&analysis, c), "PASS", "{c}");
    }
    for c in ["replay.p99_latency_ms", "replay.achieved_rate_ratio"] {
        assert!(["PASS", "FAIL"].contains(&status(&analysis, c).as_str()), "{c}");
    }
}

#[test]
fn faults_from_the_labels_fail_the_checks_inside_the_windows_only() {
    let mut windows = windows_from_labels(&data().join("data")).unwrap();
    assert!(!windows.is_empty());
    for w in &mut windows {
        // Every request inside fails, so each window reached must fail its error-rate check.
        w.error_rate = 1.0;
        w.timeout_rate = 0.0;
    }
    let mock = Mock::start(FaultModel {
        windows,
        ..FaultModel::default()
    });
    let out = out_dir("replay-faults");
    let done = replay::run(&options(&out, mock.url(), 20_000.0, u64::MAX), &Control::default()).unwrap();
    mock.stop();
    assert_eq!(done.summary.errors.get("http_503").copied(), Some(done.summary.failed));
    let (analysis, reports) = analyze(&out, false);
    let inside: Vec<_> = analysis
        .checks
        .checks
        .iter()
        .filter(|c| c.name.starts_with("replay.degradation.") && c.name.ends_with(".error_rate"))
        .collect();
    assert!(!inside.is_empty(), "the replayed rows reach the labelled windows");
    for c in &inside {
        assert_eq!(c.status.as_str(), "FAIL", "{}", c.name);
        assert_eq!(c.figure, Some(1.0), "{}", c.name);
    }
    assert_eq!(status(&analysis, "replay.error_rate"), "PASS");
    let html = std::fs::read_to_string(reports.join("replay.html")).unwrap();
    assert!(html.contains("Degradation windows") && html.contains("FAIL"));
}

/// Kills the mock (or interrupts the replay) once `after` results are in.
fn midway(after: u64, act: impl FnOnce() + Send + 'static) -> (Control, std::sync::mpsc::Receiver<()>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let once = std::sync::Mutex::new(Some((tx, act)));
    let control = Control {
        observer: Some(Arc::new(move |p: &replay::collect::Progress| {
            if p.results >= after
                && let Some((tx, act)) = once.lock().unwrap().take()
            {
                act();
                let _ = tx.send(());
            }
        })),
        ..Control::default()
    };
    (control, rx)
}

#[test]
fn a_target_killed_mid_run_loses_no_request() {
    let mock = Mock::start(FaultModel::default());
    let url = mock.url();
    let (kill_tx, kill_rx) = std::sync::mpsc::channel::<()>();
    let (control, _) = midway(500, move || {
        let _ = kill_tx.send(());
    });
    let out = out_dir("replay-killed");
    let max = 4_000;
    let run = {
        let out = out.clone();
        std::thread::spawn(move || replay::run(&options(&out, url, 2_000.0, max), &control))
    };
    // The test thread kills the mock when the observer says 500 results are in.
    kill_rx.recv().unwrap();
    mock.kill();
    let done = run.join().unwrap().unwrap();
    let r = results(&out);
    assert_eq!(r.num_rows() as u64, max, "every scheduled request has a row");
    let ids: HashSet<String> = str_vals(&r, "transaction_id").into_iter().collect();
    assert_eq!(ids.len() as u64, max, "exactly one row each");
    let outcomes = str_vals(&r, "outcome");
    let ok = outcomes.iter().filter(|o| *o == "ok").count() as u64;
    let failed = outcomes.iter().filter(|o| *o == "failed").count() as u64;
    assert!(ok >= 500 && failed > 0, "ok {ok}, failed {failed}");
    assert_eq!(
        ok + failed,
        max,
        "nothing was left unsent: the target's death is a failure, not a loss"
    );
    let kinds: HashSet<String> = ticketing_support::strs(&r, "error_kind")
        .into_iter()
        .flatten()
        .collect();
    assert!(
        kinds
            .iter()
            .all(|k| ["connect", "connection_closed", "io"].contains(&k.as_str())),
        "{kinds:?}"
    );
    assert_eq!((done.summary.ok, done.summary.failed), (ok, failed));
}

#[test]
fn an_interrupt_stops_sending_and_records_the_rest_as_not_sent() {
    let mock = Mock::start(FaultModel::default());
    let interrupt = replay::schedule::Interrupt::default();
    let flag = interrupt.clone();
    let (mut control, _) = midway(300, move || flag.store(true, Ordering::Relaxed));
    control.interrupt = interrupt;
    let out = out_dir("replay-interrupted");
    let max = 4_000;
    let done = replay::run(&options(&out, mock.url(), 2_000.0, max), &control).unwrap();
    mock.stop();
    let r = results(&out);
    assert_eq!(r.num_rows() as u64, max);
    let s = &done.summary;
    assert!(s.not_sent > 0 && s.sent >= 300, "{s:?}");
    assert_eq!(s.sent + s.not_sent, max);
    assert_eq!(s.errors.get("interrupted").copied(), Some(s.not_sent));
    let (analysis, _) = analyze(&out, true);
    assert_eq!(status(&analysis, "replay.not_sent"), "FAIL");
}

#[test]
fn the_mock_speaks_its_contract() {
    let mock = Mock::start(FaultModel::default());
    let addr = mock.server.as_ref().unwrap().addr;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<hyper::body::Bytes>>();
    let call = |method: &str, path: &str, body: &str| {
        let req = hyper::Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"))
            .body(http_body_util::Full::new(hyper::body::Bytes::from(body.to_string())))
            .unwrap();
        mock.runtime.block_on(async {
            use http_body_util::BodyExt;
            let res = client.request(req).await.unwrap();
            let status = res.status().as_u16();
            (
                status,
                String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap(),
            )
        })
    };
    let (status, body) = call(
        "POST",
        "/predict",
        r#"{"transaction_id":"t","risk_score":0.9,"geo_mismatch":true}"#,
    );
    assert_eq!(status, 200);
    let answer: scoring::Prediction = serde_json::from_str(&body).unwrap();
    assert_eq!(
        answer,
        scoring::Prediction {
            fraud_score: 0.645,
            is_fraud: true
        }
    );
    assert_eq!(call("POST", "/predict", "not json").0, 400);
    assert_eq!(call("GET", "/predict", "").0, 405);
    assert_eq!(
        call("POST", "/v1/calls", r#"{"request_id":"r"}"#),
        (200, r#"{"accepted":true}"#.to_string())
    );
    let (status, metrics) = call("GET", "/metrics", "");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("trafficsim_mock_requests_total{outcome=\"Ok\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("trafficsim_mock_requests_total{outcome=\"BadRequest\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("trafficsim_mock_flagged_total 1"), "{metrics}");
    mock.stop();
}

fn fails_with(args: &[&str], needle: &str) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trafficsim"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(stderr.contains(needle), "{args:?}: {stderr}");
}

#[test]
fn bad_input_is_refused_before_anything_is_sent() {
    let data_dir = data().join("data");
    let input = data_dir.to_str().unwrap();
    // A port nothing listens on: bound, then released.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let target = format!("http://{free}/predict");
    let replay = |extra: &[&str], needle: &str| {
        let mut args = vec!["replay", "--input", input, "--no-report"];
        args.extend_from_slice(extra);
        fails_with(&args, needle);
    };
    replay(&["--target", &target], "cannot connect to");
    replay(&["--target", "http://192.0.2.1:8080/predict"], "not a loopback address");
    replay(&["--target", "not a url"], "--target not a url: not a URL");
    replay(&["--target", &target, "--rate", "0"], "--rate 0: allowed is");
    replay(&["--target", &target, "--concurrency", "0"], "--concurrency 0");
    // A dataset without the columns the schedule needs.
    let bare = data().join("bare");
    std::fs::create_dir_all(&bare).unwrap();
    std::fs::write(
        bare.join("transactions.csv"),
        "timestamp,total_amount\n2025-11-03T10:00:00Z,10\n",
    )
    .unwrap();
    let mock = Mock::start(FaultModel::default());
    fails_with(
        &[
            "replay",
            "--input",
            bare.to_str().unwrap(),
            "--target",
            &mock.url(),
            "--no-report",
        ],
        "lacks column `transaction_id`",
    );
    mock.stop();
    fails_with(&["serve-mock", "--listen", "0.0.0.0:0"], "not a loopback address");
    fails_with(&["serve-mock", "--error-rate", "1.5"], "--error-rate 1.5");
}

#[test]
fn the_calls_dataset_replays_against_the_gateway_mock() {
    let root = data().join("calls");
    let _ = std::fs::remove_dir_all(&root);
    let config = ticketing_support::repo().join("config/default.toml");
    ticketing_support::trafficsim(&[
        "generate",
        "--config",
        config.to_str().unwrap(),
        "--out",
        root.to_str().unwrap(),
        "--rows",
        "3000",
        "--format",
        "parquet",
        "--quiet",
    ]);
    let mock = Mock::start(FaultModel::default());
    let url = format!("http://{}/v1/calls", mock.server.as_ref().unwrap().addr);
    let out = out_dir("replay-calls");
    let mut o = options(&out, url, 20_000.0, u64::MAX);
    o.input = root.join("data");
    let done = replay::run(&o, &Control::default()).unwrap();
    mock.stop();
    assert_eq!(
        (done.summary.workload.as_str(), done.summary.id_column.as_str()),
        ("calls", "request_id")
    );
    assert_eq!((done.summary.scheduled, done.summary.ok), (3_000, 3_000));
    assert!(
        done.predictions.is_none(),
        "a gateway's answers are no fraud predictions"
    );
    let r = results(&out);
    let ids: HashSet<String> = str_vals(&r, "request_id").into_iter().collect();
    assert_eq!(ids.len(), 3_000);
}
