//! Issue 11: `trafficsim serve` as a process: bad input gets a clear error and exit code 1, and
//! the live run over a plan ends with the reports `trafficsim run` writes, byte for byte (with
//! SOURCE_DATE_EPOCH), after a clean stop on SIGINT.

mod common;
#[path = "serve_support/mod.rs"]
mod serve_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;

fn serve(args: &[&str]) -> Run {
    let mut all = vec!["serve", "--config"];
    let config = default_config();
    all.push(config.to_str().unwrap());
    all.extend(args);
    run_bin(all)
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    let reports = reports.to_str().unwrap();
    // A port in use.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bind = taken.local_addr().unwrap().to_string();
    serve(&["--bind", &bind, "--reports", reports])
        .failure()
        .stderr_has(format!("--bind {bind}: cannot listen"))
        .stderr_has("the port is in use");
    let cases: [(&[&str], &str); 7] = [
        (
            &["--bind", "localhost"],
            "--bind: \"localhost\" is not an address: give IP:PORT",
        ),
        (&["--bind", "127.0.0.1:99999"], "is not an address"),
        (&["--bind", "0.0.0.0:0"], "0.0.0.0:0 is not a loopback address"),
        (
            &["--bind", "127.0.0.1:0", "--reports", "/nonexistent/reports"],
            "/nonexistent/reports: no such directory",
        ),
        (
            &["--bind", "127.0.0.1:0", "--reports", "API=/tmp"],
            "\"API\" is not allowed as a NAME",
        ),
        (
            &["--bind", "127.0.0.1:0", "--live", "--pace=-1"],
            "--pace: -1 is not allowed",
        ),
        (
            &["--bind", "127.0.0.1:0", "--shard", "1/2", "--live"],
            "--shard: not allowed with serve",
        ),
    ];
    for (args, message) in cases {
        let mut all = args.to_vec();
        if !args.contains(&"--reports") {
            all.extend(["--reports", reports]);
        }
        serve(&all).failure().stderr_has(message);
    }
    // A live flag without --live is a usage error.
    let usage = serve(&["--pace", "2", "--reports", reports]);
    assert_eq!(usage.status.code(), Some(2), "{}", usage.stderr);
    drop(taken);
}

/// Runs `serve --live` until its live run is done, then stops it with SIGINT.
fn serve_live_to_the_end(out: &std::path::Path, plan: &[&str]) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trafficsim"))
        .args([
            "serve",
            "--live",
            "--pace",
            "0",
            "--bind",
            "127.0.0.1:0",
            "--quiet",
            "--config",
        ])
        .arg(default_config())
        .arg("--out")
        .arg(out)
        .args(plan)
        .env("SOURCE_DATE_EPOCH", "1735689600")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .strip_prefix("serving http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("the server says where it listens: {line}"))
        .to_string();
    // The rest of its log, read as it comes so the pipe never fills.
    let log = std::thread::spawn(move || {
        let mut rest = String::new();
        while stderr.read_line(&mut rest).unwrap_or(0) > 0 {}
        rest
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        serve_support::status_until(addr.parse().unwrap(), "the live run done", |s| {
            s["live"]["state"] == "done"
        })
        .await;
    });
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let exit = child.wait().unwrap();
    let log = log.join().unwrap();
    assert!(exit.success(), "a clean stop: {exit}\n{log}");
    assert!(
        log.contains("stopping: finishing the running step") && log.contains("stopped"),
        "{log}"
    );
}

#[test]
fn live_ends_with_the_reports_of_run_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let plan = ["--rows", "6000", "--days", "4"];
    let mut run = vec!["run", "--quiet", "--config"];
    let config = default_config();
    run.push(config.to_str().unwrap());
    run.extend(["--out", out.to_str().unwrap()]);
    run.extend(plan);
    let batch = Command::new(env!("CARGO_BIN_EXE_trafficsim"))
        .args(&run)
        .env("SOURCE_DATE_EPOCH", "1735689600")
        .output()
        .unwrap();
    assert!(batch.status.success(), "{}", String::from_utf8_lossy(&batch.stderr));
    // The same output directory (the reports name their data's path), one after the other.
    let batch_reports = dir.path().join("batch-reports");
    std::fs::rename(out.join("reports"), &batch_reports).unwrap();
    let batch_parquet = dir.path().join("batch-calls");
    std::fs::rename(out.join("data/calls"), &batch_parquet).unwrap();
    std::fs::remove_dir_all(&out).unwrap();

    serve_live_to_the_end(&out, &plan);
    assert_same_files(&batch_reports, &out.join("reports"), "live reports = run's reports");
    assert_same_files(&batch_parquet, &out.join("data/calls"), "live data = run's data");
    assert!(trafficsim::sink::atomic::leftovers(&out).is_empty());
}
