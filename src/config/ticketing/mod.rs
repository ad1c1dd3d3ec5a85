//! The ticketing workload's configuration: its catalogue (venues, performers, personas, fraud
//! patterns), its traffic model and its scenarios, read from TOML and validated before anything
//! is generated or written.

pub mod catalogue;
pub mod model;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use catalogue::load_ticket_catalogue;
pub use model::load_ticket_model;

use super::run_plan::{self, RawCohort, RawRun};
use super::scenario_files::{self, Declared, ScenarioName};
use super::{ConfigError, PlanOverrides, RunSettings, SizeTarget, checks};
use crate::batch::ticketing::transactions;
use crate::sim::ticketing::catalogue::TicketCatalogue;
use crate::sim::ticketing::model::TicketModel;
use crate::sim::ticketing::scenarios::{Env, ScenarioDef};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTicketingPlan {
    /// `ticketing` (read before, by `run_plan::read_workload`).
    #[serde(rename = "workload")]
    _workload: String,
    catalogue: PathBuf,
    model: PathBuf,
    /// Directory of scenario files, relative to the run plan.
    scenario_dir: PathBuf,
    /// Scenarios declared inline.
    #[serde(default)]
    scenarios: Vec<ScenarioDef>,
    run: RawRun,
    cohorts: Vec<RawCohort>,
}

/// A ticketing scenario definition and where it was declared.
pub type DeclaredTicketScenario = Declared<ScenarioDef>;

impl ScenarioName for ScenarioDef {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Declared<ScenarioDef> {
    /// Checks the population and every modifier against the catalogue and the window.
    pub fn check(&self, env: &Env) -> Result<(), ConfigError> {
        self.def
            .check(env)
            .map_err(|e| ConfigError::invalid(&self.path, self.key(&e.key), e.message))
    }
}

/// Everything a ticketing run needs to know, validated.
#[derive(Debug, Clone)]
pub struct TicketingConfig {
    /// The run plan file this was loaded from.
    pub path: PathBuf,
    pub run: RunSettings,
    pub catalogue: TicketCatalogue,
    pub model: TicketModel,
    /// Every declared scenario, scenario files first (by file name), then inline ones.
    pub scenarios: Vec<DeclaredTicketScenario>,
}

impl TicketingConfig {
    pub(in crate::config) fn read(path: &Path) -> Result<TicketingConfig, ConfigError> {
        let raw: RawTicketingPlan = checks::read_toml(path)?;
        let all = transactions::column_names().len();
        let run = run_plan::build(path, &raw.run, &raw.cohorts, all, |names| {
            transactions::parse_columns(names.iter().map(String::as_str))
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let catalogue = load_ticket_catalogue(&dir.join(&raw.catalogue))?;
        let model = load_ticket_model(&dir.join(&raw.model), &catalogue)?;
        let scenarios = scenario_files::load(&dir.join(&raw.scenario_dir), path, &raw.scenarios)?;
        Ok(TicketingConfig {
            path: path.to_path_buf(),
            run,
            catalogue,
            model,
            scenarios,
        })
    }

    /// The hash of what this plan's data depends on (see [`crate::config::fingerprint`]).
    pub fn plan_hash(&self) -> String {
        let scenarios: Vec<&ScenarioDef> = self.scenarios.iter().map(|s| &s.def).collect();
        crate::config::fingerprint::plan_hash(&self.run, &[&self.catalogue, &self.model, &scenarios])
    }

    /// The declared scenario called `name`.
    pub fn scenario(&self, name: &str) -> Option<&DeclaredTicketScenario> {
        scenario_files::find(&self.scenarios, name)
    }

    /// What modifiers are checked and compiled against, for this config's window.
    pub fn env(&self) -> Env<'_> {
        let start = self
            .run
            .start_date
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc();
        Env {
            seed: self.run.seed,
            catalogue: &self.catalogue,
            start_ms: start.timestamp_millis(),
            days: self.run.days,
        }
    }

    /// The scenario definitions of the cohorts, in cohort order.
    pub fn cohort_scenarios(&self) -> Vec<&ScenarioDef> {
        scenario_files::cohort_defs(&self.run, &self.scenarios)
    }

    /// Checks that every cohort names a declared scenario whose parameters fit the window.
    pub(in crate::config) fn resolve(&mut self) -> Result<(), ConfigError> {
        scenario_files::check_cohorts(&self.path, &self.run, &self.scenarios)?;
        for s in scenario_files::used(&self.run, &self.scenarios) {
            s.check(&self.env())?;
        }
        Ok(())
    }
}

impl PlanOverrides for TicketingConfig {
    fn run_mut(&mut self) -> &mut RunSettings {
        &mut self.run
    }

    /// Keeps the named scenarios' cohorts with equal shares; when every one of them declares
    /// `size = "natural"` (the flash sale), they run at their own scale unless a size flag says
    /// otherwise.
    fn only_scenarios(&mut self, names: &[String]) -> Result<(), ConfigError> {
        scenario_files::keep_only(&mut self.run, &self.scenarios, names)?;
        let natural = names.iter().all(|n| {
            self.scenario(n)
                .is_some_and(|s| s.def.size.as_deref() == Some("natural"))
        });
        if natural {
            self.run.size = SizeTarget::Natural;
        }
        Ok(())
    }

    fn parse_columns(&self, names: &[String]) -> Result<Vec<usize>, String> {
        transactions::parse_columns(names.iter().map(String::as_str))
    }

    fn set_profile(&mut self, name: &str) -> Result<(), ConfigError> {
        Err(ConfigError::flag(
            "--profile",
            format!(
                "`{name}`: profiles are the calls workload's (its traffic file's [profiles]); the ticketing workload has none"
            ),
        ))
    }
}
