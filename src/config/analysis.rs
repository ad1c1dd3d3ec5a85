//! Loads `analysis.toml`: one table of thresholds and business parameters per analyzer.
//!
//! The file is read once into its tables; each analyzer deserializes and checks its own table
//! (`AnalysisFile::section`, then a [`SettingsCheck`]), so adding an analyzer needs no change here.
//! Errors name the file, the key (`performance.sla_ms`) and what is allowed.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::ConfigError;
use super::checks;

/// The analysis settings file, read and split into its top-level tables.
#[derive(Debug, Clone)]
pub struct AnalysisFile {
    pub path: PathBuf,
    /// `ticketing.` for the ticketing workload's tables (nested under `[ticketing]`), empty for
    /// the calls tables at the top level: it prefixes every key an error names.
    prefix: String,
    tables: toml::Table,
}

impl AnalysisFile {
    pub fn load(path: &Path) -> Result<AnalysisFile, ConfigError> {
        let path = &super::embedded::resolve(path);
        let tables: toml::Table = checks::read_toml(path)?;
        Ok(AnalysisFile {
            path: path.to_path_buf(),
            prefix: String::new(),
            tables,
        })
    }

    /// The tables nested under `[name]` (a workload's own tables, e.g. `[ticketing.fraud]`), as
    /// a file of their own whose errors still name the whole key.
    pub fn scope(&self, name: &str) -> Result<AnalysisFile, ConfigError> {
        let key = format!("{}{name}", self.prefix);
        let tables = match self.tables.get(name) {
            Some(toml::Value::Table(t)) => t.clone(),
            Some(_) => return Err(ConfigError::invalid(&self.path, key, "must be a table of tables")),
            None => {
                return Err(ConfigError::invalid(
                    &self.path,
                    key,
                    format!("missing table: add `[{name}.<analyzer>]` tables (see config/analysis.toml)"),
                ));
            }
        };
        Ok(AnalysisFile {
            path: self.path.clone(),
            prefix: format!("{key}."),
            tables,
        })
    }

    /// Table names in the file that `known` does not list (a typo, or an analyzer that is gone).
    pub fn check_sections<'a>(&self, known: impl IntoIterator<Item = &'a str> + Clone) -> Result<(), ConfigError> {
        for name in self.tables.keys() {
            if !known.clone().into_iter().any(|k| k == name) {
                return Err(ConfigError::invalid(
                    &self.path,
                    format!("{}{name}", self.prefix),
                    format!("unknown table: allowed are {}", checks::allowed(known)),
                ));
            }
        }
        Ok(())
    }

    /// Deserializes the table `name` (unknown keys are errors when `T` denies them).
    pub fn section<T: DeserializeOwned>(&self, name: &str) -> Result<T, ConfigError> {
        let key = format!("{}{name}", self.prefix);
        let table = self.tables.get(name).ok_or_else(|| {
            ConfigError::invalid(
                &self.path,
                &key,
                format!("missing table: add `[{key}]` with its keys (see config/analysis.toml)"),
            )
        })?;
        table
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                path: self.path.clone(),
                message: format!("[{key}]: {}", e.message().trim_end()),
            })
    }

    /// A checker for values of the table `name`.
    pub fn checker<'a>(&'a self, name: &'a str) -> SettingsCheck<'a> {
        SettingsCheck {
            path: &self.path,
            prefix: &self.prefix,
            section: name,
        }
    }
}

/// Range checks for one table's values, with errors that name `file: table.key`.
#[derive(Debug, Clone, Copy)]
pub struct SettingsCheck<'a> {
    path: &'a Path,
    prefix: &'a str,
    section: &'a str,
}

impl<'a> SettingsCheck<'a> {
    /// The same checks on another table of the file (a page that reads another page's keys).
    pub fn table(self, name: &'a str) -> SettingsCheck<'a> {
        SettingsCheck { section: name, ..self }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}.{key}", self.prefix, self.section)
    }

    /// A number from `lo` to `hi` inclusive.
    pub fn range(&self, key: &str, value: f64, lo: f64, hi: f64) -> Result<(), ConfigError> {
        checks::in_range(self.path, &self.key(key), value, lo, hi)
    }

