//! The calls scenarios: checking a declared scenario's modifiers, and the features scenarios
//! launch.

use crate::config::ConfigError;
use crate::config::scenario_files::{Declared, ScenarioName};
use crate::sim::calls::model::Feature;
use crate::sim::calls::scenarios::{Env, Modifier, ScenarioDef};

/// A calls scenario definition and where it was declared.
pub type DeclaredScenario = Declared<ScenarioDef>;

impl ScenarioName for ScenarioDef {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Declared<ScenarioDef> {
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

/// Features that scenarios launch, added to the model (in no product, so only the launch uses
/// them) so that calls can name them.
pub fn launched_features(used: &[&DeclaredScenario], model: &crate::sim::calls::model::TrafficModel) -> Vec<Feature> {
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
