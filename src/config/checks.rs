//! Small validation helpers shared by the config loaders, so every message has the same shape.

use std::collections::BTreeMap;
use std::path::Path;

use super::ConfigError;

/// Tolerance for "weights sum to 1".
const SUM_TOLERANCE: f64 = 1e-6;

/// A weight table: every weight finite and non-negative, summing to 1.
pub fn weights(path: &Path, key: &str, table: &BTreeMap<String, f64>) -> Result<(), ConfigError> {
    if table.is_empty() {
        return Err(ConfigError::invalid(path, key, "must list at least one entry"));
    }
    for (name, w) in table {
        if !w.is_finite() || *w < 0.0 {
            return Err(ConfigError::invalid(
                path,
                format!("{key}.{name}"),
                format!("weight {w} is not allowed: weights are numbers from 0 to 1"),
            ));
        }
    }
    let sum: f64 = table.values().sum();
    if (sum - 1.0).abs() > SUM_TOLERANCE {
        return Err(ConfigError::invalid(
            path,
            key,
            format!("weights sum to {sum}; they must sum to 1"),
        ));
    }
    Ok(())
}

/// A number within an inclusive range.
pub fn in_range(path: &Path, key: &str, value: f64, lo: f64, hi: f64) -> Result<(), ConfigError> {
    if !value.is_finite() || value < lo || value > hi {
        return Err(ConfigError::invalid(
            path,
            key,
            format!("{value} is out of range: allowed is {lo} to {hi}"),
        ));
    }
    Ok(())
}

/// A number above 0 and at most `hi`: a share, rate or duration where 0 would mean "never".
pub fn positive(path: &Path, key: &str, value: f64, hi: f64) -> Result<(), ConfigError> {
    if !value.is_finite() || value <= 0.0 || value > hi {
        return Err(ConfigError::invalid(
            path,
            key,
            format!("{value} is out of range: allowed is a number above 0 and at most {hi}"),
        ));
    }
    Ok(())
}

/// A whole number within an inclusive range, read as i64 so that a negative value gets this
/// message rather than a type error.
pub fn count(path: &Path, key: &str, value: i64, lo: i64, hi: i64) -> Result<u32, ConfigError> {
    if value < lo || value > hi {
        return Err(ConfigError::invalid(
            path,
            key,
            format!("{value} is not allowed: a whole number from {lo} to {hi}"),
        ));
    }
    Ok(value as u32)
}

/// A `[lo, hi]` pair of whole numbers with `min <= lo <= hi <= max`, read as i64 so that a
/// negative bound gets this message rather than a type error. `min` must be at least 0.
pub fn count_range(path: &Path, key: &str, pair: [i64; 2], min: i64, max: i64) -> Result<(u32, u32), ConfigError> {
    debug_assert!(min >= 0 && max <= i64::from(u32::MAX));
    let [lo, hi] = pair;
    if lo < min || hi > max || lo > hi {
        return Err(ConfigError::invalid(
            path,
            key,
            format!(
                "[{lo}, {hi}] is not allowed: a range [low, high] of whole numbers with {min} <= low <= high <= {max}"
            ),
        ));
    }
    Ok((lo as u32, hi as u32))
}

/// A `[lo, hi]` pair with `min <= lo <= hi <= max`.
pub fn range_pair(path: &Path, key: &str, pair: [f64; 2], min: f64, max: f64) -> Result<(f64, f64), ConfigError> {
    let [lo, hi] = pair;
    if !(lo.is_finite() && hi.is_finite()) || lo < min || hi > max || lo > hi {
        return Err(ConfigError::invalid(
            path,
            key,
            format!("[{lo}, {hi}] is not allowed: a range [low, high] with {min} <= low <= high <= {max}"),
        ));
    }
    Ok((lo, hi))
}

/// Reads and parses a TOML file (on disk, or embedded: see [`super::embedded`]) into `T`, naming
/// the file in every error.
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let read_error = |error| ConfigError::Read {
        path: path.to_path_buf(),
        what: "file",
        error,
    };
    let text = match super::embedded::read(path) {
        Some(Some(text)) => text.to_string(),
        Some(None) => return Err(read_error(std::io::ErrorKind::NotFound.into())),
        None => std::fs::read_to_string(path).map_err(read_error)?,
    };
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })
}

/// Joins names for an "allowed: …" list.
pub fn allowed<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names.into_iter().collect::<Vec<_>>().join(", ")
}
