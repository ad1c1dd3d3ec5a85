//! The ticketing `validate` tests' fixture: one generated CSV dataset kept in memory, a fresh
//! copy of it per test, the RFC 4180 reader and writer that edit one value, and the report of
//! `validate --json`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::ticketing_support::{generate, ticketing_config};

pub const ROWS: usize = 30_000;

/// The checks of a ticketing report, in order.
pub const CHECKS: [&str; 13] = [
    "no_nulls",
    "unique_ids",
    "known_ids",
    "inventory",
    "sale_window",
    "statuses",
    "fraud_labels",
    "velocity",
    "sessions",
    "ip_country",
    "ranges",
    "labels",
    "known_columns",
];

/// The tier names as the transactions write them; the events' columns are `<lowercase>_sold` etc.
pub const TIERS: [&str; 3] = ["VIP", "Premium", "Standard"];

// ---------------------------------------------------------------------------------------------
// The shared dataset and its copies.

/// The generated dataset's files, by path relative to the output directory: `run_summary.json`
/// and everything in `data/`. Generated once per test process; the directory is removed after.
pub fn fixture() -> &'static [(PathBuf, Vec<u8>)] {
    static FILES: OnceLock<Vec<(PathBuf, Vec<u8>)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let out = tempfile::tempdir().unwrap();
        let rows = ROWS.to_string();
        generate(out.path(), &["--rows", &rows, "--format", "csv"]);
        let mut files = vec![(
            PathBuf::from("run_summary.json"),
            fs::read(out.path().join("run_summary.json")).expect("the run summary"),
        )];
        for entry in fs::read_dir(out.path().join("data")).expect("the data directory") {
            let path = entry.unwrap().path();
            assert!(path.is_file(), "{}: a CSV run writes only files", path.display());
            let rel = Path::new("data").join(path.file_name().unwrap());
            files.push((rel, fs::read(&path).unwrap()));
        }
        for table in ["transactions", "events", "users", "labels"] {
            let name = format!("{table}.csv");
            assert!(
                files
                    .iter()
                    .any(|(p, _)| p.file_name().is_some_and(|f| f == name.as_str())),
                "the run wrote no data/{name}"
            );
        }
        files
    })
}

/// A fresh copy of the fixture in a temporary directory of its own, removed when dropped.
pub struct Dataset {
    pub dir: tempfile::TempDir,
}

impl Dataset {
    pub fn new() -> Dataset {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("data")).unwrap();
        for (rel, bytes) in fixture() {
            fs::write(dir.path().join(rel), bytes).unwrap();
        }
        Dataset { dir }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn csv(&self, table: &str) -> PathBuf {
        self.data().join(format!("{table}.csv"))
    }

