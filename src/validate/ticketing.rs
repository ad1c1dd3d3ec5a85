//! The invariants of a ticketing dataset (placeholder until the workload lands).

use std::path::Path;

use anyhow::Result;

use super::Report;
use crate::config::TicketingConfig;

/// Validates the ticketing dataset at `path`.
pub fn validate(path: &Path, _config: &TicketingConfig) -> Result<Report> {
    anyhow::bail!(
        "{}: the ticketing workload is not available in this build",
        path.display()
    )
}
