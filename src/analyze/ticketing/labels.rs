//! The labels table as the ticketing analyzers read it: the ground truth of every scenario
//! (flash-sale windows, attack bursts, drift weeks, degradation windows, the A/B test, Black
//! Friday), each a time window with a magnitude.

use anyhow::Result;
use chrono::{DateTime, Utc};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::super::Context;
use super::super::frame::{floats, strings};

/// One labelled window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Label {
    pub scenario: String,
    pub cohort: String,
    /// `flash_sale`, `attack`, `drift`, `degradation`, `ab_test`, `black_friday`.
    pub kind: String,
    pub subject_type: String,
    pub subject: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub magnitude: f64,
    pub detail: String,
}

impl Label {
    /// Whether `t` (µs since the epoch) lies in `[start, end)`.
    pub fn contains_us(&self, t: i64) -> bool {
        (self.start.timestamp_micros()..self.end.timestamp_micros()).contains(&t)
    }

    /// A short name for the window: `2025-11-11 16:00–16:45`.
    pub fn window_name(&self) -> String {
        let end = if self.end.date_naive() == self.start.date_naive() {
            self.end.format("%H:%M").to_string()
        } else {
            self.end.format("%Y-%m-%d %H:%M").to_string()
        };
        format!("{}–{end}", self.start.format("%Y-%m-%d %H:%M"))
    }
}

/// Every label, in start order (then kind and subject, so the order is stable).
pub fn read<C>(ctx: &Context<'_, C>) -> Result<Vec<Label>> {
    from_frame(&ctx.collect(select(ctx.table(crate::sink::layout::LABELS)?))?)
}

/// Every label of a labels file (`.parquet` or `.csv`), in start order.
pub fn read_file(path: &std::path::Path) -> Result<Vec<Label>> {
    use anyhow::Context as _;
    let display = path.display();
    let table = match path.extension().and_then(|e| e.to_str()) {
        Some("parquet") => LazyFrame::scan_parquet(PlRefPath::try_from_path(path)?, ScanArgsParquet::default())?,
        Some("csv") => LazyCsvReader::new(PlRefPath::try_from_path(path)?)
            .with_has_header(true)
            .with_try_parse_dates(true)
            .finish()?,
        _ => anyhow::bail!("{display}: a labels file is labels.parquet or labels.csv"),
    };
    let df = select(table)
        .collect()
        .map_err(anyhow::Error::from)
        .with_context(|| format!("{display}: not a labels table (scenario, cohort, kind, subject_type, subject, start, end, magnitude, detail)"))?;
    from_frame(&df).with_context(|| format!("{display}: cannot read the labels"))
}

/// The labels' columns, times as µs since the epoch.
fn select(table: LazyFrame) -> LazyFrame {
    let micros = |c: &str| col(c).dt().timestamp(TimeUnit::Microseconds).alias(c);
    table.select([
        col("scenario"),
        col("cohort"),
        col("kind"),
        col("subject_type"),
        col("subject"),
        micros("start"),
        micros("end"),
        col("magnitude").cast(DataType::Float64),
        col("detail"),
    ])
}

fn from_frame(df: &DataFrame) -> Result<Vec<Label>> {
    let time = |c: &str| -> Result<Vec<DateTime<Utc>>> {
        df.column(c)?
            .i64()?
            .iter()
            .map(|v| {
                v.and_then(DateTime::from_timestamp_micros)
                    .ok_or_else(|| anyhow::anyhow!("labels: `{c}` is empty or out of range"))
            })
            .collect()
    };
    let (starts, ends) = (time("start")?, time("end")?);
    let mut out: Vec<Label> = strings(df, "scenario")?
        .into_iter()
        .zip(strings(df, "cohort")?)
        .zip(strings(df, "kind")?)
        .zip(strings(df, "subject_type")?)
        .zip(strings(df, "subject")?)
        .zip(starts.into_iter().zip(ends))
        .zip(floats(df, "magnitude")?.into_iter().zip(strings(df, "detail")?))
        .map(
            |((((((scenario, cohort), kind), subject_type), subject), (start, end)), (magnitude, detail))| Label {
                scenario,
                cohort,
                kind,
                subject_type,
                subject,
                start,
                end,
                magnitude,
                detail,
            },
        )
        .collect();
    out.sort_by(|a, b| (a.start, &a.kind, &a.subject).cmp(&(b.start, &b.kind, &b.subject)));
    Ok(out)
}

/// The labels of one kind.
pub fn of_kind<'a>(labels: &'a [Label], kind: &'a str) -> impl Iterator<Item = &'a Label> + 'a {
    labels.iter().filter(move |l| l.kind == kind)
}
