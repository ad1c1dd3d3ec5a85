//! Configuration: the run plan, the price catalogue, the traffic model and the scenarios, read
//! from TOML and validated before anything is generated or written.

pub mod analysis;
mod catalogue;
mod checks;
mod error;
mod run_plan;
mod scenarios;
pub mod size;
mod traffic;

use std::path::{Path, PathBuf};

pub use analysis::{AnalysisFile, SettingsCheck};
pub use catalogue::load_catalogue;
pub use error::ConfigError;
pub use run_plan::{CohortSpec, Formats, MAX_DAYS, RunSettings, SizeTarget, parse_columns, parse_date};
pub use scenarios::DeclaredScenario;
pub use traffic::load_traffic;

use crate::sim::catalogue::Catalogue;
use crate::sim::model::TrafficModel;
use crate::sim::scenarios::{Env, ScenarioDef};

/// Everything a run needs to know, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The run plan file this was loaded from.
    pub path: PathBuf,
    pub run: RunSettings,
    pub catalogue: Catalogue,
    pub traffic: TrafficModel,
    /// Every declared scenario, scenario files first (by file name), then inline ones.
    pub scenarios: Vec<DeclaredScenario>,
}

impl Config {
    /// Loads a run plan and the files it names (relative to it), and checks the scenarios its
    /// cohorts use.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_with(path, |_| Ok(()))
    }

    /// Like `load`, with `overrides` (command-line flags) applied before the scenarios are
    /// checked against the final window.
    pub fn load_with(
        path: &Path,
        overrides: impl FnOnce(&mut Config) -> Result<(), ConfigError>,
    ) -> Result<Config, ConfigError> {
        let mut config = Config::read(path)?;
        overrides(&mut config)?;
        config.resolve()?;
        Ok(config)
    }

    fn read(path: &Path) -> Result<Config, ConfigError> {
        let raw: run_plan::RawRunPlan = checks::read_toml(path)?;
        let run = run_plan::build(path, &raw)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let catalogue_path = dir.join(&raw.catalogue);
        let traffic_path = dir.join(&raw.traffic);
        let catalogue = load_catalogue(&catalogue_path)?;
        let traffic = load_traffic(&traffic_path)?;
        check_regions(&catalogue_path, &catalogue, &traffic)?;
        let mut scenarios = scenarios::load_dir(&dir.join(&raw.scenario_dir))?;
        scenarios.extend(raw.scenarios.iter().enumerate().map(|(i, def)| DeclaredScenario {
            def: def.clone(),
            path: path.to_path_buf(),
            key: format!("scenarios[{i}]"),
        }));
        scenarios::check_names(&scenarios)?;
        Ok(Config {
            path: path.to_path_buf(),
            run,
            catalogue,
            traffic,
            scenarios,
        })
    }

    /// The declared scenario called `name`.
    pub fn scenario(&self, name: &str) -> Option<&DeclaredScenario> {
        self.scenarios.iter().find(|s| s.def.name == name)
    }

    /// Keeps only the cohorts of the named scenarios (adding a cohort for a named scenario the
    /// plan has none of) and shares the rows equally among them, as `--scenario` asks.
    pub fn only_scenarios(&mut self, names: &[String]) -> Result<(), ConfigError> {
        for name in names {
            if self.scenario(name).is_none() {
                return Err(ConfigError::flag(
                    "--scenario",
                    format!("unknown scenario `{name}`: allowed are {}", self.scenario_names()),
                ));
            }
        }
        let mut cohorts: Vec<CohortSpec> = self
            .run
            .cohorts
            .iter()
            .filter(|c| names.contains(&c.scenario))
            .cloned()
            .collect();
        for name in names {
            if !cohorts.iter().any(|c| &c.scenario == name) {
                cohorts.push(CohortSpec {
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
        self.run.cohorts = cohorts;
        Ok(())
    }

    fn scenario_names(&self) -> String {
        checks::allowed(self.scenarios.iter().map(|s| s.def.name.as_str()))
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
        self.run
            .cohorts
            .iter()
            .map(|c| &self.scenario(&c.scenario).expect("resolved").def)
            .collect()
    }

    /// Checks that every cohort names a declared scenario whose parameters fit the window, and
    /// adds launched features to the model.
    fn resolve(&mut self) -> Result<(), ConfigError> {
        for (i, c) in self.run.cohorts.iter().enumerate() {
            if self.scenario(&c.scenario).is_none() {
                return Err(ConfigError::invalid(
                    &self.path,
                    format!("cohorts[{i}].scenario"),
                    format!(
                        "unknown scenario `{}`: allowed are {}",
                        c.scenario,
                        self.scenario_names()
                    ),
                ));
            }
        }
        let used: Vec<&DeclaredScenario> = self
            .scenarios
            .iter()
            .filter(|s| self.run.cohorts.iter().any(|c| c.scenario == s.def.name))
            .collect();
        for s in &used {
            s.check(&self.env())?;
        }
        let features = scenarios::launched_features(&used, &self.traffic);
        self.traffic.features.extend(features);
        Ok(())
    }
}

/// Every provider must have a region for every geography a time zone names.
fn check_regions(path: &Path, catalogue: &Catalogue, traffic: &TrafficModel) -> Result<(), ConfigError> {
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
