//! The ticketing workload's configuration (placeholder until the workload lands).

use std::path::{Path, PathBuf};

use super::{ConfigError, PlanOverrides, RunSettings};

/// Everything a ticketing run needs to know, validated.
#[derive(Debug, Clone)]
pub struct TicketingConfig {
    pub path: PathBuf,
    pub run: RunSettings,
}

impl TicketingConfig {
    pub(super) fn read(path: &Path) -> Result<TicketingConfig, ConfigError> {
        Err(ConfigError::invalid(
            path,
            "workload",
            "the ticketing workload is not available in this build: allowed is calls",
        ))
    }

    pub(super) fn resolve(&mut self) -> Result<(), ConfigError> {
        Ok(())
    }
}

impl PlanOverrides for TicketingConfig {
    fn run_mut(&mut self) -> &mut RunSettings {
        &mut self.run
    }

    fn only_scenarios(&mut self, _names: &[String]) -> Result<(), ConfigError> {
        Ok(())
    }

    fn parse_columns(&self, _names: &[String]) -> Result<Vec<usize>, String> {
        Err("no columns".into())
    }
}
