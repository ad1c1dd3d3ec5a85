//! Helpers shared by the integration tests: run the binary, read what it wrote.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::{Float64Type, Int64Type, TimestampMicrosecondType};

/// The repository root (where `config/` lives).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn default_config() -> PathBuf {
    repo().join("config/default.toml")
}

/// What a run of the binary printed and how it ended.
pub struct Run {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn success(self) -> Self {
        assert!(
            self.status.success(),
            "expected success, got {}\nstdout: {}\nstderr: {}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn failure(self) -> Self {
        assert!(
            !self.status.success(),
            "expected failure\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        assert_eq!(
            self.status.code(),
            Some(1),
            "errors exit with code 1, not a panic or a signal"
        );
        self
    }

    pub fn stdout_has(self, needle: impl AsRef<str>) -> Self {
        let needle = needle.as_ref();
        assert!(
            self.stdout.contains(needle),
            "stdout lacks `{needle}`:\n{}",
            self.stdout
        );
        self
    }

    pub fn stderr_has(self, needle: impl AsRef<str>) -> Self {
        let needle = needle.as_ref();
        assert!(
            self.stderr.contains(needle),
            "stderr lacks `{needle}`:\n{}",
            self.stderr
        );
        self
    }
}

/// Runs the `trafficsim` binary with `args`.
pub fn run_bin<S: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = S>) -> Run {
    run_bin_in(None, args)
}

/// Runs the `trafficsim` binary with `args` in working directory `dir` (the test's own if `None`).
pub fn run_bin_in<S: AsRef<std::ffi::OsStr>>(dir: Option<&Path>, args: impl IntoIterator<Item = S>) -> Run {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_trafficsim"));
    command.args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let out = command.output().expect("the binary runs");
    Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `trafficsim generate` with the default config and `--out out --quiet`, plus `args`.
pub fn trafficsim(out: &Path, args: &[&str]) -> Run {
    let mut all = vec![
        "generate".into(),
        "--config".into(),
        default_config().into_os_string(),
        "--out".into(),
        out.as_os_str().to_os_string(),
        "--quiet".into(),
    ];
    all.extend(args.iter().map(|a| a.into()));
    run_bin(all)
}

/// Runs a generation and asserts it succeeded.
pub fn generate(out: &Path, args: &[&str]) {
    trafficsim(out, args).success();
}

/// Every batch of a dataset (CSV, Parquet file or directory), concatenated.
pub fn read_all(path: &Path) -> RecordBatch {
    let batches: Vec<RecordBatch> = trafficsim::validate::read::read_dataset(path)
        .expect("dataset opens")
        .collect::<anyhow::Result<_>>()
        .expect("dataset reads");
    let schema = batches.first().expect("at least one batch").schema();
    concat_batches(&schema, &batches).expect("batches share a schema")
}

pub fn strings<'a>(b: &'a RecordBatch, name: &str) -> Vec<&'a str> {
    let a = b
        .column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"))
        .as_string::<i32>();
    (0..a.len()).map(|i| a.value(i)).collect()
}

pub fn ints(b: &RecordBatch, name: &str) -> Vec<i64> {
    b.column_by_name(name)
        .unwrap()
        .as_primitive::<Int64Type>()
        .values()
        .to_vec()
}

pub fn floats(b: &RecordBatch, name: &str) -> Vec<f64> {
    b.column_by_name(name)
        .unwrap()
        .as_primitive::<Float64Type>()
        .values()
        .to_vec()
}

pub fn timestamps_us(b: &RecordBatch) -> Vec<i64> {
    b.column_by_name("timestamp")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>()
        .values()
        .to_vec()
}