    /// A table of the copy, parsed.
    pub fn read(&self, table: &str) -> Table {
        let path = self.csv(table);
        Table::parse(&fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    }

    pub fn write(&self, table: &str, t: &Table) {
        fs::write(self.csv(table), t.to_csv()).unwrap();
    }

    /// Reads a table, applies `edit` and writes it back; returns what `edit` returns.
    pub fn edit<R>(&self, table: &str, edit: impl FnOnce(&mut Table) -> R) -> R {
        let mut t = self.read(table);
        let out = edit(&mut t);
        self.write(table, &t);
        out
    }

    /// `trafficsim validate --json` on the copy's data directory.
    pub fn validate(&self) -> Validation {
        self.validate_path(&self.data())
    }

    /// `trafficsim validate --json` on `path` (the data directory or its `transactions.csv`).
    pub fn validate_path(&self, path: &Path) -> Validation {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_trafficsim"))
            .arg("validate")
            .arg("--config")
            .arg(ticketing_config())
            .arg(path)
            .arg("--json")
            .output()
            .expect("the binary runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let report: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("validate --json printed no JSON ({e})\nstdout: {stdout}\nstderr: {stderr}"));
        Validation {
            code: out.status.code(),
            report,
            stderr,
        }
    }
}

/// What `validate --json` reported and how it exited.
pub struct Validation {
    pub code: Option<i32>,
    pub report: Value,
    pub stderr: String,
}

impl Validation {
    pub fn check(&self, name: &str) -> &Value {
        self.report["checks"]
            .as_array()
            .expect("a list of checks")
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no check `{name}` in the report:\n{:#}", self.report))
    }

    /// Asserts that validation failed with exit code 1 and that check `name` ran and found at
    /// least one violation, one of whose examples contains every one of `needles`.
    pub fn finds(&self, name: &str, needles: &[&str]) {
        let check = self.check(name);
        let summary = || {
            let failed: Vec<String> = self.report["checks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["violations"].as_u64() != Some(0))
                .map(|c| format!("{}: {} {}", c["name"], c["violations"], c["examples"]))
                .collect();
            format!(
                "checks with violations:\n{}\nstderr: {}",
                failed.join("\n"),
                self.stderr
            )
        };
        assert!(check["skipped"].is_null(), "`{name}` was skipped: {}", check["skipped"]);
        let violations = check["violations"].as_u64().expect("a count of violations");
        assert!(violations >= 1, "`{name}` found nothing\n{}", summary());
        let examples: Vec<&str> = check["examples"]
            .as_array()
            .expect("a list of examples")
            .iter()
            .map(|e| e.as_str().expect("an example is text"))
            .collect();
        assert!(
            examples.iter().any(|e| needles.iter().all(|n| e.contains(n))),
            "no example of `{name}` mentions all of {needles:?}: {examples:#?}"
        );
        assert_eq!(
            self.code,
            Some(1),
            "a dataset with a violation exits with 1\n{}",
            summary()
        );
        assert!(
            self.stderr.contains("the dataset violates"),
            "stderr says why it failed: {}",
            self.stderr
        );
    }
}

// ---------------------------------------------------------------------------------------------
// A minimal RFC 4180 reader and writer: fields separated by commas, records by LF or CRLF, a
// field quoted when it holds a comma, a quote or a line break, a quote inside doubled.

/// A CSV table: its header and its records, every value as text.
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn parse(text: &str) -> Table {
        #[derive(PartialEq)]
        enum State {
            /// At the start of a field.
            Start,
            Unquoted,
            Quoted,
            /// Just after a field's closing quote.
            Closed,
        }
        let mut records: Vec<Vec<String>> = Vec::new();
        let mut record: Vec<String> = Vec::new();
        let mut field = String::new();
        let mut state = State::Start;
        let mut chars = text.chars().peekable();
        let mut line = 1;
        while let Some(c) = chars.next() {
            if state == State::Quoted {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => state = State::Closed,
                    c => {
                        if c == '\n' {
                            line += 1;
                        }
                        field.push(c);
                    }
                }
                continue;
            }
            match c {
                ',' => {
                    record.push(std::mem::take(&mut field));
                    state = State::Start;
                }
                '\r' if chars.peek() == Some(&'\n') => {}
                '\n' => {
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                    state = State::Start;
                    line += 1;
                }
                '"' if state == State::Start => state = State::Quoted,
                c => {
                    assert!(state != State::Closed, "line {line}: `{c}` after a closing quote");
                    assert!(c != '"', "line {line}: a quote inside an unquoted field");
                    field.push(c);
                    state = State::Unquoted;
                }
            }
        }
        assert!(state != State::Quoted, "line {line}: a quoted field never closes");
        if state != State::Start || !record.is_empty() {
            record.push(field);
            records.push(record);
        }
        let mut records = records.into_iter();
        let header = records.next().expect("a header");
        let rows: Vec<Vec<String>> = records.collect();
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(
                r.len(),
                header.len(),
                "record {} has {} fields, the header {}",
                i + 1,
                r.len(),
                header.len()
            );
        }
        Table { header, rows }
    }

    pub fn to_csv(&self) -> String {
        fn record(out: &mut String, fields: &[String]) {
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if f.contains([',', '"', '\n', '\r']) {
                    out.push('"');
                    out.push_str(&f.replace('"', "\"\""));
                    out.push('"');
                } else {
                    out.push_str(f);
                }
            }
            out.push('\n');
        }
        let mut out = String::new();
        record(&mut out, &self.header);
        for r in &self.rows {
            record(&mut out, r);
        }
        out
    }

    pub fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column `{name}` in {:?}", self.header))
    }

    pub fn get(&self, row: usize, name: &str) -> &str {
        &self.rows[row][self.col(name)]
    }

    /// Sets a value and returns the one it replaces.
    pub fn set(&mut self, row: usize, name: &str, value: impl Into<String>) -> String {
        let c = self.col(name);
        std::mem::replace(&mut self.rows[row][c], value.into())
    }

    /// The first row, from `from` on, that satisfies `pred`.
    pub fn find(&self, from: usize, what: &str, pred: impl Fn(usize) -> bool) -> usize {
        (from..self.rows.len())
            .find(|&i| pred(i))
            .unwrap_or_else(|| panic!("no row from {from} on is {what}"))
    }

    /// Row index by the value of a key column.
    pub fn index(&self, key: &str) -> HashMap<String, usize> {
        let c = self.col(key);
        self.rows.iter().enumerate().map(|(i, r)| (r[c].clone(), i)).collect()
    }
}

pub fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("`{s}` is not a timestamp: {e}"))
        .with_timezone(&Utc)
}

/// A timestamp as the generator writes it, e.g. `2025-11-03T00:56:19.343Z`.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// How the validator names a transaction: `row N:`, 1-based, the header not counted.
pub fn row_label(index: usize) -> String {
    format!("row {}:", index + 1)
}

// ---------------------------------------------------------------------------------------------
// The untouched dataset.
