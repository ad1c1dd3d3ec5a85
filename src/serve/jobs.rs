//! Analyses, one at a time: started by `POST /api/analyze` or by the live run, each with an id
//! and a record that `GET /api/analyze/{id}` returns. A second request while one runs is refused
//! with the running one's id (409); the live run instead defers its request, which starts when
//! the running analysis ends (several deferred requests become one).
//!
//! An analysis of some analyzers (`only`) re-runs them over the current data and keeps the other
//! pages of the server's previous analysis as they were (their files unchanged, so their footers
//! still say when and from what they were made); with no previous analysis in this server, it
//! runs every analyzer.

use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result};
use serde::Serialize;

use super::AppState;
use crate::analyze::Analysis;
use crate::cli::analyze::{Prepared, summary_line};
use crate::report::write_reports;

/// Finished analyses remembered for `GET /api/analyze/{id}`.
const RECORDS: usize = 64;

/// Who asked for an analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Api,
    Live,
}

/// An analysis to run.
#[derive(Debug, Clone)]
pub struct Request {
    /// Index of the report tree (mount) whose run plan and data it analyzes.
    pub mount: usize,
    pub only: Option<Vec<String>>,
    pub origin: Origin,
    /// Live analyses: the days written when asked (a deferred request has the latest).
    pub days: Option<u32>,
}

/// What `GET /api/analyze/{id}` says about an analysis.
#[derive(Debug, Clone, Serialize)]
pub struct JobRecord {
    pub id: u64,
    /// The report tree it writes.
    pub reports: String,
    pub origin: Origin,
    /// The analyzers asked for (`null`: all).
    pub only: Option<Vec<String>>,
    /// The analyzers that ran (all of them when `only` could not be honoured yet).
    pub ran: Vec<String>,
    /// `running`, `done` or `failed`.
    pub state: &'static str,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub seconds: Option<f64>,
    /// Rows analyzed, and the one-line summary.
    pub rows: Option<u64>,
    pub summary: Option<String>,
    pub error: Option<String>,
    /// Live analyses: the days written when it was asked for.
    pub days: Option<u32>,
}

/// The last full set of pages of a report tree, and their files, for partial re-runs.
struct Last {
    analysis: Analysis,
    files: Vec<(PathBuf, String)>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    running: Option<u64>,
    deferred: Option<Request>,
    stopping: bool,
    records: VecDeque<JobRecord>,
    last: HashMap<usize, Last>,
    /// When each page (mount, name) was last computed by this server.
    computed: HashMap<(usize, String), SystemTime>,
}

/// The single-flight analysis runner.
#[derive(Default)]
pub struct Jobs {
    inner: Mutex<Inner>,
    idle: tokio::sync::Notify,
}

