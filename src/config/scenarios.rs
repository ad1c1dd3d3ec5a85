//! Loads scenario definitions: every `*.toml` in the run plan's scenario directory, plus any
//! `[[scenarios]]` declared inline in the run plan, and checks the ones a run uses.

use std::path::{Path, PathBuf};

use super::ConfigError;
use super::checks;
use crate::sim::model::Feature;
use crate::sim::scenarios::{Env, Modifier, ScenarioDef};

/// A scenario definition and where it was declared, for messages.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredScenario {
    pub def: ScenarioDef,
    pub path: PathBuf,
    /// Key of the definition inside its file: empty for a scenario file, `scenarios[i]` inline.
    pub key: String,
}

impl DeclaredScenario {
    fn key(&self, rest: &str) -> String {
        if self.key.is_empty() {
            rest.to_string()
        } else {
            format!("{}.{rest}", self.key)
        }
    }

    /// Checks every modifier against the model, the catalogue and the window.
    pub fn check(&self, env: &Env) -> Result<(), ConfigError> {
        for (i, m) in self.def.modifiers.iter().enumerate() {
            m.check(env).map_err(|e| {
                ConfigError::invalid(
                    &self.path,
                    self.key(&format!("modifiers[{i}].{}", e.key)),
                    format!("{} (modifier `{}`)", e.message, m.kind()),
                )
            })?;
        }
        Ok(())
    }
}

/// Reads every `*.toml` of `dir` (sorted by file name) as one scenario each.
pub fn load_dir(dir: &Path) -> Result<Vec<DeclaredScenario>, ConfigError> {
    let entries = std::fs::read_dir(dir).map_err(|error| ConfigError::Read {
        path: dir.to_path_buf(),
        what: "scenario directory",
        error,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let def: ScenarioDef = checks::read_toml(&path)?;
            Ok(DeclaredScenario {
                def,
                path,
                key: String::new(),
            })
        })
        .collect()
}

/// Checks names: well-formed and unique across files and the run plan.
pub fn check_names(all: &[DeclaredScenario]) -> Result<(), ConfigError> {
    for (i, s) in all.iter().enumerate() {
        let name = &s.def.name;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(ConfigError::invalid(
                &s.path,
                s.key("name"),
                format!("\"{name}\" is not allowed: use letters, digits, `_` and `-`"),
            ));
        }
        if let Some(first) = all[..i].iter().find(|o| o.def.name == *name) {
            return Err(ConfigError::invalid(
                &s.path,
                s.key("name"),
                format!("scenario `{name}` is already defined in {}", first.path.display()),
            ));
        }
    }
    Ok(())
}

/// Features that scenarios launch, added to the model (in no product, so only the launch uses
/// them) so that calls can name them.
pub fn launched_features(used: &[&DeclaredScenario], model: &crate::sim::model::TrafficModel) -> Vec<Feature> {
    let mut out: Vec<Feature> = Vec::new();
    for s in used {
        for m in &s.def.modifiers {
            if let Modifier::FeatureLaunch(f) = m
                && !model.features.iter().any(|x| x.id == f.feature)
                && !out.iter().any(|x| x.id == f.feature)
            {
                let task = model
                    .tasks
                    .iter()
                    .position(|t| t.name == f.task)
                    .expect("checked before");
                out.push(Feature {
                    id: f.feature.clone(),
                    task,
                    weight: 0.0,
                    adoption: 0.0,
                });
            }
        }
    }
    out
}
