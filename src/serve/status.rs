//! `GET /api/status`: for each report tree, its dataset (rows, bytes, days, and what an
//! unfinished generation left), the progress toward the run plan's target, the reports'
//! times and staleness; the live run; the analyses. Computed from the files each time (a few
//! `stat`s and Parquet footers, cached by file identity), off the async threads.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use serde::Serialize;

use super::jobs::JobRecord;
use super::live::LiveStatus;
use super::{AppState, MountState, rfc3339};
use crate::config::SizeTarget;
use crate::config::size::human_bytes;
use crate::report::html::count;
use crate::report::manifest::Manifest;
use crate::sink::atomic::{leftovers, leftovers_note};
use crate::sink::layout;
use crate::validate::read::{day_csv_files, parquet_files};

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub now: String,
    pub mounts: Vec<MountStatus>,
    pub live: Option<LiveStatus>,
    pub analysis: AnalysisStatus,
}

#[derive(Debug, Clone, Serialize)]
pub struct AnalysisStatus {
    pub running: Option<JobRecord>,
    /// A live analysis waits for the running one.
    pub deferred: bool,
    pub last: Option<JobRecord>,
}

/// One report tree, served under `url`.
#[derive(Debug, Clone, Serialize)]
pub struct MountStatus {
    pub name: String,
    pub url: String,
    pub dataset: Option<DatasetStatus>,
    pub target: Option<Target>,
    pub progress: Option<Progress>,
    pub reports: ReportsStatus,
    /// The live panel's texts, formatted once here for the page and its script alike.
    pub panel: Panel,
}

