//! Configuration: the run plan, the price catalogue and the traffic model, read from TOML and
//! validated before anything is generated or written.

pub mod analysis;
mod catalogue;
mod checks;
mod error;
mod run_plan;
pub mod size;
mod traffic;

use std::path::{Path, PathBuf};

pub use analysis::{AnalysisFile, SettingsCheck};
pub use catalogue::load_catalogue;
pub use error::ConfigError;
pub use run_plan::{CohortSpec, Formats, MAX_DAYS, RunSettings, SizeTarget, parse_columns, parse_date};
pub use traffic::load_traffic;

use crate::sim::catalogue::Catalogue;
use crate::sim::model::TrafficModel;

/// Everything a run needs to know, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The run plan file this was loaded from.
    pub path: PathBuf,
    pub run: RunSettings,
    pub catalogue: Catalogue,
    pub traffic: TrafficModel,
}

impl Config {
    /// Loads a run plan and the catalogue and traffic files it names (relative to it).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let raw: run_plan::RawRunPlan = checks::read_toml(path)?;
        let run = run_plan::build(path, &raw)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let catalogue_path = dir.join(&raw.catalogue);
        let traffic_path = dir.join(&raw.traffic);
        let catalogue = load_catalogue(&catalogue_path)?;
        let traffic = load_traffic(&traffic_path)?;
        check_regions(&catalogue_path, &catalogue, &traffic)?;
        Ok(Config {
            path: path.to_path_buf(),
            run,
            catalogue,
            traffic,
        })
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
