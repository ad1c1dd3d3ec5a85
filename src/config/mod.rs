//! Configuration: the run plan and the files it names, read from TOML and validated before
//! anything is generated or written. A run plan names its workload (`workload = "ticketing"`;
//! `calls` when absent); the shared parts (`[run]`, `[[cohorts]]`, scenario files, the checks
//! behind every message) live here, each workload's own files in `calls/` and `ticketing/`.

pub mod analysis;
pub mod calls;
pub(crate) mod checks;
pub mod embedded;
mod error;
pub mod fingerprint;
mod run_plan;
pub mod scenario_files;
pub mod size;
pub mod ticketing;

use std::path::Path;

pub use analysis::{AnalysisFile, SettingsCheck};
pub use calls::{CallsConfig, DeclaredScenario, load_catalogue, load_traffic};
pub use error::ConfigError;
pub use run_plan::{CohortSpec, Formats, MAX_DAYS, RunSettings, SizeTarget, WorkloadKind, parse_date, read_workload};
pub use ticketing::TicketingConfig;

/// A loaded run plan, of either workload.
// Loaded once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum RunPlan {
    Calls(CallsConfig),
    Ticketing(TicketingConfig),
}

/// What command-line flags may change in a run plan, whatever its workload.
pub trait PlanOverrides {
    fn run_mut(&mut self) -> &mut RunSettings;
    /// Keeps only the cohorts of the named scenarios (`--scenario`).
    fn only_scenarios(&mut self, names: &[String]) -> Result<(), ConfigError>;
    /// Resolves column names against the workload's fact table (`--columns`).
    fn parse_columns(&self, names: &[String]) -> Result<Vec<usize>, String>;
    /// Chooses a traffic profile (`--profile`).
    fn set_profile(&mut self, name: &str) -> Result<(), ConfigError>;
}

impl RunPlan {
    /// Loads the run plan at `path` and the files it names.
    pub fn load(path: &Path) -> Result<RunPlan, ConfigError> {
        RunPlan::load_with(path, |_| Ok(()))
    }

    /// Like `load`, with `overrides` (command-line flags) applied before the scenarios are
    /// checked against the final window.
    pub fn load_with(
        path: &Path,
        overrides: impl FnOnce(&mut dyn PlanOverrides) -> Result<(), ConfigError>,
    ) -> Result<RunPlan, ConfigError> {
        let path = &embedded::resolve(path);
        Ok(match read_workload(path)? {
            WorkloadKind::Calls => {
                let mut c = CallsConfig::read(path)?;
                overrides(&mut c)?;
                c.resolve()?;
                RunPlan::Calls(c)
            }
            WorkloadKind::Ticketing => {
                let mut c = TicketingConfig::read(path)?;
                overrides(&mut c)?;
                c.resolve()?;
                RunPlan::Ticketing(c)
            }
        })
    }

    pub fn workload(&self) -> WorkloadKind {
        match self {
            RunPlan::Calls(_) => WorkloadKind::Calls,
            RunPlan::Ticketing(_) => WorkloadKind::Ticketing,
        }
    }

    pub fn run(&self) -> &RunSettings {
        match self {
            RunPlan::Calls(c) => &c.run,
            RunPlan::Ticketing(c) => &c.run,
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            RunPlan::Calls(c) => &c.path,
            RunPlan::Ticketing(c) => &c.path,
        }
    }

    /// The hash of what the plan's data depends on (see [`fingerprint`]).
    pub fn plan_hash(&self) -> String {
        match self {
            RunPlan::Calls(c) => c.plan_hash(),
            RunPlan::Ticketing(c) => c.plan_hash(),
        }
    }
}

impl PlanOverrides for CallsConfig {
    fn run_mut(&mut self) -> &mut RunSettings {
        &mut self.run
    }

    fn only_scenarios(&mut self, names: &[String]) -> Result<(), ConfigError> {
        CallsConfig::only_scenarios(self, names)
    }

    fn parse_columns(&self, names: &[String]) -> Result<Vec<usize>, String> {
        crate::batch::calls::parse_columns(names.iter().map(String::as_str))
    }

    fn set_profile(&mut self, name: &str) -> Result<(), ConfigError> {
        CallsConfig::set_profile(self, name)
    }
}