#[derive(Debug, Clone, Serialize)]
pub struct DatasetStatus {
    /// The data directory.
    pub path: PathBuf,
    pub table: &'static str,
    /// Complete files of the fact table.
    pub files: usize,
    /// Rows of the Parquet files (from their footers); `null` for CSV only.
    pub rows: Option<u64>,
    pub csv_bytes: Option<u64>,
    pub parquet_bytes: Option<u64>,
    /// Days with data, and the first and last.
    pub days: usize,
    pub first_day: Option<String>,
    pub last_day: Option<String>,
    /// The newest complete file's time: reports older than it are stale.
    pub modified: Option<String>,
    /// Unfinished files an interrupted or running generation left (readers skip them).
    pub leftovers: Vec<PathBuf>,
    pub note: Option<String>,
    #[serde(skip)]
    modified_time: Option<SystemTime>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub days: u32,
    pub csv_bytes: Option<u64>,
    pub rows: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    /// Days with data ÷ the window's days.
    pub days: f64,
    /// CSV bytes ÷ the target size, when the target is a size and CSV is written.
    pub bytes: Option<f64>,
    /// What the bar shows: the bytes when known, else the days.
    pub fraction: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportsStatus {
    pub dir: PathBuf,
    pub exists: bool,
    /// As the manifest says (`SOURCE_DATE_EPOCH` when set).
    pub generated_at: Option<String>,
    /// When the manifest was written, and how long ago.
    pub written_at: Option<String>,
    pub age_seconds: Option<u64>,
    /// The data changed after the reports were written.
    pub stale: Option<bool>,
    pub rows: Option<u64>,
    /// Changes whenever the reports are rewritten (the served pages reload on a change).
    pub version: Option<String>,
    pub pages: Vec<PageStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PageStatus {
    pub name: String,
    pub title: String,
    pub path: String,
    /// When the page was last computed (by this server, else its file's time).
    pub generated_at: Option<String>,
    pub stale: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Panel {
    pub state: String,
    pub size: String,
    /// 0 to 100.
    pub percent: f64,
    pub updated_seconds: Option<u64>,
    pub analysis: String,
}

/// Rows of Parquet files, by (path, length, modification time).
#[derive(Default)]
pub struct RowCache(Mutex<HashMap<PathBuf, (u64, SystemTime, u64)>>);

impl RowCache {
    fn rows(&self, path: &Path) -> Option<u64> {
        let meta = std::fs::metadata(path).ok()?;
        let (len, modified) = (meta.len(), meta.modified().ok()?);
        if let Some(&(l, m, rows)) = self.0.lock().expect("row cache").get(path)
            && (l, m) == (len, modified)
        {
            return Some(rows);
        }
        let file = std::fs::File::open(path).ok()?;
        let reader = parquet::file::serialized_reader::SerializedFileReader::new(file).ok()?;
        use parquet::file::reader::FileReader;
        let rows = u64::try_from(reader.metadata().file_metadata().num_rows()).ok()?;
        self.0
            .lock()
            .expect("row cache")
            .insert(path.to_path_buf(), (len, modified, rows));
        Some(rows)
    }
}

/// The whole status, now.
pub(crate) fn status(state: &AppState) -> Status {
    let now = SystemTime::now();
    let live = state.live.as_ref().map(|l| {
        let mut s = l.lock().expect("live lock").clone();
        s.state = s.current_state();
        s
    });
    let (running, deferred, last) = state.jobs.overview();
    let analysis = AnalysisStatus {
        running,
        deferred,
        last,
    };
    let mounts = state
        .mounts
        .iter()
        .enumerate()
        .map(|(i, m)| mount_status(state, i, m, now, live.as_ref().filter(|_| i == 0), &analysis))
        .collect();
    Status {
        now: rfc3339(now),
        mounts,
        live,
        analysis,
    }
}

fn mount_status(
    state: &AppState,
    index: usize,
    m: &MountState,
    now: SystemTime,
    live: Option<&LiveStatus>,
    analysis: &AnalysisStatus,
) -> MountStatus {
    let dataset = m
        .plan
        .as_ref()
        .map(|plan| dataset_status(state, &m.data, layout::fact_table(plan)));
    let target = m.plan.as_ref().map(|plan| {
        let run = plan.run();
        Target {
            days: run.days,
            csv_bytes: match run.size {
                SizeTarget::CsvBytes(b) => Some(b),
                _ => None,
            },
            rows: match run.size {
                SizeTarget::Rows(n) => Some(n),
                _ => None,
            },
        }
    });
    let progress = match (&dataset, &target) {
        (Some(d), Some(t)) => {
            let days = d.days as f64 / f64::from(t.days.max(1));
            let bytes = t.csv_bytes.zip(d.csv_bytes).map(|(t, b)| b as f64 / t.max(1) as f64);
            Some(Progress {
                days,
                bytes,
                fraction: bytes.unwrap_or(days).clamp(0.0, 1.0),
            })
        }
        _ => None,
    };
    let reports = reports_status(state, index, m, now, dataset.as_ref());
    let panel = panel(
        m,
        dataset.as_ref(),
        target.as_ref(),
        progress.as_ref(),
        &reports,
        live,
        analysis,
    );
    MountStatus {
        name: m.name.clone(),
        url: format!("/{}/", m.name),
        dataset,
        target,
        progress,
        reports,
        panel,
    }
}

fn dataset_status(state: &AppState, data: &Path, table: layout::FactTable) -> DatasetStatus {
    let parquet = parquet_files(&data.join(table.parquet_dir)).unwrap_or_default();
    let day_csvs = day_csv_files(&table.day_csv_dir(data)).unwrap_or_default();
    let whole_csv = data.join(table.csv_name());
    let csvs: Vec<PathBuf> = match (day_csvs.is_empty(), whole_csv.is_file()) {
        (false, _) => day_csvs,
        (true, true) => vec![whole_csv],
        (true, false) => Vec::new(),
    };
    let size = |files: &[PathBuf]| -> Option<u64> {
        (!files.is_empty()).then(|| files.iter().filter_map(|f| f.metadata().ok()).map(|m| m.len()).sum())
    };
    let rows = (!parquet.is_empty())
        .then(|| parquet.iter().map(|f| state.rows.rows(f)).sum::<Option<u64>>())
        .flatten();
    let days: BTreeSet<String> = parquet
        .iter()
        .chain(&csvs)
        .filter_map(|f| {
            f.parent()?
                .file_name()?
                .to_str()?
                .strip_prefix("date=")
                .map(str::to_string)
        })
        .collect();
    let modified = parquet
        .iter()
        .chain(&csvs)
        .filter_map(|f| f.metadata().ok()?.modified().ok())
        .max();
    let left = leftovers(data);
    DatasetStatus {
        path: data.to_path_buf(),
        table: table.name,
        files: parquet.len() + csvs.len(),
        rows,
        csv_bytes: size(&csvs),
        parquet_bytes: size(&parquet),
        days: days.len(),
        first_day: days.first().cloned(),
        last_day: days.last().cloned(),
        modified: modified.map(rfc3339),
        note: leftovers_note(data),
        leftovers: left
            .into_iter()
            .map(|p| p.strip_prefix(data).map(Path::to_path_buf).unwrap_or(p))
            .collect(),
        modified_time: modified,
    }
}

fn reports_status(
    state: &AppState,
    index: usize,
    m: &MountState,
    now: SystemTime,
    dataset: Option<&DatasetStatus>,
) -> ReportsStatus {
    let manifest_path = m.dir.join("manifest.json");
    let written = manifest_path.metadata().and_then(|m| m.modified()).ok();
    let manifest: Option<Manifest> = std::fs::read(&manifest_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let data_time = dataset.and_then(|d| d.modified_time);
    let stale = |t: Option<SystemTime>| t.zip(data_time).map(|(t, d)| d > t);
    let pages = manifest
        .iter()
        .flat_map(|man| &man.reports)
        .map(|r| {
            let time = state
                .jobs
                .computed(index, &r.name)
                .or_else(|| m.dir.join(&r.path).metadata().and_then(|m| m.modified()).ok());
            PageStatus {
                name: r.name.clone(),
                title: r.title.clone(),
                path: r.path.clone(),
                generated_at: time.map(rfc3339),
                stale: stale(time),
            }
        })
        .collect();
    ReportsStatus {
        dir: m.dir.clone(),
        exists: m.dir.is_dir(),
        generated_at: manifest.as_ref().map(|m| m.generated_at.clone()),
        written_at: written.map(rfc3339),
        age_seconds: written.and_then(|w| now.duration_since(w).ok()).map(|d| d.as_secs()),
        stale: stale(written),
        rows: manifest.as_ref().map(|m| m.rows),
        version: written
            .and_then(|w| w.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos().to_string()),
        pages,
    }
}

fn panel(
    m: &MountState,
    dataset: Option<&DatasetStatus>,
    target: Option<&Target>,
    progress: Option<&Progress>,
    reports: &ReportsStatus,
    live: Option<&LiveStatus>,
    analysis: &AnalysisStatus,
) -> Panel {
    let days = |done: usize, total: u32| format!("{done} of {total} days");
    let state = match (live, dataset, target) {
        (Some(l), _, _) => match l.current_state() {
            "generating" => format!("Live: generating, {} written", days(l.days_done as usize, l.days_total)),
            "analyzing" => format!("Live: all {} days written, analyzing", l.days_total),
            "done" => format!("Live: done, {} days generated and analyzed", l.days_total),
            "failed" => format!("Live: failed: {}", l.error.as_deref().unwrap_or("see the server's log")),
            other => format!("Live: {other} after {}", days(l.days_done as usize, l.days_total)),
        },
        (None, Some(d), Some(t)) => format!("Dataset: {}", days(d.days, t.days)),
        _ => format!("Reports of {}", m.dir.display()),
    };
    let size = match (dataset, target) {
        (Some(d), Some(t)) => match (d.csv_bytes, t.csv_bytes) {
            (Some(b), Some(goal)) => format!("{} of {} CSV", human_bytes(b), human_bytes(goal)),
            (Some(b), None) => format!("{} CSV", human_bytes(b)),
            _ => format!("{} rows", d.rows.map_or_else(|| "–".to_string(), |r| count(r as f64))),
        },
        _ => String::new(),
    };
    let analysis = match (&analysis.running, analysis.deferred, &analysis.last) {
        (Some(r), true, _) => format!("analysis {} running, another queued", r.id),
        (Some(r), false, _) => format!("analysis {} running", r.id),
        (None, _, Some(l)) if l.state == "failed" => format!("analysis {} failed", l.id),
        _ => String::new(),
    };
    Panel {
        state,
        size,
        percent: progress.map_or(0.0, |p| (p.fraction * 1000.0).round() / 10.0),
        updated_seconds: reports.age_seconds,
        analysis,
    }
}