impl Jobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("jobs lock")
    }

    /// Starts `request` unless an analysis runs; `Err` holds the running one's id.
    pub fn start(state: &Arc<AppState>, request: Request) -> Result<u64, u64> {
        let mut inner = state.jobs.lock();
        match inner.running {
            Some(id) => Err(id),
            None => Ok(Self::spawn(state, &mut inner, request)),
        }
    }

    /// Starts `request` now, or when the running analysis ends.
    pub fn start_or_defer(state: &Arc<AppState>, request: Request) {
        let mut inner = state.jobs.lock();
        if inner.stopping {
            return;
        }
        match inner.running {
            Some(_) => inner.deferred = Some(request),
            None => {
                Self::spawn(state, &mut inner, request);
            }
        }
    }

    /// Starts no more analyses and waits for the running one (and nothing else) to end.
    pub async fn stop(&self) {
        loop {
            let idle = self.idle.notified();
            {
                let mut inner = self.lock();
                inner.stopping = true;
                inner.deferred = None;
                if inner.running.is_none() {
                    return;
                }
            }
            idle.await;
        }
    }

    pub fn record(&self, id: u64) -> Option<JobRecord> {
        self.lock().records.iter().find(|r| r.id == id).cloned()
    }

    /// The running analysis, whether one is deferred, and the last one finished.
    pub fn overview(&self) -> (Option<JobRecord>, bool, Option<JobRecord>) {
        let inner = self.lock();
        let running = inner
            .running
            .and_then(|id| inner.records.iter().find(|r| r.id == id).cloned());
        let last = inner.records.iter().rev().find(|r| r.state != "running").cloned();
        (running, inner.deferred.is_some(), last)
    }

    /// When this server last computed page `name` of mount `mount`.
    pub fn computed(&self, mount: usize, name: &str) -> Option<SystemTime> {
        self.lock().computed.get(&(mount, name.to_string())).copied()
    }

    fn spawn(state: &Arc<AppState>, inner: &mut Inner, request: Request) -> u64 {
        inner.next += 1;
        let id = inner.next;
        inner.running = Some(id);
        // `only` is honoured when there is a previous analysis to keep the other pages from.
        let previous = match request.only {
            Some(_) => inner.last.remove(&request.mount),
            None => None,
        };
        let mount = &state.mounts[request.mount];
        let days = request.days;
        inner.records.push_back(JobRecord {
            id,
            reports: mount.name.clone(),
            origin: request.origin,
            only: request.only.clone(),
            ran: Vec::new(),
            state: "running",
            started_at: super::rfc3339(SystemTime::now()),
            finished_at: None,
            seconds: None,
            rows: None,
            summary: None,
            error: None,
            days,
        });
        while inner.records.len() > RECORDS {
            inner.records.pop_front();
        }
        let state = state.clone();
        state.runtime.clone().spawn_blocking(move || {
            let started = Instant::now();
            let only = previous.as_ref().and(request.only.as_deref());
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| run(&state, request.mount, only, previous)))
                .unwrap_or_else(|panic| {
                    let message = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    Err(anyhow::anyhow!("the analysis panicked: {message}"))
                });
            Self::finish(&state, id, request.mount, started, outcome, days);
        });
        id
    }

    fn finish(state: &Arc<AppState>, id: u64, mount: usize, started: Instant, outcome: Outcome, days: Option<u32>) {
        let mut inner = state.jobs.lock();
        let now = SystemTime::now();
        let (ran, rows, summary, error) = match outcome {
            Ok(done) => {
                for name in &done.ran {
                    inner.computed.insert((mount, name.clone()), now);
                }
                let record = (done.ran.clone(), Some(done.rows), Some(done.summary), None);
                inner.last.insert(mount, done.last);
                if let (Some(days), Some(live)) = (days, &state.live) {
                    let mut live = live.lock().expect("live lock");
                    live.analyzed_days = live.analyzed_days.max(days);
                }
                record
            }
            Err(e) => (Vec::new(), None, None, Some(format!("{e:#}"))),
        };
        if let Some(r) = inner.records.iter_mut().find(|r| r.id == id) {
            r.state = if error.is_some() { "failed" } else { "done" };
            r.finished_at = Some(super::rfc3339(now));
            r.seconds = Some((started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0);
            r.ran = ran;
            r.rows = rows;
            match &error {
                Some(e) => eprintln!("analysis {id} failed: {e}"),
                None => eprintln!("analysis {id}: {}", summary.as_deref().unwrap_or_default()),
            }
            r.summary = summary;
            r.error = error;
        }
        inner.running = None;
        let next = if inner.stopping { None } else { inner.deferred.take() };
        if let Some(request) = next {
            Self::spawn(state, &mut inner, request);
        }
        drop(inner);
        state.jobs.idle.notify_waiters();
    }
}

/// A finished analysis.
struct Done {
    ran: Vec<String>,
    rows: u64,
    summary: String,
    last: Last,
}

type Outcome = Result<Done>;

/// Analyzes mount `mount`'s data and writes its reports: every analyzer, or `only` those with
/// the other pages kept from `previous`.
fn run(state: &AppState, mount: usize, only: Option<&[String]>, previous: Option<Last>) -> Outcome {
    let started = Instant::now();
    let m = &state.mounts[mount];
    let plan = m
        .plan
        .clone()
        .context("this report tree has no run plan to analyze with")?;
    let prepared = Prepared::new(plan, &m.analysis, only)?;
    if let Some(gate) = &state.job_gate
        && !gate.pass(&state.stop)
    {
        anyhow::bail!("the server stopped before the analysis started");
    }
    let fresh = prepared.analyze(&m.data, &Default::default())?;
    let ran: Vec<String> = fresh.pages.iter().map(|p| p.name.to_string()).collect();
    let (analysis, files) = match previous {
        Some(previous) => {
            let analysis = prepared.merge(previous.analysis, fresh)?;
            let mut files = prepared.render(&analysis)?;
            // The pages not re-run keep their files: they were made from the data of then.
            let kept = |path: &PathBuf| {
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
                let page = path.extension().is_some_and(|e| e == "html" || e == "json")
                    && path
                        .file_name()
                        .is_some_and(|n| n != "index.html" && n != "manifest.json");
                page && !ran.iter().any(|r| r == stem) && stem != crate::analyze::CHECKS_TABLE
            };
            for (path, contents) in &mut files {
                if kept(path)
                    && let Some((_, old)) = previous.files.iter().find(|(p, _)| p == path)
                {
                    contents.clone_from(old);
                }
            }
            (analysis, files)
        }
        None => {
            let files = prepared.render(&fresh)?;
            (fresh, files)
        }
    };
    write_reports(&m.dir, &files)?;
    Ok(Done {
        summary: summary_line(&analysis, &m.dir, started),
        rows: analysis.window.rows,
        ran,
        last: Last { analysis, files },
    })
}
