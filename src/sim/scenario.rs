//! The scenarios a cohort can be driven by.
//!
//! Each scenario is a modifier of the base traffic model: of the hourly call rate, of the model
//! choice, or of the population. For now the base traffic is the only one.

/// A named traffic scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// The documents' base simulator: archetypes, business hours, weekends, market mix.
    BaseTraffic,
}

impl Scenario {
    pub const ALL: [Scenario; 1] = [Scenario::BaseTraffic];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::BaseTraffic => "base_traffic",
        }
    }

    pub fn parse(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }
}
