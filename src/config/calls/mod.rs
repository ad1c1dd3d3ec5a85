//! The calls workload's configuration: the price catalogue, the traffic model and the scenarios
//! a run plan names, read from TOML and validated before anything is generated or written.

mod catalogue;
pub mod litellm;
mod scenarios;
mod traffic;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use catalogue::load_catalogue;
pub use scenarios::DeclaredScenario;
pub use traffic::load_traffic;

use super::run_plan::{self, RawCohort, RawRun};
use super::scenario_files;
use super::{ConfigError, RunSettings, checks};
use crate::batch::calls::{calls_columns, parse_columns};
use crate::sim::calls::catalogue::Catalogue;
use crate::sim::calls::model::TrafficModel;
use crate::sim::calls::scenarios::{Env, ScenarioDef};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCallsPlan {
    /// `calls`, or absent (read before, by `run_plan::read_workload`).
    #[serde(default, rename = "workload")]
    _workload: Option<String>,
    catalogue: PathBuf,
    traffic: PathBuf,
    /// Directory of scenario files, relative to the run plan.
    #[serde(default = "default_scenario_dir")]
    scenario_dir: PathBuf,
    /// Scenarios declared inline.
    #[serde(default)]
    scenarios: Vec<ScenarioDef>,
    /// A profile of the traffic file to apply (`[profiles.<name>]`), e.g. `realistic`.
    #[serde(default)]
    profile: Option<String>,
    run: RawRun,
    cohorts: Vec<RawCohort>,
}

fn default_scenario_dir() -> PathBuf {
    PathBuf::from("scenarios")
}

/// Everything a calls run needs to know, validated.
#[derive(Debug, Clone)]
pub struct CallsConfig {
    /// The run plan file this was loaded from.
    pub path: PathBuf,
    pub run: RunSettings,
    pub catalogue: Catalogue,
    pub traffic: TrafficModel,
    /// Every declared scenario, scenario files first (by file name), then inline ones.
    pub scenarios: Vec<DeclaredScenario>,
    /// The traffic profile applied (run plan's `profile`, or `--profile`).
    pub profile: Option<String>,
}

impl CallsConfig {
    /// Loads a run plan and the files it names (relative to it), and checks the scenarios its
    /// cohorts use.
    pub fn load(path: &Path) -> Result<CallsConfig, ConfigError> {
        CallsConfig::load_with(path, |_| Ok(()))
    }

    /// Like `load`, with `overrides` (command-line flags) applied before the scenarios are
    /// checked against the final window.
    pub fn load_with(
        path: &Path,
        overrides: impl FnOnce(&mut CallsConfig) -> Result<(), ConfigError>,
    ) -> Result<CallsConfig, ConfigError> {
        let mut config = CallsConfig::read(&crate::config::embedded::resolve(path))?;
        overrides(&mut config)?;
        config.resolve()?;
        Ok(config)
    }

    pub(super) fn read(path: &Path) -> Result<CallsConfig, ConfigError> {
        let raw: RawCallsPlan = checks::read_toml(path)?;
        let all = calls_columns().len();
        let run = run_plan::build(path, &raw.run, &raw.cohorts, all, |names| {
            parse_columns(names.iter().map(String::as_str))
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let catalogue_path = dir.join(&raw.catalogue);
        let traffic_path = dir.join(&raw.traffic);
        let catalogue = load_catalogue(&catalogue_path)?;
        let traffic = load_traffic(&traffic_path)?;
        check_regions(&catalogue_path, &catalogue, &traffic)?;
        let scenarios = scenario_files::load(&dir.join(&raw.scenario_dir), path, &raw.scenarios)?;
        Ok(CallsConfig {
            path: path.to_path_buf(),
            run,
            catalogue,
            traffic,
            scenarios,
            profile: raw.profile,
        })
    }

    /// The hash of what this plan's data depends on (see [`crate::config::fingerprint`]).
    pub fn plan_hash(&self) -> String {
        let scenarios: Vec<&ScenarioDef> = self.scenarios.iter().map(|s| &s.def).collect();
        crate::config::fingerprint::plan_hash(&self.run, &[&self.catalogue, &self.traffic, &scenarios])
    }

    /// The declared scenario called `name`.
    pub fn scenario(&self, name: &str) -> Option<&DeclaredScenario> {
        scenario_files::find(&self.scenarios, name)
    }

    /// Chooses the traffic profile to apply (`--profile`), checked against the traffic file.
    pub fn set_profile(&mut self, name: &str) -> Result<(), ConfigError> {
        if !self.traffic.profiles.iter().any(|p| p.name == name) {
            let mut model = self.traffic.clone();
            let message = model.apply_profile(name).expect_err("no such profile");
            return Err(ConfigError::flag("--profile", message));
        }
        self.profile = Some(name.to_string());
        Ok(())
    }

    /// Keeps only the cohorts of the named scenarios, with equal shares (`--scenario`).
    pub fn only_scenarios(&mut self, names: &[String]) -> Result<(), ConfigError> {
        scenario_files::keep_only(&mut self.run, &self.scenarios, names)
    }

    /// The environment modifiers are checked against, for this config's window.
    pub fn env(&self) -> Env<'_> {
        Env {
            seed: self.run.seed,
            model: &self.traffic,
            catalogue: &self.catalogue,
            start_date: self.run.start_date,
            days: self.run.days,
        }
    }

    /// The scenario definitions of the cohorts, in cohort order.
    pub fn cohort_scenarios(&self) -> Vec<&ScenarioDef> {
        scenario_files::cohort_defs(&self.run, &self.scenarios)
    }

    /// Checks that every cohort names a declared scenario whose parameters fit the window, and
    /// adds launched features to the model.
    pub(super) fn resolve(&mut self) -> Result<(), ConfigError> {
        if let Some(name) = &self.profile {
            self.traffic
                .apply_profile(name)
                .map_err(|m| ConfigError::invalid(&self.path, "profile", m))?;
        }
        scenario_files::check_cohorts(&self.path, &self.run, &self.scenarios)?;
        let used = scenario_files::used(&self.run, &self.scenarios);
        for s in &used {
            s.check(&self.env())?;
        }
        let features = scenarios::launched_features(&used, &self.traffic);
        self.traffic.features.extend(features);
        Ok(())
    }
}

/// Every provider must have a region for every geography a time zone names.
pub(super) fn check_regions(path: &Path, catalogue: &Catalogue, traffic: &TrafficModel) -> Result<(), ConfigError> {
    for provider in &catalogue.providers {
        for tz in &traffic.timezones {
            if !provider.regions.contains_key(&tz.geo) {
                return Err(ConfigError::invalid(
                    path,
                    format!("providers.{}.regions", provider.name),
                    format!(
                        "no region for geography `{}` (time zone {} in the traffic file): add `{} = \"…\"`",
                        tz.geo,
                        tz.tz.name(),
                        tz.geo
                    ),
                ));
            }
        }
    }
    Ok(())
}
