//! Shared by the `ticketing_analyze_*` tests: the default ticketing run (the config's size and
//! seed, so the figures are those of the acceptance's "default run"), generated and analyzed
//! once per test binary, its rows read back with arrow for independent folds, and the JSON
//! results.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arrow::array::RecordBatch;

use crate::analyze_support::process_dir;
use crate::ticketing_support::{generate, ticketing_config};

/// The pinned clock of every analyzed fixture (2025-02-01T00:00:00Z).
pub const PINNED_EPOCH: &str = "1738368000";

/// A generated ticketing dataset and its reports.
pub struct Fixture {
    pub root: PathBuf,
    pub data: PathBuf,
    pub reports: PathBuf,
}

impl Fixture {
    /// A report's JSON result.
    pub fn result(&self, name: &str) -> serde_json::Value {
        crate::analyze_support::result_in(&self.reports, name)
    }

    /// A report's JSON result as its typed struct.
    pub fn typed<T: serde::de::DeserializeOwned>(&self, name: &str) -> T {
        serde_json::from_value(self.result(name)).unwrap()
    }

    /// A file of the reports, as text.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.reports.join(rel)).unwrap()
    }

    /// The transactions' `columns`, every row, in file order (read with arrow, not Polars).
    pub fn transactions(&self, columns: &[&str]) -> RecordBatch {
        crate::ticketing_support::transactions(&self.root, columns)
    }

    /// The labels, read with arrow.
    pub fn labels(&self) -> Vec<crate::ticketing_support::Label> {
        crate::ticketing_support::labels(&self.root)
    }
}

/// The default ticketing run of this test binary: generated and analyzed once, under
/// `CARGO_TARGET_TMPDIR`.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let root = process_dir("ticketing");
        std::fs::create_dir_all(&root).unwrap();
        generate(&root, &[]);
        let data = root.join("data");
        let reports = root.join("reports");
        analyze(&data, &reports, &[]).success();
        Fixture { root, data, reports }
    })
}

/// `trafficsim analyze --input … --out … --config config/ticketing.toml` with the pinned clock,
/// plus `extra`.
pub fn analyze(input: &Path, out: &Path, extra: &[&str]) -> crate::common::Run {
    run(&["analyze".as_ref(), "--out".as_ref(), out.as_os_str()], input, extra)
}

/// `trafficsim check --input … --config config/ticketing.toml`, plus `extra`.
pub fn check(input: &Path, extra: &[&str]) -> crate::common::Run {
    run(&["check".as_ref()], input, extra)
}

fn run(head: &[&std::ffi::OsStr], input: &Path, extra: &[&str]) -> crate::common::Run {
    let mut args: Vec<std::ffi::OsString> = head.iter().map(|a| a.to_os_string()).collect();
    args.extend([
        "--input".into(),
        input.into(),
        "--config".into(),
        ticketing_config().into(),
    ]);
    args.extend(extra.iter().map(Into::into));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trafficsim"))
        .args(args)
        .env("SOURCE_DATE_EPOCH", PINNED_EPOCH)
        .output()
        .expect("the binary runs");
    crate::common::Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
