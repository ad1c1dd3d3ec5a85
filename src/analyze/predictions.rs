//! External fraud predictions (`--predictions FILE`): a user's own model's, or what `replay`
//! recorded from a live service. A CSV or Parquet file of `transaction_id` with a `score` in
//! [0, 1] and/or a `decision` (flagged or not); the fraud page scores them against `is_fraud`
//! the same way as the baseline detector.
//!
//! A bad file is refused before any analysis, naming the file and the problem: a missing
//! column, a score outside [0, 1] or missing, a duplicated id, an id that is not in the data.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use polars::prelude::*;

/// The columns a predictions file may have.
pub const ID: &str = "transaction_id";
pub const SCORE: &str = "score";
pub const DECISION: &str = "decision";

/// A checked predictions file: one row per transaction, `transaction_id` (String), `score`
/// (Float64, when given) and `decision` (Boolean, when given).
#[derive(Debug, Clone)]
pub struct Predictions {
    pub path: PathBuf,
    pub frame: DataFrame,
    pub has_score: bool,
    pub has_decision: bool,
}

impl Predictions {
    pub fn rows(&self) -> usize {
        self.frame.height()
    }
}

/// Reads and checks `path` on its own (the ids against the data come later, see [`check_ids`]).
pub fn read(path: &Path) -> Result<Predictions> {
    let display = path.display();
    if !path.is_file() {
        bail!("{display}: no such predictions file");
    }
    let frame = match path.extension().and_then(|e| e.to_str()) {
        Some("parquet") => {
            let file = std::fs::File::open(path).with_context(|| format!("cannot open {display}"))?;
            ParquetReader::new(file)
                .finish()
                .map_err(anyhow::Error::from)
                .with_context(|| format!("{display}: not a readable Parquet file"))?
        }
        Some("csv") => CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(10_000))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))?
            .finish()
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{display}: not a readable CSV file"))?,
        _ => bail!("{display}: a predictions file must be .csv or .parquet"),
    };
    let names: Vec<String> = frame.get_column_names().iter().map(|n| n.to_string()).collect();
    let has = |c: &str| names.iter().any(|n| n == c);
    if !has(ID) {
        bail!(
            "{display}: missing column `{ID}` (the file has {}); a predictions file has `{ID}` with `{SCORE}` (0 to 1) and/or `{DECISION}` (true/false)",
            names.join(", ")
        );
    }
    let (has_score, has_decision) = (has(SCORE), has(DECISION));
    if !has_score && !has_decision {
        bail!(
            "{display}: missing column `{SCORE}` or `{DECISION}`: give a fraud score from 0 to 1, a decision (true = flagged as fraud), or both"
        );
    }
    let mut columns = vec![
        frame
            .column(ID)?
            .cast(&DataType::String)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{display}: column `{ID}` is not text"))?,
    ];
    if frame.column(ID)?.null_count() > 0 {
        bail!("{display}: column `{ID}` has empty values");
    }
    if has_score {
        let score = frame
            .column(SCORE)?
            .cast(&DataType::Float64)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{display}: column `{SCORE}` is not numeric"))?;
        let values = score.f64()?;
        if let Some(row) = values.iter().position(|v| v.is_none()) {
            bail!(
                "{display}: column `{SCORE}` is empty or not a number at row {}",
                row + 1
            );
        }
        if let Some((row, v)) = values
            .iter()
            .enumerate()
            .find_map(|(i, v)| v.filter(|v| !(0.0..=1.0).contains(v)).map(|v| (i, v)))
        {
            bail!(
                "{display}: `{SCORE}` is {v} at row {} ({}): scores must lie from 0 to 1",
                row + 1,
                frame.column(ID)?.get(row).map(|a| a.to_string()).unwrap_or_default()
            );
        }
        columns.push(score);
    }
    if has_decision {
        columns.push(
            decision_column(frame.column(DECISION)?)
                .with_context(|| format!("{display}: column `{DECISION}` must be true/false (or 1/0) on every row"))?,
        );
    }
    let frame = DataFrame::new_infer_height(columns)?;
    let duplicates = frame
        .clone()
        .lazy()
        .group_by([col(ID)])
        .agg([len().alias("n")])
        .filter(col("n").gt(lit(1)))
        .sort([ID], SortMultipleOptions::default())
        .collect()?;
    if duplicates.height() > 0 {
        bail!(
            "{display}: {} transaction id(s) appear more than once, e.g. {}: give one prediction per transaction",
            duplicates.height(),
            examples(&duplicates)?
        );
    }
    Ok(Predictions {
        path: path.to_path_buf(),
        frame,
        has_score,
        has_decision,
    })
}

/// `decision` as booleans: true/false, or the integers 1/0.
fn decision_column(c: &Column) -> Result<Column> {
    let out = match c.dtype() {
        DataType::Boolean => c.clone(),
        dt if dt.is_integer() => {
            let ints = c.cast(&DataType::Int64)?;
            if ints.i64()?.iter().any(|v| !matches!(v, Some(0 | 1))) {
                bail!("integers other than 0 and 1");
            }
            ints.cast(&DataType::Boolean)?
        }
        DataType::String => {
            let values = c.str()?;
            let parsed: BooleanChunked = values
                .iter()
                .map(|v| match v.map(|s| s.trim().to_ascii_lowercase()) {
                    Some(s) if s == "true" || s == "1" => Some(true),
                    Some(s) if s == "false" || s == "0" => Some(false),
                    _ => None,
                })
                .collect();
            parsed.into_series().into_column()
        }
        other => bail!("type {other}"),
    };
    if out.null_count() > 0 {
        bail!("empty or unreadable values");
    }
    Ok(out.with_name(DECISION.into()))
}

/// Refuses predictions for transactions the data does not have; returns how many of the data's
/// transactions have a prediction.
pub fn check_ids(p: &Predictions, transactions: LazyFrame, engine: Engine) -> Result<u64> {
    let ids = transactions.select([col(ID)]);
    let unknown = p
        .frame
        .clone()
        .lazy()
        .select([col(ID)])
        .join(ids, [col(ID)], [col(ID)], JoinArgs::new(JoinType::Anti))
        .sort([ID], SortMultipleOptions::default())
        .collect_with_engine(engine)?
        .unwrap_single();
    if unknown.height() > 0 {
        bail!(
            "{}: {} transaction id(s) are not in the data, e.g. {}: predictions must be for this dataset's transactions",
            p.path.display(),
            unknown.height(),
            examples(&unknown)?
        );
    }
    Ok(p.rows() as u64)
}

/// Up to three ids of a frame whose first column is `transaction_id`.
fn examples(df: &DataFrame) -> Result<String> {
    let ids = df.column(ID)?.str()?;
    Ok(ids
        .iter()
        .take(3)
        .flatten()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", "))
}