    /// A share or rate from 0 to 1.
    pub fn fraction(&self, key: &str, value: f64) -> Result<(), ConfigError> {
        self.range(key, value, 0.0, 1.0)
    }

    /// A whole number from `lo` to `hi` inclusive.
    pub fn count(&self, key: &str, value: u64, lo: u64, hi: u64) -> Result<(), ConfigError> {
        checks::count(
            self.path,
            &self.key(key),
            value.min(i64::MAX as u64) as i64,
            lo as i64,
            hi as i64,
        )
        .map(|_| ())
    }

    /// Values that rise strictly, e.g. bucket edges or discount thresholds.
    pub fn increasing(&self, key: &str, values: &[f64]) -> Result<(), ConfigError> {
        if values.is_empty() {
            return Err(self.invalid(key, "must list at least one value"));
        }
        if values.windows(2).any(|w| w[0] >= w[1]) {
            return Err(self.invalid(key, "values must rise strictly, e.g. [500, 1000, 2000]"));
        }
        Ok(())
    }

    /// `lo <= hi` between two keys of the table.
    pub fn ordered(&self, lo_key: &str, lo: f64, hi_key: &str, hi: f64) -> Result<(), ConfigError> {
        if lo > hi {
            return Err(self.invalid(lo_key, format!("{lo} is above `{hi_key}` ({hi}); it must not be")));
        }
        Ok(())
    }

    /// An error on `key` with a free-form message.
    pub fn invalid(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::invalid(self.path, self.key(key), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, AnalysisFile) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("analysis.toml");
        std::fs::write(&path, text).unwrap();
        let f = AnalysisFile::load(&path).unwrap();
        (dir, f)
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Perf {
        sla_ms: u32,
    }

    #[test]
    fn section_reads_typed_values() {
        let (_d, f) = file("[performance]\nsla_ms = 1500\n");
        let p: Perf = f.section("performance").unwrap();
        assert_eq!(p.sla_ms, 1500);
    }

    #[test]
    fn errors_name_file_table_and_key() {
        let (_d, f) = file("[performance]\nsla_ms = 1500\nsla = 3\n");
        let e = f.section::<Perf>("performance").unwrap_err().to_string();
        assert!(
            e.contains("analysis.toml") && e.contains("[performance]") && e.contains("sla"),
            "{e}"
        );
        let e = f.section::<Perf>("decisions").unwrap_err().to_string();
        assert!(e.contains("`decisions`") && e.contains("missing table"), "{e}");
        let e = f
            .checker("performance")
            .fraction("sla_target", 1.5)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`performance.sla_target`") && e.contains("0 to 1"), "{e}");
        let e = f.check_sections(["overview"]).unwrap_err().to_string();
        assert!(e.contains("`performance`: unknown table: allowed are overview"), "{e}");
    }

    #[test]
    fn a_scope_reads_nested_tables_and_names_the_whole_key() {
        let (_d, f) = file("[ticketing.performance]\nsla_ms = 1500\nsla = 3\n");
        let t = f.scope("ticketing").unwrap();
        let e = t.section::<Perf>("performance").unwrap_err().to_string();
        assert!(e.contains("[ticketing.performance]") && e.contains("sla"), "{e}");
        let e = t.checker("performance").fraction("x", 2.0).unwrap_err().to_string();
        assert!(e.contains("`ticketing.performance.x`"), "{e}");
        let e = t.check_sections(["fraud"]).unwrap_err().to_string();
        assert!(
            e.contains("`ticketing.performance`: unknown table: allowed are fraud"),
            "{e}"
        );
        let e = f.scope("calls").unwrap_err().to_string();
        assert!(e.contains("`calls`") && e.contains("missing table"), "{e}");
    }

    #[test]
    fn increasing_rejects_unsorted_values() {
        let (_d, f) = file("");
        let c = f.checker("performance");
        assert!(c.increasing("latency_buckets_ms", &[500.0, 1000.0]).is_ok());
        assert!(c.increasing("latency_buckets_ms", &[1000.0, 500.0]).is_err());
        assert!(c.increasing("latency_buckets_ms", &[]).is_err());
    }
}
