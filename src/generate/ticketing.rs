//! The ticketing workload on the generic driver (placeholder until the workload lands).

use anyhow::Result;

use super::GenerateOptions;
use crate::config::TicketingConfig;

/// Placeholder summary.
pub struct TicketingSummary;

impl TicketingSummary {
    pub fn line(&self) -> String {
        String::new()
    }
}

pub fn generate(config: &TicketingConfig, _options: &GenerateOptions) -> Result<TicketingSummary> {
    anyhow::bail!(
        "{}: the ticketing workload is not available in this build",
        config.path.display()
    )
}

pub fn listing(config: &TicketingConfig) -> Result<String> {
    anyhow::bail!(
        "{}: the ticketing workload is not available in this build",
        config.path.display()
    )
}
