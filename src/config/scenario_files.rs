//! Scenario declarations, for every workload: one scenario per `*.toml` file of the run plan's
//! scenario directory, plus any declared inline in the run plan. Names are checked to be
//! well-formed and unique, and every cohort must name a declared scenario.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::checks;
use super::{ConfigError, RunSettings};

/// What the shared loader needs to know of a workload's scenario definition.
pub trait ScenarioName {
    fn name(&self) -> &str;
}

/// A scenario definition and where it was declared, for messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Declared<D> {
    pub def: D,
    pub path: PathBuf,
    /// Key of the definition inside its file: empty for a scenario file, `scenarios[i]` inline.
    pub key: String,
}

impl<D> Declared<D> {
    /// The full key of `rest` inside the definition's file.
    pub fn key(&self, rest: &str) -> String {
        if self.key.is_empty() {
            rest.to_string()
        } else {
            format!("{}.{rest}", self.key)
        }
    }
}

/// Reads every `*.toml` of `dir` (sorted by file name) as one scenario each, then the scenarios
/// declared inline in the run plan at `plan`, and checks their names.
pub fn load<D: DeserializeOwned + ScenarioName + Clone>(
    dir: &Path,
    plan: &Path,
    inline: &[D],
) -> Result<Vec<Declared<D>>, ConfigError> {
    let mut paths: Vec<PathBuf> = match super::embedded::list(dir) {
        Some(files) => files,
        None => std::fs::read_dir(dir)
            .map_err(|error| ConfigError::Read {
                path: dir.to_path_buf(),
                what: "scenario directory",
                error,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect(),
    };
    paths.retain(|p| p.extension().is_some_and(|x| x == "toml"));
    paths.sort();
    let mut all = paths
        .into_iter()
        .map(|path| {
            let def: D = checks::read_toml(&path)?;
            Ok(Declared {
                def,
                path,
                key: String::new(),
            })
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    all.extend(inline.iter().enumerate().map(|(i, def)| Declared {
        def: def.clone(),
        path: plan.to_path_buf(),
        key: format!("scenarios[{i}]"),
    }));
    check_names(&all)?;
    Ok(all)
}

/// Checks names: well-formed and unique across files and the run plan.
fn check_names<D: ScenarioName>(all: &[Declared<D>]) -> Result<(), ConfigError> {
    for (i, s) in all.iter().enumerate() {
        let name = s.def.name();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(ConfigError::invalid(
                &s.path,
                s.key("name"),
                format!("\"{name}\" is not allowed: use letters, digits, `_` and `-`"),
            ));
        }
        if let Some(first) = all[..i].iter().find(|o| o.def.name() == name) {
            return Err(ConfigError::invalid(
                &s.path,
                s.key("name"),
                format!("scenario `{name}` is already defined in {}", first.path.display()),
            ));
        }
    }
    Ok(())
}

/// The declared scenario called `name`.
pub fn find<'a, D: ScenarioName>(all: &'a [Declared<D>], name: &str) -> Option<&'a Declared<D>> {
    all.iter().find(|s| s.def.name() == name)
}

/// The names, for an "allowed are …" message.
pub fn names<D: ScenarioName>(all: &[Declared<D>]) -> String {
    checks::allowed(all.iter().map(|s| s.def.name()))
}

/// Every cohort of `run` must name a declared scenario.
pub fn check_cohorts<D: ScenarioName>(plan: &Path, run: &RunSettings, all: &[Declared<D>]) -> Result<(), ConfigError> {
    for (i, c) in run.cohorts.iter().enumerate() {
        if find(all, &c.scenario).is_none() {
            return Err(ConfigError::invalid(
                plan,
                format!("cohorts[{i}].scenario"),
                format!("unknown scenario `{}`: allowed are {}", c.scenario, names(all)),
            ));
        }
    }
    Ok(())
}

/// The scenario definitions of `run`'s cohorts, in cohort order (checked by [`check_cohorts`]).
pub fn cohort_defs<'a, D: ScenarioName>(run: &RunSettings, all: &'a [Declared<D>]) -> Vec<&'a D> {
    run.cohorts
        .iter()
        .map(|c| &find(all, &c.scenario).expect("cohorts name declared scenarios").def)
        .collect()
}

/// The declared scenarios some cohort of `run` uses.
pub fn used<'a, D: ScenarioName>(run: &RunSettings, all: &'a [Declared<D>]) -> Vec<&'a Declared<D>> {
    all.iter()
        .filter(|s| run.cohorts.iter().any(|c| c.scenario == s.def.name()))
        .collect()
}

/// Keeps only the cohorts of the named scenarios (adding a cohort for a named scenario the plan
/// has none of) and shares the rows equally among them, as `--scenario` asks.
pub fn keep_only<D: ScenarioName>(
    run: &mut RunSettings,
    all: &[Declared<D>],
    names: &[String],
) -> Result<(), ConfigError> {
    for name in names {
        if find(all, name).is_none() {
            return Err(ConfigError::flag(
                "--scenario",
                format!("unknown scenario `{name}`: allowed are {}", self::names(all)),
            ));
        }
    }
    let mut cohorts: Vec<super::CohortSpec> = run
        .cohorts
        .iter()
        .filter(|c| names.contains(&c.scenario))
        .cloned()
        .collect();
    for name in names {
        if !cohorts.iter().any(|c| &c.scenario == name) {
            cohorts.push(super::CohortSpec {
                name: name.clone(),
                scenario: name.clone(),
                share: 0.0,
            });
        }
    }
    let n = cohorts.len() as f64;
    for c in &mut cohorts {
        c.share = 1.0 / n;
    }
    run.cohorts = cohorts;
    Ok(())
}