/// Every file under `dir`, relative, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Asserts what every reports directory holds for each report its manifest names: the page and
/// its JSON result exist, it has headline figures, the index links it and shows them, and the
/// page links the index and every other page (the navigation).
pub fn assert_reports_linked(reports: &Path, m: &trafficsim::report::manifest::Manifest) {
    let read = |rel: &str| std::fs::read_to_string(reports.join(rel)).unwrap();
    let index = read("index.html");
    for r in &m.reports {
        assert!(reports.join(&r.path).is_file(), "{} exists", r.path);
        assert!(reports.join(&r.result).is_file(), "{} exists", r.result);
        assert!(!r.headline.is_empty(), "{} has headline figures", r.name);
        assert!(
            index.contains(&format!("href=\"{}\"", r.path)),
            "index links {}",
            r.path
        );
        for fig in &r.headline {
            assert!(
                index.contains(&fig.display),
                "index shows {} = {}",
                fig.label,
                fig.display
            );
        }
        let page = read(&r.path);
        assert!(page.contains("href=\"index.html\""), "{} links the index", r.path);
        for other in &m.reports {
            assert!(
                page.contains(&format!("href=\"{}\"", other.path)),
                "{} links {}",
                r.path,
                other.path
            );
        }
    }
}

/// Asserts that `a` and `b` hold the same files, byte for byte (`what`: how they were made).
pub fn assert_same_files(a: &Path, b: &Path, what: &str) {
    let files = files_under(a);
    assert_eq!(files, files_under(b), "{what}: the same files");
    for rel in &files {
        assert!(
            std::fs::read(a.join(rel)).unwrap() == std::fs::read(b.join(rel)).unwrap(),
            "{} differs: {what}",
            rel.display()
        );
    }
}

/// Every `<svg …>…</svg>` in a page.
pub fn svgs(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").expect("svg is closed") + start + "</svg>".len();
        out.push(&rest[start..end]);
        rest = &rest[end..];
    }
    out
}

/// Asserts that a report page stands alone: every SVG parses as XML, no script, no external
/// stylesheet, no URL (so nothing is fetched), print and narrow-screen CSS. Returns its charts.
pub fn assert_page_stands_alone(name: &str, page: &str) -> usize {
    let charts = svgs(page);
    for svg in &charts {
        roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{name}: SVG does not parse: {e}"));
    }
    assert!(!page.contains("<script"), "{name}: no JavaScript");
    assert!(!page.contains("<link"), "{name}: no external stylesheet");
    let without_ns = page
        .replace("http://www.w3.org/2000/svg", "")
        .replace("http://www.w3.org/1999/xlink", "");
    assert!(
        !without_ns.contains("http://") && !without_ns.contains("https://"),
        "{name}: no URL"
    );
    assert!(
        page.contains("@media print") && page.contains("@media (max-width"),
        "{name}: print and narrow CSS"
    );
    charts.len()
}

/// The catalogue's market weights, by provider.
pub const MARKET_WEIGHTS: [(&str, f64); 7] = [
    ("openai", 0.40),
    ("anthropic", 0.25),
    ("google", 0.15),
    ("bedrock", 0.10),
    ("azure", 0.05),
    ("mistral", 0.03),
    ("cohere", 0.02),
];

/// Asserts that each provider's share of the rows is its market weight within `tolerance`.
pub fn assert_market_mix(b: &RecordBatch, tolerance: f64) {
    let providers = strings(b, "provider");
    for (name, weight) in MARKET_WEIGHTS {
        let share = providers.iter().filter(|p| **p == name).count() as f64 / providers.len() as f64;
        assert!(
            (share - weight).abs() <= tolerance,
            "{name}: {share:.4}, expected {weight} ± {tolerance}"
        );
    }
}

/// Local date and time of each row, from its timestamp and its customer's time zone.
pub fn local_datetimes(b: &RecordBatch) -> Vec<chrono::NaiveDateTime> {
    let tz: Vec<chrono_tz::Tz> = strings(b, "timezone").iter().map(|t| t.parse().unwrap()).collect();
    timestamps_us(b)
        .iter()
        .zip(tz)
        .map(|(&us, tz)| {
            chrono::DateTime::from_timestamp_micros(us)
                .unwrap()
                .with_timezone(&tz)
                .naive_local()
        })
        .collect()
}

/// Every row of a Parquet file (e.g. `labels.parquet`).
pub fn read_parquet_file(path: &Path) -> RecordBatch {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
    let schema = batches.first().expect("at least one batch").schema();
    concat_batches(&schema, &batches).unwrap()
}
