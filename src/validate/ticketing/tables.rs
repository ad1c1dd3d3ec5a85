//! The tables beside the transactions (events, users, labels), read before the replay or
//! after it, and where a dataset keeps them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use arrow::array::{Array, AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{Int64Type, SchemaRef, TimestampMicrosecondType};

use super::super::read::read_dataset_as;
use super::*;

/// Where a ticketing dataset's tables are.
pub(super) struct Tables {
    /// The data directory: the run summary is beside it.
    pub(super) data: PathBuf,
    pub(super) transactions: PathBuf,
    pub(super) events: Option<PathBuf>,
    pub(super) users: Option<PathBuf>,
    pub(super) labels: Option<PathBuf>,
}

impl Tables {
    /// `path` is a data directory, its `transactions/` dataset, or `transactions.csv`.
    pub(super) fn find(path: &Path) -> Result<Tables> {
        let (data, transactions) = if path.is_dir() && path.join(layout::TRANSACTIONS.parquet_dir).is_dir() {
            (path.to_path_buf(), path.join(layout::TRANSACTIONS.parquet_dir))
        } else if path.is_dir() && path.join(layout::TRANSACTIONS.csv_name()).is_file() {
            (path.to_path_buf(), path.join(layout::TRANSACTIONS.csv_name()))
        } else if path.is_dir() && layout::TRANSACTIONS.day_csv_dir(path).is_dir() {
            (path.to_path_buf(), layout::TRANSACTIONS.day_csv_dir(path))
        } else if path.exists() {
            (
                path.parent().unwrap_or(Path::new(".")).to_path_buf(),
                path.to_path_buf(),
            )
        } else {
            return Err(super::super::read::no_dataset(
                path,
                "no such file or directory: give a ticketing data directory, its transactions/ or transactions.csv",
            ));
        };
        let table = |name: &str| layout::side_table(&data, name);
        Ok(Tables {
            data: data.clone(),
            transactions,
            events: table(layout::EVENTS),
            users: table(layout::USERS),
            labels: table(layout::LABELS),
        })
    }
}

/// Reads every batch of a table.
fn read_table(path: &Path, schema: &SchemaRef) -> Result<Vec<RecordBatch>> {
    read_dataset_as(path, schema)?.collect()
}

impl State<'_> {
    /// Reads the events table.
    pub(super) fn events(&mut self, path: &Path) -> Result<()> {
        for b in read_table(path, &EVENTS_SCHEMA)? {
            let id = col_str(&b, "event_id")?;
            let ts = |name: &str| -> Result<Vec<Option<i64>>> {
                let a = b
                    .column_by_name(name)
                    .and_then(|a| a.as_primitive_opt::<TimestampMicrosecondType>())
                    .with_context(|| format!("{}: no timestamp column `{name}`", path.display()))?;
                Ok((0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i))).collect())
            };
            let int = |name: &str| col_i64(&b, name);
            let caps = [
                int("vip_capacity")?,
                int("premium_capacity")?,
                int("standard_capacity")?,
            ];
            let sold = [int("vip_sold")?, int("premium_sold")?, int("standard_sold")?];
            let outs = [
                ts("vip_sold_out_at")?,
                ts("premium_sold_out_at")?,
                ts("standard_sold_out_at")?,
            ];
            let (presale, general, event) = (ts("presale_at")?, ts("general_sale_at")?, ts("event_at")?);
            for i in 0..b.num_rows() {
                let e = EventState {
                    capacity: [0, 1, 2].map(|t| caps[t].value(i)),
                    sold: [0, 1, 2].map(|t| sold[t].value(i)),
                    sold_out_at: [0, 1, 2].map(|t| outs[t][i]),
                    presale_at: presale[i].unwrap_or(i64::MIN),
                    general_at: general[i].unwrap_or(i64::MIN),
                    event_at: event[i].unwrap_or(i64::MAX),
                    replay_sold: [0; 3],
                    replay_presale_sold: [0; 3],
                    replay_sold_out_at: [None; 3],
                };
                let key = id.value(i).to_string();
                if self.events.insert(key.clone(), e).is_some() {
                    self.fail(UNIQUE_IDS, || format!("events: event_id {key} seen before"));
                }
            }
        }
        Ok(())
    }

    /// Reads the users table: their ids and personas.
    pub(super) fn users(&mut self, path: &Path) -> Result<()> {
        let mut users = FxHashMap::default();
        for b in read_table(path, &USERS_SCHEMA)? {
            let (id, persona) = (col_str(&b, "user_id")?, col_str(&b, "persona")?);
            for i in 0..b.num_rows() {
                let p = persona.value(i);
                let index = match self.personas.iter().position(|x| x == p) {
                    Some(index) => index,
                    None => {
                        self.personas.push(p.to_string());
                        self.personas.len() - 1
                    }
                };
                // More personas than a byte holds is not a ticketing users table; count them as one.
                let index = u8::try_from(index).unwrap_or(u8::MAX);
                if users
                    .insert(super::super::id_key(id.value(i), USER_PREFIX), index)
                    .is_some()
                {
                    let dup = id.value(i).to_string();
                    self.fail(UNIQUE_IDS, || format!("users: user_id {dup} seen before"));
                }
            }
        }
        self.users = Some(users);
        Ok(())
    }

    pub(super) fn labels(&mut self, path: &Path, window: Option<(i64, i64)>) -> Result<()> {
        for b in read_table(path, &LABELS_SCHEMA)? {
            let ts = |name: &str| {
                b.column_by_name(name)
                    .and_then(|a| a.as_primitive_opt::<TimestampMicrosecondType>())
            };
            let (Some(start), Some(end), Ok(kind)) = (ts("start"), ts("end"), col_str(&b, "kind")) else {
                self.checks[LABELS].skipped = Some("no start, end or kind column".into());
                return Ok(());
            };
            for i in 0..b.num_rows() {
                let (s, e) = (start.value(i), end.value(i));
                let inside = window.is_none_or(|(lo, hi)| s >= lo && e <= hi);
                if s >= e || !inside {
                    let k = kind.value(i).to_string();
                    self.fail(LABELS, || {
                        format!(
                            "label {} ({k}): {} to {} is not inside the window",
                            i + 1,
                            iso(s),
                            iso(e)
                        )
                    });
                }
            }
        }
        Ok(())
    }
}

pub(super) fn col_str<'b>(b: &'b RecordBatch, name: &str) -> Result<&'b StringArray> {
    b.column_by_name(name)
        .and_then(|a| a.as_string_opt::<i32>())
        .with_context(|| format!("no text column `{name}`"))
}

pub(super) fn col_i64<'b>(b: &'b RecordBatch, name: &str) -> Result<&'b Int64Array> {
    b.column_by_name(name)
        .and_then(|a| a.as_primitive_opt::<Int64Type>())
        .with_context(|| format!("no integer column `{name}`"))
}

/// The window the run covered, from its run summary beside the data, in µs.
pub(super) fn window(data: &Path) -> Option<(i64, i64)> {
    let summary = data.parent()?.join("run_summary.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(summary).ok()?).ok()?;
    let start = chrono::NaiveDate::parse_from_str(json["start_date"].as_str()?, "%Y-%m-%d").ok()?;
    let days = json["days"].as_i64()?;
    let lo = start.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros();
    Some((lo, lo + days * 24 * HOUR_US))
}
