//! The columns map (`--columns-map FILE`): a TOML file that says how another export's columns
//! make the calls schema's. Read and checked here, before any data is read; applied by
//! [`super::apply`]. The format is documented in the README ("Analyzing other data") and by
//! example in the presets, `config/columns/*.toml`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::batch::calls::calls_columns;
use crate::batch::columns::ColumnType;
use crate::config::checks::{allowed, read_toml};
use crate::config::{ConfigError, embedded};

/// Where the presets live: `--columns-map NAME` reads `config/columns/NAME.toml` (built in).
pub const PRESET_DIR: &str = "config/columns";

/// The flag, as errors name it.
const FLAG: &str = "--columns-map";

/// The keys of a map file's top level.
const TOP_KEYS: [&str; 3] = ["description", "naive_timezone", "columns"];

/// The keys of a column's table.
const SOURCE_KEYS: [&str; 9] = [
    "column",
    "value",
    "first_of",
    "between",
    "scale",
    "epoch",
    "contains",
    "otherwise",
    "optional",
];

/// A checked columns map.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnsMap {
    /// The file, as given or resolved (a preset's path starts with `config/columns/`).
    pub path: PathBuf,
    pub description: Option<String>,
    /// The zone of timestamps written without one (`None`: UTC, and the index says so).
    pub naive_timezone: Option<chrono_tz::Tz>,
    /// Each calls column the map makes, by name (sorted), with where it comes from.
    pub columns: BTreeMap<String, Mapped>,
}

/// One column of the calls schema, made by the map.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub source: Source,
    /// The column's type in the calls schema.
    pub target: Kind,
    /// When the export's columns are absent, leave this column out instead of failing (the
    /// pages that need it then say so).
    pub optional: bool,
}

/// Where a mapped column's values come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Another column, multiplied by `scale` (numbers) or read as seconds/ms/µs since 1970
    /// (`epoch`, for a timestamp).
    Column {
        name: String,
        scale: Option<f64>,
        epoch: Option<Epoch>,
    },
    /// The same value on every row.
    Value(Constant),
    /// The first of these columns that is neither null nor empty, row by row.
    FirstOf(Vec<String>),
    /// Milliseconds from the first timestamp column to the second.
    Between(String, String),
    /// The output of the first pattern the column's text contains, else `otherwise`.
    Contains {
        name: String,
        patterns: Vec<(String, String)>,
        otherwise: String,
    },
}

impl Source {
    /// The export's columns this source reads.
    pub fn inputs(&self) -> Vec<&str> {
        match self {
            Source::Column { name, .. } | Source::Contains { name, .. } => vec![name],
            Source::Value(_) => vec![],
            Source::FirstOf(names) => names.iter().map(String::as_str).collect(),
            Source::Between(a, b) => vec![a, b],
        }
    }

    /// How the index describes it.
    pub fn describe(&self) -> String {
        match self {
            Source::Column { name, scale, epoch } => match (scale, epoch) {
                (Some(s), _) => format!("`{name}` × {s}"),
                (_, Some(e)) => format!("`{name}` ({} since 1970)", e.name()),
                _ => format!("`{name}`"),
            },
            Source::Value(c) => format!("the constant {}", c.describe()),
            Source::FirstOf(names) => format!(
                "the first non-empty of {}",
                names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            ),
            Source::Between(a, b) => format!("milliseconds from `{a}` to `{b}`"),
            Source::Contains {
                name,
                patterns,
                otherwise,
            } => format!(
                "`{name}` matched against {} pattern(s), else \"{otherwise}\"",
                patterns.len()
            ),
        }
    }
}

/// A constant value of a mapped column.
#[derive(Debug, Clone, PartialEq)]
pub enum Constant {
    Text(String),
    Int(i64),
    Float(f64),
}

impl Constant {
    fn describe(&self) -> String {
        match self {
            Constant::Text(s) => format!("\"{s}\""),
            Constant::Int(i) => i.to_string(),
            Constant::Float(f) => f.to_string(),
        }
    }
}

/// The unit of a number of time since 1970.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Epoch {
    Seconds,
    Millis,
    Micros,
}

impl Epoch {
    /// Microseconds per unit.
    pub fn micros(self) -> i64 {
        match self {
            Epoch::Seconds => 1_000_000,
            Epoch::Millis => 1_000,
            Epoch::Micros => 1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Epoch::Seconds => "seconds",
            Epoch::Millis => "milliseconds",
            Epoch::Micros => "microseconds",
        }
    }
}

