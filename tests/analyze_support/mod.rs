//! Shared by the `analyze_*` tests: one small generated and analyzed dataset per test binary,
//! its rows read back with arrow (for independent folds), and the JSON results.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arrow::array::RecordBatch;

use crate::common::{default_config, generate, read_all};

/// The pinned clock of every analyzed fixture (2025-02-01T00:00:00Z).
pub const PINNED_EPOCH: &str = "1738368000";
/// Rows and seed of the fixture dataset: small, but a whole 30-day window and 24 customers,
/// one of whom costs more than its plan.
pub const ROWS: &str = "40000";
pub const SEED: &str = "42";

/// A generated dataset and its reports.
pub struct Fixture {
    pub root: PathBuf,
    pub data: PathBuf,
    pub reports: PathBuf,
    pub rows: RecordBatch,
}

impl Fixture {
    /// A report's JSON result.
    pub fn result(&self, name: &str) -> serde_json::Value {
        result_in(&self.reports, name)
    }

    /// A report's JSON result as its typed struct.
    pub fn typed<T: serde::de::DeserializeOwned>(&self, name: &str) -> T {
        serde_json::from_value(self.result(name)).unwrap()
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.reports.join(rel)).unwrap()
    }
}

/// The JSON result of report `name` in a reports directory (either workload's).
pub fn result_in(reports: &Path, name: &str) -> serde_json::Value {
    let path = reports.join("results").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The fixture of this test binary: generated and analyzed once, in `CARGO_TARGET_TMPDIR`.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // One directory per test process, so test binaries (or two `cargo test` runs) running at
        // once never share files; those of finished processes are removed first.
        let root = process_dir("fixture");
        std::fs::create_dir_all(&root).unwrap();
        generate(&root, &["--rows", ROWS, "--seed", SEED]);
        let data = root.join("data");
        let reports = root.join("reports");
        analyze(&data, &reports, &[]).success();
        let rows = read_all(&data.join("calls"));
        Fixture {
            root,
            data,
            reports,
            rows,
        }
    })
}

/// A fresh `<kind>-<test binary>-<pid>` directory under `CARGO_TARGET_TMPDIR`: one per test
/// process, so test binaries (or two `cargo test` runs) at once never share files. Directories
/// of finished processes (Linux: no `/proc/<pid>`) are removed first.
pub fn process_dir(kind: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let name = exe.file_stem().unwrap().to_string_lossy().into_owned();
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let prefix = format!("{kind}-{name}-");
    if let Ok(entries) = std::fs::read_dir(&tmp) {
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = file_name.strip_prefix(&prefix).and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            if !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let root = tmp.join(format!("{prefix}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    root
}

/// `trafficsim analyze --input … --out … --config <default>` with the pinned clock, plus `extra`.
pub fn analyze(input: &Path, out: &Path, extra: &[&str]) -> crate::common::Run {
    let mut args: Vec<std::ffi::OsString> = vec![
        "analyze".into(),
        "--input".into(),
        input.into(),
        "--out".into(),
        out.into(),
        "--config".into(),
        default_config().into(),
    ];
    args.extend(extra.iter().map(Into::into));
    // The clock is pinned for the child process only.
    run_bin_with_env(args, &[("SOURCE_DATE_EPOCH", PINNED_EPOCH)])
}

fn run_bin_with_env(args: Vec<std::ffi::OsString>, env: &[(&str, &str)]) -> crate::common::Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trafficsim"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs");
    crate::common::Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `a` and `b` agree to within `tol` (absolute) or `tol` relative to their size.
pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

#[track_caller]
pub fn assert_close(got: f64, want: f64, what: &str) {
    assert!(close(got, want, 1e-9), "{what}: got {got}, want {want}");
}
