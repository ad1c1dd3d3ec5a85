//! Issue 11: readers never see a run in progress. A generation killed mid-run leaves only
//! `*.inprogress` files; `validate` and `analyze` skip them, say so, and read the last complete
//! dataset (or say there is none); the next generation removes them.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

/// Starts a large generation into `out` and kills it (SIGKILL) as soon as its staging
/// directory exists; returns the leftovers it left.
fn kill_a_generation_mid_run(out: &Path) -> Vec<std::path::PathBuf> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trafficsim"))
        .args(["generate", "--quiet", "--rows", "3000000", "--config"])
        .arg(default_config())
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let staging = out.join("data/calls.inprogress");
    while !staging.is_dir() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the generation ended before its staging directory was seen"
        );
        std::thread::yield_now();
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let left = trafficsim::sink::atomic::leftovers(&out.join("data"));
    assert!(left.contains(&staging), "{left:?}");
    left
}

fn validate(data: &Path) -> Run {
    run_bin([
        "validate".as_ref(),
        data.as_os_str(),
        "--config".as_ref(),
        default_config().as_os_str(),
    ])
}

fn analyze(out: &Path) -> Run {
    run_bin([
        "analyze".as_ref(),
        "--config".as_ref(),
        default_config().as_os_str(),
        "--input".as_ref(),
        out.join("data").as_os_str(),
        "--out".as_ref(),
        out.join("reports").as_os_str(),
    ])
}

const NOTE: &str = "left by a generation that is running or was interrupted; ignored";

#[test]
fn killed_over_a_complete_dataset_readers_read_the_last_complete_one() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &["--rows", "2000", "--days", "3"]);
    kill_a_generation_mid_run(dir.path());
    let data = dir.path().join("data");
    validate(&data)
        .success()
        .stdout_has("2000 rows")
        .stdout_has("all checks passed")
        .stderr_has(NOTE);
    analyze(dir.path())
        .success()
        .stdout_has("analyzed 2000 rows (3 parquet file(s)")
        .stderr_has(NOTE);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("reports/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["rows"], 2000);
    assert_eq!(manifest["window"]["days"], 3);

    // The next run cleans up: a day-by-day one as well as a whole one.
    generate(dir.path(), &["--rows", "2000", "--days", "3", "--date", "2025-01-02"]);
    assert_eq!(
        trafficsim::sink::atomic::leftovers(&data),
        Vec::<std::path::PathBuf>::new()
    );
    validate(&data).success().stdout_has("2000 rows");
}

#[test]
fn killed_with_nothing_before_readers_say_there_is_no_complete_dataset() {
    let dir = tempfile::tempdir().unwrap();
    kill_a_generation_mid_run(dir.path());
    let data = dir.path().join("data");
    validate(&data)
        .failure()
        .stderr_has("no complete dataset yet")
        .stderr_has("calls.inprogress");
    analyze(dir.path())
        .failure()
        .stderr_has("no complete dataset yet")
        .stderr_has(NOTE);
    assert!(!dir.path().join("reports").exists(), "no reports from partial data");

    generate(dir.path(), &["--rows", "1500", "--days", "2"]);
    assert_eq!(
        trafficsim::sink::atomic::leftovers(&data),
        Vec::<std::path::PathBuf>::new()
    );
    validate(&data).success().stdout_has("1500 rows");
}