/// What a calls column holds, as far as a map is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Timestamp,
    Integer,
    Number,
    Text,
}

impl Kind {
    fn of(ty: ColumnType) -> Kind {
        match ty {
            ColumnType::Timestamp | ColumnType::Date => Kind::Timestamp,
            ColumnType::Int64 => Kind::Integer,
            ColumnType::Float64 => Kind::Number,
            _ => Kind::Text,
        }
    }

    pub fn numeric(self) -> bool {
        matches!(self, Kind::Integer | Kind::Number)
    }
}

/// The calls schema's columns a map may make, with their kinds.
pub fn targets() -> Vec<(&'static str, Kind)> {
    calls_columns().iter().map(|c| (c.name, Kind::of(c.ty))).collect()
}

/// The map named by `--columns-map`: a file, or the name of a preset (`litellm`).
pub fn resolve(given: &str) -> Result<PathBuf, ConfigError> {
    let path = PathBuf::from(given);
    if path.exists() {
        return Ok(path);
    }
    let is_name = !given.is_empty() && !given.contains(['/', '\\', '.']);
    let preset = embedded::resolve(&Path::new(PRESET_DIR).join(format!("{given}.toml")));
    if is_name && (preset.exists() || embedded::read(&preset).is_some_and(|t| t.is_some())) {
        return Ok(preset);
    }
    Err(ConfigError::flag(
        FLAG,
        format!(
            "{given}: no such file, and no preset of that name: give a TOML file, or one of the presets {}",
            allowed(presets().iter().map(String::as_str))
        ),
    ))
}

/// The presets' names (`config/columns/*.toml`).
pub fn presets() -> Vec<String> {
    let dir = Path::new(embedded::ROOT).join("columns");
    let mut names: Vec<String> = embedded::list(&dir)
        .unwrap_or_default()
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
        .collect();
    names.sort();
    names
}

/// Reads and checks the map at `path`: every key known, every target a calls column, every
/// value of the type its target needs. Errors name the file, the key and what is allowed.
pub fn load(path: &Path) -> Result<ColumnsMap, ConfigError> {
    let table: toml::Table = read_toml(path)?;
    let bad = |key: &str, message: String| ConfigError::invalid(path, key, message);
    for key in table.keys() {
        if !TOP_KEYS.contains(&key.as_str()) {
            return Err(bad(key, format!("unknown key: allowed are {}", allowed(TOP_KEYS))));
        }
    }
    let description = match table.get("description") {
        None => None,
        Some(toml::Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(bad("description", "must be text".into())),
    };
    let naive_timezone = match table.get("naive_timezone") {
        None => None,
        Some(toml::Value::String(s)) => Some(s.parse::<chrono_tz::Tz>().map_err(|_| {
            bad(
                "naive_timezone",
                format!("\"{s}\" is not a time zone: allowed are IANA names such as UTC or Europe/Paris"),
            )
        })?),
        Some(_) => {
            return Err(bad(
                "naive_timezone",
                "must be text: an IANA time zone such as UTC".into(),
            ));
        }
    };
    let Some(toml::Value::Table(cols)) = table.get("columns") else {
        return Err(bad(
            "columns",
            "missing or not a table: add `[columns]` with one key per calls column, e.g. cost_usd = \"spend\"".into(),
        ));
    };
    let targets = targets();
    let mut columns = BTreeMap::new();
    for (name, value) in cols {
        let key = format!("columns.{name}");
        let Some(&(_, kind)) = targets.iter().find(|(t, _)| t == name) else {
            return Err(bad(
                &key,
                format!(
                    "unknown column of the calls schema: allowed are {}",
                    allowed(targets.iter().map(|(t, _)| *t))
                ),
            ));
        };
        let (source, optional) = source(value, kind).map_err(|m| bad(&key, m))?;
        columns.insert(
            name.clone(),
            Mapped {
                source,
                target: kind,
                optional,
            },
        );
    }
    if columns.is_empty() {
        return Err(bad("columns", "maps no column: add one key per calls column".into()));
    }
    Ok(ColumnsMap {
        path: path.to_path_buf(),
        description,
        naive_timezone,
        columns,
    })
}

/// One `[columns]` entry: a column name, or a table with exactly one of `column`, `value`,
/// `first_of` and `between`.
fn source(value: &toml::Value, kind: Kind) -> Result<(Source, bool), String> {
    let table = match value {
        toml::Value::String(name) => return Ok((column(name, None, None)?, false)),
        toml::Value::Table(t) => t,
        _ => {
            return Err(format!(
                "must be a column name (text) or a table with one of {}",
                allowed(KINDS)
            ));
        }
    };
    for k in table.keys() {
        if !SOURCE_KEYS.contains(&k.as_str()) {
            return Err(format!("unknown key `{k}`: allowed are {}", allowed(SOURCE_KEYS)));
        }
    }
    let given: Vec<&str> = KINDS.into_iter().filter(|k| table.contains_key(*k)).collect();
    if given.len() != 1 {
        return Err(format!(
            "give exactly one of {} (found {})",
            allowed(KINDS),
            if given.is_empty() {
                "none".to_string()
            } else {
                given.join(", ")
            }
        ));
    }
    let text = |k: &str| -> Result<Option<String>, String> {
        match table.get(k) {
            None => Ok(None),
            Some(toml::Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(format!("`{k}` must be a column name (non-empty text)")),
        }
    };
    let names = |k: &str, n: Option<usize>| -> Result<Vec<String>, String> {
        let list = table
            .get(k)
            .and_then(|v| v.as_array())
            .ok_or(format!("`{k}` must be a list of column names"))?;
        let out: Vec<String> = list.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
        let ok = out.len() == list.len() && !out.is_empty() && n.is_none_or(|n| out.len() == n);
        if !ok {
            return Err(match n {
                Some(n) => format!("`{k}` must be a list of {n} column names"),
                None => format!("`{k}` must be a non-empty list of column names"),
            });
        }
        Ok(out)
    };
    let only_with_column = ["scale", "epoch", "contains", "otherwise"];
    if given[0] != "column"
        && let Some(k) = only_with_column.iter().find(|k| table.contains_key(**k))
    {
        return Err(format!("`{k}` goes with `column` only"));
    }
    let optional = match table.get("optional") {
        None => false,
        Some(toml::Value::Boolean(b)) => *b,
        Some(_) => return Err("`optional` must be true or false".into()),
    };
    let source = match given[0] {
        "column" => {
            let name = text("column")?.unwrap_or_default();
            let scale = match table.get("scale") {
                None => None,
                Some(v) => {
                    let s = v.as_float().or(v.as_integer().map(|i| i as f64));
                    match s {
                        Some(s) if s.is_finite() && s > 0.0 && kind.numeric() => Some(s),
                        Some(_) if !kind.numeric() => return Err("`scale` is for number columns only".into()),
                        _ => return Err("`scale` must be a number above 0, e.g. 1000 for seconds to ms".into()),
                    }
                }
            };
            let epoch = match table.get("epoch").map(|v| v.as_str()) {
                None => None,
                Some(Some("s")) => Some(Epoch::Seconds),
                Some(Some("ms")) => Some(Epoch::Millis),
                Some(Some("us")) => Some(Epoch::Micros),
                Some(_) => return Err("`epoch` must be \"s\", \"ms\" or \"us\"".into()),
            };
            if epoch.is_some() && kind != Kind::Timestamp {
                return Err("`epoch` is for the timestamp column only".into());
            }
            if table.contains_key("contains") {
                if kind != Kind::Text {
                    return Err("`contains` makes text: it is for text columns only".into());
                }
                return Ok((contains(name, table)?, optional));
            }
            if table.contains_key("otherwise") {
                return Err("`otherwise` goes with `contains` only".into());
            }
            column(&name, scale, epoch)?
        }
        "value" => Source::Value(constant(&table["value"], kind)?),
        "first_of" => {
            if kind != Kind::Text {
                return Err("`first_of` is for text columns only (ids, names)".into());
            }
            Source::FirstOf(names("first_of", None)?)
        }
        _ => {
            if !kind.numeric() {
                return Err("`between` makes milliseconds: it is for number columns only (latency_ms)".into());
            }
            let pair = names("between", Some(2))?;
            Source::Between(pair[0].clone(), pair[1].clone())
        }
    };
    Ok((source, optional))
}

/// The keys that say where a column comes from.
const KINDS: [&str; 4] = ["column", "value", "first_of", "between"];

fn column(name: &str, scale: Option<f64>, epoch: Option<Epoch>) -> Result<Source, String> {
    if name.is_empty() {
        return Err("the column name is empty".into());
    }
    Ok(Source::Column {
        name: name.to_string(),
        scale,
        epoch,
    })
}

fn contains(name: String, table: &toml::Table) -> Result<Source, String> {
    let shape = "`contains` must be a list of [pattern, output] pairs of text, e.g. [[\"api.openai.com\", \"openai\"]]";
    let list = table["contains"].as_array().ok_or(shape)?;
    let mut patterns = Vec::with_capacity(list.len());
    for pair in list {
        match pair.as_array().map(|p| p.as_slice()) {
            Some([toml::Value::String(p), toml::Value::String(o)]) if !p.is_empty() => {
                patterns.push((p.clone(), o.clone()))
            }
            _ => return Err(shape.into()),
        }
    }
    if patterns.is_empty() {
        return Err(shape.into());
    }
    let otherwise = match table.get("otherwise") {
        None => "unknown".to_string(),
        Some(toml::Value::String(s)) => s.clone(),
        Some(_) => return Err("`otherwise` must be text".into()),
    };
    Ok(Source::Contains {
        name,
        patterns,
        otherwise,
    })
}

fn constant(v: &toml::Value, kind: Kind) -> Result<Constant, String> {
    match (kind, v) {
        (Kind::Text, toml::Value::String(s)) => Ok(Constant::Text(s.clone())),
        (Kind::Integer, toml::Value::Integer(i)) => Ok(Constant::Int(*i)),
        (Kind::Number, toml::Value::Integer(i)) => Ok(Constant::Float(*i as f64)),
        (Kind::Number, toml::Value::Float(f)) if f.is_finite() => Ok(Constant::Float(*f)),
        (Kind::Timestamp, _) => Err("`value` cannot make the timestamp: map a column".into()),
        (Kind::Text, _) => Err("`value` must be text for this column".into()),
        (Kind::Integer, _) => Err("`value` must be a whole number for this column".into()),
        (Kind::Number, _) => Err("`value` must be a number for this column".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ColumnsMap, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("map.toml");
        std::fs::write(&path, text).unwrap();
        load(&path).map_err(|e| e.to_string().replace(&path.display().to_string(), "MAP"))
    }

    #[test]
    fn renames_constants_and_conversions_are_read() {
        let m = parse(
            "naive_timezone = \"Europe/Paris\"\n[columns]\ncost_usd = \"spend\"\nenvironment = { value = \"production\" }\n\
             latency_ms = { column = \"secs\", scale = 1000 }\ntimestamp = { column = \"t\", epoch = \"s\" }\n",
        )
        .unwrap();
        assert_eq!(m.naive_timezone, Some(chrono_tz::Europe::Paris));
        assert_eq!(
            m.columns["latency_ms"].source,
            Source::Column {
                name: "secs".into(),
                scale: Some(1000.0),
                epoch: None
            }
        );
        assert_eq!(
            m.columns["environment"].source,
            Source::Value(Constant::Text("production".into()))
        );
        assert_eq!(m.columns["cost_usd"].target, Kind::Number);
    }

    #[test]
    fn errors_name_the_file_the_key_and_what_is_allowed() {
        let err = parse("[columns]\ncost = \"spend\"\n").unwrap_err();
        assert!(
            err.starts_with("MAP: `columns.cost`: unknown column of the calls schema: allowed are timestamp, call_id"),
            "{err}"
        );
        let err = parse("colums = {}\n").unwrap_err();
        assert_eq!(
            err,
            "MAP: `colums`: unknown key: allowed are description, naive_timezone, columns"
        );
        let err = parse("[columns]\ncost_usd = { value = \"free\" }\n").unwrap_err();
        assert_eq!(err, "MAP: `columns.cost_usd`: `value` must be a number for this column");
        let err = parse("[columns]\nmodel = { column = \"m\", scale = 2 }\n").unwrap_err();
        assert_eq!(err, "MAP: `columns.model`: `scale` is for number columns only");
        let err = parse("[columns]\nmodel = { column = \"m\", value = \"x\" }\n").unwrap_err();
        assert!(
            err.contains("give exactly one of column, value, first_of, between (found column, value)"),
            "{err}"
        );
        let err = parse("naive_timezone = \"Mars/Olympus\"\n[columns]\nmodel = \"m\"\n").unwrap_err();
        assert!(
            err.contains("`naive_timezone`: \"Mars/Olympus\" is not a time zone"),
            "{err}"
        );
    }

    #[test]
    fn the_presets_are_valid_maps() {
        assert_eq!(presets(), ["litellm", "seed-era"]);
        for name in presets() {
            let path = resolve(&name).unwrap();
            load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let err = resolve("nope").unwrap_err().to_string();
        assert_eq!(
            err,
            "--columns-map: nope: no such file, and no preset of that name: give a TOML file, or one of the presets litellm, seed-era"
        );
    }
}
